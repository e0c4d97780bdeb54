"""The numbers the bureau reports on help requests for a scope and a period: the standard line, counts by
category, urgency, channel, status and child place, requests per hour or day, medians of the time to first
contact and to resolution, and what is overdue now. Every number starts from cases_visible(user)."""

import datetime as dt
import statistics
from dataclasses import dataclass

from django.db import connections
from django.db.models import Count, DateTimeField, F, FloatField, Func, Q, QuerySet, Value
from django.db.models.functions import Floor
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import scoped
from caregrid.places.models import Place, PlaceKind
from caregrid.places.queries import community_grids, int_or_none, path_segment, place_children, scope_roots
from caregrid.places.tree import addresses_for, under

from ..actions import deadlines_for
from ..models import OPEN_STATUSES, Channel, Disposition, HelpRequest, Status
from ..queries import cases_visible, overdue_q
from ..taxonomy import CaseCategory, Urgency

# A custom period is at most a year: a line of daily points, and a bounded scan.
MAX_PERIOD_DAYS = 366


def _local_midnight(day: dt.date) -> dt.datetime:
    """Midnight of a calendar day in the bureau's time zone (Asia/Shanghai), as an aware datetime."""
    tz = timezone.get_default_timezone()
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), tz)


@dataclass(frozen=True)
class Period:
    """Calendar days in the bureau's time zone, both ends included."""

    kind: str  # "day", "week" (Monday to Sunday) or "custom"
    start: dt.date
    end: dt.date

    @classmethod
    def day(cls, day: dt.date) -> "Period":
        return cls("day", day, day)

    @classmethod
    def week(cls, day: dt.date) -> "Period":
        monday = day - dt.timedelta(days=day.weekday())
        return cls("week", monday, monday + dt.timedelta(days=6))

    @classmethod
    def custom(cls, start: dt.date, end: dt.date) -> "Period":
        if end < start:
            raise ValueError("end before start")
        if (end - start).days + 1 > MAX_PERIOD_DAYS:
            raise ValueError("period too long")
        return cls("custom", start, end)

    @property
    def since(self) -> dt.datetime:
        return _local_midnight(self.start)

    @property
    def until(self) -> dt.datetime:
        """The first moment after the period (exclusive bound)."""
        return _local_midnight(self.end + dt.timedelta(days=1))

    @property
    def hourly(self) -> bool:
        """One day is drawn hour by hour, longer periods day by day."""
        return self.start == self.end

    @property
    def label(self) -> str:
        if self.start == self.end:
            return f"{self.start:%Y-%m-%d}"
        return _("%(start)s 至 %(end)s") % {"start": f"{self.start:%Y-%m-%d}", "end": f"{self.end:%Y-%m-%d}"}


def local_today() -> dt.date:
    return timezone.localdate(timezone.now(), timezone.get_default_timezone())


@dataclass
class Line:
    """The bureau's standard line: requests received, and how many of them were first handled each way."""

    received: int = 0
    answered: int = 0
    coordinated: int = 0
    dispatched: int = 0
    cancelled: int = 0

    @property
    def pending(self) -> int:
        """Received but with no disposition: still waiting to be sorted, or cancelled before it."""
        return self.received - self.answered - self.coordinated - self.dispatched


def hotline_text(line: Line) -> str:
    return _("接通来电%(n)s个，即刻答复%(a)s个、协调解决%(b)s个、交办处置%(c)s个") % {
        "n": line.received,
        "a": line.answered,
        "b": line.coordinated,
        "c": line.dispatched,
    }


def all_channels_text(line: Line) -> str:
    return _("各渠道共受理诉求%(n)s个，即刻答复%(a)s个、协调解决%(b)s个、交办处置%(c)s个") % {
        "n": line.received,
        "a": line.answered,
        "b": line.coordinated,
        "c": line.dispatched,
    }


@dataclass
class CountRow:
    code: str
    label: str
    count: int


