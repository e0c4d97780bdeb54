"""Resident list page and API at district scale: p50/p95 for a community and the whole district.

Seeds a synthetic district (`--rows` residents, 1,000,000 by default) into a throwaway SQLite
database, signs in as a district admin (pages) and uses an API token (API), then times each case
`--repeat` times in-process with Django's test client. Target: p50 < 100 ms at 1M residents.
An endpoint answering anything but 200 is reported in the table, not timed.
"""

import argparse
import json
import time
from collections import Counter

from common import emit_json, peak_rss_mib, percentile, print_table, rows_argument, setup_django, timed

TARGET_P50_MS = 100.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    rows_argument(parser, 1_000_000)
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per case (default 30)")
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args()

    setup_django()
    from django.test import Client

    from caregrid.accounts.actions import api_token_create, user_create
    from caregrid.accounts.models import Role
    from caregrid.people.models import Category, Resident
    from caregrid.people.synthetic import district_seed
    from caregrid.places.models import Place, PlaceKind, ZoneStatus

    started = time.perf_counter()
    result = district_seed(actor="bench", residents=args.rows, seed=args.seed)
    seed_seconds = time.perf_counter() - started
    print(
        f"seeded {args.rows:,} residents ({result.priority:,} priority, {sum(result.places.values()):,} places) "
        f"in {seed_seconds:.1f} s = {args.rows / seed_seconds:,.0f} residents/s",
        flush=True,
    )

    district = result.district
    admin = user_create(
        actor="bench",
        username="bench_admin",
        password="bench-admin-password",
        role=Role.DISTRICT_ADMIN,
        place=district,
        check_password=False,
    )
    _token, key = api_token_create(actor=admin, user=admin, name="bench")
    # The community of median size: neither the smallest nor the largest.
    communities = list(Place.objects.filter(kind=PlaceKind.COMMUNITY).order_by("id"))
    community = communities[len(communities) // 2]
    community_size = Resident.objects.filter(place_path__startswith=community.path).count()
    # A name prefix as a hotline operator types it: the commonest surname and a common first character.
    sample = Resident.objects.order_by("id").values_list("name", flat=True)[:5000]
    surname = Counter(name[:1] for name in sample).most_common(1)[0][0]
    prefix = surname + "秀"
    category = Category.objects.get(code="elderly_alone")

    page = Client()
    page.force_login(admin)
    api = Client(headers={"Authorization": f"Bearer {key}"})
    cid = community.pk
    cases = [
        ("page: community", page, f"/residents/?place={cid}"),
        ("page: community, page 2", page, f"/residents/?place={cid}&page=2"),
        ("page: district", page, "/residents/"),
        ("page: district, page 2", page, "/residents/?page=2"),
        (f"page: name prefix “{prefix}”", page, f"/residents/?q={prefix}"),
        ("page: category elderly_alone", page, f"/residents/?category={category.code}"),
        ("page: community + category", page, f"/residents/?place={cid}&category={category.code}"),
        ("page: sealed zone", page, f"/residents/?zone={ZoneStatus.SEALED}"),
        ("api: community", api, f"/api/v1/residents?place={cid}"),
        ("api: community, page 2", api, f"/api/v1/residents?place={cid}&page=2"),
        ("api: district", api, "/api/v1/residents"),
        ("api: district, page 2", api, "/api/v1/residents?page=2"),
        (f"api: name prefix “{prefix}”", api, f"/api/v1/residents?q={prefix}"),
        ("api: category elderly_alone", api, f"/api/v1/residents?category={category.code}"),
        ("api: community + category", api, f"/api/v1/residents?place={cid}&category={category.code}"),
        ("api: sealed zone", api, f"/api/v1/residents?zone={ZoneStatus.SEALED}"),
    ]
    print(
        f"community {community.name} (id {cid}): {community_size:,} residents; "
        f"{args.repeat} timed requests per case after 2 warm-up requests",
        flush=True,
    )

    table, figures = [], {}
    for label, client, url in cases:
        first = client.get(url)
        if first.status_code != 200:
            table.append((label, first.status_code, float("nan"), float("nan"), "not timed", len(first.content), url))
            figures[label] = {"status": first.status_code, "url": url}
            continue
        durations, response = timed(lambda c=client, u=url: c.get(u), repeat=args.repeat, warmup=1)
        p50, p95 = percentile(durations, 50), percentile(durations, 95)
        table.append((label, response.status_code, p50, p95, f"{p50 / TARGET_P50_MS:.2f}", len(response.content), url))
        figures[label] = {
            "status": response.status_code,
            "p50_ms": round(p50, 1),
            "p95_ms": round(p95, 1),
            "items": _items(response),
        }

    print()
    print_table(
        ["case", "HTTP", "p50 ms", "p95 ms", "p50/target", "bytes", "url"],
        table,
        title=f"resident list at {args.rows:,} residents — target p50 < {TARGET_P50_MS:.0f} ms (p50/target ≤ 1 meets)",
    )
    timed_cases = [f for f in figures.values() if "p50_ms" in f]
    emit_json(
        {
            "bench": "list_pages",
            "rows": args.rows,
            "seed_seconds": round(seed_seconds, 1),
            "seed_rows_per_s": round(args.rows / seed_seconds),
            "target_p50_ms": TARGET_P50_MS,
            "cases": figures,
            "worst_p50_ms": max((f["p50_ms"] for f in timed_cases), default=None),
            "all_met": bool(timed_cases)
            and len(timed_cases) == len(figures)
            and all(f["p50_ms"] < TARGET_P50_MS for f in timed_cases),
            "peak_rss_mib": round(peak_rss_mib()),
        }
    )


def _items(response) -> int | None:
    """How many residents an API answer carried (None for pages or unknown shapes)."""
    if not response.get("Content-Type", "").startswith("application/json"):
        return None
    data = json.loads(response.content)
    if isinstance(data, list):
        return len(data)
    for key in ("items", "results", "residents", "data"):
        if isinstance(data, dict) and isinstance(data.get(key), list):
            return len(data[key])
    return None


if __name__ == "__main__":
    main()
