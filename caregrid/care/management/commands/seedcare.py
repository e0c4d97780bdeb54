"""`caregrid seedcare`: care teams, a week of care contacts and the day lists in the demo community, plus the
door-knocking and testing rounds; deterministic per seed."""

import sys

from django.core.management.base import BaseCommand, CommandError

from caregrid.care.models import CareAssignment, Contact
from caregrid.care.synthetic import care_seed
from caregrid.cases.synthetic import seeded_district


class Command(BaseCommand):
    help = (
        "Fill the demo community with care teams and the care contacts of the last days through the real "
        "actions, build the day lists and add a door-knocking and a testing round (run caregrid seed and "
        "caregrid demousers first)"
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7, help="how many days before today (default 7)")
        parser.add_argument("--seed", type=int, default=2022, help="random seed (default 2022)")
        parser.add_argument("--district", default="", help="district name (default: the first district)")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing (and succeed) when there are care contacts or care teams already",
        )

    def handle(self, *args, days, seed, district, if_empty, **options):
        verbosity = options.get("verbosity", 1)
        if if_empty:
            # Teams come first, so they mark a run too (today's round may not have started when it ran).
            contacts, assignments = Contact.objects.count(), CareAssignment.objects.count()
            if contacts or assignments:
                if verbosity >= 1:
                    self.stdout.write(
                        f"已有 {contacts:,} 条联系记录、{assignments:,} 条包联关系，沿用现有数据"
                        "（care contacts or teams exist; kept）"
                    )
                return
        target = seeded_district(district)
        if target is None:
            raise CommandError(
                "找不到区；请先运行 caregrid seed --residents 20000（no district yet: run caregrid seed）"
            )

        def progress(day, due: int, contacts: int) -> None:
            if verbosity >= 1:
                self.stdout.write(f"  {day:%m-%d}  应联系 {due:,} 人，联系 {contacts:,} 次")
                sys.stdout.flush()

        try:
            result = care_seed(actor="seedcare", district=target, days=days, seed=seed, progress=progress)
        except ValueError as e:
            raise CommandError(str(e)) from None
        if verbosity < 1:
            return
        o = result.outcomes
        rounds = (
            "、".join(r.name for r in (result.door_round, result.sampling_round) if r is not None)
            or "无（没有可开展行动的工作人员）"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{target.name}{result.community.name}: 包联 {result.assigned:,} 人次（{result.grids} 个网格），"
                f"网格长 {result.leaders} 名；{days} 天和今天应联系 {result.due:,} 人次，联系 {result.contacts:,} 次，"
                f"联系上 {o['reached']:,}、未联系上 {o['not_reached']}、拒绝 {o['refused']}，测体温 "
                f"{result.temperatures}；发现需求 {result.needs_help} 件，连续未联系上转上门 {result.home_visits} 件；"
                f"应联系名单 {result.days_built} 天（今天全区应联系 {result.due_today:,} 人）；{rounds}；"
                f"用时 {result.seconds:.1f} 秒"
            )
        )
        if days and not result.due_past:
            self.stdout.write(
                f"  前 {days} 天按当时的频次规则、区域状态和模式，社区里无人应联系（规则和模式从设立时起生效）"
                "（nothing was due on the earlier days under the rules and mode then in force）"
            )
