"""The door-knocking visit form on a phone (360×740) in a real browser: from the unvisited list to a recorded
visit with a resident found, then back to the list."""

import datetime as dt

from playwright.sync_api import expect

from caregrid.doors.actions import round_open
from caregrid.doors.models import DoorVisit
from caregrid.people.models import Resident
from caregrid.places.queries import today
from tests.conftest import make_id


def _round(bworld):
    return round_open(
        actor=bworld.community_worker,
        name="紫东社区敲门行动",
        place=bworld.community,
        start_date=today(),
        end_date=today() + dt.timedelta(days=3),
    )


def test_a_grid_worker_knocks_a_door_and_records_a_resident_found_on_a_phone(bworld, page_for):
    door_round = _round(bworld)
    page = page_for(bworld.grid_worker_a, width=360, height=740)
    page.goto(f"{page.base_url}/care/doors/{door_round.pk}/todo/")
    item = page.locator(".doors-todo-item", has_text="1单元101室")
    expect(item).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    item.locator("a").click()

    expect(page.get_by_role("button", name="无人在家")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    block = page.locator(".doors-newresident").first
    block.locator("summary").click()
    block.get_by_label("姓名").fill("周玉兰")
    block.get_by_label("身份证号").fill(make_id("320602", "19400312", "222"))
    block.get_by_label("高龄老人").check()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path="/tmp/doorsbench/visit.png", full_page=True)
    page.get_by_role("button", name="已走访").click()

    expect(page.locator(".messages")).to_contain_text("发现情况1项已写入台账")
    expect(page.locator(".doors-todo-item", has_text="1单元101室")).to_have_count(0)
    visit = DoorVisit.objects.get()
    assert visit.visitor == bworld.grid_worker_a and visit.outcome == "visited" and visit.findings == 1
    found = Resident.objects.get(name="周玉兰")
    assert found.household == bworld.household_a
    assert [c.code for c in found.categories.all()] == ["elderly_advanced_age"]


def test_the_printable_sheet_prints_one_building_per_a4_page(bworld, page_for):
    door_round = _round(bworld)
    page = page_for(bworld.community_worker)
    page.goto(f"{page.base_url}/care/doors/{door_round.pk}/sheet/")
    expect(page.locator(".doors-sheet")).to_have_count(2)
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator(".doors-sheet").first).to_have_css("break-after", "page")
    pdf = page.pdf(format="A4")
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 2  # one page per building