@dataclass
class PlaceRow:
    """One child place's numbers for the period, and its requests overdue now (whenever received)."""

    place: Place | None
    label: str
    total: int = 0
    hotline: int = 0
    answered: int = 0
    coordinated: int = 0
    dispatched: int = 0
    open: int = 0
    overdue_now: int = 0

    def add(self, values: dict) -> None:
        for name in PLACE_METRICS:
            setattr(self, name, getattr(self, name) + (values.get(name) or 0))


PLACE_METRICS = ("total", "hotline", "answered", "coordinated", "dispatched", "open", "overdue_now")


@dataclass
class Medians:
    """Median durations of the period's requests that have reached each step (cancelled ones left out)."""

    code: str
    label: str
    first_contact: dt.timedelta | None = None
    first_contact_n: int = 0
    resolution: dt.timedelta | None = None
    resolution_n: int = 0
    first_contact_limit: dt.timedelta | None = None
    resolution_limit: dt.timedelta | None = None


@dataclass
class SeriesPoint:
    label: str
    start: dt.datetime
    count: int


@dataclass
class CaseStats:
    period: Period
    place: Place | None  # the place narrowed to, or None for the user's whole scope
    scope_label: str
    now: dt.datetime
    hotline: Line
    all_channels: Line
    by_category: list[CountRow]
    by_urgency: list[CountRow]
    by_channel: list[CountRow]
    by_status: list[CountRow]
    by_place: list[PlaceRow]
    by_grid: list[PlaceRow]
    series: list[SeriesPoint]
    medians: list[Medians]
    open_now: int = 0
    overdue_now: int = 0
    overdue_first_contact: int = 0
    overdue_resolution: int = 0
    parent: Place | None = None  # whose children the place rows are (None: several scope roots)

    @property
    def total(self) -> int:
        return self.all_channels.received

    @property
    def hotline_text(self) -> str:
        return hotline_text(self.hotline)

    @property
    def all_channels_text(self) -> str:
        return all_channels_text(self.all_channels)

    @property
    def overall(self) -> Medians:
        return self.medians[0]


# --- the scope ---------------------------------------------------------------------------------------------


def stats_places(user) -> QuerySet[Place]:
    """Places the user may narrow the statistics to."""
    return scoped(user, Place.objects.all(), Cap.VIEW_CASES)


def cases_under(user, place: Place | None) -> QuerySet[HelpRequest]:
    """The user's requests, under a place of their tree when given (located there or handled there)."""
    qs = cases_visible(user)
    if place is not None:
        qs = qs.filter(under(place.path, "place_path") | under(place.path, "grid_path"))
    return qs


@dataclass
class Today:
    """The home page's glance: today's standard line, what is open and overdue now."""

    hotline: Line
    open_now: int
    overdue_now: int

    @property
    def text(self) -> str:
        return hotline_text(self.hotline)


def today_summary(user, *, now: dt.datetime | None = None) -> Today:
    """Two aggregate queries over the user's requests (today's received ones, and the open ones)."""
    now = now or timezone.now()
    period = Period.day(local_today())
    hot = Q(channel=Channel.HOTLINE)
    today = cases_visible(user).filter(received_at__gte=period.since, received_at__lt=period.until)
    line = today.aggregate(
        received=Count("id", filter=hot),
        answered=Count("id", filter=hot & Q(disposition=Disposition.ANSWERED)),
        coordinated=Count("id", filter=hot & Q(disposition=Disposition.COORDINATED)),
        dispatched=Count("id", filter=hot & Q(disposition=Disposition.DISPATCHED)),
    )
    open_row = (
        cases_visible(user)
        .filter(status__in=OPEN_STATUSES)
        .aggregate(open=Count("id"), overdue=Count("id", filter=overdue_q(now)))
    )
    return Today(hotline=Line(**line), open_now=open_row["open"], overdue_now=open_row["overdue"])


# --- the statistics ----------------------------------------------------------------------------------------


