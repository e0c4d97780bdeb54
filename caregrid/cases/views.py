"""Help-request pages: the hotline screen, queues with clocks, the request with its timeline and workflow,
errands (the grid worker's task list) and the deadline settings."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caregrid.accounts.masking import mask_id_number, mask_phone
from caregrid.accounts.models import RoleAssignment, User
from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import can, get_scoped, require, scope_places, scoped
from caregrid.people.queries import with_categories
from caregrid.places.models import Place, PlaceKind
from caregrid.places.queries import today, zone_of, zones_for
from caregrid.places.tree import addresses_for, ancestors, under

from . import actions
from .actions import CaseError, IntakeData
from .forms import (
    CloseForm,
    DeadlineForm,
    DispatchForm,
    IntakeForm,
    LinkForm,
    NoteForm,
    PlaceForm,
    QueueFilterForm,
    RetriageForm,
    SubcategoryForm,
    TaskDoneForm,
    TaskForm,
)
from .models import OPEN_STATUSES, CaseTask, Channel, HelpRequest, Status, Subcategory, TaskStatus
from .queries import CaseFilters, caller_lookup, case_search, clock, duplicate_candidates, suggest
from .taxonomy import CaseCategory, Urgency
from .triage.redflags import flag_labels


@dataclass
class QueueRow:
    case: HelpRequest
    address: str
    caller_phone: str
    clock: dict | None


def _rows(cases: list[HelpRequest]) -> list[QueueRow]:
    addresses = addresses_for([c.place for c in cases])
    now = timezone.now()
    return [
        QueueRow(
            case=c,
            address=addresses.get(c.place_id) or c.address_text or c.place.name,
            caller_phone=mask_phone(c.caller_phone),
            clock=clock(c, now),
        )
        for c in cases
    ]


def _my_handling_place(user) -> Place | None:
    """The place whose queue "mine" means: the user's (first) place with the handling capability."""
    places = scope_places(user, Cap.HANDLE_CASES)
    return places[0] if places else None


@login_required
@require_GET
def queue(request):
    """Requests in the user's scope; open ones ordered by the clock that runs out first."""
    require(request.user, Cap.VIEW_CASES)
    form = QueueFilterForm(request.GET, user=request.user)
    rows, has_next, page = [], False, 1
    if form.is_valid():
        page = form.cleaned_data.get("page") or 1
        size = settings.PAGE_SIZE
        qs = case_search(request.user, form.filters(_my_handling_place(request.user))).select_related(
            "place", "assigned_place"
        )
        cases = list(qs[(page - 1) * size : page * size + 1])
        has_next = len(cases) > size
        rows = _rows(cases[:size])
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "form": form,
        "rows": rows,
        "page": page,
        "has_next": has_next,
        "query": params.urlencode(),
        "overdue_count": case_search(request.user, CaseFilters(status="overdue")).count(),
        "unacknowledged_count": case_search(request.user, CaseFilters(status="unacknowledged")).count(),
    }
    template = "cases/_queue_rows.html" if request.htmx else "cases/queue.html"
    return render(request, template, context)


# --- the hotline screen ---


def _nearest_targets(place: Place | None) -> list[Place]:
    """The request's own grid, community and subdistrict, nearest first."""
    if place is None:
        return []
    chain = ancestors(place)
    nearest = [Place.objects.get(pk=place.grid_id)] if place.grid_id else []
    return nearest + [p for p in reversed(chain) if p.kind in (PlaceKind.COMMUNITY, PlaceKind.SUBDISTRICT)]


def _dispatch_targets(user, place: Place | None) -> list[Place]:
    """Where a request can be dispatched: its nearest places first, then every subdistrict and community in
    the user's scope."""
    suggested = _nearest_targets(place)
    others = scoped(
        user, Place.objects.filter(kind__in=(PlaceKind.SUBDISTRICT, PlaceKind.COMMUNITY)), Cap.DISPATCH_CASES
    ).order_by("path")[:500]
    seen = {p.pk for p in suggested}
    return suggested + [p for p in others if p.pk not in seen]


