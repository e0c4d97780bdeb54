"""The workflow: answered, coordinated, dispatched, acknowledged, contacted, resolved, closed, reopened,
cancelled; links between duplicates."""

from django.db import transaction
from django.utils.translation import gettext as _

from caregrid.accounts.notify import notify, staff_at
from caregrid.places.models import Place, PlaceKind

from ..models import (
    DONE_STATUSES,
    OPEN_STATUSES,
    CaseTask,
    Disposition,
    EventKind,
    HelpRequest,
    Satisfaction,
    Status,
    TaskStatus,
)
from .common import (
    STAFF_ROLES,
    CaseError,
    _audit,
    _case_url,
    _event,
    _locked,
    _note,
    _now,
    _require,
    _save,
    deadlines_for,
)

# --- workflow ---


@transaction.atomic
def case_answer(*, actor, case: HelpRequest, note: str, expected_version: int | None = None) -> HelpRequest:
    """Answered on the spot (即刻答复): the caller's need is met in the call itself."""
    case = _locked(case, expected_version)
    _require(case, (Status.RECEIVED,), _("工单当前状态为“%(status)s”，不能即刻答复"))
    note = _note(note, required=True, field="outcome")
    now = _now()
    before = case.status
    case.status, case.disposition = Status.ANSWERED, Disposition.ANSWERED
    case.outcome = note
    case.first_contact_at = case.first_contact_at or now
    case.resolved_at = now
    _save(case, ["status", "disposition", "outcome", "first_contact_at", "resolved_at"])
    _event(case, actor=actor, kind=EventKind.ANSWERED, note=note, before=before)
    _audit(case, actor=actor, action="case.answer", changes={"status": [before, case.status]})
    _share_outcome(case, actor=actor)
    return case


@transaction.atomic
def case_coordinate(*, actor, case: HelpRequest, note: str = "", expected_version: int | None = None) -> HelpRequest:
    """Coordinated (协调解决): the command centre works it out itself with the parties concerned."""
    case = _locked(case, expected_version)
    _require(case, (Status.RECEIVED,), _("工单当前状态为“%(status)s”，不能转为协调解决"))
    before = case.status
    case.status, case.disposition = Status.COORDINATING, Disposition.COORDINATED
    _save(case, ["status", "disposition"])
    _event(case, actor=actor, kind=EventKind.COORDINATING, note=_note(note), before=before)
    _audit(case, actor=actor, action="case.coordinate", changes={"status": [before, case.status]})
    return case


@transaction.atomic
def case_dispatch(
    *, actor, case: HelpRequest, place: Place, note: str = "", expected_version: int | None = None
) -> HelpRequest:
    """Dispatch (交办) to a subdistrict, community or grid, whose staff must acknowledge it."""
    case = _locked(case, expected_version)
    _require(
        case,
        (Status.RECEIVED, Status.COORDINATING, Status.DISPATCHED, Status.IN_PROGRESS),
        _("工单当前状态为“%(status)s”，不能交办"),
    )
    if place.kind not in (PlaceKind.SUBDISTRICT, PlaceKind.COMMUNITY, PlaceKind.GRID):
        raise CaseError("bad_place", _("只能交办给街道、社区或网格"), "place")
    if not place.path.startswith(Place.objects.get(pk=case.district_id).path):
        raise CaseError("place_elsewhere", _("所选地点不在本区范围内"), "place")
    before = case.status
    previous = case.assigned_place_id
    case.status = Status.DISPATCHED
    case.disposition = case.disposition or Disposition.DISPATCHED
    case.assigned_place = place
    case.acknowledged_at = None
    # The request stays where it is when the handling place contains it; otherwise it moves into that
    # place's scope so its staff can see it.
    covered = place.kind == PlaceKind.GRID and case.place.grid_path.startswith(place.path)
    if not (case.place.path.startswith(place.path) or covered):
        case.place_path = place.path
        if place.kind == PlaceKind.GRID:
            case.grid_path = place.path
    else:
        case.place_path = case.place.path
    _save(case, ["status", "disposition", "assigned_place", "acknowledged_at", "place_path", "grid_path"])
    note = _note(note)
    _event(case, actor=actor, kind=EventKind.DISPATCHED, note=note, before=before, data={"place": place.pk})
    _audit(case, actor=actor, action="case.dispatch", changes={"assigned_place": [previous, place.pk]})
    notify(
        staff_at([place.pk], STAFF_ROLES),
        kind="case_dispatched",
        title=_("新交办工单 %(number)s：%(category)s（%(urgency)s）")
        % {"number": case.number, "category": case.get_category_display(), "urgency": case.get_urgency_display()},
        body=case.description[:200],
        url=_case_url(case),
        object_key=f"case:{case.pk}:dispatch:{place.pk}:{case.version}",
    )
    return case


