"""The query of GET requests: service_request_id, service_code, start_date, end_date and status."""

import datetime as dt
import re

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from ..models import OPEN_STATUSES, HelpRequest
from .services import service_find
from .xml import Open311Error

# The spec: the range defaults to the most recent 90 days and may not span more; at most 1,000 requests.
WINDOW = dt.timedelta(days=90)
MAX_RESULTS = 1000
# "+08:00" sent unencoded in a query string arrives as " 08:00".
_SPACED_OFFSET = re.compile(r" (\d{2}:?\d{2})$")


def _moment(text: str, name: str) -> dt.datetime:
    """A W3C datetime (2010-01-01T00:00:00Z, or with an offset) or a bare date (local midnight)."""
    text = _SPACED_OFFSET.sub(r"+\1", text.strip())
    try:
        moment = parse_datetime(text)
        if moment is None:
            day = parse_date(text)
            moment = dt.datetime.combine(day, dt.time()) if day else None
    except ValueError:
        moment = None
    if moment is None:
        raise Open311Error(400, _("%(name)s 不是有效的日期时间，应形如 2022-12-15T08:00:00+08:00") % {"name": name})
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _service_q(codes: list[str]) -> Q:
    """Requests of these services: a category includes the requests of its sub-categories."""
    q = Q(pk__in=[])
    for code in codes:
        service = service_find(code)
        if service is None:
            raise Open311Error(400, _("服务代码“%(code)s”不存在") % {"code": code})
        q |= Q(category=service.category) if service.subcategory is None else Q(subcategory=service.subcategory)
    return q


def _window(params) -> tuple[dt.datetime, dt.datetime]:
    start_text, end_text = params.get("start_date", "").strip(), params.get("end_date", "").strip()
    start = _moment(start_text, "start_date") if start_text else None
    end = _moment(end_text, "end_date") if end_text else None
    if start and end:
        if start > end:
            raise Open311Error(400, _("start_date 不能晚于 end_date"))
        if end - start > WINDOW:
            raise Open311Error(400, _("查询时间范围不能超过90天"))
        return start, end
    if start:
        return start, start + WINDOW
    end = end or timezone.now()
    return end - WINDOW, end


def requests_matching(qs: QuerySet[HelpRequest], params) -> list[HelpRequest]:
    """The requests of `qs` (already limited to what the caller may see) that the query asks for, newest first."""
    ids = _list(params.get("service_request_id", ""))
    if ids:
        # The spec: service_request_id overrides every other argument.
        if len(ids) > MAX_RESULTS:
            raise Open311Error(400, _("一次最多查询%(n)s个工单") % {"n": MAX_RESULTS})
        return list(qs.filter(number__in=ids).order_by("-received_at", "-id"))
    codes = _list(params.get("service_code", ""))
    if codes:
        qs = qs.filter(_service_q(codes))
    start, end = _window(params)
    qs = qs.filter(received_at__gte=start, received_at__lte=end)
    statuses = {s.lower() for s in _list(params.get("status", ""))}
    if statuses - {"open", "closed"}:
        raise Open311Error(400, _("status 只能是 open 或 closed"))
    if statuses == {"open"}:
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif statuses == {"closed"}:
        qs = qs.exclude(status__in=OPEN_STATUSES)
    return list(qs.order_by("-received_at", "-id")[:MAX_RESULTS])
