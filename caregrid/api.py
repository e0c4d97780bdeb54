"""The JSON API under /api/v1/ (Django Ninja): authentication, the error shape, and the routers.

Every error is {"code": "...", "message": "中文说明", "fields": {...} | null}. The browsable docs page is
off (it would load Swagger from a CDN, which the CSP forbids); the schema is at /api/v1/openapi.json.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from caregrid.accounts.api import ApiError, SessionAuth, TokenAuth
from caregrid.accounts.api import router as accounts_router
from caregrid.cases.api import router as cases_router
from caregrid.people.api import router as people_router
from caregrid.places.api import router as places_router

api = NinjaAPI(
    title="caregrid API",
    version="1",
    description=(
        "Places, zones, residents and categories of the district, and help requests with their workflow, "
        "errands and triage suggestions, limited to the caller's scope. "
        "Authenticate with `Authorization: Bearer <key>` (keys from `caregrid apitoken create`) or the "
        "signed-in session (with the CSRF token on unsafe methods). Identity and phone numbers are masked; "
        "POST /residents/{id}/unmask shows them and is audited."
    ),
    urls_namespace="api",
    docs_url=None,
    auth=[TokenAuth(), SessionAuth()],
)

api.add_router("", accounts_router)
api.add_router("", places_router)
api.add_router("", people_router)
api.add_router("", cases_router)

# Names of fields as users know them, for messages about query parameters and request bodies.
FIELD_LABELS = {
    "id_number": gettext_lazy("身份证号"),
    "name": gettext_lazy("姓名"),
    "household": gettext_lazy("住户"),
    "phone": gettext_lazy("联系电话"),
    "emergency_contact": gettext_lazy("紧急联系人"),
    "emergency_phone": gettext_lazy("紧急联系电话"),
    "note": gettext_lazy("备注"),
    "categories": gettext_lazy("人员类别"),
    "category": gettext_lazy("人员类别"),
    "code": gettext_lazy("代码"),
    "since": gettext_lazy("起始日期"),
    "until": gettext_lazy("截止日期"),
    "version": gettext_lazy("版本号"),
    "place": gettext_lazy("地点"),
    "place_id": gettext_lazy("地点"),
    "resident_id": gettext_lazy("居民编号"),
    "parent": gettext_lazy("上级地点"),
    "zone": gettext_lazy("区域状态"),
    "status": gettext_lazy("区域状态"),
    "start_date": gettext_lazy("生效日期"),
    "end_date": gettext_lazy("截止日期"),
    "reason": gettext_lazy("原因"),
    "q": gettext_lazy("搜索词"),
    "priority": gettext_lazy("仅看重点人员"),
    "inherited": gettext_lazy("含上级设置"),
    "page": gettext_lazy("页码"),
    "page_size": gettext_lazy("每页条数"),
    "count": gettext_lazy("统计总数"),
    "description": gettext_lazy("诉求内容"),
    "caller_name": gettext_lazy("求助人"),
    "caller_phone": gettext_lazy("求助人电话"),
    "address_text": gettext_lazy("诉求地址"),
    "resident": gettext_lazy("居民"),
    "subcategory": gettext_lazy("诉求子类"),
    "urgency": gettext_lazy("紧急程度"),
    "channel": gettext_lazy("来源渠道"),
    "external_id": gettext_lazy("外部编号"),
    "received_at": gettext_lazy("受理时间"),
    "lat": gettext_lazy("纬度"),
    "long": gettext_lazy("经度"),
    "assigned_to": gettext_lazy("承办单位"),
    "outcome": gettext_lazy("办理结果"),
    "satisfaction": gettext_lazy("满意度"),
    "primary": gettext_lazy("关联工单"),
    "kind": gettext_lazy("任务类型"),
    "assignee": gettext_lazy("承办人"),
    "detail": gettext_lazy("任务说明"),
    "due_at": gettext_lazy("完成时限"),
    "result": gettext_lazy("完成情况"),
    "mine": gettext_lazy("只看我的任务"),
    "text": gettext_lazy("诉求文本"),
}

# Where Ninja says a value came from; not part of the field name a user would recognise.
_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}
_BODY_PARAMS = {"payload", "params"}


def _field_key(loc) -> str:
    parts = [str(p) for p in loc]
    while parts and (parts[0] in _SOURCES or parts[0] in _BODY_PARAMS):
        parts.pop(0)
    return ".".join(parts)


def _field_label(key: str) -> str:
    """ "categories.0.code" → "人员类别第1项的代码"."""
    if not key:
        return _("请求内容")
    parts = key.split(".")
    label = str(FIELD_LABELS.get(parts[0], parts[0]))
    for part in parts[1:]:
        if part.isdigit():
            label += _("第%(n)s项") % {"n": int(part) + 1}
        else:
            label += _("的%(field)s") % {"field": FIELD_LABELS.get(part, part)}
    return label


def _pydantic_message(error: dict, label: str) -> str:
    """A Chinese message for one pydantic error, naming the field."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _("%(field)s为必填项") % {"field": label}
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return _("%(field)s应为整数") % {"field": label}
    if kind in {"bool_parsing", "bool_type"}:
        return _("%(field)s应为 true 或 false") % {"field": label}
    if kind.startswith("date"):
        return _("%(field)s应为日期，格式如 2022-04-01") % {"field": label}
    if kind == "greater_than_equal":
        return _("%(field)s不能小于%(limit)s") % {"field": label, "limit": ctx.get("ge")}
    if kind == "greater_than":
        return _("%(field)s必须大于%(limit)s") % {"field": label, "limit": ctx.get("gt")}
    if kind == "less_than_equal":
        return _("%(field)s不能大于%(limit)s") % {"field": label, "limit": ctx.get("le")}
    if kind == "less_than":
        return _("%(field)s必须小于%(limit)s") % {"field": label, "limit": ctx.get("lt")}
    if kind == "string_too_long":
        return _("%(field)s不能超过%(limit)s个字符") % {"field": label, "limit": ctx.get("max_length")}
    if kind == "too_long":
        return _("%(field)s最多%(limit)s项") % {"field": label, "limit": ctx.get("max_length")}
    if kind in {"enum", "literal_error"}:
        return _("%(field)s的取值无效，可选：%(choices)s") % {"field": label, "choices": ctx.get("expected", "")}
    if kind == "string_type":
        return _("%(field)s应为文本") % {"field": label}
    if kind == "list_type":
        return _("%(field)s应为列表") % {"field": label}
    if kind == "value_error" and ctx.get("error"):
        return _("%(field)s%(reason)s") % {"field": label, "reason": ctx["error"]}
    if kind == "json_invalid":
        return _("请求内容不是有效的 JSON")
    return _("%(field)s格式不正确") % {"field": label}


