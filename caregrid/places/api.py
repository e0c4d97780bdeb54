"""API for the place tree: roots and children, one place with its ancestors, zone history and zone changes.

A place is visible when it is in the user's scope (accounts.scope); its zone history is visible with it,
including periods set on its ancestors, since those decide the place's zone.
"""

import datetime as dt

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Length
from ninja import Field, Query, Router, Schema, Status

from caregrid.accounts.api import ERRORS, MAX_PAGE, Id, Out, PlaceRefOut, Text, page_of
from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import get_scoped, require, scoped

from .actions import zone_set
from .models import Place, PlaceKind, ZonePeriod, ZoneStatus
from .queries import scope_roots, zones_for

router = Router(tags=["places"])


class ZoneNowOut(Out):
    status: ZoneStatus
    label: str
    start_date: dt.date
    end_date: dt.date | None
    set_on: int = Field(description="id of the place the period was set on (this place or an ancestor)")


class PlaceOut(Out):
    id: int
    kind: PlaceKind
    kind_label: str
    name: str
    code: str
    path_names: list[str] = Field(description="names from the district down to this place")
    grid: PlaceRefOut | None = Field(description="the grid responsible for a building, unit or household")
    grid_type: str
    child_count: int = Field(description="children this user may see")
    zone: ZoneNowOut | None = Field(description="zone in force today, inherited from above if not set here")


class PlaceDetailOut(PlaceOut):
    ancestors: list[PlaceRefOut] = Field(description="root first, without the place itself")


class PlacePageOut(Out):
    items: list[PlaceOut]
    page: int
    page_size: int
    has_next: bool


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(100, ge=1, le=500)


class PlaceListQuery(PageQuery):
    parent: Id | None = Field(None, description="children of this place; the user's top places when omitted")


class ZonePeriodOut(Out):
    id: int
    place: PlaceRefOut
    status: ZoneStatus
    label: str
    start_date: dt.date
    end_date: dt.date | None
    reason: str
    set_by: str
    created_at: dt.datetime
    inherited: bool = Field(description="set on an ancestor of the requested place")


class ZonePeriodPageOut(Out):
    items: list[ZonePeriodOut]
    page: int
    page_size: int
    has_next: bool


class ZoneHistoryQuery(PageQuery):
    inherited: bool = Field(True, description="include periods set on ancestors")


class ZoneIn(Schema):
    status: ZoneStatus
    start_date: dt.date
    end_date: dt.date | None = None
    reason: Text = Field(max_length=500)


def zone_out(period: ZonePeriod | None) -> dict | None:
    if period is None:
        return None
    return {
        "status": period.status,
        "label": str(ZoneStatus(period.status).label),
        "start_date": period.start_date,
        "end_date": period.end_date,
        "set_on": period.place_id,
    }


def _children_q(place: Place) -> Q:
    """Children in the tree; a grid's children are its micro-grids and the topmost places it covers."""
    q = Q(parent=place)
    if place.kind == PlaceKind.GRID:
        q |= Q(grid=place) & ~Q(parent__grid=place)
    return q


def _child_counts(user, places: list[Place]) -> dict[int, int]:
    """How many children of each place the user may see: two queries for any number of places."""
    ids = [p.pk for p in places]
    counts = dict.fromkeys(ids, 0)
    if not ids:
        return counts
    physical = scoped(user, Place.objects.filter(parent_id__in=ids), Cap.VIEW_PLACES)
    for row in physical.order_by().values("parent_id").annotate(n=Count("id")):
        counts[row["parent_id"]] += row["n"]
    grid_ids = [p.pk for p in places if p.kind == PlaceKind.GRID]
    if grid_ids:
        covered = scoped(
            user,
            Place.objects.filter(grid_id__in=grid_ids).exclude(parent__grid_id=F("grid_id")),
            Cap.VIEW_PLACES,
        )
        for row in covered.order_by().values("grid_id").annotate(n=Count("id")):
            counts[row["grid_id"]] += row["n"]
    return counts


