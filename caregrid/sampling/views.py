"""Testing-round pages: the rounds, a round's coverage, recording samplings, results import, home sampling and
its route list, the not-sampled list with the outreach ladder, and the exports. Views authorise (the round
through `rounds_visible`, every row through the scoping function), call the action, and turn its errors into
form errors."""

import json
import os
import re
import secrets
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from caregrid.accounts.masking import mask_id_number, mask_phone
from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import can, get_scoped, require, scoped
from caregrid.forms import form_errors
from caregrid.people.ledger.reader import LedgerFileError
from caregrid.people.models import Resident
from caregrid.people.queries import resident_text_q, with_categories
from caregrid.places.models import Place, PlaceKind
from caregrid.places.queries import scope_roots
from caregrid.places.tree import addresses_for

from . import actions, exports, queries
from .forms import (
    ConfirmForm,
    GroupNoticeForm,
    HomeAddForm,
    OutreachForm,
    RecordForm,
    ResampleForm,
    ResultForm,
    RoundForm,
    UploadForm,
)
from .importer import results_import
from .models import HomeRequestStatus, HomeSamplingRequest, Result, SamplingRecord, SamplingRound

TOKEN = re.compile(r"^[0-9a-f]{32}$")
SAMPLE_ROWS = 100
SEARCH_LIMIT = 20
ROUNDS_SHOWN = 100
PLACE_OPTIONS_LIMIT = 500
# A round over a subdistrict covers hundreds of buildings: past this many, pick a grid to list them.
BUILDINGS_SHOWN = 300


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def _round(request, pk: int, capability: str = Cap.VIEW_CARE) -> SamplingRound:
    """The round, if the user may reach it with the capability; 404 otherwise (403 without the capability)."""
    require(request.user, capability)
    round = queries.rounds_visible(request.user, capability).select_related("place").filter(pk=pk).first()
    if round is None:
        raise Http404
    return round


