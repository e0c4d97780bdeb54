"""Reads of help requests shared by pages, the API and Open311; every one passes through the scoping function."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import scope_places, scoped
from caregrid.people.models import Resident
from caregrid.people.validation import clean_phone, clean_text, phone_tail
from caregrid.places.models import Place, PlaceKind
from caregrid.places.tree import under

from .actions import AUTO_PLACE_CONFIDENCE, DUPLICATE_WINDOW
from .models import DONE_STATUSES, OPEN_STATUSES, HelpRequest, Status


def cases_visible(user, capability: str = Cap.VIEW_CASES) -> QuerySet[HelpRequest]:
    return scoped(user, HelpRequest.objects.all(), capability)


@dataclass
class CaseFilters:
    place: Place | None = None
    status: str = ""  # a status code, or "open", "done", "overdue", "unacknowledged"
    category: str = ""
    urgency: str = ""
    channel: str = ""
    q: str = ""  # number, words of the description, the caller's name or the last digits of a phone
    assigned_to: Place | None = None  # requests dispatched to this place (the place's queue)
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def overdue_q(now: dt.datetime) -> Q:
    """Open requests whose running clock has passed."""
    return Q(status__in=OPEN_STATUSES) & (
        Q(first_contact_at__isnull=True, first_contact_due__lt=now) | Q(resolution_due__lt=now)
    )


def case_search(user, filters: CaseFilters, capability: str = Cap.VIEW_CASES) -> QuerySet[HelpRequest]:
    """The user's requests matching the filters, most pressing first for open queues, newest first otherwise."""
    qs = cases_visible(user, capability)
    now = timezone.now()
    if filters.place is not None:
        qs = qs.filter(under(filters.place.path, "place_path") | under(filters.place.path, "grid_path"))
    if filters.assigned_to is not None:
        qs = qs.filter(assigned_place=filters.assigned_to)
    status = filters.status
    if status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status == "done":
        qs = qs.filter(status__in=DONE_STATUSES)
    elif status == "overdue":
        qs = qs.filter(overdue_q(now))
    elif status == "unacknowledged":
        qs = qs.filter(status=Status.DISPATCHED)
    elif status in Status.values:
        qs = qs.filter(status=status)
    if filters.category:
        qs = qs.filter(category=filters.category)
    if filters.urgency:
        qs = qs.filter(urgency=filters.urgency)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.since is not None:
        qs = qs.filter(received_at__gte=filters.since)
    if filters.until is not None:
        qs = qs.filter(received_at__lt=filters.until)
    text = clean_text(filters.q or "")
    if text:
        if text.isdigit() and len(text) == 4:
            qs = qs.filter(caller_phone_tail=text)
        elif text.replace("-", "").isdigit() and len(text) >= 8:
            phone, valid = clean_phone(text)
            qs = qs.filter(Q(number=text) | Q(caller_phone=phone) if valid else Q(number=text))
        else:
            qs = qs.filter(Q(description__contains=text) | Q(caller_name=text) | Q(address_text__contains=text))
    if status in ("open", "overdue", "unacknowledged") or status in (s.value for s in OPEN_STATUSES):
        # Urgent first, then the clock that runs out soonest.
        return qs.order_by("-escalation_level", "resolution_due", "id")
    return qs.order_by("-received_at", "-id")


def with_places(qs: QuerySet[HelpRequest]) -> QuerySet[HelpRequest]:
    return qs.select_related("place", "assigned_place", "subcategory")


