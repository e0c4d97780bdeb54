"""Reads of testing rounds shared by pages and exports, every one scoped to the user: the rounds a user may
open, who must be tested, coverage by grid and building in one grouped query, the not-sampled list with each
resident's rung on the outreach ladder, home-sampling proposals and the route list."""

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db.models import Count, Exists, FilteredRelation, IntegerField, OuterRef, Q, QuerySet, Value
from django.db.models.functions import StrIndex, Substr

from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import scope_places, scoped
from caregrid.people.models import Resident, ResidentCategory
from caregrid.people.queries import category_active_q
from caregrid.places.models import Place, PlaceKind
from caregrid.places.queries import today
from caregrid.places.tree import ids_from_path, under

from .models import (
    RUNG_ORDER,
    HomeRequestStatus,
    HomeSamplingRequest,
    OutreachStep,
    Population,
    Result,
    SamplingRecord,
    SamplingRound,
)

# Categories of residents who usually cannot go down to a sampling site: proposed for home sampling.
HOME_SAMPLING_CATEGORIES = (
    "limited_mobility",
    "elderly_disabled",
    "disability_severe",
    "elderly_advanced_age",
    "elderly_alone",
    "dialysis",
    "pregnant",
    "home_isolation",
)
# Depth of buildings in the place tree: district 0, subdistrict 1, community 2, compound 3, building 4.
BUILDING_DEPTH = 4
COMMUNITY_DEPTH = 2


# ---- rounds ------------------------------------------------------------------------------------------------------


def rounds_visible(user, capability: str = Cap.VIEW_CARE) -> QuerySet[SamplingRound]:
    """Rounds over places in the user's scope, and rounds over a place above it (a community's grid worker sees
    the community's round, and inside it only their grid's residents)."""
    above = {i for place in scope_places(user, capability) for i in place.ancestor_ids}
    inside = scoped(user, SamplingRound.objects.all(), capability)
    return SamplingRound.objects.filter(Q(pk__in=inside.values("pk")) | Q(place_id__in=above))


def population(round: SamplingRound) -> QuerySet[Resident]:
    """Everyone who must be tested in the round: the ledger's residents under its place as they are now."""
    field_name = "grid_path" if round.by_grid else "place_path"
    qs = Resident.objects.filter(under(round.place_path, field_name))
    if round.population == Population.PRIORITY:
        qs = qs.filter(is_priority=True)
    return qs


def includes(round: SamplingRound, resident: Resident) -> bool:
    """Is the resident among those the round must test (no query)?"""
    path = resident.grid_path if round.by_grid else resident.place_path
    if not path.startswith(round.place_path):
        return False
    return round.population != Population.PRIORITY or resident.is_priority


def population_visible(user, round: SamplingRound, capability: str = Cap.VIEW_CARE) -> QuerySet[Resident]:
    return scoped(user, population(round), capability)


def records_visible(user, round: SamplingRound, capability: str = Cap.VIEW_CARE) -> QuerySet[SamplingRecord]:
    return scoped(user, SamplingRecord.objects.filter(round=round), capability)


def sampled_q(round: SamplingRound) -> Exists:
    return Exists(SamplingRecord.objects.filter(round=round, resident_id=OuterRef("pk")))


def not_sampled(user, round: SamplingRound, *, grid: Place | None = None) -> QuerySet[Resident]:
    """The round's residents in the user's scope with no sampling record, in address order."""
    qs = population_visible(user, round).filter(~sampled_q(round))
    if grid is not None:
        qs = qs.filter(under(grid.path, "grid_path"))
    return qs.order_by("place_path", "id")


# ---- coverage ----------------------------------------------------------------------------------------------------


def _head(field_name: str, known: str, segments: int):
    """The path down to `segments` more levels below a known prefix, computed in the database
    ("1.2.4." with 2 more levels of "1.2.4.9.12.40.77." → "1.2.4.9.12.")."""
    end = Value(len(known), output_field=IntegerField())
    for _level in range(segments):
        end = end + StrIndex(Substr(field_name, end + 1), Value("."))
    return Substr(field_name, 1, end)


def _building_head(round: SamplingRound):
    ids = ids_from_path(round.place_path)
    if round.by_grid:
        ids = ids[: COMMUNITY_DEPTH + 1]
    ids = ids[: BUILDING_DEPTH + 1]
    known = "".join(f"{i}." for i in ids)
    return _head("place_path", known, BUILDING_DEPTH + 1 - len(ids))


@dataclass
class Tally:
    label: str = ""
    to_test: int = 0
    sampled: int = 0
    negative: int = 0
    positive: int = 0
    pending: int = 0
    home_waiting: int = 0
    place: Place | None = None
    grid: Place | None = None
    compound: str = ""

    @property
    def not_sampled(self) -> int:
        return self.to_test - self.sampled

    @property
    def percent(self) -> int:
        return self.sampled * 100 // self.to_test if self.to_test else 0

    def add(self, other: "Tally") -> None:
        self.to_test += other.to_test
        self.sampled += other.sampled
        self.negative += other.negative
        self.positive += other.positive
        self.pending += other.pending
        self.home_waiting += other.home_waiting


