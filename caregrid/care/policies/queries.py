"""What is due: the cadence rules in force for each resident on a day, the contacts that satisfy them, and the
coverage of a place. Everything a day needs is loaded with a handful of queries for all residents at once
(categories, zones, mode history, rules, contact counts); the rest is worked out in memory."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import scope_places, scoped
from caregrid.people.models import Category, Resident, ResidentCategory
from caregrid.places.models import Mode, ModeChange, Place, PlaceKind, ZonePeriod
from caregrid.places.tree import under

from ..models import CarePolicy, Contact, PeriodUnit, Reached

# Contacts due today and not made by this local time are overdue (the bureau's daily report closes then).
DEFAULT_DUE_BY = dt.time(18, 0)
SERIES_DAYS = 30


def due_by() -> dt.time:
    return getattr(settings, "CAREGRID_CARE_DUE_BY", DEFAULT_DUE_BY)


def policies_in_force(at: dt.datetime | None = None) -> list[CarePolicy]:
    at = at or timezone.now()
    return list(
        CarePolicy.objects.filter(Q(valid_until__isnull=True) | Q(valid_until__gt=at), valid_from__lte=at)
        .select_related("category", "set_by")
        .order_by("mode", "category__sort_order", "category__code", "zone", "per", "channel")
    )


def policy_history() -> list[CarePolicy]:
    """Every rule ever set, newest first within each category."""
    return list(
        CarePolicy.objects.select_related("category", "set_by").order_by(
            "category__sort_order", "category__code", "mode", "zone", "channel", "-valid_from", "-id"
        )
    )


# --- Periods and moments ------------------------------------------------------------------------------------


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _period_start(day: dt.date, per: str) -> dt.date:
    if per == PeriodUnit.WEEK:
        return _week_start(day)
    if per == PeriodUnit.MONTH:
        return day.replace(day=1)
    return day


def _moment(day: dt.date, now: dt.datetime) -> dt.datetime:
    """The moment a day's due list is judged at: now for today, the day's last instant for a past day."""
    end = _day_start(day + dt.timedelta(days=1)) - dt.timedelta(microseconds=1)
    return min(end, now)


# --- Results ------------------------------------------------------------------------------------------------


@dataclass
class RuleDue:
    """One rule in force for one resident on a day."""

    policy: CarePolicy
    required: int  # contacts required today under this rule (0: already satisfied earlier in the week/month)
    done: int  # qualifying contacts today, at most `required`

    @property
    def met(self) -> bool:
        return self.done >= self.required


@dataclass
class ResidentDue:
    """One resident on a day. `required` is the strictest rule's demand (one contact counts for every rule it
    fits); the resident is done when every rule due that day is met."""

    resident: Resident
    zone: str  # zone status in force on the day ('' when none)
    category_ids: set[int]
    rules: list[RuleDue] = field(default_factory=list)
    is_due: bool = False
    is_done: bool = False
    required: int = 0
    done: int = 0
    overdue: bool = False

    @property
    def due_rules(self) -> list[RuleDue]:
        return [r for r in self.rules if r.required]

    def settle(self, late: bool) -> None:
        due = self.due_rules
        self.is_due = bool(due)
        self.required = max((r.required for r in due), default=0)
        self.done = min((r.done for r in due), default=0)
        self.is_done = self.is_due and all(r.met for r in due)
        self.overdue = late and self.is_due and not self.is_done


# --- Loading -----------------------------------------------------------------------------------------------


class _Loader:
    """Everything needed to judge the days first..last for a set of residents, loaded once."""

    def __init__(self, residents: list[Resident], resident_filter, first: dt.date, last: dt.date, now: dt.datetime):
        self.residents = residents
        self.first, self.last, self.now = first, last, now
        last_moment = _moment(last, now)
        self.modes = list(
            ModeChange.objects.filter(started_at__lte=last_moment)
            .order_by("started_at", "id")
            .values_list("started_at", "mode")
        )
        self.policies = list(
            CarePolicy.objects.filter(valid_from__lte=last_moment)
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=_day_start(first)))
            .select_related("category")
        )
        policy_categories = {p.category_id for p in self.policies}
        self.links = list(
            ResidentCategory.objects.filter(
                resident_filter,
                category_id__in=policy_categories,
                category__is_active=True,
            )
            .filter(Q(since__isnull=True) | Q(since__lte=last))
            .filter(Q(until__isnull=True) | Q(until__gte=first))
            .values_list("resident_id", "category_id", "since", "until")
        )
        self.zone_periods = list(
            ZonePeriod.objects.filter(start_date__lte=last)
            .filter(Q(end_date__isnull=True) | Q(end_date__gte=first))
            .order_by("start_date", "id")
            .values_list("place_id", "status", "start_date", "end_date")
        )
        # Reached contacts per resident, local day, channel and whether a temperature was taken: one grouped query
        # from the start of the earliest week or month any day needs. The local day is numbered in the query by
        # comparing with each day's first instant (portable, exact across offset changes, no per-row function).
        # For a single day only the period starts matter, so the contacts before it fall into at most two
        # buckets (since the month's start, since the week's start), each counted on its first day.
        self.since = self._earliest_period_start(first, last_moment)
        self.days = (last - self.since).days + 1
        if first == last:
            bounds = {self.since, first} | {d for d in (_week_start(first), first.replace(day=1)) if d > self.since}
            bucket_days = sorted(bounds)
        else:
            bucket_days = [self.since + dt.timedelta(days=i) for i in range(self.days)]
        day_index = Case(
            *[
                When(at__lt=_day_start(following), then=Value((start - self.since).days))
                for start, following in zip(bucket_days, bucket_days[1:], strict=False)
            ],
            default=Value((bucket_days[-1] - self.since).days),
            output_field=IntegerField(),
        )
        temp = Case(When(temperature__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField())
        rows = (
            Contact.objects.filter(
                resident_filter,
                outcome=Reached.REACHED,
                at__gte=_day_start(self.since),
                at__lte=last_moment,
            )
            .annotate(day=day_index, temp=temp)
            .values_list("resident_id", "day", "channel", "temp")
            .annotate(n=Count("id"))
            .order_by()
        )
        self.counts: dict[int, list[tuple[int, str, int, int]]] = defaultdict(list)
        for resident_id, day, channel, took_temperature, n in rows:
            self.counts[resident_id].append((day, channel, took_temperature, n))
        self._per_day: dict[tuple[int, str, bool], list[int]] = {}
        self._zones: dict[tuple[int, ...], dict[int, str]] = {}

    def _earliest_period_start(self, first: dt.date, last_moment: dt.datetime) -> dt.date:
        """The first day whose contacts count: the start of the month (or week) when a monthly (or weekly) rule
        of a mode in force during the days is among the rules, else the first day itself."""
        modes = {self.mode_at(_day_start(first))} | {
            mode for started_at, mode in self.modes if _day_start(first) < started_at <= last_moment
        }
        pers = {p.per for p in self.policies if p.mode in modes}
        since = first
        if PeriodUnit.WEEK in pers:
            since = min(since, _week_start(first))
        if PeriodUnit.MONTH in pers:
            since = min(since, first.replace(day=1))
        return since

    def per_day(self, resident_id: int, channel: str, temperature: bool) -> list[int]:
        """Qualifying contacts of one resident on each day from `since` (cached per rule shape)."""
        key = (resident_id, channel, temperature)
        counts = self._per_day.get(key)
        if counts is None:
            counts = [0] * self.days
            for day, contact_channel, took_temperature, n in self.counts.get(resident_id, ()):
                if (not channel or contact_channel == channel) and (not temperature or took_temperature):
                    counts[day] += n
            self._per_day[key] = counts
        return counts

    def mode_at(self, moment: dt.datetime) -> str:
        mode = Mode.PEACETIME
        for started_at, value in self.modes:
            if started_at > moment:
                break
            mode = value
        return mode

    def zones_on(self, day: dt.date) -> dict[int, str]:
        """Zone status per resident on the day: the deepest place's period wins, the latest start on one place."""
        in_force = tuple(
            i
            for i, (_p, _s, start, end) in enumerate(self.zone_periods)
            if start <= day and (end is None or end >= day)
        )
        cached = self._zones.get(in_force)
        if cached is not None:
            return cached
        by_place = {self.zone_periods[i][0]: self.zone_periods[i][1] for i in in_force}
        result = {}
        for r in self.residents:
            found = ""
            for ancestor in r.place_path.split("."):
                if ancestor:
                    found = by_place.get(int(ancestor), found)
            result[r.pk] = found
        self._zones[in_force] = result
        return result

    def categories_on(self, day: dt.date) -> dict[int, set[int]]:
        result: dict[int, set[int]] = defaultdict(set)
        for resident_id, category_id, since, until in self.links:
            if (since is None or since <= day) and (until is None or until >= day):
                result[resident_id].add(category_id)
        return result

    def _day_rules(self, day: dt.date):
        """Per resident, the distinct rules in force on the day (a generator of (resident, zone, categories,
        policies)), and whether the cut-off has passed."""
        moment = _moment(day, self.now)
        mode = self.mode_at(moment)
        by_category: dict[int, list[CarePolicy]] = defaultdict(list)
        for p in self.policies:
            if p.mode == mode and p.valid_from <= moment and (p.valid_until is None or p.valid_until > moment):
                by_category[p.category_id].append(p)
        zones = self.zones_on(day)
        categories = self.categories_on(day)
        for resident in self.residents:
            cats = categories.get(resident.pk, set())
            zone = zones.get(resident.pk, "")
            policies, seen = [], set()
            for category_id in cats:
                for policy in by_category.get(category_id, ()):
                    if policy.zone and policy.zone != zone:
                        continue
                    key = (policy.times, policy.per, policy.channel, policy.temperature)
                    if key not in seen:  # the same demand through two categories is one demand
                        seen.add(key)
                        policies.append(policy)
            yield resident, zone, cats, policies

    def _late(self, day: dt.date) -> bool:
        today = timezone.localdate(self.now)
        return day < today or (day == today and timezone.localtime(self.now).time() >= due_by())

    def evaluate(self, day: dt.date) -> list[ResidentDue]:
        late = self._late(day)
        result = []
        for resident, zone, cats, policies in self._day_rules(day):
            item = ResidentDue(resident=resident, zone=zone, category_ids=cats)
            item.rules = [self._rule_due(resident.pk, policy, day) for policy in policies]
            item.settle(late)
            result.append(item)
        return result

    def _demand(self, resident_id: int, policy: CarePolicy, day: dt.date) -> tuple[int, int]:
        """(contacts required on the day under the rule, qualifying contacts made that day)."""
        if resident_id not in self.counts:
            return (policy.times if policy.per == PeriodUnit.DAY else 1), 0
        counts = self.per_day(resident_id, policy.channel, policy.temperature)
        index = (day - self.since).days
        if policy.per == PeriodUnit.DAY:
            return policy.times, counts[index]
        # A weekly or monthly rule asks for a contact today while the period's quota is not yet met.
        earlier = sum(counts[(_period_start(day, policy.per) - self.since).days : index])
        return int(earlier < policy.times), counts[index]

    def _rule_due(self, resident_id: int, policy: CarePolicy, day: dt.date) -> RuleDue:
        required, made = self._demand(resident_id, policy, day)
        return RuleDue(policy=policy, required=required, done=min(made, required))


