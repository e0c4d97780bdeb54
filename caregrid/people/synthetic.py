"""A synthetic district for demos, tests and benchmarks (`caregrid seed`): realistic, deterministic, fast.

Everything comes from one seeded `random.Random`; the same seed and the same as-of date give the same
district, names, ID numbers, addresses, grids and categories. Places and residents are written with
`executemany` on pre-assigned ids (paths are known before the rows exist) and, into an empty ledger,
with the secondary indexes built once at the end: a million residents take about a minute on SQLite.
"""

import bisect
import datetime as dt
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.cn import ric

from caregrid.accounts.audit import audit_record
from caregrid.places.actions import mode_set, zone_set
from caregrid.places.models import GridType, Mode, ModeChange, Place, PlaceKind, ZoneStatus

from .bulk import analyze, indexes_deferred, reset_sequences
from .models import Category, Resident, ResidentCategory
from .synthetic_words import (
    COMMUNITY_WORDS,
    COMPOUND_WORDS,
    GIVEN,
    GIVEN_CHARS,
    LOCAL_CODES_BEFORE_2020,
    LOCAL_CODES_FROM_2020,
    MIGRANT_CODES,
    MIGRANT_SHARE,
    MOBILE_PREFIXES,
    NEW_SUFFIXES,
    OLD_SUFFIXES,
    SUBDISTRICT_NAMES,
    SURNAMES,
    cn_number,
)
from .validation import clean_phone


def _cumulative(pairs):
    items = [p[0] for p in pairs]
    cum = list(itertools.accumulate(p[1] for p in pairs))
    return items, cum


class _Random(random.Random):
    """`random.Random` drawing randint, randrange and choice from a single `random()` each: three
    times faster than the stock versions and just as deterministic for a given seed."""

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def randrange(self, n: int) -> int:  # type: ignore[override]
        return int(self.random() * n)

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]


@dataclass
class SeedResult:
    district: Place
    residents: int
    priority: int
    places: Counter
    categories: Counter
    zones: list[tuple[str, str]]
    seconds: float


@dataclass
class _Person:
    name: str
    gender: str
    birth: dt.date
    age: int
    role: str  # "elder", "adult", "child"
    codes: list[tuple[str, dt.date | None, dt.date | None]] = field(default_factory=list)


