"""The place tree and the dashboard in a real browser: drilling down, sealing a building, a phone-sized home."""

import re

from playwright.sync_api import expect


def test_a_community_worker_drills_down_and_seals_a_building(bworld, page_for):
    page = page_for(bworld.community_worker)
    page.goto(f"{page.base_url}/places/")
    page.get_by_role("link", name="紫东社区").first.click()
    expect(page.locator("h1")).to_contain_text("紫东社区")
    page.get_by_role("link", name="紫东花苑").first.click()
    expect(page.locator("h1")).to_contain_text("紫东花苑")
    page.get_by_role("link", name="1幢", exact=True).first.click()
    expect(page.locator("h1")).to_contain_text("1幢")

    panel = page.locator("#zone-panel")
    # Without a reason the form answers in Chinese, in place.
    panel.locator("select[name=status]").select_option("sealed")
    panel.get_by_role("button", name="调整区域状态").click()
    expect(page.locator("#zone-panel .field-error")).to_contain_text("请填写调整原因")

    page.locator("#zone-panel textarea[name=reason]").fill("楼内出现阳性病例")
    page.locator("#zone-panel").get_by_role("button", name="调整区域状态").click()
    expect(page.locator("#zone-panel .zone-today .badge.zone-sealed")).to_have_text("封控区")
    expect(page.locator("#zone-panel .zone-history")).to_contain_text("楼内出现阳性病例")

    # A reload shows the same state; the compound's table marks the building sealed.
    page.reload()
    expect(page.locator(".zone-today .badge.zone-sealed")).to_have_text("封控区")
    page.locator(".crumbs").get_by_role("link", name="紫东花苑").click()
    row = page.locator("table.place-table tr", has=page.get_by_role("link", name="1幢", exact=True))
    expect(row.locator(".badge.zone-sealed")).to_have_text("封控区")


def test_the_home_page_fits_a_phone_and_draws_the_chart(bworld, page_for):
    errors = []
    page = page_for(bworld.grid_worker_a, width=360, height=740)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{page.base_url}/")
    chart = page.locator("[data-chart]")
    expect(chart).to_have_attribute("data-chart-ready", "1")
    canvas = chart.locator("canvas")
    expect(canvas).to_have_count(1)
    box = canvas.bounding_box()
    assert box["width"] > 200 and box["height"] > 100
    # ECharts has drawn something: the canvas is not blank.
    painted = page.evaluate(
        """() => { const c = document.querySelector('[data-chart] canvas');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"""
    )
    assert painted > 500
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    assert not [e for e in errors if re.search(r"Content.Security.Policy|Refused", e)], errors
