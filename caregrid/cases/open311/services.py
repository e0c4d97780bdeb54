"""Open311 services: one per help-request category, and one per active sub-category a bureau added."""

import re
from dataclasses import dataclass

from django.utils.translation import get_language

from ..models import Subcategory
from ..taxonomy import CATEGORY_DESCRIPTIONS, CaseCategory


@dataclass(frozen=True)
class Service:
    code: str
    category: str
    subcategory: Subcategory | None = None


def _keywords(*names: str, description: str = "") -> str:
    """The names, then the terms of the category's description (which lists what the category covers)."""
    terms = [t.strip() for t in re.split(r"[、,，;；]", description) if t.strip()]
    return ", ".join(dict.fromkeys([*names, *terms]))


def _subcategory_name(sub: Subcategory) -> str:
    return sub.name_en if sub.name_en and (get_language() or "").startswith("en") else sub.name


def _active_subcategories() -> list[Subcategory]:
    # A sub-category whose code repeats a category code could never be told apart from it: the category wins.
    return [
        s
        for s in Subcategory.objects.filter(is_active=True).order_by("category", "id")
        if s.code not in CaseCategory.values
    ]


def service_list() -> list[dict]:
    """GET services: the fixed categories in their order, each followed by its active sub-categories."""
    subs_by_category: dict[str, list[Subcategory]] = {}
    for sub in _active_subcategories():
        subs_by_category.setdefault(sub.category, []).append(sub)
    services = []
    for category in CaseCategory:
        subs = subs_by_category.get(category.value, [])
        label, description = str(category.label), str(CATEGORY_DESCRIPTIONS[category.value])
        services.append(
            {
                "service_code": category.value,
                "service_name": label,
                "description": description,
                "metadata": False,
                "type": "realtime",
                "keywords": _keywords(label, *(_subcategory_name(s) for s in subs), description=description),
                "group": label,
            }
        )
        for sub in subs:
            services.append(
                {
                    "service_code": sub.code,
                    "service_name": _subcategory_name(sub),
                    "description": description,
                    "metadata": False,
                    "type": "realtime",
                    "keywords": _keywords(_subcategory_name(sub), label),
                    "group": label,
                }
            )
    return services


def service_find(code: str) -> Service | None:
    """The service with this code (a category, or an active sub-category), or None."""
    if code in CaseCategory.values:
        return Service(code=code, category=code)
    sub = Subcategory.objects.filter(code=code, is_active=True).first()
    return Service(code=code, category=sub.category, subcategory=sub) if sub is not None else None


def category_names() -> dict[str, str]:
    """Service names of the categories in the active language (looked up once for a list of requests)."""
    return {value: str(label) for value, label in CaseCategory.choices}


def service_of(case, names: dict[str, str]) -> tuple[str, str]:
    """(service_code, service_name) of a request: its sub-category when it has one, else its category."""
    sub = case.subcategory
    if sub is not None and sub.code not in CaseCategory.values:
        return sub.code, _subcategory_name(sub)
    return case.category, names.get(case.category, case.category)
