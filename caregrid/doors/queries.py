"""Reads of door-knocking rounds shared by the pages, the printable sheet and the export, all scoped to the user.

A round is visible to whoever holds the capability over part of its area: over its root (community staff for a
community's round) or inside it (a grid worker for their grid's part). Inside a round, every list and count is
limited to the households the user's scope reaches, so a grid worker sees only their grid's doors.
Progress comes from one grouped query over the households joined to their state in the round, whatever the
number of households (a subdistrict's round covers tens of thousands)."""

import re
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, F, FilteredRelation, Q, QuerySet, When
from django.http import Http404

from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import can, scope_places, scope_q, scoped
from caregrid.people.queries import residents_visible, with_categories
from caregrid.places.models import Place, PlaceKind
from caregrid.places.queries import grid_coverage
from caregrid.places.tree import address_label, addresses_for, under

from .models import DoorRound, DoorVisit, VisitOutcome

# Households on one printable sheet at most; a larger round is printed a grid or a building at a time.
SHEET_LIMIT = 3000


def _prefixes(path: str) -> list[str]:
    """ "1.4.27." → ["1.", "1.4.", "1.4.27."]: the paths of a place and its ancestors."""
    ids = [p for p in path.split(".") if p]
    return [".".join(ids[: k + 1]) + "." for k in range(len(ids))]


def rounds_visible(user, capability: str = Cap.VIEW_CARE) -> QuerySet[DoorRound]:
    """Rounds over any part of the user's scope for the capability: rounds at or below a place of theirs, and
    rounds over an area holding one (a community's round for its grid workers)."""
    q = scope_q(DoorRound, user, capability)
    if q is None:
        return DoorRound.objects.none()
    places = scope_places(user, capability)
    enclosing: set[str] = set()
    grids = [p for p in places if p.kind == PlaceKind.GRID]
    for place in places:
        enclosing.update(_prefixes(place.path))
    # A grid covers buildings elsewhere in the tree: rounds over them, their compound or a unit in them count.
    for covered in grid_coverage(grids).values():
        for place in covered:
            enclosing.update(_prefixes(place.path))
            q |= under(place.path, "place_path")
    return DoorRound.objects.filter(q | Q(place_path__in=enclosing))


def round_for(user, pk: int, capability: str) -> DoorRound:
    """The round, if the user may reach it with the capability: 404 outside scope, 403 without the capability."""
    if not can(user, capability):
        raise PermissionDenied
    door_round = rounds_visible(user, capability).select_related("place", "created_by").filter(pk=pk).first()
    if door_round is None:
        raise Http404
    return door_round


def round_households_all(door_round: DoorRound) -> QuerySet[Place]:
    """Every household of the round, whoever asks: under its root, or covered by it when the root is a grid."""
    field_name = "grid_path" if door_round.place.kind == PlaceKind.GRID else "path"
    return Place.objects.filter(under(door_round.place_path, field_name), kind=PlaceKind.HOUSEHOLD)


def round_households(user, door_round: DoorRound, capability: str = Cap.VIEW_CARE) -> QuerySet[Place]:
    """The round's households the user's scope reaches."""
    return scoped(user, round_households_all(door_round), capability)


def household_in_round(door_round: DoorRound, household: Place) -> bool:
    if household is None or household.kind != PlaceKind.HOUSEHOLD:
        return False
    path = household.grid_path if door_round.place.kind == PlaceKind.GRID else household.path
    return path.startswith(door_round.place_path)


def _with_state(qs: QuerySet[Place], door_round: DoorRound) -> QuerySet[Place]:
    """Households joined to their state in the round (at most one row each: the join carries the round)."""
    return qs.annotate(st=FilteredRelation("door_states", condition=Q(door_states__round=door_round)))


def _building_id():
    """A household's building: its parent, or its parent's parent when it sits in a unit."""
    return Case(When(parent__kind=PlaceKind.BUILDING, then=F("parent_id")), default=F("parent__parent_id"))


@dataclass
class Tally:
    """Households of one grid, building or the whole round, by the outcome of their latest visit."""

    key: int | None = None
    label: str = ""
    total: int = 0
    visited: int = 0
    refused: int = 0
    revisit: int = 0  # latest visit found nobody home

    @property
    def done(self) -> int:
        return self.visited + self.refused

    @property
    def not_visited(self) -> int:
        return self.total - self.done - self.revisit

    @property
    def percent(self) -> int:
        """Whole percent done, rounded down: 100 only when every household is done."""
        return self.done * 100 // self.total if self.total else 0

    def add(self, row: dict) -> None:
        self.total += row["total"]
        self.visited += row["visited"]
        self.refused += row["refused"]
        self.revisit += row["revisit"]

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "visited": self.visited,
            "refused": self.refused,
            "revisit": self.revisit,
            "not_visited": self.not_visited,
        }


