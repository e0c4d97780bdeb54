"""The day's due list (当日应联系名单): one DueItem per resident with a rule in force, worked out by the same
loader as `due_today` and kept current.

- `build_day` works a whole day out (the worker does it after midnight, and again when a day is stale);
- `refresh_residents` redoes a few residents at once (a contact recorded, a resident's categories changed);
- `places_changed` follows a zone or grid change at once when it touches few residents, else marks the day
  stale for the worker (`rebuild_stale`); `rules_changed` (mode, cadence rules) marks the day stale;
- `ensure_day` is what a reader calls first: it builds a day nobody built yet;
- `summarize` keeps each grid's counts (total, by category, by carer) current with its items, so a district's
  coverage and its 30-day trend read a few thousand summary rows, never the items of every resident.

Derived data, not a record of anyone's act: it is rebuilt at will and not audited (the acts that change it
are)."""

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from caregrid.people.bulk import RowInserter
from caregrid.people.models import Category, Resident, ResidentCategory
from caregrid.places.models import Place, PlaceKind
from caregrid.places.tree import under

from ..contacts.queries import URGENT_CATEGORY_CODES
from ..models import CareAssignment, CarePolicy, Contact, DueDay, DueItem, DueSummary, Reached
from .queries import DIM_CARER, DIM_CATEGORY, DIM_TOTAL, _day_start, _Loader, _moment

CHUNK = 20_000
# Changes touching more residents than this are left to the worker (the day is marked stale).
INLINE_LIMIT_DEFAULT = 3_000
MISSED_LOOKBACK_DAYS = 14


def inline_limit() -> int:
    return getattr(settings, "CAREGRID_CARE_INLINE_REFRESH", INLINE_LIMIT_DEFAULT)


def _rule_categories() -> list[int]:
    return sorted(set(CarePolicy.objects.values_list("category_id", flat=True)))


def _with_rules() -> Q:
    """Residents holding a category some cadence rule names (the only ones a day can ask a contact of)."""
    links = ResidentCategory.objects.filter(category_id__in=_rule_categories())
    return Q(pk__in=links.values("resident_id"))


def _urgent_category_ids() -> set[int]:
    return set(Category.objects.filter(code__in=URGENT_CATEGORY_CODES).values_list("pk", flat=True))


def _streaks(resident_filter: Q, day: dt.date, now: dt.datetime) -> tuple[dict[int, int], dict[int, dt.datetime]]:
    """Per resident: not-reached attempts in a row up to the day's end (counted to 2), and the last reached
    contact's time up to then. Aggregated in the database: a district's day reads one row per resident."""
    moment = _moment(day, now)
    window_start = _day_start(day - dt.timedelta(days=MISSED_LOOKBACK_DAYS))
    recent = (
        Contact.objects.filter(resident_filter, at__gte=window_start, at__lte=moment)
        .values("resident_id")
        .annotate(
            last_other=Max("at", filter=~Q(outcome=Reached.NOT_REACHED)),
            last_reached=Max("at", filter=Q(outcome=Reached.REACHED)),
        )
        .order_by()
        .values_list("resident_id", "last_other", "last_reached")
    )
    last_other: dict[int, dt.datetime | None] = {}
    last_reached: dict[int, dt.datetime] = {}
    for resident_id, other, reached in recent:
        last_other[resident_id] = other
        if reached is not None:
            last_reached[resident_id] = reached
    # Not-reached attempts after each resident's last other outcome (only the failures are read one by one).
    missed: dict[int, int] = {}
    failures = Contact.objects.filter(
        resident_filter, outcome=Reached.NOT_REACHED, at__gte=window_start, at__lte=moment
    ).values_list("resident_id", "at")
    for resident_id, at in failures:
        other = last_other.get(resident_id)
        if other is None or at > other:
            missed[resident_id] = missed.get(resident_id, 0) + 1
    # Residents not reached within the window: their last reached contact before it.
    unknown = [rid for rid in last_other if rid not in last_reached]
    if unknown:
        older = (
            Contact.objects.filter(resident_id__in=unknown, outcome=Reached.REACHED, at__lt=window_start)
            .values("resident_id")
            .annotate(last=Max("at"))
            .order_by()
            .values_list("resident_id", "last")
        )
        for resident_id, at in older:
            last_reached.setdefault(resident_id, at)
    return missed, last_reached


