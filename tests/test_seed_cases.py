"""Demo help requests (`caregrid seedcases`): a lockdown week over the seeded district, through the real workflow."""

import datetime as dt
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from caregrid.accounts.management.commands.demousers import demo_users_ensure
from caregrid.accounts.models import AuditEvent, Role, RoleAssignment
from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import scoped
from caregrid.cases.models import (
    OPEN_STATUSES,
    CaseEvent,
    CaseTask,
    Channel,
    Disposition,
    EventKind,
    HelpRequest,
    Status,
)
from caregrid.cases.synthetic import cases_seed
from caregrid.people.models import Resident
from caregrid.people.synthetic import district_seed
from caregrid.places.actions import place_create
from caregrid.places.models import Place, PlaceKind

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2022, 12, 20)
UNTIL = timezone.make_aware(dt.datetime(2022, 12, 20, 16, 30))
COUNT = 240


@pytest.fixture
def district(db) -> Place:
    return district_seed(actor="test", residents=3000, seed=5, as_of=AS_OF).district


@pytest.fixture
def with_demo_users(district):
    return {login.username: user for login, user, _place, _created in demo_users_ensure(district=district)}


@pytest.fixture
def week(district, with_demo_users):
    return cases_seed(actor="test", district=district, count=COUNT, seed=7, until=UNTIL)


def _snapshot(district, seed: int) -> list[tuple]:
    """The requests a seed produces, then everything rolled back."""
    point = transaction.savepoint()
    cases_seed(actor="test", district=district, count=30, seed=seed, until=UNTIL)
    rows = list(
        HelpRequest.objects.order_by("number").values_list(
            "number", "channel", "description", "received_at", "place_id", "status", "disposition", "caller_phone"
        )
    )
    transaction.savepoint_rollback(point)
    return rows


def test_seeding_gives_the_bureaus_spread_of_channels_and_dispositions_and_ends_the_week_partly_open(week):
    cases = list(HelpRequest.objects.values_list("channel", "disposition", "status"))
    assert week.created == len(cases) == COUNT
    channels = Counter(c for c, _d, _s in cases)
    share = {c: channels[c] / COUNT for c in Channel.values}
    assert 0.62 <= share["hotline"] <= 0.78
    for channel in ("referral_12345", "grid_report"):
        assert 0.05 <= share[channel] <= 0.16
    for channel in ("public_form", "api"):
        assert 0.01 <= share[channel] <= 0.10
    decided = Counter(d for _c, d, _s in cases if d)
    total = sum(decided.values())
    assert total >= COUNT - 10  # only the last minutes' calls and repeat calls wait for a disposition
    assert 0.62 <= decided[Disposition.ANSWERED] / total <= 0.78
    assert 0.18 <= decided[Disposition.COORDINATED] / total <= 0.33
    assert 0.01 <= decided[Disposition.DISPATCHED] / total <= 0.10
    # Most requests are done by the end of the week; a few are still open, some of them overdue.
    statuses = Counter(s for _c, _d, s in cases)
    still_open = sum(statuses[s] for s in OPEN_STATUSES)
    assert statuses[Status.CLOSED] > 40 and statuses[Status.ANSWERED] > 40 and statuses[Status.RESOLVED] > 5
    assert 3 <= still_open <= COUNT * 0.15
    assert week.open == still_open and 1 <= week.overdue < still_open
    assert HelpRequest.objects.filter(escalation_level__gt=0).exists()
    assert CaseEvent.objects.filter(kind=EventKind.ESCALATED).count() == week.escalations > 0
    assert {"satisfied", "basic"} <= set(HelpRequest.objects.values_list("satisfaction", flat=True))