@login_required
@require_http_methods(["GET", "POST"])
def intake(request):
    """Log a call: caller lookup and live suggestions (htmx), then one submit saves and handles it."""
    require(request.user, Cap.TAKE_CASES)
    # Grid workers report from their phone; everyone else here mostly takes calls.
    channel = Channel.HOTLINE if can(request.user, Cap.DISPATCH_CASES) else Channel.GRID_REPORT
    form = IntakeForm(request.POST or None, user=request.user, initial={"channel": channel})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        handling = d.get("handling")
        if handling and not can(request.user, Cap.DISPATCH_CASES):
            raise PermissionDenied
        try:
            with transaction.atomic():
                case = actions.case_create(
                    actor=request.user,
                    data=IntakeData(
                        channel=d["channel"],
                        description=d["description"],
                        category=d.get("category") or "",
                        urgency=d.get("urgency") or "",
                        caller_name=d.get("caller_name") or "",
                        caller_phone=d.get("caller_phone") or "",
                        resident=form.resident_obj,
                        place=form.place_obj,
                        address_text=d.get("address_text") or "",
                    ),
                )
                if handling == "answer":
                    actions.case_answer(actor=request.user, case=case, note=d["answer"])
                elif handling == "coordinate":
                    actions.case_coordinate(actor=request.user, case=case, note=d.get("answer") or "")
                elif handling == "dispatch":
                    actions.case_dispatch(
                        actor=request.user, case=case, place=form.dispatch_obj, note=d.get("answer") or ""
                    )
        except CaseError as e:
            form.add_error(e.field if e.field in form.fields else None, e.message)
        else:
            messages.success(request, _("已受理，工单号 %(number)s") % {"number": case.number})
            if request.POST.get("next") == "new":
                return redirect("cases:new")
            return redirect("cases:detail", pk=case.pk)
    return render(
        request,
        "cases/intake.html",
        {"form": form, "targets": _dispatch_targets(request.user, form.place_obj or None)},
    )


@login_required
@require_GET
def intake_caller(request):
    """Residents and earlier requests matching the typed phone number (the hotline screen's left panel)."""
    require(request.user, Cap.TAKE_CASES)
    match = caller_lookup(request.user, request.GET.get("caller_phone", ""))
    day = today()
    residents = match.residents
    if residents:
        residents = list(
            with_categories(
                type(residents[0]).objects.filter(pk__in=[r.pk for r in residents]).select_related("household"), day
            )
        )
    households = [r.household for r in residents]
    addresses = addresses_for(households)
    zones = zones_for(households, day)
    grids = Place.objects.in_bulk({h.grid_id for h in households if h.grid_id})
    people = [
        {
            "resident": r,
            "id_masked": mask_id_number(r.id_number),
            "age": r.age_on(day),
            "address": addresses.get(r.household_id, ""),
            "zone": zones.get(r.household_id),
            "categories": [link.category.label for link in r.active_links],
            "household_size": r.household.residents.count(),
            "grid": grids.get(r.household.grid_id),
        }
        for r in residents
    ]
    past = _rows(match.past) if match.past else []
    return render(request, "cases/_caller.html", {"people": people, "past": past})


