"""The evening escalation: at the cut-off (default 18:00), every resident still owed a contact today is
escalated to their grid's leader (网格长) and to their community's staff — one notification per grid and
recipient, naming how many residents and linking to the grid's overdue list. Each resident is escalated once a
day (DueItem.escalated_at), so the sweep is safe to run every minute after the cut-off: residents who fall due
later (a mode switch in the evening) are escalated by the next run."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.audit import audit_record
from caregrid.accounts.models import Role, RoleAssignment
from caregrid.accounts.notify import Message, notify_many
from caregrid.places.models import Place

from ..models import DueItem
from .daylist import ensure_day, lock_day
from .queries import due_by

NOTIFICATION_KIND = "care.overdue"


@dataclass
class EscalationResult:
    day: dt.date
    escalated: int = 0
    grids: int = 0
    notified: int = 0
    skipped_before_cutoff: bool = False
    by_grid: dict = field(default_factory=dict)


def _community_path(path: str) -> str:
    parts = [p for p in path.split(".") if p]
    return ".".join(parts[:3]) + "." if len(parts) >= 3 else path


def sweep_overdue(*, now: dt.datetime | None = None) -> EscalationResult:
    """Escalate today's overdue residents not escalated yet (nothing before the cut-off)."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    result = EscalationResult(day=day)
    if timezone.localtime(now).time() < due_by():
        result.skipped_before_cutoff = True
        return result
    ensure_day(day, now=now)
    coverage_url = reverse("care_policies:coverage")
    with transaction.atomic():
        lock_day(day)  # refreshes of the day's items wait; they keep the marks made here
        pending = DueItem.objects.filter(day=day, required__gt=0, met=False, escalated_at__isnull=True)
        groups: dict[tuple[str, str], int] = defaultdict(int)
        for grid_path, place_path in pending.values_list("grid_path", "place_path").iterator(chunk_size=5_000):
            groups[(grid_path, _community_path(place_path))] += 1
        if not groups:
            return result
        result.escalated = pending.update(escalated_at=now)
        places = _places_by_path({g for g, _c in groups} | {c for _g, c in groups})
        community_ids = {places[c].pk for _g, c in groups if c in places}
        staff: dict[int, list] = defaultdict(list)
        for assignment in RoleAssignment.objects.filter(
            place_id__in=community_ids, role=Role.COMMUNITY_STAFF, user__is_active=True
        ).select_related("user"):
            staff[assignment.place_id].append(assignment.user)
        messages = []
        for (grid_path, community_path), count in sorted(groups.items()):
            grid = places.get(grid_path)
            community = places.get(community_path)
            where = grid or community
            if where is None:
                continue
            recipients = []
            if grid is not None and grid.leader_id and grid.leader.is_active:
                recipients.append(grid.leader)
            if community is not None:
                recipients += staff.get(community.pk, [])
            result.grids += 1
            result.by_grid[where.name] = count
            messages.append(
                Message(
                    users=recipients,
                    title=_("%(place)s今日%(n)s人未按时联系") % {"place": where.name, "n": count},
                    body=_("截至%(time)s，%(place)s仍有%(n)s名重点人员未完成今日联系，请尽快安排。")
                    % {"time": due_by().strftime("%H:%M"), "place": where.name, "n": count},
                    url=f"{coverage_url}?place={where.pk}&date={day.isoformat()}#coverage-overdue",
                    object_key=f"{day.isoformat()}:{where.pk}:{now.strftime('%H%M')}",
                )
            )
        result.notified = notify_many(messages, kind=NOTIFICATION_KIND)
        audit_record(
            actor=None,
            action="care.overdue_escalate",
            obj=None,
            place_path="",
            changes={"day": day.isoformat(), "residents": result.escalated, "places": result.grids},
        )
    return result


def _places_by_path(paths: set[str]) -> dict[str, Place]:
    ids = {}
    for path in paths:
        parts = [p for p in path.split(".") if p]
        if parts:
            ids[int(parts[-1])] = path
    found = Place.objects.filter(pk__in=list(ids)).select_related("leader")
    return {ids[p.pk]: p for p in found}
