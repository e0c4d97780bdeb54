"""Demo care rounds (`caregrid seedcare`): a week of 关爱走访 in the demo community, through the real actions.

In the community the demo sign-ins work in (`caregrid demousers`), the community's staff member applies 二对一 to
each comprehensive grid (the grid's own grid worker, else that staff member, and a party-member household of the
grid) and 五包一 to residents under home health monitoring, and names each grid worker their grid's leader.
Then, day by day, the priority residents the cadence rules in force asked a contact of are called (or visited,
when a rule asks for a visit) between 08:00 and 17:30 by their grid worker: most are reached and fine, some are
not reached (a few twice in a row, which raises a home-visit errand), a few refuse, a few need help (which
raises a help request); residents under home monitoring give their temperature. Today's round is only partly
done before the cut-off. Each contact is recorded with `contact_record` at its back-dated time (the requests it
raises are dated the same with `recorded_at`). The day lists are then built, and the door-knocking and testing
rounds of their own demo modules are added.

Nothing is due on a day when no cadence rule or mode asked for it then: the rules and the mode keep their
history, and a database set up today has rules in force from today only.

One seeded `random.Random` drives every choice: the same seed, district and time give the same contacts.
Accounts are never created here. Notes and names are data in Chinese (like a paper log's), not interface
text, so they are not translated."""

import datetime as dt
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from caregrid.accounts.audit import audit_record
from caregrid.accounts.management.commands.demousers import demo_scopes
from caregrid.accounts.models import Role, RoleAssignment
from caregrid.cases.actions import recorded_at
from caregrid.cases.taxonomy import CaseCategory
from caregrid.people.models import Category, Resident
from caregrid.people.synthetic_words import GIVEN, MOBILE_PREFIXES, SURNAMES
from caregrid.people.validation import clean_phone
from caregrid.places.actions import grid_leader_set
from caregrid.places.models import GridType, Place, PlaceKind
from caregrid.places.tree import ids_from_path, under

from .contacts.actions import contact_record
from .models import CarePolicy, ContactChannel, DueItem, Reached, Wellbeing
from .policies.daylist import build_day
from .policies.queries import ResidentDue, due_by, due_today
from .teams.actions import FIVE_FOR_ONE, TWO_FOR_ONE, Carer, team_template_apply, template_residents

# The working day of a round, local time.
ROUND_START = dt.time(8, 0)
ROUND_END = dt.time(17, 30)
# Of the residents due, what a first attempt gives.
NOT_REACHED_SHARE = 0.04
REFUSED_SHARE = 0.02
NEEDS_HELP_SHARE = 0.015
# A resident not reached at their last attempt the day before is harder to reach again.
NOT_REACHED_AGAIN_SHARE = 0.2
RETRY_SHARE = 0.5  # of the residents not reached, those called again later the same day
RETRY_REACHED_SHARE = 0.7
TODAY_DONE_SHARE = 0.6  # of today's residents, those done before the cut-off
# How a contact is made when the rule leaves the channel open.
OPEN_CHANNELS = ((ContactChannel.PHONE, 80), (ContactChannel.WECHAT, 10), (ContactChannel.VIDEO, 5))
OPEN_CHANNELS_NEAR = ((ContactChannel.VISIT, 5),)  # now and then the grid worker drops by

FINE_NOTES = ("", "", "", "身体状况良好", "已提醒按时服药", "家属在家照顾", "生活物资充足", "情绪稳定")
NOT_REACHED_NOTES = ("电话无人接听", "电话关机", "电话占线，稍后再打", "微信未回复")
REFUSED_NOTES = ("本人表示不需要联系", "拒绝接听，称身体无恙", "家属代为拒绝")
NEEDS = (
    (CaseCategory.MEDICINE, 35, ("常用降压药快吃完了，需要代购", "胰岛素只剩两天的量")),
    (CaseCategory.SUPPLIES, 30, ("家中米面不够了，需要配送", "蔬菜和牛奶吃完了")),
    (CaseCategory.MEDICAL, 10, ("腿脚疼痛加重，想去医院复诊", "需要定期复查，问怎么出小区")),
    (CaseCategory.CAREGIVING, 15, ("子女被封控在外，生活需要有人帮忙", "老伴住院，一人在家需要照看")),
    (CaseCategory.MENTAL_HEALTH, 10, ("独自在家情绪低落，睡不好", "担心疫情，很焦虑")),
)
PARTY_MEMBER_AGES = (35, 65)


