"""`caregrid bench [NAMES…] [--quick]`: run the benchmarks in bench/, each in its own process.

Every bench/*.py except common.py is a benchmark that prints a table and, last, one JSON line of its
figures. Their output is streamed as it comes; the command ends with one JSON line collecting the
last JSON line of each (or its exit status when it failed).
"""

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

QUICK_ROWS = 20_000


def bench_dir() -> Path:
    return Path(settings.BASE_DIR) / "bench"


def available() -> list[str]:
    return sorted(p.stem for p in bench_dir().glob("*.py") if p.stem != "common" and not p.stem.startswith("_"))


class Command(BaseCommand):
    help = "Run the benchmarks in bench/ (all, or those named) and print one JSON line of their figures"

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="benchmarks to run, e.g. list_pages import_csv (default: all)")
        parser.add_argument("--quick", action="store_true", help=f"small sizes (--rows {QUICK_ROWS:,}) for a smoke run")
        parser.add_argument("--rows", type=int, help="pass --rows N to every benchmark")

    def handle(self, *args, names, quick, rows, **options):
        known = available()
        unknown = [n for n in names if n.removesuffix(".py") not in known]
        if unknown:
            raise CommandError(f"没有这个基准测试：{'、'.join(unknown)}（可用：{'、'.join(known)}）")
        selected = [n.removesuffix(".py") for n in names] or known
        extra = ["--rows", str(rows)] if rows else ["--rows", str(QUICK_ROWS)] if quick else []
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(settings.BASE_DIR), env.get("PYTHONPATH", "")) if p)
        # Each benchmark makes its own throwaway database; never the one configured for this command.
        env.pop("DATABASE_URL", None)
        results: dict[str, object] = {}
        failed = []
        for name in selected:
            self.stdout.write(self.style.MIGRATE_HEADING(f"== {name} {' '.join(extra)}".rstrip()))
            self.stdout.flush()
            started = time.perf_counter()
            code, last_json = self._run([sys.executable, str(bench_dir() / f"{name}.py"), *extra], env)
            seconds = round(time.perf_counter() - started, 1)
            if code != 0:
                failed.append(name)
                results[name] = {"error": f"exit status {code}", "seconds": seconds}
            elif last_json is None:
                failed.append(name)
                results[name] = {"error": "no JSON line in the output", "seconds": seconds}
            else:
                results[name] = last_json
        self.stdout.write(json.dumps({"bench": results, "quick": quick}, ensure_ascii=False, sort_keys=True))
        if failed:
            raise CommandError(f"基准测试失败：{'、'.join(failed)}")

    def _run(self, argv: list[str], env: dict) -> tuple[int, object]:
        """Run one benchmark, echoing its output line by line; (exit status, its last JSON object)."""
        last_json = None
        with subprocess.Popen(
            argv,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        ) as proc:
            for line in proc.stdout:
                self.stdout.write(line.rstrip("\n"))
                self.stdout.flush()
                text = line.strip()
                if text.startswith("{"):
                    with contextlib.suppress(ValueError):
                        last_json = json.loads(text)
            code = proc.wait()
        return code, last_json
