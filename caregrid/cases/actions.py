"""Every write to help requests: intake, triage corrections, the workflow, errands, links and the deadline
sweep. Each action is one transaction that writes the request's timeline event and its audit row."""

import contextvars
import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.audit import audit_record
from caregrid.accounts.models import Role
from caregrid.accounts.notify import notify, staff_at
from caregrid.people.validation import clean_phone, clean_text, phone_tail
from caregrid.places.models import Place, PlaceKind

from .models import (
    DEFAULT_DEADLINES,
    DONE_STATUSES,
    OPEN_STATUSES,
    CaseEvent,
    CaseTask,
    Channel,
    DeadlinePolicy,
    Disposition,
    EventKind,
    HelpRequest,
    Satisfaction,
    Status,
    Subcategory,
    TaskKind,
    TaskStatus,
    TriageCorrection,
)
from .taxonomy import CaseCategory, Urgency

DESCRIPTION_MAX = 2000
NOTE_MAX = 2000
DUPLICATE_WINDOW = dt.timedelta(hours=48)
# An address matched with at least this confidence places the request without the operator's confirmation.
AUTO_PLACE_CONFIDENCE = 0.8
STAFF_ROLES = (Role.SUBDISTRICT_STAFF, Role.COMMUNITY_STAFF, Role.GRID_WORKER)
COMMAND_CENTRE_ROLES = (Role.DISTRICT_ADMIN,)


class CaseError(Exception):
    """A refused write, with a stable code, a Chinese message and the field concerned (if any)."""

    def __init__(self, code: str, message: str, field: str = ""):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


class Conflict(CaseError):
    def __init__(self):
        super().__init__("version_conflict", _("该工单已被他人更新，请刷新后再操作"))


@dataclass
class IntakeData:
    channel: str
    description: str
    category: str = ""  # empty: take the classifier's suggestion
    urgency: str = ""
    subcategory: Subcategory | None = None
    caller_name: str = ""
    caller_phone: str = ""
    resident: object = None
    place: Place | None = None  # household (or any place) when known; else matched from the address
    address_text: str = ""
    external_id: str = ""
    received_at: dt.datetime | None = None
    email: str = ""
    lat: Decimal | None = None
    long: Decimal | None = None
    source_ip: str | None = None
    resolution_due: dt.datetime | None = None  # a referring platform's own deadline, when earlier than ours


# --- helpers ---

_recorded_at: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar("case_recorded_at", default=None)


@contextmanager
def recorded_at(when: dt.datetime):
    """Record the steps taken inside as having happened at `when` (back-filling history that happened
    elsewhere: a referral platform's own timestamps, a paper log typed in later, demo data)."""
    token = _recorded_at.set(when)
    try:
        yield
    finally:
        _recorded_at.reset(token)


def _now() -> dt.datetime:
    return _recorded_at.get() or timezone.now()


DEADLINES_CACHE_SECONDS = 30


def _deadline_minutes() -> dict[str, tuple[int, int]]:
    """Minutes per urgency, read at most every 30 seconds per process (a change made in another process is
    in force everywhere within that time)."""
    cached = cache.get("caregrid:case_deadlines")
    if cached is None:
        cached = {u: DEFAULT_DEADLINES[u] for u in Urgency.values}
        for row in DeadlinePolicy.objects.all():
            cached[row.urgency] = (row.first_contact_minutes, row.resolution_minutes)
        cache.set("caregrid:case_deadlines", cached, DEADLINES_CACHE_SECONDS)
    return cached


def deadlines_for(urgency: str) -> tuple[dt.timedelta, dt.timedelta]:
    """(time to first contact, time to resolution) for an urgency, as the bureau configured them."""
    first, resolve = _deadline_minutes()[urgency]
    return dt.timedelta(minutes=first), dt.timedelta(minutes=resolve)


def _actor_name(actor) -> str:
    if getattr(actor, "is_authenticated", False):
        return str(actor)[:150]
    return (actor if isinstance(actor, str) else "system")[:150]


def _event(case: HelpRequest, *, actor, kind: str, note: str = "", before: str = "", public=True, data=None):
    CaseEvent.objects.create(
        request=case,
        at=_now(),
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_name=_actor_name(actor),
        kind=kind,
        from_status=before,
        to_status=case.status if before and before != case.status else "",
        note=note,
        public=public,
        data=data or {},
    )


