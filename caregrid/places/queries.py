"""Reads of the place tree shared by pages, API and other apps: zones on a day, the mode in force."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import CharField, Count, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import StrIndex, Substr
from django.db.models.lookups import Exact, StartsWith
from django.utils import timezone

from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import scope_places, scoped

from .models import Mode, ModeChange, Place, PlaceKind, ZonePeriod
from .tree import under


def today() -> dt.date:
    return timezone.localdate()


def active_on(day: dt.date) -> Q:
    return Q(start_date__lte=day) & (Q(end_date__isnull=True) | Q(end_date__gte=day))


def zone_of(place: Place, day: dt.date | None = None) -> ZonePeriod | None:
    """The zone period in force for a place on a day: the deepest covering one. One query."""
    day = day or today()
    return (
        ZonePeriod.objects.filter(active_on(day), place_id__in=place.ancestor_ids)
        .order_by("-depth", "-start_date", "-id")
        .first()
    )


def zones_for(places: list[Place], day: dt.date | None = None) -> dict[int, ZonePeriod | None]:
    """The zone in force for each of many places, with one query."""
    day = day or today()
    ids = {i for p in places for i in p.ancestor_ids}
    periods: dict[int, ZonePeriod] = {}
    for period in ZonePeriod.objects.filter(active_on(day), place_id__in=ids).order_by("start_date", "id"):
        periods[period.place_id] = period  # latest start wins on the same place
    result = {}
    for p in places:
        found = None
        for ancestor_id in p.ancestor_ids:  # root first, so the deepest wins
            found = periods.get(ancestor_id, found)
        result[p.pk] = found
    return result


def zone_status_expr(day: dt.date, path_field: str = "place_path") -> Subquery:
    """A correlated subquery giving the zone status in force on `day` for each row's path."""
    covering = (
        ZonePeriod.objects.filter(active_on(day))
        .filter(StartsWith(ExpressionWrapper(OuterRef(path_field), output_field=CharField()), F("place_path")))
        .order_by("-depth", "-start_date", "-id")
        .values("status")[:1]
    )
    return Subquery(covering)


def zone_q(status: str, day: dt.date | None = None, path_field: str = "place_path") -> Q:
    """Rows whose zone in force on `day` is `status`; composable with any other filter.

    The prefix alternatives let the database use the path index; the correlated subquery then
    settles which of several nested periods wins.
    """
    day = day or today()
    prefixes = list(
        ZonePeriod.objects.filter(active_on(day), status=status).values_list("place_path", flat=True).distinct()
    )
    if not prefixes:
        return Q(pk__in=[])
    candidates = Q()
    for prefix in prefixes:
        candidates |= Q(**{f"{path_field}__startswith": prefix})
    return candidates & Q(Exact(zone_status_expr(day, path_field), Value(status)))


def mode_now() -> ModeChange | None:
    return ModeChange.objects.filter(started_at__lte=timezone.now()).first()


def current_mode() -> str:
    change = mode_now()
    return change.mode if change else Mode.PEACETIME


# --- Place pages and dashboard: scoped places, resident counts per place and category ---------------------------


@dataclass
class PlaceCounts:
    """Residents a user may see under one place: all, priority, and per category (id → count) today."""

    residents: int = 0
    priority: int = 0
    categories: dict[int, int] = field(default_factory=dict)


def places_visible(user) -> QuerySet[Place]:
    return scoped(user, Place.objects.all(), Cap.VIEW_PLACES)


def scope_roots(user, capability: str = Cap.VIEW_PLACES) -> list[Place]:
    """The topmost places the user holds the capability at (a place under another root is dropped)."""
    places = sorted({p.pk: p for p in scope_places(user, capability)}.values(), key=lambda p: (p.depth, p.path))
    roots: list[Place] = []
    for place in places:
        if not any(place.path.startswith(r.path) for r in roots):
            roots.append(place)
    return roots


def place_children(place: Place) -> list[Place]:
    """The places one level down: physical children, or for a grid its micro-grids and what it covers."""
    if place.kind == PlaceKind.GRID:
        micro = list(Place.objects.filter(parent=place, kind=PlaceKind.GRID).order_by("name", "id"))
        return micro + grid_coverage([place]).get(place.pk, [])
    return list(Place.objects.filter(parent=place).exclude(kind=PlaceKind.GRID).order_by("name", "id"))


def community_grids(place: Place) -> list[Place]:
    return list(Place.objects.filter(parent=place, kind=PlaceKind.GRID).order_by("name", "id"))