# The columns a due item is written with (multi-row INSERTs: a district's day is hundreds of thousands of rows).
COLUMNS = [
    "day", "resident_id", "district_id", "place_path", "grid_path", "group_path", "zone", "categories", "carers",
    "required", "done", "met", "urgent", "missed", "last_contact_at", "escalated_at", "updated_at",
]  # fmt: skip
ROWS_PER_STATEMENT = 60


def _items(residents: list[Resident], resident_filter: Q, day: dt.date, now: dt.datetime, urgent: set[int]):
    """(resident id, row of COLUMNS without escalated_at) for each resident with a rule in force that day."""
    ops = connection.ops
    loader = _Loader(residents, resident_filter, day, day, now)
    missed, last_reached = _streaks(resident_filter, day, now)
    carers = _carers(resident_filter, day, now)
    day_value = ops.adapt_datefield_value(day)
    updated = ops.adapt_datetimefield_value(timezone.now())
    for due in loader.evaluate(day):
        if not due.rules:
            continue
        r = due.resident
        categories = sorted({rule.policy.category_id for rule in due.due_rules})
        last = last_reached.get(r.pk)
        yield (
            r.pk,
            [
                day_value,
                r.pk,
                r.district_id,
                r.place_path,
                r.grid_path,
                group_path_of(r.place_path, r.grid_path),
                due.zone,
                _joined(str(c) for c in categories),
                _joined(carers.get(r.pk, ())),
                due.required,
                due.done,
                due.is_done,
                bool(due.category_ids & urgent),
                min(missed.get(r.pk, 0), 2),
                ops.adapt_datetimefield_value(last) if last else None,
                None,
                updated,
            ],
        )


def _joined(tokens) -> str:
    """ ",3,17,"-style list (empty for none), searchable and groupable as one column."""
    tokens = list(tokens)
    return "".join(f",{t}" for t in tokens) + ("," if tokens else "")


def carer_token(carer_id: int | None, name: str, phone: str) -> str:
    """A carer as written in DueItem.carers: "u<user id>", or "n<name>/<phone>" for one outside caregrid."""
    if carer_id:
        return f"u{carer_id}"
    return "n" + f"{name}/{phone}".replace(",", "，")


def _carers(resident_filter: Q, day: dt.date, now: dt.datetime) -> dict[int, list[str]]:
    """Per resident, their carers (包联人) in force at the day's moment."""
    moment = _moment(day, now)
    rows = (
        CareAssignment.objects.filter(resident_filter, since__lte=moment)
        .filter(Q(until__isnull=True) | Q(until__gt=moment))
        .order_by("id")
        .values_list("resident_id", "carer_id", "carer_name", "carer_phone")
    )
    result: dict[int, list[str]] = defaultdict(list)
    for resident_id, carer_id, name, phone in rows:
        token = carer_token(carer_id, name, phone)
        if token not in result[resident_id]:
            result[resident_id].append(token)
    return result


def _write(day: dt.date, items: list, remove: Q) -> None:
    """Replace the day's items matched by `remove` with `items`, keeping escalation marks already made."""
    escalated = dict(
        DueItem.objects.filter(remove, day=day, escalated_at__isnull=False).values_list("resident_id", "escalated_at")
    )
    DueItem.objects.filter(remove, day=day).delete()
    if not items:
        return
    at = COLUMNS.index("escalated_at")
    values = []
    for resident_id, row in items:
        if resident_id in escalated:
            row[at] = connection.ops.adapt_datetimefield_value(escalated[resident_id])
        values.extend(row)
    with connection.cursor() as cursor:
        RowInserter(DueItem, COLUMNS, ROWS_PER_STATEMENT).write(cursor, values)


def _resident_rows(qs) -> list[Resident]:
    return list(qs.only("id", "name", "place_path", "grid_path", "district_id").order_by("id"))


def lock_day(day: dt.date) -> DueDay:
    """The day's state row, locked until the transaction ends: rewrites of one day's items and summaries take
    turns (on SQLite the write lock already serializes them)."""
    DueDay.objects.get_or_create(day=day)
    return DueDay.objects.select_for_update().get(day=day)


