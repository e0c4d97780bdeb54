"""Door-knocking pages: the rounds in scope, opening and closing one, its progress, the households still to visit,
the visit form for a phone, a household's visits, the printable sheet and the Excel export. Views authorise,
call the action or query, and turn the action's errors into form errors."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from caregrid.accounts.masking import mask_id_number, mask_phone
from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import can, get_scoped, in_scope, require, scoped
from caregrid.forms import form_errors
from caregrid.people.models import Category
from caregrid.places.models import Place, PlaceKind
from caregrid.places.queries import scope_roots, today
from caregrid.places.tree import addresses_for, ancestors

from . import queries
from .actions import NewCategory, round_close, round_export_record, round_open, visit_record
from .exports import XLSX, export_file_name, round_workbook
from .forms import CloseForm, NewResidentForm, RoundForm
from .models import VisitOutcome

# Places offered as a round's area in the selector: the levels a district or subdistrict works at, and for
# community staff also their compounds and buildings. Any other place comes from its own link (?place=).
PLACE_OPTION_KINDS = (PlaceKind.SUBDISTRICT, PlaceKind.COMMUNITY, PlaceKind.GRID)
LOCAL_OPTION_KINDS = (PlaceKind.COMPOUND, PlaceKind.BUILDING)
PLACE_OPTIONS_LIMIT = 2000
# Blocks for new residents on the visit form (the first open, the others behind "one more").
NEW_RESIDENT_BLOCKS = 3


def _page(request) -> int:
    value = request.GET.get("page", "")
    return int(value) if value.isdigit() and 0 < int(value) < 100000 else 1


def _int(value) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


@login_required
@require_GET
def round_list(request):
    """The rounds over the user's area, open ones first."""
    require(request.user, Cap.VIEW_CARE)
    rounds = list(
        queries.rounds_visible(request.user).select_related("place").order_by("status", "-start_date", "-id")[:200]
    )
    return render(
        request,
        "doors/list.html",
        {"rounds": rounds, "may_open": can(request.user, Cap.MANAGE_ROUNDS), "today": today()},
    )


def _place_options(user, chosen: Place | None) -> list[Place]:
    roots = scope_roots(user, Cap.MANAGE_ROUNDS)
    kinds = PLACE_OPTION_KINDS
    if roots and all(r.kind not in (PlaceKind.DISTRICT, PlaceKind.SUBDISTRICT) for r in roots):
        kinds += LOCAL_OPTION_KINDS
    below = scoped(user, Place.objects.filter(kind__in=kinds), Cap.MANAGE_ROUNDS)
    places = {p.pk: p for p in roots}
    for p in below.order_by("path")[:PLACE_OPTIONS_LIMIT]:
        places.setdefault(p.pk, p)
    if chosen is not None:
        places.setdefault(chosen.pk, chosen)
    options = sorted(places.values(), key=lambda p: p.path)
    labels = addresses_for([p for p in options if p.kind in (PlaceKind.BUILDING, PlaceKind.UNIT)])
    for p in options:
        p.label = labels.get(p.pk) or p.name
    return options


