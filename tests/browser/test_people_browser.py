"""The ledger on a phone (360×740) in a real browser: search, open, unmask; register with inline checks."""

import re

from playwright.sync_api import expect

from tests.conftest import make_id


def test_the_stylesheet_and_page_script_are_served(bworld, page_for):
    page = page_for()
    for path in ("/static/caregrid/app.css", "/static/caregrid/app.js", "/static/vendor/htmx/htmx.min.js"):
        response = page.request.get(page.base_url + path)
        assert response.ok, f"{path} is not served (caregrid/static must be in STATICFILES_DIRS)"


def test_a_grid_worker_finds_a_resident_on_a_phone_and_unmasks_the_phone(bworld, page_for):
    page = page_for(bworld.grid_worker_a, width=360, height=740)
    page.goto(f"{page.base_url}/residents/")
    page.fill("#id_q", "王")
    expect(page).to_have_url(re.compile(r"/residents/\?.*q=%E7%8E%8B"))  # the URL follows the filters
    link = page.get_by_role("link", name="王秀英")
    expect(link).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    link.click()
    expect(page.locator("#pii")).to_contain_text("138****5678")
    page.get_by_role("button", name="显示完整号码").click()
    phone = page.locator('a[href="tel:13812345678"]')
    expect(phone).to_be_visible()
    expect(phone).to_have_text("13812345678")


def test_a_community_worker_fixes_a_bad_id_number_inline_and_saves(bworld, page_for):
    page = page_for(bworld.community_worker, width=360, height=740)
    page.goto(f"{page.base_url}/residents/new/")
    good = make_id("320602", "19400308", "042")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    page.fill("#id_name", "陈桂兰")
    page.fill("#id_id_number", bad)
    expect(page.locator("#id_number-check")).to_contain_text("身份证号校验位不正确")
    page.fill("#id_id_number", good)
    expect(page.locator("#id_number-check")).to_contain_text("女，1940年3月8日出生")
    page.select_option("#id_compound", label="紫东花苑")
    expect(page.locator("#id_building")).to_be_enabled()
    page.select_option("#id_building", label="1幢")
    expect(page.locator("#id_unit")).to_be_enabled()
    page.select_option("#id_unit", label="1单元")
    expect(page.locator("#id_household")).to_be_enabled()
    page.select_option("#id_household", label="101")
    page.get_by_text("独居老人", exact=True).click()
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("heading", name="陈桂兰")).to_be_visible()
    expect(page.get_by_text("已登记居民“陈桂兰”")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
