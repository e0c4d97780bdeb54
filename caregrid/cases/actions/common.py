"""What every write to help requests shares: the refusal (CaseError), the intake data, deadlines by urgency,
back-filled time, and the helpers that lock a request, save it and write its timeline event and audit row."""

import contextvars
import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.audit import audit_record
from caregrid.accounts.models import Role
from caregrid.accounts.notify import staff_at
from caregrid.people.validation import clean_text
from caregrid.places.models import Place, PlaceKind

from ..models import (
    DEFAULT_DEADLINES,
    CaseEvent,
    DeadlinePolicy,
    HelpRequest,
    Subcategory,
)
from ..taxonomy import Urgency

DESCRIPTION_MAX = 2000
NOTE_MAX = 2000
DUPLICATE_WINDOW = dt.timedelta(hours=48)
# An address matched with at least this confidence places the request without the operator's confirmation.
AUTO_PLACE_CONFIDENCE = 0.8
STAFF_ROLES = (Role.SUBDISTRICT_STAFF, Role.COMMUNITY_STAFF, Role.GRID_WORKER)
COMMAND_CENTRE_ROLES = (Role.DISTRICT_ADMIN,)


class CaseError(Exception):
    """A refused write, with a stable code, a Chinese message and the field concerned (if any)."""

    def __init__(self, code: str, message: str, field: str = ""):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


class Conflict(CaseError):
    def __init__(self):
        super().__init__("version_conflict", _("该工单已被他人更新，请刷新后再操作"))


@dataclass
class IntakeData:
    channel: str
    description: str
    category: str = ""  # empty: take the classifier's suggestion
    urgency: str = ""
    subcategory: Subcategory | None = None
    caller_name: str = ""
    caller_phone: str = ""
    resident: object = None
    place: Place | None = None  # household (or any place) when known; else matched from the address
    address_text: str = ""
    external_id: str = ""
    received_at: dt.datetime | None = None
    email: str = ""
    lat: Decimal | None = None
    long: Decimal | None = None
    source_ip: str | None = None
    resolution_due: dt.datetime | None = None  # a referring platform's own deadline, when earlier than ours


# --- helpers ---

_recorded_at: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar("case_recorded_at", default=None)


@contextmanager
def recorded_at(when: dt.datetime):
    """Record the steps taken inside as having happened at `when` (back-filling history that happened
    elsewhere: a referral platform's own timestamps, a paper log typed in later, demo data)."""
    token = _recorded_at.set(when)
    try:
        yield
    finally:
        _recorded_at.reset(token)


def _now() -> dt.datetime:
    return _recorded_at.get() or timezone.now()


DEADLINES_CACHE_SECONDS = 30


def _deadline_minutes() -> dict[str, tuple[int, int]]:
    """Minutes per urgency, read at most every 30 seconds per process (a change made in another process is
    in force everywhere within that time)."""
    cached = cache.get("caregrid:case_deadlines")
    if cached is None:
        cached = {u: DEFAULT_DEADLINES[u] for u in Urgency.values}
        for row in DeadlinePolicy.objects.all():
            cached[row.urgency] = (row.first_contact_minutes, row.resolution_minutes)
        cache.set("caregrid:case_deadlines", cached, DEADLINES_CACHE_SECONDS)
    return cached


def deadlines_for(urgency: str) -> tuple[dt.timedelta, dt.timedelta]:
    """(time to first contact, time to resolution) for an urgency, as the bureau configured them."""
    first, resolve = _deadline_minutes()[urgency]
    return dt.timedelta(minutes=first), dt.timedelta(minutes=resolve)


def _actor_name(actor) -> str:
    if getattr(actor, "is_authenticated", False):
        return str(actor)[:150]
    return (actor if isinstance(actor, str) else "system")[:150]


def _event(case: HelpRequest, *, actor, kind: str, note: str = "", before: str = "", public=True, data=None):
    CaseEvent.objects.create(
        request=case,
        at=_now(),
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_name=_actor_name(actor),
        kind=kind,
        from_status=before,
        to_status=case.status if before and before != case.status else "",
        note=note,
        public=public,
        data=data or {},
    )


def _audit(case: HelpRequest, *, actor, action: str, changes: dict | None = None) -> None:
    audit_record(actor=actor, action=action, obj=case, place_path=case.place_path, changes=changes or {})


def _locked(case: HelpRequest, expected_version: int | None) -> HelpRequest:
    locked = HelpRequest.objects.select_for_update().get(pk=case.pk)
    if expected_version is not None and locked.version != expected_version:
        raise Conflict()
    return locked


def _save(case: HelpRequest, fields: list[str]) -> HelpRequest:
    case.version = F("version") + 1
    case.save(update_fields=[*fields, "version", "updated_at"])
    case.refresh_from_db(fields=["version"])
    return case


def _require(case: HelpRequest, allowed, message: str) -> None:
    if case.status not in allowed:
        raise CaseError("bad_status", message % {"status": case.get_status_display()}, "status")


def _note(text: str, *, required: bool = False, field: str = "note") -> str:
    text = clean_text(text or "")
    if required and not text:
        raise CaseError("required", _("请填写说明"), field)
    if len(text) > NOTE_MAX:
        raise CaseError("too_long", _("说明不能超过%(n)s个字") % {"n": NOTE_MAX}, field)
    return text


def _next_number(day: dt.date) -> str:
    """Today's next request number, e.g. 20221215-0042; safe under concurrent intake (one upsert)."""
    table = connection.ops.quote_name("cases_casecounter")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (day, last) VALUES (%s, 1) "  # noqa: S608
            "ON CONFLICT (day) DO UPDATE SET last = " + table + ".last + 1 RETURNING last",
            [day],
        )
        (last,) = cursor.fetchone()
    return f"{day:%Y%m%d}-{last:04d}"


def _district_root() -> Place:
    root = Place.objects.filter(kind=PlaceKind.DISTRICT).order_by("id").first()
    if root is None:
        raise CaseError("no_district", _("系统中还没有区级地点，无法受理诉求"))
    return root


def _handling_place(case: HelpRequest) -> Place:
    """The place answerable for the request now: where it was dispatched, else its community (or above)."""
    if case.assigned_place_id:
        return case.assigned_place
    place = case.place
    chain = Place.objects.in_bulk(place.ancestor_ids)
    for pid in reversed(place.ancestor_ids):
        p = chain.get(pid)
        if p and p.kind in (PlaceKind.COMMUNITY, PlaceKind.SUBDISTRICT, PlaceKind.DISTRICT):
            return p
    return place


def _command_centre(case: HelpRequest) -> list:
    return staff_at([case.district_id], COMMAND_CENTRE_ROLES)


def _case_url(case: HelpRequest) -> str:
    return f"/cases/{case.pk}/"
