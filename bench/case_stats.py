"""Help-request statistics for a day of `--rows` requests (100,000 by default) spread over a synthetic district.

Seeds the place tree with `caregrid seed`'s generator (a small resident count: only the households matter),
writes the day's requests straight into the table (channels, categories, urgencies, dispositions, statuses
and timings drawn at random, consistent with each other), then times `case_stats` for the district, a
community and a grid, a week at the district, the Excel workbook and the page itself (in-process, Django's
test client). The baseline, timed in the same run, is one plain fetch of the day's rows with the columns
the medians need. Target: the district's day page < 2,000 ms at 100,000 requests.
"""

import argparse
import datetime as dt
import random
import time

from common import emit_json, peak_rss_mib, percentile, print_table, rows_argument, setup_django, timed

TARGET_PAGE_MS = 2000.0

CHANNELS = [("hotline", 60), ("public_form", 15), ("grid_report", 15), ("referral_12345", 8), ("open311", 2)]
URGENCIES = [("urgent", 10), ("high", 30), ("normal", 60)]
# How a request was first handled, and where it stands at the end of the day.
OUTCOMES = [
    ("answered", "answered", 55),
    ("coordinated", "coordinating", 8),
    ("coordinated", "resolved", 10),
    ("dispatched", "dispatched", 6),
    ("dispatched", "in_progress", 8),
    ("dispatched", "resolved", 5),
    ("", "received", 6),
    ("", "cancelled", 2),
]


def pick(rng: random.Random, weighted):
    return rng.choices(weighted, weights=[w[-1] for w in weighted])[0]