def test_every_request_lies_in_the_district_at_its_household_dated_within_the_week(week, district):
    cases = list(HelpRequest.objects.select_related("place", "resident").order_by("received_at"))
    assert all(c.district_id == district.pk and c.place.path.startswith(district.path) for c in cases)
    assert all(c.place_path.startswith(district.path) for c in cases)
    # The hotline and grid workers find the resident; other channels are placed from the address given
    # (by the matcher, or by the operator confirming it).
    assert all(c.place.kind == PlaceKind.HOUSEHOLD for c in cases)
    with_resident = [c for c in cases if c.resident_id]
    assert len(with_resident) >= COUNT * 0.7
    assert all(c.place_id == c.resident.household_id for c in with_resident)
    assert all(c.address_text and c.caller_name and c.caller_phone for c in cases)
    # The corpus's own place names have been replaced by the district's.
    assert not any(name in c.description for c in cases for name in ("紫东", "临江家园", "惠泽苑", "明星社区"))
    # Priority residents and their families call more than their share of the district.
    residents = Resident.objects.filter(district=district)
    priority_share = residents.filter(is_priority=True).count() / residents.count()
    assert sum(c.resident.is_priority for c in with_resident) / len(with_resident) > 2 * priority_share
    # Every step is dated when it happened, within the week, in order; numbers follow the calls.
    start = UNTIL - dt.timedelta(days=7)
    assert start <= cases[0].received_at and cases[-1].received_at <= UNTIL
    assert cases[-1].received_at - cases[0].received_at > dt.timedelta(days=6)
    by_day: dict[str, list[str]] = {}
    for case in cases:
        assert case.number.startswith(timezone.localtime(case.received_at).strftime("%Y%m%d"))
        by_day.setdefault(case.number[:8], []).append(case.number)
        times = [e.at for e in case.events.all()]
        assert times[0] == case.received_at and times == sorted(times) and times[-1] <= UNTIL
        if case.first_contact_at:
            assert case.received_at <= case.first_contact_at <= UNTIL
    assert all(numbers == sorted(numbers) for numbers in by_day.values())


def test_steps_are_taken_by_the_demo_accounts_and_errands_go_to_someone_near_the_household(week, with_demo_users):
    hotline = with_demo_users["hotline"]
    assert CaseEvent.objects.filter(actor=hotline, kind=EventKind.ANSWERED).exists()
    tasks = list(CaseTask.objects.select_related("request__place", "assignee"))
    assert tasks and week.errands == len(tasks)
    for task in tasks:
        home = task.request.place
        places = RoleAssignment.objects.filter(user=task.assignee).values_list("place__path", flat=True)
        assert any(home.path.startswith(path) or home.grid_path.startswith(path) for path in places)
    done = [t for t in tasks if t.status == "done"]
    assert done and all(t.request.status in (Status.RESOLVED, Status.CLOSED) for t in done)
    assert AuditEvent.objects.filter(action="case.create").count() == COUNT
    assert AuditEvent.objects.filter(action="case.seed", actor_name="test").count() == 1
    # The demo grid worker's queue holds their grid's requests only; the auditor sees none.
    grid_worker = with_demo_users["grid"]
    grid = RoleAssignment.objects.get(user=grid_worker, role=Role.GRID_WORKER).place
    visible = list(scoped(grid_worker, HelpRequest.objects.all(), Cap.VIEW_CASES))
    assert all(c.grid_path.startswith(grid.path) or c.place_path.startswith(grid.path) for c in visible)
    assert len(visible) < COUNT
    assert not scoped(with_demo_users["auditor"], HelpRequest.objects.all(), Cap.VIEW_CASES).exists()


def test_without_accounts_steps_are_recorded_under_the_places_name_and_no_errands_are_assigned(district):
    cases_seed(actor="test", district=district, count=60, seed=7, until=UNTIL)
    assert HelpRequest.objects.count() == 60
    assert not CaseTask.objects.exists()
    assert CaseEvent.objects.filter(actor__isnull=False).count() == 0
    assert CaseEvent.objects.filter(kind=EventKind.ANSWERED, actor_name="热线接线员").exists()


def test_the_same_seed_gives_the_same_requests_and_another_seed_different_ones(district, with_demo_users):
    first, again, other = _snapshot(district, 3), _snapshot(district, 3), _snapshot(district, 4)
    assert len(first) == 30
    assert first == again
    assert [r[2] for r in first] != [r[2] for r in other]


def test_if_empty_does_nothing_the_second_time(district, capsys):
    call_command("seedcases", "--count", "30", "--if-empty", "--seed", "1")
    assert HelpRequest.objects.count() == 30
    numbers = set(HelpRequest.objects.values_list("number", flat=True))
    call_command("seedcases", "--count", "30", "--if-empty", "--seed", "2")
    assert set(HelpRequest.objects.values_list("number", flat=True)) == numbers
    out = capsys.readouterr().out
    assert "30 / 30" in out and "沿用现有数据" in out


def test_without_a_seeded_district_the_command_explains_what_to_run(db):
    with pytest.raises(CommandError, match="caregrid seed"):
        call_command("seedcases", "--count", "5")
    place_create(actor="test", parent=None, kind=PlaceKind.DISTRICT, name="空区")
    with pytest.raises(CommandError, match="caregrid seed"):
        call_command("seedcases", "--count", "5")
