"""Reads of the ledger shared by pages, API and exports; every one is scoped to the user."""

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import scoped
from caregrid.people.validation import clean_text
from caregrid.places.models import Place
from caregrid.places.queries import today, zone_q
from caregrid.places.tree import under

from .models import Category, Resident, ResidentCategory


@dataclass
class ResidentFilters:
    place: Place | None = None  # subtree
    category: Category | None = None  # holds this category today
    zone: str = ""  # zone status in force today
    q: str = ""  # name prefix, last 4 digits of phone, or a full ID number
    priority_only: bool = False
    day: dt.date | None = None


def category_active_q(day: dt.date) -> Q:
    return (Q(since__isnull=True) | Q(since__lte=day)) & (Q(until__isnull=True) | Q(until__gte=day))


def residents_visible(user, capability: str = Cap.VIEW_RESIDENTS) -> QuerySet[Resident]:
    return scoped(user, Resident.objects.all(), capability)


def resident_search(user, filters: ResidentFilters, capability: str = Cap.VIEW_RESIDENTS) -> QuerySet[Resident]:
    """The residents a user may see that match the filters, in ledger (address) order."""
    day = filters.day or today()
    qs = residents_visible(user, capability)
    if filters.place is not None:
        field = "grid_path" if filters.place.kind == "grid" else "place_path"
        qs = qs.filter(under(filters.place.path, field))
    if filters.priority_only:
        qs = qs.filter(is_priority=True)
    if filters.category is not None:
        links = ResidentCategory.objects.filter(
            category_active_q(day), resident_id=OuterRef("pk"), category=filters.category
        )
        qs = qs.filter(Exists(links))
    if filters.zone:
        qs = qs.filter(zone_q(filters.zone, day))
    q, ordering = resident_text_q(filters.q)
    if q is not None:
        qs = qs.filter(q)
    return qs.order_by(*ordering)


def resident_text_q(value, *, rooms: bool = False) -> tuple[Q | None, tuple[str, ...]]:
    """What a typed search means: the last 4 digits of a phone, a whole ID or mobile number, else the start of a
    name (and, with `rooms`, of a household's room number). (filter or None, ordering)."""
    text = clean_text(value).replace(" ", "")
    if not text:
        return None, ("place_path", "id")
    if re.fullmatch(r"\d{4}", text):
        return Q(phone_tail=text), ("place_path", "id")
    if re.fullmatch(r"\d{17}[\dXx]", text):
        return Q(id_number=text.upper()), ("place_path", "id")
    if re.fullmatch(r"1\d{10}", text):
        return Q(phone=text), ("place_path", "id")
    q = Q(name__startswith=text)
    if rooms:
        q |= Q(household__name__startswith=text)
    return q, ("name", "id")


def with_categories(qs: QuerySet[Resident], day: dt.date | None = None) -> QuerySet[Resident]:
    """Prefetch each resident's categories in force on the day (one extra query per page)."""
    day = day or today()
    links = ResidentCategory.objects.filter(category_active_q(day)).select_related("category")
    return qs.prefetch_related(Prefetch("category_links", queryset=links, to_attr="active_links"))


def categories_active() -> QuerySet[Category]:
    return Category.objects.filter(is_active=True)