@dataclass
class Coverage:
    total: Tally
    grids: list[Tally] = field(default_factory=list)
    buildings: list[Tally] = field(default_factory=list)


def _top_grid_id(grid_path: str) -> int | None:
    """The community's own grid (a micro-grid's parent grid): the segment after the community's."""
    ids = ids_from_path(grid_path)
    return ids[COMMUNITY_DEPTH + 1] if len(ids) > COMMUNITY_DEPTH + 1 else None


def coverage(user, round: SamplingRound, *, grid: Place | None = None) -> Coverage:
    """Residents to test, sampled and not, results positive and pending, by grid and by building, for the part
    of the round in the user's scope. Three queries whatever the number of residents: the grouped counts, the
    home-sampling requests still waiting, and the names of the grids and buildings."""
    head = _building_head(round)
    pop = population_visible(user, round)
    rows = (
        pop.annotate(rec=FilteredRelation("sampling_records", condition=Q(sampling_records__round=round)))
        .values("grid_path", building=head)
        .annotate(
            to_test=Count("id"),
            sampled=Count("rec__id"),
            negative=Count("rec__id", filter=Q(rec__result=Result.NEGATIVE)),
            positive=Count("rec__id", filter=Q(rec__result=Result.POSITIVE)),
            pending=Count("rec__id", filter=Q(rec__result=Result.PENDING)),
        )
        .order_by()
    )
    waiting = (
        scoped(user, HomeSamplingRequest.objects.filter(round=round, status=HomeRequestStatus.REQUESTED), Cap.VIEW_CARE)
        .values("grid_path", building=head)
        .annotate(n=Count("id"))
        .order_by()
    )
    cells: dict[tuple[str, str], Tally] = {}
    for row in rows:
        cells[(row["grid_path"], row["building"])] = Tally(
            to_test=row["to_test"],
            sampled=row["sampled"],
            negative=row["negative"],
            positive=row["positive"],
            pending=row["pending"],
        )
    for row in waiting:
        cells.setdefault((row["grid_path"], row["building"]), Tally()).home_waiting = row["n"]
    wanted: set[int] = set()
    for grid_path, building in cells:
        top = _top_grid_id(grid_path)
        if top:
            wanted.add(top)
        ids = ids_from_path(building)
        wanted.update(ids[-2:])
    names = Place.objects.in_bulk(wanted)
    total = Tally()
    by_grid: dict[int | None, Tally] = {}
    by_building: dict[tuple[int | None, str], Tally] = {}
    for (grid_path, building), cell in cells.items():
        total.add(cell)
        top = _top_grid_id(grid_path)
        if top not in by_grid:
            place = names.get(top) if top else None
            by_grid[top] = Tally(label=place.name if place else "", place=place)
        by_grid[top].add(cell)
        if grid is not None and top != grid.pk:
            continue
        key = (top, building)
        if key not in by_building:
            ids = ids_from_path(building)
            place = names.get(ids[-1]) if ids else None
            compound = names.get(ids[-2]) if len(ids) >= 2 else None
            by_building[key] = Tally(
                label=place.name if place else "",
                place=place,
                grid=by_grid[top].place,
                compound=compound.name if compound else "",
            )
        by_building[key].add(cell)
    grids = sorted(by_grid.values(), key=lambda t: (t.place is None, natural_key(t.label)))
    buildings = sorted(
        by_building.values(),
        key=lambda t: (natural_key(t.grid.name if t.grid else "~"), natural_key(t.compound), natural_key(t.label)),
    )
    return Coverage(total=total, grids=grids, buildings=buildings)


# ---- the not-sampled list and the outreach ladder ---------------------------------------------------------------


@dataclass
class Rung:
    step: str
    label: str
    at: dt.datetime
    outcome: str
    note: str
    by: str
    count: int = 0  # steps recorded for the resident in the round


def rungs_for(round: SamplingRound, resident_ids: list[int]) -> dict[int, Rung]:
    """Each resident's current rung: the highest step taken (its latest entry), one query for a page."""
    result: dict[int, Rung] = {}
    counts: dict[int, int] = {}
    steps = (
        OutreachStep.objects.filter(round=round, resident_id__in=resident_ids).select_related("by").order_by("at", "id")
    )
    for s in steps:
        counts[s.resident_id] = counts.get(s.resident_id, 0) + 1
        current = result.get(s.resident_id)
        if current is None or RUNG_ORDER[s.step] >= RUNG_ORDER[current.step]:
            result[s.resident_id] = Rung(
                step=s.step,
                label=str(s.get_step_display()),
                at=s.at,
                outcome=str(s.get_outcome_display()) if s.outcome else "",
                note=s.note,
                by=str(s.by),
            )
    for resident_id, n in counts.items():
        result[resident_id].count = n
    return result


