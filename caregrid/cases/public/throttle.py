"""Limits on what one client address may do on the public pages.

Submissions are counted from the requests themselves (source_ip and received_at, indexed), so every web
process sees the same count. Status lookups are counted in Django's cache: with the default per-process
memory cache each gunicorn process keeps its own count (the limit is then per process); a shared cache
backend in CACHES makes it one count for the whole site."""

import datetime as dt
import time

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from ..models import Channel, HelpRequest

HOUR = 3600
DEFAULT_LOOKUPS_PER_HOUR = 30


def client_ip(request) -> str | None:
    # The same address the audit log records for the request.
    return request.META.get("REMOTE_ADDR") or None


def submissions_left(ip: str | None) -> bool:
    """May this address submit another help request through the public form this hour?"""
    if ip is None:
        return True
    since = timezone.now() - dt.timedelta(hours=1)
    recent = HelpRequest.objects.filter(source_ip=ip, received_at__gte=since, channel=Channel.PUBLIC_FORM)
    return recent.count() < settings.CAREGRID_PUBLIC_FORM_PER_HOUR


def lookup_allowed(ip: str | None) -> bool:
    """Count one status lookup by this address; False once it has made more than the hourly limit."""
    limit = getattr(settings, "CAREGRID_PUBLIC_STATUS_PER_HOUR", DEFAULT_LOOKUPS_PER_HOUR)
    key = f"caregrid:public-status:{ip or '-'}:{int(time.time() // HOUR)}"
    cache.add(key, 0, timeout=HOUR)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=HOUR)
        count = 1
    return count <= limit
