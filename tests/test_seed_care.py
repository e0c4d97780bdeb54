"""Demo care rounds (`caregrid seedcare`): teams, a week of contacts, the day lists and the door and testing rounds
in the demo community, through the real actions."""

import datetime as dt
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from caregrid.accounts.management.commands.demousers import demo_scopes, demo_users_ensure
from caregrid.accounts.models import AuditEvent
from caregrid.care.models import CareAssignment, CarePolicy, CarerRole, Contact, DueDay, DueItem
from caregrid.care.policies.defaults import install_default_policies
from caregrid.care.policies.queries import coverage
from caregrid.care.synthetic import care_seed
from caregrid.care.teams.actions import Carer, assignment_create
from caregrid.cases.models import CaseTask, TaskKind
from caregrid.doors.models import DoorRound
from caregrid.people.models import Category, Resident, ResidentCategory
from caregrid.people.synthetic import district_seed
from caregrid.people.validation import clean_phone
from caregrid.places.actions import zone_set
from caregrid.places.models import GridType, ModeChange, Place, PlaceKind
from caregrid.places.tree import under
from caregrid.sampling.models import SamplingRound

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2022, 12, 20)
NOW = timezone.make_aware(dt.datetime(2022, 12, 20, 16, 30))  # before the evening cut-off
DAYS = 7
MONITORED = 3  # priority residents of the demo grid under home health monitoring


