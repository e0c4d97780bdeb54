"""Demo help requests (`caregrid seedcases`): a lockdown week at the bureau's hotline over a seeded district.

Texts come from the shipped corpus (caregrid/cases/data/*.jsonl); the people, phones and addresses from the
registry, with priority residents and sealed or controlled compounds calling more. Every request goes
through the real actions (intake, answer, coordinate, dispatch, acknowledge, contact, errands, resolve,
follow-up call), each back-dated with `recorded_at`, in the order the week happened, with the deadline
sweep run the minute a clock can run out, as the worker would: late requests are escalated when they became late.
Steps planned after the end time are not taken, so the latest requests are still open and some are overdue.

One seeded `random.Random` drives every choice: the same seed, district and end time give the same requests.

Accounts are never created here. Steps are taken by the accounts holding the matching roles (the demo
sign-ins of `caregrid demousers`, or real staff). A step for a place without an account is recorded under
the place's name, and no errand is assigned there, because an errand needs a person who can sign in.

The notes, outcomes and names written here are data in Chinese (like a paper log's), not interface text,
so they are not translated: the same seed gives the same rows whatever the active language.
"""

import bisect
import datetime as dt
import heapq
import itertools
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from caregrid.accounts.audit import audit_record
from caregrid.accounts.models import Role, RoleAssignment
from caregrid.people.models import Resident
from caregrid.people.synthetic_words import MOBILE_PREFIXES
from caregrid.people.validation import clean_phone
from caregrid.places.address import parse_address
from caregrid.places.models import Place, PlaceKind, ZoneStatus
from caregrid.places.queries import zone_q
from caregrid.places.tree import address_label, ids_from_path, under

from . import actions
from .actions import IntakeData, deadlines_for, recorded_at
from .models import OPEN_STATUSES, CaseTask, Channel, Disposition, HelpRequest, Satisfaction, TaskKind
from .taxonomy import Urgency
from .triage.corpus import Example, read_corpus

# Shares of the bureau's week: most requests come by the hotline; most are answered in the call itself
# (the seeds: 508 calls, 353 answered on the spot, 134 coordinated, 21 dispatched).
CHANNEL_SHARES = (
    (Channel.HOTLINE, 70),
    (Channel.REFERRAL_12345, 10),
    (Channel.GRID_REPORT, 10),
    (Channel.PUBLIC_FORM, 5),
    (Channel.API, 5),
)
DISPOSITION_SHARES = ((Disposition.ANSWERED, 70), (Disposition.COORDINATED, 25), (Disposition.DISPATCHED, 5))
# What is answered in the call is mostly a question; what needs work is mostly pressing.
URGENCY_SHARES = {
    Disposition.ANSWERED: (("normal", 85), ("high", 15)),
    Disposition.COORDINATED: (("urgent", 20), ("high", 55), ("normal", 25)),
    Disposition.DISPATCHED: (("urgent", 30), ("high", 50), ("normal", 20)),
}
# Priority residents are about a sixth of a district and, with their families, make most of the calls.
PRIORITY_WEIGHT = 7.0
ZONE_WEIGHT = {ZoneStatus.SEALED: 4.0, ZoneStatus.CONTROLLED: 2.0}
# Calls by hour of day (a hotline's day: quiet at night, busy mornings and evenings).
HOUR_WEIGHT = (1, 1, 0.5, 0.5, 0.5, 1, 2, 4, 7, 9, 9, 8, 6, 5, 6, 6, 6, 6, 7, 8, 8, 6, 4, 2)
REPEAT_SHARE = 0.03  # a family calls again about a need already being worked on; the operator links them
LATE_CONTACT_SHARE = 0.08
LATE_RESOLUTION_SHARE = 0.10
STALLED_SHARE = 0.04  # contacted, then left waiting: still open, overdue
CANCEL_SHARE = 0.02
FOLLOW_UP_SHARE = {Disposition.ANSWERED: 0.45, Disposition.COORDINATED: 0.7, Disposition.DISPATCHED: 0.8}
SATISFACTION_SHARES = (
    (Satisfaction.SATISFIED, 80),
    (Satisfaction.BASIC, 13),
    (Satisfaction.UNSATISFIED, 3),
    (Satisfaction.UNREACHABLE, 4),
)
# The worker sweeps every minute; here a sweep runs one minute after each deadline of a request that
# is not answered in the call (only then can a clock run out), which escalates exactly what the
# worker would have escalated, with far fewer sweeps.
SWEEP_AFTER_DUE = dt.timedelta(minutes=1)

