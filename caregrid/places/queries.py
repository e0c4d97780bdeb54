"""Reads of the place tree shared by pages, API and other apps: zones on a day, the mode in force."""

import datetime as dt

from django.db.models import CharField, ExpressionWrapper, F, OuterRef, Q, Subquery, Value
from django.db.models.lookups import Exact, StartsWith
from django.utils import timezone

from .models import Mode, ModeChange, Place, ZonePeriod


def today() -> dt.date:
    return timezone.localdate()


def active_on(day: dt.date) -> Q:
    return Q(start_date__lte=day) & (Q(end_date__isnull=True) | Q(end_date__gte=day))


def zone_of(place: Place, day: dt.date | None = None) -> ZonePeriod | None:
    """The zone period in force for a place on a day: the deepest covering one. One query."""
    day = day or today()
    return (
        ZonePeriod.objects.filter(active_on(day), place_id__in=place.ancestor_ids)
        .order_by("-depth", "-start_date", "-id")
        .first()
    )


def zones_for(places: list[Place], day: dt.date | None = None) -> dict[int, ZonePeriod | None]:
    """The zone in force for each of many places, with one query."""
    day = day or today()
    ids = {i for p in places for i in p.ancestor_ids}
    periods: dict[int, ZonePeriod] = {}
    for period in ZonePeriod.objects.filter(active_on(day), place_id__in=ids).order_by("start_date", "id"):
        periods[period.place_id] = period  # latest start wins on the same place
    result = {}
    for p in places:
        found = None
        for ancestor_id in p.ancestor_ids:  # root first, so the deepest wins
            found = periods.get(ancestor_id, found)
        result[p.pk] = found
    return result


def zone_status_expr(day: dt.date, path_field: str = "place_path") -> Subquery:
    """A correlated subquery giving the zone status in force on `day` for each row's path."""
    covering = (
        ZonePeriod.objects.filter(active_on(day))
        .filter(StartsWith(ExpressionWrapper(OuterRef(path_field), output_field=CharField()), F("place_path")))
        .order_by("-depth", "-start_date", "-id")
        .values("status")[:1]
    )
    return Subquery(covering)


def zone_q(status: str, day: dt.date | None = None, path_field: str = "place_path") -> Q:
    """Rows whose zone in force on `day` is `status`; composable with any other filter.

    The prefix alternatives let the database use the path index; the correlated subquery then
    settles which of several nested periods wins.
    """
    day = day or today()
    prefixes = list(
        ZonePeriod.objects.filter(active_on(day), status=status).values_list("place_path", flat=True).distinct()
    )
    if not prefixes:
        return Q(pk__in=[])
    candidates = Q()
    for prefix in prefixes:
        candidates |= Q(**{f"{path_field}__startswith": prefix})
    return candidates & Q(Exact(zone_status_expr(day, path_field), Value(status)))


def mode_now() -> ModeChange | None:
    return ModeChange.objects.filter(started_at__lte=timezone.now()).first()


def current_mode() -> str:
    change = mode_now()
    return change.mode if change else Mode.PEACETIME
