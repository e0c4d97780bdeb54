"""A call from start to end in a real browser: the operator logs it from the keyboard, a grid worker resolves
it on a phone, and the bureau's statistics line counts it."""

import re

import pytest
from playwright.sync_api import expect

from caregrid.cases.models import HelpRequest, Status


@pytest.fixture
def trained_model():
    """The classifier's first use trains it; do that before the page waits on it."""
    from caregrid.cases.triage import current

    return current()


def test_an_operator_logs_a_call_a_grid_worker_resolves_it_and_the_statistics_line_updates(
    bworld, page_for, trained_model
):
    operator = page_for(bworld.hotline_operator)
    operator.goto(f"{operator.base_url}/cases/stats/")
    expect(operator.locator("body")).to_contain_text("接通来电0个")

    operator.goto(f"{operator.base_url}/cases/new/")
    operator.fill("#id_caller_phone", "13812345678")
    expect(operator.locator("#caller")).to_contain_text("王秀英")
    operator.keyboard.press("Alt+6")  # the first resident found for this number
    expect(operator.locator("#id_resident")).to_have_value(str(bworld.resident_a.pk))
    operator.fill("#id_description", "独居老人降压药吃完了，楼栋封控出不去，请帮忙买药送上门")
    expect(operator.locator("#suggestion")).to_be_visible()
    operator.keyboard.press("Alt+a")
    expect(operator.locator("#id_category")).not_to_have_value("")
    operator.select_option("#id_category", "medicine")
    operator.check('input[name="handling"][value="dispatch"]')
    operator.select_option("#id_dispatch_to", str(bworld.grid_a.pk))
    operator.fill("#id_answer", "请网格员今天送药")
    operator.keyboard.press("Control+Enter")
    expect(operator).to_have_url(re.compile(r"/cases/\d+/$"))
    expect(operator.locator("h1")).to_contain_text("购药")
    case = HelpRequest.objects.get()
    assert case.status == Status.DISPATCHED and case.assigned_place_id == bworld.grid_a.pk

    worker = page_for(bworld.grid_worker_a, width=360, height=740)
    worker.goto(f"{worker.base_url}/cases/")
    worker.get_by_role("link", name=case.number).click()
    expect(worker.locator("h1")).to_contain_text(case.number)
    worker.wait_for_load_state()
    assert worker.evaluate("document.documentElement.scrollWidth") <= 360
    worker.get_by_role("button", name="签收").click()
    expect(worker.locator(".messages")).to_contain_text("已保存")
    worker.fill("#resolve-note", "药已买到并送到家中")
    worker.locator("#resolve").click()
    expect(worker.locator(".actions")).to_contain_text("已办结")

    operator.goto(f"{operator.base_url}/cases/stats/")
    expect(operator.locator("body")).to_contain_text("接通来电1个")
    expect(operator.locator("body")).to_contain_text("交办处置1个")