def _next(request, default: str) -> str:
    """Where to go back to: a path on this site from the form, else the default."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _page(request) -> int:
    value = request.GET.get("page", "")
    return int(value) if value.isdigit() and int(value) > 0 else 1


def _paged(request, qs) -> tuple[list, dict]:
    page, size = _page(request), settings.PAGE_SIZE
    items = list(qs[(page - 1) * size : page * size + 1])
    params = request.GET.copy()
    params.pop("page", None)
    base = params.urlencode()
    return items[:size], {
        "page": page,
        "prev_query": f"{base}&page={page - 1}" if page > 1 else "",
        "next_query": f"{base}&page={page + 1}" if len(items) > size else "",
    }


def _grid_filter(request, round: SamplingRound) -> tuple[list[Place], Place | None]:
    grids = queries.grids_in(request.user, round)
    value = request.GET.get("grid") or request.POST.get("grid") or ""
    chosen = next((g for g in grids if str(g.pk) == value), None)
    return grids, chosen


def _rows(residents: list[Resident]) -> list[dict]:
    addresses = addresses_for([r.household for r in residents])
    return [
        {
            "resident": r,
            "address": addresses.get(r.household_id, ""),
            "id_masked": mask_id_number(r.id_number),
            "phone_masked": mask_phone(r.phone),
        }
        for r in residents
    ]


# ---- rounds ------------------------------------------------------------------------------------------------------


@login_required
def round_list(request):
    require(request.user, Cap.VIEW_CARE)
    rounds = list(queries.rounds_visible(request.user).select_related("place")[:ROUNDS_SHOWN])
    return render(
        request,
        "sampling/rounds.html",
        {"rounds": rounds, "may_manage": can(request.user, Cap.MANAGE_ROUNDS)},
    )


def _root_options(user):
    roots = scope_roots(user, Cap.MANAGE_ROUNDS)
    kinds = [PlaceKind.SUBDISTRICT, PlaceKind.COMMUNITY, PlaceKind.GRID, PlaceKind.COMPOUND]
    below = scoped(user, Place.objects.filter(kind__in=kinds), Cap.MANAGE_ROUNDS).order_by("path")
    ids = {p.pk for p in roots} | set(below.values_list("pk", flat=True)[:PLACE_OPTIONS_LIMIT])
    return Place.objects.filter(pk__in=ids).order_by("path")


@login_required
def round_new(request):
    require(request.user, Cap.MANAGE_ROUNDS)
    form = RoundForm(request.POST or None, places=_root_options(request.user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            round = actions.round_create(
                actor=request.user,
                name=data["name"],
                place=data["place"],
                start_date=data["start_date"],
                end_date=data["end_date"],
                population=data["population"],
                note=data["note"],
            )
        except ValidationError as e:
            form_errors(form, e)
        else:
            messages.success(request, _("已开始检测轮次“%(name)s”") % {"name": round.name})
            return redirect("sampling:round", pk=round.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "sampling/round_new.html", {"form": form}, status=status)


@login_required
def round_detail(request, pk: int):
    round = _round(request, pk)
    grids, grid = _grid_filter(request, round)
    cov = queries.coverage(request.user, round, grid=grid)
    too_many = grid is None and len(cov.buildings) > BUILDINGS_SHOWN
    return render(
        request,
        "sampling/round.html",
        {
            "round": round,
            "cov": cov,
            "buildings": [] if too_many else cov.buildings,
            "buildings_hidden": len(cov.buildings) if too_many else 0,
            "grids": grids,
            "grid": grid,
            "may_manage": can(request.user, Cap.MANAGE_ROUNDS),
            "may_log": can(request.user, Cap.LOG_ROUND_WORK),
            "may_export": can(request.user, Cap.EXPORT),
        },
    )


@login_required
@require_POST
def round_status(request, pk: int, status: str):
    round = _round(request, pk, Cap.MANAGE_ROUNDS)
    if status == "close":
        actions.round_close(actor=request.user, round=round)
        messages.success(request, _("本轮检测已结束"))
    else:
        actions.round_reopen(actor=request.user, round=round)
        messages.success(request, _("本轮检测已重新开始"))
    return redirect("sampling:round", pk=round.pk)


# ---- recording a sampling ------------------------------------------------------------------------------------------


@login_required
def record_new(request, pk: int):
    """Find a resident of the round (name, phone tail or ID number) and record their sampling; for phones."""
    round = _round(request, pk, Cap.LOG_ROUND_WORK)
    q = request.GET.get("q", "")
    found = []
    text_q, ordering = resident_text_q(q)
    if text_q is not None:
        qs = queries.population_visible(request.user, round, Cap.LOG_ROUND_WORK).filter(text_q)
        residents = list(qs.select_related("household").order_by(*ordering)[:SEARCH_LIMIT])
        done = dict(
            SamplingRecord.objects.filter(round=round, resident__in=residents).values_list("resident_id", "sampled_at")
        )
        found = [{**row, "sampled_at": done.get(row["resident"].pk)} for row in _rows(residents)]
    form = RecordForm(request.POST or None)
    if request.method == "POST":
        resident_id = request.POST.get("resident", "")
        if not resident_id.isdigit():
            raise Http404
        resident = get_scoped(request.user, queries.population(round), Cap.LOG_ROUND_WORK, pk=int(resident_id))
        if form.is_valid():
            try:
                actions.sampling_record(
                    actor=request.user,
                    round=round,
                    resident=resident,
                    where=form.cleaned_data["where"],
                    site=form.cleaned_data["site"],
                    tube_code=form.cleaned_data["tube_code"],
                )
            except ValidationError as e:
                messages.error(request, _error_text(e))
            else:
                messages.success(request, _("已登记%(name)s的采样") % {"name": resident.name})
        else:
            messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect(
            f"{reverse('sampling:record', args=[round.pk])}?{urlencode({'site': form.data.get('site', '')})}"
        )
    return render(
        request,
        "sampling/record.html",
        {"round": round, "q": q, "found": found, "form": RecordForm(initial={"site": request.GET.get("site", "")})},
    )


@login_required
def record_list(request, pk: int):
    round = _round(request, pk)
    result = request.GET.get("result", "")
    grids, grid = _grid_filter(request, round)
    qs = queries.records_visible(request.user, round).select_related("resident__household", "recorded_by")
    if result in Result.values:
        qs = qs.filter(result=result)
    if grid is not None:
        qs = qs.filter(grid_path__startswith=grid.path)
    records, pager = _paged(request, qs.order_by("place_path", "id"))
    addresses = addresses_for([r.resident.household for r in records])
    rows = [
        {
            "record": r,
            "address": addresses.get(r.resident.household_id, ""),
            "id_masked": mask_id_number(r.resident.id_number),
        }
        for r in records
    ]
    return render(
        request,
        "sampling/records.html",
        {
            "round": round,
            "rows": rows,
            "result": result,
            "results": Result.choices,
            "grids": grids,
            "grid": grid,
            "may_log": can(request.user, Cap.LOG_ROUND_WORK),
            "may_export": can(request.user, Cap.EXPORT),
            "may_unmask": can(request.user, Cap.UNMASK),
            **pager,
        },
    )


def _record(request, round: SamplingRound, record_pk: int) -> SamplingRecord:
    qs = SamplingRecord.objects.filter(round=round).select_related("resident", "round")
    return get_scoped(request.user, qs, Cap.LOG_ROUND_WORK, pk=record_pk)


@login_required
@require_POST
def record_result(request, pk: int, record_pk: int):
    round = _round(request, pk, Cap.LOG_ROUND_WORK)
    record = _record(request, round, record_pk)
    form = ResultForm(request.POST)
    if form.is_valid():
        try:
            actions.sampling_result_set(actor=request.user, record=record, result=form.cleaned_data["result"])
        except ValidationError as e:
            messages.error(request, _error_text(e))
        else:
            messages.success(request, _("已更新%(name)s的检测结果") % {"name": record.resident.name})
    return redirect(_next(request, reverse("sampling:records", args=[round.pk])))


@login_required
def record_resample(request, pk: int, record_pk: int):
    round = _round(request, pk, Cap.LOG_ROUND_WORK)
    record = _record(request, round, record_pk)
    form = ResampleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.sampling_resample(
                actor=request.user,
                record=record,
                reason=form.cleaned_data["reason"],
                tube_code=form.cleaned_data["tube_code"],
            )
        except ValidationError as e:
            form_errors(form, e)
        else:
            messages.success(request, _("已登记%(name)s的复采") % {"name": record.resident.name})
            return redirect("sampling:records", pk=round.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "sampling/resample.html", {"round": round, "record": record, "form": form}, status=status)


# ---- results import ----------------------------------------------------------------------------------------------


def _batches() -> Path:
    return Path(settings.UPLOAD_DIR) / "sampling"


def _save(token: str, state: dict) -> None:
    target = _batches() / token / "batch.json"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False, default=str))
    tmp.replace(target)


def _load(request, round: SamplingRound, token: str) -> dict:
    """The user's own batch for this round; anyone else's reads as missing."""
    if not TOKEN.match(token):
        raise Http404
    try:
        state = json.loads((_batches() / token / "batch.json").read_text())
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    if state.get("user") != request.user.pk or state.get("round") != round.pk:
        raise Http404
    return state


def _claim(token: str) -> bool:
    """True for exactly one caller per batch: a double-clicked confirm imports once."""
    try:
        fd = os.open(_batches() / token / "claimed", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def _sample(report) -> list[dict]:
    labels = dict(Result.choices)
    return [
        {
            "row": r.row,
            "name": r.resident.name,
            "id_masked": mask_id_number(r.resident.id_number),
            "sampled_at": timezone.localtime(r.sampled_at).strftime("%Y-%m-%d %H:%M"),
            "result": str(labels[r.result]),
            "positive": r.result == Result.POSITIVE,
            "site": r.site,
        }
        for r in report.valid[:SAMPLE_ROWS]
    ]


@login_required
def import_upload(request, pk: int):
    round = _round(request, pk, Cap.LOG_ROUND_WORK)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and not round.is_open:
        form.add_error(None, _("本轮检测已结束，不能再导入结果"))
    elif request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        token = secrets.token_hex(16)
        folder = _batches() / token
        folder.mkdir(parents=True)
        stored = folder / f"source{Path(upload.name).suffix.lower()}"
        with open(stored, "wb") as f:
            for chunk in upload.chunks():
                f.write(chunk)
        state = {
            "user": request.user.pk,
            "round": round.pk,
            "file_name": Path(upload.name).name[:200],
            "source": stored.name,
            "created_at": timezone.now().isoformat(),
            "status": "checked",
        }
        try:
            report = results_import(
                actor=request.user, round=round, path=stored, file_name=state["file_name"], dry_run=True
            )
        except LedgerFileError as e:
            state.update(status="failed", error=str(e))
        else:
            state.update(preview=report.as_dict(), sample=_sample(report))
        _save(token, state)
        return redirect("sampling:import_batch", pk=round.pk, token=token)
    status = 400 if request.method == "POST" else 200
    return render(request, "sampling/import_upload.html", {"round": round, "form": form}, status=status)


@login_required
def import_batch(request, pk: int, token: str):
    round = _round(request, pk, Cap.LOG_ROUND_WORK)
    state = _load(request, round, token)
    return render(
        request,
        "sampling/import_batch.html",
        {
            "round": round,
            "token": token,
            "state": state,
            "preview": state.get("preview") or {},
            "result": state.get("result") or {},
            "sample": state.get("sample") or [],
            "confirm_form": ConfirmForm(),
        },
    )


@login_required
@require_POST
def import_confirm(request, pk: int, token: str):
    round = _round(request, pk, Cap.LOG_ROUND_WORK)
    state = _load(request, round, token)
    form = ConfirmForm(request.POST)
    if state.get("status") == "checked" and form.is_valid() and _claim(token):
        partial = form.cleaned_data["partial"]
        state.update(status="running", partial=partial)
        _save(token, state)
        try:
            report = results_import(
                actor=request.user,
                round=round,
                path=_batches() / token / state["source"],
                file_name=state["file_name"],
                partial=partial,
            )
        except Exception as e:
            state.update(status="failed", error=str(e) if isinstance(e, LedgerFileError) else type(e).__name__)
            _save(token, state)
            if not isinstance(e, LedgerFileError):
                raise
        else:
            state.update(status="done", result=report.as_dict(), finished_at=timezone.now().isoformat())
            _save(token, state)
    return redirect("sampling:import_batch", pk=round.pk, token=token)


# ---- home sampling -----------------------------------------------------------------------------------------------


@login_required
def home(request, pk: int):
    """Residents proposed for home sampling (their categories), with the list already requested."""
    round = _round(request, pk)
    grids, grid = _grid_filter(request, round)
    may_log = can(request.user, Cap.LOG_ROUND_WORK)
    proposals, pager = [], {}
    if may_log:
        qs = with_categories(queries.home_sampling_proposals(request.user, round, grid=grid)).select_related(
            "household"
        )
        residents, pager = _paged(request, qs)
        proposals = _rows(residents)
        codes = set(queries.HOME_SAMPLING_CATEGORIES)
        for row in proposals:
            row["categories"] = [
                link.category.label for link in row["resident"].active_links if link.category.code in codes
            ]
    requested = list(queries.home_requests(request.user, round).order_by("place_path", "id")[:500])
    addresses = addresses_for([r.resident.household for r in requested])
    return render(
        request,
        "sampling/home.html",
        {
            "round": round,
            "grids": grids,
            "grid": grid,
            "proposals": proposals,
            "requested": [{"request": r, "address": addresses.get(r.resident.household_id, "")} for r in requested],
            "may_log": may_log,
            **pager,
        },
    )


@login_required
@require_POST
def home_add(request, pk: int):
    """Put the ticked residents (or one found by ID number) on the home-sampling list."""
    round = _round(request, pk, Cap.LOG_ROUND_WORK)
    reachable = queries.population_visible(request.user, round, Cap.LOG_ROUND_WORK)
    id_number = request.POST.get("id_number", "").strip().upper()
    if id_number:
        ids = list(reachable.filter(id_number=id_number).values_list("pk", flat=True))
        if not ids:
            messages.error(request, _("本轮检测范围内没有这个身份证号的居民"))
            return redirect("sampling:home", pk=round.pk)
        data = request.POST.copy()
        data.setlist("residents", [str(ids[0])])
    else:
        data = request.POST
    wanted = [int(v) for v in data.getlist("residents") if v.isdigit()]
    choices = [(pk, pk) for pk in reachable.filter(pk__in=wanted).values_list("pk", flat=True)]
    form = HomeAddForm(data, choices=choices)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("sampling:home", pk=round.pk)
    added, problems = 0, []
    for resident in reachable.filter(pk__in=form.cleaned_data["residents"]):
        try:
            actions.home_request_add(
                actor=request.user, round=round, resident=resident, reason=form.cleaned_data["reason"]
            )
        except ValidationError as e:
            problems.append(_error_text(e))
        else:
            added += 1
    if added:
        messages.success(request, _("已将%(n)s人加入上门采样名单") % {"n": added})
    for problem in problems:
        messages.error(request, problem)
    grid = request.POST.get("grid", "")
    return redirect(f"{reverse('sampling:home', args=[round.pk])}?grid={grid if grid.isdigit() else ''}")


def _home_request(request, round: SamplingRound, request_pk: int) -> HomeSamplingRequest:
    qs = HomeSamplingRequest.objects.filter(round=round).select_related("resident", "round")
    return get_scoped(request.user, qs, Cap.LOG_ROUND_WORK, pk=request_pk)


@login_required
@require_POST
def home_cancel(request, pk: int, request_pk: int):
    round = _round(request, pk, Cap.LOG_ROUND_WORK)
    home_request = _home_request(request, round, request_pk)
    try:
        actions.home_request_cancel(actor=request.user, request=home_request, reason=request.POST.get("reason", ""))
    except ValidationError as e:
        messages.error(request, _error_text(e))
    else:
        messages.success(request, _("已将%(name)s移出上门采样名单") % {"name": home_request.resident.name})
    return redirect("sampling:home", pk=round.pk)


@login_required
@require_POST
def home_sampled(request, pk: int, request_pk: int):
    round = _round(request, pk, Cap.LOG_ROUND_WORK)
    home_request = _home_request(request, round, request_pk)
    try:
        actions.home_request_sampled(
            actor=request.user, request=home_request, tube_code=request.POST.get("tube_code", "")
        )
    except ValidationError as e:
        messages.error(request, _error_text(e))
    else:
        messages.success(request, _("已登记%(name)s上门采样") % {"name": home_request.resident.name})
    grid, anchor = request.POST.get("grid", ""), request.POST.get("building", "")
    grid, anchor = (grid if grid.isdigit() else ""), (anchor if anchor.isdigit() else "")
    return redirect(f"{reverse('sampling:route', args=[round.pk])}?grid={grid}#b{anchor}")


@login_required
def route(request, pk: int):
    """The home-sampling team's route: by compound and building, each building's stops by unit and room; a
    printable A4 sheet per building and a phone list. Residents already sampled are listed when asked for."""
    round = _round(request, pk)
    statuses = [HomeRequestStatus.REQUESTED]
    show_done = request.GET.get("done") == "1"
    if show_done:
        statuses.append(HomeRequestStatus.SAMPLED)
    grids, grid = _grid_filter(request, round)
    qs = queries.home_requests(request.user, round, statuses=statuses)
    if grid is not None:
        qs = qs.filter(grid_path__startswith=grid.path)
    requests = list(qs)
    buildings = queries.route(requests)
    for building in buildings:
        for stop in building.stops:
            stop.phone_masked = mask_phone(stop.request.resident.phone)
    return render(
        request,
        "sampling/route.html",
        {
            "round": round,
            "buildings": buildings,
            "grids": grids,
            "grid": grid,
            "total": len(requests),
            "show_done": show_done,
            "may_log": can(request.user, Cap.LOG_ROUND_WORK),
            "printed_at": timezone.localtime(),
        },
    )


# ---- not sampled and the outreach ladder -------------------------------------------------------------------------


@login_required
def missing(request, pk: int):
    """The round's residents not yet sampled (应检尽检), each with their current rung on the outreach ladder."""
    round = _round(request, pk)
    grids, grid = _grid_filter(request, round)
    residents, pager = _paged(request, queries.not_sampled(request.user, round, grid=grid).select_related("household"))
    rows = _rows(residents)
    rungs = queries.rungs_for(round, [r.pk for r in residents])
    waiting = set(
        HomeSamplingRequest.objects.filter(
            round=round, resident__in=residents, status=HomeRequestStatus.REQUESTED
        ).values_list("resident_id", flat=True)
    )
    for row in rows:
        row["rung"] = rungs.get(row["resident"].pk)
        row["home"] = row["resident"].pk in waiting
    return render(
        request,
        "sampling/missing.html",
        {
            "round": round,
            "rows": rows,
            "grids": grids,
            "grid": grid,
            "outreach_form": OutreachForm(),
            "notice_form": GroupNoticeForm(
                grids=Place.objects.filter(pk__in=[g.pk for g in grids]),
                initial={"grid": grid or (grids[0] if len(grids) == 1 else None)},
            ),
            "may_log": can(request.user, Cap.LOG_ROUND_WORK),
            "may_export": can(request.user, Cap.EXPORT),
            "may_unmask": can(request.user, Cap.UNMASK),
            **pager,
        },
    )


