"""API for help requests: the scoped queue, one request with its timeline and errands, intake, the
workflow actions, errands, and the triage suggestion the hotline screen shows while the operator types.

Lists show callers' phones masked. Every write goes through cases.actions; a refused write (CaseError)
answers 400 naming its field, a stale `version` 409. A 2xx answer is sent only after the action's
transaction has committed.
"""

import datetime as dt
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from caregrid.accounts.api import ERRORS, ApiError, ErrorOut, Id, page_of
from caregrid.accounts.masking import mask_phone
from caregrid.accounts.models import Role, User
from caregrid.accounts.roles import Cap, role_has
from caregrid.accounts.scope import assignments, get_scoped, in_scope, require, scoped
from caregrid.people.models import Resident
from caregrid.places.models import Place
from caregrid.places.tree import address_label, addresses_for, ids_from_path

from ..actions import (
    CaseError,
    Conflict,
    IntakeData,
    case_acknowledge,
    case_answer,
    case_cancel,
    case_close,
    case_contact,
    case_coordinate,
    case_create,
    case_dispatch,
    case_link,
    case_note,
    case_reopen,
    case_resolve,
    case_retriage,
    case_set_place,
    task_add,
    task_done,
)
from ..models import CaseTask, Channel, HelpRequest, Subcategory, TaskStatus
from ..models import Status as CaseStatus
from ..queries import (
    CaseFilters,
    case_search,
    clock,
    intake_place,
    suggest,
    with_places,
)
from ..taxonomy import CaseCategory, Urgency
from .schemas import (
    _CHOICE_MESSAGES,
    API_CHANNELS,
    STATUS_FILTERS,
    SUMMARY_LENGTH,
    CaseDetailOut,
    CaseIn,
    CasePageOut,
    CaseQuery,
    CaseReceiptOut,
    CloseIn,
    DispatchIn,
    LinkIn,
    NoteIn,
    OptionalNoteIn,
    OutcomeIn,
    PlaceIn,
    ReasonIn,
    RetriageIn,
    TaskDoneIn,
    TaskIn,
    TaskOut,
    TaskPageOut,
    TaskQuery,
    TriageOut,
    TriageQuery,
)

router = Router(tags=["cases"])

# Channels a client may name when it logs a request through the API; the public form and Open311 have
# their own anonymous, rate-limited doors.


# ---- helpers -----------------------------------------------------------------------------------


@contextmanager
def _answering():
    """Refused writes in the API's error shape: 409 for a stale version, 400 naming the field otherwise."""
    try:
        yield
    except Conflict as e:
        raise ApiError(409, "conflict", e.message) from None
    except CaseError as e:
        raise ApiError(400, e.code, e.message, {e.field: e.message} if e.field else None) from None


def _label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _place_ref(place: Place | None) -> dict | None:
    return {"id": place.pk, "kind": place.kind, "name": place.name} if place else None


def _last_id(path: str) -> int | None:
    ids = ids_from_path(path)
    return ids[-1] if ids else None


def _item_out(case: HelpRequest, addresses: dict[int, str], now: dt.datetime) -> dict:
    return {
        "id": case.pk,
        "number": case.number,
        "channel": case.channel,
        "channel_label": _label(Channel, case.channel),
        "category": case.category,
        "category_label": _label(CaseCategory, case.category),
        "urgency": case.urgency,
        "urgency_label": _label(Urgency, case.urgency),
        "status": case.status,
        "status_label": _label(CaseStatus, case.status),
        "disposition": case.disposition,
        "summary": case.description[:SUMMARY_LENGTH],
        "caller_name": case.caller_name,
        "caller_phone_masked": mask_phone(case.caller_phone),
        "address": addresses.get(case.place_id) or case.address_text,
        "place": _place_ref(case.place),
        "grid_id": _last_id(case.grid_path),
        "assigned_place": _place_ref(case.assigned_place),
        "received_at": case.received_at,
        "clock": clock(case, now),
        "escalation_level": case.escalation_level,
        "duplicate_of": case.duplicate_of_id,
        "version": case.version,
    }


def _items_out(cases: list[HelpRequest]) -> list[dict]:
    """List rows for requests fetched with their places (one more query for all their addresses)."""
    addresses = addresses_for([c.place for c in cases])
    now = timezone.now()
    return [_item_out(c, addresses, now) for c in cases]


