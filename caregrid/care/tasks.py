"""Background jobs of care rounds (run by `caregrid worker`): thin, they call the day-list functions."""

import datetime as dt

from django.utils import timezone
from django_tasks import task

from .models import DueDay
from .policies.daylist import build_day, ensure_day, rebuild_stale, summarize_day
from .policies.escalation import sweep_overdue

# Past days whose 30-day trend is kept summarized.
SUMMARY_DAYS = 30


@task()
def rebuild_stale_days() -> dict:
    """Rebuild the due lists marked stale by a mode switch, a rule change or a large import."""
    return {"rebuilt": [d.isoformat() for d in rebuild_stale()]}


@task()
def keep_day_lists() -> dict:
    """Every few minutes: today's due list exists (built just after midnight), stale days are rebuilt, a missing
    day of the last 30 is built, and past days are summarized for the trend (a past day changes only through a
    back-dated contact)."""
    now = timezone.now()
    today = timezone.localdate(now)
    built = not DueDay.objects.filter(day=today, built_at__isnull=False).exists()
    ensure_day(today, now=now)
    rebuilt = rebuild_stale(now=now)
    # One missing past day of the trend per run (the days before the lists were kept, or the worker was off).
    built_days = set(DueDay.objects.filter(built_at__isnull=False, day__lt=today).values_list("day", flat=True))
    missing = [today - dt.timedelta(days=n) for n in range(1, SUMMARY_DAYS)]
    missing = [d for d in missing if d not in built_days]
    backfilled = None
    if missing:
        backfilled = missing[0].isoformat()
        build_day(missing[0], now=now)
    summarized = []
    pending = DueDay.objects.filter(
        day__lt=today, day__gte=today - dt.timedelta(days=SUMMARY_DAYS), summarized_at__isnull=True
    ).exclude(built_at__isnull=True)
    for day in pending.values_list("day", flat=True):
        summarize_day(day)
        summarized.append(day.isoformat())
    return {
        "built_today": built,
        "rebuilt": [d.isoformat() for d in rebuilt],
        "backfilled": backfilled,
        "summarized": summarized,
    }


@task()
def escalate_overdue() -> dict:
    """Every minute: after the cut-off, escalate today's residents still owed a contact."""
    result = sweep_overdue()
    return {"day": result.day.isoformat(), "escalated": result.escalated, "notified": result.notified}
