"""12345 referral batches: files as 12345 platforms export them, per-row problems with Excel row numbers,
all-or-nothing or only the valid rows, idempotent re-import, the pages, the command, and the scope of the
requests that result."""

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
import xlsxwriter
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from caregrid.accounts.models import AuditEvent
from caregrid.cases.models import Channel, HelpRequest
from caregrid.cases.referrals.importer import check_file, parse_deadline, parse_time, referrals_import
from caregrid.cases.taxonomy import CaseCategory, Urgency

pytestmark = pytest.mark.django_db

HEADER = ["工单编号", "来电时间", "来电人", "联系电话", "诉求地址", "诉求内容", "诉求类型", "紧急程度", "办理时限"]
TITLE = "12345政务服务便民热线转办工单清单（民政类）"


def rows_ok() -> list[list]:
    return [
        ["GD20220410001", "2022-04-10 08:15:30", "王先生", "13812345678", "紫东花苑1幢1单元101",
         "母亲独居，降压药吃完了，封控出不去，请帮忙代购", "购药", "较急", "24小时"],
        ["GD20220410002", "2022/4/10 9:02", "李女士", "13987654321", "紫东花苑2幢1单元202",
         "家里没有菜了，老人行动不便，需要配送生活物资", "", "", ""],
        ["GD20220410003", "2022年4月10日 10时30分", "赵敏", "0513-85123456", "河西新村5幢301",
         "咨询封控期间出行证明怎么开", "政策咨询", "一般", "2022-04-12 18:00"],
    ]  # fmt: skip


def write_xlsx(path: Path, rows: list[list], *, title: str = TITLE, header=HEADER) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("转办工单")
    sheet.merge_range(0, 0, 0, len(header) - 1, title)
    sheet.write_row(1, 0, header)
    for i, row in enumerate(rows, start=2):
        sheet.write_row(i, 0, row)
    workbook.close()
    return path


def write_csv(path: Path, rows: list[list], *, encoding: str = "gb18030", header=HEADER) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([TITLE])
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