def case_stats(user, *, period: Period, place: Place | None = None, now: dt.datetime | None = None) -> CaseStats:
    """Every number of the statistics page and its workbook, for the user's scope (or a place in it)."""
    now = now or timezone.now()
    base = cases_under(user, place)
    in_period = base.filter(received_at__gte=period.since, received_at__lt=period.until)

    # One pass over the period's rows with conditional counts (no GROUP BY to sort): every code of every
    # breakdown, and the standard line for the hotline and for all channels.
    breakdowns = {"category": CaseCategory, "urgency": Urgency, "channel": Channel, "status": Status}
    counts = {
        f"{field}:{code}": Count("id", filter=Q(**{field: code}))
        for field, codes in breakdowns.items()
        for code in codes.values
    }
    hot = Q(channel=Channel.HOTLINE)
    line_parts = {
        "received": Q(),
        "answered": Q(disposition=Disposition.ANSWERED),
        "coordinated": Q(disposition=Disposition.COORDINATED),
        "dispatched": Q(disposition=Disposition.DISPATCHED),
        "cancelled": Q(status=Status.CANCELLED),
    }
    for name, q in line_parts.items():
        counts[f"all:{name}"] = Count("id", filter=q) if q else Count("id")
        counts[f"hotline:{name}"] = Count("id", filter=hot & q)
    counts["open"] = Count("id", filter=Q(status__in=OPEN_STATUSES))
    totals = in_period.aggregate(**counts)
    hotline = Line(**{name: totals[f"hotline:{name}"] for name in line_parts})
    all_channels = Line(**{name: totals[f"all:{name}"] for name in line_parts})
    open_in_period = totals["open"]
    tallies = {field: {code: totals[f"{field}:{code}"] for code in codes.values} for field, codes in breakdowns.items()}

    open_row = base.filter(status__in=OPEN_STATUSES).aggregate(
        open=Count("id"),
        overdue=Count("id", filter=overdue_q(now)),
        late_contact=Count("id", filter=Q(first_contact_at__isnull=True, first_contact_due__lt=now)),
        late_resolution=Count("id", filter=Q(resolution_due__lt=now)),
    )

    # The scope's own totals, for the row of requests under no listed child place.
    own = PlaceRow(
        None,
        "",
        total=all_channels.received,
        hotline=hotline.received,
        answered=all_channels.answered,
        coordinated=all_channels.coordinated,
        dispatched=all_channels.dispatched,
        open=open_in_period,
        overdue_now=open_row["overdue"],
    )
    parent, place_rows, grid_rows = _place_breakdown(user, base, in_period, place, now, own)
    return CaseStats(
        period=period,
        place=place,
        scope_label=_scope_label(user, place),
        now=now,
        hotline=hotline,
        all_channels=all_channels,
        by_category=_rows(CaseCategory.choices, tallies["category"]),
        by_urgency=_rows(Urgency.choices, tallies["urgency"]),
        by_channel=_rows(Channel.choices, tallies["channel"]),
        by_status=_rows(Status.choices, tallies["status"]),
        by_place=place_rows,
        by_grid=grid_rows,
        series=_series(in_period, period),
        medians=_medians(in_period),
        open_now=open_row["open"],
        overdue_now=open_row["overdue"],
        overdue_first_contact=open_row["late_contact"],
        overdue_resolution=open_row["late_resolution"],
        parent=parent,
    )


def _rows(choices, tally: dict[str, int]) -> list[CountRow]:
    """Every choice in its fixed order (zeros included, so tables read the same every day)."""
    return [CountRow(str(code), str(label), tally.get(code, 0)) for code, label in choices]


def _scope_label(user, place: Place | None) -> str:
    if place is not None:
        return place.name
    roots = scope_roots(user, Cap.VIEW_CASES)
    return "、".join(r.name for r in roots) if roots else ""


# --- by child place ----------------------------------------------------------------------------------------


def _place_metrics() -> dict:
    return {
        "total": Count("id"),
        "hotline": Count("id", filter=Q(channel=Channel.HOTLINE)),
        "answered": Count("id", filter=Q(disposition=Disposition.ANSWERED)),
        "coordinated": Count("id", filter=Q(disposition=Disposition.COORDINATED)),
        "dispatched": Count("id", filter=Q(disposition=Disposition.DISPATCHED)),
        "open": Count("id", filter=Q(status__in=OPEN_STATUSES)),
    }