def _audit(case: HelpRequest, *, actor, action: str, changes: dict | None = None) -> None:
    audit_record(actor=actor, action=action, obj=case, place_path=case.place_path, changes=changes or {})


def _locked(case: HelpRequest, expected_version: int | None) -> HelpRequest:
    locked = HelpRequest.objects.select_for_update().get(pk=case.pk)
    if expected_version is not None and locked.version != expected_version:
        raise Conflict()
    return locked


def _save(case: HelpRequest, fields: list[str]) -> HelpRequest:
    case.version = F("version") + 1
    case.save(update_fields=[*fields, "version", "updated_at"])
    case.refresh_from_db(fields=["version"])
    return case


def _require(case: HelpRequest, allowed, message: str) -> None:
    if case.status not in allowed:
        raise CaseError("bad_status", message % {"status": case.get_status_display()}, "status")


def _note(text: str, *, required: bool = False, field: str = "note") -> str:
    text = clean_text(text or "")
    if required and not text:
        raise CaseError("required", _("请填写说明"), field)
    if len(text) > NOTE_MAX:
        raise CaseError("too_long", _("说明不能超过%(n)s个字") % {"n": NOTE_MAX}, field)
    return text


def _next_number(day: dt.date) -> str:
    """Today's next request number, e.g. 20221215-0042; safe under concurrent intake (one upsert)."""
    table = connection.ops.quote_name("cases_casecounter")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (day, last) VALUES (%s, 1) "  # noqa: S608
            "ON CONFLICT (day) DO UPDATE SET last = " + table + ".last + 1 RETURNING last",
            [day],
        )
        (last,) = cursor.fetchone()
    return f"{day:%Y%m%d}-{last:04d}"


def _district_root() -> Place:
    root = Place.objects.filter(kind=PlaceKind.DISTRICT).order_by("id").first()
    if root is None:
        raise CaseError("no_district", _("系统中还没有区级地点，无法受理诉求"))
    return root


def _handling_place(case: HelpRequest) -> Place:
    """The place answerable for the request now: where it was dispatched, else its community (or above)."""
    if case.assigned_place_id:
        return case.assigned_place
    place = case.place
    chain = Place.objects.in_bulk(place.ancestor_ids)
    for pid in reversed(place.ancestor_ids):
        p = chain.get(pid)
        if p and p.kind in (PlaceKind.COMMUNITY, PlaceKind.SUBDISTRICT, PlaceKind.DISTRICT):
            return p
    return place


def _command_centre(case: HelpRequest) -> list:
    return staff_at([case.district_id], COMMAND_CENTRE_ROLES)


def _case_url(case: HelpRequest) -> str:
    return f"/cases/{case.pk}/"


# --- intake ---


def _suggest(text: str):
    from .triage import classify

    return classify(text)


def _match_place(text: str, within: Place | None):
    from caregrid.places.address import match_address

    return match_address(text, within=within)