# ── what people at the bureau write ──────────────────────────────────────────────────────────────

ANSWERS = {
    "medical": (
        "已告知急症直接拨打120，社区和卡口配合放行；复诊可先线上问诊",
        "已告知就医绿色通道：由社区开具就医证明，网格员陪同出小区",
        "已告知定点医院接诊安排和所需核酸证明，来电人表示清楚",
    ),
    "medicine": (
        "已告知社区药品代购登记电话，登记后当天配送",
        "已告知附近可配送药店和线上购药渠道，慢病处方可延长",
    ),
    "supplies": (
        "已告知保供超市线上下单渠道和社区配送时间",
        "已告知本小区物资发放安排，明天上午按楼栋发放",
    ),
    "testing": (
        "已告知本小区核酸采样时间和地点，行动不便可登记上门采样",
        "已告知检测结果查询方式；抗原阳性须立即报告社区",
    ),
    "mental_health": (
        "已电话安抚，告知心理援助热线，来电人情绪平稳",
        "已耐心倾听并疏导，告知可随时再来电",
    ),
    "financial_aid": (
        "已告知临时救助申请方式：网上申请，次日电话核实，先行救助",
        "已告知低保、特困和临时救助政策及申请渠道",
    ),
    "travel": (
        "已告知出行报备流程：由所在社区开具通行证明，凭48小时核酸阴性证明出行",
        "已告知封控期间非必要不外出，确需出行可联系社区办理证明",
    ),
    "caregiving": (
        "已告知社区照料服务登记方式，网格员每天电话问候",
        "已告知可申请居家照料服务，社区志愿者可上门帮忙",
    ),
    "utilities": (
        "已告知物业和供电、供水抢修电话，维修人员可凭证进入小区",
        "已告知燃气公司客服电话和报修方式",
    ),
    "complaint": (
        "已记录意见，向有关部门反馈，感谢监督",
        "已解释相关情况，来电人表示理解",
    ),
    "policy": (
        "已解释现行防控政策和办理流程，来电人表示清楚",
        "已告知政策口径和街道咨询电话",
    ),
    "other": (
        "已解答来电人疑问",
        "已告知有关部门的联系方式",
    ),
}
COORDINATE_NOTES = {
    "medical": "已联系社区卫生服务中心和定点医院协调就医",
    "medicine": "已联系社区和定点药店协调代购药品",
    "supplies": "已联系保供超市和社区协调配送",
    "testing": "已联系采样点协调上门采样",
    "mental_health": "已联系心理咨询志愿者跟进",
    "financial_aid": "已转街道民政科核实困难情况",
    "travel": "已联系街道防控办协调通行证明",
    "caregiving": "已联系社区安排人员照料",
    "utilities": "已联系物业和维修单位",
    "complaint": "已转有关部门核实处理",
    "policy": "已向有关部门确认政策口径",
    "other": "已联系有关单位协调",
}
ERRANDS = {
    "medical": (TaskKind.ESCORT_HOSPITAL, "陪同就医并协调卡口放行", "已陪同就医，已平安返回家中"),
    "medicine": (TaskKind.BUY_MEDICINE, "按求助内容代购药品，送到门口", "药品已送达，本人签收"),
    "supplies": (TaskKind.DELIVER_SUPPLIES, "配送生活物资到户", "物资已送到门口"),
    "testing": (TaskKind.HOME_SAMPLING, "安排医护上门采样", "已完成上门采样"),
    "caregiving": (TaskKind.HOME_VISIT, "上门查看并协助照料", "已上门查看，情况稳定"),
    "mental_health": (TaskKind.HOME_VISIT, "上门探望", "已上门探望，情绪平稳"),
    "financial_aid": (TaskKind.HOME_VISIT, "上门核实困难情况", "已核实，救助材料已报街道"),
    "utilities": (TaskKind.OTHER, "联系维修人员上门", "已修复"),
}
OUTCOMES = {
    "medical": "已协调就医，患者已得到救治",
    "medicine": "已协调代购药品并送到家中",
    "supplies": "生活物资已送到家中",
    "testing": "已安排上门采样，结果已告知",
    "mental_health": "心理咨询志愿者已电话疏导，情绪平稳",
    "financial_aid": "已核实困难情况，临时救助已发放",
    "travel": "已开具通行证明，已顺利出行",
    "caregiving": "社区已安排人员照料，每天上门",
    "utilities": "维修人员已上门修复",
    "complaint": "已核实处理并向反映人反馈",
    "policy": "已向来电人解释清楚",
    "other": "已协调解决",
}
CONTACT_NOTES = (
    "已电话联系求助人，确认需求",
    "已联系求助人家属，约定上门时间",
    "已电话联系求助人，告知办理进度",
)
LOCAL_CONTACT_NOTES = (
    "社区已电话联系求助人，马上上门",
    "网格员已上门查看情况",
    "已电话联系求助人，确认需求",
)
DISPATCH_NOTES = ("请尽快联系求助人并上门处置", "请即刻联系，办结后反馈", "")
REPEAT_NOTES = ("来电催办，已告知正在办理，会尽快联系", "已回电告知求助人原工单正在办理")
CANCEL_REASONS = ("求助人来电表示问题已自行解决", "家属已送到，求助人表示无需再办")
CLOSE_NOTES = {
    Satisfaction.SATISFIED: "回访：求助人对办理结果满意",
    Satisfaction.BASIC: "回访：求助人表示基本满意，希望以后更快一些",
    Satisfaction.UNSATISFIED: "回访：求助人认为等待时间太长",
    Satisfaction.UNREACHABLE: "回访：三次电话未接通",
}

