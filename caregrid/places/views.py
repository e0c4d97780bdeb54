"""Place tree pages, zone changes, the bureau's mode switch (平急转换) and the home dashboard."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import assignments, can, get_scoped, in_scope
from caregrid.people.queries import categories_active

from . import queries
from .actions import grid_leader_set, mode_set, zone_set
from .forms import GridLeaderForm, ModeForm, ZoneForm
from .models import Mode, Place, PlaceKind, ZoneStatus
from .tree import addresses_for, ancestors

# How many categories get a column of their own in the children table; the rest are listed compactly.
CATEGORY_COLUMNS = 6
ALERT_ZONES = (ZoneStatus.SEALED, ZoneStatus.CONTROLLED)


def _list_url(**params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items() if v not in (None, ""))
    return f"{reverse('people:list')}?{query}" if query else reverse("people:list")


def _chart_data(counts: queries.PlaceCounts, categories: list, place: Place | None) -> dict:
    """Bars for the categories present, biggest first; each bar links to the filtered resident list."""
    present = sorted((c for c in categories if counts.categories.get(c.pk)), key=lambda c: -counts.categories[c.pk])
    return {
        "labels": [c.label for c in present],
        "values": [counts.categories[c.pk] for c in present],
        "links": [_list_url(place=place.pk if place else "", category=c.code) for c in present],
        "name": _("人数"),
    }


def _rows(children: list[Place], counts: dict, categories: list, zones: dict, columns: list, extra=None) -> list:
    rows = []
    column_ids = {c.pk for c in columns}
    for child in children:
        c = counts.get(child.pk) or queries.PlaceCounts()
        rows.append(
            {
                "place": child,
                "counts": c,
                "cells": [(cat, c.categories.get(cat.pk, 0)) for cat in columns],
                "others": [
                    (cat, c.categories[cat.pk])
                    for cat in categories
                    if cat.pk not in column_ids and c.categories.get(cat.pk)
                ],
                "zone": zones.get(child.pk),
                **(extra(child) if extra else {}),
            }
        )
    return rows


def _top_categories(counts: dict, categories: list) -> list:
    totals = {cat.pk: sum(c.categories.get(cat.pk, 0) for c in counts.values()) for cat in categories}
    present = [cat for cat in categories if totals[cat.pk]]
    return sorted(present, key=lambda cat: -totals[cat.pk])[:CATEGORY_COLUMNS]


def _zone_context(request, place: Place, form: ZoneForm | None = None, notice: str = "") -> dict:
    zone = queries.zone_of(place)
    can_set = can(request.user, Cap.SET_ZONE) and in_scope(request.user, place, Cap.SET_ZONE)
    return {
        "place": place,
        "zone": zone,
        "zone_inherited": zone is not None and zone.place_id != place.pk,
        "zone_source": zone.place if zone is not None and zone.place_id != place.pk else None,
        "history": queries.zone_history(place)[:50],
        "zone_form": (form or ZoneForm()) if can_set else None,
        "notice": notice,
    }


@login_required
def tree(request):
    """The top of the user's part of the tree: the places their roles are held at."""
    if not can(request.user, Cap.VIEW_PLACES):
        raise PermissionDenied
    roots = queries.scope_roots(request.user)
    show_counts = can(request.user, Cap.VIEW_RESIDENTS)
    categories = list(categories_active())
    counts = queries.counts_for_places(request.user, roots) if show_counts else {}
    columns = _top_categories(counts, categories) if show_counts else []
    rows = _rows(roots, counts, categories, queries.zones_for(roots), columns)
    return render(
        request,
        "places/tree.html",
        {"rows": rows, "columns": columns, "show_counts": show_counts},
    )