def case_create(*, actor, data: IntakeData, district: Place | None = None) -> HelpRequest:
    """Log a request from any channel. Category and urgency default to the classifier's suggestion
    (red flags raise the urgency); the place comes from the resident, the given place or the address.
    Classifying and matching only read, so they run before the write transaction opens (on SQLite the
    transaction holds the database's write lock)."""
    if data.channel not in Channel.values:
        raise CaseError("invalid_channel", _("来源渠道无效"), "channel")
    description = clean_text(data.description or "")
    if not description:
        raise CaseError("required", _("请填写诉求内容"), "description")
    if len(description) > DESCRIPTION_MAX:
        raise CaseError("too_long", _("诉求内容不能超过%(n)s个字") % {"n": DESCRIPTION_MAX}, "description")
    caller_name = clean_text(data.caller_name or "")
    if len(caller_name) > 50:
        raise CaseError("too_long", _("求助人姓名不能超过50个字"), "caller_name")
    phone, phone_valid = clean_phone(data.caller_phone)
    address_text = clean_text(data.address_text or "")
    if len(address_text) > 200:
        raise CaseError("too_long", _("地址不能超过200个字"), "address_text")
    if data.category and data.category not in CaseCategory.values:
        raise CaseError("invalid_category", _("诉求类别“%(value)s”不存在") % {"value": data.category}, "category")
    if data.urgency and data.urgency not in Urgency.values:
        raise CaseError("invalid_urgency", _("紧急程度“%(value)s”无效") % {"value": data.urgency}, "urgency")

    suggestion = _suggest(description)
    category = data.category or suggestion.category
    urgency = data.urgency or suggestion.urgency
    if data.subcategory is not None and data.subcategory.category != category:
        raise CaseError("invalid_subcategory", _("子类与诉求类别不符"), "subcategory")

    root = district or _district_root()
    place = data.place
    if data.resident is not None:
        place = data.resident.household
    if place is None:
        match = _match_place(address_text or description, root)
        if match is not None and match.place is not None and match.confidence >= AUTO_PLACE_CONFIDENCE:
            place = match.place
    if place is None:
        place = root
    elif not place.path.startswith(root.path):
        raise CaseError("place_elsewhere", _("所选地点不在本区范围内"), "place")

    received = data.received_at or _now()
    first_due, resolve_due = deadlines_for(urgency)
    resolution_due = received + resolve_due
    if data.resolution_due is not None and data.resolution_due < resolution_due:
        resolution_due = max(data.resolution_due, received)  # an earlier deadline set by the referring platform
    with transaction.atomic():
        return _insert(
            actor=actor,
            data=data,
            suggestion=suggestion,
            fields={
                "district_id": place.district_id or root.pk,
                "channel": data.channel,
                "external_id": (data.external_id or "")[:64],
                "category": category,
                "subcategory": data.subcategory,
                "urgency": urgency,
                "description": description,
                "caller_name": caller_name,
                "caller_phone": phone,
                "caller_phone_tail": phone_tail(phone, phone_valid),
                "resident": data.resident,
                "address_text": address_text,
                "place": place,
                "received_at": received,
                "first_contact_due": min(received + first_due, resolution_due),
                "resolution_due": resolution_due,
            },
        )


