"""Care team pages (包联): a place's team, one resident's carers, assigning, handing over, team templates and
the gap list. Views authorise, call the action, and turn its errors into form errors."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from caregrid.accounts.models import RoleAssignment, User
from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import can, get_scoped, in_scope, require, scoped
from caregrid.care.models import CareAssignment, CarerRole
from caregrid.forms import form_errors
from caregrid.people.models import Resident
from caregrid.places.models import Place, PlaceKind
from caregrid.places.queries import scope_roots, today, zones_for
from caregrid.places.tree import addresses_for

from . import queries
from .actions import TEMPLATES, assignment_create, assignment_end, assignment_handover, team_template_apply
from .forms import AssignForm, EndForm, HandoverForm, TemplateForm

# Communities and grids offered in the place selector; a district has a few hundred.
PLACE_OPTIONS_LIMIT = 500


def _place_options(user) -> list[Place]:
    roots = scope_roots(user, Cap.VIEW_CARE)
    below = scoped(user, Place.objects.filter(kind__in=[PlaceKind.COMMUNITY, PlaceKind.GRID]), Cap.VIEW_CARE)
    places = {p.pk: p for p in roots}
    for p in below.order_by("path")[:PLACE_OPTIONS_LIMIT]:
        places.setdefault(p.pk, p)
    return sorted(places.values(), key=lambda p: p.path)


def _chosen_place(request, options: list[Place]) -> Place | None:
    value = request.GET.get("place", "")
    if value.isdigit():
        return get_scoped(request.user, Place.objects.all(), Cap.VIEW_CARE, pk=int(value))
    return options[0] if options else None


def _resident_rows(residents: list[Resident], day) -> list[dict]:
    households = [r.household for r in residents]
    addresses = addresses_for(households)
    zones = zones_for(households, day)
    rows = []
    for r in residents:
        zone = zones.get(r.household_id)
        rows.append(
            {
                "resident": r,
                "address": addresses.get(r.household_id, ""),
                "categories": [link.category.label for link in getattr(r, "active_links", [])],
                "carers": getattr(r, "current_carers", []),
                "zone": zone,
            }
        )
    return rows


@login_required
def team(request):
    """A place's priority residents with their current carers; filters by role held or missing."""
    require(request.user, Cap.VIEW_CARE)
    options = _place_options(request.user)
    place = _chosen_place(request, options)
    role = request.GET.get("role", "")
    missing = request.GET.get("missing", "")
    if role not in CarerRole.values:
        role = ""
    if missing not in [*CarerRole.values, "any"]:
        missing = ""
    filters = queries.TeamFilters(place=place, q=request.GET.get("q", ""), role=role, missing=missing)
    page = int(request.GET["page"]) if request.GET.get("page", "").isdigit() and int(request.GET["page"]) > 0 else 1
    size = settings.PAGE_SIZE
    residents = list(queries.team_residents(request.user, filters)[(page - 1) * size : page * size + 1])
    has_next = len(residents) > size
    params = request.GET.copy()
    params.pop("page", None)
    base = params.urlencode()
    context = {
        "place": place,
        "place_options": options,
        "filters": filters,
        "role_choices": CarerRole.choices,
        "rows": _resident_rows(residents[:size], today()),
        "page": page,
        "prev_query": f"{base}&page={page - 1}" if page > 1 else "",
        "next_query": f"{base}&page={page + 1}" if has_next else "",
        "may_assign": can(request.user, Cap.ASSIGN_CARERS),
    }
    template = "care/teams/_team_rows.html" if request.htmx else "care/teams/team.html"
    return render(request, template, context)


def _resident_for(request, pk: int, capability: str) -> Resident:
    return get_scoped(request.user, Resident.objects.select_related("household"), capability, pk=pk)


@login_required
def resident_panel(request, pk: int):
    """The small panel of a resident's current carers, for the resident's page (loaded with htmx)."""
    resident = _resident_for(request, pk, Cap.VIEW_CARE)
    return render(
        request,
        "care/teams/_resident_carers.html",
        {
            "resident": resident,
            "carers": queries.carers_of(resident),
            "may_assign": in_scope(request.user, resident, Cap.ASSIGN_CARERS),
        },
    )


@login_required
def assign(request, pk: int):
    """Add one carer to a resident."""
    resident = _resident_for(request, pk, Cap.ASSIGN_CARERS)
    users = queries.grid_staff(resident.household.grid) if resident.household.grid_id else _staff_of(resident)
    form = AssignForm(request.POST or None, users=users)
    if request.method == "POST" and form.is_valid():
        try:
            assignment = assignment_create(
                actor=request.user, resident=resident, role=form.cleaned_data["role"], carer=form.carer_value()
            )
        except ValidationError as e:
            form_errors(form, e)
        else:
            messages.success(
                request,
                _("已指派%(carer)s为%(resident)s的%(role)s")
                % {"carer": assignment.carer_label, "resident": resident.name, "role": assignment.get_role_display()},
            )
            return redirect(_team_url(resident))
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "care/teams/assign.html",
        {"form": form, "resident": resident, "carers": queries.carers_of(resident)},
        status=status,
    )


