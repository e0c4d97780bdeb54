"""`caregrid worker`: runs queued background jobs (imports, exports) from the database queue."""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the background worker (queued jobs)"

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls when idle")

    def handle(self, *args, interval, **options):
        call_command("db_worker", interval=interval, queue_name="default", reload=False)