def duration_text(value: dt.timedelta | None) -> str:
    """A duration as the bureau reads it: 3天4小时, 1小时25分, 12分钟, 不足1分钟; "—" when there is none."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    if minutes < 1:
        return _("不足1分钟")
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(d)s天%(h)s小时") % {"d": days, "h": hours}
    if hours:
        return _("%(h)s小时%(m)s分") % {"h": hours, "m": minutes}
    return _("%(m)s分钟") % {"m": minutes}


def clock(case: HelpRequest, now: dt.datetime | None = None) -> dict | None:
    """The running deadline of an open request: what, when, minutes left (negative when overdue)."""
    due = case.clock_due()
    if due is None:
        return None
    now = now or timezone.now()
    minutes = int((due - now).total_seconds() // 60)
    return {
        "what": "first_contact" if case.first_contact_at is None else "resolution",
        "due": due,
        "minutes_left": max(minutes, 0),
        "minutes_late": max(-minutes, 0),
        "text": duration_text(abs(due - now)),
        "overdue": minutes < 0,
    }


# --- the hotline screen ---


@dataclass
class CallerMatch:
    residents: list[Resident]
    past: list[HelpRequest]


def caller_lookup(user, phone_text: str, *, limit: int = 8) -> CallerMatch:
    """Residents with this phone (or emergency phone) and earlier requests from it, within the user's scope.
    Four digits match the tail of a phone; a full number matches exactly."""
    text = clean_text(phone_text or "").replace(" ", "")
    if len(text) < 4:
        return CallerMatch([], [])
    from caregrid.people.queries import residents_visible

    phone, valid = clean_phone(text)
    residents = residents_visible(user).select_related("household")
    requests = cases_visible(user)
    if valid:
        residents = residents.filter(Q(phone=phone) | Q(emergency_phone=phone))
        requests = requests.filter(caller_phone=phone)
    elif text.isdigit() and len(text) == 4:
        residents = residents.filter(phone_tail=text)
        requests = requests.filter(caller_phone_tail=text)
    else:
        return CallerMatch([], [])
    return CallerMatch(list(residents[:limit]), list(requests.order_by("-received_at")[:limit]))


def household_people(resident: Resident) -> list[Resident]:
    return list(Resident.objects.filter(household_id=resident.household_id).order_by("birth_date"))


# --- duplicates ---


def duplicate_candidates(case: HelpRequest, *, limit: int = 5) -> list[HelpRequest]:
    """Requests of the same household or caller phone, same category, within 48 hours either side,
    not already linked: suggestions for the operator, never linked automatically."""
    same_source = Q()
    if case.place.kind == PlaceKind.HOUSEHOLD:
        same_source |= Q(place_id=case.place_id)
    if case.resident_id:
        same_source |= Q(resident_id=case.resident_id)
    if case.caller_phone and phone_tail(case.caller_phone, True):
        same_source |= Q(caller_phone=case.caller_phone)
    if not same_source:
        return []
    window = (case.received_at - DUPLICATE_WINDOW, case.received_at + DUPLICATE_WINDOW)
    qs = (
        HelpRequest.objects.filter(same_source, category=case.category, received_at__range=window)
        .exclude(pk=case.pk)
        .exclude(duplicate_of=case)
        .exclude(status=Status.CANCELLED)
    )
    if case.duplicate_of_id:
        qs = qs.exclude(pk=case.duplicate_of_id)
    return list(qs.order_by("received_at")[:limit])


def duplicate_candidates_for(
    user, *, category: str, phone: str = "", place: Place | None = None, resident=None
) -> list[HelpRequest]:
    """Before a request is saved: recent requests the new one may repeat (the hotline screen warns)."""
    since = timezone.now() - DUPLICATE_WINDOW
    source = Q()
    phone, valid = clean_phone(phone)
    if phone and valid:
        source |= Q(caller_phone=phone)
    if place is not None:
        source |= Q(place_id=place.pk)
    if resident is not None:
        source |= Q(resident_id=resident.pk)
    if not source or not category:
        return []
    return list(
        cases_visible(user)
        .filter(source, category=category, received_at__gte=since)
        .exclude(status=Status.CANCELLED)
        .order_by("-received_at")[:5]
    )


# --- where a request logged by a user goes ---


def match_within(user, capability: str = Cap.TAKE_CASES) -> Place | None:
    """The subtree to look for a user's addresses in: their one place (a district, a community, a grid),
    else their places' district."""
    places = scope_places(user, capability)
    if len(places) == 1:
        return places[0]
    districts = {p.district_id for p in places}
    return Place.objects.get(pk=districts.pop()) if len(districts) == 1 else None


def visible_place_ids(user, place_ids: list[int], capability: str = Cap.TAKE_CASES) -> set[int]:
    return set(scoped(user, Place.objects.filter(pk__in=place_ids), capability).values_list("pk", flat=True))


def intake_place(user, text: str, capability: str = Cap.TAKE_CASES) -> tuple[Place | None, Place | None]:
    """(the place a request logged by this user goes to, the district it goes to).

    District-wide roles get (None, their district): case_create matches the address in the district.
    Anyone else gets the matched place when it is confident and in their scope, else their own place,
    so what they log stays in their view."""
    from caregrid.places.address import match_address

    places = scope_places(user, capability)
    if not places:
        return None, None
    for p in places:
        if p.kind == PlaceKind.DISTRICT:
            return None, p
    district = Place.objects.get(pk=places[0].district_id)
    match = match_address(text, within=match_within(user, capability))
    if (
        match is not None
        and match.place is not None
        and match.confidence >= AUTO_PLACE_CONFIDENCE
        and visible_place_ids(user, [match.place.pk], capability)
    ):
        return match.place, district
    return places[0], district


# --- the triage suggestion shown while an operator types ---


@dataclass
class Suggestion:
    triage: object | None  # triage.Triage, or None without a description
    match: object | None  # places.address.AddressMatch, or None without an address
    candidates: list  # the match's candidates the user may see, best first
    place: Place | None  # the best visible candidate when it is the match itself
    duplicates: list[HelpRequest]


def suggest(user, *, text: str, address_text: str = "", phone: str = "", category: str = "") -> Suggestion:
    """Category, urgency and red flags of the text, its address matched within the user's scope, and recent
    requests it may repeat — nothing saved (the hotline screen and the API's triage endpoint)."""
    from caregrid.places.address import match_address

    from .triage import classify

    triage = classify(text) if text.strip() else None
    match = match_address(address_text or text, within=match_within(user))
    candidates, place = [], None
    if match is not None:
        visible = visible_place_ids(user, [c.place_id for c in match.candidates])
        candidates = [c for c in match.candidates if c.place_id in visible]
        if candidates and match.place is not None and candidates[0].place_id == match.place_id:
            place = match.place
    duplicates = []
    if triage is not None:
        duplicates = duplicate_candidates_for(user, category=category or triage.category, phone=phone, place=place)
    return Suggestion(triage, match, candidates, place, duplicates)
