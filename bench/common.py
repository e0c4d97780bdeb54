"""Helpers shared by the benchmarks: a throwaway database with the real schema, timing, percentiles,
peak memory, a printed table and the closing JSON line.

A benchmark script calls `setup_django()` before importing anything from caregrid; the database is a
fresh SQLite file in a temporary directory (or BENCH_DATABASE_URL, e.g. a PostgreSQL database to
benchmark against), migrated, and removed at exit.
"""

import atexit
import json
import math
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(*, migrate: bool = True, keep: bool = False) -> Path:
    """Point caregrid at a temporary var/ directory and database, set Django up, migrate.

    Returns the temporary directory (removed at exit unless `keep`)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    tmp = Path(tempfile.mkdtemp(prefix="caregrid-bench-"))
    if not keep:
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    (tmp / "static").mkdir()  # STATIC_ROOT: served from the finders, but whitenoise wants it to exist
    os.environ["CAREGRID_VAR"] = str(tmp)
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caregrid.settings")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
    return tmp


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0–100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def timed(fn: Callable[[], object], *, repeat: int, warmup: int = 2) -> tuple[list[float], object]:
    """Call `fn` warmup + repeat times; the durations in milliseconds of the timed calls, and the last result."""
    result = None
    for _ in range(warmup):
        result = fn()
    durations = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        durations.append((time.perf_counter() - started) * 1000)
    return durations, result


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def print_table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, title: str = "") -> None:
    """A plain aligned text table on stdout (numbers right-aligned)."""
    rows = [[_cell(v) for v in row] for row in rows]
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headers)]
    if title:
        print(title)
    print("  ".join(_pad(h, w, False) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(_pad(v, w, _is_number(v)) for v, w in zip(row, widths, strict=True)))
    sys.stdout.flush()


def emit_json(figures: dict) -> None:
    """The benchmark's last line: one JSON object of its figures (collected by `caregrid bench`)."""
    print(json.dumps(figures, ensure_ascii=False, sort_keys=True), flush=True)


def rows_argument(parser, default: int) -> None:
    parser.add_argument("--rows", type=int, default=default, help=f"size of the benchmark (default {default:,})")


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _is_number(text: str) -> bool:
    return text.replace(",", "").replace(".", "", 1).replace("-", "", 1).replace("×", "").isdigit()


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap
