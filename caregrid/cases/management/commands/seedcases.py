"""`caregrid seedcases`: a week of demo help requests over the seeded district; deterministic per seed."""

import sys

from django.core.management.base import BaseCommand, CommandError

from caregrid.cases.models import HelpRequest
from caregrid.cases.synthetic import cases_seed, seeded_district


class Command(BaseCommand):
    help = (
        "Fill the seeded district with a lockdown week of help requests, taken through the real workflow "
        "(run caregrid seed first, and caregrid demousers for errands and named handlers)"
    )

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=600, help="how many requests (default 600)")
        parser.add_argument("--days", type=int, default=7, help="over how many days up to now (default 7)")
        parser.add_argument("--seed", type=int, default=2022, help="random seed (default 2022)")
        parser.add_argument("--district", default="", help="district name (default: the first district)")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing (and succeed) when there are help requests already"
        )

    def handle(self, *args, count, days, seed, district, if_empty, **options):
        verbosity = options.get("verbosity", 1)
        if if_empty:
            existing = HelpRequest.objects.count()
            if existing:
                if verbosity >= 1:
                    self.stdout.write(f"已有 {existing:,} 件诉求，沿用现有数据（help requests exist; kept）")
                return
        target = seeded_district(district)
        if target is None:
            raise CommandError(
                "找不到区；请先运行 caregrid seed --residents 20000（no district yet: run caregrid seed）"
            )

        def progress(done: int, total: int) -> None:
            if verbosity >= 1:
                self.stdout.write(f"  {done:,} / {total:,}")
                sys.stdout.flush()

        try:
            result = cases_seed(
                actor="seedcases", district=target, count=count, days=days, seed=seed, progress=progress
            )
        except ValueError as e:
            raise CommandError(str(e)) from None
        if verbosity >= 1:
            d = result.dispositions
            self.stdout.write(
                self.style.SUCCESS(
                    f"{target.name}: {result.created:,} 件诉求（{days} 天），即刻答复 {d['answered']}、"
                    f"协调解决 {d['coordinated']}、交办处置 {d['dispatched']}；在办 {result.open}，"
                    f"其中超时 {result.overdue}；督办 {result.escalations} 次，任务 {result.errands} 件；"
                    f"用时 {result.seconds:.1f} 秒"
                )
            )