@dataclass
class CareSeedResult:
    district: Place
    community: Place
    grids: int = 0  # grids given a team
    assigned: int = 0  # care assignments made
    leaders: int = 0  # grids given a leader
    due: int = 0  # residents due a contact, summed over the days
    due_past: int = 0  # of which on the days before today
    contacts: int = 0
    outcomes: Counter = field(default_factory=Counter)
    needs_help: int = 0  # contacts that raised a help request for a need
    home_visits: int = 0  # help requests raised for residents not reached twice in a row
    temperatures: int = 0
    days_built: int = 0
    rules_backdated: int = 0  # default rules taken to be in force since the first seeded day
    due_today: int = 0  # residents of the district due a contact today
    door_round: object = None
    sampling_round: object = None
    seconds: float = 0.0


def _pick(rng: random.Random, pairs):
    total = sum(pair[1] for pair in pairs)
    x = rng.random() * total
    for pair in pairs:
        x -= pair[1]
        if x < 0:
            return pair
    return pairs[-1]


def _local(day: dt.date, at: dt.time) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, at))


def _person(rng: random.Random) -> tuple[str, str]:
    """A name and a mobile number for someone outside the ledger (a doctor, a police officer)."""
    surname = _pick(rng, SURNAMES)[0]
    given = rng.choice(GIVEN[("mid", rng.choice("MF"))])
    return surname + given, f"{rng.choice(MOBILE_PREFIXES)}{rng.randint(0, 99999999):08d}"


def _party_member(rng: random.Random, grid: Place, day: dt.date) -> tuple[str, str]:
    """A party-member household of the grid: a resident of working age, not a priority resident, whose mobile
    number is valid (else someone made up)."""
    youngest = day.replace(year=day.year - PARTY_MEMBER_AGES[0])
    oldest = day.replace(year=day.year - PARTY_MEMBER_AGES[1])
    candidates = list(
        Resident.objects.filter(
            under(grid.path, "grid_path"),
            is_priority=False,
            phone_valid=True,
            birth_date__gt=oldest,
            birth_date__lte=youngest,
        )
        .exclude(phone="")
        .order_by("id")
        .values_list("name", "phone")[:500]
    )
    candidates = [(name, phone) for name, phone in candidates if clean_phone(phone) == (phone, True)]
    if candidates:
        return rng.choice(candidates)
    return _person(rng)


class _Staff:
    """The community's staff member and the grid workers of its grids (the demo sign-ins, or real staff)."""

    def __init__(self, community: Place):
        roles = RoleAssignment.objects.filter(user__is_active=True).select_related("user").order_by("id")
        own = roles.filter(place=community, role=Role.COMMUNITY_STAFF).first()
        self.community = own.user if own is not None else None
        self.grid_workers = {}
        for a in roles.filter(under(community.path, "place__path"), role=Role.GRID_WORKER, place__kind=PlaceKind.GRID):
            self.grid_workers.setdefault(a.place_id, a.user)

    def for_resident(self, resident: Resident):
        """The grid worker of the resident's comprehensive grid (its path's fourth place), else the staff member."""
        ids = ids_from_path(resident.grid_path)
        return self.grid_workers.get(ids[3], self.community) if len(ids) > 3 else self.community


def _teams(rng, result: CareSeedResult, staff: _Staff, grids: list[Place], since: dt.datetime) -> None:
    community_user = staff.community
    for grid in grids:
        worker = staff.grid_workers.get(grid.pk)
        grid_worker = Carer(user=worker or community_user)
        name, phone = _party_member(rng, grid, since.date())
        applied = team_template_apply(
            actor=community_user,
            template=TWO_FOR_ONE,
            grid=grid,
            carers={"grid_worker": grid_worker, "party_member": Carer(name=name, phone=phone)},
            at=since,
        )
        result.assigned += applied.assigned
        result.grids += applied.residents > 0
        if template_residents(community_user, FIVE_FOR_ONE, grid, since.date()).exists():
            medic, medic_phone = _person(rng)
            police, police_phone = _person(rng)
            applied = team_template_apply(
                actor=community_user,
                template=FIVE_FOR_ONE,
                grid=grid,
                carers={
                    "community_worker": Carer(user=community_user),
                    "grid_worker": grid_worker,
                    "medic": Carer(name=medic, phone=medic_phone),
                    "police": Carer(name=police, phone=police_phone),
                },
                at=since,
            )
            result.assigned += applied.assigned
        if worker is not None and grid.leader_id != worker.pk:
            grid_leader_set(actor=community_user, grid=grid, leader=worker)
            result.leaders += 1


@dataclass
class _Attempt:
    at: dt.datetime
    channel: str
    outcome: str
    wellbeing: str = ""
    needs: tuple = ()
    note: str = ""


