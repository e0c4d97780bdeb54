"""A demo door-knocking round through the real actions: a round over a community of the demo district that
started two days ago and is partly done. Most households of some buildings have been knocked (a few nobody
home, some of those revisited, a few refusals), and the sweep found what sweeps find: a category that applies
to an elderly resident and now and then someone living there who was not in the ledger.

Accounts are never created here: the round is opened by the community's staff (or staff above it) and doors
are knocked by the grid workers who hold the grids, else by that staff member. Notes and names are data in
Chinese, like a paper sheet's, so they are not translated. One seeded `random.Random` drives every choice."""

import datetime as dt
import random

from django.core.exceptions import ValidationError
from django.utils import timezone
from stdnum.cn import ric

from caregrid.accounts.models import Role, RoleAssignment
from caregrid.people.models import Category, Resident, age_on
from caregrid.people.synthetic_words import MOBILE_PREFIXES, SURNAMES
from caregrid.places.models import Place, PlaceKind
from caregrid.places.tree import under

from .actions import NewCategory, NewResident, round_open, visit_record
from .models import DoorRound, VisitOutcome

BUILDING_SHARE = 0.75  # of the community's buildings, those the workers have started on
KNOCKED_SHARE = 0.8  # of the households of a started building, those knocked so far
NOBODY_SHARE = 0.15
REFUSED_SHARE = 0.03
REVISITED_SHARE = 0.5  # of the households found empty, those knocked again since
NEW_RESIDENT_SHARE = 0.02
CATEGORY_FOUND_SHARE = 0.3  # of the residents a category applies to and is missing, those noticed
GIVEN_NAMES = ("秀兰", "桂英", "建华", "志强", "玉梅", "国平", "小燕", "海涛", "淑珍", "德明")
NOTES = {
    VisitOutcome.VISITED: ("", "", "", "老人独居，身体尚可", "家中有小孩", "已告知社区热线", "租户，已登记"),
    VisitOutcome.NOBODY_HOME: ("敲门无应答", "邻居说白天上班", "门上留了联系卡"),
    VisitOutcome.REFUSED: ("不愿开门，已隔门告知社区电话",),
}


def _community(district: Place) -> Place | None:
    """The community where the community staff work (the demo sign-in's), else the district's first one."""
    held = (
        RoleAssignment.objects.filter(
            under(district.path, "place__path"), role=Role.COMMUNITY_STAFF, place__kind=PlaceKind.COMMUNITY
        )
        .order_by("id")
        .first()
    )
    if held is not None:
        return held.place
    return Place.objects.filter(under(district.path), kind=PlaceKind.COMMUNITY).order_by("id").first()


def _opener(community: Place):
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
    ).select_related("user")
    return {a.place_id: a.user for a in rows}


def _new_person(rng: random.Random, household_residents: list[Resident], day: dt.date) -> NewResident:
    """A relative or tenant living there: a valid ID number from the household's region, born 1950–2015."""
    region = household_residents[0].id_number[:6] if household_residents else "320602"
    birth = dt.date(rng.randint(1950, 2015), rng.randint(1, 12), rng.randint(1, 28))
    body = f"{region}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
    surname = household_residents[0].name[0] if household_residents and rng.random() < 0.6 else rng.choice(SURNAMES)[0]
    phone = f"{rng.choice(MOBILE_PREFIXES)}{rng.randint(0, 99999999):08d}"
    categories = []
    if age_on(birth, day) >= 80:
        categories = list(Category.objects.filter(code="elderly_advanced_age"))
    return NewResident(
        name=surname + rng.choice(GIVEN_NAMES),
        id_number=body + ric.calc_check_digit(body + "0"),
        phone=phone if len(phone) == 11 else "",
        categories=categories,
        note="敲门行动中发现，实际居住",
    )


def _category_found(household_residents: list[Resident], day: dt.date, categories: dict[str, Category]):
    """What a sweep commonly finds: a very old resident who can no longer get downstairs, a resident of 80 or more
    not marked 高龄, someone of 70 or more living alone not marked 独居."""
    alone = len(household_residents) == 1
    for r in household_residents:
        held = {link.category_id for link in r.links}
        age = age_on(r.birth_date, day)
        for code, applies in (
            ("limited_mobility", age >= 85),
            ("elderly_advanced_age", age >= 80),
            ("elderly_alone", alone and age >= 70),
        ):
            category = categories.get(code)
            if applies and category is not None and category.pk not in held:
                return NewCategory(resident=r, category=category)
    return None