@transaction.atomic
def case_acknowledge(*, actor, case: HelpRequest, note: str = "", expected_version: int | None = None) -> HelpRequest:
    """The handling place signs for a dispatched request (签收) and starts work on it."""
    case = _locked(case, expected_version)
    _require(case, (Status.DISPATCHED,), _("工单当前状态为“%(status)s”，无需签收"))
    before = case.status
    case.status = Status.IN_PROGRESS
    case.acknowledged_at = _now()
    _save(case, ["status", "acknowledged_at"])
    _event(case, actor=actor, kind=EventKind.ACKNOWLEDGED, note=_note(note), before=before)
    _audit(case, actor=actor, action="case.acknowledge", changes={"status": [before, case.status]})
    return case


@transaction.atomic
def case_contact(*, actor, case: HelpRequest, note: str, expected_version: int | None = None) -> HelpRequest:
    """Record a contact with the person in need; the first one stops the first-contact clock."""
    case = _locked(case, expected_version)
    _require(case, OPEN_STATUSES, _("工单当前状态为“%(status)s”，不能登记联系"))
    note = _note(note, required=True)
    fields = []
    if case.first_contact_at is None:
        case.first_contact_at = _now()
        fields.append("first_contact_at")
    if case.status == Status.DISPATCHED:
        # Contacting the person is acknowledging the request in practice.
        case.status, case.acknowledged_at = Status.IN_PROGRESS, _now()
        fields += ["status", "acknowledged_at"]
    _save(case, fields)
    _event(case, actor=actor, kind=EventKind.CONTACTED, note=note, public=False)
    _audit(case, actor=actor, action="case.contact", changes={"first_contact_at": str(case.first_contact_at)})
    return case


@transaction.atomic
def case_note(*, actor, case: HelpRequest, note: str, expected_version: int | None = None) -> HelpRequest:
    case = _locked(case, expected_version)
    note = _note(note, required=True)
    _save(case, [])
    _event(case, actor=actor, kind=EventKind.NOTE, note=note, public=False)
    _audit(case, actor=actor, action="case.note")
    return case


@transaction.atomic
def case_resolve(*, actor, case: HelpRequest, outcome: str, expected_version: int | None = None) -> HelpRequest:
    """The need is met (办结); linked duplicates share the outcome."""
    case = _locked(case, expected_version)
    _require(case, OPEN_STATUSES, _("工单当前状态为“%(status)s”，不能办结"))
    outcome = _note(outcome, required=True, field="outcome")
    before = case.status
    now = _now()
    case.status, case.outcome, case.resolved_at = Status.RESOLVED, outcome, now
    case.first_contact_at = case.first_contact_at or now
    if not case.disposition:
        case.disposition = Disposition.COORDINATED
    _save(case, ["status", "outcome", "resolved_at", "first_contact_at", "disposition"])
    CaseTask.objects.filter(request=case, status=TaskStatus.OPEN).update(status=TaskStatus.CANCELLED)
    _event(case, actor=actor, kind=EventKind.RESOLVED, note=outcome, before=before)
    _audit(case, actor=actor, action="case.resolve", changes={"status": [before, case.status]})
    _share_outcome(case, actor=actor)
    return case


@transaction.atomic
def case_close(
    *, actor, case: HelpRequest, satisfaction: str, note: str = "", expected_version: int | None = None
) -> HelpRequest:
    """Closed after the follow-up call (回访) with the caller's satisfaction."""
    case = _locked(case, expected_version)
    _require(case, DONE_STATUSES[:2], _("工单当前状态为“%(status)s”，不能回访关闭"))
    if satisfaction not in Satisfaction.values:
        raise CaseError("invalid_satisfaction", _("请选择回访满意度"), "satisfaction")
    before = case.status
    case.status, case.satisfaction, case.closed_at = Status.CLOSED, satisfaction, _now()
    _save(case, ["status", "satisfaction", "closed_at"])
    _event(
        case, actor=actor, kind=EventKind.CLOSED, note=_note(note), before=before, data={"satisfaction": satisfaction}
    )
    _audit(
        case, actor=actor, action="case.close", changes={"status": [before, case.status], "satisfaction": satisfaction}
    )
    _share_outcome(case, actor=actor)
    return case