# Place names the corpus writes; a text's address is rewritten to the household the request concerns.
CORPUS_COMPOUNDS = ("中南世纪花城二期", "紫东花苑", "紫东小区", "临江家园", "惠泽苑", "紫东")
CORPUS_COMMUNITIES = ("紫东社区", "明星社区")
_CORPUS_NAMES = re.compile("|".join((*CORPUS_COMMUNITIES, *CORPUS_COMPOUNDS, r"[A-Z]网格")))
_CN = "一二三四五六七八九十"
_LOCATION = re.compile(
    r"(?<![0-9A-Za-z.\-])"
    rf"(?:(?P<b>\d{{1,3}}|[{_CN}]{{1,3}})(?:号楼|幢|栋|座)"
    rf"|(?P<b2>\d{{1,3}})(?:号|楼)(?=\d{{1,2}}单元|\d{{3,4}}))"
    rf"(?:(?P<u>\d{{1,2}}|[{_CN}])单元)?"
    r"(?:(?P<r>\d{3,4})(?P<rm>室|号|房)?)?"
)
_DASHED = re.compile(r"(?<![0-9\-])\d{1,3}-\d{1,2}-\d{3,4}(?![0-9\-])")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


# ── the corpus ──────────────────────────────────────────────────────────────────────────────────


def _voice(text: str) -> str:
    """Who is speaking: "referral" (a 12345 transfer), "grid" (a grid worker), "operator", "caller"."""
    if "12345" in text:
        return "referral"
    if "网格员" in text:
        return "grid"
    if "来电" in text[:12]:
        return "operator"
    return "caller"


# Voices that fit a channel, preferred first.
CHANNEL_VOICES = {
    Channel.HOTLINE: (("caller", "operator"),),
    Channel.REFERRAL_12345: (("referral",), ("caller", "operator")),
    Channel.GRID_REPORT: (("grid",), ("caller",)),
    Channel.PUBLIC_FORM: (("caller",),),
    Channel.API: (("caller",),),
}


class _TextPools:
    """Corpus texts by voice and urgency, each pool shuffled once and drawn without repeats until spent."""

    def __init__(self, corpus: list[Example], rng: random.Random):
        self.rng = rng
        self.all: dict[tuple[str, str], list[Example]] = {}
        for t in corpus:
            self.all.setdefault((_voice(t.text), t.urgency), []).append(t)
        self.left = {key: rng.sample(items, len(items)) for key, items in self.all.items()}

    def draw(self, channel: str, urgency: str, fit: Callable[[Example], str | None]) -> tuple[Example, str]:
        """A text of this urgency in a voice fitting the channel, as `fit` rewrites it (None: does not fit)."""
        groups = CHANNEL_VOICES[channel]
        for voices in groups:
            for voice in voices:
                pool = self.left.get((voice, urgency), [])
                for i in range(len(pool) - 1, -1, -1):
                    text = fit(pool[i])
                    if text is not None:
                        return pool.pop(i), text
        # Every fitting text has been used once: repeat one.
        used = [t for voices in groups for v in voices for t in self.all.get((v, urgency), [])]
        for example in self.rng.sample(used, len(used)):
            text = fit(example)
            if text is not None:
                return example, text
        example = self.rng.choice([t for items in self.all.values() for t in items if t.urgency == urgency])
        return example, example.text


# ── the people and places ───────────────────────────────────────────────────────────────────────