@login_required
def outreach(request, pk: int, resident_pk: int):
    """One resident's ladder in this round, and the form for the next step."""
    round = _round(request, pk, Cap.LOG_ROUND_WORK)
    resident = get_scoped(
        request.user, queries.population(round).select_related("household"), Cap.LOG_ROUND_WORK, pk=resident_pk
    )
    form = OutreachForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.outreach_record(
                actor=request.user,
                round=round,
                resident=resident,
                step=form.cleaned_data["step"],
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as e:
            form_errors(form, e)
        else:
            messages.success(request, _("已记录对%(name)s的动员") % {"name": resident.name})
            return redirect(_next(request, reverse("sampling:missing", args=[round.pk])))
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "sampling/outreach.html",
        {
            "round": round,
            "row": _rows([resident])[0],
            "history": queries.outreach_history(round, resident),
            "form": form,
            "next": request.GET.get("next", ""),
        },
        status=status,
    )


@login_required
@require_POST
def group_notice(request, pk: int):
    round = _round(request, pk, Cap.LOG_ROUND_WORK)
    grids = queries.grids_in(request.user, round)
    form = GroupNoticeForm(request.POST, grids=Place.objects.filter(pk__in=[g.pk for g in grids]))
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("sampling:missing", pk=round.pk)
    grid = form.cleaned_data["grid"]
    residents = queries.not_sampled(request.user, round, grid=grid)
    try:
        n = actions.group_notice_send(
            actor=request.user, round=round, grid=grid, residents=residents, note=form.cleaned_data["note"]
        )
    except ValidationError as e:
        messages.error(request, _error_text(e))
    else:
        messages.success(request, _("已记录向%(grid)s未采样的%(n)s人发送群内通知") % {"grid": grid.name, "n": n})
    return redirect(f"{reverse('sampling:missing', args=[round.pk])}?grid={grid.pk}")


