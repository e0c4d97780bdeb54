"""`caregrid seed`: load a synthetic district (demo, tests, benchmarks); deterministic per seed."""

import datetime as dt
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from caregrid.people.models import Resident
from caregrid.people.synthetic import district_seed


class Command(BaseCommand):
    help = "Generate a synthetic district: residents, households, grids, categories and zones (same seed, same data)"

    def add_arguments(self, parser):
        parser.add_argument("--residents", type=int, required=True, help="how many residents to generate")
        parser.add_argument("--seed", type=int, default=2022, help="random seed (default 2022)")
        parser.add_argument("--district", default="崇川区", help="name of the district to create (default 崇川区)")
        parser.add_argument(
            "--as-of", type=dt.date.fromisoformat, default=None, help="the day ages and zones refer to (default today)"
        )
        parser.add_argument("--append", action="store_true", help="add a district to a database that has residents")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing (and succeed) when the database already has residents"
        )

    def handle(self, *args, residents, seed, district, as_of, append, if_empty, **options):
        verbosity = options.get("verbosity", 1)
        if if_empty and not append:
            existing = Resident.objects.count()
            if existing:
                if verbosity >= 1:
                    self.stdout.write(f"数据库中已有 {existing:,} 名居民，沿用现有数据（database has residents; kept）")
                return

        def progress(done: int, total: int) -> None:
            if verbosity >= 1 and (done == total or done % 100_000 < 20_000):
                self.stdout.write(f"  {done:,} / {total:,}")
                sys.stdout.flush()

        try:
            result = district_seed(
                actor="seed",
                residents=residents,
                seed=seed,
                district_name=district,
                as_of=as_of,
                append=append,
                progress=progress,
            )
        except ValidationError as e:
            raise CommandError("；".join(m for messages in e.message_dict.values() for m in messages)) from None
        if verbosity >= 1:
            places = result.places
            self.stdout.write(
                self.style.SUCCESS(
                    f"{result.district.name}: {result.residents:,} 名居民（重点人员 {result.priority:,}），"
                    f"{places['subdistrict']} 个街道、{places['community']} 个社区、{places['grid']} 个网格、"
                    f"{places['compound']} 个小区、{places['building']:,} 幢楼、{places['household']:,} 户，"
                    f"{len(result.zones)} 处区域状态；用时 {result.seconds:.1f} 秒"
                )
            )