@transaction.atomic
def case_reopen(*, actor, case: HelpRequest, reason: str, expected_version: int | None = None) -> HelpRequest:
    """Work again on a request whose need turned out not to be met; the resolution clock restarts."""
    case = _locked(case, expected_version)
    _require(case, DONE_STATUSES, _("工单当前状态为“%(status)s”，不能重新办理"))
    reason = _note(reason, required=True, field="reason")
    before = case.status
    now = _now()
    case.status = Status.IN_PROGRESS
    case.resolved_at = case.closed_at = None
    case.satisfaction = ""
    case.resolution_due = now + deadlines_for(case.urgency)[1]
    case.escalation_level = 0
    _save(case, ["status", "resolved_at", "closed_at", "satisfaction", "resolution_due", "escalation_level"])
    _event(case, actor=actor, kind=EventKind.REOPENED, note=reason, before=before)
    _audit(case, actor=actor, action="case.reopen", changes={"status": [before, case.status]})
    return case


@transaction.atomic
def case_cancel(*, actor, case: HelpRequest, reason: str, expected_version: int | None = None) -> HelpRequest:
    """Cancel with a reason (a caller withdrew, a mistaken entry); open errands are cancelled too."""
    case = _locked(case, expected_version)
    _require(case, (*OPEN_STATUSES, Status.ANSWERED, Status.RESOLVED), _("工单当前状态为“%(status)s”，不能撤销"))
    reason = _note(reason, required=True, field="reason")
    before = case.status
    case.status = Status.CANCELLED
    _save(case, ["status"])
    CaseTask.objects.filter(request=case, status=TaskStatus.OPEN).update(status=TaskStatus.CANCELLED)
    _event(case, actor=actor, kind=EventKind.CANCELLED, note=reason, before=before)
    _audit(case, actor=actor, action="case.cancel", changes={"status": [before, case.status], "reason": reason})
    return case


# --- duplicates ---


@transaction.atomic
def case_link(*, actor, case: HelpRequest, primary: HelpRequest) -> HelpRequest:
    """Link a request to the one it repeats; the linked request follows the primary's outcome."""
    if case.pk == primary.pk:
        raise CaseError("self_link", _("不能关联到自身"), "duplicate_of")
    while primary.duplicate_of_id:
        primary = primary.duplicate_of
        if primary.pk == case.pk:
            raise CaseError("cycle", _("两个工单已互相关联"), "duplicate_of")
    case = _locked(case, None)
    case.duplicate_of = primary
    _save(case, ["duplicate_of"])
    _event(case, actor=actor, kind=EventKind.LINKED, note=primary.number, data={"primary": primary.pk}, public=False)
    _audit(case, actor=actor, action="case.link", changes={"duplicate_of": primary.pk})
    if primary.status in DONE_STATUSES and case.status in OPEN_STATUSES:
        _share_outcome(primary, actor=actor)
    return case


def _share_outcome(primary: HelpRequest, *, actor) -> None:
    """Linked open requests take the primary's outcome (inside the caller's transaction)."""
    for linked in HelpRequest.objects.select_for_update().filter(duplicate_of=primary, status__in=OPEN_STATUSES):
        before = linked.status
        linked.status = Status.RESOLVED
        linked.outcome = primary.outcome
        linked.resolved_at = primary.resolved_at or _now()
        # The caller of the repeat was reached when the primary's caller was, but never before they called.
        contacted = max(primary.first_contact_at or linked.resolved_at, linked.received_at)
        linked.first_contact_at = linked.first_contact_at or contacted
        linked.disposition = linked.disposition or primary.disposition
        _save(linked, ["status", "outcome", "resolved_at", "first_contact_at", "disposition"])
        _event(
            linked,
            actor=actor,
            kind=EventKind.RESOLVED,
            note=_("随关联工单 %(number)s 办结：%(outcome)s") % {"number": primary.number, "outcome": primary.outcome},
            before=before,
        )
        _audit(
            linked, actor=actor, action="case.resolve", changes={"status": [before, linked.status], "via": primary.pk}
        )