def seed_demo(district: Place, *, now: dt.datetime | None = None, seed: int = 2022) -> DoorRound | None:
    """Build a door-knocking round over a community of the district, partly done. Returns the round, or None
    when the district has no community with households or no staff who may open a round there."""
    now = now or timezone.now()
    rng = random.Random(seed)
    community = _community(district)
    opener = _opener(community) if community is not None else None
    if opener is None:
        return None
    day = timezone.localdate(now)
    start = day - dt.timedelta(days=2)
    door_round = round_open(
        actor=opener,
        name=f"{community.name}敲门行动（{start.month}月{start.day}日起）",
        place=community,
        start_date=start,
        end_date=day + dt.timedelta(days=3),
        note="逐楼逐户敲门，核实台账，发现独居、高龄、行动不便等重点人员及时登记",
    )
    workers = _grid_workers(community)
    households = list(Place.objects.filter(under(community.path), kind=PlaceKind.HOUSEHOLD).order_by("path"))
    if not households:
        return door_round
    by_household: dict[int, list[Resident]] = {}
    residents = Resident.objects.filter(under(community.path, "place_path")).prefetch_related("category_links")
    for r in residents.order_by("id"):
        r.links = list(r.category_links.all())
        by_household.setdefault(r.household_id, []).append(r)
    categories = Category.objects.in_bulk(
        ["limited_mobility", "elderly_advanced_age", "elderly_alone"], field_name="code"
    )

    buildings = sorted({h.ancestor_ids[4] for h in households if len(h.ancestor_ids) > 4})
    started = {b for b in buildings if rng.random() < BUILDING_SHARE}
    first = timezone.make_aware(dt.datetime.combine(start, dt.time(9, 0)))
    span = max((now - first).total_seconds() - 3600, 60)
    plan = []
    for h in households:
        if len(h.ancestor_ids) > 4 and h.ancestor_ids[4] in started and rng.random() < KNOCKED_SHARE:
            plan.append((first + dt.timedelta(seconds=rng.uniform(0, span)), h))
    plan.sort(key=lambda item: item[0])
    for at, h in plan:
        visitor = workers.get(h.grid_id, opener)
        draw = rng.random()
        if draw < REFUSED_SHARE:
            outcome = VisitOutcome.REFUSED
        elif draw < REFUSED_SHARE + NOBODY_SHARE:
            outcome = VisitOutcome.NOBODY_HOME
        else:
            outcome = VisitOutcome.VISITED
        if outcome == VisitOutcome.NOBODY_HOME:
            visit_record(
                actor=visitor,
                door_round=door_round,
                household=h,
                outcome=outcome,
                note=rng.choice(NOTES[outcome]),
                at=at,
            )
            later = at + dt.timedelta(hours=rng.uniform(3, 30))
            if later >= now or rng.random() >= REVISITED_SHARE:
                continue
            at, outcome = later, VisitOutcome.VISITED
        _knock(rng, door_round, h, visitor, outcome, at, by_household.get(h.pk, []), day, categories)
    return door_round


def _knock(rng, door_round, household, visitor, outcome, at, residents, day, categories) -> None:
    new_residents, new_categories = [], []
    if outcome == VisitOutcome.VISITED:
        found = _category_found(residents, day, categories)
        if found is not None and rng.random() < CATEGORY_FOUND_SHARE:
            new_categories.append(found)
        if rng.random() < NEW_RESIDENT_SHARE:
            new_residents.append(_new_person(rng, residents, day))
    note = rng.choice(NOTES[outcome])
    try:
        visit_record(
            actor=visitor,
            door_round=door_round,
            household=household,
            outcome=outcome,
            note=note,
            new_residents=new_residents,
            new_categories=new_categories,
            at=at,
        )
    except ValidationError:
        # A drawn ID number already in the ledger: the visit is kept without that finding.
        visit_record(actor=visitor, door_round=door_round, household=household, outcome=outcome, note=note, at=at)
