"""Writes to the residents ledger. Each is one transaction and writes its own audit row."""

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from caregrid.accounts.audit import audit_record
from caregrid.places.actions import place_get_or_create
from caregrid.places.models import Place, PlaceKind

from .models import Category, Resident, ResidentCategory
from .signals import residents_changed
from .validation import FieldProblem, clean_name, clean_phone, clean_text, parse_id_number, phone_problem, phone_tail

AUDITED_FIELDS = (
    "id_number",
    "name",
    "gender",
    "birth_date",
    "phone",
    "household_id",
    "emergency_contact",
    "emergency_phone",
    "note",
)


@dataclass
class CategoryEntry:
    category: Category
    since: dt.date | None = None
    until: dt.date | None = None
    note: str = ""


@dataclass
class ResidentData:
    """What a form, the API or an import row says about a person, before cleaning."""

    id_number: str
    name: str
    household: Place
    phone: str = ""
    emergency_contact: str = ""
    emergency_phone: str = ""
    note: str = ""
    categories: list[CategoryEntry] | None = None  # None: leave categories as they are
    warnings: list[FieldProblem] = field(default_factory=list)


def _snapshot(resident: Resident) -> dict:
    return {f: str(getattr(resident, f) or "") for f in AUDITED_FIELDS}


def _categories_snapshot(resident: Resident) -> list[str]:
    return sorted(resident.category_links.values_list("category__code", flat=True))


def _clean(data: ResidentData, *, instance: Resident | None = None) -> dict:
    """Cleaned field values; raises ValidationError keyed by field, in Chinese."""
    errors: dict[str, str] = {}
    values: dict = {}
    try:
        facts = parse_id_number(data.id_number)
        values.update(id_number=facts.number, gender=facts.gender, birth_date=facts.birth_date)
    except FieldProblem as p:
        errors["id_number"] = p.message
    try:
        values["name"] = clean_name(data.name)
    except FieldProblem as p:
        errors["name"] = p.message
    household = data.household
    if household is None or household.kind != PlaceKind.HOUSEHOLD:
        errors["household"] = _("请选择到户（房号）")
    phone, valid = clean_phone(data.phone)
    if not valid:
        data.warnings.append(phone_problem(phone))
    values.update(phone=phone, phone_valid=valid, phone_tail=phone_tail(phone, valid))
    emergency_phone, e_valid = clean_phone(data.emergency_phone)
    if not e_valid:
        data.warnings.append(
            FieldProblem(
                "phone_invalid",
                _("紧急联系电话“%(value)s”无效，已原样保留") % {"value": emergency_phone},
                "emergency_phone",
            )
        )
    values.update(
        emergency_phone=emergency_phone,
        emergency_contact=clean_text(data.emergency_contact)[:50],
        note=(data.note or "").strip(),
    )
    if "id_number" in values:
        clash = Resident.objects.filter(id_number=values["id_number"])
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            errors["id_number"] = _("该身份证号已在台账中，请勿重复登记")
    for entry in data.categories or []:
        if entry.since and entry.until and entry.until < entry.since:
            errors["categories"] = _("类别“%(name)s”的截止日期早于起始日期") % {"name": entry.category.name}
    if errors:
        raise ValidationError(errors)
    if household is not None:
        values.update(
            household=household,
            place_path=household.path,
            grid_path=household.grid_path,
            district_id=household.ancestor_ids[0],
        )
    return values


def _set_categories(resident: Resident, entries: list[CategoryEntry]) -> None:
    wanted = {e.category.pk: e for e in entries}
    resident.category_links.exclude(category_id__in=wanted).delete()
    existing = {link.category_id: link for link in resident.category_links.all()}
    for category_id, entry in wanted.items():
        link = existing.get(category_id)
        if link is None:
            ResidentCategory.objects.create(
                resident=resident, category=entry.category, since=entry.since, until=entry.until, note=entry.note
            )
        elif (link.since, link.until, link.note) != (entry.since, entry.until, entry.note):
            link.since, link.until, link.note = entry.since, entry.until, entry.note
            link.save(update_fields=["since", "until", "note"])
    Resident.objects.filter(pk=resident.pk).update(is_priority=bool(wanted))
    resident.is_priority = bool(wanted)