def _error(request: HttpRequest, status: int, code: str, message: str, fields: dict | None = None) -> HttpResponse:
    response = api.create_response(request, {"code": code, "message": message, "fields": fields}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="caregrid"'
    return response


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    return _error(request, exc.status, exc.code, exc.message, exc.fields)


@api.exception_handler(NinjaValidationError)
def _request_invalid(request, exc: NinjaValidationError):
    fields: dict[str, str] = {}
    for error in exc.errors:
        key = _field_key(error.get("loc", ()))
        fields.setdefault(key or "__all__", _pydantic_message(error, _field_label(key)))
    return _error(request, 422, "invalid", "；".join(fields.values()), fields)


@api.exception_handler(DjangoValidationError)
def _action_invalid(request, exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        fields = {k: "；".join(str(m) for m in v) for k, v in exc.message_dict.items()}
    else:
        fields = {"__all__": "；".join(str(m) for m in exc.messages)}
    return _error(request, 422, "invalid", "；".join(fields.values()), fields)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return _error(request, 404, "not_found", _("找不到该记录，或它不在您的管辖范围内"))


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return _error(request, 403, "forbidden", _("您的角色没有执行此操作的权限"))


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return _error(request, 401, "unauthorized", _("请先登录，或在 Authorization 头中提供有效的 API 令牌"))


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if exc.status_code == 400:
        return _error(request, 400, "bad_request", _("请求内容无法解析，请提交有效的 JSON"))
    if exc.status_code == 429:
        return _error(request, 429, "throttled", _("请求过于频繁，请稍后再试"))
    return _error(request, exc.status_code, "error", str(exc))