def _insert(*, actor, data: IntakeData, suggestion, fields: dict) -> HelpRequest:
    received, place = fields["received_at"], fields["place"]
    description, category, urgency = fields["description"], fields["category"], fields["urgency"]
    case = HelpRequest.objects.create(
        **fields,
        number=_next_number(timezone.localdate(received)),
        suggested_category=suggestion.category,
        suggested_urgency=suggestion.urgency,
        suggestion_confidence=round(float(suggestion.confidence), 4),
        red_flags=[{"code": f.code, "label": str(f.label)} for f in suggestion.flags],
        place_path=place.path,
        grid_path=place.grid_path,
        email=data.email or "",
        lat=data.lat,
        long=data.long,
        source_ip=data.source_ip,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _event(case, actor=actor, kind=EventKind.CREATED, note="", data={"channel": case.channel})
    if (data.category and data.category != suggestion.category) or (
        data.urgency and data.urgency != suggestion.urgency
    ):
        TriageCorrection.objects.create(
            request=case,
            text=description,
            category=category,
            urgency=urgency,
            suggested_category=suggestion.category,
            suggested_urgency=suggestion.urgency,
            corrected_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
    _audit(
        case,
        actor=actor,
        action="case.create",
        changes={"channel": case.channel, "category": category, "urgency": urgency, "place": place.pk},
    )
    if urgency == Urgency.URGENT:
        notify(
            _command_centre(case),
            kind="case_urgent",
            title=_("紧急诉求 %(number)s：%(category)s")
            % {"number": case.number, "category": case.get_category_display()},
            body=description[:200],
            url=_case_url(case),
            object_key=f"case:{case.pk}:urgent",
        )
    return case


@transaction.atomic
def case_unmask(*, actor, case: HelpRequest) -> dict:
    """The caller's full phone number (to call back), recorded in the audit log."""
    _audit(case, actor=actor, action="case.unmask", changes={"fields": ["caller_phone"]})
    return {"caller_phone": case.caller_phone}


@transaction.atomic
def case_retriage(
    *,
    actor,
    case: HelpRequest,
    category: str,
    urgency: str,
    subcategory: Subcategory | None = None,
    expected_version: int | None = None,
) -> HelpRequest:
    """Correct the category or urgency; deadlines follow a new urgency, and the correction is kept to retrain."""
    case = _locked(case, expected_version)
    if category not in CaseCategory.values:
        raise CaseError("invalid_category", _("诉求类别“%(value)s”不存在") % {"value": category}, "category")
    if urgency not in Urgency.values:
        raise CaseError("invalid_urgency", _("紧急程度“%(value)s”无效") % {"value": urgency}, "urgency")
    if subcategory is not None and subcategory.category != category:
        raise CaseError("invalid_subcategory", _("子类与诉求类别不符"), "subcategory")
    before = {"category": case.category, "urgency": case.urgency, "subcategory": case.subcategory_id}
    after = {"category": category, "urgency": urgency, "subcategory": subcategory.pk if subcategory else None}
    if before == after:
        return case
    fields = ["category", "urgency", "subcategory"]
    case.category, case.urgency, case.subcategory = category, urgency, subcategory
    if before["urgency"] != urgency:
        first_due, resolve_due = deadlines_for(urgency)
        case.first_contact_due = case.received_at + first_due
        case.resolution_due = case.received_at + resolve_due
        fields += ["first_contact_due", "resolution_due"]
    _save(case, fields)
    TriageCorrection.objects.create(
        request=case,
        text=case.description,
        category=category,
        urgency=urgency,
        suggested_category=case.suggested_category,
        suggested_urgency=case.suggested_urgency,
        corrected_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    _event(case, actor=actor, kind=EventKind.TRIAGED, data=changes, public=False)
    _audit(case, actor=actor, action="case.retriage", changes=changes)
    return case


@transaction.atomic
def case_set_place(*, actor, case: HelpRequest, place: Place, expected_version: int | None = None) -> HelpRequest:
    """Confirm or correct where the request is (e.g. the operator picks a matched household)."""
    case = _locked(case, expected_version)
    if not place.path.startswith(Place.objects.get(pk=case.district_id).path):
        raise CaseError("place_elsewhere", _("所选地点不在本区范围内"), "place")
    before = case.place_id
    case.place = place
    handling = case.assigned_place
    # Scope follows the place, unless the request was dispatched to a place that does not contain it.
    case.place_path = place.path if handling is None or place.path.startswith(handling.path) else handling.path
    case.grid_path = place.grid_path
    _save(case, ["place", "place_path", "grid_path"])
    _event(case, actor=actor, kind=EventKind.NOTE, note=_("确认地点"), public=False, data={"place": place.pk})
    _audit(case, actor=actor, action="case.place", changes={"place": [before, place.pk]})
    return case


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
    case = HelpRequest.objects.select_for_update().select_related("place", "assigned_place").get(pk=pk)
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


@transaction.atomic
def subcategory_create(*, actor, category: str, name: str, name_en: str = "") -> Subcategory:
    """A bureau's own sub-category under one of the fixed categories (also an Open311 service)."""
    import re

    from .models import Subcategory as Model

    if category not in CaseCategory.values:
        raise CaseError("invalid_category", _("诉求类别“%(value)s”不存在") % {"value": category}, "category")
    name = clean_text(name)
    if not name:
        raise CaseError("required", _("请填写子类名称"), "name")
    if len(name) > 40:
        raise CaseError("too_long", _("子类名称不能超过40个字"), "name")
    if Model.objects.filter(category=category, name=name).exists():
        raise CaseError("duplicate", _("该类别下已有同名子类“%(name)s”") % {"name": name}, "name")
    base = re.sub(r"[^a-z0-9]+", "_", (name_en or "").lower()).strip("_")[:30] or "sub"
    code, n = f"{category}_{base}"[:40], 1
    while Model.objects.filter(code=code).exists():
        n += 1
        code = f"{category}_{base}"[:36] + f"_{n}"
    sub = Model.objects.create(category=category, code=code, name=name, name_en=clean_text(name_en)[:80])
    audit_record(actor=actor, action="case.subcategory_create", obj=sub, changes={"category": category, "name": name})
    return sub