def seed_requests(rows: int, day: dt.date, rng: random.Random) -> int:
    from django.utils import timezone

    from caregrid.cases.models import DEFAULT_DEADLINES, HelpRequest
    from caregrid.cases.taxonomy import CaseCategory
    from caregrid.places.models import Place, PlaceKind

    households = list(Place.objects.filter(kind=PlaceKind.HOUSEHOLD).values_list("id", "path", "grid_path"))
    district_id = Place.objects.get(kind=PlaceKind.DISTRICT).pk
    midnight = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    categories = CaseCategory.values
    batch = []
    # Requests are written as they arrive, so rows of a day lie together in the table, as in real use.
    arrivals = sorted(rng.randrange(86_400) for _ in range(rows))
    for i, second in enumerate(arrivals):
        received = midnight + dt.timedelta(seconds=second)
        urgency = pick(rng, URGENCIES)[0]
        first, resolve = (dt.timedelta(minutes=m) for m in DEFAULT_DEADLINES[urgency])
        disposition, status, _w = pick(rng, OUTCOMES)
        place_id, path, grid_path = rng.choice(households)
        contact = resolved = None
        if status == "answered":
            contact = resolved = received + dt.timedelta(seconds=rng.randrange(60, 600))
        elif status in ("coordinating", "in_progress", "resolved"):
            contact = received + dt.timedelta(minutes=rng.randrange(5, 240))
            if status == "resolved":
                resolved = contact + dt.timedelta(minutes=rng.randrange(10, 600))
        batch.append(
            HelpRequest(
                district_id=district_id,
                number=f"{day:%Y%m%d}-{i + 1:06d}",
                tracking_code=f"B{i:09d}",
                channel=pick(rng, CHANNELS)[0],
                category=rng.choice(categories),
                urgency=urgency,
                description="bench",
                place_id=place_id,
                place_path=path,
                grid_path=grid_path,
                status=status,
                disposition=disposition,
                received_at=received,
                first_contact_due=received + first,
                resolution_due=received + resolve,
                first_contact_at=contact,
                resolved_at=resolved,
            )
        )
        if len(batch) == 5000:
            HelpRequest.objects.bulk_create(batch)
            batch = []
    HelpRequest.objects.bulk_create(batch)
    return len(households)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    rows_argument(parser, 100_000)
    parser.add_argument("--residents", type=int, default=20_000, help="residents seeded for the place tree")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (default 5)")
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args()

    setup_django()
    from django.test import Client
    from django.utils import timezone

    from caregrid.accounts.actions import user_create
    from caregrid.accounts.models import Role
    from caregrid.cases.models import HelpRequest
    from caregrid.cases.stats.exports import stats_tables, stats_workbook
    from caregrid.cases.stats.queries import Period, case_stats
    from caregrid.people.synthetic import district_seed
    from caregrid.places.models import Place, PlaceKind

    rng = random.Random(args.seed)
    day = timezone.localdate() - dt.timedelta(days=1)
    result = district_seed(actor="bench", residents=args.residents, seed=args.seed)
    started = time.perf_counter()
    households = seed_requests(args.rows, day, rng)
    print(
        f"seeded {args.rows:,} requests over {households:,} households in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    district = result.district
    communities = list(Place.objects.filter(kind=PlaceKind.COMMUNITY).order_by("id"))
    community = communities[len(communities) // 2]
    grid = Place.objects.filter(kind=PlaceKind.GRID, parent=community).order_by("id").first()
    admin = user_create(
        actor="bench",
        username="bench_admin",
        password="bench-admin-password",
        role=Role.DISTRICT_ADMIN,
        place=district,
        check_password=False,
    )
    grid_worker = user_create(
        actor="bench",
        username="bench_grid",
        password="bench-grid-password",
        role=Role.GRID_WORKER,
        place=grid,
        check_password=False,
    )
    period = Period.day(day)
    page = Client()
    page.force_login(admin)

    def baseline():
        qs = HelpRequest.objects.filter(received_at__gte=period.since, received_at__lt=period.until)
        return sum(1 for _ in qs.values_list("received_at", "first_contact_at", "resolved_at", "urgency").iterator())

    base_ms, fetched = timed(baseline, repeat=args.repeat, warmup=1)
    base_p50 = percentile(base_ms, 50)
    stats = case_stats(admin, period=period)
    tables = stats_tables(stats)
    cases = [
        ("stats: district, day", lambda: case_stats(admin, period=period)),
        ("stats: community, day", lambda: case_stats(admin, period=period, place=community)),
        ("stats: grid worker, day", lambda: case_stats(grid_worker, period=period)),
        ("stats: district, week", lambda: case_stats(admin, period=Period.week(day))),
        ("workbook: district, day", lambda: stats_workbook(stats, tables)),
        ("page: district, day", lambda: page.get(f"/cases/stats/?date={day.isoformat()}")),
        ("export: district, day", lambda: page.get(f"/cases/stats/export/?date={day.isoformat()}")),
    ]
    table, figures = [("baseline: fetch the day's rows", base_p50, percentile(base_ms, 95), 1.0)], {}
    for label, fn in cases:
        durations, _result = timed(fn, repeat=args.repeat, warmup=1)
        p50, p95 = percentile(durations, 50), percentile(durations, 95)
        table.append((label, p50, p95, p50 / base_p50))
        figures[label] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "x_baseline": round(p50 / base_p50, 2)}
    print()
    print_table(
        ["case", "p50 ms", "p95 ms", "× baseline"],
        table,
        title=f"help-request statistics, {args.rows:,} requests in a day — target page p50 < {TARGET_PAGE_MS:.0f} ms",
    )
    page_p50 = figures["page: district, day"]["p50_ms"]
    medians = f"{stats.overall.first_contact} / {stats.overall.resolution}"
    print(f"district day: {stats.hotline_text}; medians to first contact / resolution {medians}")
    emit_json(
        {
            "bench": "case_stats",
            "rows": args.rows,
            "fetched": fetched,
            "baseline_p50_ms": round(base_p50, 1),
            "cases": figures,
            "target_page_ms": TARGET_PAGE_MS,
            "page_over_target": round(page_p50 / TARGET_PAGE_MS, 2),
            "met": page_p50 < TARGET_PAGE_MS,
            "peak_rss_mib": round(peak_rss_mib()),
        }
    )


if __name__ == "__main__":
    main()