def _places_out(user, places: list[Place], *, detail: bool = False) -> list[dict]:
    """Serialise places with a constant number of queries: names, zones, child counts."""
    wanted = {i for p in places for i in p.ancestor_ids} | {p.grid_id for p in places if p.grid_id}
    by_id = Place.objects.in_bulk(wanted)
    zones = zones_for(places)
    counts = _child_counts(user, places)
    out = []
    for p in places:
        chain = [by_id[i] for i in p.ancestor_ids if i in by_id]
        grid = by_id.get(p.grid_id) if p.grid_id else None
        row = {
            "id": p.pk,
            "kind": p.kind,
            "kind_label": str(PlaceKind(p.kind).label),
            "name": p.name,
            "code": p.code,
            "path_names": [c.name for c in chain],
            "grid": {"id": grid.pk, "kind": grid.kind, "name": grid.name} if grid else None,
            "grid_type": p.grid_type,
            "child_count": counts.get(p.pk, 0),
            "zone": zone_out(zones.get(p.pk)),
        }
        if detail:
            row["ancestors"] = [{"id": c.pk, "kind": c.kind, "name": c.name} for c in chain if c.pk != p.pk]
        out.append(row)
    return out


def _ordered(qs: QuerySet[Place]) -> QuerySet[Place]:
    # Shorter names first keeps "2幢" before "10幢" without a natural-sort collation.
    return qs.order_by("kind", Length("name"), "name", "id")


def _children_page(request, place: Place, page: int, page_size: int) -> dict:
    user = request.auth
    qs = _ordered(scoped(user, Place.objects.filter(_children_q(place)), Cap.VIEW_PLACES))
    rows, has_next = page_of(qs, page, page_size)
    return {"items": _places_out(user, rows), "page": page, "page_size": page_size, "has_next": has_next}


def _visible_place(request, place_id: int, capability: str = Cap.VIEW_PLACES) -> Place:
    return get_scoped(request.auth, Place.objects.all(), capability, pk=place_id)


@router.get(
    "/places",
    response={200: PlacePageOut, **ERRORS},
    summary="The user's top places, or the children of ?parent=ID",
)
def place_list(request, params: Query[PlaceListQuery]):
    user = request.auth
    require(user, Cap.VIEW_PLACES)
    if params.parent is not None:
        return _children_page(request, _visible_place(request, params.parent), params.page, params.page_size)
    tops = scope_roots(user, Cap.VIEW_PLACES)
    qs = _ordered(scoped(user, Place.objects.filter(pk__in=[t.pk for t in tops]), Cap.VIEW_PLACES))
    rows, has_next = page_of(qs, params.page, params.page_size)
    return {
        "items": _places_out(user, rows),
        "page": params.page,
        "page_size": params.page_size,
        "has_next": has_next,
    }


@router.get("/places/{place_id}", response={200: PlaceDetailOut, **ERRORS}, summary="One place with its ancestors")
def place_detail(request, place_id: Id):
    place = _visible_place(request, place_id)
    return _places_out(request.auth, [place], detail=True)[0]


@router.get("/places/{place_id}/children", response={200: PlacePageOut, **ERRORS}, summary="Children of a place")
def place_children(request, place_id: Id, params: Query[PageQuery]):
    place = _visible_place(request, place_id)
    return _children_page(request, place, params.page, params.page_size)


def _period_out(period: ZonePeriod, place: Place) -> dict:
    return {
        "id": period.pk,
        "place": {"id": period.place.pk, "kind": period.place.kind, "name": period.place.name},
        "status": period.status,
        "label": str(ZoneStatus(period.status).label),
        "start_date": period.start_date,
        "end_date": period.end_date,
        "reason": period.reason,
        "set_by": str(period.set_by) if period.set_by else "",
        "created_at": period.created_at,
        "inherited": period.place_id != place.pk,
    }


@router.get(
    "/places/{place_id}/zones",
    response={200: ZonePeriodPageOut, **ERRORS},
    summary="Zone history of a place, newest first",
)
def place_zones(request, place_id: Id, params: Query[ZoneHistoryQuery]):
    place = _visible_place(request, place_id)
    ids = place.ancestor_ids if params.inherited else [place.pk]
    qs = (
        ZonePeriod.objects.filter(place_id__in=ids)
        .select_related("place", "set_by")
        .order_by("-start_date", "-depth", "-id")
    )
    rows, has_next = page_of(qs, params.page, params.page_size)
    return {
        "items": [_period_out(p, place) for p in rows],
        "page": params.page,
        "page_size": params.page_size,
        "has_next": has_next,
    }


@router.post(
    "/places/{place_id}/zones",
    response={201: ZonePeriodOut, **ERRORS},
    summary="Set the zone of a place from a date (audited)",
)
def place_zone_set(request, place_id: Id, payload: ZoneIn):
    place = _visible_place(request, place_id, Cap.SET_ZONE)
    period = zone_set(
        actor=request.auth,
        place=place,
        status=payload.status,
        start_date=payload.start_date,
        end_date=payload.end_date,
        reason=payload.reason,
    )
    period.place = place
    return Status(201, _period_out(period, place))