def outreach_history(round: SamplingRound, resident: Resident) -> list[OutreachStep]:
    return list(OutreachStep.objects.filter(round=round, resident=resident).select_related("by").order_by("-at", "-id"))


def grids_in(user, round: SamplingRound) -> list[Place]:
    """The grids a filter may offer: the community grids under the round's place that the user can reach."""
    ids = ids_from_path(round.place_path)
    if round.by_grid:
        qs = Place.objects.filter(pk=ids[: COMMUNITY_DEPTH + 2][-1])
    elif len(ids) > COMMUNITY_DEPTH + 1:
        # A compound or a building: the community's grids that cover something in it.
        covering = (
            Place.objects.filter(under(round.place_path), grid__isnull=False)
            .values_list("grid_path", flat=True)
            .distinct()
        )
        qs = Place.objects.filter(pk__in={_top_grid_id(path) for path in covering} - {None})
    else:
        qs = Place.objects.filter(under(round.place_path), kind=PlaceKind.GRID, depth=COMMUNITY_DEPTH + 1)
    own = scope_places(user, Cap.VIEW_CARE)
    grids = [
        g for g in qs.order_by("path")[:500] if any(g.path.startswith(p.path) or p.path.startswith(g.path) for p in own)
    ]
    return sorted(grids, key=lambda g: natural_key(g.name))


# ---- home sampling -----------------------------------------------------------------------------------------------


def home_sampling_proposals(user, round: SamplingRound, *, grid: Place | None = None, day: dt.date | None = None):
    """Residents of the round in the user's scope who hold a home-sampling category today and are neither on the
    home list nor sampled yet, in address order."""
    day = day or today()
    links = ResidentCategory.objects.filter(
        category_active_q(day), resident_id=OuterRef("pk"), category__code__in=HOME_SAMPLING_CATEGORIES
    )
    requested = HomeSamplingRequest.objects.filter(round=round, resident_id=OuterRef("pk"))
    qs = population_visible(user, round, Cap.LOG_ROUND_WORK).filter(
        Exists(links), ~Exists(requested), ~sampled_q(round)
    )
    if grid is not None:
        qs = qs.filter(under(grid.path, "grid_path"))
    return qs.order_by("place_path", "id")


def home_requests(user, round: SamplingRound, *, statuses=(HomeRequestStatus.REQUESTED,)) -> QuerySet:
    qs = scoped(user, HomeSamplingRequest.objects.filter(round=round, status__in=list(statuses)), Cap.VIEW_CARE)
    return qs.select_related("resident__household", "record")


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """ "2幢" before "10幢": digits compare as numbers."""
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(text or ""))


@dataclass
class RouteStop:
    request: HomeSamplingRequest
    unit: str
    room: str
    key: tuple


@dataclass
class RouteBuilding:
    compound: str
    building: str
    stops: list[RouteStop] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.compound}{self.building}"


def route(requests: list[HomeSamplingRequest]) -> list[RouteBuilding]:
    """The home-sampling team's route: grouped by compound and building, each building's stops by unit and room.
    One query for the households' buildings, units and compounds."""
    households = [r.resident.household for r in requests]
    ids = {i for h in households for i in h.ancestor_ids}
    places = Place.objects.in_bulk(ids)
    groups: dict[tuple[int, int], RouteBuilding] = {}
    for request in requests:
        chain = [places[i] for i in request.resident.household.ancestor_ids if i in places]
        by_kind = {p.kind: p for p in chain}
        compound = by_kind.get(PlaceKind.COMPOUND)
        building = by_kind.get(PlaceKind.BUILDING)
        unit = by_kind.get(PlaceKind.UNIT)
        household = by_kind.get(PlaceKind.HOUSEHOLD)
        key = (compound.pk if compound else 0, building.pk if building else 0)
        if key not in groups:
            groups[key] = RouteBuilding(
                compound=compound.name if compound else "",
                building=_building_label(building.name) if building else "",
            )
        groups[key].stops.append(
            RouteStop(
                request=request,
                unit=unit.name if unit else "",
                room=household.name if household else "",
                key=(
                    natural_key(unit.name if unit else ""),
                    natural_key(household.name if household else ""),
                    request.resident.name,
                ),
            )
        )
    for group in groups.values():
        group.stops.sort(key=lambda s: s.key)
    return sorted(groups.values(), key=lambda g: (natural_key(g.compound), natural_key(g.building)))


def _building_label(name: str) -> str:
    return name if name.endswith(("幢", "栋", "号楼", "楼", "号")) else f"{name}幢"
