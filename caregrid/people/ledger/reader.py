"""Reading ledger files as they are kept: finds the header under title rows, merges two-row headers,
maps header name variants to fields, and yields data rows with the row number Excel shows."""

import codecs
import csv
import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.people.validation import clean_text

# Field → the header texts that name it (compared after normalising, see `header_key`).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "seq": ("序号", "编号", "序"),
    "name": ("姓名", "名字", "居民姓名", "人员姓名", "户主姓名"),
    "id_number": ("身份证号", "身份证号码", "证件号码", "公民身份号码", "身份证", "证件号"),
    "gender": ("性别",),
    "birth_date": ("出生日期", "出生年月"),
    "phone": ("联系电话", "手机号码", "手机号", "电话", "联系方式", "手机", "电话号码"),
    "grid": ("所属网格", "网格", "网格名称"),
    "compound": ("小区", "小区名称", "所在小区", "小区名"),
    "building": ("楼栋", "楼号", "幢", "栋", "楼幢", "楼栋号", "幢号"),
    "unit": ("单元", "单元号"),
    "room": ("房号", "门牌号", "室", "户号", "房间号", "户"),
    "address": ("住址", "家庭住址", "地址", "现住址", "居住地址", "详细地址"),
    "categories": ("人员类别", "类别", "重点人群类别", "人群类别", "特殊人群类别", "重点人员类别"),
    "emergency_contact": ("紧急联系人", "紧急联系人姓名"),
    "emergency_phone": ("紧急联系电话", "紧急联系人电话"),
    "note": ("备注",),
}
_ALIAS_TO_FIELD = {alias: f for f, aliases in HEADER_ALIASES.items() for alias in aliases}
# Cells like "住址" that may stand over sub-columns (小区/楼栋/单元/房号) in a two-row header.
GROUP_FIELDS = {"address"}
FOOTER = re.compile(r"^(合计|总计|共计|小计|制表|填表|审核|负责人|统计)")
HEADER_SCAN_ROWS = 30


class LedgerFileError(Exception):
    """The file cannot be read as a ledger at all (not a row problem)."""


def header_key(value) -> str:
    text = unicodedata.normalize("NFKC", str(value or ""))
    text = re.sub(r"[\s*＊:：]", "", text)
    text = re.sub(r"[(（][^)）]*[)）]$", "", text)  # "联系电话（必填）"
    from caregrid.people.validation import to_simplified

    return to_simplified(text) if not text.isascii() else text


def field_for(value) -> str | None:
    return _ALIAS_TO_FIELD.get(header_key(value))


@dataclass
class Layout:
    """Where each field is in the row and how the file labels it."""

    columns: dict[str, int] = field(default_factory=dict)  # field → column index
    labels: dict[str, str] = field(default_factory=dict)  # field → header text as written
    header_rows: int = 0  # rows up to and including the last header row (0-based count)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _matches(row: list) -> dict[int, str]:
    found = {}
    for i, value in enumerate(row):
        f = field_for(value) if value not in ("", None) else None
        if f:
            found[i] = f
    return found


def find_layout(head: list[list]) -> Layout:
    """The header among the first rows: the row naming most known fields, merged with a group row
    above it or a sub-header row below it."""
    best, best_found = -1, {}
    for i, row in enumerate(head[:HEADER_SCAN_ROWS]):
        found = _matches(row)
        if len(found) > len(best_found):
            best, best_found = i, found
    if best < 0 or len(best_found) < 2:
        raise LedgerFileError(_("没有找到表头：前%(n)d行中没有“姓名”“身份证号”等列名") % {"n": HEADER_SCAN_ROWS})
    merged = dict(best_found)
    labels_at = {i: _cell_text(head[best][i]) for i in best_found}
    last = best
    for other in (best - 1, best + 1):
        if not 0 <= other < len(head):
            continue
        found = _matches(head[other])
        extra = {i: f for i, f in found.items() if merged.get(i) is None or merged[i] in GROUP_FIELDS}
        if other == best + 1:
            # A sub-header row only names columns the header row left empty or grouped.
            if not extra or len(extra) != len(found):
                continue
            last = other
        elif not extra:
            continue
        for i, f in extra.items():
            if other == best - 1 and merged.get(i) in GROUP_FIELDS:
                continue  # the row below is the finer one
            merged[i] = f
            labels_at[i] = _cell_text(head[other][i])
    layout = Layout(header_rows=last + 1)
    for i, f in sorted(merged.items()):
        if f not in layout.columns:
            layout.columns[f] = i
            layout.labels[f] = labels_at[i]
    # A 住址 group over its own sub-columns is not a full-address column.
    if "address" in layout.columns and {"compound", "room"} <= layout.columns.keys():
        del layout.columns["address"]
    if "name" not in layout.columns or "id_number" not in layout.columns:
        raise LedgerFileError(_("表头中缺少“姓名”或“身份证号”列"))
    if "address" not in layout.columns and "room" not in layout.columns:
        raise LedgerFileError(_("表头中缺少住址：需要“住址”列，或“小区/楼栋/单元/房号”列"))
    return layout


def is_blank(row: list) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


