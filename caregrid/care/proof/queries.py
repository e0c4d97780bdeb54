"""Reads for a day's proof (一天一问一记录的留痕): the contacts made under a place on one local day, as rows for the
page and the Excel export, with the day's summary and totals by grid and by carer. Each read is one query on
Contact through its (path, at) indexes: the places under the chosen one and the day's first and last instant,
scoped to the user; rows are read as plain values, a page or an export chunk at a time."""

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, IntegerField, Max, Q, QuerySet, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.masking import mask_id_number, mask_phone
from caregrid.accounts.models import Role, RoleAssignment
from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import get_scoped, scoped
from caregrid.care.models import CareAssignment, CarerRole, Contact, ContactChannel, Reached, Wellbeing
from caregrid.cases.taxonomy import CaseCategory
from caregrid.places.models import Place, PlaceKind
from caregrid.places.queries import scope_roots
from caregrid.places.tree import addresses_for, ids_from_path, under

# Subdistricts, communities and grids offered in the place picker; a district has a few hundred.
PLACE_OPTIONS_LIMIT = 500
# Contacts turned into rows at a time by the export (a few queries per chunk, whatever the day's size).
CHUNK = 2000


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The first instant of the local day and of the next one (Asia/Shanghai: 00:00 to 24:00 local)."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))
    return start, end


def proof_places(user) -> list[Place]:
    """The places the picker offers: the user's scope roots and the subdistricts, communities and grids below."""
    roots = scope_roots(user, Cap.VIEW_CARE)
    kinds = [PlaceKind.SUBDISTRICT, PlaceKind.COMMUNITY, PlaceKind.GRID]
    below = scoped(user, Place.objects.filter(kind__in=kinds), Cap.VIEW_CARE)
    places = {p.pk: p for p in roots}
    for p in below.order_by("path")[:PLACE_OPTIONS_LIMIT]:
        places.setdefault(p.pk, p)
    return sorted(places.values(), key=lambda p: p.path)


def proof_place(user, place_id: int | None, options: list[Place]) -> Place:
    """The chosen place (404 outside the user's scope), else the first of the user's places."""
    if place_id:
        return get_scoped(user, Place.objects.all(), Cap.VIEW_CARE, pk=place_id)
    if not options:
        raise PermissionDenied
    return options[0]


def grids_under(user, place: Place) -> list[Place]:
    """The grids one can filter by under a place (none under a grid: it is its own filter)."""
    if place.kind == PlaceKind.GRID:
        return []
    qs = scoped(user, Place.objects.filter(under(place.path), kind=PlaceKind.GRID), Cap.VIEW_CARE)
    return list(qs.order_by("path")[:PLACE_OPTIONS_LIMIT])


def proof_grid(user, place: Place, grid_id: int | None) -> Place | None:
    if not grid_id:
        return None
    return get_scoped(user, Place.objects.filter(under(place.path), kind=PlaceKind.GRID), Cap.VIEW_CARE, pk=grid_id)


@dataclass
class ProofFilters:
    place: Place
    day: dt.date
    grid: Place | None = None
    channel: str = ""
    outcome: str = ""
    newest_first: bool = False


def _paths_under(place: Place, kind: str | None = None) -> QuerySet[Place]:
    qs = Place.objects.filter(under(place.path))
    return (qs.filter(kind=kind) if kind else qs).values("path")


def day_contacts(user, filters: ProofFilters) -> QuerySet[Contact]:
    """The contacts under the place on the local day that the user may see, filtered (unordered).

    The subtree is matched as "path in (the paths of the places under it)" rather than as a prefix range: on the
    (path, at) index a prefix is a range on the first column, which would read every contact ever made under the
    place; one seek per place reads only the day's (on SQLite and PostgreSQL alike)."""
    start, end = day_bounds(filters.day)
    qs = scoped(user, Contact.objects.all(), Cap.VIEW_CARE).filter(at__gte=start, at__lt=end)
    if filters.place.kind == PlaceKind.GRID:
        qs = qs.filter(grid_path__in=_paths_under(filters.place, PlaceKind.GRID))
    else:
        qs = qs.filter(place_path__in=_paths_under(filters.place))
    if filters.grid is not None:
        qs = qs.filter(grid_path__in=_paths_under(filters.grid, PlaceKind.GRID))
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.outcome:
        qs = qs.filter(outcome=filters.outcome)
    return qs