@login_required
@require_GET
def intake_suggest(request):
    """The classifier's category and urgency, the matched address and possible duplicates, as the operator types."""
    require(request.user, Cap.TAKE_CASES)
    text = (request.GET.get("description") or "")[:2000]
    address_text = (request.GET.get("address_text") or "")[:200]
    if not text.strip() and not address_text.strip():
        return render(request, "cases/_suggest.html", {})
    found = suggest(
        request.user,
        text=text,
        address_text=address_text,
        phone=request.GET.get("caller_phone", ""),
        category=request.GET.get("category", ""),
    )
    suggestion, candidates, duplicates = found.triage, found.candidates, found.duplicates
    place = found.place or (Place.objects.filter(pk=candidates[0].place_id).first() if candidates else None)
    zone = zone_of(place) if place else None
    shown = None
    if suggestion is not None:
        shown = {
            "category": suggestion.category,
            "urgency": suggestion.urgency,
            "category_label": CaseCategory(suggestion.category).label,
            "urgency_label": Urgency(suggestion.urgency).label,
            "percent": round(float(suggestion.confidence) * 100),
            "flags": suggestion.flags,
        }
    return render(
        request,
        "cases/_suggest.html",
        {
            "suggestion": shown,
            "candidates": candidates,
            "zone": zone,
            "place": place,
            "duplicates": _rows(duplicates) if duplicates else [],
            "targets": _nearest_targets(place),
        },
    )


# --- one request ---


def _case(request, pk: int, capability: str = Cap.VIEW_CASES) -> HelpRequest:
    return get_scoped(
        request.user,
        HelpRequest.objects.select_related("place", "assigned_place", "subcategory", "resident", "duplicate_of"),
        capability,
        pk=pk,
    )


def _assignees(case: HelpRequest):
    """People who can run an errand for this request: staff and grid workers above or inside its handling place."""
    handling = case.assigned_place or case.place
    paths = [p for p in handling.path.split(".") if p]
    prefixes = [".".join(paths[:i]) + "." for i in range(1, len(paths) + 1)]
    places = Place.objects.filter(Q(path__in=prefixes) | under(handling.path)).values("pk")
    users = RoleAssignment.objects.filter(place__in=places).values("user")
    return User.objects.filter(pk__in=users, is_active=True).order_by("full_name", "username")


def _label(choices, value: str) -> str:
    return choices(value).label if value in choices.values else value


@login_required
@require_GET
def detail(request, pk: int):
    case = _case(request, pk)
    chain = ancestors(case.place)
    events = list(case.events.order_by("at", "id"))
    for e in events:
        e.to_label = Status(e.to_status).label if e.to_status in Status.values else ""
    tasks = list(case.tasks.select_related("assignee").order_by("created_at", "id"))
    can_handle = can(request.user, Cap.HANDLE_CASES)
    can_dispatch = can(request.user, Cap.DISPATCH_CASES)
    context = {
        "case": case,
        "address": addresses_for([case.place]).get(case.place_id) or case.address_text,
        "chain": chain,
        "zone": zone_of(case.place),
        "clock": clock(case),
        "events": events,
        "tasks": tasks,
        "caller_phone": mask_phone(case.caller_phone),
        "red_flags": flag_labels(case.red_flags),
        "suggested": (_label(CaseCategory, case.suggested_category), _label(Urgency, case.suggested_urgency)),
        "may_unmask": can(request.user, Cap.UNMASK),
        "duplicates": _rows(duplicate_candidates(case)) if case.is_open or case.status == Status.RECEIVED else [],
        "linked": list(case.linked.all()),
        "can_handle": can_handle,
        "can_dispatch": can_dispatch,
        "is_open": case.status in OPEN_STATUSES,
        "targets": _dispatch_targets(request.user, case.place) if can_dispatch else [],
        "assignees": _assignees(case) if can_handle else [],
        "task_form": TaskForm(assignees=_assignees(case)) if can_handle else None,
        "retriage_form": RetriageForm(initial={"category": case.category, "urgency": case.urgency}),
        "close_form": CloseForm(),
        "urgencies": Urgency.choices,
    }
    return render(request, "cases/detail.html", context)


# action name → (capability, form class, call)
def _do_answer(user, case, d, version):
    return actions.case_answer(actor=user, case=case, note=d["note"], expected_version=version)


def _do_coordinate(user, case, d, version):
    return actions.case_coordinate(actor=user, case=case, note=d["note"], expected_version=version)