class DistrictBuilder:
    """Generates one district into the database; use through `district_seed`.

    Names and reasons written here are data in Chinese (like a ledger's), not interface text, so they
    are not translated: the same seed gives the same rows whatever the active language."""

    BATCH = 20_000

    def __init__(self, *, residents: int, seed: int, district_name: str, as_of: dt.date, progress=None):
        self.total = residents
        self.rng = _Random(seed)
        self.district_name = district_name
        self.as_of = as_of
        self.progress = progress
        self.surnames, self.surname_cum = _cumulative(SURNAMES)
        self.local_old = _cumulative(LOCAL_CODES_BEFORE_2020)
        self.local_new = _cumulative(LOCAL_CODES_FROM_2020)
        self.migrant = _cumulative(MIGRANT_CODES)
        self.categories = dict(Category.objects.values_list("code", "id"))
        self.place_counts: Counter = Counter()
        self.category_counts: Counter = Counter()
        self.priority = 0
        self.written = 0
        self.used_ids: set[str] = set()
        if Resident.objects.exists():
            self.used_ids.update(Resident.objects.values_list("id_number", flat=True).iterator(chunk_size=20_000))
        self.next_place_id = (Place.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        self.next_resident_id = (Resident.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        self.now = connection.ops.adapt_datetimefield_value(timezone.now())
        self._date = (lambda d: d.isoformat()) if connection.vendor == "sqlite" else (lambda d: d)
        self.place_rows: list[tuple] = []
        self.resident_rows: list[tuple] = []
        self.link_rows: list[tuple] = []
        self.zone_plan: list[tuple[int, str, int, str]] = []  # (place id, status, days ago, reason)
        self.lifted_plan: list[int] = []
        # Compounds split across grids and grids spanning compounds, as counted when grids are drawn.
        self.splits = {"compound_split": 0, "grid_spans_compounds": 0}
        self._birth_bounds: dict[int, tuple[int, int]] = {}

    # ── helpers ──
    def _pick(self, items, cum):
        return items[bisect.bisect(cum, self.rng.random() * cum[-1])]

    def _new_place_id(self) -> int:
        pid = self.next_place_id
        self.next_place_id += 1
        return pid

    def _place(self, *, pid, kind, name, parent_path, depth, parent_id, code="", grid_type="", grid=None):
        path = f"{parent_path}{pid}."
        grid_id, grid_path = grid if grid else (None, "")
        self.place_rows.append((pid, kind, name, code, parent_id, path, depth, grid_type, grid_id, grid_path, self.now))
        self.place_counts[kind] += 1
        return path

    # ── people ──
    def _given(self, era: str, gender: str) -> str:
        rng = self.rng
        if rng.random() < 0.55:
            return rng.choice(GIVEN[(era, gender)])
        first, second = GIVEN_CHARS[(era, gender)]
        if era in ("old", "mid") and rng.random() < 0.15:
            return rng.choice(second)
        a, b = rng.choice(first), rng.choice(second)
        return a + b if a != b else a

    def _birth(self, age: int) -> dt.date:
        """A birth date giving exactly this age on the as-of day."""
        bounds = self._birth_bounds.get(age)
        if bounds is None:
            today = self.as_of
            hi = _same_day(today, today.year - age).toordinal()
            lo = _same_day(today, today.year - age - 1).toordinal() + 1
            bounds = self._birth_bounds[age] = (lo, hi - lo + 1)
        return dt.date.fromordinal(bounds[0] + int(self.rng.random() * bounds[1]))

    def _person(self, *, age: int, gender: str, surname: str | None = None, role: str = "adult") -> _Person:
        birth = self._birth(age)
        year = birth.year
        era = "old" if year < 1958 else "mid" if year < 1985 else "young" if year < 2008 else "child"
        surname = surname or self._pick(self.surnames, self.surname_cum)
        return _Person(surname + self._given(era, gender), gender, birth, age, role)

    def _id_number(self, person: _Person) -> str:
        rng = self.rng
        if rng.random() < MIGRANT_SHARE and person.age >= 18:
            region = self._pick(*self.migrant)
        else:
            region = self._pick(*(self.local_new if person.birth.year >= 2020 else self.local_old))
        b = person.birth
        born = f"{b.year:04d}{b.month:02d}{b.day:02d}"
        parity = 1 if person.gender == "M" else 0
        while True:
            body = f"{region}{born}{rng.randrange(100):02d}{rng.randrange(5) * 2 + parity}"
            number = body + ric.calc_check_digit(body + "0")  # it reads the first 17 of 18
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def _mobile(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def _phone(self, person: _Person) -> tuple[str, bool]:
        """(phone as the ledger keeps it, valid?): mostly mobiles, landlines for many old people."""
        rng = self.rng
        r = rng.random()
        if person.age >= 75:
            if r < 0.06:
                return "", True
            if r < 0.40:
                return f"0513-8{rng.randrange(10**7):07d}", True
        elif r < 0.04:
            return f"0513-8{rng.randrange(10**7):07d}", True
        if rng.random() < 0.005:  # as typed into real ledgers: a digit short, spaced oddly, or "无"
            m = self._mobile()
            return clean_phone(rng.choice([m[:10], f"{m[:3]} {m[3:7]} {m[7:10]}", "无", m + "1", "0513-" + m[:5]]))
        return self._mobile(), True

    def _family(self, kind: str) -> list[_Person]:
        """The members of one household of the given type, ages and genders consistent."""
        rng = self.rng
        person = self._person
        if kind == "elder_alone":
            g = "F" if rng.random() < 0.64 else "M"  # women outlive men
            return [person(age=_elder_age(rng), gender=g, role="elder")]
        if kind == "elder_couple":
            a = _elder_age(rng)
            m = person(age=a, gender="M", role="elder")
            return [m, person(age=max(60, a - rng.randint(0, 5)), gender="F", role="elder")]
        if kind == "single":
            return [person(age=rng.randint(20, 59), gender=rng.choice("MF"))]
        if kind == "couple":
            a = rng.randint(23, 59)
            m = person(age=a, gender="M")
            return [m, person(age=max(21, a - rng.randint(-2, 5)), gender="F")]
        if kind in ("family", "three_gen", "left_behind", "adult_child"):
            members = []
            if kind == "adult_child":
                a = rng.randint(50, 64)
                father = person(age=a, gender="M")
                members += [father, person(age=a - rng.randint(0, 4), gender="F")]
                child_age = rng.randint(20, min(35, a - 22))
                members.append(person(age=child_age, gender=rng.choice("MF"), surname=_surname_of(father.name)))
                return members
            a = rng.randint(27, 52)
            father = person(age=a, gender="M")
            mother = person(age=max(22, a - rng.randint(-2, 4)), gender="F")
            surname = _surname_of(father.name)
            if kind != "left_behind":
                members += [father, mother]
            # Children born when their mother was 23–35; a second one, if any, two to eight years later.
            child_age = mother.age - rng.randint(23, 35)
            if child_age < 0 or child_age > 24:
                child_age = rng.randint(3, 15)
            ages = [child_age]
            if rng.random() < 0.3 and child_age >= 3:
                ages.append(child_age - rng.randint(2, 8 if child_age > 8 else child_age))
            for child_age in ages:
                members.append(
                    person(
                        age=max(0, child_age),
                        gender=rng.choice("MF"),
                        surname=surname,
                        role="child" if child_age < 18 else "adult",
                    )
                )
            if kind == "left_behind":
                for p in members:
                    p.role = "left_behind" if p.age < 16 else p.role
            if kind in ("three_gen", "left_behind"):
                ga = min(95, a + rng.randint(24, 32))
                grandpa = person(age=ga, gender="M", surname=surname, role="elder" if ga >= 60 else "adult")
                if rng.random() < 0.7:
                    members.insert(0, grandpa)
                gma_age = max(46, ga - rng.randint(0, 5))
                members.insert(0, person(age=gma_age, gender="F", role="elder" if gma_age >= 60 else "adult"))
            return members
        raise ValueError(kind)

    def _categorise(self, kind: str, members: list[_Person], zone: str) -> None:
        rng = self.rng
        today = self.as_of
        past = lambda lo, hi: today - dt.timedelta(days=rng.randint(lo, hi))  # noqa: E731
        household: list[tuple[str, dt.date | None, dt.date | None]] = []
        r = rng.random()
        dibao_p = 0.04 if kind == "elder_alone" else 0.011
        if r < dibao_p:
            household.append(("dibao", past(60, 3650), None))
        elif r < dibao_p + 0.0012:
            household.append(("edge_poverty", past(30, 900), None))
        elif r < dibao_p + 0.0022:
            household.append(("relapse_risk", past(30, 900), None))
        elif r < dibao_p + 0.0027:
            household.append(("sudden_hardship", past(5, 120), None))
        for p in members:
            codes = list(household)
            age = p.age
            if age < 3:
                codes.append(("infant", p.birth, _same_day(p.birth, p.birth.year + 3) - dt.timedelta(days=1)))
            if age >= 80:
                codes.append(("elderly_advanced_age", _same_day(p.birth, p.birth.year + 80), None))
            if kind == "elder_alone":
                codes.append(("elderly_alone", past(90, 3000), None))
                if rng.random() < 0.12:
                    codes.append(("elderly_no_family", past(90, 3000), None))
                    if rng.random() < 0.6:
                        codes.append(("tekun", past(90, 3000), None))
            elif kind == "elder_couple" and rng.random() < 0.4:
                codes.append(("elderly_empty_nest", past(90, 3000), None))
            if age >= 60 and rng.random() < (0.10 if age >= 80 else 0.02):
                codes.append(("elderly_disabled", past(60, 2000), None))
                codes.append(("limited_mobility", past(60, 2000), None))
            elif age >= 75 and rng.random() < 0.04:
                codes.append(("limited_mobility", past(30, 1500), None))
            if rng.random() < (0.045 if age >= 60 else 0.018 if age >= 18 else 0.008):
                codes.append(("disability", past(200, 7000), None))
                if rng.random() < 0.25:
                    codes.append(("disability_severe", past(200, 7000), None))
                    if age >= 18 and "tekun" not in (c[0] for c in codes) and rng.random() < 0.1:
                        codes.append(("tekun", past(90, 3000), None))
            if rng.random() < (0.09 if age >= 60 else 0.015 if age >= 40 else 0.0):
                codes.append(("chronic_illness", past(100, 5000), None))
            if rng.random() < (0.0009 if age >= 45 else 0.00012):
                codes.append(("dialysis", past(30, 3000), None))
            if age >= 18 and rng.random() < 0.004:
                codes.append(("mental_disorder", past(100, 5000), None))
            pregnant_p = (
                0.05 if p.gender == "F" and 20 <= age <= 40 and kind in ("couple", "family", "three_gen") else 0
            )
            if pregnant_p and rng.random() < pregnant_p:
                since = past(0, 300)
                codes.append(("pregnant", since, since + dt.timedelta(days=322)))
            if p.role == "left_behind":
                codes.append(("child_left_behind", past(30, 1500), None))
            if age < 18 and rng.random() < 0.003:
                codes.append(("child_hardship", past(30, 1500), None))
            if kind == "single" and rng.random() < 0.004:
                codes.append(("stranded", past(1, 20), None))
            if zone == ZoneStatus.SEALED and rng.random() < 0.03:
                codes.append(("home_isolation", past(0, 5), None))
            elif zone == ZoneStatus.CONTROLLED and rng.random() < 0.02:
                codes.append(("home_monitoring", past(0, 5), None))
            p.codes = codes

    def _household_kind(self) -> str:
        r = self.rng.random()
        for kind, cum in HOUSEHOLD_KINDS_CUM:
            if r < cum:
                return kind
        return "family"

    def _residents_of(self, members: list[_Person], *, household_id: int, path: str, grid_path: str) -> None:
        rng = self.rng
        district_id = self.did
        family_phone = ""
        date = self._date
        for p in members:
            rid = self.next_resident_id
            self.next_resident_id += 1
            if p.age >= 16:
                phone, valid = self._phone(p)
                family_phone = family_phone or (phone if valid else "")
            else:
                phone, valid = family_phone, True
            contact, contact_phone = "", ""
            held = {c[0] for c in p.codes}
            if p.role == "elder" and any(c.startswith("elderly_") for c in held) and "elderly_no_family" not in held:
                contact = _surname_of(p.name) + self._given("mid", rng.choice("MF"))
                contact_phone = self._mobile()
            note = "每周一、三、五血透" if any(c[0] == "dialysis" for c in p.codes) else ""
            codes = {c[0]: c for c in p.codes}
            self.resident_rows.append(
                (
                    rid,
                    district_id,
                    household_id,
                    path,
                    grid_path,
                    self._id_number(p),
                    p.name,
                    p.gender,
                    date(p.birth),
                    phone,
                    valid,
                    phone[-4:] if valid else "",  # = validation.phone_tail for the forms generated here
                    contact,
                    contact_phone,
                    note,
                    bool(codes),
                    self.now,
                    self.now,
                    1,
                )
            )
            if codes:
                self.priority += 1
            for code, since, until in codes.values():
                self.category_counts[code] += 1
                self.link_rows.append(
                    (rid, self.categories[code], date(since) if since else None, date(until) if until else None, "")
                )

    # ── places ──
    def _compounds(self, households: int):
        """(style, households) for the compounds of a community: at least two, more if needed."""
        rng = self.rng
        left = households
        first = True
        while True:
            style = "old" if rng.random() < 0.45 else "new"
            size = rng.randint(120, 700) if style == "old" else rng.randint(200, 1400)
            if first:  # keep at least two compounds in every community
                size = min(size, max(1, households // 2))
                first = False
            elif left - size < 60:
                size = max(size, left)
            left -= size
            yield style, size

    def _compound_name(self, used: set[str], style: str) -> str:
        rng = self.rng
        for _i in range(200):
            name = rng.choice(COMPOUND_WORDS) + rng.choice(OLD_SUFFIXES if style == "old" else NEW_SUFFIXES)
            if name not in used:
                used.add(name)
                return name
        name = f"{rng.choice(COMPOUND_WORDS)}{len(used) + 1}号{rng.choice(NEW_SUFFIXES)}"
        used.add(name)
        return name

    def _community(self, *, ci: int, sub_path: str, sub_id: int, code: str, name: str, target: int) -> None:
        """One community: compounds, buildings, units, households and families, then its grids."""
        rng = self.rng
        cid = self._new_place_id()
        cpath = self._place(
            pid=cid, kind=PlaceKind.COMMUNITY, name=name, parent_path=sub_path, depth=2, parent_id=sub_id, code=code
        )
        zones = self.community_zones.get(ci, {})
        if "community" in zones:
            self.zone_plan.append((cid, zones["community"], 9, "发现密切接触者，社区划为防范区（合成数据）"))
        buildings = []
        compounds = []
        used_names: set[str] = set()
        placed = 0
        for k, (style, size) in enumerate(self._compounds(max(2, round(target / 2.6)))):
            if placed >= target:
                break
            kid = self._new_place_id()
            kname = self._compound_name(used_names, style)
            kpath = f"{cpath}{kid}."
            compounds.append((kid, kname, kpath))
            kzone = zones.get(("compound", k), zones.get("community", ""))
            if ("compound", k) in zones:
                reason = (
                    "发现阳性病例，划为封控区（合成数据）"
                    if zones[("compound", k)] == ZoneStatus.SEALED
                    else "与封控区相邻，划为管控区（合成数据）"
                )
                self.zone_plan.append((kid, zones[("compound", k)], 5, reason))
            if ("lifted", k) in zones:
                self.lifted_plan.append(kid)
            households_left = size
            b = 0
            while households_left > 0 and placed < target:
                b += 1
                if style == "old":
                    floors, units, per_floor = rng.choice((5, 6, 6, 7)), rng.randint(2, 4), 2
                else:
                    floors, units, per_floor = rng.randint(11, 26), rng.randint(1, 2), rng.choice((2, 2, 3, 4))
                bid = self._new_place_id()
                bpath = f"{kpath}{bid}."
                bzone = kzone
                if ("building", k, b) in zones:
                    bzone = ZoneStatus.SEALED
                    self.zone_plan.append((bid, ZoneStatus.SEALED, 3, "楼栋内发现阳性病例，封控（合成数据）"))
                # Some old walk-ups number their rooms per building, without units.
                unit_list = [(None, bpath)]
                if not (style == "old" and rng.random() < 0.08):
                    unit_list = []
                    for u in range(1, units + 1):
                        uid = self._new_place_id()
                        unit_list.append(((uid, f"{u}单元"), f"{bpath}{uid}."))
                households = []
                for unit, upath in unit_list:
                    for floor in range(1, floors + 1):
                        for door in range(1, per_floor + 1):
                            if households_left <= 0 or placed >= target:
                                break
                            hid = self._new_place_id()
                            kind = self._household_kind()
                            members = self._family(kind)[: target - placed]
                            self._categorise(kind, members, bzone)
                            households.append((hid, f"{floor}{door:02d}", unit, upath, members))
                            households_left -= 1
                            placed += len(members)
                buildings.append((k, bid, f"{b}幢", bpath, unit_list, households))
        self._grids(cid=cid, cpath=cpath, compounds=compounds, buildings=buildings)

    def _grids(self, *, cid, cpath, compounds, buildings) -> None:
        """Chunk the community's buildings into comprehensive grids of ~300–500 households (crossing
        compound boundaries as real grids do), add micro-grids for some buildings, then write the
        compounds, buildings, units, households and their residents with the grids known."""
        rng = self.rng
        grid_of_building: dict[int, tuple[int, str]] = {}
        gi = 0
        current: tuple[int, str] | None = None
        filled, quota = 0, 0
        grid_compounds: list[set[int]] = []
        compound_grids: dict[int, set[int]] = {}
        for k, bid, bname, _bpath, _units, households in buildings:
            if current is None or filled >= quota:
                gi += 1
                gid = self._new_place_id()
                gpath = self._place(
                    pid=gid,
                    kind=PlaceKind.GRID,
                    name=f"第{cn_number(gi)}网格",
                    parent_path=cpath,
                    depth=3,
                    parent_id=cid,
                    grid_type=GridType.COMPREHENSIVE,
                )
                current = (gid, gpath)
                filled, quota = 0, rng.randint(300, 500)
                grid_compounds.append(set())
            grid_of_building[bid] = current
            filled += len(households)
            grid_compounds[-1].add(k)
            compound_grids.setdefault(k, set()).add(current[0])
            if rng.random() < 0.2 and len(households) >= 12:  # a micro-grid for this one building
                mid = self._new_place_id()
                kname = compounds[k][1]
                mpath = self._place(
                    pid=mid,
                    kind=PlaceKind.GRID,
                    name=f"{kname}{bname}微网格",
                    parent_path=current[1],
                    depth=4,
                    parent_id=current[0],
                    grid_type=GridType.MICRO,
                )
                grid_of_building[bid] = (mid, mpath)
        self.splits["compound_split"] += sum(1 for g in compound_grids.values() if len(g) > 1)
        self.splits["grid_spans_compounds"] += sum(1 for c in grid_compounds if len(c) > 1)
        for kid, kname, _kpath in compounds:
            self._place(pid=kid, kind=PlaceKind.COMPOUND, name=kname, parent_path=cpath, depth=3, parent_id=cid)
        for k, bid, bname, bpath, units, households in buildings:
            kid, _kname, kpath = compounds[k]
            grid = grid_of_building[bid]
            self._place(
                pid=bid, kind=PlaceKind.BUILDING, name=bname, parent_path=kpath, depth=4, parent_id=kid, grid=grid
            )
            for unit, _upath in units:
                if unit:
                    self._place(
                        pid=unit[0],
                        kind=PlaceKind.UNIT,
                        name=unit[1],
                        parent_path=bpath,
                        depth=5,
                        parent_id=bid,
                        grid=grid,
                    )
            for hid, hname, unit, upath, members in households:
                self._place(
                    pid=hid,
                    kind=PlaceKind.HOUSEHOLD,
                    name=hname,
                    parent_path=upath,
                    depth=6 if unit else 5,
                    parent_id=unit[0] if unit else bid,
                    grid=grid,
                )
                self._residents_of(members, household_id=hid, path=f"{upath}{hid}.", grid_path=grid[1])
            if len(self.resident_rows) >= self.BATCH:
                self._flush()

    # ── the whole district ──
    def build(self) -> Place:
        rng = self.rng
        n_comm = max(4 if self.total >= 400 else 2, round(self.total / 5000))
        n_sub = min(len(SUBDISTRICT_NAMES), max(2, round(n_comm / 12)))
        n_comm = max(n_comm, n_sub)
        self.did = self._new_place_id()
        dpath = self._place(
            pid=self.did,
            kind=PlaceKind.DISTRICT,
            name=self.district_name,
            parent_path="",
            depth=0,
            parent_id=None,
            code="320613",
        )  # noqa: E501
        self._plan_zones(n_comm)
        sub_names = rng.sample(SUBDISTRICT_NAMES, n_sub)
        comm_names = _unique_names(rng, COMMUNITY_WORDS, n_comm)
        per_sub = [n_comm // n_sub + (1 if i < n_comm % n_sub else 0) for i in range(n_sub)]
        per_comm = [self.total // n_comm + (1 if i < self.total % n_comm else 0) for i in range(n_comm)]
        ci = 0
        for si, sname in enumerate(sub_names):
            sid = self._new_place_id()
            spath = self._place(
                pid=sid,
                kind=PlaceKind.SUBDISTRICT,
                name=sname + "街道",
                parent_path=dpath,
                depth=1,
                parent_id=self.did,
                code=f"320613{si + 1:03d}",
            )
            for j in range(per_sub[si]):
                self._community(
                    ci=ci,
                    sub_path=spath,
                    sub_id=sid,
                    code=f"320613{si + 1:03d}{j + 1:03d}",
                    name=comm_names[ci] + "社区",
                    target=per_comm[ci],
                )
                ci += 1
        self._flush()
        return Place.objects.get(pk=self.did)

    def _plan_zones(self, n_comm: int) -> None:
        rng = self.rng
        plan: dict[int, dict] = {}
        order = rng.sample(range(n_comm), n_comm)
        chosen = order[: max(1, n_comm // 50)]
        if 0 not in chosen:  # the first community (where the demo logins work) is always one of them
            chosen = [0, *chosen[:-1]]
        for ci in chosen:  # a sealed compound, its neighbours controlled, the rest precaution
            plan[ci] = {"community": ZoneStatus.PRECAUTION, ("compound", 1): ZoneStatus.SEALED}
            plan[ci][("compound", 0)] = ZoneStatus.CONTROLLED
            plan[ci][("compound", 2)] = ZoneStatus.CONTROLLED
        others = [c for c in order if c not in chosen]
        last = plan.setdefault(others[-1] if others else order[-1], {})
        last[("building", 0, 1)] = ZoneStatus.SEALED  # one sealed building elsewhere
        last[("lifted", 1)] = ZoneStatus.LIFTED  # and a compound whose seal was lifted last week
        self.community_zones = plan

    def _flush(self) -> None:
        if self.place_rows:
            _insert(Place, PLACE_FIELDS, self.place_rows)
            self.place_rows = []
        if self.resident_rows:
            _insert(Resident, RESIDENT_FIELDS, self.resident_rows)
            self.written += len(self.resident_rows)
            self.resident_rows = []
            if self.progress:
                self.progress(self.written, self.total)
        if self.link_rows:
            _insert(ResidentCategory, LINK_FIELDS, self.link_rows)
            self.link_rows = []


# Household types and their shares of households, tuned so that about one in five residents is 60
# or over and about one in eleven of those lives alone, with 2.6 people per household.
HOUSEHOLD_KINDS = [
    ("elder_alone", 0.052),
    ("elder_couple", 0.13),
    ("single", 0.13),
    ("couple", 0.13),
    ("family", 0.331),
    ("adult_child", 0.09),
    ("three_gen", 0.127),
    ("left_behind", 0.01),
]
HOUSEHOLD_KINDS_CUM = list(
    zip([k for k, _w in HOUSEHOLD_KINDS], itertools.accumulate(w for _k, w in HOUSEHOLD_KINDS), strict=True)
)

PLACE_FIELDS = ["id", "kind", "name", "code", "parent", "path", "depth", "grid_type", "grid", "grid_path", "created_at"]
RESIDENT_FIELDS = [
    "id", "district", "household", "place_path", "grid_path", "id_number", "name", "gender", "birth_date", "phone",
    "phone_valid", "phone_tail", "emergency_contact", "emergency_phone", "note", "is_priority", "created_at",
    "updated_at", "version",
]  # fmt: skip
LINK_FIELDS = ["resident", "category", "since", "until", "note"]


def _insert(model, fields: list[str], rows: list[tuple]) -> None:
    meta = model._meta
    qn = connection.ops.quote_name
    columns = ", ".join(qn(meta.get_field(f).column) for f in fields)
    # Table and column names come from the models, values are parameters.
    sql = f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _same_day(day: dt.date, year: int) -> dt.date:
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February
        return day.replace(year=year, day=28)


def _elder_age(rng: random.Random) -> int:
    # 60–69 most, thinning out to the late nineties.
    r = rng.random()
    if r < 0.50:
        return rng.randint(60, 69)
    if r < 0.82:
        return rng.randint(70, 79)
    if r < 0.97:
        return rng.randint(80, 89)
    return rng.randint(90, 99)


def _surname_of(name: str) -> str:
    return name[:2] if name[:2] in COMPOUND_SURNAMES else name[:1]


COMPOUND_SURNAMES = {s for s, _w in SURNAMES if len(s) == 2}


def _unique_names(rng: random.Random, words: list[str], n: int) -> list[str]:
    names = rng.sample(words, min(n, len(words)))
    pool = [a + b for a in words for b in words if a != b and len(a) + len(b) <= 4]
    seen = set(names)
    while len(names) < n:
        candidate = rng.choice(pool)
        if candidate not in seen:
            seen.add(candidate)
            names.append(candidate)
    return names


@transaction.atomic
def district_seed(
    *,
    actor,
    residents: int,
    seed: int = 2022,
    district_name: str = "崇川区",
    as_of: dt.date | None = None,
    append: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> SeedResult:
    """Generate a synthetic district of `residents` people. Refuses a database that already has
    residents unless `append` (then the district must be a new one)."""
    started = time.perf_counter()
    as_of = as_of or timezone.localdate()
    if residents < 1:
        raise ValidationError({"residents": _("居民人数至少为1")})
    existing = Resident.objects.count()
    if existing and not append:
        raise ValidationError(
            {
                "residents": _(
                    "数据库中已有%(n)s名居民，为免混入合成数据，已停止。如确需在其旁另建一个区，请加 --append"
                    "（the database already has residents; pass --append to add another district）"
                )
                % {"n": existing}
            }
        )
    if Place.objects.filter(kind=PlaceKind.DISTRICT, name=district_name).exists():
        raise ValidationError(
            {"district": _("已有名为“%(name)s”的区，请用 --district 另起一个区名") % {"name": district_name}}
        )
    missing = CATEGORY_CODES_USED - set(Category.objects.values_list("code", flat=True))
    if missing:
        raise ValidationError(
            {"categories": _("缺少人员类别：%(codes)s，请先运行 migrate") % {"codes": "、".join(sorted(missing))}}
        )
    builder = DistrictBuilder(
        residents=residents, seed=seed, district_name=district_name, as_of=as_of, progress=progress
    )
    if existing:
        district = builder.build()
    else:
        # Loading an empty ledger: build the secondary indexes once at the end (a sort) instead of
        # updating them row by row; inside the transaction, so a failure leaves them as they were.
        with indexes_deferred([Place, Resident, ResidentCategory]):
            district = builder.build()
    reset_sequences([Place, Resident])
    analyze([Place, Resident, ResidentCategory])
    zones = []
    for place_id, status, days_ago, reason in builder.zone_plan:
        place = Place.objects.get(pk=place_id)
        zone_set(actor=actor, place=place, status=status, start_date=as_of - dt.timedelta(days=days_ago), reason=reason)
        zones.append((place.name, status))
    for place_id in builder.lifted_plan:
        place = Place.objects.get(pk=place_id)
        zone_set(
            actor=actor,
            place=place,
            status=ZoneStatus.SEALED,
            start_date=as_of - dt.timedelta(days=24),
            reason="发现阳性病例，划为封控区（合成数据）",
        )
        zone_set(
            actor=actor,
            place=place,
            status=ZoneStatus.LIFTED,
            start_date=as_of - dt.timedelta(days=10),
            reason="连续14天无新增，解除封控（合成数据）",
        )
        zones.append((place.name, ZoneStatus.LIFTED))
    if not ModeChange.objects.exists():
        # The emergency began when the first zones were drawn.
        began = timezone.make_aware(dt.datetime.combine(as_of - dt.timedelta(days=9), dt.time(8, 0)))
        mode_set(actor=actor, mode=Mode.EMERGENCY, reason="本土疫情应急响应，转入应急模式（合成数据）", at=began)
    result = SeedResult(
        district=district,
        residents=residents,
        priority=builder.priority,
        places=builder.place_counts,
        categories=builder.category_counts,
        zones=zones,
        seconds=0.0,
    )
    audit_record(
        actor=actor,
        action="seed",
        obj=district,
        changes={
            "residents": residents,
            "seed": seed,
            "as_of": as_of.isoformat(),
            "priority": builder.priority,
            "places": dict(builder.place_counts),
            "zones": len(zones),
            **builder.splits,
        },
    )
    result.seconds = time.perf_counter() - started
    return result


CATEGORY_CODES_USED = {
    "infant", "elderly_advanced_age", "elderly_alone", "elderly_no_family", "tekun", "elderly_empty_nest",
    "elderly_disabled", "limited_mobility", "disability", "disability_severe", "chronic_illness", "dialysis",
    "mental_disorder", "pregnant", "child_left_behind", "child_hardship", "stranded", "home_isolation",
    "home_monitoring", "dibao", "edge_poverty", "relapse_risk", "sudden_hardship",
}  # fmt: skip