@dataclass
class RoundProgress:
    total: Tally
    by_grid: list[Tally] = field(default_factory=list)
    by_building: list[Tally] = field(default_factory=list)


def _grouped(qs: QuerySet[Place], door_round: DoorRound) -> list[dict]:
    """One grouped query: households per (building, grid) and how many of them are in each state."""
    return list(
        _with_state(qs, door_round)
        .annotate(building=_building_id())
        .values("building", "grid_id")
        .annotate(
            total=Count("id"),
            visited=Count("st__id", filter=Q(st__outcome=VisitOutcome.VISITED)),
            refused=Count("st__id", filter=Q(st__outcome=VisitOutcome.REFUSED)),
            revisit=Count("st__id", filter=Q(st__outcome=VisitOutcome.NOBODY_HOME)),
        )
        .order_by()
    )


def round_totals(door_round: DoorRound) -> dict:
    """The whole round's figures, for the record kept when it closes."""
    total = Tally()
    for row in _grouped(round_households_all(door_round), door_round):
        total.add(row)
    return total.as_dict()


def natural_key(text: str) -> tuple:
    """ "2幢" before "10幢": digits compare as numbers."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text or ""))


def round_progress(user, door_round: DoorRound, *, grid: Place | None = None) -> RoundProgress:
    """Progress of the user's part of the round, by grid and by building (of one grid, if given): the grouped
    query, then one query each for the buildings, their addresses and the grids."""
    rows = _grouped(round_households(user, door_round), door_round)
    total = Tally()
    grids: dict[int | None, Tally] = {}
    buildings: dict[int | None, Tally] = {}
    for row in rows:
        total.add(row)
        grids.setdefault(row["grid_id"], Tally(key=row["grid_id"])).add(row)
        if grid is None or row["grid_id"] == grid.pk:
            buildings.setdefault(row["building"], Tally(key=row["building"])).add(row)
    grid_places = Place.objects.in_bulk([k for k in grids if k is not None])
    for tally in grids.values():
        tally.label = grid_places[tally.key].name if tally.key in grid_places else ""
    building_places = Place.objects.in_bulk([k for k in buildings if k is not None])
    labels = addresses_for(list(building_places.values()))
    for tally in buildings.values():
        tally.label = labels.get(tally.key, "")
    return RoundProgress(
        total=total,
        by_grid=sorted(grids.values(), key=lambda t: (t.key is None, natural_key(t.label))),
        by_building=sorted(buildings.values(), key=lambda t: (t.key is None, natural_key(t.label))),
    )


def round_grids(user, door_round: DoorRound) -> list[Place]:
    """The grids covering the user's part of the round (for filters)."""
    ids = round_households(user, door_round).exclude(grid__isnull=True).values("grid_id")
    return sorted(Place.objects.filter(pk__in=ids), key=lambda g: natural_key(g.name))


def round_buildings(user, door_round: DoorRound, *, grid: Place | None = None) -> list[Place]:
    """The buildings of the user's part of the round (of one grid, if given), with their addresses as `label`."""
    households = round_households(user, door_round)
    if grid is not None:
        households = households.filter(under(grid.path, "grid_path"))
    ids = households.annotate(building=_building_id()).values("building")
    buildings = list(Place.objects.filter(pk__in=ids))
    labels = addresses_for(buildings)
    for b in buildings:
        b.label = labels.get(b.pk, b.name)
    return sorted(buildings, key=lambda b: natural_key(b.label))


def households_to_visit(
    user, door_round: DoorRound, *, grid: Place | None = None, building: Place | None = None
) -> QuerySet[Place]:
    """Households not yet visited, or whose latest visit found nobody home (to revisit), in tree order, each
    with `state_outcome`, `state_at` and `state_visits` (None when never visited)."""
    qs = _with_state(round_households(user, door_round), door_round).filter(
        Q(st__id__isnull=True) | Q(st__outcome=VisitOutcome.NOBODY_HOME)
    )
    if grid is not None:
        qs = qs.filter(under(grid.path, "grid_path"))
    if building is not None:
        qs = qs.filter(under(building.path))
    return qs.annotate(
        state_outcome=F("st__outcome"), state_at=F("st__last_at"), state_visits=F("st__visits")
    ).order_by("path")


