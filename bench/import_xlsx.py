"""Benchmark: import a generated XLSX ledger of N residents (default 200,000) end to end, with the same
raw sqlite3.executemany comparison as bench/import_csv.py. Prints a table, then one JSON line.

    .venv/bin/python bench/import_xlsx.py --rows 200000
"""

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from import_csv import generate, run  # noqa: E402


def generate_xlsx(path: Path, rows: int) -> None:
    """The CSV generator's rows written to xlsx (title row kept, phones as numbers where they look numeric)."""
    import xlsxwriter

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "ledger.csv"
        generate(source, rows)
        workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        sheet = workbook.add_worksheet()
        with open(source, encoding="utf-8", newline="") as f:
            for r, row in enumerate(csv.reader(f)):
                for c, value in enumerate(row):
                    if c == 3 and value.replace(".", "", 1).isdigit():
                        sheet.write_number(r, c, float(value))
                    elif value:
                        sheet.write_string(r, c, value)
        workbook.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    figures = run("xlsx", args.rows, 25_000, generate_xlsx)
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
