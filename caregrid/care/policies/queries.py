"""What is due: the cadence rules in force for each resident on a day, the contacts that satisfy them, and the
coverage of a place. Everything a day needs is loaded with a handful of queries for all residents at once
(categories, zones, mode history, rules, contact counts); the rest is worked out in memory."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import scoped
from caregrid.people.models import Resident, ResidentCategory
from caregrid.places.models import Mode, ModeChange, Place, PlaceKind, ZonePeriod
from caregrid.places.tree import under

from ..models import CareAssignment, CarePolicy, Contact, PeriodUnit, Reached

# Contacts due today and not made by this local time are overdue (the bureau's daily report closes then).
DEFAULT_DUE_BY = dt.time(18, 0)
SERIES_DAYS = 30
# How far back "not reached twice in a row" looks for the last two attempts.
MISSED_LOOKBACK_DAYS = 14


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
        self.since = min(_week_start(first), first.replace(day=1))
        self.days = (last - self.since).days + 1
        starts = [_day_start(self.since + dt.timedelta(days=i)) for i in range(1, self.days)]
        day_index = Case(
            *[When(at__lt=start, then=Value(i)) for i, start in enumerate(starts)],
            default=Value(self.days - 1),
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

    def tally(self, day: dt.date) -> "SeriesPoint":
        """Residents due, done and overdue on the day, counted without building the per-resident results."""
        late = self._late(day)
        due = done = 0
        for resident, _zone, _cats, policies in self._day_rules(day):
            if not policies:
                continue
            demands = [self._demand(resident.pk, policy, day) for policy in policies]
            open_demands = [(required, made) for required, made in demands if required]
            if open_demands:
                due += 1
                done += all(made >= required for required, made in open_demands)
        return SeriesPoint(day, due, done, due - done if late else 0)

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

    def add(self, item: ResidentDue, missed: bool) -> None:
        if item.is_due:
            self.due += 1
            self.done += item.is_done
            self.overdue += item.overdue
        self.missed_twice += missed


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
    overdue: list[ResidentDue]
    missed_twice: list[Resident]


def care_residents(user, place: Place) -> QuerySet[Resident]:
    """Residents under a place the user may see care rounds for (a grid finds its residents by grid_path)."""
    path_field = "grid_path" if place.kind == PlaceKind.GRID else "place_path"
    with_rules = ResidentCategory.objects.filter(category_id__in=CarePolicy.objects.values("category_id")).values(
        "resident_id"
    )
    return (
        scoped(user, Resident.objects.all(), Cap.VIEW_CARE)
        .filter(under(place.path, path_field), pk__in=with_rules)
        .order_by("place_path", "id")
    )


def _missed_twice(resident_filter, day: dt.date, now: dt.datetime) -> set[int]:
    """Residents whose last two contact attempts up to the day's end were both not reached."""
    rows = (
        Contact.objects.filter(
            resident_filter,
            at__gte=_day_start(day - dt.timedelta(days=MISSED_LOOKBACK_DAYS)),
            at__lte=_moment(day, now),
        )
        .order_by("resident_id", "-at", "-id")
        .values_list("resident_id", "outcome")
    )
    last: dict[int, list[str]] = defaultdict(list)
    for resident_id, outcome in rows:
        if len(last[resident_id]) < 2:
            last[resident_id].append(outcome)
    return {rid for rid, outcomes in last.items() if outcomes == [Reached.NOT_REACHED, Reached.NOT_REACHED]}


def coverage(user, place: Place, day: dt.date | None = None, *, now: dt.datetime | None = None) -> Coverage:
    """Due, done, overdue and not reached twice in a row under a place on a day, by grid, carer and category,
    with the last 30 days' series. A fixed number of queries whatever the number of residents."""
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    first = day - dt.timedelta(days=SERIES_DAYS - 1)
    residents = care_residents(user, place)
    listed, resident_filter = _resident_list(residents)
    loader = _Loader(listed, resident_filter, first, day, now)
    items = loader.evaluate(day)
    missed = _missed_twice(resident_filter, day, now)

    grid_ids = {_last_id(r.grid_path) for r in listed} - {None}
    grids = Place.objects.in_bulk(grid_ids)
    carers: dict[int, list[tuple[object, str]]] = defaultdict(list)
    moment = _moment(day, now)
    assignments = (
        CareAssignment.objects.filter(resident_filter, since__lte=moment)
        .filter(Q(until__isnull=True) | Q(until__gt=moment))
        .select_related("carer")
        .order_by("id")
    )
    for a in assignments:
        key = ("user", a.carer_id) if a.carer_id else ("name", a.carer_name, a.carer_phone)
        carers[a.resident_id].append((key, a.carer_label))
    category_names = {p.category_id: p.category.name for p in loader.policies}
    orders = {p.category_id: (p.category.sort_order, p.category.code) for p in loader.policies}

    total = Tally(None, str(place))
    by_grid: dict[object, Tally] = {}
    by_carer: dict[object, Tally] = {}
    by_category: dict[int, Tally] = {}
    for item in items:
        r = item.resident
        is_missed = r.pk in missed
        if not item.is_due and not is_missed:
            continue
        total.add(item, is_missed)
        grid_id = _last_id(r.grid_path)
        grid_label = grids[grid_id].name if grid_id in grids else _("未划网格")
        by_grid.setdefault(grid_id, Tally(grid_id, grid_label)).add(item, is_missed)
        for key, label in carers.get(r.pk) or [(None, _("未包联"))]:
            by_carer.setdefault(key, Tally(key, label)).add(item, is_missed)
        due_categories = {rule.policy.category_id for rule in item.due_rules} or item.category_ids
        for category_id in due_categories & set(category_names):
            by_category.setdefault(category_id, Tally(category_id, category_names[category_id])).add(item, is_missed)

    series = [loader.tally(first + dt.timedelta(days=offset)) for offset in range(SERIES_DAYS)]
    return Coverage(
        place=place,
        day=day,
        total=total,
        by_grid=sorted(by_grid.values(), key=lambda t: (t.key is None, t.label)),
        by_carer=sorted(by_carer.values(), key=lambda t: (t.key is None, -t.overdue, t.label)),
        by_category=sorted(by_category.values(), key=lambda t: orders.get(t.key, (0, ""))),
        series=series,
        overdue=[i for i in items if i.overdue],
        missed_twice=[r for r in listed if r.pk in missed],
    )


def _last_id(path: str) -> int | None:
    parts = [p for p in (path or "").split(".") if p]
    return int(parts[-1]) if parts else None
