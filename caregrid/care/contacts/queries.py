"""Reads for the grid worker's round: whom to contact today, most at risk first, and what was done today."""

import datetime as dt

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import can, in_scope, scoped
from caregrid.care.models import CareAssignment, Contact
from caregrid.care.policies.queries import due_today
from caregrid.people.models import Resident, ResidentCategory
from caregrid.people.queries import category_active_q, resident_text_q, with_categories
from caregrid.places.models import ZoneStatus
from caregrid.places.queries import today, zone_status_expr

# Residents of these categories come first on the round: a missed day can cost a life.
URGENT_CATEGORY_CODES = (
    "dialysis",
    "pregnant",
    "elderly_alone",
    "elderly_no_family",
    "elderly_disabled",
    "disability_severe",
    "infant",
    "home_isolation",
)
TODAY_LIMIT = 300


def assigned_q(user, now: dt.datetime | None = None) -> Q:
    """Residents for whom the user is an active carer (包联)."""
    now = now or timezone.now()
    active = CareAssignment.objects.filter(carer=user, since__lte=now).filter(Q(until__isnull=True) | Q(until__gt=now))
    return Q(pk__in=active.values("resident_id"))


def residents_for_round(user) -> QuerySet[Resident]:
    """The residents whose contacts the user logs: priority residents in their scope, and those assigned to them."""
    wanted = assigned_q(user)
    if can(user, Cap.LOG_CONTACTS):
        visible = scoped(user, Resident.objects.filter(is_priority=True), Cap.LOG_CONTACTS)
        wanted |= Q(pk__in=visible.values("pk"))
    return Resident.objects.filter(wanted)


def keeps_a_round(user) -> bool:
    """Whether the user logs contacts anywhere: a role granting it, or an active assignment as a carer."""
    return can(user, Cap.LOG_CONTACTS) or Resident.objects.filter(assigned_q(user)).exists()


def resident_for_contact(user, pk) -> Resident:
    """One resident the user may log a contact for: in their scope or assigned to them; 404 otherwise."""
    resident = Resident.objects.filter(pk=pk).select_related("household", "district").first()
    if resident is None:
        raise Http404
    if in_scope(user, resident, Cap.LOG_CONTACTS) and can(user, Cap.LOG_CONTACTS):
        return resident
    if Resident.objects.filter(assigned_q(user), pk=resident.pk).exists():
        return resident
    raise Http404


def may_call(user, resident: Resident) -> bool:
    """Whether the user may see the resident's full phone number to call them."""
    return in_scope(user, resident, Cap.UNMASK) or Resident.objects.filter(assigned_q(user), pk=resident.pk).exists()


def _search(qs: QuerySet[Resident], q: str) -> QuerySet[Resident]:
    match, _ordering = resident_text_q(q, rooms=True)
    return qs if match is None else qs.filter(match)


def round_today(user, q: str = "", *, day: dt.date | None = None, limit: int = TODAY_LIMIT) -> list[Resident]:
    """The round in order of risk: residents whose cadence rules still ask for a contact today come first
    (overdue ones before the others), then urgent categories, sealed and controlled zones, and the longest since
    the last contact (never contacted first); those already done today go last. Each resident carries `due`
    (the rules' demand today), `urgent_category`, `zone_status`, `last_contact_at`, `contacted_today` and their
    categories in force (`active_links`)."""
    day = day or today()
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    urgent = ResidentCategory.objects.filter(
        category_active_q(day), resident_id=OuterRef("pk"), category__code__in=URGENT_CATEGORY_CODES
    )
    last = Contact.objects.filter(resident_id=OuterRef("pk")).order_by("-at").values("at")[:1]
    today_q = Contact.objects.filter(resident_id=OuterRef("pk"), at__gte=start)
    qs = (
        _search(residents_for_round(user), q)
        .select_related("household", "household__parent", "household__parent__parent")
        .annotate(
            urgent_category=Exists(urgent),
            zone_status=zone_status_expr(day),
            last_contact_at=Subquery(last),
            contacted_today=Exists(today_q),
        )
    )
    residents = list(with_categories(qs, day)[:limit])
    for resident, due in zip(residents, due_today(residents, day), strict=True):
        resident.due = due
        resident.needs_temperature = any(r.policy.temperature and not r.met for r in due.due_rules)
    zone_rank = {ZoneStatus.SEALED: 0, ZoneStatus.CONTROLLED: 1}
    never = timezone.make_aware(dt.datetime(1970, 1, 1))
    residents.sort(
        key=lambda r: (
            r.due.is_done if r.due.is_due else r.contacted_today,
            not r.due.overdue,
            not r.due.is_due,
            not r.urgent_category,
            zone_rank.get(r.zone_status, 2),
            r.last_contact_at or never,
            r.pk,
        )
    )
    return residents


def household_members(residents: list[Resident]) -> dict[int, list[Resident]]:
    """The other people living in each listed resident's household, by household id (one query)."""
    ids = {r.household_id for r in residents}
    members: dict[int, list[Resident]] = {}
    for person in Resident.objects.filter(household_id__in=ids).order_by("birth_date", "pk"):
        members.setdefault(person.household_id, []).append(person)
    return members


def contacts_today(user, *, day: dt.date | None = None) -> QuerySet[Contact]:
    """The contacts the user logged today, latest first."""
    day = day or today()
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    end = start + dt.timedelta(days=1)
    return (
        Contact.objects.filter(carer=user, at__gte=start, at__lt=end)
        .select_related("resident", "help_request")
        .order_by("-at")
    )
