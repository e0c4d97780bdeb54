"""`caregrid export residents --place PATH [--format xlsx|csv] -o FILE`: the ledger in importable columns."""

import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from caregrid.people.ledger.actions import ledger_export_record
from caregrid.people.ledger.exporter import export_rows, write_csv, write_xlsx
from caregrid.people.models import Resident
from caregrid.places.tree import find_by_names, split_names, under


class Command(BaseCommand):
    help = "Export the residents under a place to xlsx or csv (full ID and phone numbers; audited)"

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["residents"])
        parser.add_argument("--place", required=True, help='a path of names, "区/街道/社区"')
        parser.add_argument("--format", choices=["xlsx", "csv"], default=None)
        parser.add_argument("-o", "--output", required=True)

    def handle(self, *args, what, place, format, output, **options):
        names = split_names(place)
        target = find_by_names(names) if names else None
        if target is None:
            raise CommandError(f"找不到地点：{place}")
        out = Path(output)
        fmt = format or ("csv" if out.suffix.lower() == ".csv" else "xlsx")
        field = "grid_path" if target.kind == "grid" else "place_path"
        qs = Resident.objects.filter(under(target.path, field)).order_by("place_path", "id")
        rows = export_rows(qs)
        count = write_csv(rows, out) if fmt == "csv" else write_xlsx(rows, out, title=f"居民台账 {'/'.join(names)}")
        ledger_export_record(
            actor=f"cli:{getpass.getuser()}", place=target, filters={"place": "/".join(names)}, rows=count, fmt=fmt
        )
        self.stdout.write(f"已导出 {count} 人到 {out}")
