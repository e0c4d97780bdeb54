"""Cadence rules (district admin) and the coverage of care rounds for a place and day."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import get_scoped, require
from caregrid.forms import form_errors
from caregrid.places.models import Place, PlaceKind
from caregrid.places.queries import community_grids, place_children, scope_roots

from ..models import CarePolicy
from . import actions, queries
from .forms import CoverageForm, EndPolicyForm, PolicyForm


@login_required
def policy_list(request):
    """The rules in force, their history, and the form that sets a rule (ending the one it replaces)."""
    require(request.user, Cap.MANAGE_CARE_POLICIES)
    form = PolicyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.policy_set(
                actor=request.user,
                category=data["category"],
                zone=data["zone"],
                mode=data["mode"],
                times=data["times"],
                per=data["per"],
                channel=data["channel"],
                temperature=data["temperature"],
                reason=data["reason"],
            )
        except ValidationError as e:
            form_errors(form, e)
        else:
            messages.success(request, _("规则已生效，原规则已失效并保留在历史中"))
            return redirect("care_policies:list")
    history = [p for p in queries.policy_history() if p.valid_until is not None]
    return render(
        request,
        "care/policies/list.html",
        {"form": form, "policies": queries.policies_in_force(), "history": history},
    )


@login_required
@require_POST
def policy_end_view(request, pk: int):
    require(request.user, Cap.MANAGE_CARE_POLICIES)
    policy = get_object_or_404(CarePolicy, pk=pk)
    form = EndPolicyForm(request.POST)
    form.is_valid()
    try:
        actions.policy_end(actor=request.user, policy=policy, reason=form.cleaned_data.get("reason", ""))
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(request, _("规则已失效"))
    return redirect("care_policies:list")


def _series_chart(cov: queries.Coverage) -> str:
    """The last 30 days as the house line chart: the share of due residents reached each day."""
    return json.dumps(
        {
            "name": _("完成率（%）"),
            "labels": [p.day.strftime("%m-%d") for p in cov.series],
            "values": [round(100 * p.done / p.due) if p.due else None for p in cov.series],
        },
        ensure_ascii=False,
    )


def _children(place: Place) -> list[Place]:
    """Places one level down to drill into: a community's grids first, then its compounds."""
    grids = community_grids(place) if place.kind == PlaceKind.COMMUNITY else []
    if place.kind in (PlaceKind.HOUSEHOLD, PlaceKind.UNIT):
        return []
    return grids + [p for p in place_children(place) if p.kind != PlaceKind.HOUSEHOLD]


@login_required
@require_GET
def coverage_view(request):
    """Due, done and overdue contacts under a place on a day, by grid, carer and category, and 30 days' trend."""
    require(request.user, Cap.VIEW_CARE)
    form = CoverageForm(request.GET)
    form.is_valid()
    roots = scope_roots(request.user, Cap.VIEW_CARE)
    place_id = form.cleaned_data.get("place") if form.is_valid() else None
    if place_id:
        place = get_scoped(request.user, Place.objects.all(), Cap.VIEW_CARE, pk=place_id)
    elif roots:
        place = roots[0]
    else:
        raise PermissionDenied
    day = form.day()
    cov = queries.coverage(request.user, place, day)
    return render(
        request,
        "care/policies/coverage.html",
        {
            "form": form,
            "cov": cov,
            "roots": roots,
            "children": _children(place),
            "chart": _series_chart(cov),
            "tables": [
                (_("按下级地点") if cov.by_children else _("按网格"), cov.by_grid),
                (_("按包联人"), cov.by_carer),
                (_("按人员类别"), cov.by_category),
            ],
        },
    )
