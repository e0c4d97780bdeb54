"""Reads of care teams shared by pages and other care slices: a resident's carers, a carer's residents, the
team of a place and the gap list. Every read that reaches a user is scoped."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from caregrid.accounts.models import RoleAssignment, User
from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import scoped
from caregrid.care.models import CareAssignment
from caregrid.people.models import Resident
from caregrid.people.queries import ResidentFilters, resident_search, with_categories
from caregrid.places.models import Place, PlaceKind, ZoneStatus
from caregrid.places.queries import today, zone_q
from caregrid.places.tree import under

GAP_ZONES = (ZoneStatus.SEALED, ZoneStatus.CONTROLLED)


def current_q(at: dt.datetime | None = None) -> Q:
    """Assignments in force at a moment (now by default)."""
    at = at or timezone.now()
    return Q(since__lte=at) & (Q(until__isnull=True) | Q(until__gt=at))


def carers_of(resident: Resident, at: dt.datetime | None = None) -> list[CareAssignment]:
    """A resident's current carers, by role."""
    return list(
        CareAssignment.objects.filter(current_q(at), resident=resident).select_related("carer").order_by("role", "id")
    )


def assignments_visible(user) -> QuerySet[CareAssignment]:
    return scoped(user, CareAssignment.objects.all(), Cap.VIEW_CARE)


def residents_of(carer: User, at: dt.datetime | None = None) -> QuerySet[Resident]:
    """The residents a user currently cares for, in address order."""
    ids = CareAssignment.objects.filter(current_q(at), carer=carer).values("resident_id")
    return Resident.objects.filter(pk__in=ids).order_by("place_path", "id")


def with_carers(qs: QuerySet[Resident], at: dt.datetime | None = None) -> QuerySet[Resident]:
    """Prefetch each resident's current carers into `current_carers` (one extra query per page)."""
    links = CareAssignment.objects.filter(current_q(at)).select_related("carer").order_by("role", "id")
    return qs.prefetch_related(Prefetch("carers", queryset=links, to_attr="current_carers"))


def _has_carer(role: str = "", at: dt.datetime | None = None) -> Exists:
    links = CareAssignment.objects.filter(current_q(at), resident_id=OuterRef("pk"))
    if role:
        links = links.filter(role=role)
    return Exists(links)


@dataclass
class TeamFilters:
    place: Place | None = None
    q: str = ""
    role: str = ""  # only residents who have a carer in this role
    missing: str = ""  # only residents without a carer in this role ("any": without any carer)


def team_residents(user, filters: TeamFilters) -> QuerySet[Resident]:
    """Priority residents under a place the user may see care for, with their current carers and categories."""
    qs = resident_search(
        user, ResidentFilters(place=filters.place, q=filters.q, priority_only=True), capability=Cap.VIEW_CARE
    )
    if filters.role:
        qs = qs.filter(_has_carer(filters.role))
    if filters.missing == "any":
        qs = qs.filter(~_has_carer())
    elif filters.missing:
        qs = qs.filter(~_has_carer(filters.missing))
    return with_carers(with_categories(qs)).select_related("household")


@dataclass
class Gaps:
    residents: list = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # zone status → residents without a carer
    total: int = 0
    more: bool = False


def gap_residents(user, place: Place | None = None, day: dt.date | None = None) -> QuerySet[Resident]:
    """Priority residents inside a sealed or controlled zone today who have no current carer, scoped."""
    day = day or today()
    qs = scoped(user, Resident.objects.filter(is_priority=True), Cap.VIEW_CARE)
    if place is not None:
        qs = qs.filter(under(place.path, "grid_path" if place.kind == PlaceKind.GRID else "place_path"))
    zones = Q(pk__in=[])
    for status in GAP_ZONES:
        zones |= zone_q(status, day)
    return qs.filter(zones).filter(~_has_carer()).order_by("place_path", "id")


def care_gaps(user, place: Place | None = None, day: dt.date | None = None, limit: int = 200) -> Gaps:
    """The gap list with counts per zone status; at most `limit` residents listed."""
    day = day or today()
    counts = {}
    for status in GAP_ZONES:
        base = scoped(user, Resident.objects.filter(is_priority=True), Cap.VIEW_CARE)
        if place is not None:
            base = base.filter(under(place.path, "grid_path" if place.kind == PlaceKind.GRID else "place_path"))
        counts[status] = base.filter(zone_q(status, day)).filter(~_has_carer()).count()
    rows = list(with_categories(gap_residents(user, place, day), day).select_related("household")[: limit + 1])
    return Gaps(residents=rows[:limit], counts=counts, total=sum(counts.values()), more=len(rows) > limit)


def grid_staff(grid: Place) -> QuerySet[User]:
    """The users who can fill a team slot for a grid: those holding a role on the grid, its micro-grids or its
    community."""
    places = Q(place__path__startswith=grid.path)
    if grid.parent_id:
        places |= Q(place_id=grid.parent_id)
    user_ids = RoleAssignment.objects.filter(places).values("user_id")
    return User.objects.filter(pk__in=user_ids, is_active=True).order_by("full_name", "username")


def grids_assignable(user) -> QuerySet[Place]:
    """The grids a user may apply a team template to."""
    return scoped(user, Place.objects.filter(kind=PlaceKind.GRID), Cap.ASSIGN_CARERS).order_by("path")