@login_required
def round_new(request):
    """Open a round over a place in the user's scope, for dates."""
    require(request.user, Cap.MANAGE_ROUNDS)
    chosen_id = _int(request.POST.get("place") or request.GET.get("place"))
    chosen = None
    if chosen_id is not None:
        chosen = get_scoped(request.user, Place.objects.all(), Cap.MANAGE_ROUNDS, pk=chosen_id)
    options = _place_options(request.user, chosen)
    initial = {"start_date": today(), "place": chosen.pk if chosen else None}
    form = RoundForm(request.POST or None, places=options, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            door_round = round_open(
                actor=request.user,
                name=data["name"],
                place=data["place"],
                start_date=data["start_date"],
                end_date=data["end_date"],
                note=data["note"],
            )
        except ValidationError as e:
            form_errors(form, e)
        else:
            messages.success(request, _("已开始敲门行动“%(name)s”") % {"name": door_round.name})
            return redirect("doors:round", pk=door_round.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "doors/new.html", {"form": form}, status=status)


def _grid_choice(request, grids: list[Place]) -> Place | None:
    grid_id = _int(request.GET.get("grid"))
    return next((g for g in grids if g.pk == grid_id), None)


@login_required
@require_GET
def round_detail(request, pk: int):
    """A round's progress by grid and by building (the buildings of one grid when one is chosen)."""
    door_round = queries.round_for(request.user, pk, Cap.VIEW_CARE)
    grids = queries.round_grids(request.user, door_round)
    grid = _grid_choice(request, grids)
    progress = queries.round_progress(request.user, door_round, grid=grid)
    return render(
        request,
        "doors/round.html",
        {
            "round": door_round,
            "progress": progress,
            "grids": grids,
            "grid": grid,
            "root_label": _root_label(door_round),
            "may_close": door_round.is_open and in_scope(request.user, door_round, Cap.MANAGE_ROUNDS),
            "may_export": can(request.user, Cap.EXPORT),
            "may_log": door_round.is_open and can(request.user, Cap.LOG_ROUND_WORK),
            "close_form": CloseForm(),
            "overdue": door_round.is_open and door_round.end_date < today(),
        },
    )


def _root_label(door_round) -> str:
    place = door_round.place
    if place.kind in (PlaceKind.BUILDING, PlaceKind.UNIT):
        return addresses_for([place]).get(place.pk, place.name)
    return "/".join(p.name for p in ancestors(place) if p.kind != PlaceKind.DISTRICT)


@login_required
@require_POST
def round_close_view(request, pk: int):
    """Close a round (staff over its whole area only); no visit is recorded after this."""
    door_round = queries.round_for(request.user, pk, Cap.MANAGE_ROUNDS)
    if not in_scope(request.user, door_round, Cap.MANAGE_ROUNDS):
        raise PermissionDenied
    form = CloseForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        round_close(actor=request.user, door_round=door_round, note=note)
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(request, _("敲门行动“%(name)s”已结束") % {"name": door_round.name})
    return redirect("doors:round", pk=door_round.pk)


def _buildings_choice(request, door_round, grid) -> tuple[list[Place], Place | None]:
    buildings = queries.round_buildings(request.user, door_round, grid=grid)
    building_id = _int(request.GET.get("building"))
    return buildings, next((b for b in buildings if b.pk == building_id), None)


@login_required
@require_GET
def households_todo(request, pk: int):
    """Households not visited yet or to revisit (nobody home), by grid and building, a page at a time."""
    door_round = queries.round_for(request.user, pk, Cap.VIEW_CARE)
    grids = queries.round_grids(request.user, door_round)
    grid = _grid_choice(request, grids)
    buildings, building = _buildings_choice(request, door_round, grid)
    page = _page(request)
    size = settings.PAGE_SIZE
    qs = queries.households_to_visit(request.user, door_round, grid=grid, building=building)
    households = list(qs[(page - 1) * size : page * size + 1])
    has_next = len(households) > size
    households = households[:size]
    addresses = addresses_for(households)
    grid_names = {g.pk: g.name for g in grids}
    rows = [
        {
            "household": h,
            "address": addresses.get(h.pk, h.name),
            "grid": grid_names.get(h.grid_id, ""),
            "revisit": h.state_outcome == VisitOutcome.NOBODY_HOME,
            "last_at": h.state_at,
            "visits": h.state_visits or 0,
        }
        for h in households
    ]
    params = request.GET.copy()
    params.pop("page", None)
    base = params.urlencode()
    return render(
        request,
        "doors/todo.html",
        {
            "round": door_round,
            "grids": grids,
            "grid": grid,
            "buildings": buildings,
            "building": building,
            "rows": rows,
            "page": page,
            "prev_query": f"{base}&page={page - 1}" if page > 1 else "",
            "next_query": f"{base}&page={page + 1}" if has_next else "",
            "back": request.get_full_path(),
            "may_log": door_round.is_open and can(request.user, Cap.LOG_ROUND_WORK),
        },
    )


def _safe_next(request, fallback: str) -> str:
    value = request.POST.get("next") or request.GET.get("next") or ""
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}):
        return value
    return fallback


def _category_choices(residents) -> dict[int, list[Category]]:
    """For each resident, the active categories they do not hold today."""
    active = list(Category.objects.filter(is_active=True))
    result = {}
    for r in residents:
        held = {link.category_id for link in getattr(r, "active_links", [])}
        result[r.pk] = [c for c in active if c.pk not in held]
    return result


