"""Resident ledger pages: list (htmx partials, lazy count), detail with audited unmask, create/edit, categories."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caregrid.accounts.masking import mask_id_number, mask_phone
from caregrid.accounts.queries import resident_history
from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import can, get_scoped, in_scope, require, scoped
from caregrid.places.models import Place
from caregrid.places.queries import today, zone_of, zones_for
from caregrid.places.tree import addresses_for, ancestors

from . import actions
from .forms import CategoryForm, HouseholdPicker, ResidentFilterForm, ResidentForm
from .models import Category, Resident, ResidentCategory, age_on
from .queries import category_active_q, resident_search, residents_visible, with_categories
from .validation import FieldProblem, clean_phone, parse_id_number, phone_problem


@dataclass
class Row:
    """One list row, resolved in Python so the template only prints (it renders 50 of these per request)."""

    pk: int
    url: str
    name: str
    gender: str
    age: int
    id_masked: str
    phone_masked: str
    phone_valid: bool
    address: str
    grid: str
    categories: list[str]
    zone_status: str
    zone_label: str


def _rows(residents: list[Resident], day: dt.date) -> list[Row]:
    households = [r.household for r in residents]
    addresses = addresses_for(households)
    zones = zones_for(households, day)
    detail = reverse("people:detail", args=[0]).replace("/0/", "/{}/")
    rows = []
    for r in residents:
        zone = zones.get(r.household_id)
        grid = r.household.grid
        rows.append(
            Row(
                pk=r.pk,
                url=detail.format(r.pk),
                name=r.name,
                gender=r.get_gender_display(),
                age=r.age_on(day),
                id_masked=mask_id_number(r.id_number),
                phone_masked=mask_phone(r.phone),
                phone_valid=r.phone_valid,
                address=addresses.get(r.household_id, ""),
                grid=grid.name if grid else "",
                categories=[link.category.label for link in r.active_links],
                zone_status=zone.status if zone else "",
                zone_label=zone.get_status_display() if zone else "",
            )
        )
    return rows


def _query_without(request, *names: str) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


def _page_query(request, page: int) -> str:
    params = request.GET.copy()
    params["page"] = str(page)
    return params.urlencode()


@login_required
@require_GET
def resident_list(request):
    """The ledger list; htmx requests get only the results (the same view, a partial template)."""
    require(request.user, Cap.VIEW_RESIDENTS)
    form = ResidentFilterForm(request.GET, user=request.user)
    day = today()
    rows, has_next, page = [], False, 1
    total = None
    if form.is_valid():
        page = form.page_number
        size = settings.PAGE_SIZE
        qs = with_categories(
            resident_search(request.user, form.filters()).select_related("household", "household__grid"), day
        )
        # One row more than a page tells whether there is a next page, without counting everything.
        residents = list(qs[(page - 1) * size : page * size + 1])
        has_next = len(residents) > size
        residents = residents[:size]
        rows = _rows(residents, day)
        if not has_next and (page == 1 or residents):
            total = (page - 1) * size + len(residents)
    context = {
        "form": form,
        "rows": rows,
        "page": page,
        "has_next": has_next,
        "total": total,
        "filters_query": _query_without(request, "page"),
        "prev_query": _page_query(request, page - 1) if page > 1 else "",
        "next_query": _page_query(request, page + 1) if has_next else "",
        "zone_choices": form.fields["zone"].choices[1:],
        "categories": form.fields["category"].queryset,
    }
    partial = request.htmx and not request.htmx.history_restore_request
    response = render(request, "people/_results.html" if partial else "people/list.html", {**context, "oob": partial})
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_GET
def resident_count(request):
    """The total for the list's filters, asked for lazily so the list itself never counts."""
    require(request.user, Cap.VIEW_RESIDENTS)
    form = ResidentFilterForm(request.GET, user=request.user)
    total = resident_search(request.user, form.filters()).count() if form.is_valid() else 0
    return render(request, "people/_count.html", {"total": total})


def _crumbs(user, household: Place) -> list[dict]:
    chain = ancestors(household)
    reachable = set(
        scoped(user, Place.objects.filter(pk__in=[p.pk for p in chain]), Cap.VIEW_RESIDENTS).values_list(
            "pk", flat=True
        )
    )
    return [{"place": p, "link": p.pk in reachable} for p in chain]


def _detail_context(request, resident: Resident, unmasked: dict | None = None) -> dict:
    user = request.user
    day = today()
    links = list(resident.category_links.select_related("category").order_by("category__sort_order"))
    for link in links:
        link.in_force = (link.since is None or link.since <= day) and (link.until is None or link.until >= day)
    members = list(
        residents_visible(user).filter(household_id=resident.household_id).exclude(pk=resident.pk).order_by("id")[:50]
    )
    history = None
    if can(user, Cap.VIEW_AUDIT) or in_scope(user, resident, Cap.EDIT_RESIDENTS):
        history = resident_history(resident, limit=10)
    return {
        "resident": resident,
        "age": resident.age_on(day),
        "crumbs": _crumbs(user, resident.household),
        "address": addresses_for([resident.household])[resident.household_id],
        "zone": zone_of(resident.household, day),
        "links": links,
        "members": [{"resident": m, "age": m.age_on(day), "id_masked": mask_id_number(m.id_number)} for m in members],
        "history": history,
        "pii": _pii(resident, unmasked),
        "may_unmask": in_scope(user, resident, Cap.UNMASK),
        "may_edit": in_scope(user, resident, Cap.EDIT_RESIDENTS),
    }