def _staff_of(resident: Resident):
    """Staff holding a role anywhere above the resident, for a household no grid covers."""
    prefixes = [p for p in resident.place_path.split(".") if p]
    ids = RoleAssignment.objects.filter(place_id__in=[int(p) for p in prefixes]).values("user_id")
    return User.objects.filter(pk__in=ids, is_active=True).order_by("full_name", "username")


def _team_url(resident: Resident) -> str:
    grid_id = resident.household.grid_id
    return f"{reverse('care_teams:team')}?place={grid_id}" if grid_id else reverse("care_teams:team")


def _assignment_for(request, pk: int) -> CareAssignment:
    qs = CareAssignment.objects.select_related("resident__household", "carer")
    assignment = get_scoped(request.user, qs, Cap.ASSIGN_CARERS, pk=pk)
    if assignment.until is not None:
        raise Http404
    return assignment


@login_required
def handover(request, pk: int):
    """End a carer's care (ill, isolated…) and name the replacement in the same role, in one step."""
    assignment = _assignment_for(request, pk)
    resident = assignment.resident
    users = queries.grid_staff(resident.household.grid) if resident.household.grid_id else _staff_of(resident)
    form = HandoverForm(request.POST or None, users=users.exclude(pk=assignment.carer_id or 0))
    if request.method == "POST" and form.is_valid():
        try:
            new = assignment_handover(
                actor=request.user, assignment=assignment, reason=form.cleaned_data["reason"], carer=form.carer_value()
            )
        except ValidationError as e:
            form_errors(form, e)
        else:
            messages.success(
                request,
                _("%(resident)s的%(role)s已由%(old)s交接给%(new)s")
                % {
                    "resident": resident.name,
                    "role": new.get_role_display(),
                    "old": assignment.carer_label,
                    "new": new.carer_label,
                },
            )
            return redirect(_team_url(resident))
    status = 400 if request.method == "POST" else 200
    return render(request, "care/teams/handover.html", {"form": form, "assignment": assignment}, status=status)


@login_required
def end(request, pk: int):
    """End a carer's care of a resident without a replacement."""
    assignment = _assignment_for(request, pk)
    form = EndForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            assignment_end(actor=request.user, assignment=assignment, reason=form.cleaned_data["reason"])
        except ValidationError as e:
            form_errors(form, e)
        else:
            messages.success(
                request,
                _("已结束%(carer)s对%(resident)s的包联")
                % {"carer": assignment.carer_label, "resident": assignment.resident.name},
            )
            return redirect(_team_url(assignment.resident))
    status = 400 if request.method == "POST" else 200
    return render(request, "care/teams/end.html", {"form": form, "assignment": assignment}, status=status)


@login_required
def template_apply(request, code: str):
    """Apply 五包一 or 二对一 to a grid: pick the people for each role; residents who already have the role
    are skipped, so applying again changes nothing."""
    require(request.user, Cap.ASSIGN_CARERS)
    template = TEMPLATES.get(code)
    if template is None:
        raise Http404
    grids = queries.grids_assignable(request.user)
    grid_value = request.POST.get("grid") or request.GET.get("grid", "")
    grid = grids.filter(pk=int(grid_value)).first() if grid_value.isdigit() else None
    grid = grid or grids.first()
    users = queries.grid_staff(grid) if grid else grids.none()
    form = TemplateForm(
        request.POST or None, template=template, grids=grids, users=users, initial={"grid": grid.pk if grid else None}
    )
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            result = team_template_apply(
                actor=request.user, template=template, grid=form.cleaned_data["grid"], carers=form.carers()
            )
        except ValidationError as e:
            form_errors(form, e)
        else:
            messages.success(
                request,
                _("%(template)s：%(grid)s共%(residents)s人，新指派%(assigned)s项，已有而跳过%(skipped)s项")
                % {
                    "template": template.label,
                    "grid": form.cleaned_data["grid"].name,
                    "residents": result.residents,
                    "assigned": result.assigned,
                    "skipped": result.skipped,
                },
            )
            return redirect(f"{reverse('care_teams:team')}?place={form.cleaned_data['grid'].pk}")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "care/teams/template.html",
        {"form": form, "template": template, "templates": TEMPLATES.values(), "grid": grid},
        status=status,
    )


@login_required
def gaps(request):
    """Priority residents in sealed or controlled zones today without any carer, with counts."""
    require(request.user, Cap.VIEW_CARE)
    options = _place_options(request.user)
    place = _chosen_place(request, options)
    day = today()
    found = queries.care_gaps(request.user, place, day)
    return render(
        request,
        "care/teams/gaps.html",
        {
            "place": place,
            "place_options": options,
            "gaps": found,
            "counts": [(status.label, found.counts.get(status, 0)) for status in queries.GAP_ZONES],
            "rows": _resident_rows(found.residents, day),
            "day": day,
            "may_assign": can(request.user, Cap.ASSIGN_CARERS),
        },
    )
