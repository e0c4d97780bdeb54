"""Errands spawned from a request (buy medicine, deliver supplies, escort to hospital, home sampling)."""

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from caregrid.accounts.notify import notify

from ..models import (
    OPEN_STATUSES,
    CaseTask,
    Disposition,
    EventKind,
    HelpRequest,
    Status,
    TaskKind,
    TaskStatus,
)
from .common import (
    CaseError,
    _audit,
    _case_url,
    _event,
    _locked,
    _note,
    _now,
    _require,
    _save,
)
from .workflow import case_resolve

# --- errands ---


@transaction.atomic
def task_add(
    *,
    actor,
    case: HelpRequest,
    kind: str,
    assignee,
    detail: str = "",
    due_at: dt.datetime | None = None,
) -> CaseTask:
    """Spawn an errand (buy medicine, deliver supplies, escort to hospital, home sampling) for one person."""
    case = _locked(case, None)
    _require(case, OPEN_STATUSES, _("工单当前状态为“%(status)s”，不能派发任务"))
    if kind not in TaskKind.values:
        raise CaseError("invalid_kind", _("任务类型无效"), "kind")
    if assignee is None or not assignee.is_active:
        raise CaseError("required", _("请选择承办人"), "assignee")
    detail = _note(detail, field="detail")[:300]
    task = CaseTask.objects.create(
        request=case,
        kind=kind,
        detail=detail,
        assignee=assignee,
        due_at=due_at or case.resolution_due,
        created_at=_now(),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    fields = []
    if case.status in (Status.RECEIVED, Status.DISPATCHED):
        before = case.status
        case.status = Status.IN_PROGRESS
        if before == Status.RECEIVED and not case.disposition:
            case.disposition = Disposition.COORDINATED
        if before == Status.DISPATCHED:
            case.acknowledged_at = _now()
        fields = ["status", "disposition", "acknowledged_at"]
    _save(case, fields)
    _event(
        case,
        actor=actor,
        kind=EventKind.TASK_ADDED,
        note=f"{task.get_kind_display()}：{assignee}" + (f"（{detail}）" if detail else ""),
        data={"task": task.pk},
    )
    _audit(case, actor=actor, action="case.task_add", changes={"task": task.pk, "assignee": assignee.pk})
    notify(
        [assignee],
        kind="case_task",
        title=_("新任务：%(kind)s（工单 %(number)s）") % {"kind": task.get_kind_display(), "number": case.number},
        body=detail or case.description[:200],
        url=_case_url(case),
        object_key=f"task:{task.pk}",
    )
    return task


@transaction.atomic
def task_done(*, actor, task: CaseTask, result: str = "") -> CaseTask:
    """Mark an errand done; when it was the request's last open errand, the request resolves."""
    task = CaseTask.objects.select_for_update().select_related("request").get(pk=task.pk)
    if task.status != TaskStatus.OPEN:
        raise CaseError("bad_status", _("该任务已完成或已取消"), "status")
    task.status, task.done_at, task.result = TaskStatus.DONE, _now(), _note(result, field="result")[:300]
    task.save(update_fields=["status", "done_at", "result"])
    case = task.request
    _event(case, actor=actor, kind=EventKind.TASK_DONE, note=f"{task.get_kind_display()}：{task.result}".rstrip("："))
    _audit(case, actor=actor, action="case.task_done", changes={"task": task.pk})
    still_open = CaseTask.objects.filter(request=case, status=TaskStatus.OPEN).exists()
    if not still_open and case.status in OPEN_STATUSES:
        outcome = "；".join(
            f"{t.get_kind_display()}：{t.result}" if t.result else t.get_kind_display()
            for t in case.tasks.filter(status=TaskStatus.DONE)
        )
        case_resolve(actor=actor, case=case, outcome=_("任务全部完成。") + outcome)
    return task
