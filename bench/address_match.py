"""Address matching at district scale: free texts → households, p50/p95 and how often the right place wins.

Seeds a synthetic district of `--rows` households (about 2.7 residents each, so 1,000,000 households are
2.7M residents) into a throwaway SQLite database with `caregrid seed`'s generator, then builds
`--texts` help-request texts from real households of that district, written the ways callers write
them (full, 号楼 and 2-502, 6-2-502, Chinese numerals, floors, Traditional characters, full-width digits
and spaces, the compound without its ending or with another one, building only, compound only), and
times `match_address` on each within the district (as the hotline does) and, for a share of them, within
the household's community (as a community worker does). Target: p50 < 5 ms at 1M households.

The seeded compounds draw their names from a small vocabulary, so at full size most names recur in
several communities with the same building, unit and room numbers: such texts are truly ambiguous,
which the table shows beside how often the text's own place came first.
"""

import argparse
import random
import time
from collections import defaultdict

from common import emit_json, peak_rss_mib, percentile, print_table, rows_argument, setup_django, timed

TARGET_P50_MS = 5.0
PEOPLE_PER_HOUSEHOLD = 2.72  # residents per household in the seeded district (2.6M → 958k households)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    rows_argument(parser, 1_000_000)
    parser.add_argument("--texts", type=int, default=3000, help="texts matched (default 3,000)")
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args()

    setup_django()
    import opencc

    from caregrid.people.synthetic import district_seed
    from caregrid.people.synthetic_words import cn_number
    from caregrid.places import address
    from caregrid.places.models import Place, PlaceKind

    residents = max(1, round(args.rows * PEOPLE_PER_HOUSEHOLD))
    started = time.perf_counter()
    result = district_seed(actor="bench", residents=residents, seed=args.seed)
    seed_seconds = time.perf_counter() - started
    households = result.places[PlaceKind.HOUSEHOLD]
    compounds = result.places[PlaceKind.COMPOUND]
    print(
        f"seeded {residents:,} residents in {households:,} households, {compounds:,} compounds, "
        f"{sum(result.places.values()):,} places in {seed_seconds:.1f} s",
        flush=True,
    )

    rng = random.Random(args.seed)
    sample = _sample_households(rng, min(args.texts, households), Place, PlaceKind)
    chains = Place.objects.in_bulk({i for h in sample for i in h.ancestor_ids})
    s2t = opencc.OpenCC("s2t")
    cases = []
    for n, household in enumerate(sample):
        chain = [chains[i] for i in household.ancestor_ids]
        form = FORMS[n % len(FORMS)]
        text, expected = _text(form, chain, cn_number=cn_number, s2t=s2t.convert)
        cases.append((form, text, expected, chain[0], chain[2]))

    # The compound index: built on the first match after start-up, then only checked per match.
    address.forget_compound_index()
    cold_started = time.perf_counter()
    address.match_address(cases[0][1], within=cases[0][3])
    cold_ms = (time.perf_counter() - cold_started) * 1000
    check_ms, _ = timed(address._top_place, repeat=200)
    recount_ms, _ = timed(address._signature, repeat=50)

    by_form: dict[str, list] = defaultdict(list)
    within_community = []
    for k, (form, text, expected, district, community) in enumerate(cases):
        began = time.perf_counter()
        match = address.match_address(text, within=district)
        took = (time.perf_counter() - began) * 1000
        by_form[form].append((took, _outcome(match, expected)))
        if k % 4 == 0:
            began = time.perf_counter()
            match = address.match_address(text, within=community)
            took = (time.perf_counter() - began) * 1000
            within_community.append((took, _outcome(match, expected)))

    table = []
    figures: dict[str, dict] = {}
    for form in FORMS:
        rows = by_form[form]
        table.append(_row(form, rows))
        figures[form] = _figures(rows)
    table.append(_row("all, within the district", [(d, o) for rows in by_form.values() for d, o in rows]))
    table.append(_row("all, within the community", within_community))
    print()
    print_table(
        ["texts", "n", "p50 ms", "p95 ms", "p50/target", "top right %", "tied best %", "in 3 %", "shared best %"],
        table,
        title=(
            f"address match at {households:,} households, {compounds:,} compounds — target p50 < "
            f"{TARGET_P50_MS:.0f} ms (p50/target ≤ 1 meets)"
        ),
    )
    print(
        "top right: the text's own place came first; tied best: it is among the candidates sharing the best "
        "score (namesake compounds hold the same building, unit and room numbers); in 3: among the three "
        "candidates; shared best: the best score was shared.\n"
        f"compound index built in {cold_ms:.1f} ms (first match after start); per match a highest-id check of "
        f"{percentile(check_ms, 50):.2f} ms; compounds recounted in {percentile(recount_ms, 50):.2f} ms when "
        "that id moves",
        flush=True,
    )
    everything = [(d, o) for rows in by_form.values() for d, o in rows]
    overall = _figures(everything)
    emit_json(
        {
            "bench": "address_match",
            "rows": args.rows,
            "households": households,
            "compounds": compounds,
            "residents": residents,
            "seed_seconds": round(seed_seconds, 1),
            "texts": len(cases),
            "target_p50_ms": TARGET_P50_MS,
            "p50_ms": overall["p50_ms"],
            "p95_ms": overall["p95_ms"],
            "top_right_pct": overall["top_right_pct"],
            "in_candidates_pct": overall["in_candidates_pct"],
            "right_or_tied_pct": overall["right_or_tied_pct"],
            "shared_best_pct": overall["shared_best_pct"],
            "within_community": _figures(within_community),
            "forms": figures,
            "index_build_ms": round(cold_ms, 1),
            "index_check_ms": round(percentile(check_ms, 50), 3),
            "index_recount_ms": round(percentile(recount_ms, 50), 3),
            "met": overall["p50_ms"] < TARGET_P50_MS,
            "peak_rss_mib": round(peak_rss_mib()),
        }
    )


