"""API authentication (bearer tokens and the signed-in session), the error shape every router
answers with, pagination helpers, and GET /me."""

import datetime as dt
import unicodedata
from typing import Annotated

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf
from pydantic import AfterValidator, BaseModel

from .models import ApiToken, Role
from .roles import CAPABILITIES
from .scope import assignments

# Largest id a bigint column (SQLite and PostgreSQL) holds; larger ids in a URL are simply not found.
MAX_ID = 2**63 - 1
MAX_PAGE = 100_000
# last_used_at is a hint for people reviewing tokens, not an access log: write it at most this often.
TOKEN_TOUCH_INTERVAL = dt.timedelta(minutes=1)


class ApiError(Exception):
    """An answer of the form {"code", "message", "fields"} with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields


class Out(BaseModel):
    """Base of response schemas. Views build plain dicts, so Ninja's ORM attribute resolver (Schema) is not
    needed, and skipping it makes long lists markedly cheaper to validate."""


class ErrorOut(Out):
    code: str = Field(description="stable machine-readable code, e.g. not_found, invalid, conflict")
    message: str = Field(description="what went wrong, in the user's language (Chinese by default)")
    fields: dict[str, str] | None = Field(None, description="per-field messages for validation errors")


# Declared on every operation so the OpenAPI document shows the error shape.
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


def _no_control_characters(value: str) -> str:
    # NUL and other control characters cannot be stored by PostgreSQL and never belong in a ledger.
    if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in value):
        raise ValueError(_("不能包含控制字符"))
    return value


Text = Annotated[str, AfterValidator(_no_control_characters)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def page_of(qs: QuerySet, page: int, page_size: int) -> tuple[list, bool]:
    """One page of rows and whether another follows, without counting the whole result set."""
    start = (page - 1) * page_size
    rows = list(qs[start : start + page_size + 1])
    return rows[:page_size], len(rows) > page_size


class TokenAuth(HttpBearer):
    """Authorization: Bearer <key>. Unknown, revoked or disabled keys are refused outright (401)."""

    def authenticate(self, request: HttpRequest, token: str):
        row = (
            ApiToken.objects.select_related("user").filter(key_hash=ApiToken.hash_key(token.strip())).first()
            if token
            else None
        )
        if row is None or row.revoked_at is not None or not row.user.is_active:
            raise ApiError(401, "token_invalid", _("API 令牌无效或已被吊销"))
        now = timezone.now()
        if row.last_used_at is None or now - row.last_used_at >= TOKEN_TOUCH_INTERVAL:
            # Conditional, so concurrent requests write once per interval at most.
            ApiToken.objects.filter(pk=row.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOKEN_TOUCH_INTERVAL)
            ).update(last_used_at=now)
        request.user = row.user
        request.api_token = row
        return row.user


class SessionAuth(APIKeyCookie):
    """The signed-in web session, so pages can call the API; unsafe methods need the CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None  # not signed in: a 401, not a CSRF complaint
        if check_csrf(request):  # safe methods pass; others need the token
            raise ApiError(403, "csrf_failed", _("CSRF 校验失败，请刷新页面后重试"))
        return user

    def authenticate(self, request: HttpRequest, key: str | None):
        return request.user if request.user.is_authenticated else None


router = Router(tags=["accounts"])


class PlaceRefOut(Out):
    id: int
    kind: str
    name: str


class RoleOut(Out):
    role: str
    label: str
    place: PlaceRefOut


class MeOut(Out):
    username: str
    full_name: str
    roles: list[RoleOut]
    capabilities: list[str]
    token: str | None = Field(None, description="name of the API token used, if any")


@router.get("/me", response={200: MeOut, **ERRORS}, summary="The signed-in user, their roles and capabilities")
def me(request):
    user = request.auth
    roles = assignments(user)
    capabilities = sorted({c for a in roles for c in CAPABILITIES.get(a.role, ())})
    token = getattr(request, "api_token", None)
    return {
        "username": user.username,
        "full_name": user.full_name,
        "roles": [
            {
                "role": a.role,
                "label": str(Role(a.role).label),
                "place": {"id": a.place.pk, "kind": a.place.kind, "name": a.place.name},
            }
            for a in roles
        ],
        "capabilities": capabilities,
        "token": token.name if token else None,
    }
