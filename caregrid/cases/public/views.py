"""The public help form, its thank-you page and the status page: no account, rate limited by client address,
and never showing names, phones, addresses or staff to whoever holds a tracking code."""

from django.conf import settings
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from ..actions import CaseError, case_create
from ..models import CaseEvent, HelpRequest, Status
from .forms import HelpForm, normalise_code
from .throttle import client_ip, lookup_allowed, submissions_left

# Where an action's refusal belongs on the form.
FORM_FIELDS = {"description": "description", "caller_name": "name", "address_text": "address", "category": "category"}
# The outcome is the caller's answer once the need is met; before that it is not shown.
OUTCOME_STATUSES = (Status.ANSWERED, Status.RESOLVED, Status.CLOSED)


def _form_page(request, form: HelpForm, *, status: int = 200, problem: str = ""):
    return render(request, "cases/public/form.html", {"form": form, "problem": problem}, status=status)


@require_http_methods(["GET", "POST"])
def help_form(request):
    if request.method == "GET":
        return _form_page(request, HelpForm())
    ip = client_ip(request)
    if not submissions_left(ip):
        problem = _("提交过于频繁：同一网络每小时最多提交%(n)s次求助，请稍后再试。情况紧急请直接拨打求助热线。") % {
            "n": settings.CAREGRID_PUBLIC_FORM_PER_HOUR
        }
        return _form_page(request, HelpForm(initial=request.POST.dict()), status=429, problem=problem)
    form = HelpForm(request.POST)
    if form.is_robot:
        return _form_page(
            request, HelpForm(initial=request.POST.dict()), status=400, problem=_("提交未成功，请稍后重试")
        )
    if form.is_valid():
        try:
            case = case_create(actor="public", data=form.intake(source_ip=ip))
        except CaseError as e:
            form.add_error(FORM_FIELDS.get(e.field), e.message)
        else:
            return redirect("cases_public:thanks", code=case.tracking_code)
    return _form_page(request, form, status=400)


def _lookup(request, code: str):
    """(the request with this tracking code or None, HTTP status), counting the lookup against the address."""
    if not lookup_allowed(client_ip(request)):
        return None, 429
    normal = normalise_code(code)
    case = HelpRequest.objects.filter(tracking_code=normal).first() if normal else None
    return case, 200 if case else 404


def _refused(request, status: int, code: str = ""):
    problem = _("查询过于频繁，请一小时后再试") if status == 429 else _("未找到")
    return render(request, "cases/public/status.html", {"problem": problem, "code": code}, status=status)


@never_cache
@require_GET
def thanks(request, code: str):
    case, status = _lookup(request, code)
    if case is None:
        return _refused(request, status, code)
    return render(
        request,
        "cases/public/thanks.html",
        {"number": case.number, "code": case.tracking_code, "received_at": case.received_at},
    )


@never_cache
@require_GET
def status_lookup(request):
    """The lookup form; a submitted code goes to its own page (which can be bookmarked)."""
    code = request.GET.get("code")
    if code is None:
        return render(request, "cases/public/status.html", {})
    normal = normalise_code(code)
    if normal is None:
        if not lookup_allowed(client_ip(request)):
            return _refused(request, 429, code)
        return _refused(request, 404, code)
    return redirect("cases_public:status_detail", code=normal)


def public_view(case: HelpRequest) -> dict:
    """What the holder of the tracking code may see: no names, phones, addresses, notes or staff."""
    events = CaseEvent.objects.filter(request=case, public=True).order_by("at", "id").only("kind", "at")
    return {
        "number": case.number,
        "code": case.tracking_code,
        "status": case.get_status_display(),
        "status_code": case.status,
        "category": case.get_category_display(),
        "received_at": case.received_at,
        "outcome": case.outcome if case.status in OUTCOME_STATUSES else "",
        "timeline": [{"kind": e.get_kind_display(), "at": e.at} for e in events],
    }


@never_cache
@require_GET
def status_detail(request, code: str):
    case, status = _lookup(request, code)
    if case is None:
        return _refused(request, status, code)
    return render(request, "cases/public/status.html", {"view": public_view(case), "code": case.tracking_code})
