"""The one audit writer. Call `audit_record` inside the action's transaction."""

import contextvars
from dataclasses import dataclass
from typing import Any

from .models import AuditEvent


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    request_id: str = ""


_request_context: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "caregrid_request_context",
    default=RequestContext(),  # noqa: B039 (frozen, immutable)
)


def set_request_context(ctx: RequestContext) -> contextvars.Token:
    return _request_context.set(ctx)


def reset_request_context(token: contextvars.Token) -> None:
    _request_context.reset(token)


def audit_record(
    *,
    actor,
    action: str,
    obj: Any = None,
    object_type: str = "",
    object_id: Any = "",
    object_repr: str = "",
    place_path: str = "",
    changes: dict | None = None,
) -> AuditEvent:
    """Append one audit row; ip and request id come from the current request, if any."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
        place_path = place_path or getattr(obj, "place_path", "") or getattr(obj, "path", "")
    ctx = _request_context.get()
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=actor_obj,
        actor_name=(str(actor_obj) if actor_obj else (actor if isinstance(actor, str) else "system"))[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id or "")[:64],
        object_repr=(object_repr or "")[:255],
        place_path=place_path or "",
        changes=changes or {},
        ip=ctx.ip,
        request_id=ctx.request_id,
    )