FOOTER_FIRST = frozenset("合总共小制填审负统")  # the first characters FOOTER can match


def is_footer(row: list) -> bool:
    for v in row:
        if isinstance(v, str):
            text = v.strip()
            if text:
                return text[0] in FOOTER_FIRST and bool(FOOTER.match(text.replace(" ", "")))
    return False


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or GB18030, judged from the first megabyte."""
    with open(path, "rb") as f:
        sample = f.read(1 << 20)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        raise LedgerFileError(_("无法识别文件编码：请另存为UTF-8或GB18030编码的CSV")) from None


SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
SUFFIXES = SPREADSHEET_SUFFIXES | {".csv", ".txt"}


def raw_rows(path: Path) -> Iterator[list]:
    suffix = path.suffix.lower()
    if suffix in SPREADSHEET_SUFFIXES:
        from python_calamine import CalamineWorkbook

        try:
            workbook = CalamineWorkbook.from_path(str(path))
            sheet = workbook.get_sheet_by_index(0)
        except Exception as e:  # calamine raises its own error types for damaged files
            raise LedgerFileError(_("无法读取表格文件：%(error)s") % {"error": str(e)[:200]}) from None
        # iter_rows starts at the sheet's first row (row numbers stay as Excel shows them).
        yield from sheet.iter_rows()
        return
    if suffix not in SUFFIXES:
        raise LedgerFileError(_("不支持的文件类型“%(suffix)s”：请上传xlsx、xls、ods或csv文件") % {"suffix": suffix})
    encoding = detect_encoding(path)
    with open(path, encoding=encoding, newline="") as f:
        sample = f.read(4096)
        f.seek(0)
        dialect = csv.excel_tab if sample.count("\t") > sample.count(",") else csv.excel
        yield from csv.reader(f, dialect)


@dataclass
class LedgerRows:
    """The file's layout and an iterator of (Excel row number, cells) for its data rows."""

    layout: Layout
    rows: Iterator[tuple[int, list]]


def open_ledger(path: Path) -> LedgerRows:
    raw = raw_rows(Path(path))
    head: list[list] = []
    for row in raw:
        head.append(row)
        if len(head) >= HEADER_SCAN_ROWS:
            break
    layout = find_layout(head)

    def data_rows() -> Iterator[tuple[int, list]]:
        number = layout.header_rows
        for row in [*head[layout.header_rows :]]:
            number += 1
            yield number, row
        for row in raw:
            number += 1
            yield number, row

    return LedgerRows(layout=layout, rows=data_rows())


def count_data_rows(path: Path) -> int:
    """Rows below the header (blank and footer rows excluded); for progress bars."""
    ledger = open_ledger(path)
    return sum(1 for _n, row in ledger.rows if not is_blank(row) and not is_footer(row))


def file_sha256(path: Path) -> str:
    """The file's fingerprint: an import of the same file again is recognised by it."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---- other spreadsheets read with the same reader (12345 referrals, testing results) --------------------

_DATETIME = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[\sT]*(\d{1,2})[:：时点](\d{1,2})(?:[:：分](\d{1,2})(?:\.\d+)?秒?)?分?)?$"
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?$")


@dataclass
class Issue:
    """A problem with one row of a file: the Excel row number, the column as written, a code, the message."""

    row: int
    column: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


def sheet_cell(value) -> str:
    """A cell as text: whole numbers without ".0", date-times as "2022-04-10 08:15:00"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def parse_sheet_time(value) -> dt.datetime | None:
    """A time as exports write it: a spreadsheet date, "2022-04-10 08:15[:30]", "2022/4/10 8:15",
    "2022年4月10日 8时15分", "20220410081530". Local time when no zone is given; None when it cannot be read."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        text = clean_text(value).replace("：", ":")
        m = _DATETIME.match(text) or _COMPACT.match(text)
        if m is None:
            return None
        try:
            moment = dt.datetime(*[int(p) if p else 0 for p in m.groups()])
        except ValueError:
            return None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def find_header(
    head: list[list], header_to_field: dict[str, str], *, headers: dict, required, error: type, not_found: str
) -> tuple[dict[str, int], dict[str, str], int]:
    """The header row among the first rows: (field → column, field → header as written, rows up to the header).
    `header_to_field` maps header_key(name) to a field; `headers` gives each field's names, the first shown in
    the message naming missing required columns; `not_found` is the message when no row names two fields."""
    best, best_found = -1, {}
    for i, row in enumerate(head[:HEADER_SCAN_ROWS]):
        found: dict[str, int] = {}
        for col, value in enumerate(row):
            name = header_to_field.get(header_key(value)) if value not in ("", None) else None
            if name and name not in found:
                found[name] = col
        if len(found) > len(best_found):
            best, best_found = i, found
    if best < 0 or len(best_found) < 2:
        raise error(not_found)
    missing = [f for f in required if f not in best_found]
    if missing:
        names = "、".join(f"“{headers[f][0]}”" for f in missing)
        raise error(_("表头中缺少%(columns)s列") % {"columns": names})
    labels = {f: str(head[best][col]).strip() for f, col in best_found.items()}
    return best_found, labels, best + 1