class _Round:
    """One day's contacts for the residents due, planned then recorded in time order."""

    def __init__(self, rng: random.Random, staff: _Staff, home_monitoring: int | None):
        self.rng = rng
        self.staff = staff
        self.home_monitoring = home_monitoring
        self.missed_last: set[int] = set()  # residents whose last attempt was not reached

    def channels(self, item: ResidentDue) -> list[str]:
        """The contacts that meet every rule due: those a rule's channel asks for, then open ones."""
        rules = item.due_rules
        wanted: list[str] = []
        for channel in sorted({r.policy.channel for r in rules if r.policy.channel}):
            wanted += [channel] * max(r.required - r.done for r in rules if r.policy.channel == channel)
        open_need = max((r.required - r.done for r in rules if not r.policy.channel), default=0)
        while len(wanted) < open_need:
            wanted.append(_pick(self.rng, OPEN_CHANNELS + OPEN_CHANNELS_NEAR)[0])
        return wanted

    def _first(self, resident_id: int) -> tuple[str, str, tuple, str]:
        rng = self.rng
        if resident_id in self.missed_last and rng.random() < NOT_REACHED_AGAIN_SHARE:
            return Reached.NOT_REACHED, "", (), rng.choice(NOT_REACHED_NOTES)
        x = rng.random()
        if x < NOT_REACHED_SHARE:
            return Reached.NOT_REACHED, "", (), rng.choice(NOT_REACHED_NOTES)
        if x < NOT_REACHED_SHARE + REFUSED_SHARE:
            return Reached.REFUSED, "", (), rng.choice(REFUSED_NOTES)
        if x < NOT_REACHED_SHARE + REFUSED_SHARE + NEEDS_HELP_SHARE:
            need, _w, notes = _pick(rng, NEEDS)
            return Reached.REACHED, Wellbeing.NEEDS_HELP, (need,), rng.choice(notes)
        return Reached.REACHED, Wellbeing.FINE, (), rng.choice(FINE_NOTES)

    def plan(self, item: ResidentDue, start: dt.datetime, end: dt.datetime) -> list[_Attempt]:
        """The attempts for one resident within [start, end): one per contact wanted, each in its own slot of
        the day, and a second call later when a call is not answered."""
        rng = self.rng
        wanted = self.channels(item)
        if not wanted:
            return []
        slot = (end - start) / len(wanted)
        attempts: list[_Attempt] = []
        for i, channel in enumerate(wanted):
            at = start + slot * i + dt.timedelta(seconds=rng.uniform(0, slot.total_seconds() * 0.7))
            if attempts:
                at = max(at, attempts[-1].at + dt.timedelta(minutes=30))
            at = at.replace(second=0, microsecond=0)
            if at >= end:
                break
            outcome, wellbeing, needs, note = self._first(item.resident.pk)
            attempts.append(_Attempt(at, channel, outcome, wellbeing, needs, note))
            if outcome == Reached.REACHED:
                continue
            # Refused, or not reached: tried again later that day, or left for tomorrow.
            if outcome == Reached.REFUSED or rng.random() >= RETRY_SHARE:
                break
            later = (at + dt.timedelta(minutes=rng.randint(60, 180))).replace(second=0, microsecond=0)
            if later >= end:
                break
            if rng.random() >= RETRY_REACHED_SHARE:
                attempts.append(_Attempt(later, channel, Reached.NOT_REACHED, "", (), rng.choice(NOT_REACHED_NOTES)))
                break
            attempts.append(_Attempt(later, channel, Reached.REACHED, Wellbeing.FINE, (), "第二次联系上，一切正常"))
        return attempts

    def temperature(self, item: ResidentDue) -> bool:
        return any(r.policy.temperature for r in item.due_rules) or self.home_monitoring in item.category_ids

    def record(self, result: CareSeedResult, item: ResidentDue, attempt: _Attempt) -> None:
        rng = self.rng
        resident = item.resident
        temperature = None
        if attempt.outcome == Reached.REACHED and self.temperature(item):
            temperature = Decimal("36.0") + Decimal(rng.choice((0, 1, 2, 3, 3, 4, 4, 5, 5, 6, 7, 8))) / 10
            if rng.random() < 0.03:
                temperature = Decimal("37.4")
        with recorded_at(attempt.at):
            contact, _created = contact_record(
                actor=self.staff.for_resident(resident),
                resident=resident,
                client_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                at=attempt.at,
                channel=attempt.channel,
                outcome=attempt.outcome,
                wellbeing=attempt.wellbeing,
                needs=list(attempt.needs),
                temperature=temperature,
                note=attempt.note,
            )
        result.contacts += 1
        result.outcomes[attempt.outcome] += 1
        result.temperatures += temperature is not None
        if contact.help_request_id:
            if attempt.outcome == Reached.NOT_REACHED:
                result.home_visits += 1
            else:
                result.needs_help += 1
        if attempt.outcome == Reached.NOT_REACHED:
            self.missed_last.add(resident.pk)
        else:
            self.missed_last.discard(resident.pk)