def _receipt_out(case: HelpRequest) -> dict:
    """The intake answer, from the request as the action left it (one query, for its address)."""
    return {
        **_items_out([case])[0],
        "tracking_code": case.tracking_code,
        "external_id": case.external_id,
        "suggestion": {
            "category": case.suggested_category,
            "urgency": case.suggested_urgency,
            "confidence": case.suggestion_confidence,
        },
        "red_flags": [{"code": f.get("code", ""), "label": f.get("label", "")} for f in case.red_flags or []],
        "first_contact_due": case.first_contact_due,
        "resolution_due": case.resolution_due,
    }


def _task_out(task: CaseTask, now: dt.datetime) -> dict:
    return {
        "id": task.pk,
        "request": {"id": task.request_id, "number": task.request.number},
        "kind": task.kind,
        "kind_label": task.get_kind_display(),
        "detail": task.detail,
        "assignee": {"username": task.assignee.username, "full_name": task.assignee.full_name},
        "status": task.status,
        "status_label": task.get_status_display(),
        "due_at": task.due_at,
        "overdue": task.status == TaskStatus.OPEN and task.due_at is not None and task.due_at < now,
        "created_at": task.created_at,
        "done_at": task.done_at,
        "result": task.result,
    }


def _detail_out(case_id: int) -> dict:
    """One request with its timeline and errands: five queries (request, places, events, tasks, links)."""
    case = HelpRequest.objects.select_related("place", "assigned_place", "subcategory", "resident", "duplicate_of").get(
        pk=case_id
    )
    place = case.place
    grid_id = _last_id(case.grid_path)
    by_id = Place.objects.in_bulk(set(place.ancestor_ids) | ({grid_id} if grid_id else set()))
    chain = [by_id[i] for i in place.ancestor_ids if i in by_id]
    now = timezone.now()
    events = list(case.events.all())
    tasks = list(case.tasks.select_related("assignee"))
    for task in tasks:
        task.request = case
    linked = list(HelpRequest.objects.filter(duplicate_of=case).order_by("received_at").values("id", "number"))
    return {
        "id": case.pk,
        "number": case.number,
        "tracking_code": case.tracking_code,
        "channel": case.channel,
        "channel_label": _label(Channel, case.channel),
        "external_id": case.external_id,
        "category": case.category,
        "category_label": _label(CaseCategory, case.category),
        "subcategory": {"code": case.subcategory.code, "name": case.subcategory.name} if case.subcategory else None,
        "urgency": case.urgency,
        "urgency_label": _label(Urgency, case.urgency),
        "description": case.description,
        "suggestion": {
            "category": case.suggested_category,
            "urgency": case.suggested_urgency,
            "confidence": case.suggestion_confidence,
        },
        "red_flags": [{"code": f.get("code", ""), "label": f.get("label", "")} for f in case.red_flags or []],
        "caller_name": case.caller_name,
        "caller_phone_masked": mask_phone(case.caller_phone),
        "resident": {"id": case.resident.pk, "name": case.resident.name} if case.resident else None,
        "address_text": case.address_text,
        "place": _place_ref(place),
        "address": address_label(chain) or case.address_text,
        "path_names": [p.name for p in chain],
        "grid": _place_ref(by_id.get(grid_id)) if grid_id else None,
        "status": case.status,
        "status_label": _label(CaseStatus, case.status),
        "disposition": case.disposition,
        "assigned_place": _place_ref(case.assigned_place),
        "received_at": case.received_at,
        "acknowledged_at": case.acknowledged_at,
        "first_contact_due": case.first_contact_due,
        "resolution_due": case.resolution_due,
        "first_contact_at": case.first_contact_at,
        "resolved_at": case.resolved_at,
        "closed_at": case.closed_at,
        "clock": clock(case, now),
        "outcome": case.outcome,
        "satisfaction": case.satisfaction,
        "escalation_level": case.escalation_level,
        "duplicate_of": {"id": case.duplicate_of.pk, "number": case.duplicate_of.number} if case.duplicate_of else None,
        "linked": linked,
        "events": [
            {
                "id": e.pk,
                "at": e.at,
                "kind": e.kind,
                "kind_label": e.get_kind_display(),
                "actor": e.actor_name,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "note": e.note,
                "public": e.public,
                "data": e.data or {},
            }
            for e in events
        ],
        "tasks": [_task_out(t, now) for t in tasks],
        "version": case.version,
        "updated_at": case.updated_at,
    }


