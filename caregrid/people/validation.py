"""Normalising and checking what people type or paste: ID numbers, phones, names, categories.

Used by forms, the API and the ledger import alike, so a value is judged the same way everywhere.
Each check returns a cleaned value or raises `FieldProblem` with a stable code and a Chinese message.
"""

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import opencc
from django.utils.translation import gettext as _
from stdnum import numdb
from stdnum.cn import ric


@dataclass
class FieldProblem(Exception):
    code: str
    message: str
    field: str = ""

    def __str__(self) -> str:
        return self.message


_t2s = opencc.OpenCC("t2s")
_SPACES = re.compile(r"\s+")
_INNER_SPACE = re.compile(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])")


def to_simplified(text: str) -> str:
    return _t2s.convert(text) if text else text


@lru_cache(maxsize=1)
def _traditional_chars() -> frozenset[str]:
    """Characters that opencc's t2s changes on their own (CJK unified ideographs and extension A).
    Text without any of them needs no conversion, which spares opencc on most ledger cells."""
    chars = [chr(c) for c in (*range(0x3400, 0x4DC0), *range(0x4E00, 0xA000))]
    converted = _t2s.convert("\n".join(chars)).split("\n")
    return frozenset(c for c, s in zip(chars, converted, strict=True) if c != s)


def clean_text(value) -> str:
    """Full-width → half-width, Traditional → Simplified, stray spaces removed."""
    if value is None:
        return ""
    text = str(value)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.strip()
    if "  " in text or "\t" in text or "\n" in text or "\r" in text:
        text = _SPACES.sub(" ", text)
    if not text.isascii() and not _traditional_chars().isdisjoint(text):
        text = to_simplified(text)
    return text


def clean_name(value) -> str:
    name = clean_text(value)
    # Chinese names carry no inner spaces ("张 三" is 张三); keep them between Latin words.
    if " " in name and not name.isascii():
        name = _INNER_SPACE.sub("", name)
    if not name:
        raise FieldProblem("name_missing", _("姓名不能为空"), "name")
    if len(name) > 50:
        raise FieldProblem("name_too_long", _("姓名不能超过50个字符"), "name")
    return name


@lru_cache(maxsize=8192)
def _region_known(prefix: str) -> bool:
    # Known to stdnum's region table at any time: IDs keep the code of the county that issued them,
    # which may have been renamed since (崇川区 320602 → 320613), so the birth year is not compared.
    if not prefix.isdigit():
        return False
    parts = numdb.get("cn/loc").info(prefix)
    return all(props for _part, props in parts)


@dataclass(frozen=True)
class IdFacts:
    number: str
    gender: str  # "M" or "F"
    birth_date: dt.date


def parse_id_number(value, *, today: dt.date | None = None) -> IdFacts:
    """A mainland resident ID (18 digits, 'X' check digit); full-width and spaces tolerated."""
    raw = unicodedata.normalize("NFKC", str(value or "")).strip().replace(" ", "").upper()
    if raw.endswith(".0") and raw[:-2].isdigit():  # a number cell read back as a float
        raw = raw[:-2]
    if not raw:
        raise FieldProblem("id_missing", _("身份证号不能为空"), "id_number")
    if len(raw) != 18 or not raw[:17].isdigit() or not (raw[17].isdigit() or raw[17] == "X"):
        if len(raw) == 15 and raw.isdigit():
            raise FieldProblem("id_format", _("身份证号为15位旧号码，请换成18位新号码"), "id_number")
        raise FieldProblem(
            "id_format", _("身份证号应为18位（末位可为X），现为“%(value)s”") % {"value": raw[:30]}, "id_number"
        )
    if raw[17] != ric.calc_check_digit(raw):
        raise FieldProblem("id_checksum", _("身份证号校验位不正确，请核对是否抄错"), "id_number")
    try:
        birth = dt.date(int(raw[6:10]), int(raw[10:12]), int(raw[12:14]))
    except ValueError:
        raise FieldProblem("id_format", _("身份证号中的出生日期无效"), "id_number") from None
    if birth > (today or dt.date.today()) or birth.year < 1890:
        raise FieldProblem("id_format", _("身份证号中的出生日期无效"), "id_number")
    if not _region_known(raw[:6]):
        raise FieldProblem("id_format", _("身份证号前6位不是有效的地区代码"), "id_number")
    return IdFacts(raw, "M" if int(raw[16]) % 2 else "F", birth)


_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_LANDLINE = re.compile(r"^(0[0-9]{2,3})([0-9]{7,8})(?:[#转-]([0-9]{1,6}))?$")


def clean_phone(value) -> tuple[str, bool]:
    """(phone as kept, valid?). An invalid phone is kept as typed, never dropped."""
    if value is None:
        return "", True
    if isinstance(value, float):
        value = f"{value:.0f}"
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        return "", True
    if re.fullmatch(r"\d+\.0", text):
        text = text[:-2]
    elif re.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", text):
        text = f"{float(text):.0f}"
    digits = re.sub(r"[\s()（）-]", "", text)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if _MOBILE.match(digits):
        return digits, True
    m = _LANDLINE.match(digits)
    if m:
        # Beijing (010) and the 02x cities have three-digit area codes, all others four.
        whole = m.group(1) + m.group(2)
        area_len = 3 if whole.startswith(("01", "02")) else 4
        area, number, ext = whole[:area_len], whole[area_len:], m.group(3)
        if (area_len == 3 and len(number) == 8) or (area_len == 4 and len(number) in (7, 8)):
            return f"{area}-{number}" + (f"-{ext}" if ext else ""), True
    return text[:40], False


def phone_problem(phone: str) -> FieldProblem:
    return FieldProblem(
        "phone_invalid", _("联系电话“%(value)s”不是有效的手机或固话号码，已原样保留") % {"value": phone}, "phone"
    )


def phone_tail(phone: str, valid: bool) -> str:
    digits = re.sub(r"\D", "", phone)
    return digits[-4:] if valid and len(digits) >= 4 else ""


CATEGORY_SEPARATORS = re.compile(r"[、，,/／;；\s]+")


def split_categories(value) -> list[str]:
    text = clean_text(value)
    return [part for part in CATEGORY_SEPARATORS.split(text) if part]


def category_key(text: str) -> str:
    return clean_text(text).lower().replace(" ", "")


class CategoryIndex:
    """Resolves a name, code or synonym to a category; build once per request or import."""

    def __init__(self, categories):
        self.by_key: dict[str, object] = {}
        for category in categories:
            for key in (category.code, category.name, category.name_en, *category.synonyms):
                if key:
                    self.by_key.setdefault(category_key(key), category)

    @classmethod
    def load(cls) -> "CategoryIndex":
        from .models import Category

        return cls(Category.objects.filter(is_active=True))

    def resolve(self, text: str):
        return self.by_key.get(category_key(text))

    def resolve_all(self, value) -> tuple[list, list[str]]:
        """(categories found, in order and without repeats; names not recognised)."""
        found, unknown = [], []
        for part in split_categories(value):
            category = self.resolve(part)
            if category is None:
                unknown.append(part)
            elif category not in found:
                found.append(category)
        return found, unknown