@transaction.atomic
def resident_create(*, actor, data: ResidentData) -> Resident:
    values = _clean(data)
    resident = Resident.objects.create(**values)
    if data.categories:
        _set_categories(resident, data.categories)
    audit_record(
        actor=actor,
        action="resident.create",
        obj=resident,
        changes={**_snapshot(resident), "categories": _categories_snapshot(resident)},
    )
    residents_changed.send(sender=Resident, resident_ids=[resident.pk])
    return resident


@transaction.atomic
def resident_update(*, actor, resident: Resident, data: ResidentData, expected_version: int | None = None) -> Resident:
    """Update a resident; with `expected_version`, refuse to overwrite someone else's newer edit."""
    locked = Resident.objects.select_for_update().get(pk=resident.pk)
    if expected_version is not None and locked.version != expected_version:
        raise ValidationError({"__all__": _("该居民信息已被他人修改，请刷新后再改")})
    before = _snapshot(locked)
    before_categories = _categories_snapshot(locked)
    values = _clean(data, instance=locked)
    for name, value in values.items():
        setattr(locked, name, value)
    locked.version = F("version") + 1
    locked.save()
    locked.refresh_from_db()
    if data.categories is not None:
        _set_categories(locked, data.categories)
    after = _snapshot(locked)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    after_categories = _categories_snapshot(locked)
    if after_categories != before_categories:
        changes["categories"] = [before_categories, after_categories]
    if changes:
        audit_record(actor=actor, action="resident.update", obj=locked, changes=changes)
        residents_changed.send(sender=Resident, resident_ids=[locked.pk])
    return locked


@transaction.atomic
def resident_save(
    *,
    actor,
    data: ResidentData,
    resident: Resident | None = None,
    expected_version: int | None = None,
    new_room: tuple[Place, str] | None = None,
) -> Resident:
    """Create or update a resident from a form. With `new_room` (building or unit, room number) the
    household is created first in the same transaction, so a refused resident leaves no new room."""
    if new_room is not None:
        parent, room = new_room
        try:
            data.household, _created = place_get_or_create(
                actor=actor, parent=parent, kind=PlaceKind.HOUSEHOLD, name=room
            )
        except ValidationError as e:
            raise ValidationError({"new_room": [m for msgs in e.message_dict.values() for m in msgs]}) from None
    if resident is None:
        return resident_create(actor=actor, data=data)
    return resident_update(actor=actor, resident=resident, data=data, expected_version=expected_version)


@transaction.atomic
def resident_unmask(*, actor, resident: Resident, fields: tuple[str, ...] = ("id_number", "phone")) -> dict:
    """The resident's full identity and phone numbers, recorded in the audit log."""
    audit_record(actor=actor, action="resident.unmask", obj=resident, changes={"fields": list(fields)})
    return {f: getattr(resident, f) for f in fields}


@transaction.atomic
def category_create(*, actor, code: str, name: str, name_en: str = "", synonyms: list[str] | None = None) -> Category:
    name = clean_text(name)
    code = (code or "").strip().lower()
    errors = {}
    if not name:
        errors["name"] = _("类别名称不能为空")
    elif Category.objects.filter(name=name).exists():
        errors["name"] = _("已有同名类别")
    if not code or not code.replace("_", "").isalnum() or not code.isascii():
        errors["code"] = _("代码只能由英文字母、数字和下划线组成")
    elif Category.objects.filter(code=code).exists():
        errors["code"] = _("已有相同代码的类别")
    if errors:
        raise ValidationError(errors)
    category = Category.objects.create(
        code=code, name=name, name_en=name_en.strip(), synonyms=[clean_text(s) for s in synonyms or [] if s.strip()]
    )
    audit_record(actor=actor, action="category.create", obj=category, changes={"code": code, "name": name})
    return category
