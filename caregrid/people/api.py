"""API for the residents ledger and the category vocabulary.

Lists and details go through the scoped queries and show identity and phone numbers masked; the
full numbers come only from POST /residents/{id}/unmask, which is audited.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from caregrid.accounts.api import ERRORS, MAX_PAGE, ApiError, ErrorOut, Id, Out, PlaceRefOut, Text, page_of
from caregrid.accounts.masking import mask_id_number, mask_phone
from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import get_scoped, require, scoped
from caregrid.places.api import zone_out
from caregrid.places.models import Place, PlaceKind, ZoneStatus
from caregrid.places.queries import today, zone_of, zones_for
from caregrid.places.tree import address_label, addresses_for, ids_from_path

from .actions import CategoryEntry, ResidentData, resident_create, resident_unmask, resident_update
from .models import Category, Gender, Resident
from .queries import ResidentFilters, categories_active, category_active_q, resident_search, with_categories

router = Router(tags=["residents"])


# ---- schemas -----------------------------------------------------------------------------------


class CategoryRefOut(Out):
    code: str
    name: str


class ZoneOut(Out):
    status: ZoneStatus
    label: str
    start_date: dt.date
    set_on: int = Field(description="id of the place the zone was set on")


class ResidentListItemOut(Out):
    id: int
    name: str
    gender: Gender
    birth_date: dt.date
    age: int
    id_number_masked: str = Field(description="e.g. 3206**********1234")
    phone_masked: str = Field(description="e.g. 138****5678")
    phone_valid: bool
    household: PlaceRefOut
    address: str
    grid_id: int | None
    categories: list[CategoryRefOut] = Field(description="categories held today")
    is_priority: bool
    zone: ZoneOut | None = Field(description="zone of the household today")
    version: int


class ResidentPageOut(Out):
    items: list[ResidentListItemOut]
    page: int
    page_size: int
    has_next: bool
    total: int | None = Field(None, description="only with ?count=true")


class CategoryLinkOut(Out):
    code: str
    name: str
    since: dt.date | None
    until: dt.date | None
    note: str
    active: bool = Field(description="held today")


class WarningOut(Out):
    field: str
    code: str
    message: str


class ResidentDetailOut(Out):
    id: int
    name: str
    gender: Gender
    birth_date: dt.date
    age: int
    id_number_masked: str
    phone_masked: str
    phone_valid: bool
    emergency_contact: str
    emergency_phone_masked: str
    note: str
    household: PlaceRefOut
    address: str
    path_names: list[str] = Field(description="district down to the household")
    grid: PlaceRefOut | None
    categories: list[CategoryLinkOut]
    is_priority: bool
    zone: ZoneOut | None
    version: int = Field(description="send it back with PATCH; a newer version there means someone else edited")
    created_at: dt.datetime
    updated_at: dt.datetime
    warnings: list[WarningOut] = Field(default_factory=list, description="kept but doubtful values, e.g. phone")


class UnmaskedOut(Out):
    id: int
    id_number: str
    phone: str
    emergency_phone: str


class ResidentQuery(Schema):
    place: Id | None = Field(None, description="a place id: its whole subtree (a grid: what it covers)")
    category: Text | None = Field(None, max_length=48, description="category code held today, e.g. elderly_alone")
    zone: ZoneStatus | None = Field(None, description="zone status of the household today")
    q: Text = Field("", max_length=50, description="name prefix, last 4 phone digits, a mobile or an ID number")
    priority: bool = Field(False, description="priority residents only")
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(50, ge=1, le=200)
    count: bool = Field(False, description="also count all matches (slower on large areas)")


class CategoryIn(Schema):
    code: Text = Field(max_length=48)
    since: dt.date | None = None
    until: dt.date | None = None
    note: Text = Field("", max_length=200)


class ResidentIn(Schema):
    id_number: Text = Field(max_length=40)
    name: Text = Field(max_length=100)
    household: Id = Field(description="id of the household (户) place")
    phone: Text = Field("", max_length=40)
    emergency_contact: Text = Field("", max_length=100)
    emergency_phone: Text = Field("", max_length=40)
    note: Text = Field("", max_length=2000)
    categories: list[CategoryIn] = Field(default_factory=list, max_length=50)


class ResidentPatch(Schema):
    """Omitted (or null) fields stay as they are; `categories`, when given, replaces the whole set."""

    version: int = Field(ge=1, le=2**31 - 1, description="the version you read")
    id_number: Text | None = Field(None, max_length=40)
    name: Text | None = Field(None, max_length=100)
    household: Id | None = None
    phone: Text | None = Field(None, max_length=40)
    emergency_contact: Text | None = Field(None, max_length=100)
    emergency_phone: Text | None = Field(None, max_length=40)
    note: Text | None = Field(None, max_length=2000)
    categories: list[CategoryIn] | None = Field(None, max_length=50)


class CategoryOut(Out):
    code: str
    name: str
    name_en: str
    group: str
    synonyms: list[str]


# ---- helpers -----------------------------------------------------------------------------------


def _grid_id(resident: Resident) -> int | None:
    ids = ids_from_path(resident.grid_path)
    return ids[-1] if ids else None


def _categories_in(entries: list[CategoryIn]) -> list[CategoryEntry]:
    codes = {e.code.strip() for e in entries}
    by_code = {c.code: c for c in Category.objects.filter(code__in=codes)}
    unknown = sorted(codes - by_code.keys())
    if unknown:
        raise ValidationError({"categories": _("未知的人员类别代码：%(codes)s") % {"codes": "、".join(unknown)}})
    return [CategoryEntry(by_code[e.code.strip()], since=e.since, until=e.until, note=e.note.strip()) for e in entries]


def _household_in(user, household_id: int) -> Place:
    """A household the user may edit residents in; missing and out of scope read the same."""
    qs = scoped(user, Place.objects.filter(kind=PlaceKind.HOUSEHOLD), Cap.EDIT_RESIDENTS)
    household = qs.filter(pk=household_id).first()
    if household is None:
        raise ValidationError(
            {"household": _("住户：找不到编号为%(id)s的住户，或不在您的管辖范围内") % {"id": household_id}}
        )
    return household


def _detail_out(resident: Resident, warnings=()) -> dict:
    """The masked detail of one resident: three queries (places, categories, zone)."""
    household = resident.household
    wanted = set(household.ancestor_ids) | ({household.grid_id} if household.grid_id else set())
    by_id = Place.objects.in_bulk(wanted)
    chain = [by_id[i] for i in household.ancestor_ids if i in by_id]
    grid = by_id.get(household.grid_id) if household.grid_id else None
    day = today()
    links = resident.category_links.select_related("category").order_by("category__sort_order", "category_id")
    active_ids = set(resident.category_links.filter(category_active_q(day)).values_list("category_id", flat=True))
    return {
        "id": resident.pk,
        "name": resident.name,
        "gender": resident.gender,
        "birth_date": resident.birth_date,
        "age": resident.age_on(day),
        "id_number_masked": mask_id_number(resident.id_number),
        "phone_masked": mask_phone(resident.phone),
        "phone_valid": resident.phone_valid,
        "emergency_contact": resident.emergency_contact,
        "emergency_phone_masked": mask_phone(resident.emergency_phone),
        "note": resident.note,
        "household": {"id": household.pk, "kind": household.kind, "name": household.name},
        "address": address_label(chain),
        "path_names": [p.name for p in chain],
        "grid": {"id": grid.pk, "kind": grid.kind, "name": grid.name} if grid else None,
        "categories": [
            {
                "code": link.category.code,
                "name": link.category.name,
                "since": link.since,
                "until": link.until,
                "note": link.note,
                "active": link.category_id in active_ids,
            }
            for link in links
        ],
        "is_priority": resident.is_priority,
        "zone": zone_out(zone_of(household, day)),
        "version": resident.version,
        "created_at": resident.created_at,
        "updated_at": resident.updated_at,
        "warnings": [{"field": w.field, "code": w.code, "message": w.message} for w in warnings],
    }


# ---- residents ---------------------------------------------------------------------------------


@router.get(
    "/residents",
    response={200: ResidentPageOut, **ERRORS},
    summary="Residents in the user's scope, filtered, in ledger order, numbers masked",
)
def resident_list(request, params: Query[ResidentQuery]):
    user = request.auth
    require(user, Cap.VIEW_RESIDENTS)
    filters = ResidentFilters(q=params.q, priority_only=params.priority, zone=params.zone or "")
    if params.place is not None:
        filters.place = get_scoped(user, Place.objects.all(), Cap.VIEW_RESIDENTS, pk=params.place)
    if params.category:
        filters.category = Category.objects.filter(code=params.category.strip()).first()
        if filters.category is None:
            raise ValidationError({"category": _("未知的人员类别代码“%(code)s”") % {"code": params.category}})
    qs = resident_search(user, filters)
    # One query for the page (household joined), one for categories, one for zones, one for addresses.
    rows, has_next = page_of(with_categories(qs.select_related("household")), params.page, params.page_size)
    households = [r.household for r in rows]
    zones = zones_for(households)
    addresses = addresses_for(households)
    day = today()
    items = [
        {
            "id": r.pk,
            "name": r.name,
            "gender": r.gender,
            "birth_date": r.birth_date,
            "age": r.age_on(day),
            "id_number_masked": mask_id_number(r.id_number),
            "phone_masked": mask_phone(r.phone),
            "phone_valid": r.phone_valid,
            "household": {"id": r.household.pk, "kind": r.household.kind, "name": r.household.name},
            "address": addresses.get(r.household_id, ""),
            "grid_id": _grid_id(r),
            "categories": [{"code": link.category.code, "name": link.category.name} for link in r.active_links],
            "is_priority": r.is_priority,
            "zone": zone_out(zones.get(r.household_id)),
            "version": r.version,
        }
        for r in rows
    ]
    return {
        "items": items,
        "page": params.page,
        "page_size": params.page_size,
        "has_next": has_next,
        "total": qs.order_by().count() if params.count else None,
    }


@router.get("/residents/{resident_id}", response={200: ResidentDetailOut, **ERRORS}, summary="One resident, masked")
def resident_detail(request, resident_id: Id):
    resident = get_scoped(
        request.auth, Resident.objects.select_related("household"), Cap.VIEW_RESIDENTS, pk=resident_id
    )
    return _detail_out(resident)


@router.post(
    "/residents/{resident_id}/unmask",
    response={200: UnmaskedOut, **ERRORS},
    summary="The full identity and phone numbers of one resident (recorded in the audit log)",
)
def resident_unmask_numbers(request, resident_id: Id):
    resident = get_scoped(request.auth, Resident.objects.all(), Cap.UNMASK, pk=resident_id)
    shown = resident_unmask(actor=request.auth, resident=resident, fields=("id_number", "phone", "emergency_phone"))
    return {"id": resident.pk, **shown}


@router.post(
    "/residents",
    response={201: ResidentDetailOut, **ERRORS},
    summary="Add a resident to the ledger (household must be in the user's scope)",
)
def resident_add(request, payload: ResidentIn):
    user = request.auth
    require(user, Cap.EDIT_RESIDENTS)
    data = ResidentData(
        id_number=payload.id_number,
        name=payload.name,
        household=_household_in(user, payload.household),
        phone=payload.phone,
        emergency_contact=payload.emergency_contact,
        emergency_phone=payload.emergency_phone,
        note=payload.note,
        categories=_categories_in(payload.categories),
    )
    resident = resident_create(actor=user, data=data)
    return Status(201, _detail_out(resident, data.warnings))


@router.patch(
    "/residents/{resident_id}",
    response={200: ResidentDetailOut, 409: ErrorOut, **ERRORS},
    summary="Change a resident; `version` must be the one you read, else 409",
)
def resident_change(request, resident_id: Id, payload: ResidentPatch):
    user = request.auth
    resident = get_scoped(user, Resident.objects.select_related("household"), Cap.EDIT_RESIDENTS, pk=resident_id)
    conflict = ApiError(409, "conflict", _("该居民信息已被他人修改，请刷新后再改"))
    if resident.version != payload.version:
        raise conflict
    given = payload.model_dump(exclude_unset=True, exclude_none=True)
    household = resident.household
    if "household" in given and given["household"] != resident.household_id:
        household = _household_in(user, given["household"])
    data = ResidentData(
        id_number=given.get("id_number", resident.id_number),
        name=given.get("name", resident.name),
        household=household,
        phone=given.get("phone", resident.phone),
        emergency_contact=given.get("emergency_contact", resident.emergency_contact),
        emergency_phone=given.get("emergency_phone", resident.emergency_phone),
        note=given.get("note", resident.note),
        categories=_categories_in(payload.categories) if payload.categories is not None else None,
    )
    try:
        updated = resident_update(actor=user, resident=resident, data=data, expected_version=payload.version)
    except ValidationError:
        # Someone may have saved between our read and the action's locked read.
        if not Resident.objects.filter(pk=resident.pk, version=payload.version).exists():
            raise conflict from None
        raise
    updated.household = household
    return _detail_out(updated, data.warnings)


# ---- categories --------------------------------------------------------------------------------


@router.get(
    "/categories",
    response={200: list[CategoryOut], 401: ErrorOut},
    summary="The resident categories in use, with the synonyms accepted on input",
    tags=["categories"],
)
def category_list(request):
    return [
        {"code": c.code, "name": c.name, "name_en": c.name_en, "group": c.group, "synonyms": list(c.synonyms)}
        for c in categories_active()
    ]