def _child_q(child: Place) -> Q:
    return under(child.path, "place_path") | under(child.path, "grid_path")


def _place_breakdown(user, base, in_period, place: Place | None, now: dt.datetime, own: PlaceRow):
    """Rows for the children of the place (or of the user's single scope root; or the roots themselves when
    there are several). A community also gets a row per grid: the same requests cut the other way.

    Children one level down the path tree are grouped by the path segment after the parent's path (one
    grouped query whatever their number); what a grid covers is counted with one conditional count each."""
    if place is None:
        roots = scope_roots(user, Cap.VIEW_CASES)
        if len(roots) != 1:
            rows = [PlaceRow(r, r.name) for r in roots]
            _conditional_into(in_period, base.filter(overdue_q(now)), rows)
            return None, rows, []
        place = roots[0]
    parent = place
    children = place_children(parent)
    grids = community_grids(parent) if parent.kind == PlaceKind.COMMUNITY else []
    allowed = set(stats_places(user).filter(pk__in=[c.pk for c in children + grids]).values_list("pk", flat=True))
    children = [c for c in children if c.pk in allowed]
    grids = [g for g in grids if g.pk in allowed]
    labels = addresses_for(children) if parent.kind == PlaceKind.GRID else {}
    rows = [PlaceRow(c, labels.get(c.pk) or c.name) for c in children]
    grid_rows = [PlaceRow(g, g.name) for g in grids]
    overdue = base.filter(overdue_q(now))

    # A grid's direct children are micro-grids (found through grid_path) and the buildings it covers
    # (not below it in the path tree); anything else's direct children lie below it in place_path.
    by_segment = [r for r in rows if r.place.parent_id == parent.pk]
    others = [r for r in rows if r.place.parent_id != parent.pk]
    segment_field = "grid_path" if parent.kind == PlaceKind.GRID else "place_path"
    if by_segment:
        _grouped_into(in_period, overdue, parent, segment_field, by_segment)
    if others:
        _conditional_into(in_period, overdue, others)
    if grid_rows:
        _grouped_into(in_period, overdue, parent, "grid_path", grid_rows)

    # Requests placed at the parent itself (an address not matched further) or under no listed child.
    rest = PlaceRow(None, _("未落到下级地点"))
    rest.add({name: getattr(own, name) for name in PLACE_METRICS})
    for row in rows:
        rest.add({name: -getattr(row, name) for name in PLACE_METRICS})
    if any(getattr(rest, name) for name in PLACE_METRICS):
        rows.append(rest)
    return parent, rows, grid_rows


def _grouped_into(in_period, overdue, parent: Place, path_field: str, rows: list[PlaceRow]) -> None:
    by_id = {r.place.pk: r for r in rows}
    seg = path_segment(path_field, len(parent.path))
    # Only paths strictly below the parent have a segment (PostgreSQL refuses the negative substring length
    # the others would give); requests at the parent itself, or reached through their other path, are "rest".
    below = under(parent.path, path_field) & ~Q(**{path_field: parent.path})
    in_period, overdue = in_period.filter(below), overdue.filter(below)
    for values in in_period.values(seg=seg).annotate(**_place_metrics()).order_by():
        row = by_id.get(int_or_none(values["seg"]))
        if row is not None:
            row.add(values)
    for values in overdue.values(seg=seg).annotate(overdue_now=Count("id")).order_by():
        row = by_id.get(int_or_none(values["seg"]))
        if row is not None:
            row.add(values)


def _conditional_into(in_period, overdue, rows: list[PlaceRow]) -> None:
    metrics = _place_metrics()
    aggregates, late = {}, {}
    for i, row in enumerate(rows):
        cond = _child_q(row.place)
        for name, count in metrics.items():
            condition = cond if count.filter is None else cond & count.filter
            aggregates[f"{name}_{i}"] = Count("id", filter=condition)
        late[f"overdue_now_{i}"] = Count("id", filter=cond)
    if not rows:
        return
    totals = in_period.aggregate(**aggregates)
    totals.update(overdue.aggregate(**late))
    for i, row in enumerate(rows):
        row.add({name: totals.get(f"{name}_{i}") for name in PLACE_METRICS})


