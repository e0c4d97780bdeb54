"""Today's round on a phone (360×740) in a real browser: one-tap logging, the offline queue, tap-to-call."""

from playwright.sync_api import expect

from caregrid.care.models import Contact


def _today(bworld, page_for):
    page = page_for(bworld.grid_worker_a, width=360, height=740)
    page.goto(f"{page.base_url}/care/today/")
    return page


def test_the_round_fits_a_phone_screen(bworld, page_for):
    page = _today(bworld, page_for)
    card = page.locator(".ct-card", has_text="王秀英")
    expect(card).to_be_visible()
    expect(card.get_by_role("button", name="已联系·良好")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    card.locator("summary").click()
    expect(card.get_by_role("button", name="保存记录")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_a_contact_logged_offline_waits_and_is_sent_once_back_online(bworld, page_for):
    page = _today(bworld, page_for)
    card = page.locator(".ct-card", has_text="王秀英")
    expect(card).to_be_visible()
    page.context.set_offline(True)
    card.get_by_role("button", name="已联系·良好").click()
    expect(page.locator(".ct-queue")).to_have_text("待发送 1 条")
    expect(card.locator(".ct-last")).to_have_text("离线，记录已保存在本机")
    assert not Contact.objects.exists()

    page.context.set_offline(False)
    expect(page.locator(".ct-queue")).to_be_hidden()
    expect(page.locator(".ct-done-list")).to_contain_text("王秀英")
    expect(card.locator(".ct-last")).to_have_text("今日已联系")
    contact = Contact.objects.get()
    assert contact.resident_id == bworld.resident_a.pk
    assert contact.outcome == "reached" and contact.wellbeing == "fine"

    page.reload()  # the queue is empty: nothing is sent twice
    expect(page.locator(".ct-queue")).to_be_hidden()
    assert Contact.objects.count() == 1


def test_a_queue_left_from_an_earlier_visit_is_sent_on_load_without_duplicates(bworld, page_for):
    page = _today(bworld, page_for)
    expect(page.locator(".ct-card", has_text="王秀英")).to_be_visible()
    item = {
        "client_id": "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        "at": "2026-01-05T09:30:00+08:00",
        "resident": bworld.resident_a.pk,
        "channel": "visit",
        "outcome": "not_reached",
        "wellbeing": "",
        "needs": [],
        "temperature": None,
        "note": "",
    }
    # The same contact twice, as when a send got through but its answer was lost.
    key = f"caregrid.care.queue.{bworld.grid_worker_a.pk}"
    page.evaluate("([key, item]) => localStorage.setItem(key, JSON.stringify([item, item]))", [key, item])
    page.reload()
    expect(page.locator(".ct-queue")).to_be_hidden()
    expect(page.locator(".ct-done-list")).to_contain_text("王秀英")
    contact = Contact.objects.get()
    assert str(contact.client_id) == item["client_id"]
    assert contact.channel == "visit" and contact.outcome == "not_reached"


def test_a_wrong_temperature_is_shown_on_the_card(bworld, page_for):
    page = _today(bworld, page_for)
    card = page.locator(".ct-card", has_text="王秀英")
    card.locator("summary").click()
    card.locator("input[name=temperature]").evaluate("el => { el.removeAttribute('max'); el.value = '44.5'; }")
    card.get_by_role("button", name="保存记录").click()
    expect(card.locator(".ct-errors")).to_contain_text("体温须在34.0至43.0℃之间")
    expect(page.locator(".ct-queue")).to_be_hidden()
    assert not Contact.objects.exists()


def test_tapping_call_shows_the_full_number_as_a_phone_link(bworld, page_for):
    page = _today(bworld, page_for)
    card = page.locator(".ct-card", has_text="王秀英")
    card.get_by_role("button", name="拨打 138****5678").click()
    expect(card.locator('a[href="tel:13812345678"]')).to_have_text("13812345678")


def test_a_queued_contact_refused_by_the_server_opens_its_card_with_the_reason(bworld, page_for):
    page = _today(bworld, page_for)
    expect(page.locator(".ct-card", has_text="王秀英")).to_be_visible()
    item = {
        "client_id": "0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d",
        "at": "2026-01-05T09:30:00+08:00",
        "resident": bworld.resident_a.pk,
        "channel": "phone",
        "outcome": "reached",
        "wellbeing": "fine",
        "needs": [],
        "temperature": "45.0",
        "note": "",
    }
    key = f"caregrid.care.queue.{bworld.grid_worker_a.pk}"
    page.evaluate("([key, item]) => localStorage.setItem(key, JSON.stringify([item]))", [key, item])
    page.reload()
    card = page.locator(".ct-card", has_text="王秀英")
    expect(card.locator(".ct-errors")).to_contain_text("体温须在34.0至43.0℃之间")
    expect(card.get_by_role("button", name="保存记录")).to_be_visible()
    assert not Contact.objects.exists()
