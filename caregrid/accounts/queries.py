"""Reads of the audit log (the auditor's search, a record's history), scoped like every other list."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .masking import mask_id_number, mask_phone
from .models import AuditEvent
from .roles import Cap
from .scope import scope_places, scoped

FIELD_LABELS = {
    "id_number": _("身份证号"),
    "name": _("姓名"),
    "gender": _("性别"),
    "birth_date": _("出生日期"),
    "phone": _("联系电话"),
    "household_id": _("住户"),
    "emergency_contact": _("紧急联系人"),
    "emergency_phone": _("紧急联系电话"),
    "note": _("备注"),
    "categories": _("人员类别"),
    "fields": _("查看字段"),
    "status": _("状态"),
    "reason": _("原因"),
    "role": _("角色"),
    "place": _("地点"),
    "user": _("用户"),
    "kind": _("类型"),
    "code": _("代码"),
    "grid": _("网格"),
    "mode": _("模式"),
    "start_date": _("生效日期"),
    "end_date": _("截止日期"),
}
MASKERS = {"id_number": mask_id_number, "phone": mask_phone, "emergency_phone": mask_phone}
# Actions whose changes are {field: [before, after]}; others record plain values.
DIFF_VERBS = ("update", "rename", "assign_grid")


@dataclass
class AuditFilters:
    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    text: str = ""


@dataclass
class ChangeRow:
    field: str
    label: str
    before: str
    after: str
    is_diff: bool


def audit_visible(user) -> QuerySet[AuditEvent]:
    """Events about places in the user's audit scope; a district-wide auditor also sees placeless ones."""
    qs = scoped(user, AuditEvent.objects.all(), Cap.VIEW_AUDIT)
    if any(place.depth == 0 for place in scope_places(user, Cap.VIEW_AUDIT)):
        qs = qs | AuditEvent.objects.filter(place_path="")
    return qs


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_search(user, filters: AuditFilters) -> QuerySet[AuditEvent]:
    qs = audit_visible(user)
    if filters.actor:
        qs = qs.filter(Q(actor__username=filters.actor) | Q(actor_name__icontains=filters.actor))
    if filters.action:
        qs = qs.filter(action__startswith=filters.action)
    if filters.object_type:
        qs = qs.filter(object_type=filters.object_type)
    if filters.object_id:
        qs = qs.filter(object_id=filters.object_id)
    if filters.date_from:
        qs = qs.filter(at__gte=_day_start(filters.date_from))
    if filters.date_to:
        qs = qs.filter(at__lt=_day_start(filters.date_to + dt.timedelta(days=1)))
    if filters.text:
        qs = qs.filter(
            Q(object_repr__icontains=filters.text) | Q(request_id=filters.text) | Q(action__icontains=filters.text)
        )
    return qs.select_related("actor").order_by("-at", "-id")


def _show(field: str, value) -> str:
    if isinstance(value, list):
        return "、".join(_show(field, v) for v in value)
    text = "" if value is None else str(value)
    masker = MASKERS.get(field)
    return masker(text) if masker and text else text


def change_rows(event: AuditEvent) -> list[ChangeRow]:
    """A compact, masked view of an event's changes: identity and phone numbers never shown in full."""
    is_diff_action = event.action.rsplit(".", 1)[-1] in DIFF_VERBS
    rows = []
    for field, value in (event.changes or {}).items():
        label = str(FIELD_LABELS.get(field, field))
        if is_diff_action and isinstance(value, list) and len(value) == 2:
            rows.append(ChangeRow(field, label, _show(field, value[0]), _show(field, value[1]), True))
        elif field == "fields" and isinstance(value, list):
            rows.append(ChangeRow(field, label, "", "、".join(str(FIELD_LABELS.get(v, v)) for v in value), False))
        else:
            rows.append(ChangeRow(field, label, "", _show(field, value), False))
    return rows


def with_change_rows(events) -> list[AuditEvent]:
    events = list(events)
    for event in events:
        event.change_rows = change_rows(event)
    return events


def resident_history(resident, *, limit: int = 10) -> list[AuditEvent]:
    """The latest audit events about one resident (the caller has checked the user may see them)."""
    qs = AuditEvent.objects.filter(object_type=resident._meta.label_lower, object_id=str(resident.pk))
    return with_change_rows(qs.order_by("-at", "-id")[:limit])