# --- per hour or day, and the medians ----------------------------------------------------------------------


class SecondsBetween(Func):
    """Seconds from the second timestamp to the first, computed by the database (PostgreSQL's epoch, SQLite's
    julianday): plain numbers come back instead of two datetimes per row to parse and convert in Python."""

    arity = 2
    arg_joiner = " - "
    template = "CAST(EXTRACT(EPOCH FROM (%(expressions)s)) AS double precision)"
    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra,
        )


def _series(in_period: QuerySet[HelpRequest], period: Period) -> list[SeriesPoint]:
    """Requests per hour (one day) or per day, counted by the database: the bucket is the number of whole
    hours or days since the period's local midnight (the bureau's time zone keeps no daylight saving)."""
    tz = timezone.get_default_timezone()
    if period.hourly:
        points = [
            SeriesPoint(f"{h:02d}:00", timezone.make_aware(dt.datetime.combine(period.start, dt.time(h)), tz), 0)
            for h in range(24)
        ]
        width = 3600.0
    else:
        days = (period.end - period.start).days + 1
        points = [
            SeriesPoint(f"{day:%m-%d}", _local_midnight(day), 0)
            for day in (period.start + dt.timedelta(days=i) for i in range(days))
        ]
        width = 86400.0
    since = Value(period.since, output_field=DateTimeField())
    bucket = Floor(SecondsBetween(F("received_at"), since) / Value(width))
    for row in in_period.values(bucket=bucket).annotate(n=Count("id")).order_by():
        index = None if row["bucket"] is None else int(row["bucket"])
        if index is not None and 0 <= index < len(points):
            points[index].count += row["n"]
    return points


def _median(seconds: list[float]) -> dt.timedelta | None:
    return dt.timedelta(seconds=round(statistics.median(seconds))) if seconds else None


def _medians(in_period: QuerySet[HelpRequest]) -> list[Medians]:
    """The median time from receipt to first contact and to resolution, overall, per urgency and for the
    requests that needed follow-up work (not answered on the spot); cancelled requests are left out."""
    groups = ["all", *Urgency.values, "followup"]
    contact: dict[str, list[float]] = {g: [] for g in groups}
    resolution: dict[str, list[float]] = {g: [] for g in groups}
    rows = (
        in_period.filter(first_contact_at__isnull=False)
        .exclude(status=Status.CANCELLED)
        .values_list(
            SecondsBetween(F("first_contact_at"), F("received_at")),
            SecondsBetween(F("resolved_at"), F("received_at")),
            "urgency",
            "disposition",
        )
        .order_by()
    )
    # Read with the database cursor: at 100,000 rows the ORM's per-row conversions cost more than the query.
    sql, params = rows.query.sql_with_params()
    with connections[rows.db].cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(10_000):
            for to_contact, to_resolution, urgency, disposition in chunk:
                keys = ("all", urgency) if disposition == Disposition.ANSWERED else ("all", urgency, "followup")
                for key in keys:
                    contact[key].append(max(0.0, float(to_contact)))
                    if to_resolution is not None:
                        resolution[key].append(max(0.0, float(to_resolution)))

    labels = {"all": _("全部诉求"), "followup": _("需后续办理的（不含即刻答复）"), **dict(Urgency.choices)}
    medians = []
    for key in groups:
        m = Medians(
            code=key,
            label=str(labels[key]),
            first_contact=_median(contact[key]),
            first_contact_n=len(contact[key]),
            resolution=_median(resolution[key]),
            resolution_n=len(resolution[key]),
        )
        if key in Urgency.values:
            m.first_contact_limit, m.resolution_limit = deadlines_for(key)
        medians.append(m)
    return medians


def minutes(value: dt.timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 60, 1)
