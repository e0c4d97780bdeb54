"""Deadlines: the sweep that escalates overdue requests, and the bureau's deadlines by urgency."""

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _

from caregrid.accounts.audit import audit_record
from caregrid.accounts.models import Role
from caregrid.accounts.notify import notify, staff_at

from ..models import (
    OPEN_STATUSES,
    DeadlinePolicy,
    EventKind,
    HelpRequest,
)
from ..taxonomy import Urgency
from .common import (
    STAFF_ROLES,
    CaseError,
    _audit,
    _case_url,
    _command_centre,
    _event,
    _handling_place,
    _now,
    _save,
    deadlines_for,
)

# --- deadlines ---


@dataclass
class SweepResult:
    checked: int = 0
    escalated: int = 0
    notified: int = 0


def sweep_deadlines(*, now: dt.datetime | None = None) -> SweepResult:
    """Escalate every open request whose running clock has passed: level 1 when first contact is late,
    level 2 when resolution is late. Each level happens once per request (safe to run every minute)."""
    now = now or _now()
    result = SweepResult()
    late_contact = HelpRequest.objects.filter(
        status__in=OPEN_STATUSES, first_contact_at__isnull=True, first_contact_due__lt=now, escalation_level__lt=1
    )
    late_resolution = HelpRequest.objects.filter(
        status__in=OPEN_STATUSES, resolution_due__lt=now, escalation_level__lt=2
    )
    for level, qs in ((1, late_contact), (2, late_resolution)):
        for pk in qs.values_list("pk", flat=True)[:5000]:
            result.checked += 1
            result.notified += _escalate(pk, level, now)
            result.escalated += 1
    return result


@transaction.atomic
def _escalate(pk: int, level: int, now: dt.datetime) -> int:
    case = HelpRequest.objects.select_for_update(of=("self",)).select_related("place", "assigned_place").get(pk=pk)
    if case.escalation_level >= level or case.status not in OPEN_STATUSES:
        return 0
    handling = _handling_place(case)
    parent_id = handling.parent_id
    recipients = staff_at([parent_id], (*STAFF_ROLES, Role.DISTRICT_ADMIN)) if parent_id else []
    recipients += _command_centre(case)
    case.escalation_level = level
    _save(case, ["escalation_level"])
    what = _("首次联系") if level == 1 else _("办结")
    late = now - (case.first_contact_due if level == 1 else case.resolution_due)
    minutes = int(late.total_seconds() // 60)
    note = _("%(what)s已超时%(minutes)s分钟，已督办%(place)s") % {
        "what": what,
        "minutes": minutes,
        "place": handling.name,
    }
    _event(case, actor="system", kind=EventKind.ESCALATED, note=note, public=False, data={"level": level})
    _audit(case, actor="system", action="case.escalate", changes={"level": level, "handling_place": handling.pk})
    made = notify(
        recipients,
        kind="case_overdue",
        title=_("工单超时督办 %(number)s：%(what)s超时") % {"number": case.number, "what": what},
        body=f"{case.get_category_display()}（{case.get_urgency_display()}）{handling.name}：{case.description[:150]}",
        url=_case_url(case),
        object_key=f"case:{case.pk}:overdue:{level}",
    )
    return len(made)


@transaction.atomic
def deadlines_set(*, actor, values: dict[str, tuple[int, int]]) -> None:
    """Set minutes to first contact and to resolution per urgency; applies to requests received from now on."""
    changes = {}
    for urgency, (first, resolve) in values.items():
        if urgency not in Urgency.values:
            raise CaseError("invalid_urgency", _("紧急程度“%(value)s”无效") % {"value": urgency}, "urgency")
        if not (1 <= first <= resolve <= 60 * 24 * 30):
            raise CaseError(
                "bad_deadline",
                _("“%(urgency)s”的时限无效：首次联系时限须不少于1分钟且不超过办结时限，办结时限不超过30天")
                % {"urgency": Urgency(urgency).label},
                urgency,
            )
        before = deadlines_for(urgency)
        DeadlinePolicy.objects.update_or_create(
            urgency=urgency,
            defaults={"first_contact_minutes": first, "resolution_minutes": resolve, "updated_by": actor},
        )
        changes[urgency] = [[int(b.total_seconds() // 60) for b in before], [first, resolve]]
    cache.delete("caregrid:case_deadlines")
    transaction.on_commit(lambda: cache.delete("caregrid:case_deadlines"))
    audit_record(actor=actor, action="case.deadlines", object_type="cases.deadlinepolicy", changes=changes)