def _pii(resident: Resident, unmasked: dict | None) -> dict:
    if unmasked:
        return {"unmasked": True, **unmasked}
    return {
        "unmasked": False,
        "id_number": mask_id_number(resident.id_number),
        "phone": mask_phone(resident.phone),
        "emergency_phone": mask_phone(resident.emergency_phone),
    }


def _resident_for(request, pk: int, capability: str) -> Resident:
    return get_scoped(request.user, Resident.objects.select_related("household", "household__grid"), capability, pk=pk)


@login_required
@require_GET
def resident_detail(request, pk: int):
    resident = _resident_for(request, pk, Cap.VIEW_RESIDENTS)
    return render(request, "people/detail.html", _detail_context(request, resident))


@login_required
@require_POST
def resident_unmask(request, pk: int):
    """Full identity and phone numbers, each showing written to the audit log."""
    resident = _resident_for(request, pk, Cap.UNMASK)
    shown = actions.resident_unmask(
        actor=request.user, resident=resident, fields=("id_number", "phone", "emergency_phone")
    )
    if request.htmx:
        response = render(request, "people/_pii.html", {"resident": resident, "pii": _pii(resident, shown)})
    else:
        response = render(request, "people/detail.html", _detail_context(request, resident, shown))
    patch_cache_control(response, no_store=True, private=True)
    return response


def _save(request, form: ResidentForm, resident: Resident | None) -> Resident | None:
    data = form.resident_data(form.picker.household)
    try:
        saved = actions.resident_save(
            actor=request.user,
            data=data,
            resident=resident,
            expected_version=form.cleaned_data["version"] if resident else None,
            new_room=form.room_to_create(),
        )
    except ValidationError as e:
        form.add_action_errors(e)
        return None
    for warning in data.warnings:
        messages.warning(request, warning.message)
    return saved


def _form_page(request, form: ResidentForm, resident: Resident | None):
    return render(request, "people/form.html", {"form": form, "resident": resident, "picker": form.picker})


@login_required
@require_http_methods(["GET", "POST"])
def resident_new(request):
    require(request.user, Cap.EDIT_RESIDENTS)
    if request.method == "POST":
        form = ResidentForm(request.POST, user=request.user)
        if form.is_valid():
            saved = _save(request, form, None)
            if saved is not None:
                messages.success(request, _("已登记居民“%(name)s”") % {"name": saved.name})
                return redirect("people:detail", pk=saved.pk)
    else:
        form = ResidentForm(user=request.user)
    return _form_page(request, form, None)


@login_required
@require_http_methods(["GET", "POST"])
def resident_edit(request, pk: int):
    resident = _resident_for(request, pk, Cap.EDIT_RESIDENTS)
    if request.method == "POST":
        form = ResidentForm(request.POST, user=request.user, resident=resident)
        if form.is_valid():
            saved = _save(request, form, resident)
            if saved is not None:
                messages.success(request, _("已保存“%(name)s”的修改") % {"name": saved.name})
                return redirect("people:detail", pk=saved.pk)
    else:
        form = ResidentForm(user=request.user, resident=resident)
    return _form_page(request, form, resident)


@login_required
@require_GET
def household_picker(request):
    """The chained compound → building → unit → household selects, re-rendered as one is changed."""
    require(request.user, Cap.EDIT_RESIDENTS)
    picker = HouseholdPicker.from_data(request.user, request.GET)
    return render(request, "people/_household_picker.html", {"picker": picker, "new_room": request.GET.get("new_room")})


@login_required
@require_GET
def validate_field(request):
    """Inline checks while typing: an ID number (derived gender and birth date) or a phone number."""
    require(request.user, Cap.EDIT_RESIDENTS)
    context: dict = {}
    if "id_number" in request.GET:
        value = request.GET["id_number"]
        if value.strip():
            try:
                facts = parse_id_number(value)
                context.update(
                    ok=True,
                    facts=facts,
                    gender=_("男") if facts.gender == "M" else _("女"),
                    age=age_on(facts.birth_date, today()),
                )
            except FieldProblem as problem:
                context["error"] = problem.message
    else:
        field = "emergency_phone" if "emergency_phone" in request.GET else "phone"
        phone, valid = clean_phone(request.GET.get(field, ""))
        if phone and not valid:
            context["warning"] = phone_problem(phone).message
        elif phone:
            context.update(ok=True, phone=phone)
    return render(request, "people/_check.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def categories(request):
    """The category vocabulary with counts in the user's scope; the bureau adds categories here."""
    require(request.user, Cap.MANAGE_CATEGORIES)
    form = CategoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            category = actions.category_create(
                actor=request.user,
                code=form.cleaned_data["code"],
                name=form.cleaned_data["name"],
                name_en=form.cleaned_data["name_en"],
                synonyms=form.synonym_list(),
            )
        except ValidationError as e:
            form.add_action_errors(e)
        else:
            messages.success(request, _("已新增人员类别“%(name)s”") % {"name": category.name})
            return redirect("people:categories")
    counts = dict(
        ResidentCategory.objects.filter(category_active_q(today()), resident__in=residents_visible(request.user))
        .values_list("category_id")
        .annotate(n=Count("id"))
        .values_list("category_id", "n")
    )
    rows = [{"category": c, "count": counts.get(c.pk, 0)} for c in Category.objects.all()]
    return render(request, "people/categories.html", {"form": form, "rows": rows})