def _do_dispatch(user, case, d, version):
    place = scoped(user, Place.objects.filter(pk=d["place"]), Cap.DISPATCH_CASES).first()
    if place is None:
        raise CaseError("place_elsewhere", _("所选地点不在您的管辖范围内"), "place")
    return actions.case_dispatch(actor=user, case=case, place=place, note=d["note"], expected_version=version)


def _do_acknowledge(user, case, d, version):
    return actions.case_acknowledge(actor=user, case=case, note=d["note"], expected_version=version)


def _do_contact(user, case, d, version):
    return actions.case_contact(actor=user, case=case, note=d["note"], expected_version=version)


def _do_note(user, case, d, version):
    return actions.case_note(actor=user, case=case, note=d["note"], expected_version=version)


def _do_resolve(user, case, d, version):
    return actions.case_resolve(actor=user, case=case, outcome=d["note"], expected_version=version)


def _do_close(user, case, d, version):
    return actions.case_close(
        actor=user, case=case, satisfaction=d["satisfaction"], note=d["note"], expected_version=version
    )


def _do_reopen(user, case, d, version):
    return actions.case_reopen(actor=user, case=case, reason=d["note"], expected_version=version)


def _do_cancel(user, case, d, version):
    return actions.case_cancel(actor=user, case=case, reason=d["note"], expected_version=version)


def _do_retriage(user, case, d, version):
    return actions.case_retriage(
        actor=user,
        case=case,
        category=d["category"],
        urgency=d["urgency"],
        subcategory=d.get("subcategory"),
        expected_version=version,
    )


def _do_link(user, case, d, version):
    primary = scoped(user, HelpRequest.objects.filter(pk=d["primary"]), Cap.VIEW_CASES).first()
    if primary is None:
        raise CaseError("not_found", _("找不到要关联的工单"), "primary")
    return actions.case_link(actor=user, case=case, primary=primary)


def _do_place(user, case, d, version):
    place = scoped(user, Place.objects.filter(pk=d["place"]), Cap.TAKE_CASES).first()
    if place is None:
        raise CaseError("place_elsewhere", _("所选地点不在您的管辖范围内"), "place")
    return actions.case_set_place(actor=user, case=case, place=place, expected_version=version)


ACTIONS = {
    "answer": (Cap.DISPATCH_CASES, NoteForm, _do_answer),
    "coordinate": (Cap.DISPATCH_CASES, NoteForm, _do_coordinate),
    "dispatch": (Cap.DISPATCH_CASES, DispatchForm, _do_dispatch),
    "acknowledge": (Cap.HANDLE_CASES, NoteForm, _do_acknowledge),
    "contact": (Cap.HANDLE_CASES, NoteForm, _do_contact),
    "note": (Cap.HANDLE_CASES, NoteForm, _do_note),
    "resolve": (Cap.HANDLE_CASES, NoteForm, _do_resolve),
    "close": (Cap.DISPATCH_CASES, CloseForm, _do_close),
    "reopen": (Cap.DISPATCH_CASES, NoteForm, _do_reopen),
    "cancel": (Cap.DISPATCH_CASES, NoteForm, _do_cancel),
    "retriage": (Cap.TAKE_CASES, RetriageForm, _do_retriage),
    "link": (Cap.HANDLE_CASES, LinkForm, _do_link),
    "place": (Cap.TAKE_CASES, PlaceForm, _do_place),
}


@login_required
@require_POST
def act(request, pk: int, action: str):
    """One workflow step on a request; a stale version (someone else acted first) is refused, not overwritten."""
    if action not in ACTIONS:
        return HttpResponseBadRequest()
    capability, form_class, call = ACTIONS[action]
    case = _case(request, pk, capability)
    form = form_class(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            for error in errors:
                messages.error(request, f"{label}：{error}" if label else error)
        return redirect("cases:detail", pk=case.pk)
    try:
        call(request.user, case, form.cleaned_data, form.cleaned_data.get("version"))
    except CaseError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("已保存"))
    return redirect("cases:detail", pk=case.pk)