@pytest.fixture
def uploads(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    return settings.UPLOAD_DIR


def referrals() -> list[HelpRequest]:
    return list(HelpRequest.objects.filter(channel=Channel.REFERRAL_12345).order_by("external_id"))


# ---- reading and checking ------------------------------------------------------------------------


def test_a_clean_file_under_a_title_row_imports_every_referral(world, tmp_path):
    path = write_xlsx(tmp_path / "转办.xlsx", rows_ok())
    report = referrals_import(actor=world.hotline_operator, path=path)
    assert (report.rows, len(report.imported), report.rejected, report.written) == (3, 3, [], True)
    first, second, third = referrals()
    assert first.external_id == "GD20220410001"
    assert timezone.localtime(first.received_at).replace(tzinfo=None) == dt.datetime(2022, 4, 10, 8, 15, 30)
    assert (first.category, first.urgency) == ("medicine", "high")
    assert first.place_id == world.household_a.pk
    assert (first.caller_name, first.caller_phone) == ("王先生", "13812345678")
    assert second.place_id == world.household_b.pk
    assert second.category == second.suggested_category in CaseCategory.values
    assert second.urgency in Urgency.values
    assert third.place_id == world.household_other.pk
    assert (third.category, third.urgency) == ("policy", "normal")
    assert [e["number"] for e in report.imported] == [c.number for c in (first, second, third)]


def test_the_referrals_own_deadline_is_noted_on_the_timeline(world, tmp_path):
    referrals_import(actor=world.hotline_operator, path=write_xlsx(tmp_path / "a.xlsx", rows_ok()))
    first, second, third = referrals()
    assert first.events.get(kind="note").note.endswith("2022-04-11 08:15")
    assert not second.events.filter(kind="note").exists()
    assert third.events.get(kind="note").note.startswith("12345办理时限")
    assert third.events.get(kind="note").note.endswith("2022-04-12 18:00")


def test_a_gb18030_csv_reads_the_same(world, tmp_path):
    path = write_csv(tmp_path / "转办.csv", rows_ok())
    report = referrals_import(actor=world.hotline_operator, path=path)
    assert len(report.imported) == 3
    first = referrals()[0]
    assert (first.caller_name, first.place_id) == ("王先生", world.household_a.pk)
    assert "降压药吃完了" in first.description


def test_every_problem_is_listed_with_its_excel_row_and_column(world, tmp_path):
    rows = [
        *rows_ok(),
        ["GD20220410004", "2022-04-10 11:00", "周先生", "12345", "紫东花苑1幢1单元101", "", "", "", ""],
        ["GD20220410005", "昨天上午", "吴女士", "13800001111", "紫东花苑", "停水了", "", "", ""],
        ["GD20220410006", "2022-04-10 12:00", "郑先生", "1380000", "紫东花苑", "要找人陪同去医院", "看风水", "", ""],
        ["GD20220410001", "2022-04-10 13:00", "王先生", "13812345678", "紫东花苑", "再次来电催问买药", "购药", "", ""],
        ["GD20220410007", "2022-04-10 14:00", "孙女士", "13800002222", "紫东花苑", "燃气没了", "水电", "十万火急", ""],
        ["", "2022-04-10 15:00", "钱先生", "13800003333", "紫东花苑", "要买米", "", "", ""],
    ]
    report = check_file(write_xlsx(tmp_path / "问题.xlsx", rows))
    problems = {(p.row, p.column, p.code) for p in report.rejected}
    assert problems == {
        (6, "诉求内容", "required"),
        (7, "来电时间", "bad_time"),
        (8, "诉求类型", "unknown_category"),
        (9, "工单编号", "duplicate_in_file"),
        (10, "紧急程度", "unknown_urgency"),
        (11, "工单编号", "required"),
    }
    by_row = {p.row: p.message for p in report.rejected}
    assert by_row[9] == "工单编号“GD20220410001”与第3行重复"
    assert by_row[7] == "来电时间“昨天上午”无法识别，请写成 2022-04-10 08:15 这样的格式"
    assert by_row[8].startswith("诉求类型“看风水”无法识别，可填：就医、购药")
    warnings = {(p.row, p.column, p.code) for p in report.warnings}
    assert (8, "联系电话", "phone_invalid") in warnings
    assert (report.rows, len(report.valid)) == (9, 3)
    assert not HelpRequest.objects.exists()


def test_a_call_time_in_the_future_is_refused(world, tmp_path):
    later = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    rows = [["GD1", later, "王先生", "13812345678", "", "要买药", "", "", ""]]
    report = check_file(write_xlsx(tmp_path / "a.xlsx", rows))
    assert [p.code for p in report.rejected] == ["future_time"]


def test_a_row_without_a_call_time_is_received_now_with_a_warning(world, tmp_path):
    rows = [["GD1", "", "王先生", "13812345678", "", "要买药", "", "", ""]]
    report = referrals_import(actor=world.hotline_operator, path=write_xlsx(tmp_path / "a.xlsx", rows))
    assert [p.code for p in report.warnings] == ["time_missing"]
    assert timezone.now() - referrals()[0].received_at < dt.timedelta(minutes=5)


def test_an_unreadable_deadline_is_a_warning_not_a_rejection(world, tmp_path):
    rows = [["GD1", "2022-04-10 08:00", "王先生", "13812345678", "", "要买药", "", "", "尽快"]]
    report = referrals_import(actor=world.hotline_operator, path=write_xlsx(tmp_path / "a.xlsx", rows))
    assert [(p.code, p.column) for p in report.warnings] == [("bad_deadline", "办理时限")]
    assert len(report.imported) == 1


def test_hierarchical_types_and_sub_categories_are_understood(world, tmp_path):
    from caregrid.cases.models import Subcategory

    dialysis = Subcategory.objects.create(category="medical", code="dialysis", name="血透")
    rows = [
        ["GD1", "2022-04-10 08:00", "王", "13812345678", "", "透析病人要去医院", "民政-就医-血透", "特急", ""],
        ["GD2", "2022-04-10 08:00", "李", "13812345678", "", "低保金没到账", "民政/社会救助/临时救助", "", ""],
        ["GD3", "2022-04-10 08:00", "赵", "13812345678", "", "问政策", "policy", "normal", ""],
        ["GD4", "2022-04-10 08:00", "钱", "13812345678", "", "买米", "生活物資", "普通", ""],
    ]
    referrals_import(actor=world.hotline_operator, path=write_xlsx(tmp_path / "a.xlsx", rows))
    got = {c.external_id: (c.category, c.subcategory_id, c.urgency) for c in referrals()}
    assert got["GD1"] == ("medical", dialysis.pk, "urgent")
    assert got["GD2"][0] == "financial_aid"
    assert got["GD3"] == ("policy", None, "normal")
    assert got["GD4"][::2] == ("supplies", "normal")


def test_a_file_without_the_content_column_is_refused_as_a_whole(world, tmp_path):
    from caregrid.people.ledger.reader import LedgerFileError

    path = write_xlsx(tmp_path / "a.xlsx", [["GD1", "2022-04-10 08:00"]], header=["工单编号", "来电时间"])
    with pytest.raises(LedgerFileError, match="缺少“诉求内容”列"):
        check_file(path)


def test_times_and_deadlines_as_12345_writes_them():
    assert parse_time("2022-04-10 08:15").hour == 8
    assert parse_time("2022/4/10 8:15:30").second == 30
    assert parse_time("2022年4月10日 8时15分").minute == 15
    assert parse_time("20220410081530").day == 10
    assert parse_time(dt.datetime(2022, 4, 10, 8, 0)).tzinfo is not None
    assert parse_time("2022-02-30 08:00") is None
    assert parse_time("明天") is None
    received = parse_time("2022-04-08 10:00")  # a Friday
    assert parse_deadline("2小时", received) == received + dt.timedelta(hours=2)
    assert parse_deadline("3天", received) == received + dt.timedelta(days=3)
    assert parse_deadline("1个工作日", received) == received + dt.timedelta(days=3)
    assert parse_deadline("2022-04-09 12:00", received).day == 9


# ---- all or nothing, only the valid rows, again ----------------------------------------------------


def bad_rows() -> list[list]:
    return [*rows_ok(), ["GD20220410009", "2022-04-10 16:00", "冯先生", "13800004444", "", "", "", "", ""]]


def test_one_rejected_row_stops_the_whole_file(world, tmp_path):
    report = referrals_import(actor=world.hotline_operator, path=write_xlsx(tmp_path / "a.xlsx", bad_rows()))
    assert report.written is False
    assert [p.row for p in report.rejected] == [6]
    assert not HelpRequest.objects.exists()
    audit = AuditEvent.objects.get(action="case.referral_import")
    assert (audit.changes["written"], audit.changes["rejected"]) == (False, 1)


def test_only_the_valid_rows_when_asked(world, tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", bad_rows())
    report = referrals_import(actor=world.hotline_operator, path=path, partial=True)
    assert report.written is True
    assert len(report.imported) == 3
    assert [c.external_id for c in referrals()] == ["GD20220410001", "GD20220410002", "GD20220410003"]
    audit = AuditEvent.objects.get(action="case.referral_import")
    assert (audit.changes["imported"], audit.changes["rejected"], audit.changes["partial"]) == (3, 1, True)


def test_importing_the_same_file_again_skips_every_referral(world, tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", rows_ok())
    referrals_import(actor=world.hotline_operator, path=path)
    again = referrals_import(actor=world.hotline_operator, path=path)
    assert (len(again.imported), len(again.skipped), again.rejected) == (0, 3, [])
    assert [s["external_id"] for s in again.skipped] == ["GD20220410001", "GD20220410002", "GD20220410003"]
    assert HelpRequest.objects.count() == 3


def test_a_referral_already_logged_is_skipped_not_rejected(world, tmp_path):
    referrals_import(actor=world.hotline_operator, path=write_xlsx(tmp_path / "a.xlsx", rows_ok()[:1]))
    report = referrals_import(actor=world.hotline_operator, path=write_xlsx(tmp_path / "b.xlsx", rows_ok()))
    assert (len(report.imported), [s["row"] for s in report.skipped], report.rejected) == (2, [3], [])


def test_a_dry_run_writes_nothing(world, tmp_path):
    report = referrals_import(
        actor=world.hotline_operator, path=write_xlsx(tmp_path / "a.xlsx", rows_ok()), dry_run=True
    )
    assert (report.to_import, report.written) == (3, False)
    assert not HelpRequest.objects.exists()
    assert not AuditEvent.objects.filter(action="case.referral_import").exists()


# ---- scope of the resulting requests ----------------------------------------------------------------


def test_each_grid_sees_only_its_own_referrals(world, tmp_path, login):
    referrals_import(actor=world.hotline_operator, path=write_xlsx(tmp_path / "a.xlsx", rows_ok()))
    a = login(world.grid_worker_a).get("/api/v1/cases").json()["items"]
    assert [c["id"] for c in a] == [HelpRequest.objects.get(external_id="GD20220410001").pk]
    b = login(world.grid_worker_b).get("/api/v1/cases").json()["items"]
    assert [c["id"] for c in b] == [HelpRequest.objects.get(external_id="GD20220410002").pk]
    community = login(world.community_worker).get("/api/v1/cases").json()["items"]
    assert len(community) == 2


def test_a_community_workers_import_stays_in_their_community(world, tmp_path, login):
    referrals_import(actor=world.community_worker, path=write_xlsx(tmp_path / "a.xlsx", rows_ok()))
    elsewhere = HelpRequest.objects.get(external_id="GD20220410003")
    assert elsewhere.place_id == world.community.pk
    assert len(login(world.community_worker).get("/api/v1/cases").json()["items"]) == 3


def test_an_auditor_may_not_import(world, tmp_path):
    from caregrid.cases.actions import CaseError

    with pytest.raises(CaseError):
        referrals_import(actor=world.auditor, path=write_xlsx(tmp_path / "a.xlsx", rows_ok()))
    assert not HelpRequest.objects.exists()


# ---- the pages -------------------------------------------------------------------------------------


def upload(client, path: Path):
    with open(path, "rb") as f:
        return client.post("/cases/referrals/", {"file": f})


def token_of(response) -> str:
    return re.search(r"/cases/referrals/([0-9a-f]{32})/", response["Location"]).group(1)


def test_upload_check_confirm_and_the_result_with_links(world, tmp_path, uploads, login):
    client = login(world.hotline_operator)
    assert client.get("/cases/referrals/").status_code == 200
    response = upload(client, write_xlsx(tmp_path / "转办0410.xlsx", bad_rows()))
    assert response.status_code == 302
    token = token_of(response)
    page = client.get(f"/cases/referrals/{token}/").content.decode()
    assert "共 4 行数据：可导入 3 条" in page
    assert "诉求内容为空" in page
    assert "GD20220410001" in page
    assert not HelpRequest.objects.exists()
    response = client.post(f"/cases/referrals/{token}/confirm/", {"partial": "on"})
    assert response.status_code == 302
    page = client.get(f"/cases/referrals/{token}/").content.decode()
    assert "已导入 3 条转办工单" in page
    for case in referrals():
        assert f'href="/cases/{case.pk}/"' in page
    recent = client.get("/cases/referrals/").content.decode()
    assert recent.count(token) == 1
    assert re.search(r"<td>\d{4}-\d{2}-\d{2} \d{2}:\d{2}</td>", recent)


def test_a_double_confirm_imports_once(world, tmp_path, uploads, login):
    client = login(world.hotline_operator)
    token = token_of(upload(client, write_xlsx(tmp_path / "a.xlsx", rows_ok())))
    client.post(f"/cases/referrals/{token}/confirm/")
    client.post(f"/cases/referrals/{token}/confirm/")
    assert HelpRequest.objects.count() == 3
    assert AuditEvent.objects.filter(action="case.referral_import").count() == 1


def test_without_partial_a_rejected_row_imports_nothing_and_says_so(world, tmp_path, uploads, login):
    client = login(world.hotline_operator)
    token = token_of(upload(client, write_xlsx(tmp_path / "a.xlsx", bad_rows())))
    client.post(f"/cases/referrals/{token}/confirm/")
    assert "本次没有写入任何数据" in client.get(f"/cases/referrals/{token}/").content.decode()
    assert not HelpRequest.objects.exists()


def test_an_unreadable_file_says_why(world, tmp_path, uploads, login):
    client = login(world.hotline_operator)
    path = tmp_path / "a.csv"
    path.write_text("姓名,身份证号\n张三,1\n", encoding="utf-8")
    token = token_of(upload(client, path))
    assert "没有找到表头" in client.get(f"/cases/referrals/{token}/").content.decode()


def test_a_wrong_file_type_is_refused_on_the_form(world, tmp_path, uploads, login):
    path = tmp_path / "a.pdf"
    path.write_bytes(b"%PDF-1.4")
    response = upload(login(world.hotline_operator), path)
    assert response.status_code == 200
    assert "不支持的文件类型" in response.content.decode()


def test_someone_elses_batch_reads_as_missing(world, tmp_path, uploads, login, client):
    token = token_of(upload(login(world.hotline_operator), write_xlsx(tmp_path / "a.xlsx", rows_ok())))
    client.force_login(world.community_worker)
    assert client.get(f"/cases/referrals/{token}/").status_code == 404
    assert client.post(f"/cases/referrals/{token}/confirm/").status_code == 404
    assert not HelpRequest.objects.exists()


def test_an_auditor_gets_403_on_the_pages(world, uploads, login):
    assert login(world.auditor).get("/cases/referrals/").status_code == 403


def test_a_grid_worker_imports_into_their_own_grid_and_sees_links_only_to_what_they_see(
    world, tmp_path, uploads, login
):
    client = login(world.grid_worker_a)
    token = token_of(upload(client, write_xlsx(tmp_path / "a.xlsx", rows_ok())))
    client.post(f"/cases/referrals/{token}/confirm/")
    assert {c.place_id for c in referrals()} == {world.household_a.pk, world.grid_a.pk}
    assert len(client.get("/api/v1/cases").json()["items"]) == 3


# ---- the command -----------------------------------------------------------------------------------


def test_the_command_imports_and_prints_json(world, tmp_path, capsys):
    path = write_xlsx(tmp_path / "a.xlsx", rows_ok())
    call_command("referrals", str(path), "--json")
    report = json.loads(capsys.readouterr().out)
    assert (report["to_import"], report["written"], len(report["imported"])) == (3, True, 3)
    assert {c.created_by_id for c in referrals()} == {None}


def test_the_command_dry_run_lists_problems_and_writes_nothing(world, tmp_path, capsys):
    call_command("referrals", str(write_xlsx(tmp_path / "a.xlsx", bad_rows())), "--dry-run")
    out = capsys.readouterr().out
    assert "数据行 4，可导入 3" in out
    assert "拒绝 第6行 [诉求内容] required: 诉求内容为空" in out
    assert not HelpRequest.objects.exists()


def test_the_command_fails_when_a_row_is_rejected_without_partial(world, tmp_path):
    with pytest.raises(SystemExit) as exited:
        call_command("referrals", str(write_xlsx(tmp_path / "a.xlsx", bad_rows())))
    assert exited.value.code == 1
    assert not HelpRequest.objects.exists()


def test_the_command_refuses_a_missing_file(world, tmp_path):
    with pytest.raises(CommandError, match="文件不存在"):
        call_command("referrals", str(tmp_path / "none.xlsx"))


def test_a_file_longer_than_a_batch_is_refused_as_a_whole(world, tmp_path, monkeypatch):
    from caregrid.cases.referrals import importer
    from caregrid.people.ledger.reader import LedgerFileError

    monkeypatch.setattr(importer, "MAX_ROWS", 2)
    with pytest.raises(LedgerFileError, match="文件超过2行，请拆分后分批导入"):
        check_file(write_xlsx(tmp_path / "a.xlsx", rows_ok()))