# What a row shows, read as plain values (no model instances: an export may hold 50,000 rows).
_ROW_VALUES = (
    "id",
    "at",
    "channel",
    "outcome",
    "wellbeing",
    "needs",
    "temperature",
    "grid_path",
    "resident_id",
    "resident__name",
    "resident__id_number",
    "resident__phone",
    "resident__household_id",
    "carer_id",
    "carer__full_name",
    "carer__username",
    "help_request_id",
    "help_request__number",
)


def ordered(qs: QuerySet[Contact], newest_first: bool = False) -> QuerySet:
    """The values of each row in time order, with the resident, carer and help request joined in."""
    order = ("-at", "-id") if newest_first else ("at", "id")
    return qs.order_by(*order).values_list(*_ROW_VALUES)


# --- Summary and totals --------------------------------------------------------------------------------------


@dataclass
class Summary:
    """The day's line: contacts made, and residents by their best outcome of the day (reached beats refused
    beats not reached), so the three resident counts add up to the residents contacted."""

    contacts: int = 0
    residents: int = 0
    reached: int = 0
    not_reached: int = 0
    refused: int = 0


_RANK = Case(
    When(outcome=Reached.REACHED, then=Value(2)),
    When(outcome=Reached.REFUSED, then=Value(1)),
    default=Value(0),
    output_field=IntegerField(),
)


def day_summary(qs: QuerySet[Contact]) -> Summary:
    """One grouped query over the day's contacts."""
    per_resident = qs.order_by().values("resident_id").annotate(best=Max(_RANK), n=Count("id"))
    totals = per_resident.aggregate(
        contacts=Sum("n"),
        residents=Count("resident_id"),
        reached=Count("resident_id", filter=Q(best=2)),
        refused=Count("resident_id", filter=Q(best=1)),
        not_reached=Count("resident_id", filter=Q(best=0)),
    )
    return Summary(**{k: v or 0 for k, v in totals.items()})


@dataclass
class TotalRow:
    label: str
    contacts: int
    residents: int
    reached: int
    not_reached: int
    refused: int


_TOTALS = {
    "contacts": Count("id"),
    "residents": Count("resident_id", distinct=True),
    "reached": Count("id", filter=Q(outcome=Reached.REACHED)),
    "not_reached": Count("id", filter=Q(outcome=Reached.NOT_REACHED)),
    "refused": Count("id", filter=Q(outcome=Reached.REFUSED)),
}
_TOTAL_FIELDS = tuple(_TOTALS)


def totals_by_grid(qs: QuerySet[Contact]) -> list[TotalRow]:
    """Contacts, residents and outcomes per grid (one grouped query, one for the grids' names)."""
    rows = list(qs.order_by().values("grid_path").annotate(**_TOTALS))
    last = {row["grid_path"]: (ids_from_path(row["grid_path"]) or [None])[-1] for row in rows}
    names = dict(Place.objects.filter(pk__in=[i for i in last.values() if i]).values_list("id", "name"))
    result = [
        TotalRow(names.get(last[row["grid_path"]]) or _("未划网格"), *(row[f] for f in _TOTAL_FIELDS)) for row in rows
    ]
    return sorted(result, key=lambda r: (r.label == _("未划网格"), r.label))


def totals_by_carer(qs: QuerySet[Contact]) -> list[TotalRow]:
    """Contacts, residents and outcomes per carer (one grouped query)."""
    rows = qs.order_by().values("carer_id", "carer__full_name", "carer__username").annotate(**_TOTALS)
    result = [
        TotalRow(row["carer__full_name"] or row["carer__username"], *(row[f] for f in _TOTAL_FIELDS)) for row in rows
    ]
    return sorted(result, key=lambda r: (-r.contacts, r.label))


# --- Rows ----------------------------------------------------------------------------------------------------


@dataclass
class ProofRow:
    """One contact as the page and the export show it; numbers masked, labels in the active language."""

    contact_id: int
    resident_id: int
    help_request_id: int | None
    resident_name: str
    id_number: str
    phone: str
    address: str
    grid: str
    at: dt.datetime  # local
    channel: str
    outcome: str
    wellbeing: str
    needs: str
    temperature: str
    carer: str
    carer_role: str
    help_request: str