def _window(day: dt.date, now: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """The part of the day's round that has happened by now (None before it starts)."""
    start, end = _local(day, ROUND_START), _local(day, ROUND_END)
    end = min(end, now - dt.timedelta(minutes=1))
    return (start, end) if end > start else None


def _default_rules_from(moment: dt.datetime) -> int:
    """A demo built today would have no cadence rules on the days it fills in: the defaults installed with the
    database (set by nobody, none ever ended) are taken to have been in force since the first seeded day.
    Rules anyone has set or ended are left as they are."""
    rules = CarePolicy.objects.all()
    if rules.filter(Q(set_by__isnull=False) | Q(valid_until__isnull=False)).exists():
        return 0
    return rules.filter(valid_from__gt=moment).update(valid_from=moment)


def care_seed(
    *,
    actor,
    district: Place,
    days: int = 7,
    seed: int = 2022,
    now: dt.datetime | None = None,
    progress: Callable[[dt.date, int, int], None] | None = None,
) -> CareSeedResult:
    """Fill the demo community of `district` with care teams and the contacts of the `days` before today and
    of today so far, build those days' lists and add the door-knocking and testing rounds. One transaction."""
    from caregrid.doors.synthetic import seed_demo as doors_seed_demo
    from caregrid.sampling.synthetic import seed_demo as sampling_seed_demo

    started = time.perf_counter()
    now = now or timezone.now()
    if days < 0:
        raise ValueError("天数不能为负（days must not be negative）")
    if not Resident.objects.filter(district=district).exists():
        raise ValueError(f"{district.name}还没有居民；请先运行 caregrid seed（no residents yet: run caregrid seed）")
    try:
        community = demo_scopes(district)[PlaceKind.COMMUNITY]
    except CommandError as e:
        raise ValueError(str(e)) from None
    staff = _Staff(community)
    if staff.community is None:
        raise ValueError(
            f"{community.name}没有社区工作人员账号；请先运行 caregrid demousers"
            "（no community staff: run caregrid demousers）"
        )
    rng = random.Random(seed)
    today = timezone.localdate(now)
    first = today - dt.timedelta(days=days)
    result = CareSeedResult(district=district, community=community)
    grids = list(
        Place.objects.filter(parent=community, kind=PlaceKind.GRID, grid_type=GridType.COMPREHENSIVE).order_by("id")
    )
    home_monitoring = Category.objects.filter(code="home_monitoring").values_list("pk", flat=True).first()
    residents = Resident.objects.filter(under(community.path, "place_path"), is_priority=True).order_by("id")
    late = timezone.localtime(now).time() >= due_by()
    with transaction.atomic():
        result.rules_backdated = _default_rules_from(_local(first, dt.time.min))
        _teams(rng, result, staff, grids, _local(first, dt.time.min))
        round_ = _Round(rng, staff, home_monitoring)
        for offset in range(days + 1):
            day = first + dt.timedelta(days=offset)
            due = [item for item in due_today(residents, day, now=now) if item.is_due and not item.is_done]
            result.due += len(due)
            if day < today:
                result.due_past += len(due)
            window = _window(day, now)
            planned = []
            for item in due:
                if day == today and not late and rng.random() >= TODAY_DONE_SHARE:
                    continue
                if window is not None:
                    planned += [(a.at, item.resident.pk, a, item) for a in round_.plan(item, *window)]
            before = result.contacts
            for _at, _rid, attempt, item in sorted(planned, key=lambda p: (p[0], p[1])):
                round_.record(result, item, attempt)
            if progress:
                progress(day, len(due), result.contacts - before)
        for offset in range(days + 1):
            day = first + dt.timedelta(days=offset)
            build_day(day, now=now)
            result.days_built += 1
        result.due_today = DueItem.objects.filter(day=today, district=district, required__gt=0).count()
        result.door_round = doors_seed_demo(district, now=now, seed=seed)
        result.sampling_round = sampling_seed_demo(district, now=now, seed=seed)
        audit_record(
            actor=actor,
            action="care.seed",
            obj=district,
            changes={
                "community": community.pk,
                "days": days,
                "seed": seed,
                "now": now.isoformat(),
                "assigned": result.assigned,
                "contacts": result.contacts,
                "due": result.due,
                "default_rules_backdated": result.rules_backdated,
            },
        )
    result.seconds = time.perf_counter() - started
    return result
