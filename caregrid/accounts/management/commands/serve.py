"""`caregrid serve`: the web server (gunicorn, static files through whitenoise)."""

import os

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve caregrid over HTTP with gunicorn"

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))

    def handle(self, *args, host, port, workers, **options):
        from gunicorn.app.wsgiapp import WSGIApplication

        argv = [
            "gunicorn",
            "caregrid.wsgi:application",
            f"--bind={host}:{port}",
            f"--workers={workers}",
            "--threads=4",
            "--timeout=120",
            "--graceful-timeout=5",
            "--access-logfile=-" if os.environ.get("ACCESS_LOG") else "--error-logfile=-",
        ]
        import sys

        sys.argv = argv
        WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").run()