def grid_coverage(grids: list[Place]) -> dict[int, list[Place]]:
    """For each grid, the topmost places it covers (usually buildings): a covered place whose parent is
    covered by the same grid is left out. One query."""
    result: dict[int, list[Place]] = {g.pk: [] for g in grids}
    if not grids:
        return result
    covered = (
        Place.objects.filter(grid_id__in=list(result))
        .annotate(parent_grid=F("parent__grid_id"))
        .filter(Q(parent_grid__isnull=True) | ~Q(parent_grid=F("grid_id")))
        .order_by("path")
    )
    for place in covered:
        result[place.grid_id].append(place)
    return result


def grids_of_places(places: list[Place]) -> dict[int, list[Place]]:
    """The grids covering anything under each place (a compound spanning two grids gets both). One query."""
    result: dict[int, list[Place]] = {p.pk: [] for p in places}
    if not places:
        return result
    by_prefix = {p.path: p.pk for p in places}
    q = Q()
    for p in places:
        q |= under(p.path)
    rows = (
        Place.objects.filter(q, grid__isnull=False, kind=PlaceKind.BUILDING)
        .values_list("path", "grid_id")
        .distinct()
        .order_by()
    )
    grid_ids: dict[int, set[int]] = {p.pk: set() for p in places}
    for path, grid_id in rows:
        for prefix, pk in by_prefix.items():
            if path.startswith(prefix):
                grid_ids[pk].add(grid_id)
    grids = Place.objects.in_bulk({g for ids in grid_ids.values() for g in ids})
    for pk, ids in grid_ids.items():
        result[pk] = sorted((grids[g] for g in ids if g in grids), key=lambda g: (g.name, g.pk))
    return result


def _field_for(place: Place) -> str:
    """The resident path a place's subtree is found by: grids group residents through grid_path."""
    return "grid_path" if place.kind == PlaceKind.GRID else "place_path"


def _active_links_q(day: dt.date) -> Q:
    """Residents' category links in force on the day, as one filter() so the join is shared."""
    return (
        (Q(category_links__since__isnull=True) | Q(category_links__since__lte=day))
        & (Q(category_links__until__isnull=True) | Q(category_links__until__gte=day))
        & Q(category_links__category__is_active=True)
    )


def path_segment(field_name: str, prefix_len: int):
    """The id of the child one level below a prefix, read off a path ("1.4.27.9." after "1.4." → "27")."""
    rest = Substr(field_name, prefix_len + 1)
    return Substr(field_name, prefix_len + 1, StrIndex(rest, Value(".")) - 1)


def _residents(user) -> QuerySet:
    from caregrid.people.models import Resident

    return scoped(user, Resident.objects.all(), Cap.VIEW_RESIDENTS)


def counts_by_child(
    user, parent: Place, children: list[Place], *, day: dt.date | None = None
) -> dict[int, PlaceCounts]:
    """Resident counts for the direct children of a place (see place_counts_with_children)."""
    return place_counts_with_children(user, parent, children, day=day)[1]


def place_counts_with_children(
    user, parent: Place, children: list[Place], *, day: dt.date | None = None
) -> tuple[PlaceCounts, dict[int, PlaceCounts]]:
    """Resident counts under a place and under each of its direct children, in two grouped queries
    (four on a community page, whose grids are grouped separately), whatever the number of children.

    Children in the physical tree are grouped by the segment of place_path after the parent's path; the grids
    of a community by the segment of grid_path. Children that are neither (what a grid covers) get one
    conditional count each inside the same two queries. The place's own counts are the sum of all groups,
    so they cost no query of their own.
    """
    day = day or today()
    own = PlaceCounts()
    result = {c.pk: PlaceCounts() for c in children}
    parent_field = _field_for(parent)
    base = _residents(user).filter(under(parent.path, parent_field))
    grids = [c for c in children if c.parent_id == parent.pk and c.kind == PlaceKind.GRID]
    by_path = [c for c in children if c.parent_id == parent.pk and c not in grids]
    others = [c for c in children if c.parent_id != parent.pk]
    if parent.kind == PlaceKind.GRID:
        # A grid's residents are found through grid_path; its micro-grids too, what it covers is not a segment.
        by_path, grids, others = grids, [], by_path + others
    if others or not children:
        _conditional_counts(base, others, result, day, own=own)
    else:
        _grouped_counts(base, parent, parent_field, result, day, own=own)
    if grids:
        grid_base = base.filter(under(parent.path, "grid_path"))
        _grouped_counts(grid_base, parent, "grid_path", result, day)
    if by_path and others:
        _grouped_counts(base, parent, parent_field, result, day)
    return own, result


def _grouped_counts(
    qs: QuerySet, parent: Place, path_field: str, result: dict, day: dt.date, own: PlaceCounts | None = None
) -> None:
    seg = path_segment(path_field, len(parent.path))
    for row in qs.values(seg=seg).annotate(n=Count("id"), p=Count("id", filter=Q(is_priority=True))).order_by():
        if own is not None:
            own.residents += row["n"]
            own.priority += row["p"]
        target = result.get(int_or_none(row["seg"]))
        if target is not None:
            target.residents, target.priority = row["n"], row["p"]
    links = qs.filter(_active_links_q(day))
    for row in links.values(seg=seg, cat=F("category_links__category_id")).annotate(n=Count("id")).order_by():
        if own is not None:
            own.categories[row["cat"]] = own.categories.get(row["cat"], 0) + row["n"]
        target = result.get(int_or_none(row["seg"]))
        if target is not None:
            target.categories[row["cat"]] = row["n"]


def counts_for_places(user, places: list[Place], *, day: dt.date | None = None) -> dict[int, PlaceCounts]:
    """Resident counts for a few unrelated places (scope roots): two queries with one conditional count each."""
    day = day or today()
    result = {p.pk: PlaceCounts() for p in places}
    if places:
        q = Q()
        for p in places:
            q |= under(p.path, _field_for(p))
        _conditional_counts(_residents(user).filter(q), places, result, day)
    return result


def _conditional_counts(
    base: QuerySet, places: list[Place], result: dict, day: dt.date, own: PlaceCounts | None = None
) -> None:
    conds = {p.pk: under(p.path, _field_for(p)) for p in places}
    totals = {"n": Count("id"), "p": Count("id", filter=Q(is_priority=True))}
    for pk, cond in conds.items():
        totals[f"n{pk}"] = Count("id", filter=cond)
        totals[f"p{pk}"] = Count("id", filter=cond & Q(is_priority=True))
    row = base.aggregate(**totals)
    if own is not None:
        own.residents, own.priority = row["n"], row["p"]
    for pk in conds:
        result[pk].residents, result[pk].priority = row[f"n{pk}"], row[f"p{pk}"]
    per_cat = {"n": Count("id"), **{f"c{pk}": Count("id", filter=cond) for pk, cond in conds.items()}}
    links = base.filter(_active_links_q(day))
    for row in links.values(cat=F("category_links__category_id")).annotate(**per_cat).order_by():
        if own is not None:
            own.categories[row["cat"]] = row["n"]
        for pk in conds:
            if row[f"c{pk}"]:
                result[pk].categories[row["cat"]] = row[f"c{pk}"]


def counts_for_place(user, place: Place | None = None, *, day: dt.date | None = None) -> PlaceCounts:
    """Resident counts under one place (or the user's whole scope when place is None): two queries."""
    day = day or today()
    qs = _residents(user)
    if place is not None:
        qs = qs.filter(under(place.path, _field_for(place)))
    else:
        roots = scope_roots(user, Cap.VIEW_RESIDENTS)
        if len(roots) == 1:
            # Residents live in households, never under a grid's own path: for a grid role this is the same set,
            # but a single indexed prefix lets SQLite drive the category join from the resident index
            # instead of scanning every category link (the scope of a grid role is an OR of two prefixes).
            qs = qs.filter(under(roots[0].path, _field_for(roots[0])))
    row = qs.aggregate(n=Count("id"), p=Count("id", filter=Q(is_priority=True)))
    counts = PlaceCounts(residents=row["n"], priority=row["p"])
    links = qs.filter(_active_links_q(day))
    for r in links.values(cat=F("category_links__category_id")).annotate(n=Count("id")).order_by():
        counts.categories[r["cat"]] = r["n"]
    return counts


def zone_counts(user, statuses: tuple[str, ...], *, day: dt.date | None = None) -> dict[str, PlaceCounts]:
    """Residents (and priority residents) the user may see living in each zone status today."""
    day = day or today()
    result = {}
    for status in statuses:
        row = (
            _residents(user)
            .filter(zone_q(status, day))
            .aggregate(n=Count("id"), p=Count("id", filter=Q(is_priority=True)))
        )
        result[status] = PlaceCounts(residents=row["n"], priority=row["p"])
    return result


def zoned_places(user, statuses: tuple[str, ...], *, day: dt.date | None = None) -> list[ZonePeriod]:
    """Zone periods in force today with one of the statuses, on places in the user's scope or above it."""
    day = day or today()
    above = {i for root in scope_roots(user) for i in root.ancestor_ids}
    return list(
        ZonePeriod.objects.filter(active_on(day), status__in=statuses)
        .filter(Q(place__in=places_visible(user)) | Q(place_id__in=above))
        .select_related("place", "set_by")
        .order_by("status", "place_path")
    )


def zone_history(place: Place) -> QuerySet[ZonePeriod]:
    return ZonePeriod.objects.filter(place=place).select_related("set_by").order_by("-start_date", "-id")


def mode_history(limit: int = 20) -> list[ModeChange]:
    return list(ModeChange.objects.select_related("set_by")[:limit])


def int_or_none(text) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None
