"""One persona set for every test: a small district with two grids, and the people who use it."""

import datetime as dt
from dataclasses import dataclass

import pytest

from caregrid.accounts.models import Role, RoleAssignment, User
from caregrid.people.actions import CategoryEntry, ResidentData, resident_create
from caregrid.people.categories import install_default_categories
from caregrid.people.models import Category
from caregrid.places.actions import place_assign_grid, place_create
from caregrid.places.models import GridType, Place, PlaceKind

PASSWORD = "caregrid-test-pw"


def _flush_with_audit_gate_open():
    """Resetting a test database is whole-database maintenance: let flush empty the audit log."""
    from django.core.management.commands import flush

    from caregrid.accounts.dbguard import audit_maintenance

    original = flush.Command.handle

    def handle(self, *args, **options):
        with audit_maintenance():
            return original(self, *args, **options)

    flush.Command.handle = handle


_flush_with_audit_gate_open()


def make_id(region: str, birth: str, seq: str) -> str:
    from stdnum.cn import ric

    body = f"{region}{birth}{seq}"
    return body + ric.calc_check_digit(body + "0")


@dataclass
class World:
    district: Place
    subdistrict: Place
    community: Place
    other_community: Place
    grid_a: Place
    grid_b: Place
    compound: Place
    building_a: Place
    building_b: Place
    household_a: Place
    household_b: Place
    household_other: Place
    resident_a: object
    resident_b: object
    resident_other: object
    district_admin: User
    community_worker: User
    grid_worker_a: User
    grid_worker_b: User
    hotline_operator: User
    auditor: User


def _user(username: str, full_name: str, role: str, place: Place) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, full_name=full_name)
    RoleAssignment.objects.create(user=user, role=role, place=place)
    return user


def build_world() -> World:
    install_default_categories(Category)  # a flushed (transactional) database has lost them
    sys = "system"
    district = place_create(actor=sys, parent=None, kind=PlaceKind.DISTRICT, name="崇川区")
    subdistrict = place_create(actor=sys, parent=district, kind=PlaceKind.SUBDISTRICT, name="和平桥街道")
    other_sub = place_create(actor=sys, parent=district, kind=PlaceKind.SUBDISTRICT, name="任港街道")
    community = place_create(actor=sys, parent=subdistrict, kind=PlaceKind.COMMUNITY, name="紫东社区")
    other_community = place_create(actor=sys, parent=other_sub, kind=PlaceKind.COMMUNITY, name="河西社区")
    grid_a = place_create(
        actor=sys, parent=community, kind=PlaceKind.GRID, name="第一网格", grid_type=GridType.COMPREHENSIVE
    )
    grid_b = place_create(
        actor=sys, parent=community, kind=PlaceKind.GRID, name="第二网格", grid_type=GridType.COMPREHENSIVE
    )
    compound = place_create(actor=sys, parent=community, kind=PlaceKind.COMPOUND, name="紫东花苑")
    building_a = place_create(actor=sys, parent=compound, kind=PlaceKind.BUILDING, name="1幢")
    building_b = place_create(actor=sys, parent=compound, kind=PlaceKind.BUILDING, name="2幢")
    place_assign_grid(actor=sys, place=building_a, grid=grid_a)
    place_assign_grid(actor=sys, place=building_b, grid=grid_b)
    building_a.refresh_from_db()
    building_b.refresh_from_db()
    unit_a = place_create(actor=sys, parent=building_a, kind=PlaceKind.UNIT, name="1单元")
    unit_b = place_create(actor=sys, parent=building_b, kind=PlaceKind.UNIT, name="1单元")
    household_a = place_create(actor=sys, parent=unit_a, kind=PlaceKind.HOUSEHOLD, name="101")
    household_b = place_create(actor=sys, parent=unit_b, kind=PlaceKind.HOUSEHOLD, name="202")
    other_compound = place_create(actor=sys, parent=other_community, kind=PlaceKind.COMPOUND, name="河西新村")
    other_building = place_create(actor=sys, parent=other_compound, kind=PlaceKind.BUILDING, name="5幢")
    household_other = place_create(actor=sys, parent=other_building, kind=PlaceKind.HOUSEHOLD, name="301")
    alone = Category.objects.get(code="elderly_alone")
    dialysis = Category.objects.get(code="dialysis")
    resident_a = resident_create(
        actor=sys,
        data=ResidentData(
            id_number=make_id("320602", "19450101", "123"),
            name="王秀英",
            household=household_a,
            phone="13812345678",
            categories=[CategoryEntry(alone, since=dt.date(2020, 1, 1))],
        ),
    )
    resident_b = resident_create(
        actor=sys,
        data=ResidentData(
            id_number=make_id("320602", "19500203", "234"),
            name="李建国",
            household=household_b,
            phone="13987654321",
            categories=[CategoryEntry(dialysis)],
        ),
    )
    resident_other = resident_create(
        actor=sys,
        data=ResidentData(
            id_number=make_id("320602", "19881111", "345"),
            name="赵敏",
            household=household_other,
            phone="0513-85123456",
        ),
    )
    return World(
        district=district,
        subdistrict=subdistrict,
        community=community,
        other_community=other_community,
        grid_a=grid_a,
        grid_b=grid_b,
        compound=compound,
        building_a=building_a,
        building_b=building_b,
        household_a=household_a,
        household_b=household_b,
        household_other=household_other,
        resident_a=resident_a,
        resident_b=resident_b,
        resident_other=resident_other,
        district_admin=_user("admin", "区管理员", Role.DISTRICT_ADMIN, district),
        community_worker=_user("community", "社区张", Role.COMMUNITY_STAFF, community),
        grid_worker_a=_user("grid_a", "网格员甲", Role.GRID_WORKER, grid_a),
        grid_worker_b=_user("grid_b", "网格员乙", Role.GRID_WORKER, grid_b),
        hotline_operator=_user("hotline", "接线员", Role.HOTLINE_OPERATOR, district),
        auditor=_user("auditor", "审计员", Role.AUDITOR, district),
    )


@pytest.fixture(autouse=True)
def chinese_after_each_test():
    """A request made in English leaves English active on the test thread; start every test in Chinese."""
    yield
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache: cached settings of one test's rolled-back data must not leak."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Personas' passwords are hashed in every test; argon2's deliberate slowness buys nothing here
    (tests/test_foundation.py checks that the real settings use argon2)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def login(client):
    """login(user) signs the test client in as that persona and returns the client."""

    def _login(user):
        client.force_login(user)
        return client

    return _login