@dataclass
class _Household:
    place: Place
    label: str  # "景瑞小区8幢1单元401室"
    compound: Place | None
    building: Place | None
    unit: Place | None
    community: Place | None
    subdistrict: Place | None
    grid: Place | None  # the comprehensive grid (the one with a grid worker), not a micro-grid


@dataclass
class _Subject:
    resident: Resident
    household: _Household
    age: int


def _pick(rng: random.Random, pairs):
    total = sum(w for _v, w in pairs)
    x = rng.random() * total
    for value, weight in pairs:
        x -= weight
        if x < 0:
            return value
    return pairs[-1][0]


def _uniform(rng: random.Random, a: float, b: float) -> float:
    return a + (b - a) * rng.random()


def _subjects(district: Place, rng: random.Random, n: int, day: dt.date) -> list[_Subject]:
    """`n` residents the requests concern (with repeats), weighted by priority and zone."""
    residents = Resident.objects.filter(district=district)
    rows = list(residents.order_by("id").values_list("id", "is_priority"))
    if not rows:
        return []
    factor = {}
    for status, weight in ZONE_WEIGHT.items():
        for rid in residents.filter(zone_q(status, day)).values_list("id", flat=True):
            factor[rid] = max(factor.get(rid, 1.0), weight)
    cum = list(itertools.accumulate((PRIORITY_WEIGHT if prio else 1.0) * factor.get(rid, 1.0) for rid, prio in rows))
    chosen = [rows[bisect.bisect(cum, rng.random() * cum[-1])][0] for _i in range(n)]
    by_id = Resident.objects.in_bulk(set(chosen))
    households = _households({r.household_id for r in by_id.values()})
    result = []
    for rid in chosen:
        r = by_id[rid]
        b = r.birth_date
        age = day.year - b.year - ((day.month, day.day) < (b.month, b.day))
        result.append(_Subject(r, households[r.household_id], age))
    return result


def _households(ids: set[int]) -> dict[int, _Household]:
    places = Place.objects.in_bulk(ids)
    chain_ids = {i for p in places.values() for i in p.ancestor_ids}
    chain_ids |= {i for p in places.values() for i in ids_from_path(p.grid_path)}
    by_id = Place.objects.in_bulk(chain_ids)
    result = {}
    for pid, place in places.items():
        chain = [by_id[i] for i in place.ancestor_ids if i in by_id]
        kinds = {p.kind: p for p in chain}
        grids = [by_id[i] for i in ids_from_path(place.grid_path) if i in by_id and by_id[i].kind == PlaceKind.GRID]
        result[pid] = _Household(
            place=place,
            label=address_label(chain),
            compound=kinds.get(PlaceKind.COMPOUND),
            building=kinds.get(PlaceKind.BUILDING),
            unit=kinds.get(PlaceKind.UNIT),
            community=kinds.get(PlaceKind.COMMUNITY),
            subdistrict=kinds.get(PlaceKind.SUBDISTRICT),
            grid=grids[0] if grids else None,
        )
    return result


class _Staff:
    """Who takes each step: the accounts holding the matching roles in the district, if any."""

    def __init__(self, district: Place, rng: random.Random):
        self.rng = rng
        self.at: dict[tuple[int, str], list] = {}
        assignments = (
            RoleAssignment.objects.filter(under(district.path, "place__path"), user__is_active=True)
            .select_related("user")
            .order_by("id")
        )
        for a in assignments:
            self.at.setdefault((a.place_id, a.role), []).append(a.user)
        self.operators = self.at.get((district.pk, Role.HOTLINE_OPERATOR)) or self.at.get(
            (district.pk, Role.DISTRICT_ADMIN), []
        )

    def operator(self):
        return self.rng.choice(self.operators) if self.operators else "热线接线员"

    def _one(self, place: Place | None, role: str):
        users = self.at.get((place.pk, role)) if place else None
        return self.rng.choice(users) if users else None

    def grid_worker(self, home: _Household):
        """The grid worker reporting from the household's grid, or the grid's name without an account."""
        return self._one(home.grid, Role.GRID_WORKER) or _grid_name(home) + "网格员"

    def local(self, place: Place, home: _Household):
        """Whoever works a request dispatched to this place (its name when nobody there has an account)."""
        if place.kind == PlaceKind.GRID:
            return self._one(place, Role.GRID_WORKER) or _grid_name(home) + "网格员"
        return self._one(place, Role.COMMUNITY_STAFF) or f"{place.name}工作人员"

    def errand_runner(self, home: _Household):
        """The person nearest the household who can run an errand; None when nobody there has an account."""
        return (
            self._one(home.grid, Role.GRID_WORKER)
            or self._one(home.community, Role.COMMUNITY_STAFF)
            or self._one(home.subdistrict, Role.SUBDISTRICT_STAFF)
        )