def _carer_roles(keys: list[tuple[int, int, int, dt.datetime]]) -> dict[int, str]:
    """Per contact (id, resident, carer, at), the carer's role: their care role for that resident at the time
    (包联角色), else the role of their account. Two queries for the whole list."""
    resident_ids = {k[1] for k in keys}
    carer_ids = {k[2] for k in keys}
    assignments: dict[tuple[int, int], list[tuple]] = {}
    for resident_id, carer_id, role, since, until in CareAssignment.objects.filter(
        resident_id__in=resident_ids, carer_id__in=carer_ids
    ).values_list("resident_id", "carer_id", "role", "since", "until"):
        assignments.setdefault((resident_id, carer_id), []).append((role, since, until))
    account_roles: dict[int, str] = {}
    for user_id, role in (
        RoleAssignment.objects.filter(user_id__in=carer_ids).order_by("id").values_list("user_id", "role")
    ):
        account_roles.setdefault(user_id, role)
    care_labels = {value: str(label) for value, label in CarerRole.choices}
    role_labels = {value: str(label) for value, label in Role.choices}
    result = {}
    for contact_id, resident_id, carer_id, at in keys:
        label = ""
        for role, since, until in assignments.get((resident_id, carer_id), ()):
            if since <= at and (until is None or until > at):
                label = care_labels.get(role, role)
                break
        if not label and carer_id in account_roles:
            label = role_labels.get(account_roles[carer_id], account_roles[carer_id])
        result[contact_id] = label
    return result


def _labels(choices) -> dict[str, str]:
    return {value: str(label) for value, label in choices}


def proof_rows(values: list[tuple]) -> list[ProofRow]:
    """Rows from values read with `ordered`: a query each for the households' addresses and the grids' names,
    two for the carers' roles, whatever the number of rows. The grid is the one the contact was made in."""
    households = Place.objects.filter(pk__in={v[12] for v in values}).only("id", "path", "name", "kind")
    addresses = addresses_for(list(households))
    grid_ids = {v[0]: (ids_from_path(v[7]) or [None])[-1] for v in values}
    grids = dict(Place.objects.filter(pk__in={i for i in grid_ids.values() if i}).values_list("id", "name"))
    roles = _carer_roles([(v[0], v[8], v[13], v[1]) for v in values])
    channels, outcomes = _labels(ContactChannel.choices), _labels(Reached.choices)
    wellbeings, needs = _labels(Wellbeing.choices), _labels(CaseCategory.choices)
    local = timezone.get_current_timezone()
    rows = []
    for (
        pk,
        at,
        channel,
        outcome,
        wellbeing,
        needs_found,
        temperature,
        _grid_path,
        resident_id,
        name,
        id_number,
        phone,
        household_id,
        _carer_id,
        carer_name,
        carer_username,
        help_request_id,
        help_request_number,
    ) in values:
        rows.append(
            ProofRow(
                contact_id=pk,
                resident_id=resident_id,
                help_request_id=help_request_id,
                resident_name=name,
                id_number=mask_id_number(id_number),
                phone=mask_phone(phone),
                address=addresses.get(household_id, ""),
                grid=grids.get(grid_ids[pk], ""),
                at=at.astimezone(local),
                channel=channels.get(channel, channel),
                outcome=outcomes.get(outcome, outcome),
                wellbeing=wellbeings.get(wellbeing, ""),
                needs="、".join(needs[n] for n in needs_found or () if n in needs),
                temperature=str(temperature) if temperature is not None else "",
                carer=carer_name or carer_username,
                carer_role=roles.get(pk, ""),
                help_request=help_request_number or "",
            )
        )
    return rows


def _chunks(values: Iterable[tuple]) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in values:
        batch.append(row)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def iter_rows(qs: QuerySet[Contact], newest_first: bool = False) -> Iterator[ProofRow]:
    """Every row of the day, streamed from the database in chunks (for the export)."""
    for batch in _chunks(ordered(qs, newest_first).iterator(chunk_size=CHUNK)):
        yield from proof_rows(batch)
