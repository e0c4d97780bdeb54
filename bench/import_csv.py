"""Benchmark: import a generated CSV ledger of N residents (default 1,000,000) into a fresh SQLite file
database with the real schema, end to end (parse + validate + write), against a raw sqlite3.executemany
of the same resident rows into an equivalent table. Prints a table, then one JSON line of the figures.

    .venv/bin/python bench/import_csv.py --rows 1000000
"""

import argparse
import atexit
import csv
import json
import multiprocessing
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REGIONS = ["320602", "320611", "320612", "320621", "320623", "110101", "310101", "440106", "610102", "140105",
           "620502", "440703", "320106", "330106", "420106"]  # fmt: skip
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "秀英桂兰玉珍建国志强国华明德永福淑芬丽娟海燕春梅金凤文静子涵浩然宇轩欣怡思远俊杰晓东红霞雪梅立新庆华爱民振华"
TRADITIONAL_GIVEN = "國華東麗鳳強"
COMPOUND_WORDS = ["紫东", "和平", "文峰", "钟秀", "虹桥", "濠西", "观音山", "城东", "新城", "学田", "任港", "唐闸"]
COMPOUND_SUFFIX = ["花苑", "新村", "小区", "家园", "公寓", "名邸", "华府"]
CATEGORIES = ["独居老人", "空巢", "低保户", "特困", "高龄老人", "残疾人", "透析", "慢性病", "留守儿童", "孕妇",
              "行动不便", "精神病", "孤寡", "重度残疾"]  # fmt: skip
HEADER = ["序号", "姓名", "身份证号码", "手机号码", "所属网格", "小区", "楼栋", "单元", "房号", "人员类别", "备注"]
INTO = ["崇川区", "和平桥街道", "紫东社区"]


def make_id(rng: random.Random, seq: int) -> str:
    from stdnum.cn import ric

    year = rng.randint(1925, 2020)
    body = f"{rng.choice(REGIONS)}{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{seq % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """A realistic ledger: title row, Chinese names (some Traditional), float phones, categories with
    synonyms and mixed separators, addresses in columns; every ID valid and unique."""
    rng = random.Random(seed)
    compounds = [f"{w}{s}" for w in COMPOUND_WORDS for s in COMPOUND_SUFFIX]
    grids = [f"第{i}网格" for i in range(1, 41)]
    seen = set()
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["紫东社区重点人群台账（2022年）"])
        w.writerow(HEADER)
        for n in range(1, rows + 1):
            while True:
                number = make_id(rng, n)
                if number not in seen:
                    seen.add(number)
                    break
            given = "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
            if rng.random() < 0.02:
                given = rng.choice(TRADITIONAL_GIVEN) + given[:1]
            phone = f"1{rng.choice('3578')}{rng.randint(0, 999999999):09d}"
            roll = rng.random()
            if roll < 0.05:
                phone += ".0"
            elif roll < 0.06:
                phone = f"0513-8{rng.randint(0, 9999999):07d}"
            ci = rng.randrange(len(compounds))
            building = rng.randint(1, 30)
            cats = rng.sample(CATEGORIES, rng.choice((1, 1, 1, 2, 2, 3)))
            w.writerow(
                [
                    n,
                    rng.choice(SURNAMES) + given,
                    number,
                    phone,
                    grids[(ci * 3 + building // 10) % len(grids)],
                    compounds[ci],
                    f"{building}幢",
                    f"{rng.randint(1, 4)}单元",
                    f"{rng.randint(1, 18)}0{rng.randint(1, 4)}",
                    rng.choice(("、", "，", "/")).join(cats),
                    "",
                ]
            )
        w.writerow(["合计", f"{rows}人"])


def setup_django(var_dir: Path) -> None:
    os.environ["CAREGRID_VAR"] = str(var_dir)
    os.environ["DATABASE_URL"] = f"sqlite:///{var_dir / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caregrid.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    # Import on a fresh connection, as the worker does: migrating leaves SQLite's temporary database
    # open on this one, which keeps the bulk load from sorting its indexes in runs (people/bulk.py).
    connection.close()


def raw_baseline(db_file: Path, schema_db: Path, rows: list[tuple], out) -> None:
    """Time sqlite3.executemany of prepared resident rows into a table with the real table's DDL and indexes."""
    import sqlite3

    schema = sqlite3.connect(schema_db)
    ddl = [
        sql
        for (sql,) in schema.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'people_resident' AND sql IS NOT NULL ORDER BY type DESC"
        )
    ]
    schema.close()
    conn = sqlite3.connect(db_file, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536", "temp_store=MEMORY"):
        conn.execute(f"PRAGMA {pragma}")
    for sql in ddl:
        conn.execute(sql.replace('"people_resident"', '"raw_resident"'))
    placeholders = ", ".join(["?"] * len(rows[0]))
    start = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO raw_resident VALUES ({placeholders})", rows)  # noqa: S608
    conn.execute("COMMIT")
    out.put(time.perf_counter() - start)
    conn.close()


def baseline_rows(path: Path, district_id: int) -> list[tuple]:
    """The same residents as plain tuples in the table's column order (prepared outside the timing)."""
    import datetime as dt

    out = []
    now = "2024-01-01 00:00:00"
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        next(reader)
        for i, row in enumerate(reader, start=1):
            if row[0] == "合计":
                break
            number = row[2]
            out.append(
                (
                    i,
                    district_id,
                    i,
                    f"1.2.3.{i}.",
                    "1.2.3.4.",
                    number,
                    row[1],
                    "M" if int(number[16]) % 2 else "F",
                    dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14])).isoformat(),
                    row[3].removesuffix(".0"),
                    1,
                    row[3][-4:],
                    "",
                    "",
                    "",
                    1,
                    now,
                    now,
                    1,
                )
            )
    return out


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_table(title: str, lines: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _v in lines) + 2
    print(title)
    print("-" * (width + 24))
    for k, v in lines:
        print(f"{k:<{width}}{v}")
    print("-" * (width + 24))


