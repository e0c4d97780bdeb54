"""A demo testing round through the real actions: today's round over the demo district's largest community,
part of it done — the testing team's results file imported, home sampling requested and partly done, and the
outreach ladder climbed for some of those not yet sampled."""

import csv
import datetime as dt
import random
import tempfile
from pathlib import Path

from django.db.models import Count
from django.utils import timezone

from caregrid.accounts.models import Role, RoleAssignment
from caregrid.people.models import Resident
from caregrid.places.models import Place, PlaceKind
from caregrid.places.queries import path_segment
from caregrid.places.tree import under

from . import actions, queries
from .importer import results_import
from .models import OutreachOutcome, OutreachRung, SamplingRound

SAMPLED_SHARE = 0.72
NEGATIVE_SHARE = 0.6  # of the sampled, the rest still pending
HOME_SHARE = 0.6  # of the residents proposed for home sampling
SITES = ("紫东花苑东门采样点", "社区服务中心采样点", "文化广场采样点")


def _largest_community(district: Place) -> Place | None:
    """The community of the district with the most residents (one grouped query)."""
    communities = {
        p.pk: p for p in Place.objects.filter(under(district.path), kind=PlaceKind.COMMUNITY).order_by("path")
    }
    if not communities:
        return None
    best, best_n = None, -1
    for subdistrict in Place.objects.filter(parent=district, kind=PlaceKind.SUBDISTRICT):
        seg = path_segment("place_path", len(subdistrict.path))
        rows = (
            Resident.objects.filter(under(subdistrict.path, "place_path"))
            .values(seg=seg)
            .annotate(n=Count("id"))
            .order_by()
        )
        for row in rows:
            community = communities.get(int(row["seg"])) if row["seg"].isdigit() else None
            if community is not None and row["n"] > best_n:
                best, best_n = community, row["n"]
    return best


def _staff(community: Place):
    """The community's own staff member, else anyone who may open rounds above it."""
    roles = RoleAssignment.objects.filter(user__is_active=True).select_related("user").order_by("id")
    own = roles.filter(place=community, role=Role.COMMUNITY_STAFF).first()
    if own is not None:
        return own.user
    above = roles.filter(
        place_id__in=community.ancestor_ids, role__in=[Role.SUBDISTRICT_STAFF, Role.DISTRICT_ADMIN]
    ).first()
    return above.user if above is not None else None


def _grid_workers(community: Place) -> dict[int, object]:
    rows = RoleAssignment.objects.filter(
        under(community.path, "place__path"), role=Role.GRID_WORKER, user__is_active=True
    ).select_related("user", "place")
    return {a.place_id: a.user for a in rows}


def seed_demo(district: Place, *, now: dt.datetime | None = None, seed: int = 2022) -> SamplingRound | None:
    """Build today's testing round over the district's largest community, with part of the work done.
    Returns the round, or None when the district has no community with residents or no staff to open it."""
    now = now or timezone.now()
    rng = random.Random(seed)
    community = _largest_community(district)
    staff = _staff(community) if community is not None else None
    if staff is None:
        return None
    local_now = timezone.localtime(now)
    day = local_now.date()
    round = actions.round_create(
        actor=staff,
        name=f"{day.month}月{day.day}日{community.name}全员核酸检测",
        place=community,
        start_date=day,
        note="应检尽检，行动不便人员上门采样",
    )
    start = timezone.make_aware(dt.datetime.combine(day, dt.time(7, 0)))
    if start >= now:
        start = timezone.make_aware(dt.datetime.combine(day, dt.time()))
    span = max((now - start).total_seconds() - 60, 1)

    # Home sampling: most proposed residents requested, half of those already visited.
    proposals = list(queries.home_sampling_proposals(staff, round)[:400])
    requested = []
    for resident in proposals:
        if rng.random() < HOME_SHARE:
            requested.append(actions.home_request_add(actor=staff, round=round, resident=resident))
    for request in requested[: len(requested) // 2]:
        actions.home_request_sampled(
            actor=staff, request=request, sampled_at=start + dt.timedelta(seconds=rng.uniform(0, span))
        )

    # The testing team's file: most residents sampled at the sites, results partly back.
    residents = list(queries.not_sampled(staff, round).values_list("name", "id_number").order_by("place_path", "id"))
    picked = [r for r in residents if rng.random() < SAMPLED_SHARE]
    positive_row = rng.randrange(len(picked)) if picked else -1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "检测结果.csv"
        with open(path, "w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow([f"{community.name}核酸检测结果"])
            writer.writerow(["序号", "姓名", "证件号码", "采样时间", "采样点", "检测结果"])
            for i, (name, id_number) in enumerate(picked, start=1):
                at = timezone.localtime(start + dt.timedelta(seconds=rng.uniform(0, span)))
                result = "阳性" if i - 1 == positive_row else "阴性" if rng.random() < NEGATIVE_SHARE else "待检"
                writer.writerow([i, name, id_number, at.strftime("%Y-%m-%d %H:%M"), rng.choice(SITES), result])
        results_import(actor=staff, round=round, path=path, file_name=path.name, partial=True)

    # The outreach ladder in each grid: a group notice for everyone not sampled, calls and visits for some.
    workers = _grid_workers(community)
    for grid in queries.grids_in(staff, round):
        worker = workers.get(grid.pk, staff)
        missing = queries.not_sampled(staff, round, grid=grid)
        actions.group_notice_send(actor=worker, round=round, grid=grid, residents=missing, note="请尽快到采样点采样")
        for i, resident in enumerate(missing[:12]):
            outcome = rng.choice(
                [OutreachOutcome.WILL_GO, OutreachOutcome.NOT_REACHED, OutreachOutcome.AWAY, OutreachOutcome.WILL_GO]
            )
            actions.outreach_record(
                actor=worker, round=round, resident=resident, step=OutreachRung.PHONE_CALL, outcome=outcome
            )
            if i < 3 and outcome == OutreachOutcome.NOT_REACHED:
                actions.outreach_record(
                    actor=worker,
                    round=round,
                    resident=resident,
                    step=OutreachRung.HOME_VISIT,
                    outcome=OutreachOutcome.WILL_GO,
                    note="已上门告知采样点位置",
                )
    return round