def _case_for(user, case_id: int, capability: str) -> HelpRequest:
    return get_scoped(user, HelpRequest.objects.select_related("place", "assigned_place"), capability, pk=case_id)


def _subcategory(code: str) -> Subcategory | None:
    code = code.strip()
    if not code:
        return None
    found = Subcategory.objects.filter(code=code, is_active=True).first()
    if found is None:
        raise CaseError("invalid_subcategory", _("子类代码“%(code)s”不存在") % {"code": code}, "subcategory")
    return found


def _intake_channel(user, given: str) -> str:
    if given:
        if given not in API_CHANNELS:
            raise CaseError(
                "invalid_channel",
                _("来源渠道“%(value)s”无效，可选：%(choices)s") % {"value": given, "choices": ", ".join(API_CHANNELS)},
                "channel",
            )
        return given
    roles = {a.role for a in assignments(user) if role_has(a.role, Cap.TAKE_CASES)}
    return Channel.GRID_REPORT if roles == {Role.GRID_WORKER} else Channel.API


# ---- requests ----------------------------------------------------------------------------------


@router.get(
    "/cases",
    response={200: CasePageOut, **ERRORS},
    summary="Help requests in the user's scope, filtered; open queues most pressing first, else newest first",
)
def case_list(request, params: Query[CaseQuery]):
    user = request.auth
    require(user, Cap.VIEW_CASES)
    problems = {}
    for name, value, allowed in (
        ("status", params.status, STATUS_FILTERS),
        ("category", params.category, CaseCategory.values),
        ("urgency", params.urgency, Urgency.values),
        ("channel", params.channel, Channel.values),
    ):
        if value and value not in allowed:
            problems[name] = _CHOICE_MESSAGES[name] % {"value": value, "choices": ", ".join(allowed)}
    if problems:
        raise ValidationError(problems)
    filters = CaseFilters(
        status=params.status,
        category=params.category,
        urgency=params.urgency,
        channel=params.channel,
        q=params.q,
        since=params.since,
        until=params.until,
    )
    if params.place is not None:
        filters.place = get_scoped(user, Place.objects.all(), Cap.VIEW_CASES, pk=params.place)
    if params.assigned_to is not None:
        filters.assigned_to = get_scoped(user, Place.objects.all(), Cap.VIEW_CASES, pk=params.assigned_to)
    qs = case_search(user, filters)
    rows, has_next = page_of(with_places(qs), params.page, params.page_size)
    return {
        "items": _items_out(rows),
        "page": params.page,
        "page_size": params.page_size,
        "has_next": has_next,
        "total": qs.order_by().count() if params.count else None,
    }


@router.get(
    "/cases/triage",
    response={200: TriageOut, **ERRORS},
    summary="The suggested category, urgency, address and possible duplicates for a text, without saving",
)
def case_triage(request, params: Query[TriageQuery]):
    user = request.auth
    require(user, Cap.TAKE_CASES)
    found = suggest(user, text=params.text, phone=params.phone)
    suggestion, match, candidates = found.triage, found.match, found.candidates
    address = None
    if match is not None:
        best = candidates[0] if candidates else None
        address = {
            "compound": match.compound,
            "building": match.building,
            "unit": match.unit,
            "room": match.room,
            "place_id": best.place_id if best else None,
            "label": best.label if best else "",
            "confidence": best.confidence if best else 0.0,
            "candidates": [{"place_id": c.place_id, "label": c.label, "confidence": c.confidence} for c in candidates],
        }
    found = found.duplicates
    by_id = with_places(HelpRequest.objects.filter(pk__in=[c.pk for c in found])).in_bulk()
    duplicates = [by_id[c.pk] for c in found if c.pk in by_id]
    return {
        "category": suggestion.category,
        "category_label": _label(CaseCategory, suggestion.category),
        "urgency": suggestion.urgency,
        "urgency_label": _label(Urgency, suggestion.urgency),
        "confidence": round(float(suggestion.confidence), 4),
        "also": list(suggestion.also),
        "red_flags": [{"code": f.code, "label": str(f.label)} for f in suggestion.flags],
        "address": address,
        "duplicates": _items_out(duplicates),
    }