def _grid_name(home: _Household) -> str:
    """ "龙王社区第一网格": grid names repeat from one community to the next."""
    community = home.community.name if home.community else ""
    return community + (home.grid.name if home.grid else "")


# ── one request, planned ────────────────────────────────────────────────────────────────────────


@dataclass
class _Plan:
    index: int
    received: dt.datetime
    channel: str
    disposition: str | None  # None for a repeat call linked to an earlier request
    text: Example
    description: str
    subject: _Subject
    caller_name: str
    caller_phone: str
    with_resident: bool
    primary: int | None = None  # the earlier request a repeat call is linked to
    steps: list[tuple[dt.datetime, str, dict]] = field(default_factory=list)
    done_at: dt.datetime | None = None  # when its need is planned to be met (None: never, in this week)


def _localise(text: str, home: _Household, phone: str) -> str | None:
    """The text with the corpus's places and phone replaced by the household's and the caller's;
    None when the address in it cannot be rewritten to read as that household."""
    if phone:
        text = _MOBILE.sub(phone, text)
    if parse_address(text) is None and not _CORPUS_NAMES.search(text):
        return text
    if home.compound is None or home.building is None:
        return None
    b_no = home.building.name.removesuffix("幢").removesuffix("栋").removesuffix("号楼")
    u_no = home.unit.name.removesuffix("单元") if home.unit else None
    room = home.place.name.removesuffix("室")

    def location(m: re.Match) -> str:
        out = home.building.name if home.building.name[-1:] in "幢栋楼号" else f"{home.building.name}幢"
        if m["u"] and u_no:
            out += f"{u_no}单元"
        if m["r"]:
            out += room + (m["rm"] or "")
        return out

    def dashed(_m: re.Match) -> str:
        return f"{b_no}-{u_no}-{room}" if u_no else f"{home.building.name}{room}室"

    text = _DASHED.sub(dashed, text, count=1) if _DASHED.search(text) else _LOCATION.sub(location, text, count=1)

    def name(m: re.Match) -> str:
        word = m.group(0)
        if word.endswith("网格"):
            return home.grid.name if home.grid else "网格"
        if word in CORPUS_COMMUNITIES:
            return home.community.name if home.community else "社区"
        return home.compound.name

    text = _CORPUS_NAMES.sub(name, text)
    check = parse_address(text)
    if check is not None:
        for got, want in ((check.building, b_no), (check.unit, u_no), (check.room, room)):
            if got is not None and got != want:
                return None
    return text


def _caller(rng: random.Random, subject: _Subject) -> tuple[str, str]:
    """(name, phone) of whoever calls about the resident: the resident, or family."""
    r = subject.resident
    phone, valid = clean_phone(r.phone)
    if 18 <= subject.age < 80 and phone and valid and rng.random() < 0.7:
        return r.name, phone
    if r.emergency_contact and r.emergency_phone and rng.random() < 0.6:
        return r.emergency_contact, r.emergency_phone
    relative = r.name[:2] if r.name[:2] in ("欧阳", "诸葛", "司马", "上官") else r.name[:1]
    mobile = rng.choice(MOBILE_PREFIXES) + f"{int(rng.random() * 10**8):08d}"
    return relative + rng.choice(("女士", "先生")), mobile