def _resident_list(residents) -> tuple[list[Resident], Q]:
    if isinstance(residents, QuerySet):
        ids_query = residents.values("pk")
        listed = list(residents.only("id", "name", "place_path", "grid_path"))
        return listed, Q(resident_id__in=ids_query)
    listed = list(residents)
    return listed, Q(resident_id__in=[r.pk for r in listed])


def due_today(residents, day: dt.date | None = None, *, now: dt.datetime | None = None) -> list[ResidentDue]:
    """For each resident: the rules in force (active categories, zone on the day, the mode in force), contacts
    required and made that day, and whether they are overdue. `residents` is a list or a queryset (a queryset
    is used as a subquery, so a whole community is a few queries). The result follows the residents' order."""
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    listed, resident_filter = _resident_list(residents)
    if not listed:
        return []
    return _Loader(listed, resident_filter, day, day, now).evaluate(day)


# --- Coverage ------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    key: object
    label: str
    due: int = 0
    done: int = 0
    overdue: int = 0
    missed_twice: int = 0

    @property
    def rate(self) -> int | None:
        return round(100 * self.done / self.due) if self.due else None


@dataclass
class SeriesPoint:
    day: dt.date
    due: int
    done: int
    overdue: int


@dataclass
class Coverage:
    place: Place
    day: dt.date
    total: Tally
    by_grid: list[Tally]
    by_carer: list[Tally]
    by_category: list[Tally]
    series: list[SeriesPoint]
    overdue: list  # DueItem, most at risk first
    missed_twice: list[Resident]
    by_children: bool = False  # by_grid counts the places one level down (above a community)
    listed: bool = True  # the names are listed (a community or finer)
    stale: bool = False  # the day's list is being rebuilt after a change of mode, rules or zones
    unlisted: bool = False  # no list was kept for that day