@router.get(
    "/cases/{case_id}",
    response={200: CaseDetailOut, **ERRORS},
    summary="One request with its timeline and errands (caller's phone masked)",
)
def case_detail(request, case_id: Id):
    case = _case_for(request.auth, case_id, Cap.VIEW_CASES)
    return _detail_out(case.pk)


@router.post(
    "/cases",
    response={200: CaseReceiptOut, 201: CaseReceiptOut, 400: ErrorOut, 409: ErrorOut, **ERRORS},
    summary="Log a request (201). Category and urgency default to the classifier's suggestion; "
    "an external_id sent again answers 200 with the request already made",
)
def case_add(request, payload: CaseIn):
    user = request.auth
    require(user, Cap.TAKE_CASES)
    with _answering():
        channel = _intake_channel(user, payload.channel)
        external_id = payload.external_id.strip()
        if external_id:
            existing = HelpRequest.objects.filter(channel=channel, external_id=external_id).first()
            if existing is not None:
                if in_scope(user, existing, Cap.VIEW_CASES):
                    return Status(200, _receipt_out(existing))
                raise ApiError(
                    409,
                    "duplicate_external_id",
                    _("外部编号“%(id)s”已登记过") % {"id": external_id},
                    {"external_id": _("外部编号已登记过")},
                )
        subcategory = _subcategory(payload.subcategory)
        resident = place = None
        if payload.resident is not None:
            resident = (
                scoped(user, Resident.objects.select_related("household"), Cap.TAKE_CASES)
                .filter(pk=payload.resident)
                .first()
            )
            if resident is None:
                raise ValidationError(
                    {"resident": _("找不到编号为%(id)s的居民，或不在您的管辖范围内") % {"id": payload.resident}}
                )
        elif payload.place is not None:
            place = scoped(user, Place.objects.all(), Cap.TAKE_CASES).filter(pk=payload.place).first()
            if place is None:
                raise ValidationError(
                    {"place": _("找不到编号为%(id)s的地点，或不在您的管辖范围内") % {"id": payload.place}}
                )
        district = None
        if resident is None and place is None:
            place, district = intake_place(user, payload.address_text or payload.description)
        data = IntakeData(
            channel=channel,
            description=payload.description,
            category=payload.category.strip(),
            urgency=payload.urgency.strip(),
            subcategory=subcategory,
            caller_name=payload.caller_name,
            caller_phone=payload.caller_phone,
            resident=resident,
            place=place,
            address_text=payload.address_text,
            external_id=external_id,
            received_at=payload.received_at,
            lat=payload.lat,
            long=payload.long,
        )
        case = case_create(actor=user, data=data, district=district)
    return Status(201, _receipt_out(case))


# ---- workflow actions --------------------------------------------------------------------------

_ACTION = {200: CaseDetailOut, 400: ErrorOut, 409: ErrorOut, **ERRORS}


@router.post(
    "/cases/{case_id}/actions/answer", response=_ACTION, summary="Answered on the spot (即刻答复), with the answer"
)
def case_action_answer(request, case_id: Id, payload: OutcomeIn):
    case = _case_for(request.auth, case_id, Cap.DISPATCH_CASES)
    with _answering():
        case_answer(actor=request.auth, case=case, note=payload.outcome, expected_version=payload.version)
    return _detail_out(case.pk)


@router.post(
    "/cases/{case_id}/actions/coordinate",
    response=_ACTION,
    summary="Coordinated (协调解决) by the command centre itself",
)
def case_action_coordinate(request, case_id: Id, payload: OptionalNoteIn):
    case = _case_for(request.auth, case_id, Cap.DISPATCH_CASES)
    with _answering():
        case_coordinate(actor=request.auth, case=case, note=payload.note, expected_version=payload.version)
    return _detail_out(case.pk)


@router.post(
    "/cases/{case_id}/actions/dispatch",
    response=_ACTION,
    summary="Dispatch (交办) to a subdistrict, community or grid in the user's scope",
)
def case_action_dispatch(request, case_id: Id, payload: DispatchIn):
    user = request.auth
    case = _case_for(user, case_id, Cap.DISPATCH_CASES)
    place = scoped(user, Place.objects.all(), Cap.DISPATCH_CASES).filter(pk=payload.place).first()
    if place is None:
        raise ValidationError({"place": _("找不到编号为%(id)s的地点，或不在您的管辖范围内") % {"id": payload.place}})
    with _answering():
        case_dispatch(actor=user, case=case, place=place, note=payload.note, expected_version=payload.version)
    return _detail_out(case.pk)