def households_with_state(user, door_round: DoorRound) -> QuerySet[Place]:
    """All the user's households of the round in tree order, with the state their latest visit left them in
    (`state_*` None when never visited)."""
    return (
        _with_state(round_households(user, door_round), door_round)
        .annotate(
            state_outcome=F("st__outcome"),
            state_at=F("st__last_at"),
            state_visits=F("st__visits"),
            state_note=F("st__last_visit__note"),
            state_visitor_name=F("st__last_visit__visitor__full_name"),
            state_visitor_username=F("st__last_visit__visitor__username"),
        )
        .order_by("path")
    )


def household_visits(door_round: DoorRound, household: Place) -> list[DoorVisit]:
    """A household's visits in the round, latest first, with their findings."""
    return list(
        DoorVisit.objects.filter(round=door_round, household=household)
        .select_related("visitor")
        .prefetch_related("found__category")
        .order_by("-at", "-id")
    )


def household_residents(user, household: Place):
    """The household's residents the user may see, with their categories in force today."""
    return list(with_categories(residents_visible(user).filter(household=household)).order_by("id"))


def visits_visible(user, door_round: DoorRound, capability: str = Cap.VIEW_CARE) -> QuerySet[DoorVisit]:
    return scoped(user, DoorVisit.objects.filter(round=door_round), capability)


@dataclass
class SheetRow:
    household: Place
    room: str
    residents: list
    outcome: str | None


@dataclass
class SheetBuilding:
    building: Place
    address: str
    grid: str
    rows: list[SheetRow]


@dataclass
class Sheet:
    buildings: list[SheetBuilding]
    too_many: bool = False
    households: int = 0


def round_sheet(
    user,
    door_round: DoorRound,
    *,
    grid: Place | None = None,
    building: Place | None = None,
    pending_only: bool = False,
) -> Sheet:
    """The printable sheet: buildings, each with its households (room order) and their residents. A fixed number
    of queries: households, their units and buildings, the buildings' addresses, the grids, the residents."""
    qs = _with_state(round_households(user, door_round), door_round)
    if grid is not None:
        qs = qs.filter(under(grid.path, "grid_path"))
    if building is not None:
        qs = qs.filter(under(building.path))
    if pending_only:
        qs = qs.filter(Q(st__id__isnull=True) | Q(st__outcome=VisitOutcome.NOBODY_HOME))
    households = list(
        qs.annotate(building_id=_building_id(), state_outcome=F("st__outcome")).order_by("path")[: SHEET_LIMIT + 1]
    )
    if len(households) > SHEET_LIMIT:
        return Sheet(buildings=[], too_many=True, households=len(households))
    parents = Place.objects.in_bulk(
        {h.parent_id for h in households} | {h.building_id for h in households if h.building_id}
    )
    building_places = [parents[i] for i in {h.building_id for h in households} if i in parents]
    addresses = addresses_for(building_places)
    grids = Place.objects.in_bulk({b.grid_id for b in building_places if b.grid_id})
    residents: dict[int, list] = {}
    visible = residents_visible(user).filter(household_id__in=[h.pk for h in households]).order_by("id")
    for r in visible.only("id", "name", "id_number", "phone", "household_id"):
        residents.setdefault(r.household_id, []).append(r)
    by_building: dict[int, list[SheetRow]] = {}
    for h in households:
        parent = parents.get(h.parent_id)
        chain = [parent, h] if parent is not None and parent.kind == PlaceKind.UNIT else [h]
        by_building.setdefault(h.building_id, []).append(
            SheetRow(household=h, room=address_label(chain), residents=residents.get(h.pk, []), outcome=h.state_outcome)
        )
    sheets = []
    for b in building_places:
        rows = sorted(by_building.get(b.pk, []), key=lambda r: natural_key(r.room))
        grid_place = grids.get(b.grid_id)
        sheets.append(
            SheetBuilding(
                building=b, address=addresses.get(b.pk, b.name), grid=grid_place.name if grid_place else "", rows=rows
            )
        )
    sheets.sort(key=lambda s: natural_key(s.address))
    return Sheet(buildings=sheets, households=len(households))