def _place_page_context(request, place: Place, zone_form: ZoneForm | None = None) -> dict:
    user = request.user
    show_counts = can(user, Cap.VIEW_RESIDENTS)
    categories = list(categories_active())
    chain = ancestors(place, include_self=False)
    visible = set(queries.places_visible(user).filter(pk__in=[p.pk for p in chain]).values_list("pk", flat=True))
    crumbs = [{"place": p, "linked": p.pk in visible} for p in chain]

    children = queries.place_children(place)
    grids = queries.community_grids(place) if place.kind == PlaceKind.COMMUNITY else []
    allowed = set(
        queries.places_visible(user).filter(pk__in=[c.pk for c in children + grids]).values_list("pk", flat=True)
    )
    children = [c for c in children if c.pk in allowed]
    grids = [g for g in grids if g.pk in allowed]

    own, counts = (
        queries.place_counts_with_children(user, place, children + grids)
        if show_counts
        else (queries.PlaceCounts(), {})
    )
    columns = _top_categories(counts, categories) if show_counts else []
    zones = queries.zones_for(children + grids)

    child_grids = queries.grids_of_places(children) if place.kind in (PlaceKind.COMMUNITY, PlaceKind.COMPOUND) else {}
    labels = addresses_for(children) if place.kind == PlaceKind.GRID else {}
    rows = _rows(
        children,
        counts,
        categories,
        zones,
        columns,
        extra=lambda c: {"grids": child_grids.get(c.pk, []), "label": labels.get(c.pk) or c.name},
    )
    coverage = queries.grid_coverage(grids)
    covered_labels = addresses_for([p for ps in coverage.values() for p in ps])
    grid_rows = _rows(
        grids,
        counts,
        categories,
        zones,
        columns,
        extra=lambda g: {
            "covered": [{"place": p, "label": covered_labels.get(p.pk) or p.name} for p in coverage[g.pk]]
        },
    )
    return {
        **_zone_context(request, place, zone_form),
        "crumbs": crumbs,
        "rows": rows,
        "grid_rows": grid_rows,
        "columns": columns,
        "show_counts": show_counts,
        "own": own,
        "chart": _chart_data(own, categories, place),
        "grid_link": place.grid
        if place.grid_id
        and place.grid_id in set(queries.places_visible(user).filter(pk=place.grid_id).values_list("pk", flat=True))
        else None,
        "child_kind_label": _child_kind_label(place),
        "leader_form": GridLeaderForm(grid=place, initial={"leader": place.leader_id})
        if place.kind == PlaceKind.GRID and in_scope(user, place, Cap.ASSIGN_CARERS)
        else None,
        "show_grids": place.kind in (PlaceKind.COMMUNITY, PlaceKind.COMPOUND),
    }


def _child_kind_label(place: Place) -> str:
    if place.kind == PlaceKind.GRID:
        return _("下级网格与覆盖范围")
    labels = {
        PlaceKind.DISTRICT: _("街道/镇"),
        PlaceKind.SUBDISTRICT: _("社区/村"),
        PlaceKind.COMMUNITY: _("小区"),
        PlaceKind.COMPOUND: _("楼栋"),
        PlaceKind.BUILDING: _("单元与住户"),
        PlaceKind.UNIT: _("住户"),
    }
    return labels.get(place.kind, _("下级地点"))


@login_required
def place_detail(request, pk: int):
    place = get_scoped(request.user, Place.objects.all(), Cap.VIEW_PLACES, pk=pk)
    return render(request, "places/place.html", _place_page_context(request, place))


@login_required
@require_POST
def leader_change(request, pk: int):
    """Name or clear a grid's leader (网格长); audited by the action."""
    grid = get_scoped(request.user, Place.objects.filter(kind=PlaceKind.GRID), Cap.ASSIGN_CARERS, pk=pk)
    form = GridLeaderForm(request.POST, grid=grid)
    if form.is_valid():
        try:
            grid_leader_set(actor=request.user, grid=grid, leader=form.cleaned_data["leader"])
        except ValidationError as e:
            messages.error(request, " ".join(e.messages))
        else:
            leader = form.cleaned_data["leader"]
            messages.success(
                request,
                _("已将%(user)s设为%(grid)s的网格长") % {"user": leader, "grid": grid.name}
                if leader
                else _("已取消%(grid)s的网格长") % {"grid": grid.name},
            )
    else:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect("places:detail", pk=grid.pk)