@login_required
@require_POST
def unmask(request, pk: int):
    """The caller's full number for a call back; each showing is written to the audit log."""
    case = _case(request, pk, Cap.UNMASK)
    shown = actions.case_unmask(actor=request.user, case=case)
    response = render(
        request, "cases/_caller_phone.html", {"case": case, "phone": shown["caller_phone"], "unmasked": True}
    )
    patch_cache_control(response, no_store=True, private=True)
    return response


@login_required
@require_POST
def task_new(request, pk: int):
    case = _case(request, pk, Cap.HANDLE_CASES)
    form = TaskForm(request.POST, assignees=_assignees(case))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("cases:detail", pk=case.pk)
    try:
        actions.task_add(
            actor=request.user,
            case=case,
            kind=form.cleaned_data["kind"],
            assignee=form.cleaned_data["assignee"],
            detail=form.cleaned_data["detail"],
        )
    except CaseError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("任务已派发"))
    return redirect("cases:detail", pk=case.pk)


def _task(request, pk: int) -> CaseTask:
    """A task the user may act on: their own, or any task of a request they may handle."""
    task = CaseTask.objects.select_related("request").filter(pk=pk).first()
    if task is None:
        from django.http import Http404

        raise Http404
    if task.assignee_id != request.user.pk:
        _case(request, task.request_id, Cap.HANDLE_CASES)
    return task


@login_required
@require_GET
def tasks_mine(request):
    """The errands assigned to me, open first (a grid worker's phone page)."""
    tasks = list(
        CaseTask.objects.filter(assignee=request.user)
        .select_related("request", "request__place")
        .order_by("status", "due_at", "id")[:200]
    )
    addresses = addresses_for([t.request.place for t in tasks])
    now = timezone.now()
    rows = [
        {
            "task": t,
            "address": addresses.get(t.request.place_id) or t.request.address_text,
            "overdue": t.status == TaskStatus.OPEN and t.due_at is not None and t.due_at < now,
        }
        for t in tasks
    ]
    return render(request, "cases/tasks.html", {"rows": rows, "done_form": TaskDoneForm()})


@login_required
@require_POST
def task_done(request, pk: int):
    task = _task(request, pk)
    form = TaskDoneForm(request.POST)
    form.is_valid()
    try:
        actions.task_done(actor=request.user, task=task, result=form.cleaned_data.get("result", ""))
    except CaseError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("任务已完成"))
    target = request.POST.get("next")
    if target == "tasks":
        return redirect("cases:tasks")
    return redirect("cases:detail", pk=task.request_id)


# --- settings ---


@login_required
@require_http_methods(["GET", "POST"])
def deadline_settings(request):
    """Deadlines by urgency and the bureau's sub-categories."""
    require(request.user, Cap.MANAGE_CASE_SETTINGS)
    current = {u: tuple(int(x.total_seconds() // 60) for x in actions.deadlines_for(u)) for u in Urgency.values}
    posted = request.method == "POST"
    adding = posted and request.POST.get("form") == "subcategory"
    form = DeadlineForm(request.POST if posted and not adding else None, current=current)
    sub_form = SubcategoryForm(request.POST if adding else None)
    if posted and not adding and form.is_valid():
        try:
            actions.deadlines_set(actor=request.user, values=form.values())
        except CaseError as e:
            form.add_error(None, e.message)
        else:
            messages.success(request, _("办理时限已更新，对此后受理的工单生效"))
            return redirect("cases:settings")
    if adding and sub_form.is_valid():
        try:
            actions.subcategory_create(actor=request.user, **sub_form.cleaned_data)
        except CaseError as e:
            sub_form.add_error(e.field if e.field in sub_form.fields else None, e.message)
        else:
            messages.success(request, _("子类已添加"))
            return redirect("cases:settings")
    subcategories = Subcategory.objects.order_by("category", "id")
    return render(request, "cases/settings.html", {"form": form, "sub_form": sub_form, "subcategories": subcategories})