# A build started this long ago and not finished is taken to have died; a reader may start another.
BUILD_TIMEOUT = dt.timedelta(minutes=15)


def build_day(day: dt.date, *, now: dt.datetime | None = None, progress=None) -> int:
    """Work the whole day's due list out again; returns the number of items. Chunked by resident id, each chunk
    replaced in its own transaction, so readers always see a whole list."""
    now = now or timezone.now()
    urgent = _urgent_category_ids()
    started = timezone.now()
    with transaction.atomic():
        state = lock_day(day)
        if state.built_at is None:
            state.stale_since = started  # being built
            state.save(update_fields=["stale_since"])
    ids = list(Resident.objects.filter(_with_rules()).order_by("id").values_list("id", flat=True))
    written = 0
    for start in range(0, len(ids), CHUNK):
        lo, hi = ids[start], ids[min(start + CHUNK, len(ids)) - 1]
        span = Q(resident_id__gte=lo, resident_id__lte=hi)
        read_at = timezone.now()
        residents = _resident_rows(Resident.objects.filter(_with_rules(), pk__gte=lo, pk__lte=hi))
        items = list(_items(residents, span, day, now, urgent))
        with transaction.atomic():
            lock_day(day)
            _write(day, items, span)
            # Contacts recorded while the chunk was being worked out: their residents again, now in turn.
            late = Contact.objects.filter(span, created_at__gte=read_at).values_list("resident_id", flat=True)
            if late:
                refresh_residents(Resident.objects.filter(pk__in=list(late)), day, now=timezone.now())
        written += len(items)
        if progress:
            progress(min(start + CHUNK, len(ids)), len(ids))
    with transaction.atomic():
        state = lock_day(day)
        # Residents who lost every rule since the last build.
        if ids:
            DueItem.objects.filter(day=day).exclude(resident_id__in=Resident.objects.filter(_with_rules())).delete()
        else:
            DueItem.objects.filter(day=day).delete()
        summarize(day)
        state.built_at = now
        if state.stale_since and state.stale_since <= started:
            state.stale_since = None
        state.summarized_at = timezone.now()
        state.save()
    return written


def refresh_residents(residents, day: dt.date | None = None, *, now: dt.datetime | None = None) -> None:
    """Redo the due items of a few residents (a list or queryset) for a day already built; call inside the
    transaction that changed them. A day nobody has started building is left to `ensure_day`."""
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    if not DueDay.objects.filter(day=day).exists():
        return
    listed = list(residents)
    if not listed:
        return
    ids = [r.pk for r in listed]
    # Looked up from the residents' own category links (a subquery over every link of a city is slow).
    with_rules = set(
        ResidentCategory.objects.filter(resident_id__in=ids, category_id__in=_rule_categories()).values_list(
            "resident_id", flat=True
        )
    )
    fresh = _resident_rows(Resident.objects.filter(pk__in=with_rules))
    span = Q(resident_id__in=ids)
    items = list(_items(fresh, Q(resident_id__in=[r.pk for r in fresh]), day, now, _urgent_category_ids()))
    with transaction.atomic():
        lock_day(day)
        groups = set(DueItem.objects.filter(span, day=day).values_list("group_path", flat=True))
        _write(day, items, span)
        groups |= {row[COLUMNS.index("group_path")] for _rid, row in items}
        summarize(day, groups)