def _received_times(rng: random.Random, n: int, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """`n` times between start and end, by hour of day and rising as the lockdown goes on."""
    span = (end - start).total_seconds()
    top = max(HOUR_WEIGHT) * 1.5
    times = []
    while len(times) < n:
        t = start + dt.timedelta(seconds=rng.random() * span)
        local = timezone.localtime(t)
        weight = HOUR_WEIGHT[local.hour] * (1.0 + 0.5 * (t - start).total_seconds() / span)
        if rng.random() * top < weight:
            times.append(t)
    return sorted(times)


def _office_hours(rng: random.Random, t: dt.datetime) -> dt.datetime:
    """Follow-up calls are made between 9:00 and 20:00."""
    local = timezone.localtime(t)
    if 9 <= local.hour < 20:
        return t
    day = local.date() + (dt.timedelta(days=1) if local.hour >= 20 else dt.timedelta())
    start = timezone.make_aware(dt.datetime.combine(day, dt.time(9)), local.tzinfo)
    return start + dt.timedelta(minutes=_uniform(rng, 0, 150))


class _Planner:
    def __init__(self, rng: random.Random, staff: _Staff, deadlines: dict):
        self.rng = rng
        self.staff = staff
        self.deadlines = deadlines

    def steps(self, plan: _Plan) -> None:
        rng, t = self.rng, plan.received
        out = plan.steps

        def add(minutes: float, step: str, **kw) -> dt.datetime:
            nonlocal t
            t = t + dt.timedelta(minutes=minutes)
            out.append((t, step, kw))
            return t

        out.append((t, "create", {}))
        if not plan.with_resident:
            add(_uniform(rng, 1, 4), "place")
        if plan.channel in (Channel.PUBLIC_FORM, Channel.API, Channel.REFERRAL_12345):
            add(_uniform(rng, 0.5, 3), "retriage")
        if plan.disposition is None:
            # A repeat call: linked to the request already being worked on, and the caller told so.
            add(_uniform(rng, 0.5, 3), "link")
            note = REPEAT_NOTES[0] if plan.channel == Channel.HOTLINE else REPEAT_NOTES[1]
            add(
                _uniform(rng, 0.2, 2) if plan.channel == Channel.HOTLINE else _uniform(rng, 5, 30), "contact", note=note
            )
            return
        category, urgency = plan.text.category, plan.text.urgency
        first_due, resolve_due = self.deadlines[urgency]
        if plan.disposition == Disposition.ANSWERED:
            plan.done_at = add(_uniform(rng, 1.5, 8), "answer", note=rng.choice(ANSWERS[category]))
            self._follow_up(plan, plan.done_at)
            return
        home = plan.subject.household
        target = None
        if plan.disposition == Disposition.COORDINATED:
            add(_uniform(rng, 2, 8), "coordinate", note=COORDINATE_NOTES[category])
            local = self.staff.operator()
            contact_notes = CONTACT_NOTES
        else:
            target = home.grid if home.grid and rng.random() < 0.5 else home.community or home.subdistrict
            add(_uniform(rng, 3, 12), "dispatch", place=target, note=rng.choice(DISPATCH_NOTES))
            local = self.staff.local(target, home)
            late_ack = rng.random() < LATE_CONTACT_SHARE
            wait = first_due.total_seconds() / 60 * (_uniform(rng, 1.1, 2.0) if late_ack else _uniform(rng, 0.1, 0.5))
            add(wait, "acknowledge", actor=local, note="已签收")
            contact_notes = LOCAL_CONTACT_NOTES
        elapsed = (t - plan.received).total_seconds() / 60
        late = rng.random() < LATE_CONTACT_SHARE
        due = first_due.total_seconds() / 60
        at = due * (_uniform(rng, 1.1, 2.5) if late else _uniform(rng, 0.1, 0.7))
        add(max(at - elapsed, _uniform(rng, 1, 10)), "contact", actor=local, note=rng.choice(contact_notes))
        if rng.random() < STALLED_SHARE:
            return
        if rng.random() < CANCEL_SHARE:
            plan.done_at = add(_uniform(rng, 10, 120), "cancel", actor=local, reason=rng.choice(CANCEL_REASONS))
            return
        elapsed = (t - plan.received).total_seconds() / 60
        share = _uniform(rng, 1.05, 1.8) if rng.random() < LATE_RESOLUTION_SHARE else _uniform(rng, 0.3, 0.9)
        finish = max(resolve_due.total_seconds() / 60 * share - elapsed, _uniform(rng, 15, 40))
        errand = ERRANDS.get(category)
        runner = self.staff.errand_runner(home) if errand else None
        if errand and runner:
            kind, detail, result = errand
            gap = _uniform(rng, 2, min(20, finish / 2))
            add(gap, "task_add", actor=local, kind=kind, assignee=runner, detail=detail)
            plan.done_at = add(finish - gap, "task_done", actor=runner, result=result)
        else:
            plan.done_at = add(finish, "resolve", actor=local, outcome=OUTCOMES[category])
        self._follow_up(plan, plan.done_at)

    def _follow_up(self, plan: _Plan, done: dt.datetime) -> None:
        rng = self.rng
        if rng.random() < FOLLOW_UP_SHARE[plan.disposition]:
            when = _office_hours(rng, done + dt.timedelta(hours=_uniform(rng, 16, 40)))
            satisfaction = _pick(rng, SATISFACTION_SHARES)
            plan.steps.append((when, "close", {"satisfaction": satisfaction, "note": CLOSE_NOTES[satisfaction]}))


# ── the whole week ──────────────────────────────────────────────────────────────────────────────


@dataclass
class CaseSeedResult:
    district: Place
    created: int
    channels: Counter
    dispositions: Counter
    statuses: Counter
    open: int
    overdue: int
    escalations: int
    errands: int
    seconds: float


class _Week:
    def __init__(self, *, district: Place, count: int, days: int, seed: int, until: dt.datetime, progress):
        self.rng = random.Random(seed)
        self.district = district
        self.count = count
        self.until = until
        self.start = until - dt.timedelta(days=days)
        self.progress = progress
        self.staff = _Staff(district, self.rng)
        self.cases: dict[int, HelpRequest] = {}
        self.tasks: dict[int, CaseTask] = {}
        self.plans: list[_Plan] = []
        self.created = 0
        self.errands = 0
        self.escalations = 0
        self.external = itertools.count(1)
        self.deadlines = {u: deadlines_for(u) for u in Urgency.values}

    def plan(self) -> None:
        rng = self.rng
        pools = _TextPools(read_corpus(), rng)
        times = _received_times(rng, self.count, self.start, self.until - dt.timedelta(minutes=1))
        subjects = _subjects(self.district, rng, self.count, timezone.localdate(self.until))
        planner = _Planner(rng, self.staff, self.deadlines)
        for i, (received, subject) in enumerate(zip(times, subjects, strict=True)):
            channel = _pick(rng, CHANNEL_SHARES)
            primary = self._repeat_of(received) if rng.random() < REPEAT_SHARE else None
            if primary is not None:
                subject, disposition = primary.subject, None
                urgency = primary.text.urgency
            else:
                disposition = _pick(rng, DISPOSITION_SHARES)
                urgency = _pick(rng, URGENCY_SHARES[disposition])
            caller_name, caller_phone = _caller(rng, subject)

            def fit(t: Example, primary=primary, home=subject.household, phone=caller_phone) -> str | None:
                if primary is not None and t.category != primary.text.category:
                    return None
                return _localise(t.text, home, phone)

            text, description = pools.draw(channel, urgency, fit)
            plan = _Plan(
                index=i,
                received=received,
                channel=channel,
                disposition=disposition,
                text=text,
                description=description,
                subject=subject,
                caller_name=caller_name,
                caller_phone=caller_phone,
                with_resident=channel in (Channel.HOTLINE, Channel.GRID_REPORT),
                primary=primary.index if primary is not None else None,
            )
            planner.steps(plan)
            self.plans.append(plan)

    def _repeat_of(self, received: dt.datetime) -> _Plan | None:
        """An earlier request of the last 48 hours still being worked on when this call comes in."""
        recent = [
            p
            for p in self.plans[-200:]
            if p.disposition in (Disposition.COORDINATED, Disposition.DISPATCHED)
            and received - p.received < dt.timedelta(hours=48)
            and (p.done_at is None or p.done_at > received + dt.timedelta(minutes=90))
            and p.steps[-1][1] != "cancel"
        ]
        return self.rng.choice(recent) if recent else None

    def run(self) -> None:
        queue: list[tuple[dt.datetime, int, int, str, dict]] = []
        seq = itertools.count()
        for plan in self.plans:
            for when, step, kw in plan.steps:
                if when <= self.until:
                    queue.append((when, next(seq), plan.index, step, kw))
        sweeps = {self.until}
        for plan in self.plans:
            if plan.disposition != Disposition.ANSWERED:
                for due in self.deadlines[plan.text.urgency]:
                    at = (plan.received + due + SWEEP_AFTER_DUE).replace(second=0, microsecond=0)
                    if at < self.until:
                        sweeps.add(at)
        for at in sorted(sweeps):
            queue.append((at, next(seq), -1, "sweep", {}))
        heapq.heapify(queue)
        while queue:
            when, _seq, index, step, kw = heapq.heappop(queue)
            with recorded_at(when):
                if step == "sweep":
                    self.escalations += actions.sweep_deadlines(now=when).escalated
                else:
                    self._take(self.plans[index], step, kw, when)

    def _take(self, plan: _Plan, step: str, kw: dict, when: dt.datetime) -> None:
        if step == "create":
            self._create(plan, when)
            return
        case = self.cases[plan.index]
        actor = kw.pop("actor", None) or self.staff.operator()
        if step == "place":
            home = plan.subject.household.place
            if case.place_id != home.pk:
                case = actions.case_set_place(actor=actor, case=case, place=home)
        elif step == "retriage":
            case = actions.case_retriage(actor=actor, case=case, category=plan.text.category, urgency=plan.text.urgency)
        elif step == "link":
            case = actions.case_link(actor=actor, case=case, primary=self.cases[plan.primary])
        elif step == "answer":
            case = actions.case_answer(actor=actor, case=case, **kw)
        elif step == "coordinate":
            case = actions.case_coordinate(actor=actor, case=case, **kw)
        elif step == "dispatch":
            case = actions.case_dispatch(actor=actor, case=case, **kw)
        elif step == "acknowledge":
            case = actions.case_acknowledge(actor=actor, case=case, **kw)
        elif step == "contact":
            case = actions.case_contact(actor=actor, case=case, **kw)
        elif step == "task_add":
            self.tasks[plan.index] = actions.task_add(actor=actor, case=case, **kw)
            self.errands += 1
        elif step == "task_done":
            actions.task_done(actor=actor, task=self.tasks[plan.index], **kw)
        elif step == "resolve":
            case = actions.case_resolve(actor=actor, case=case, **kw)
        elif step == "cancel":
            case = actions.case_cancel(actor=actor, case=case, **kw)
        elif step == "close":
            case = actions.case_close(actor=actor, case=case, **kw)
        self.cases[plan.index] = case

    def _create(self, plan: _Plan, when: dt.datetime) -> None:
        subject, home = plan.subject, plan.subject.household
        channel = plan.channel
        operator_entered = channel in (Channel.HOTLINE, Channel.GRID_REPORT)
        if channel == Channel.GRID_REPORT:
            actor = self.staff.grid_worker(home)
        elif channel == Channel.PUBLIC_FORM:
            actor = "public"
        elif channel == Channel.API:
            actor = "api"
        else:
            actor = self.staff.operator()
        external = ""
        if channel == Channel.REFERRAL_12345:
            external = f"GD{timezone.localdate(when):%Y%m%d}{next(self.external):05d}"
        data = IntakeData(
            channel=channel,
            description=plan.description,
            # An operator (or a grid worker) picks the category and urgency; other channels take the suggestion.
            category=plan.text.category if operator_entered else "",
            urgency=plan.text.urgency if operator_entered else "",
            caller_name=plan.caller_name,
            caller_phone=plan.caller_phone,
            resident=subject.resident if plan.with_resident else None,
            address_text=home.label,
            external_id=external,
            received_at=when,
        )
        self.cases[plan.index] = actions.case_create(actor=actor, data=data, district=self.district)
        self.created += 1
        if self.progress and (self.created % 100 == 0 or self.created == self.count):
            self.progress(self.created, self.count)


def cases_seed(
    *,
    actor,
    district: Place,
    count: int = 600,
    days: int = 7,
    seed: int = 2022,
    until: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CaseSeedResult:
    """Fill `district` with `count` help requests received over the `days` before `until` (default now),
    each taken through the workflow as far as it had got by then. One transaction."""
    started = time.perf_counter()
    until = until or timezone.now()
    if count < 1 or days < 1:
        raise ValueError("请求数和天数至少为1（count and days must be at least 1）")
    if not Resident.objects.filter(district=district).exists():
        raise ValueError(f"{district.name}还没有居民；请先运行 caregrid seed（no residents yet: run caregrid seed）")
    week = _Week(district=district, count=count, days=days, seed=seed, until=until, progress=progress)
    with transaction.atomic():
        week.plan()
        week.run()
        ids = [c.pk for c in week.cases.values()]
        rows = list(
            HelpRequest.objects.filter(pk__in=ids).values_list(
                "channel", "disposition", "status", "first_contact_at", "first_contact_due", "resolution_due"
            )
        )
        overdue = sum(
            1
            for _c, _d, status, contact_at, contact_due, resolve_due in rows
            if status in OPEN_STATUSES and ((contact_at is None and contact_due < until) or resolve_due < until)
        )
        result = CaseSeedResult(
            district=district,
            created=week.created,
            channels=Counter(r[0] for r in rows),
            dispositions=Counter(r[1] for r in rows),
            statuses=Counter(r[2] for r in rows),
            open=sum(1 for r in rows if r[2] in OPEN_STATUSES),
            overdue=overdue,
            escalations=week.escalations,
            errands=week.errands,
            seconds=0.0,
        )
        audit_record(
            actor=actor,
            action="case.seed",
            obj=district,
            changes={
                "count": week.created,
                "days": days,
                "seed": seed,
                "until": until.isoformat(),
                "open": result.open,
                "overdue": overdue,
            },
        )
    result.seconds = time.perf_counter() - started
    return result


def seeded_district(name: str = "") -> Place | None:
    """The district to fill: the one named, else the first one."""
    qs = Place.objects.filter(kind=PlaceKind.DISTRICT).order_by("id")
    return qs.filter(name=name).first() if name else qs.first()