FORMS = (
    "full",
    "号楼 and 2-502",
    "6-2-502",
    "Chinese numerals",
    "floor before room",
    "Traditional",
    "full-width, spaces",
    "stem, no unit",
    "another ending",
    "building only",
    "compound only",
)


def _sample_households(rng: random.Random, n: int, Place, PlaceKind) -> list:
    """`n` households drawn at random by id (ids are dense), without reading the whole table."""
    top = Place.objects.order_by("-id").values_list("id", flat=True).first()
    found: dict[int, object] = {}
    while len(found) < n:
        ids = [rng.randint(1, top) for _ in range(max(1000, 2 * n))]
        for place in Place.objects.filter(pk__in=ids, kind=PlaceKind.HOUSEHOLD):
            found.setdefault(place.pk, place)
    chosen = sorted(found)
    rng.shuffle(chosen)
    return [found[pk] for pk in chosen[:n]]


def _digits_cn(number: str) -> str:
    return "".join("〇一二三四五六七八九"[int(c)] for c in number)


def _text(form: str, chain: list, *, cn_number, s2t) -> tuple[str, int]:
    """A text naming this household (district, subdistrict, community, compound, building, [unit], room)
    as a caller might write it, and the id of the place it should match."""
    from caregrid.places.address import name_stem

    compound, building = chain[3], chain[4]
    unit = chain[5] if len(chain) == 7 else None
    household = chain[-1]
    name = compound.name
    b = building.name.removesuffix("幢")
    u = unit.name.removesuffix("单元") if unit else ""
    room = household.name
    floor = room[:-2]
    u_cn = cn_number(int(u)) if unit else ""
    with_unit = (lambda text: text) if unit else (lambda text: "")  # noqa: E731
    if form == "full":
        return f"{name}{b}幢{with_unit(f'{u}单元')}{room}室 独居老人没药了", household.pk
    if form == "号楼 and 2-502":
        return f"{name}{b}号楼{with_unit(f'{u}-')}{room} 需要送菜上门", household.pk
    if form == "6-2-502":
        return f"{name}{b}-{with_unit(f'{u}-')}{room}", household.pk
    if form == "Chinese numerals":
        return f"{name}{cn_number(int(b))}栋{with_unit(f'{u_cn}单元')}{_digits_cn(room)}室", household.pk
    if form == "floor before room":
        return f"{name}{b}幢{with_unit(f'{u}单元')}{cn_number(int(floor))}楼{room} 老人摔倒了", household.pk
    if form == "Traditional":
        return s2t(f"{name}{b}幢{with_unit(f'{u}单元')}{room}室 老人行动不便，需要帮助"), household.pk
    if form == "full-width, spaces":
        spaced = f"{name} {b} 幢 {with_unit(f'{u} 单元 ')}{room}"
        return spaced.translate({ord(c): 0xFF10 + int(c) for c in "0123456789"}), household.pk
    if form == "stem, no unit":
        return f"{name_stem(name)}{b}栋{room} 孤寡老人发烧", household.pk
    if form == "another ending":
        other = "小区" if not name.endswith("小区") else "花园"
        return f"{name_stem(name)}{other}{b}幢{with_unit(f'{u}单元')}{room}", household.pk
    if form == "building only":
        return f"{name}{b}幢停水了，楼里有老人", building.pk
    return f"{name}有位老人需要上门采样", compound.pk


def _outcome(match, expected: int) -> tuple[bool, bool, bool, bool]:
    """(right at the top, right among the candidates, right among those tied for best, best shared?)"""
    if match is None or not match.candidates:
        return False, False, False, False
    best = [c for c in match.candidates if c.confidence == match.candidates[0].confidence]
    return (
        match.place_id == expected,
        any(c.place_id == expected for c in match.candidates),
        any(c.place_id == expected for c in best),
        len(best) > 1,
    )


def _figures(rows: list) -> dict:
    durations = [d for d, _o in rows]
    n = len(rows) or 1
    return {
        "n": len(rows),
        "p50_ms": round(percentile(durations, 50), 2),
        "p95_ms": round(percentile(durations, 95), 2),
        "top_right_pct": round(100 * sum(1 for _d, o in rows if o[0]) / n, 1),
        "in_candidates_pct": round(100 * sum(1 for _d, o in rows if o[1]) / n, 1),
        "right_or_tied_pct": round(100 * sum(1 for _d, o in rows if o[2]) / n, 1),
        "shared_best_pct": round(100 * sum(1 for _d, o in rows if o[3]) / n, 1),
    }


def _row(label: str, rows: list) -> tuple:
    f = _figures(rows)
    return (
        label,
        f["n"],
        f["p50_ms"],
        f["p95_ms"],
        f"{f['p50_ms'] / TARGET_P50_MS:.2f}",
        round(f["top_right_pct"]),
        round(f["right_or_tied_pct"]),
        round(f["in_candidates_pct"]),
        round(f["shared_best_pct"]),
    )


if __name__ == "__main__":
    main()
