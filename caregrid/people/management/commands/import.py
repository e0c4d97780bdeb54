"""`caregrid import residents FILE --into "区/街道/社区"`: import a ledger file from the command line."""

import getpass
import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from caregrid.people.ledger.actions import ledger_import
from caregrid.people.ledger.reader import LedgerFileError
from caregrid.places.tree import split_names


class Command(BaseCommand):
    help = "Import a residents ledger (xlsx/xls/ods/csv) into a community"

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["residents"])
        parser.add_argument("file")
        parser.add_argument("--into", required=True, help='the community as a path of names, "区/街道/社区"')
        parser.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
        parser.add_argument("--partial", action="store_true", help="import the valid rows even if some are rejected")
        parser.add_argument("--json", action="store_true", help="print the report as one JSON object")

    def handle(self, *args, what, file, into, dry_run, partial, json: bool, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"文件不存在：{file}")
        try:
            report = ledger_import(
                actor=f"cli:{getpass.getuser()}",
                path=path,
                into_names=split_names(into),
                file_name=path.name,
                partial=partial,
                dry_run=dry_run,
            )
        except LedgerFileError as e:
            raise CommandError(str(e)) from None
        except ValidationError as e:
            raise CommandError("；".join(m for msgs in e.message_dict.values() for m in msgs)) from None
        if json:
            self.stdout.write(_json_dumps(report.as_dict()))
        else:
            self._print(report, dry_run=dry_run, partial=partial)
        if report.rejected and not partial and not dry_run:
            raise SystemExit(1)

    def _print(self, report, *, dry_run: bool, partial: bool) -> None:
        out = self.stdout
        out.write(
            f"数据行 {report.rows}，新增 {report.imported}，更新 {report.updated}，"
            f"合并重复 {report.merged_duplicates}，"
            f"拒绝 {len(report.rejected)}，提醒 {len(report.warnings)}"
        )
        for label, problems in (("拒绝", report.rejected), ("提醒", report.warnings)):
            for p in problems:
                out.write(f"  {label} 第{p.row}行 [{p.column}] {p.code}: {p.message}")
        if dry_run:
            out.write("试运行：未写入任何数据。")
        elif report.rejected and not partial:
            out.write(self.style.ERROR("有被拒绝的行，全部未导入；改正后重试，或加 --partial 只导入无误的行。"))
        else:
            out.write(self.style.SUCCESS("导入完成。"))


def _json_dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False)