@router.post(
    "/cases/{case_id}/actions/acknowledge",
    response=_ACTION,
    summary="The handling place signs for a dispatched request (签收)",
)
def case_action_acknowledge(request, case_id: Id, payload: OptionalNoteIn):
    case = _case_for(request.auth, case_id, Cap.HANDLE_CASES)
    with _answering():
        case_acknowledge(actor=request.auth, case=case, note=payload.note, expected_version=payload.version)
    return _detail_out(case.pk)


@router.post(
    "/cases/{case_id}/actions/contact",
    response=_ACTION,
    summary="Record a contact with the person in need (the first stops the first-contact clock)",
)
def case_action_contact(request, case_id: Id, payload: NoteIn):
    case = _case_for(request.auth, case_id, Cap.HANDLE_CASES)
    with _answering():
        case_contact(actor=request.auth, case=case, note=payload.note, expected_version=payload.version)
    return _detail_out(case.pk)


@router.post("/cases/{case_id}/actions/note", response=_ACTION, summary="Add a note to the timeline")
def case_action_note(request, case_id: Id, payload: NoteIn):
    case = _case_for(request.auth, case_id, Cap.HANDLE_CASES)
    with _answering():
        case_note(actor=request.auth, case=case, note=payload.note, expected_version=payload.version)
    return _detail_out(case.pk)


@router.post(
    "/cases/{case_id}/actions/resolve",
    response=_ACTION,
    summary="The need is met (办结); linked duplicates share the outcome",
)
def case_action_resolve(request, case_id: Id, payload: OutcomeIn):
    case = _case_for(request.auth, case_id, Cap.HANDLE_CASES)
    with _answering():
        case_resolve(actor=request.auth, case=case, outcome=payload.outcome, expected_version=payload.version)
    return _detail_out(case.pk)


@router.post(
    "/cases/{case_id}/actions/close",
    response=_ACTION,
    summary="Close after the follow-up call (回访) with the caller's satisfaction",
)
def case_action_close(request, case_id: Id, payload: CloseIn):
    case = _case_for(request.auth, case_id, Cap.DISPATCH_CASES)
    with _answering():
        case_close(
            actor=request.auth,
            case=case,
            satisfaction=payload.satisfaction.strip(),
            note=payload.note,
            expected_version=payload.version,
        )
    return _detail_out(case.pk)


@router.post(
    "/cases/{case_id}/actions/reopen",
    response=_ACTION,
    summary="Work again on a request whose need was not met; the resolution clock restarts",
)
def case_action_reopen(request, case_id: Id, payload: ReasonIn):
    case = _case_for(request.auth, case_id, Cap.DISPATCH_CASES)
    with _answering():
        case_reopen(actor=request.auth, case=case, reason=payload.reason, expected_version=payload.version)
    return _detail_out(case.pk)


@router.post(
    "/cases/{case_id}/actions/cancel", response=_ACTION, summary="Cancel with a reason; open errands are cancelled"
)
def case_action_cancel(request, case_id: Id, payload: ReasonIn):
    case = _case_for(request.auth, case_id, Cap.DISPATCH_CASES)
    with _answering():
        case_cancel(actor=request.auth, case=case, reason=payload.reason, expected_version=payload.version)
    return _detail_out(case.pk)


@router.post(
    "/cases/{case_id}/actions/retriage",
    response=_ACTION,
    summary="Correct the category or urgency (deadlines follow the urgency; the correction trains the classifier)",
)
def case_action_retriage(request, case_id: Id, payload: RetriageIn):
    case = _case_for(request.auth, case_id, Cap.TAKE_CASES)
    with _answering():
        subcategory = case.subcategory if payload.subcategory is None else _subcategory(payload.subcategory)
        case_retriage(
            actor=request.auth,
            case=case,
            category=payload.category.strip() or case.category,
            urgency=payload.urgency.strip() or case.urgency,
            subcategory=subcategory,
            expected_version=payload.version,
        )
    return _detail_out(case.pk)


