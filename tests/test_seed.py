"""The synthetic district (`caregrid seed`) and the demo sign-ins (`caregrid demousers`)."""

import datetime as dt
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from caregrid.accounts.management.commands.demousers import DEMO_LOGINS, DEMO_PASSWORD
from caregrid.accounts.models import AuditEvent, Role, User
from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import scoped
from caregrid.people.models import Resident, ResidentCategory
from caregrid.people.queries import category_active_q
from caregrid.people.synthetic import cn_number, district_seed
from caregrid.people.validation import clean_phone, parse_id_number
from caregrid.places.models import GridType, Mode, ModeChange, Place, PlaceKind, ZonePeriod, ZoneStatus
from caregrid.places.queries import active_on, today, zone_of, zone_q

pytestmark = pytest.mark.django_db


def _age(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _snapshot(seed: int) -> list[tuple]:
    """The residents a seed produces, then everything rolled back."""
    point = transaction.savepoint()
    district_seed(actor="test", residents=800, seed=seed)
    rows = list(
        Resident.objects.order_by("id").values_list("name", "id_number", "gender", "birth_date", "phone", "place_path")
    )
    transaction.savepoint_rollback(point)
    return rows


@pytest.fixture
def seeded(db):
    return district_seed(actor="test", residents=5000, seed=11)


def test_the_same_seed_gives_the_same_district_and_another_seed_a_different_one():
    first, again, other = _snapshot(3), _snapshot(3), _snapshot(4)
    assert len(first) == 800
    assert first == again
    assert [r[0] for r in first] != [r[0] for r in other]
    assert len({r[1] for r in first} & {r[1] for r in other}) < 5


def test_every_generated_id_number_passes_the_ledger_check_and_matches_gender_and_birth_date(seeded):
    rows = list(Resident.objects.values_list("id_number", "gender", "birth_date"))
    assert len(rows) == 5000
    assert len({r[0] for r in rows}) == 5000
    for number, gender, birth in rows:
        facts = parse_id_number(number)
        assert (facts.gender, facts.birth_date) == (gender, birth)
    regions = Counter(r[0][:4] for r in rows)
    assert regions.most_common(1)[0][0] == "3206"  # mostly born in Nantong


def test_names_are_chinese_names_of_two_to_four_characters_with_common_surnames_most_frequent(seeded):
    names = list(Resident.objects.values_list("name", flat=True))
    assert all(2 <= len(n) <= 4 for n in names)
    assert all("\u4e00" <= ch <= "\u9fff" for n in names for ch in n)
    top = {s for s, _n in Counter(n[0] for n in names).most_common(6)}
    assert len(top & {"王", "李", "张", "刘", "陈", "杨"}) >= 4


def test_ages_look_like_a_city_district_and_categories_follow_age_and_gender(seeded):
    day = today()
    residents = {r.pk: r for r in Resident.objects.all()}
    ages = {pk: _age(r.birth_date, day) for pk, r in residents.items()}
    elderly = [pk for pk, a in ages.items() if a >= 60]
    assert 0.15 <= len(elderly) / len(ages) <= 0.25
    links = ResidentCategory.objects.filter(category_active_q(day)).values_list("resident_id", "category__code")
    holders: dict[str, set[int]] = {}
    for resident_id, code in links:
        holders.setdefault(code, set()).add(resident_id)
    assert holders["infant"] == {pk for pk, a in ages.items() if a < 3}
    assert holders["elderly_advanced_age"] == {pk for pk, a in ages.items() if a >= 80}
    assert 0.05 <= len(holders["elderly_alone"]) / len(elderly) <= 0.14
    assert all(ages[pk] >= 60 for pk in holders["elderly_alone"] | holders["elderly_empty_nest"])
    assert all(residents[pk].gender == "F" and 18 <= ages[pk] <= 45 for pk in holders.get("pregnant", ()))
    assert 0.005 <= len(holders["dibao"]) / len(ages) <= 0.03
    assert len(holders.get("tekun", ())) / len(ages) <= 0.01
    assert len(holders.get("dialysis", ())) / len(ages) <= 0.004
    assert holders["disability_severe"] <= holders["disability"]
    priority = set(Resident.objects.filter(is_priority=True).values_list("pk", flat=True))
    assert priority == set().union(*holders.values())
    assert 0.08 <= len(priority) / len(ages) <= 0.25


def test_phones_are_mostly_valid_mobiles_with_some_landlines_and_a_few_invalid_kept(seeded):
    phones = list(Resident.objects.values_list("phone", "phone_valid", "phone_tail"))
    mobiles = [p for p, valid, _t in phones if valid and len(p) == 11]
    landlines = [p for p, valid, _t in phones if valid and p.startswith("0513-8")]
    invalid = [p for p, valid, _t in phones if not valid]
    assert len(mobiles) > 0.7 * len(phones)
    assert landlines
    assert invalid and len(invalid) < 0.02 * len(phones)
    assert all(clean_phone(p) == (p, False) for p in invalid)
    assert all(tail == p[-4:] for p, valid, tail in phones if valid and p)


def test_addresses_nest_from_subdistrict_to_household_with_families_sharing_households(seeded):
    kinds = Counter(Place.objects.values_list("kind", flat=True))
    assert kinds[PlaceKind.DISTRICT] == 1 and kinds[PlaceKind.SUBDISTRICT] >= 2 and kinds[PlaceKind.COMMUNITY] >= 2
    assert kinds[PlaceKind.HOUSEHOLD] < 5000 / 2
    building = Place.objects.filter(kind=PlaceKind.BUILDING).first()
    assert building.name.endswith("幢")
    assert all(
        n.endswith(
            ("新村", "小区", "里", "花苑", "花园", "家园", "名邸", "华府", "佳苑", "雅苑", "景园", "公寓", "新城", "苑")
        )
        for n in Place.objects.filter(kind=PlaceKind.COMPOUND).values_list("name", flat=True)
    )
    for place in Place.objects.order_by("?")[:200]:
        parent = place.parent
        assert place.path == (parent.path if parent else "") + f"{place.pk}."
        assert place.depth == (parent.depth + 1 if parent else 0)
    resident = Resident.objects.select_related("household").first()
    assert resident.place_path == resident.household.path
    assert resident.district_id == seeded.district.pk


def test_grids_cover_every_building_and_a_compound_spans_two_grids_and_a_grid_two_compounds(seeded):
    covered = Place.objects.filter(kind__in=[PlaceKind.BUILDING, PlaceKind.UNIT, PlaceKind.HOUSEHOLD])
    assert not covered.filter(grid__isnull=True).exists()
    grids = {g.pk: g for g in Place.objects.filter(kind=PlaceKind.GRID)}
    for place in covered.order_by("?")[:300]:
        assert place.grid_path == grids[place.grid_id].path
    for resident in Resident.objects.select_related("household").order_by("?")[:200]:
        assert resident.grid_path == resident.household.grid_path
    micro = [g for g in grids.values() if g.grid_type == GridType.MICRO]
    assert micro and all(grids[g.parent_id].grid_type == GridType.COMPREHENSIVE for g in micro)
    comprehensive_of = {}
    compounds_of_grid: dict[int, set[int]] = {}
    for building in Place.objects.filter(kind=PlaceKind.BUILDING):
        grid = grids[building.grid_id]
        top = grid if grid.grid_type == GridType.COMPREHENSIVE else grids[grid.parent_id]
        comprehensive_of.setdefault(building.parent_id, set()).add(top.pk)
        compounds_of_grid.setdefault(top.pk, set()).add(building.parent_id)
    assert any(len(g) > 1 for g in comprehensive_of.values())
    assert any(len(c) > 1 for c in compounds_of_grid.values())
    assert cn_number(1) == "一" and cn_number(12) == "十二" and cn_number(40) == "四十" and cn_number(105) == "一百零五"


def test_sealed_controlled_and_precaution_zones_are_in_force_today_with_a_lifted_one_in_history(seeded):
    day = today()
    statuses = set(ZonePeriod.objects.filter(active_on(day)).values_list("status", flat=True))
    assert {ZoneStatus.SEALED, ZoneStatus.CONTROLLED, ZoneStatus.PRECAUTION} <= statuses
    sealed = Resident.objects.filter(zone_q(ZoneStatus.SEALED, day))
    assert sealed.exists()
    assert zone_of(sealed.first().household, day).status == ZoneStatus.SEALED
    lifted = ZonePeriod.objects.filter(active_on(day), status=ZoneStatus.LIFTED).first()
    assert lifted is not None
    assert ZonePeriod.objects.filter(place=lifted.place, status=ZoneStatus.SEALED, end_date__lt=day).exists()
    assert ModeChange.objects.first().mode == Mode.EMERGENCY


def test_a_seed_run_writes_one_seed_audit_row(seeded):
    rows = AuditEvent.objects.filter(action="seed")
    assert rows.count() == 1
    assert rows.get().changes["residents"] == 5000
    assert not AuditEvent.objects.filter(action="resident.create").exists()


def test_seeding_is_refused_when_the_ledger_already_has_residents(world):
    with pytest.raises(CommandError, match="--append"):
        call_command("seed", residents=100, verbosity=0)
    assert Resident.objects.count() == 3
    with pytest.raises(CommandError, match="崇川区"):
        call_command("seed", residents=100, append=True, verbosity=0)
    call_command("seed", residents=100, append=True, district="港闸区", verbosity=0)
    assert Resident.objects.count() == 103
    call_command("seed", residents=100, if_empty=True, verbosity=0)
    assert Resident.objects.count() == 103


def test_demo_users_sign_in_and_each_sees_only_their_own_scope(seeded, client):
    call_command("demousers", verbosity=0)
    call_command("demousers", verbosity=0)  # idempotent
    assert User.objects.filter(username__in=[d.username for d in DEMO_LOGINS]).count() == len(DEMO_LOGINS)
    for login in DEMO_LOGINS:
        response = client.post("/login/", {"username": login.username, "password": DEMO_PASSWORD})
        assert response.status_code == 302, login.username
        client.logout()
    users = {u.username: u for u in User.objects.all()}
    seen = {name: scoped(user, Resident.objects.all(), Cap.VIEW_RESIDENTS) for name, user in users.items()}
    total = Resident.objects.count()
    assert seen["district"].count() == seen["hotline"].count() == total
    assert not seen["auditor"].exists() and not seen["volunteers"].exists()
    grid = users["grid"].roles.get().place
    community = users["community"].roles.get().place
    subdistrict = users["subdistrict"].roles.get().place
    assert grid.kind == PlaceKind.GRID and grid.parent_id == community.pk and community.parent_id == subdistrict.pk
    assert 0 < seen["grid"].count() < seen["community"].count() < seen["subdistrict"].count() < total
    assert not seen["grid"].exclude(grid_path__startswith=grid.path).exists()
    assert not seen["community"].exclude(place_path__startswith=community.path).exists()
    assert users["auditor"].roles.get().role == Role.AUDITOR