# Places at or above these kinds have their past days summarized per grid (DueSummary); finer places are
# counted from the due items themselves.
SUMMARIZED_KINDS = {PlaceKind.DISTRICT, PlaceKind.SUBDISTRICT, PlaceKind.COMMUNITY, PlaceKind.GRID}
LIST_LIMIT = 500
COMMUNITY_IDS = 3  # a community's path: district.subdistrict.community.


def _path_field(place: Place) -> str:
    return "grid_path" if place.kind == PlaceKind.GRID else "place_path"


def due_items(user, place: Place, day: dt.date) -> QuerySet:
    """The day's due items under a place that the user may see (the day must have been built: ensure_day)."""
    from ..models import DueItem

    return scoped(user, DueItem.objects.filter(day=day), Cap.VIEW_CARE).filter(under(place.path, _path_field(place)))


def is_late(day: dt.date, now: dt.datetime) -> bool:
    """Whether the day's contacts not made yet are overdue: a past day, or today after the cut-off."""
    today = timezone.localdate(now)
    return day < today or (day == today and timezone.localtime(now).time() >= due_by())


def overdue_items(user, place: Place, day: dt.date, *, now: dt.datetime | None = None) -> QuerySet:
    """Residents still owed a contact on the day (whether or not the cut-off has passed), most at risk first:
    urgent categories, sealed then controlled zones, the longest since the last reached contact."""
    now = now or timezone.now()
    _day_state(day, now)
    zone_rank = Case(
        When(zone="sealed", then=Value(0)),
        When(zone="controlled", then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        due_items(user, place, day)
        .filter(required__gt=0, met=False)
        .annotate(zone_rank=zone_rank)
        .select_related("resident")
        .order_by("-urgent", "zone_rank", F("last_contact_at").asc(nulls_first=True), "resident_id")
    )


# Summary dimensions (DueSummary.dim): the group itself, and its counts by category and by carer.
DIM_TOTAL, DIM_CATEGORY, DIM_CARER = "", "category", "carer"
# Above a community the coverage page counts; the names are listed a community or a grid at a time.
LISTED_KINDS_EXCLUDED = {PlaceKind.DISTRICT, PlaceKind.SUBDISTRICT}


def coverage(user, place: Place, day: dt.date | None = None, *, now: dt.datetime | None = None) -> Coverage:
    """Due, done, overdue and not reached twice in a row under a place on a day — by grid (by place one level
    down above a community), by carer and by category — with the last 30 days' series. A grid, community or
    larger place the user sees whole is read from the per-grid summaries; a finer place or a partial view from
    the due items themselves."""
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    state = _day_state(day, now)
    late = is_late(day, now)
    summarized = place.kind in SUMMARIZED_KINDS and _sees_all_under(user, place)
    counts = _summary_counts(place, day) if summarized else _item_counts(user, place, day)

    total = Tally(None, str(place))
    groups: dict[object, Tally] = {}
    carers: dict[str, Tally] = {}
    categories: dict[str, Tally] = {}
    by_children = place.kind in LISTED_KINDS_EXCLUDED
    depth = len(_ids(place.path))
    for (group, dim, key), (due, done, missed) in counts.items():
        if dim == DIM_TOTAL:
            _add(total, due, done, missed, late)
            ids = _ids(group)
            # Above a community: the place one level down; else the grid (a community's own group has none).
            child = _child_id(ids, depth) if by_children else (ids[-1] if len(ids) > COMMUNITY_IDS else None)
            _add(groups.setdefault(child, Tally(child, "")), due, done, missed, late)
        elif dim == DIM_CATEGORY:
            _add(categories.setdefault(key, Tally(key, "")), due, done, missed, late)
        elif dim == DIM_CARER:
            _add(carers.setdefault(key, Tally(key or None, "")), due, done, missed, late)
    places = Place.objects.in_bulk([k for k in groups if k is not None])
    for key, tally in groups.items():
        tally.label = places[key].name if key in places else _("未划网格")
    category_names = Category.objects.in_bulk([int(k) for k in categories])
    by_category = []
    for key, tally in categories.items():
        category = category_names.get(int(key))
        if category is not None:
            tally.key, tally.label = category.pk, category.label
            by_category.append((category.sort_order, category.code, tally))
    users = _user_model().objects.in_bulk([int(k[1:]) for k in carers if k.startswith("u")])
    for key, tally in carers.items():
        if key.startswith("u"):
            tally.label = str(users.get(int(key[1:]), key))
        elif key.startswith("n"):
            tally.label = key[1:].split("/")[0]
        else:
            tally.label = _("未包联")

    listed = place.kind not in LISTED_KINDS_EXCLUDED
    overdue = list(overdue_items(user, place, day, now=now)[:LIST_LIMIT]) if late and listed else []
    missed_twice = []
    if listed:
        missed_twice = [
            i.resident
            for i in due_items(user, place, day)
            .filter(missed__gte=2)
            .select_related("resident")
            .order_by("place_path", "resident_id")[:LIST_LIMIT]
        ]
    return Coverage(
        place=place,
        day=day,
        total=total,
        by_grid=sorted(groups.values(), key=lambda t: (t.key is None, t.label)),
        by_carer=sorted(carers.values(), key=lambda t: (t.key is None, -t.overdue, t.label)),
        by_category=[t for _o, _c, t in sorted(by_category, key=lambda x: (x[0], x[1]))],
        series=coverage_series(user, place, day, now=now, summarized=summarized),
        overdue=overdue,
        missed_twice=missed_twice,
        by_children=by_children,
        listed=listed,
        stale=state.stale_since is not None,
        unlisted=state.built_at is None and state.stale_since is None,
    )


def _day_state(day: dt.date, now: dt.datetime):
    """The day's list, built first when it is today or the district is small; a large district's day that
    was never listed (before the lists were kept) is not worked out inside a page request."""
    from ..models import DueDay, DueItem
    from .daylist import ensure_day, inline_limit

    state = DueDay.objects.filter(day=day).first()
    if state is not None or day == timezone.localdate(now):
        return ensure_day(day, now=now)
    if DueItem.objects.filter(day=timezone.localdate(now)).count() <= inline_limit():
        return ensure_day(day, now=now)
    return DueDay(day=day)


def _add(tally: Tally, due: int, done: int, missed: int, late: bool) -> None:
    tally.due += due
    tally.done += done
    tally.overdue += (due - done) if late else 0
    tally.missed_twice += missed


def _child_id(ids: list[int], depth: int) -> int | None:
    return ids[depth] if len(ids) > depth else None


def _ids(path: str) -> list[int]:
    return [int(p) for p in (path or "").split(".") if p]


def _summary_counts(place: Place, day: dt.date) -> dict:
    from ..models import DueSummary

    rows = DueSummary.objects.filter(under(place.path, "group_path"), day=day).values_list(
        "group_path", "dim", "key", "due", "done", "missed_twice"
    )
    return {(g, dim, key): (due, done, missed) for g, dim, key, due, done, missed in rows}


def _item_counts(user, place: Place, day: dt.date) -> dict:
    from .daylist import count_items  # the module imports this one

    rows = due_items(user, place, day).values_list("group_path", "categories", "carers", "required", "met", "missed")
    return count_items(rows)


def coverage_series(user, place: Place, day: dt.date, *, now: dt.datetime, summarized: bool) -> list[SeriesPoint]:
    """Due, done and overdue on each of the 30 days up to `day`: from the per-grid summaries, or from the due
    items of a finer place. A small district's missing past days are built on the way; a large one's are left
    to the worker (they show as nothing due)."""
    from ..models import DueDay, DueItem, DueSummary
    from .daylist import ensure_day, inline_limit

    first = day - dt.timedelta(days=SERIES_DAYS - 1)
    days = [first + dt.timedelta(days=i) for i in range(SERIES_DAYS)]
    ready = set(
        DueDay.objects.filter(
            day__gte=first, day__lte=day, built_at__isnull=False, stale_since__isnull=True
        ).values_list("day", flat=True)
    )
    missing = [d for d in days if d not in ready]
    if missing and DueItem.objects.filter(day=timezone.localdate(now)).count() <= inline_limit():
        for d in missing:
            ensure_day(d, now=now)
    points: dict[dt.date, tuple[int, int]] = {d: (0, 0) for d in days}
    if summarized:
        rows = (
            DueSummary.objects.filter(under(place.path, "group_path"), day__in=days, dim=DIM_TOTAL)
            .values_list("day")
            .annotate(due=Sum("due"), done=Sum("done"))
            .order_by()
        )
    else:
        rows = (
            scoped(user, DueItem.objects.filter(day__in=days), Cap.VIEW_CARE)
            .filter(under(place.path, _path_field(place)))
            .values_list("day")
            .annotate(due=Count("id", filter=Q(required__gt=0)), done=Count("id", filter=Q(required__gt=0, met=True)))
            .order_by()
        )
    for d, due, done in rows:
        points[d] = (due or 0, done or 0)
    return [SeriesPoint(d, due, done, (due - done) if is_late(d, now) else 0) for d, (due, done) in points.items()]


def _sees_all_under(user, place: Place) -> bool:
    """Whether the user sees everything under the place (the summaries carry no finer scope than a grid)."""
    for root in scope_places(user, Cap.VIEW_CARE):
        if place.path.startswith(root.path) and (root.kind != PlaceKind.GRID or place.kind == PlaceKind.GRID):
            return True
    return False


def _user_model():
    from django.contrib.auth import get_user_model

    return get_user_model()
