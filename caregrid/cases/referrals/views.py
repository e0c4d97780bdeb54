"""12345 referral batch pages: upload → check (every problem listed) → confirm → result with links.

A batch lives in its own folder under UPLOAD_DIR/referrals/<token>/: the file as uploaded and batch.json
holding its owner, the check and, once run, the result. Referral files are small (a shift's or a day's
referrals), so the check and the import run within the request.
"""

import datetime as dt
import json
import os
import re
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import can
from caregrid.people.ledger.reader import LedgerFileError

from ..models import Channel
from ..queries import cases_visible
from ..taxonomy import CaseCategory, Urgency
from .forms import ConfirmForm, UploadForm
from .importer import ReferralReport, referrals_import

TOKEN = re.compile(r"^[0-9a-f]{32}$")
SAMPLE_ROWS = 100
RECENT_BATCHES = 10
STATUS_LABELS = {
    "checked": gettext_lazy("已检查，待确认"),
    "running": gettext_lazy("正在导入"),
    "done": gettext_lazy("已完成"),
    "failed": gettext_lazy("无法读取"),
}


def _require(user) -> None:
    if not can(user, Cap.TAKE_CASES):
        raise PermissionDenied


def _root() -> Path:
    return Path(settings.UPLOAD_DIR) / "referrals"


def _save(token: str, state: dict) -> None:
    target = _root() / token / "batch.json"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False, default=str))
    tmp.replace(target)


def _load(request, token: str) -> dict:
    """The user's own batch; anyone else's, or a token that does not exist, reads as missing."""
    _require(request.user)
    if not TOKEN.match(token):
        raise Http404
    try:
        state = json.loads((_root() / token / "batch.json").read_text())
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    if state.get("user") != request.user.pk:
        raise Http404
    return state


def _claim(token: str) -> bool:
    """True for exactly one caller per batch: a double-clicked confirm imports once."""
    try:
        fd = os.open(_root() / token / "claimed", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def _sample(report: ReferralReport) -> list[dict]:
    """The first rows that will be logged, as the preview shows them."""
    categories, urgencies = dict(CaseCategory.choices), dict(Urgency.choices)
    return [
        {
            "row": r.row,
            "external_id": r.external_id,
            "received_at": timezone.localtime(r.received_at).strftime("%Y-%m-%d %H:%M") if r.received_at else "",
            "caller_name": r.caller_name,
            "address_text": r.address_text,
            "description": r.description[:80],
            "category": str(categories[r.category]) if r.category else "",
            "urgency": str(urgencies[r.urgency]) if r.urgency else "",
        }
        for r in report.valid[:SAMPLE_ROWS]
    ]


def _recent(user) -> list[dict]:
    batches = []
    for state_file in _root().glob("*/batch.json"):
        try:
            state = json.loads(state_file.read_text())
        except ValueError:
            continue
        if state.get("user") == user.pk:
            state["token"] = state_file.parent.name
            state["status_label"] = STATUS_LABELS.get(state.get("status"), "")
            created = dt.datetime.fromisoformat(state["created_at"])
            state["created_label"] = timezone.localtime(created).strftime("%Y-%m-%d %H:%M")
            batches.append(state)
    batches.sort(key=lambda s: s.get("created_at", ""), reverse=True)
    return batches[:RECENT_BATCHES]


@login_required
@require_http_methods(["GET", "POST"])
def upload(request):
    _require(request.user)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        token = secrets.token_hex(16)
        folder = _root() / token
        folder.mkdir(parents=True)
        suffix = Path(upload.name).suffix.lower()
        stored = folder / f"source{suffix}"
        with open(stored, "wb") as f:
            for chunk in upload.chunks():
                f.write(chunk)
        state = {
            "user": request.user.pk,
            "file_name": Path(upload.name).name[:200],
            "source": stored.name,
            "created_at": timezone.now().isoformat(),
            "status": "checked",
        }
        try:
            report = referrals_import(actor=request.user, path=stored, file_name=state["file_name"], dry_run=True)
        except LedgerFileError as e:  # not a referral batch at all: nothing to preview
            state.update(status="failed", error=str(e))
        else:
            state.update(preview=report.as_dict(), sample=_sample(report))
        _save(token, state)
        return redirect("cases_referrals:batch", token=token)
    return render(request, "cases/referrals/upload.html", {"form": form, "batches": _recent(request.user)})


def _linked(user, entries: list[dict]) -> list[dict]:
    """Rows with the request each one became (or already was), linked when the user may open it."""
    visible = set(cases_visible(user).filter(pk__in=[e["id"] for e in entries]).values_list("pk", flat=True))
    return [{**e, "visible": e["id"] in visible} for e in entries]


@login_required
def batch(request, token: str):
    state = _load(request, token)
    preview, result = state.get("preview") or {}, state.get("result") or {}
    context = {
        "token": token,
        "state": state,
        "status_label": STATUS_LABELS.get(state.get("status"), ""),
        "preview": preview,
        "result": result,
        "sample": state.get("sample") or [],
        "skipped": _linked(request.user, (result or preview).get("skipped", [])),
        "imported": _linked(request.user, result.get("imported", [])),
        "confirm_form": ConfirmForm(),
        "channel_label": Channel.REFERRAL_12345.label,
    }
    return render(request, "cases/referrals/batch.html", context)


@login_required
@require_POST
def confirm(request, token: str):
    state = _load(request, token)
    form = ConfirmForm(request.POST)
    if state.get("status") == "checked" and form.is_valid() and _claim(token):
        partial = form.cleaned_data["partial"]
        state.update(status="running", partial=partial)
        _save(token, state)
        try:
            report = referrals_import(
                actor=request.user,
                path=_root() / token / state["source"],
                file_name=state["file_name"],
                partial=partial,
            )
        except Exception as e:
            # The page must not show "running" forever; the error itself goes to the log.
            state.update(status="failed", error=str(e) if isinstance(e, LedgerFileError) else type(e).__name__)
            _save(token, state)
            if not isinstance(e, LedgerFileError):
                raise
        else:
            state.update(status="done", result=report.as_dict(), finished_at=timezone.now().isoformat())
            _save(token, state)
    return redirect("cases_referrals:batch", token=token)