def column_order(db: Path) -> list[str]:
    import sqlite3

    conn = sqlite3.connect(db)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(people_resident)")]
    conn.close()
    return cols


def run(kind: str, rows: int, target_rate: int, make_file) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"caregrid-bench-{kind}-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)  # a million-row database is most of a GiB
    setup_django(tmp)
    source = tmp / f"ledger.{kind}"
    t0 = time.perf_counter()
    make_file(source, rows)
    gen_seconds = time.perf_counter() - t0

    # The raw baseline runs in a child process so its prepared rows do not count in our peak RSS.
    csv_source = source if kind == "csv" else tmp / "ledger-baseline.csv"
    if kind != "csv":
        generate(csv_source, rows)
    expected = [
        "id", "district_id", "household_id", "place_path", "grid_path", "id_number", "name", "gender", "birth_date",
        "phone", "phone_valid", "phone_tail", "emergency_contact", "emergency_phone", "note", "is_priority",
        "created_at", "updated_at", "version",
    ]  # fmt: skip
    actual = column_order(tmp / "bench.sqlite3")
    from caregrid.people.ledger.actions import ledger_import
    from caregrid.people.models import Resident, ResidentCategory
    from caregrid.places.models import Place

    start = time.perf_counter()
    cpu_start = time.process_time()
    report = ledger_import(actor="bench", path=source, into_names=INTO, file_name=source.name)
    seconds = time.perf_counter() - start
    # Processor time of the importer and of its reading child: on a shared machine the wall clock
    # also counts the time others held the cores, these do not.
    importer_cpu = time.process_time() - cpu_start
    reader_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    reader_cpu = reader_usage.ru_utime + reader_usage.ru_stime
    # Large files are read and cleaned by a forked child; both processes live during the import, so
    # their peaks are added. Read before the baseline's own child process runs.
    reader_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    peak_rss = peak_rss_mib() + reader_rss

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()

    def child():
        data = baseline_rows(csv_source, 1)
        index = [expected.index(c) for c in actual]
        data = [tuple(r[i] for i in index) for r in data]
        raw_baseline(tmp / "raw.sqlite3", tmp / "bench.sqlite3", data, queue)

    proc = ctx.Process(target=child)
    proc.start()
    raw_seconds = queue.get()
    proc.join()

    assert report.written and not report.rejected, report.rejected[:5]
    residents = Resident.objects.count()
    figures = {
        "bench": f"import_{kind}",
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "target_rows_per_s": target_rate,
        "raw_executemany_seconds": round(raw_seconds, 2),
        "raw_rows_per_s": round(rows / raw_seconds),
        "ratio_to_raw": round(raw_seconds / seconds, 3),
        "peak_rss_mib": round(peak_rss, 1),
        "peak_rss_main_mib": round(peak_rss_mib(), 1),
        "peak_rss_reader_mib": round(reader_rss, 1),
        "cpu_importer_seconds": round(importer_cpu, 2),
        "cpu_reader_seconds": round(reader_cpu, 2),
        "residents": residents,
        "category_links": ResidentCategory.objects.count(),
        "places": Place.objects.count(),
        "warnings": len(report.warnings),
        "file_mib": round(source.stat().st_size / 2**20, 1),
        "generate_seconds": round(gen_seconds, 1),
    }
    print_table(
        f"Ledger import from {kind.upper()} ({rows:,} residents, SQLite file DB, real schema)",
        [
            ("end to end", f"{seconds:.2f} s  ({figures['rows_per_s']:,} rows/s; target ≥ {target_rate:,})"),
            ("raw executemany", f"{raw_seconds:.2f} s  ({figures['raw_rows_per_s']:,} rows/s)"),
            ("ratio to raw", f"{figures['ratio_to_raw']:.3f}  (target ≥ 0.25 for CSV)"),
            (
                "peak RSS",
                f"{figures['peak_rss_mib']:.0f} MiB = importer {figures['peak_rss_main_mib']:.0f} + reader "
                f"{figures['peak_rss_reader_mib']:.0f}  (target < 1024 MiB)",
            ),
            ("processor time", f"importer {importer_cpu:.2f} s, reader {reader_cpu:.2f} s"),
            ("residents / links / places", f"{residents:,} / {figures['category_links']:,} / {figures['places']:,}"),
            ("warnings", f"{figures['warnings']:,}"),
        ],
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    figures = run("csv", args.rows, 50_000, generate)
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
