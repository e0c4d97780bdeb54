"""`caregrid referrals FILE [--partial] [--dry-run] [--json]`: import a batch of 12345 referrals."""

import getpass
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from caregrid.cases.referrals.importer import referrals_import
from caregrid.people.ledger.reader import LedgerFileError


class Command(BaseCommand):
    help = "Import a batch of 12345 hotline referrals (xlsx/xls/ods/csv) as help requests"

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
        parser.add_argument("--partial", action="store_true", help="import the valid rows even if some are rejected")
        parser.add_argument("--json", action="store_true", help="print the report as one JSON object")

    def handle(self, *args, file, dry_run, partial, json: bool, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"文件不存在：{file}")
        try:
            report = referrals_import(
                actor=f"cli:{getpass.getuser()}", path=path, file_name=path.name, partial=partial, dry_run=dry_run
            )
        except LedgerFileError as e:
            raise CommandError(str(e)) from None
        if json:
            self.stdout.write(_json_dumps(report.as_dict()))
        else:
            self._print(report, dry_run=dry_run, partial=partial)
        if report.rejected and not partial and not dry_run:
            raise SystemExit(1)

    def _print(self, report, *, dry_run: bool, partial: bool) -> None:
        out = self.stdout
        verb = "可导入" if dry_run else "已导入"
        out.write(
            f"数据行 {report.rows}，{verb} {report.to_import}，已导入过（跳过） {len(report.skipped)}，"
            f"拒绝 {len(report.rejected)}，提醒 {len(report.warnings)}"
        )
        for label, problems in (("拒绝", report.rejected), ("提醒", report.warnings)):
            for p in problems:
                out.write(f"  {label} 第{p.row}行 [{p.column}] {p.code}: {p.message}")
        for entry in report.imported:
            out.write(f"  导入 第{entry['row']}行 {entry['external_id']} → {entry['number']}")
        if dry_run:
            out.write("试运行：未写入任何数据。")
        elif report.rejected and not partial:
            out.write(self.style.ERROR("有被拒绝的行，全部未导入；改正后重试，或加 --partial 只导入无误的行。"))
        else:
            out.write(self.style.SUCCESS("导入完成。"))


def _json_dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False)
