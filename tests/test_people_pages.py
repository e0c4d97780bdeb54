"""The resident ledger pages: list, count, detail, unmask, create/edit, inline checks, categories."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from caregrid.accounts.models import AuditEvent
from caregrid.people.actions import ResidentData, resident_create, resident_update
from caregrid.people.models import Category, Resident
from caregrid.places.actions import zone_set
from caregrid.places.models import Place, ZoneStatus
from tests.conftest import make_id

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def html(response) -> str:
    return response.content.decode()


def form_data(world, **overrides) -> dict:
    unit = world.household_a.parent
    data = {
        "name": "陈桂兰",
        "id_number": make_id("320602", "19400308", "042"),
        "phone": "13900001111",
        "emergency_contact": "",
        "emergency_phone": "",
        "note": "",
        "compound": world.compound.pk,
        "building": world.building_a.pk,
        "unit": unit.pk,
        "household": world.household_a.pk,
        "new_room": "",
    }
    data.update(overrides)
    return data


def edit_data(world, resident, **overrides) -> dict:
    data = form_data(
        world,
        name=resident.name,
        id_number=resident.id_number,
        phone=resident.phone,
        version=resident.version,
    )
    for link in resident.category_links.all():
        data[f"cat_{link.category_id}"] = "on"
    data.update(overrides)
    return data


# --- the list ---------------------------------------------------------------------------------


def test_the_list_shows_a_grid_worker_only_their_own_grid(world, login):
    page = html(login(world.grid_worker_a).get(reverse("people:list")))
    assert "王秀英" in page
    assert "李建国" not in page
    assert "赵敏" not in page


def test_the_list_partial_for_htmx_is_scoped_the_same_way(world, login):
    response = login(world.grid_worker_a).get(reverse("people:list"), {"q": ""}, **HTMX)
    page = html(response)
    assert "<html" not in page
    assert "王秀英" in page and "李建国" not in page
    assert 'hx-swap-oob="true"' in page  # the place picker follows the table
    assert "HX-Request" in response["Vary"]


def test_a_grid_worker_cannot_list_grid_b_by_asking_for_it(world, login):
    response = login(world.grid_worker_a).get(reverse("people:list"), {"place": world.grid_b.pk}, **HTMX)
    page = html(response)
    assert "李建国" not in page
    assert "所选地点不在您的管辖范围内" in page


def test_a_community_worker_sees_their_community_but_not_the_other(world, login):
    client = login(world.community_worker)
    page = html(client.get(reverse("people:list")))
    assert "王秀英" in page and "李建国" in page
    assert "赵敏" not in page
    page = html(client.get(reverse("people:list"), {"place": world.other_community.pk}))
    assert "赵敏" not in page
    assert "河西社区" not in page


def test_the_count_endpoint_counts_only_what_the_user_may_see(world, login):
    assert "共 1 人" in html(login(world.grid_worker_a).get(reverse("people:count")))
    assert "共 2 人" in html(login(world.community_worker).get(reverse("people:count")))
    assert "共 3 人" in html(login(world.district_admin).get(reverse("people:count")))
    assert "共 0 人" in html(login(world.grid_worker_b).get(reverse("people:count"), {"place": world.grid_a.pk}))


def test_an_auditor_may_not_see_residents_anywhere(world, login):
    client = login(world.auditor)
    pk = world.resident_a.pk
    for url in [
        reverse("people:list"),
        reverse("people:count"),
        reverse("people:detail", args=[pk]),
        reverse("people:edit", args=[pk]),
        reverse("people:new"),
        reverse("people:validate") + "?id_number=1",
        reverse("people:household_picker"),
        reverse("people:categories"),
    ]:
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("people:unmask", args=[pk])).status_code == 403
    assert not AuditEvent.objects.filter(action="resident.unmask").exists()


def test_the_list_masks_identity_and_phone_numbers(world, login):
    page = html(login(world.district_admin).get(reverse("people:list")))
    for resident in (world.resident_a, world.resident_b, world.resident_other):
        assert resident.id_number not in page
        assert resident.phone not in page
    assert "3206**********" in page
    assert "138****5678" in page


def test_the_list_shows_address_grid_categories_and_todays_zone(world, login):
    zone_set(
        actor=world.district_admin,
        place=world.building_a,
        status=ZoneStatus.SEALED,
        start_date=dt.date.today() - dt.timedelta(days=1),
        reason="封控",
    )
    page = html(login(world.community_worker).get(reverse("people:list")))
    assert "紫东花苑1幢1单元101室" in page
    assert "第一网格" in page
    assert "独居老人" in page and "血透" in page
    assert "zone-sealed" in page


def test_the_list_filters_by_category_zone_text_and_priority(world, login):
    client = login(world.community_worker)
    dialysis = html(client.get(reverse("people:list"), {"category": "dialysis"}))
    assert "李建国" in dialysis and "王秀英" not in dialysis
    by_tail = html(client.get(reverse("people:list"), {"q": "5678"}))
    assert "王秀英" in by_tail and "李建国" not in by_tail
    by_name = html(client.get(reverse("people:list"), {"q": "李"}))
    assert "李建国" in by_name and "王秀英" not in by_name
    by_id = html(client.get(reverse("people:list"), {"q": world.resident_b.id_number}))
    assert "李建国" in by_id and "王秀英" not in by_id
    admin = login(world.district_admin)
    priority = html(admin.get(reverse("people:list"), {"priority": "1"}))
    assert "王秀英" in priority and "赵敏" not in priority
    zone_set(
        actor=world.district_admin,
        place=world.building_b,
        status=ZoneStatus.CONTROLLED,
        start_date=dt.date.today(),
        reason="管控",
    )
    controlled = html(admin.get(reverse("people:list"), {"zone": "controlled"}))
    assert "李建国" in controlled and "王秀英" not in controlled and "赵敏" not in controlled


def test_the_list_filters_by_a_place_subtree(world, login):
    client = login(world.community_worker)
    page = html(client.get(reverse("people:list"), {"place": world.building_b.pk}))
    assert "李建国" in page and "王秀英" not in page
    page = html(client.get(reverse("people:list"), {"place": world.grid_a.pk}))
    assert "王秀英" in page and "李建国" not in page


def test_the_list_pages_fifty_at_a_time_without_counting(world, login):
    for i in range(52):
        resident_create(
            actor="system",
            data=ResidentData(
                id_number=make_id("320602", "19600101", f"{i:03d}"), name=f"测试{i:02d}", household=world.household_a
            ),
        )
    client = login(world.grid_worker_a)
    with CaptureQueriesContext(connection) as queries:
        first = html(client.get(reverse("people:list")))
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    assert first.count('href="/residents/') - first.count('href="/residents/new') >= 50
    assert "下一页" in first
    assert reverse("people:count") in first  # the total comes lazily, from the count endpoint
    second = html(client.get(reverse("people:list"), {"page": 2}))
    assert "上一页" in second and "下一页" not in second
    assert "共 53 人" in html(client.get(reverse("people:count")))


# --- detail and unmask ------------------------------------------------------------------------


def test_the_detail_page_is_masked_and_shows_address_categories_and_household(world, login):
    resident_create(
        actor="system",
        data=ResidentData(id_number=make_id("320602", "19470505", "011"), name="王建华", household=world.household_a),
    )
    page = html(login(world.grid_worker_a).get(reverse("people:detail", args=[world.resident_a.pk])))
    assert world.resident_a.id_number not in page
    assert "13812345678" not in page
    assert "138****5678" in page
    assert "紫东花苑" in page and "101" in page
    assert "独居老人" in page and "2020-01-01" in page
    assert "王建华" in page  # the other member of the household
    assert "显示完整号码" in page


def test_grid_workers_get_not_found_for_the_other_grid(world, login):
    client = login(world.grid_worker_a)
    pk = world.resident_b.pk
    assert client.get(reverse("people:detail", args=[pk])).status_code == 404
    assert client.get(reverse("people:edit", args=[pk])).status_code == 404
    assert client.post(reverse("people:edit", args=[pk]), edit_data(world, world.resident_b)).status_code == 404
    assert client.post(reverse("people:unmask", args=[pk]), **HTMX).status_code == 404
    assert not AuditEvent.objects.filter(action="resident.unmask").exists()


def test_a_community_worker_gets_not_found_for_the_other_community(world, login):
    client = login(world.community_worker)
    pk = world.resident_other.pk
    assert client.get(reverse("people:detail", args=[pk])).status_code == 404
    assert client.get(reverse("people:edit", args=[pk])).status_code == 404
    assert client.post(reverse("people:unmask", args=[pk])).status_code == 404


def test_unmasking_shows_the_full_numbers_and_writes_an_audit_row(world, login):
    client = login(world.grid_worker_a)
    response = client.post(reverse("people:unmask", args=[world.resident_a.pk]), **HTMX)
    page = html(response)
    assert response.status_code == 200
    assert world.resident_a.id_number in page
    assert 'href="tel:13812345678"' in page
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="resident.unmask")
    assert event.actor == world.grid_worker_a
    assert event.object_id == str(world.resident_a.pk)
    assert event.place_path == world.resident_a.place_path


def test_unmasking_is_a_post_only(world, login):
    assert login(world.grid_worker_a).get(reverse("people:unmask", args=[world.resident_a.pk])).status_code == 405


def test_a_hotline_operator_can_view_and_unmask_but_not_edit(world, login):
    client = login(world.hotline_operator)
    assert "赵敏" in html(client.get(reverse("people:list")))
    page = html(client.get(reverse("people:detail", args=[world.resident_other.pk])))
    assert "显示完整号码" in page
    assert reverse("people:edit", args=[world.resident_other.pk]) not in page
    unmasked = html(client.post(reverse("people:unmask", args=[world.resident_other.pk])))
    assert "0513-85123456" in unmasked
    assert AuditEvent.objects.filter(action="resident.unmask", actor=world.hotline_operator).count() == 1
    assert client.get(reverse("people:edit", args=[world.resident_other.pk])).status_code == 403
    assert client.get(reverse("people:new")).status_code == 403
    assert client.post(reverse("people:new"), form_data(world)).status_code == 403


def test_the_detail_shows_recent_changes_with_numbers_masked(world, login):
    client = login(world.community_worker)
    client.post(
        reverse("people:edit", args=[world.resident_a.pk]),
        edit_data(world, world.resident_a, phone="13700002222"),
    )
    page = html(client.get(reverse("people:detail", args=[world.resident_a.pk])))
    assert "resident.update" in page
    assert "137****2222" in page
    assert "13700002222" not in page
    hotline_view = html(login(world.hotline_operator).get(reverse("people:detail", args=[world.resident_a.pk])))
    assert "resident.update" not in hotline_view


# --- create and edit --------------------------------------------------------------------------


def test_a_community_worker_registers_a_resident_and_the_write_is_audited(world, login):
    alone = Category.objects.get(code="elderly_alone")
    data = form_data(
        world, **{f"cat_{alone.pk}": "on", f"since_{alone.pk}": "2022-03-01", f"note_{alone.pk}": "子女在外地"}
    )
    response = login(world.community_worker).post(reverse("people:new"), data)
    resident = Resident.objects.get(name="陈桂兰")
    assert response.status_code == 302
    assert response["Location"] == reverse("people:detail", args=[resident.pk])
    assert resident.household == world.household_a
    assert resident.gender == "F" and resident.birth_date == dt.date(1940, 3, 8)
    link = resident.category_links.get()
    assert (link.category, link.since, link.note) == (alone, dt.date(2022, 3, 1), "子女在外地")
    event = AuditEvent.objects.get(action="resident.create", object_id=str(resident.pk))
    assert event.actor == world.community_worker


def test_a_bad_id_checksum_and_a_missing_name_are_explained_in_chinese(world, login):
    bad = make_id("320602", "19400308", "042")
    bad = bad[:-1] + ("0" if bad[-1] != "0" else "1")
    response = login(world.community_worker).post(reverse("people:new"), form_data(world, name="", id_number=bad))
    page = html(response)
    assert response.status_code == 200
    assert "身份证号校验位不正确" in page
    assert "姓名不能为空" in page
    assert not Resident.objects.filter(id_number=bad).exists()
    assert not AuditEvent.objects.filter(action="resident.create", actor=world.community_worker).exists()


def test_a_new_room_number_creates_the_household_in_the_same_save(world, login):
    unit = world.household_a.parent
    data = form_data(world, household="", new_room="102")
    response = login(world.grid_worker_a).post(reverse("people:new"), data)
    assert response.status_code == 302
    household = Place.objects.get(parent=unit, name="102")
    assert Resident.objects.get(name="陈桂兰").household == household
    assert household.grid == world.grid_a
    assert AuditEvent.objects.filter(action="place.create", object_id=str(household.pk)).exists()


def test_a_refused_resident_leaves_no_new_room_behind(world, login):
    unit = world.household_a.parent
    data = form_data(world, household="", new_room="103", name="")
    response = login(world.grid_worker_a).post(reverse("people:new"), data)
    assert response.status_code == 200
    assert "姓名不能为空" in html(response)
    assert not Place.objects.filter(parent=unit, name="103").exists()


def test_a_grid_worker_cannot_register_someone_into_grid_b(world, login):
    unit_b = world.household_b.parent
    data = form_data(world, building=world.building_b.pk, unit=unit_b.pk, household=world.household_b.pk)
    response = login(world.grid_worker_a).post(reverse("people:new"), data)
    assert response.status_code == 200
    assert "请选择到户" in html(response)
    assert not Resident.objects.filter(name="陈桂兰").exists()
    data = form_data(world, building=world.building_b.pk, unit=unit_b.pk, household="", new_room="909")
    login(world.grid_worker_a).post(reverse("people:new"), data)
    assert not Place.objects.filter(name="909").exists()


def test_traditional_input_is_converted_and_invalid_phones_are_kept_with_a_warning(world, login):
    data = form_data(world, name="張偉", phone="12345")
    response = login(world.community_worker).post(reverse("people:new"), data, follow=True)
    resident = Resident.objects.get(name="张伟")
    assert resident.phone == "12345" and resident.phone_valid is False
    assert "不是有效的手机或固话号码" in html(response)


def test_editing_a_resident_is_audited_with_the_changed_fields(world, login):
    client = login(world.grid_worker_a)
    response = client.post(
        reverse("people:edit", args=[world.resident_a.pk]), edit_data(world, world.resident_a, phone="13700002222")
    )
    assert response.status_code == 302
    world.resident_a.refresh_from_db()
    assert world.resident_a.phone == "13700002222"
    event = AuditEvent.objects.get(action="resident.update")
    assert event.changes["phone"] == ["13812345678", "13700002222"]
    assert event.actor == world.grid_worker_a


def test_the_edit_form_shows_the_resident_and_their_household(world, login):
    page = html(login(world.grid_worker_a).get(reverse("people:edit", args=[world.resident_a.pk])))
    assert 'value="王秀英"' in page
    assert f'<option value="{world.household_a.pk}" selected>' in page
    assert f'<option value="{world.building_a.pk}" selected>' in page


def test_a_stale_edit_is_refused_with_a_conflict_message(world, login):
    stale = edit_data(world, world.resident_a, phone="13700002222")
    resident_update(
        actor=world.community_worker,
        resident=world.resident_a,
        data=ResidentData(
            id_number=world.resident_a.id_number, name="王秀英", household=world.household_a, phone="13600003333"
        ),
    )
    response = login(world.grid_worker_a).post(reverse("people:edit", args=[world.resident_a.pk]), stale)
    assert response.status_code == 200
    assert "该居民信息已被他人修改，请刷新后再改" in html(response)
    world.resident_a.refresh_from_db()
    assert world.resident_a.phone == "13600003333"


def test_a_grid_worker_edits_only_within_their_grid_through_the_household_picker(world, login):
    response = login(world.grid_worker_a).get(reverse("people:household_picker"), {"compound": world.compound.pk})
    page = html(response)
    assert "1幢" in page and "2幢" not in page
    community = html(
        login(world.community_worker).get(reverse("people:household_picker"), {"compound": world.compound.pk})
    )
    assert "1幢" in community and "2幢" in community
    other = html(login(world.community_worker).get(reverse("people:household_picker")))
    assert "河西新村" not in other


# --- inline checks ----------------------------------------------------------------------------


def test_the_id_check_shows_gender_and_birth_date_or_the_problem(world, login):
    client = login(world.grid_worker_a)
    good = make_id("320602", "19450101", "123")
    page = html(client.get(reverse("people:validate"), {"id_number": good}))
    assert "男" in page and "1945年1月1日" in page
    full_width = good.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert "1945年1月1日" in html(client.get(reverse("people:validate"), {"id_number": full_width}))
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert "身份证号校验位不正确" in html(client.get(reverse("people:validate"), {"id_number": bad}))
    assert "应为18位" in html(client.get(reverse("people:validate"), {"id_number": "3206"}))


def test_the_phone_check_warns_about_invalid_phones(world, login):
    client = login(world.grid_worker_a)
    assert "已原样保留" in html(client.get(reverse("people:validate"), {"phone": "12345"}))
    assert "号码有效" in html(client.get(reverse("people:validate"), {"phone": "138 1234 5678"}))
    assert "已原样保留" in html(client.get(reverse("people:validate"), {"emergency_phone": "999"}))


def test_the_inline_checks_need_the_right_to_edit(world, login):
    assert login(world.hotline_operator).get(reverse("people:validate"), {"phone": "1"}).status_code == 403


# --- categories -------------------------------------------------------------------------------


def test_the_categories_page_lists_synonyms_and_counts_in_scope(world, login):
    page = html(login(world.district_admin).get(reverse("people:categories")))
    assert "独居老人" in page and "独居长者" in page
    assert "透析" in page
    assert login(world.community_worker).get(reverse("people:categories")).status_code == 403
    assert login(world.grid_worker_a).get(reverse("people:categories")).status_code == 403


def test_the_bureau_adds_a_category_and_it_is_audited(world, login):
    client = login(world.district_admin)
    response = client.post(
        reverse("people:categories"), {"code": "veteran", "name": "退役军人", "name_en": "", "synonyms": "老兵、军属"}
    )
    assert response.status_code == 302
    category = Category.objects.get(code="veteran")
    assert category.synonyms == ["老兵", "军属"]
    assert AuditEvent.objects.filter(action="category.create", object_id=str(category.pk)).exists()
    refused = html(client.post(reverse("people:categories"), {"code": "bad code!", "name": "独居老人"}))
    assert "已有同名类别" in refused
    assert "代码只能由英文字母、数字和下划线组成" in refused