def mark_stale(day: dt.date | None = None, *, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    DueDay.objects.filter(day=day, stale_since__isnull=True).update(stale_since=now)
    _enqueue_rebuild()


def _enqueue_rebuild() -> None:
    from caregrid.care.tasks import rebuild_stale_days

    transaction.on_commit(lambda: rebuild_stale_days.enqueue())


def places_changed(place: Place, *, now: dt.datetime | None = None) -> None:
    """A zone was set on a place: follow its residents today, at once when they are few."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    if not DueDay.objects.filter(day=day, built_at__isnull=False).exists():
        return
    field = "grid_path" if place.kind == PlaceKind.GRID else "place_path"
    affected = Resident.objects.filter(_with_rules(), under(place.path, field))
    ids = list(affected.values_list("pk", flat=True)[: inline_limit() + 1])
    if len(ids) > inline_limit():
        mark_stale(day, now=now)
    else:
        refresh_residents(Resident.objects.filter(pk__in=ids), day, now=now)


def rules_changed(*, since: dt.datetime | None = None, now: dt.datetime | None = None) -> None:
    """The mode, a cadence rule or a category changed (from `since`, by default now): the lists of the days
    from then to today are stale. A reader rebuilds a small one at once (ensure_day); the worker a large one."""
    now = now or timezone.now()
    first = timezone.localdate(since or now)
    days = DueDay.objects.filter(day__gte=first, day__lte=timezone.localdate(now), stale_since__isnull=True)
    if days.update(stale_since=now):
        _enqueue_rebuild()


def ensure_day(day: dt.date, *, now: dt.datetime | None = None) -> DueDay:
    """The day's state, building the list first if nobody has (a day before the worker ran, or a past day
    asked for the first time) — unless a build is under way. A stale day small enough is rebuilt at once."""
    now = now or timezone.now()
    state = DueDay.objects.filter(day=day).first()
    if state is None or state.built_at is None:
        if state is not None and state.stale_since and timezone.now() - state.stale_since < BUILD_TIMEOUT:
            return state  # being built (by the worker): the pages say so
        build_day(day, now=now)
        return DueDay.objects.get(day=day)
    if state.stale_since and DueItem.objects.filter(day=day).count() <= inline_limit():
        build_day(day, now=now)
        return DueDay.objects.get(day=day)
    return state


def rebuild_stale(*, now: dt.datetime | None = None) -> list[dt.date]:
    """Rebuild every stale day (the worker's job)."""
    now = now or timezone.now()
    days = list(DueDay.objects.filter(stale_since__isnull=False).order_by("day").values_list("day", flat=True))
    for day in days:
        build_day(day, now=now)
    return days


def group_path_of(item_place_path: str, grid_path: str) -> str:
    """The summary group of a resident: their grid, or their community when they have none."""
    if grid_path:
        return grid_path
    parts = [p for p in item_place_path.split(".") if p]
    return ".".join(parts[:3]) + "." if len(parts) >= 3 else item_place_path


def count_items(rows) -> dict[tuple[str, str, str], list[int]]:
    """Due, done and not-reached-twice per (group, dimension, key) from due-item rows of (group_path,
    categories, carers, required, met, missed)."""
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for group, categories, carers, required, met, missed in rows:
        add = (1 if required else 0, 1 if required and met else 0, 1 if missed >= 2 else 0)
        keys = [(group, DIM_TOTAL, "")]
        keys += [(group, DIM_CATEGORY, c) for c in categories.strip(",").split(",") if c]
        keys += [(group, DIM_CARER, c) for c in carers.strip(",").split(",") if c] or [(group, DIM_CARER, "")]
        for key in keys:
            entry = counts[key]
            entry[0] += add[0]
            entry[1] += add[1]
            entry[2] += add[2]
    return counts


def summarize(day: dt.date, groups: set[str] | None = None) -> None:
    """Count the day's due items per group (grid, or community for residents without a grid) — in total, by
    category and by carer — replacing the summaries of those groups (all of the day's when `groups` is None)."""
    items = DueItem.objects.filter(day=day)
    summaries = DueSummary.objects.filter(day=day)
    if groups is not None:
        if not groups:
            return
        items = items.filter(group_path__in=list(groups))
        summaries = summaries.filter(group_path__in=list(groups))
    rows = items.values_list("group_path", "categories", "carers", "required", "met", "missed")
    counts = count_items(rows.iterator(chunk_size=10_000))
    summaries.delete()
    DueSummary.objects.bulk_create(
        [
            DueSummary(day=day, group_path=g, dim=dim, key=k, due=v[0], done=v[1], missed_twice=v[2])
            for (g, dim, k), v in counts.items()
        ],
        batch_size=2_000,
    )


def summarize_day(day: dt.date) -> None:
    """Summarize a whole day again (a day built before summaries were kept)."""
    with transaction.atomic():
        summarize(day)
        DueDay.objects.filter(day=day).update(summarized_at=timezone.now())