@login_required
def household(request, pk: int, household_pk: int):
    """One household in the round: its residents, its visits, and (while the round is open) the visit form with
    what was found: new residents, new categories for residents already in the ledger."""
    door_round = queries.round_for(request.user, pk, Cap.VIEW_CARE)
    place = get_scoped(
        request.user,
        queries.round_households(request.user, door_round).select_related("parent"),
        Cap.VIEW_CARE,
        pk=household_pk,
    )
    may_log = door_round.is_open and in_scope(request.user, place, Cap.LOG_ROUND_WORK)
    may_find = may_log and in_scope(request.user, place, Cap.EDIT_RESIDENTS)
    if request.method == "POST" and not may_log:
        raise PermissionDenied
    residents = queries.household_residents(request.user, place)
    choices = _category_choices(residents)
    blocks = [
        NewResidentForm(request.POST if request.method == "POST" else None, prefix=f"new_residents-{i}")
        for i in range(NEW_RESIDENT_BLOCKS)
    ]
    errors: list[str] = []
    todo_url = reverse("doors:todo", args=[door_round.pk])
    next_url = _safe_next(request, todo_url)
    if request.method == "POST":
        outcome = request.POST.get("outcome", "")
        note = request.POST.get("note", "")[:500]
        found, used = [], []
        additions = []
        if may_find:
            for form in blocks:
                if form.is_valid() and not form.is_blank():
                    used.append(form)
                    found.append(form.finding())
                elif not form.is_valid():
                    errors.extend(str(e) for errs in form.errors.values() for e in errs)
            for r in residents:
                wanted = {v for v in request.POST.getlist(f"add_cat_{r.pk}") if v.isdigit()}
                for category in choices.get(r.pk, []):
                    if str(category.pk) in wanted:
                        additions.append(NewCategory(resident=r, category=category))
        if not errors:
            try:
                visit = visit_record(
                    actor=request.user,
                    door_round=door_round,
                    household=place,
                    outcome=outcome,
                    note=note,
                    new_residents=found,
                    new_categories=additions,
                )
            except ValidationError as e:
                errors = _visit_errors(e, used, additions)
            else:
                address = addresses_for([place]).get(place.pk, place.name)
                values = {"address": address, "outcome": visit.get_outcome_display(), "n": visit.findings}
                if visit.findings:
                    text = _("已登记%(address)s：%(outcome)s，发现情况%(n)s项已写入台账") % values
                else:
                    text = _("已登记%(address)s：%(outcome)s") % values
                messages.success(request, text)
                for warning in visit.warnings:
                    messages.warning(request, warning)
                return redirect(next_url)
    for r in residents:
        r.id_masked = mask_id_number(r.id_number)
        r.phone_masked = mask_phone(r.phone)
        r.addable = choices.get(r.pk, [])
        r.checked = set(request.POST.getlist(f"add_cat_{r.pk}")) if request.method == "POST" else set()
    visits = queries.household_visits(door_round, place)
    status = 400 if errors else 200
    return render(
        request,
        "doors/household.html",
        {
            "round": door_round,
            "place": place,
            "address": addresses_for([place]).get(place.pk, place.name),
            "residents": residents,
            "visits": visits,
            "state": visits[0] if visits else None,
            "may_log": may_log,
            "may_find": may_find,
            "blocks": blocks,
            "errors": errors,
            "outcomes": VisitOutcome.choices,
            "note": request.POST.get("note", "") if request.method == "POST" else "",
            "next": next_url,
        },
        status=status,
    )


def _visit_errors(error: ValidationError, used: list[NewResidentForm], additions: list[NewCategory]) -> list[str]:
    """Put each problem of a finding on its field of the form that gave it; return the others as text."""
    general: list[str] = []
    if not hasattr(error, "error_dict"):
        return list(error.messages)
    for key, problems in error.message_dict.items():
        parts = key.split("-", 2)
        if len(parts) == 3 and parts[0] == "new_residents" and parts[1].isdigit() and int(parts[1]) < len(used):
            form = used[int(parts[1])]
            form.add_error(parts[2] if parts[2] in form.fields else None, problems)
            general.extend(
                _("新登记居民%(n)s：%(problem)s") % {"n": int(form.prefix.rsplit("-", 1)[1]) + 1, "problem": p}
                for p in problems
            )
        elif len(parts) == 3 and parts[0] == "new_categories" and parts[1].isdigit() and int(parts[1]) < len(additions):
            addition = additions[int(parts[1])]
            general.extend(
                _("%(name)s添加类别“%(category)s”：%(problem)s")
                % {"name": addition.resident.name, "category": addition.category.name, "problem": p}
                for p in problems
            )
        else:
            general.extend(problems)
    return general


@login_required
@require_GET
def sheet(request, pk: int):
    """The printable sheet (A4, one building per page) for the round, a grid or a building."""
    door_round = queries.round_for(request.user, pk, Cap.VIEW_CARE)
    grids = queries.round_grids(request.user, door_round)
    grid = _grid_choice(request, grids)
    buildings, building = _buildings_choice(request, door_round, grid)
    pending_only = request.GET.get("pending") == "1"
    result = queries.round_sheet(request.user, door_round, grid=grid, building=building, pending_only=pending_only)
    for b in result.buildings:
        for row in b.rows:
            for r in row.residents:
                r.id_masked = mask_id_number(r.id_number)
                r.phone_masked = mask_phone(r.phone)
    return render(
        request,
        "doors/sheet.html",
        {
            "round": door_round,
            "sheet": result,
            "grids": grids,
            "grid": grid,
            "buildings": buildings,
            "building": building,
            "pending_only": pending_only,
            "limit": queries.SHEET_LIMIT,
            "printed_on": today(),
        },
    )


@login_required
@require_GET
def export(request, pk: int):
    """The round's results as a workbook: every household in the user's part with its state, then every visit."""
    door_round = queries.round_for(request.user, pk, Cap.VIEW_CARE)
    require(request.user, Cap.EXPORT)
    content, sizes = round_workbook(request.user, door_round)
    round_export_record(actor=request.user, door_round=door_round, sizes=sizes)
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, export_file_name(door_round))
    return response
