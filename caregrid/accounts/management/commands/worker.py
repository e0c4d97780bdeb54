"""`caregrid worker`: runs queued background jobs (imports, exports) from the database queue, and enqueues
the periodic sweeps listed in settings.CAREGRID_PERIODIC_TASKS on their schedule."""

import logging
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


class Scheduler(threading.Thread):
    """Enqueues each periodic task every `seconds` (the first run at start-up). The tasks are idempotent,
    so a second worker enqueuing the same sweep does no harm."""

    def __init__(self, entries: list[tuple[str, float]]):
        super().__init__(name="caregrid-scheduler", daemon=True)
        self.entries = [(import_string(path), float(seconds)) for path, seconds in entries]
        self.stopping = threading.Event()
        self.next_run = [0.0] * len(self.entries)

    def tick(self, now: float) -> list[str]:
        """Enqueue every task whose time has come; the names of those enqueued."""
        enqueued = []
        for i, (task, seconds) in enumerate(self.entries):
            if now >= self.next_run[i]:
                self.next_run[i] = now + seconds
                try:
                    task.enqueue()
                    enqueued.append(task.name)
                except Exception:
                    log.exception("could not enqueue %s", task.name)
        return enqueued

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.tick(time.monotonic())
            finally:
                close_old_connections()  # this thread's own connection, like a request's
            self.stopping.wait(1.0)


class Command(BaseCommand):
    help = "Run the background worker (queued jobs and periodic sweeps)"

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls when idle")
        parser.add_argument("--no-schedule", action="store_true", help="do not enqueue the periodic sweeps")

    def handle(self, *args, interval, no_schedule, **options):
        scheduler = None
        if not no_schedule and settings.CAREGRID_PERIODIC_TASKS:
            scheduler = Scheduler(settings.CAREGRID_PERIODIC_TASKS)
            scheduler.start()
        try:
            call_command("db_worker", interval=interval, queue_name="default", reload=False)
        finally:
            if scheduler is not None:
                scheduler.stopping.set()