def local(day: dt.date, hour: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


@pytest.fixture
def district(db) -> Place:
    """A seeded district in emergency mode for a month, with the default rules in force since the autumn and the
    demo community controlled for the last eight days, so its fragile residents are due a contact every day."""
    seeded = district_seed(actor="test", residents=8000, seed=5, as_of=AS_OF).district
    install_default_policies(CarePolicy, Category, timezone.now())
    CarePolicy.objects.update(valid_from=local(AS_OF - dt.timedelta(days=60)))
    ModeChange.objects.update(started_at=local(AS_OF - dt.timedelta(days=30)))
    community = demo_scopes(seeded)[PlaceKind.COMMUNITY]
    zone_set(actor="test", place=community, status="controlled", start_date=AS_OF - dt.timedelta(days=8), reason="管控")
    return seeded


@pytest.fixture
def users(district):
    return {login.username: user for login, user, _place, _created in demo_users_ensure(district=district)}


@pytest.fixture
def scopes(district):
    return demo_scopes(district)


@pytest.fixture
def monitored(scopes, users) -> list[Resident]:
    """A few priority residents of the demo grid under home health monitoring since before the week."""
    category = Category.objects.get(code="home_monitoring")
    residents = list(
        Resident.objects.filter(under(scopes[PlaceKind.GRID].path, "grid_path"), is_priority=True).order_by("id")[
            :MONITORED
        ]
    )
    for r in residents:
        ResidentCategory.objects.update_or_create(
            resident=r, category=category, defaults={"since": AS_OF - dt.timedelta(days=10), "until": None}
        )
    return residents


@pytest.fixture
def week(district, users, monitored):
    return care_seed(actor="test", district=district, days=DAYS, seed=7, now=NOW)


def _snapshot(district, seed: int) -> list[tuple]:
    """The contacts a seed produces, then everything rolled back."""
    point = transaction.savepoint()
    care_seed(actor="test", district=district, days=2, seed=seed, now=NOW)
    rows = list(
        Contact.objects.order_by("at", "resident_id", "id").values_list(
            "client_id", "resident_id", "at", "channel", "outcome", "wellbeing", "needs", "temperature", "note"
        )
    )
    transaction.savepoint_rollback(point)
    return rows


def test_every_priority_resident_of_the_demo_community_gets_a_two_for_one_team(week, scopes, users):
    community, demo_grid = scopes[PlaceKind.COMMUNITY], scopes[PlaceKind.GRID]
    priority = Resident.objects.filter(under(community.path, "place_path"), is_priority=True, grid_path__gt="")
    current = CareAssignment.objects.filter(until__isnull=True)
    for resident in priority:
        carers = {a.role: a for a in current.filter(resident=resident)}
        assert set(carers) >= {CarerRole.GRID_WORKER, CarerRole.PARTY_MEMBER}
        # The demo grid login cares for its own grid; the community login stands in where no grid worker signs in.
        expected = users["grid"] if resident.grid_path.startswith(demo_grid.path) else users["community"]
        assert carers[CarerRole.GRID_WORKER].carer == expected
        party = carers[CarerRole.PARTY_MEMBER]
        assert party.carer is None and party.carer_name and clean_phone(party.carer_phone)[1]
        assert carers[CarerRole.GRID_WORKER].since <= local(AS_OF - dt.timedelta(days=DAYS))
    grids = Place.objects.filter(parent=community, kind=PlaceKind.GRID, grid_type=GridType.COMPREHENSIVE)
    assert week.grids == grids.count() and week.assigned == current.count()
    # Each grid has its own party-member household.
    names = {a.carer_name for a in current.filter(role=CarerRole.PARTY_MEMBER)}
    assert len(names) == grids.count()
    templates = Counter(e.changes["template"] for e in AuditEvent.objects.filter(action="care.template"))
    assert templates["two_for_one"] == grids.count() and templates["five_for_one"] >= 1
    demo_grid.refresh_from_db()
    assert demo_grid.leader == users["grid"] and week.leaders == 1
    assert AuditEvent.objects.filter(action="place.leader", object_id=str(demo_grid.pk)).exists()


def test_contacts_follow_each_days_due_list_and_are_each_recorded_through_the_action(week, scopes, users):
    community, demo_grid = scopes[PlaceKind.COMMUNITY], scopes[PlaceKind.GRID]
    contacts = list(Contact.objects.select_related("resident"))
    assert len(contacts) == week.contacts > 100
    audited = set(AuditEvent.objects.filter(action="care.contact_record").values_list("object_id", flat=True))
    assert audited == {str(c.pk) for c in contacts}
    first = AS_OF - dt.timedelta(days=DAYS)
    for c in contacts:
        at = timezone.localtime(c.at)
        assert first <= at.date() <= AS_OF and c.at <= NOW
        assert dt.time(8, 0) <= at.time() <= dt.time(17, 30)
        assert c.place_path.startswith(community.path) and c.resident.is_priority
        # Whoever called was the resident's grid worker, or the community login.
        expected = users["grid"] if c.grid_path.startswith(demo_grid.path) else users["community"]
        assert c.carer == expected
        # Only residents due that day were contacted.
        assert DueItem.objects.filter(day=at.date(), resident=c.resident, required__gt=0).exists()
    outcomes = Counter(c.outcome for c in contacts)
    assert 0.8 <= outcomes["reached"] / len(contacts) <= 0.95
    assert 0.03 <= outcomes["not_reached"] / len(contacts) <= 0.15
    assert outcomes["refused"] >= 1 and outcomes["refused"] / len(contacts) <= 0.05
    assert week.outcomes == outcomes


def test_needs_found_become_help_requests_and_two_misses_in_a_row_a_home_visit(week):
    needing = list(Contact.objects.filter(wellbeing="needs_help").select_related("help_request"))
    assert needing and week.needs_help == len(needing)
    assert all(c.needs and c.help_request.category == c.needs[0] for c in needing)
    assert all(c.help_request.received_at == c.at for c in needing)
    visits = CaseTask.objects.filter(kind=TaskKind.HOME_VISIT)
    assert visits.exists() and week.home_visits == visits.count()
    for task in visits.select_related("request"):
        raised = Contact.objects.get(help_request=task.request, outcome="not_reached")
        earlier = Contact.objects.filter(resident=raised.resident, at__lt=raised.at).order_by("-at").first()
        assert earlier.outcome == "not_reached"


def test_residents_under_home_monitoring_get_a_five_for_one_team_and_give_their_temperature_twice_a_day(
    week, monitored, users
):
    for resident in monitored:
        roles = Counter(
            CareAssignment.objects.filter(resident=resident, until__isnull=True).values_list("role", flat=True)
        )
        assert roles == {
            CarerRole.GRID_WORKER: 1,
            CarerRole.PARTY_MEMBER: 1,
            CarerRole.CADRE: 1,
            CarerRole.MEDIC: 1,
            CarerRole.POLICE: 1,
        }
        cadre = CareAssignment.objects.get(resident=resident, role=CarerRole.CADRE)
        assert cadre.carer == users["community"]

    links = ResidentCategory.objects.filter(category__code="home_monitoring")
    spans = {rid: (since, until) for rid, since, until in links.values_list("resident_id", "since", "until")}
    ids = set(spans)
    reached = Contact.objects.filter(outcome="reached")
    assert reached.filter(resident_id__in=[r.pk for r in monitored]).exists()
    for contact in reached.filter(resident_id__in=ids):
        since, until = spans[contact.resident_id]
        day = timezone.localdate(contact.at)
        if (since is None or since <= day) and (until is None or until >= day):
            assert contact.temperature is not None, contact.pk
    assert not reached.exclude(resident_id__in=ids).filter(temperature__isnull=False).exists()
    assert week.temperatures == reached.filter(temperature__isnull=False).count()
    yesterday = AS_OF - dt.timedelta(days=1)
    per_day = Counter(
        timezone.localdate(at) for at in reached.filter(resident_id=monitored[0].pk).values_list("at", flat=True)
    )
    assert per_day[yesterday] >= 1 and max(per_day.values()) >= 2


def test_day_lists_are_built_for_each_day_and_today_is_only_partly_done_before_the_cut_off(week, scopes, users):
    community = scopes[PlaceKind.COMMUNITY]
    days = [AS_OF - dt.timedelta(days=i) for i in range(DAYS, -1, -1)]
    assert set(DueDay.objects.filter(built_at__isnull=False).values_list("day", flat=True)) == set(days)
    assert week.days_built == DAYS + 1
    for day in days:
        items = DueItem.objects.filter(under(community.path, "place_path"), day=day, required__gt=0)
        share = items.filter(met=True).count() / items.count()
        if day == AS_OF:
            assert 0.35 <= share <= 0.8
        else:
            assert share >= 0.75
    past = DueItem.objects.filter(under(community.path, "place_path"), day__lt=AS_OF, required__gt=0)
    assert past.filter(met=True).count() / past.count() >= 0.85
    # The coverage page shows the week's trend at once.
    seen = coverage(users["community"], community, AS_OF, now=NOW)
    by_day = {p.day: p for p in seen.series}
    assert all(by_day[d].due > 0 and by_day[d].done > 0 for d in days)
    today = DueItem.objects.filter(under(community.path, "place_path"), day=AS_OF, required__gt=0)
    assert seen.total.due == today.count() and seen.total.done == today.filter(met=True).count()


def test_a_door_round_and_a_testing_round_are_under_way(week, scopes):
    door_round = DoorRound.objects.get()
    assert week.door_round == door_round and door_round.place == scopes[PlaceKind.COMMUNITY]
    assert door_round.visits.exists()
    sampling_round = SamplingRound.objects.get()
    assert week.sampling_round == sampling_round
    assert AuditEvent.objects.filter(action="care.seed", actor_name="test").count() == 1


def test_the_same_seed_gives_the_same_contacts_and_another_seed_different_ones(district, users):
    first, again, other = _snapshot(district, 3), _snapshot(district, 3), _snapshot(district, 4)
    assert len(first) > 20
    assert first == again
    assert first != other


def test_if_empty_keeps_the_contacts_already_recorded(district, users, capsys):
    call_command("seedcare", "--days", "2", "--if-empty", "--seed", "1")
    ids = set(Contact.objects.values_list("client_id", flat=True))
    assert ids
    call_command("seedcare", "--days", "2", "--if-empty", "--seed", "2")
    assert set(Contact.objects.values_list("client_id", flat=True)) == ids
    assert DoorRound.objects.count() == 1
    out = capsys.readouterr().out
    assert "包联" in out and "沿用现有数据" in out


def test_if_empty_keeps_teams_made_before_any_contact_was_due(district, users, scopes):
    resident = Resident.objects.filter(under(scopes[PlaceKind.GRID].path, "grid_path"), is_priority=True).first()
    assignment_create(
        actor=users["community"], resident=resident, role=CarerRole.VOLUNTEER, carer=Carer(user=users["grid"])
    )
    call_command("seedcare", "--days", "2", "--if-empty")
    assert CareAssignment.objects.count() == 1
    assert not Contact.objects.exists() and not DoorRound.objects.exists() and not SamplingRound.objects.exists()


def test_without_demo_accounts_the_command_explains_what_to_run(district):
    with pytest.raises(CommandError, match="caregrid demousers"):
        call_command("seedcare", "--days", "1")
    assert not Contact.objects.exists() and not CareAssignment.objects.exists()