@router.post(
    "/cases/{case_id}/actions/link",
    response=_ACTION,
    summary="Link the request to the one it repeats; it follows that request's outcome",
)
def case_action_link(request, case_id: Id, payload: LinkIn):
    user = request.auth
    case = _case_for(user, case_id, Cap.HANDLE_CASES)
    primary = scoped(user, HelpRequest.objects.all(), Cap.VIEW_CASES).filter(pk=payload.primary).first()
    if primary is None:
        raise ValidationError(
            {"primary": _("找不到编号为%(id)s的工单，或不在您的管辖范围内") % {"id": payload.primary}}
        )
    with _answering():
        if case.version != payload.version:
            raise Conflict()
        case_link(actor=user, case=case, primary=primary)
    return _detail_out(case.pk)


@router.post(
    "/cases/{case_id}/actions/place",
    response=_ACTION,
    summary="Confirm or correct where the request is (e.g. the household the address matched)",
)
def case_action_place(request, case_id: Id, payload: PlaceIn):
    user = request.auth
    case = _case_for(user, case_id, Cap.TAKE_CASES)
    place = scoped(user, Place.objects.all(), Cap.TAKE_CASES).filter(pk=payload.place).first()
    if place is None:
        raise ValidationError({"place": _("找不到编号为%(id)s的地点，或不在您的管辖范围内") % {"id": payload.place}})
    with _answering():
        case_set_place(actor=user, case=case, place=place, expected_version=payload.version)
    return _detail_out(case.pk)


# ---- errands -----------------------------------------------------------------------------------


@router.post(
    "/cases/{case_id}/tasks",
    response={201: TaskOut, 400: ErrorOut, 409: ErrorOut, **ERRORS},
    summary="Spawn an errand for one person who can see the request",
    tags=["tasks"],
)
def case_task_add(request, case_id: Id, payload: TaskIn):
    user = request.auth
    case = _case_for(user, case_id, Cap.HANDLE_CASES)
    assignee = User.objects.filter(username=payload.assignee.strip(), is_active=True).first()
    if assignee is None or not in_scope(assignee, case, Cap.HANDLE_CASES):
        raise ValidationError(
            {"assignee": _("找不到用户“%(name)s”，或该工单不在其管辖范围内") % {"name": payload.assignee}}
        )
    with _answering():
        if case.version != payload.version:
            raise Conflict()
        task = task_add(
            actor=user,
            case=case,
            kind=payload.kind.strip(),
            assignee=assignee,
            detail=payload.detail,
            due_at=payload.due_at,
        )
    task = CaseTask.objects.select_related("request", "assignee").get(pk=task.pk)
    return Status(201, _task_out(task, timezone.now()))


@router.post(
    "/tasks/{task_id}/done",
    response={200: TaskOut, 400: ErrorOut, **ERRORS},
    summary="Mark an errand done; the request resolves when its last open errand is done",
    tags=["tasks"],
)
def case_task_done(request, task_id: Id, payload: TaskDoneIn):
    user = request.auth
    require(user, Cap.HANDLE_CASES)
    task = CaseTask.objects.select_related("request", "assignee").filter(pk=task_id).first()
    if task is None or (task.assignee_id != user.pk and not in_scope(user, task.request, Cap.HANDLE_CASES)):
        raise Http404
    with _answering():
        task_done(actor=user, task=task, result=payload.result)
    task = CaseTask.objects.select_related("request", "assignee").get(pk=task.pk)
    return _task_out(task, timezone.now())


@router.get(
    "/tasks",
    response={200: TaskPageOut, **ERRORS},
    summary="Errands: mine (mine=true) or those of requests in my scope, soonest due first",
    tags=["tasks"],
)
def case_task_list(request, params: Query[TaskQuery]):
    user = request.auth
    require(user, Cap.VIEW_CASES)
    if params.status not in ("all", *TaskStatus.values):
        choices = ", ".join(("all", *TaskStatus.values))
        raise ValidationError(
            {"status": _("任务状态“%(value)s”无效，可选：%(choices)s") % {"value": params.status, "choices": choices}}
        )
    if params.mine:
        qs = CaseTask.objects.filter(assignee=user)
    else:
        qs = CaseTask.objects.filter(request__in=scoped(user, HelpRequest.objects.all(), Cap.VIEW_CASES))
    if params.status != "all":
        qs = qs.filter(status=params.status)
    qs = qs.select_related("request", "assignee").order_by("due_at", "id")
    rows, has_next = page_of(qs, params.page, params.page_size)
    now = timezone.now()
    return {
        "items": [_task_out(t, now) for t in rows],
        "page": params.page,
        "page_size": params.page_size,
        "has_next": has_next,
    }