@login_required
@require_POST
def zone_change(request, pk: int):
    """Set a place's zone status from a date; audited by the action. Inline errors, htmx or not."""
    place = get_scoped(request.user, Place.objects.all(), Cap.SET_ZONE, pk=pk)
    form = ZoneForm(request.POST)
    if form.is_valid():
        try:
            period = zone_set(actor=request.user, place=place, **form.cleaned_data)
        except ValidationError as e:
            for name, errors in e.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            notice = _("已将%(place)s设为%(status)s，自%(day)s起生效") % {
                "place": place.name,
                "status": period.get_status_display(),
                "day": period.start_date.isoformat(),
            }
            if request.htmx:
                return render(request, "places/_zone_panel.html", _zone_context(request, place, notice=notice))
            messages.success(request, notice)
            return redirect("places:detail", pk=place.pk)
    if request.htmx:
        return render(request, "places/_zone_panel.html", _zone_context(request, place, form))
    return render(request, "places/place.html", _place_page_context(request, place, form), status=400)


def _mode_context(request, form: ModeForm | None = None) -> dict:
    change = queries.mode_now()
    current = change.mode if change else Mode.PEACETIME
    return {
        "mode_change": change,
        "mode_label": Mode(current).label,
        "mode_history": queries.mode_history(),
        "mode_form": (form or ModeForm(current=current)) if can(request.user, Cap.SET_MODE) else None,
    }


@login_required
@require_POST
def mode_switch(request):
    """Switch the bureau's mode: the first post shows a confirmation, the confirmed post switches."""
    if not can(request.user, Cap.SET_MODE):
        raise PermissionDenied
    form = ModeForm(request.POST, current=queries.current_mode())
    if not form.is_valid():
        return render(request, "home.html", {**_home_context(request), **_mode_context(request, form)}, status=400)
    data = form.cleaned_data
    if not data["confirmed"]:
        return render(
            request,
            "places/mode_confirm.html",
            {**_mode_context(request), "new_mode": Mode(data["mode"]), "mode": data["mode"], "reason": data["reason"]},
        )
    try:
        change = mode_set(actor=request.user, mode=data["mode"], reason=data["reason"])
    except ValidationError as e:
        for name, errors in e.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
        return render(request, "home.html", {**_home_context(request), **_mode_context(request, form)}, status=400)
    messages.success(request, _("已切换为%(mode)s模式") % {"mode": change.get_mode_display()})
    return redirect("home")


def _home_context(request) -> dict:
    user = request.user
    context: dict = {"assignments": assignments(user)}
    if can(user, Cap.VIEW_RESIDENTS):
        categories = list(categories_active())
        summary = queries.counts_for_place(user, None)
        zone_counts = queries.zone_counts(user, ALERT_ZONES)
        context.update(
            summary=summary,
            zone_cards=[
                {
                    "status": ZoneStatus(s),
                    "counts": zone_counts[s],
                    "url": _list_url(zone=s),
                    "priority_url": _list_url(zone=s, priority=1),
                }
                for s in ALERT_ZONES
            ],
            category_rows=[
                {"category": c, "count": summary.categories[c.pk], "url": _list_url(category=c.code)}
                for c in sorted(categories, key=lambda c: -summary.categories.get(c.pk, 0))
                if summary.categories.get(c.pk)
            ],
            chart=_chart_data(summary, categories, None),
            residents_url=_list_url(),
            priority_url=_list_url(priority=1),
        )
    if can(user, Cap.VIEW_CASES):
        from caregrid.cases.stats.queries import today_summary

        context["cases_today"] = today_summary(user)
    if can(user, Cap.VIEW_PLACES):
        context["zoned"] = queries.zoned_places(user, ALERT_ZONES)
        visible = queries.places_visible(user).filter(pk__in=[z.place_id for z in context["zoned"]])
        context["zoned_linked"] = set(visible.values_list("pk", flat=True))
    return context


@login_required
def home(request):
    return render(request, "home.html", {**_home_context(request), **_mode_context(request)})