# ---- exports -----------------------------------------------------------------------------------------------------


def _xlsx_response(request, round: SamplingRound, *, what: str, title: str, headers, rows_for, filters: dict):
    full = request.GET.get("full") == "1"
    if full and not can(request.user, Cap.UNMASK):
        raise PermissionDenied
    export_dir = Path(settings.EXPORT_DIR)
    export_dir.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=export_dir, suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    try:
        count = exports.write_xlsx(
            Path(handle.name), title=f"{round.name} {title}", sheet=title, headers=headers, rows=rows_for(full)
        )
        actions.export_record(
            actor=request.user, round=round, what=what, rows=count, full_numbers=full, filters=filters
        )
        stream = open(handle.name, "rb")  # noqa: SIM115 (FileResponse closes it)
    finally:
        Path(handle.name).unlink(missing_ok=True)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(stream, as_attachment=True, filename=f"{round.name}-{title}-{stamp}.xlsx")


@login_required
def export_records(request, pk: int):
    round = _round(request, pk, Cap.EXPORT)
    qs = scoped(request.user, SamplingRecord.objects.filter(round=round), Cap.EXPORT)
    result = request.GET.get("result", "")
    filters = {}
    if result in Result.values:
        qs = qs.filter(result=result)
        filters["result"] = result
    return _xlsx_response(
        request,
        round,
        what="records",
        title=_("采样记录"),
        headers=exports.RECORD_HEADERS,
        rows_for=lambda full: exports.record_rows(qs, full_numbers=full),
        filters=filters,
    )


@login_required
def export_missing(request, pk: int):
    round = _round(request, pk, Cap.EXPORT)
    qs = scoped(request.user, queries.population(round), Cap.EXPORT).filter(~queries.sampled_q(round))
    grids, grid = _grid_filter(request, round)
    filters = {}
    if grid is not None:
        qs = qs.filter(grid_path__startswith=grid.path)
        filters["grid"] = grid.pk
    return _xlsx_response(
        request,
        round,
        what="missing",
        title=_("未采样名单"),
        headers=exports.MISSING_HEADERS,
        rows_for=lambda full: exports.missing_rows(round, qs.order_by("place_path", "id"), full_numbers=full),
        filters=filters,
    )
