"""A community worker uploads a small ledger through the page, confirms, and sees the result."""

import csv

from caregrid.people.models import Resident
from tests.conftest import make_id


def test_a_community_worker_uploads_a_ledger_and_sees_the_result(bworld, page_for, settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": []}}
    settings.UPLOAD_DIR = tmp_path / "uploads"
    number = make_id("320602", "19410303", "512")
    path = tmp_path / "紫东社区台账.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(
            [
                ["紫东社区独居老人台账"],
                ["序号", "姓名", "身份证号码", "手机号码", "住址", "人员类别"],
                ["1", "周桂英", number, "13812340000", "紫东花苑6幢1单元201室", "独居"],
                [
                    "2",
                    "吴强",
                    number[:17] + ("0" if number[17] != "0" else "1"),
                    "13812340001",
                    "紫东花苑6幢1单元202室",
                    "低保",
                ],
            ]
        )
    page = page_for(bworld.community_worker)

    page.goto(f"{page.base_url}/ledger/import/")
    page.select_option("select[name=place]", str(bworld.community.pk))
    page.set_input_files("input[name=file]", str(path))
    page.click("button.primary")
    page.wait_for_selector("text=确认导入")
    assert "身份证号校验位不正确" in page.content()
    page.check("input[name=partial]")
    page.click("text=确认导入")
    page.wait_for_selector(".result-summary")

    assert "已新增 1 人" in page.inner_text(".result-summary")
    assert Resident.objects.filter(id_number=number, name="周桂英").exists()
