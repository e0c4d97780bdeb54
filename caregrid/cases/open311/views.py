"""Open311 GeoReport v2 endpoints (services, service definition, POST and GET requests, one request, tokens),
each in .json and .xml. Anyone may read the public view of requests; an api_key of a user who may log
requests files new ones, and reads the full view of the requests in that user's scope."""

from functools import wraps

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from caregrid.accounts.api import ApiError, TokenAuth
from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import can

from ..actions import CaseError, IntakeData, case_create
from ..models import Channel, HelpRequest
from ..queries import cases_visible
from .forms import ServiceRequestForm
from .query import requests_matching
from .records import for_records, request_records
from .services import service_find, service_list
from .xml import FORMATS, Open311Error, document, errors


def open311(*methods: str):
    """Checks the format and method, and turns refusals into the spec's error document."""

    def decorate(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, fmt: str, **kwargs):
            if fmt not in FORMATS:
                return errors("xml", 400, [_("不支持的格式“%(fmt)s”，请使用 .json 或 .xml") % {"fmt": fmt}])
            if request.method not in methods:
                response = errors(fmt, 405, [_("不支持 %(method)s 请求") % {"method": request.method}])
                response["Allow"] = ", ".join(methods)
                return response
            try:
                return view(request, *args, fmt=fmt, **kwargs)
            except Open311Error as e:
                return errors(fmt, e.status, e.descriptions)

        return wrapper

    return decorate


def _key_user(request: HttpRequest):
    """The user of the api_key sent (form body or query string), None when none was sent; 403 when it is bad."""
    key = (request.POST.get("api_key") if request.method == "POST" else None) or request.GET.get("api_key")
    if not key:
        return None
    try:
        return TokenAuth().authenticate(request, key)
    except ApiError:
        raise Open311Error(403, _("api_key 无效或已被吊销")) from None


def _visible(request: HttpRequest):
    """(requests the caller may read, full view?): the key user's scope with a key, every request without."""
    user = _key_user(request)
    if user is None:
        return HelpRequest.objects.all(), False
    return cases_visible(user), True


@open311("GET")
def services(request, *, fmt):
    return document(fmt, "services", service_list())


@open311("GET")
def service_definition(request, code, *, fmt):
    if service_find(code) is None:
        raise Open311Error(404, _("服务代码“%(code)s”不存在") % {"code": code})
    return document(fmt, "service_definition", {"service_code": code, "attributes": []})


@csrf_exempt  # a machine API: the api_key authenticates, no browser session is involved
@open311("GET", "POST")
def requests(request, *, fmt):
    if request.method == "POST":
        return _create(request, fmt)
    qs, full = _visible(request)
    cases = requests_matching(for_records(qs), request.GET)
    return document(fmt, "service_requests", request_records(cases, full=full))


def _create(request, fmt):
    user = _key_user(request)
    if user is None:
        raise Open311Error(403, _("缺少 api_key，提交诉求需要 API 令牌"))
    if not can(user, Cap.TAKE_CASES):
        raise Open311Error(403, _("该 api_key 的用户无权登记诉求"))
    code = request.POST.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, _("缺少参数 service_code"))
    service = service_find(code)
    if service is None:
        raise Open311Error(404, _("服务代码“%(code)s”不存在") % {"code": code})
    form = ServiceRequestForm(request.POST)
    if not form.is_valid():
        raise Open311Error(400, *form.error_list())
    data = form.cleaned_data
    description = data["description"].strip()
    if data["media_url"]:
        # No field of its own: kept where the operator reads the request.
        description = _("%(description)s（附件：%(url)s）") % {"description": description, "url": data["media_url"]}
    try:
        case = case_create(
            actor=user,
            data=IntakeData(
                channel=Channel.OPEN311,
                description=description,
                category=service.category,
                subcategory=service.subcategory,
                caller_name=form.caller_name,
                caller_phone=data["phone"],
                place=form.place,
                address_text=data["address_string"].strip(),
                email=data["email"],
                lat=form.coordinate("lat"),
                long=form.coordinate("long"),
                source_ip=request.META.get("REMOTE_ADDR") or None,
            ),
        )
    except CaseError as e:
        raise Open311Error(400, e.message) from None
    notice = _("已受理，工单号 %(number)s，工作人员将在 %(due)s 前与求助人联系。") % {
        "number": case.number,
        "due": timezone.localtime(case.first_contact_due).strftime("%Y-%m-%d %H:%M"),
    }
    body = [
        {
            "service_request_id": case.number,
            "token": case.tracking_code,
            "service_notice": notice,
            "account_id": None,
        }
    ]
    return document(fmt, "service_requests", body)


@open311("GET")
def request_detail(request, request_id, *, fmt):
    qs, full = _visible(request)
    case = for_records(qs).filter(number=request_id).first()
    if case is None:
        raise Open311Error(404, _("工单“%(id)s”不存在") % {"id": request_id})
    return document(fmt, "service_requests", request_records([case], full=full))


@open311("GET")
def token(request, token, *, fmt):
    case = HelpRequest.objects.filter(tracking_code=token.upper()).only("number", "tracking_code").first()
    if case is None:
        raise Open311Error(404, _("查询码“%(token)s”不存在") % {"token": token})
    return document(fmt, "service_requests", [{"service_request_id": case.number, "token": case.tracking_code}])
