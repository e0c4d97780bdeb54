"""How typed or pasted values are judged: ID numbers, phones, names, categories, masking."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from caregrid.accounts.masking import mask_id_number, mask_phone
from caregrid.people.validation import (
    CategoryIndex,
    FieldProblem,
    clean_name,
    clean_phone,
    clean_text,
    parse_id_number,
)
from tests.conftest import make_id


def test_a_valid_id_gives_gender_and_birth_date():
    facts = parse_id_number(make_id("320602", "19450101", "123"))
    assert facts.gender == "M"
    assert facts.birth_date == dt.date(1945, 1, 1)


def test_an_x_check_digit_is_accepted_in_either_case():
    for seq in range(100, 999):
        body = f"11010119800101{seq:03d}"
        if ric.calc_check_digit(body + "0") == "X":
            break
    assert parse_id_number(body + "x").number == body + "X"


def test_full_width_digits_and_spaces_are_normalised():
    number = make_id("320602", "19881111", "345")
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number)
    assert parse_id_number(f" {full_width[:6]} {full_width[6:]} ").number == number


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "id_missing"),
        ("32060219450101123", "id_format"),
        ("320602450101123", "id_format"),
        (make_id("320602", "19451301", "123"), "id_format"),
        (make_id("999999", "19450101", "123"), "id_format"),
    ],
)
def test_malformed_ids_are_refused_with_a_code(value, code):
    with pytest.raises(FieldProblem) as problem:
        parse_id_number(value)
    assert problem.value.code == code


def test_a_wrong_check_digit_is_a_checksum_problem():
    good = make_id("320602", "19450101", "123")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(FieldProblem) as problem:
        parse_id_number(bad)
    assert problem.value.code == "id_checksum"
    assert "校验位" in problem.value.message


def test_a_birth_date_in_the_future_is_refused():
    with pytest.raises(FieldProblem):
        parse_id_number(make_id("320602", "20990101", "123"), today=dt.date(2026, 1, 1))


@pytest.mark.parametrize(
    ("raw", "kept", "valid"),
    [
        ("13812345678", "13812345678", True),
        (13812345678.0, "13812345678", True),
        ("13812345678.0", "13812345678", True),
        ("1.3812345678E10", "13812345678", True),
        ("+86 138-1234-5678", "13812345678", True),
        ("１３８１２３４５６７８", "13812345678", True),
        ("0513-85123456", "0513-85123456", True),
        ("051385123456", "0513-85123456", True),
        ("010-12345678", "010-12345678", True),
        ("12345", "12345", False),
        ("无", "无", False),
        ("", "", True),
    ],
)
def test_phones_are_normalised_and_invalid_ones_are_kept(raw, kept, valid):
    assert clean_phone(raw) == (kept, valid)


def test_names_lose_inner_spaces_and_traditional_characters():
    assert clean_name(" 陳 國華 ") == "陈国华"


def test_a_missing_name_is_a_problem():
    with pytest.raises(FieldProblem) as problem:
        clean_name("  ")
    assert problem.value.code == "name_missing"


def test_clean_text_turns_full_width_into_half_width():
    assert clean_text("ＡＢＣ　１２３") == "ABC 123"


@pytest.mark.django_db
def test_categories_are_found_by_name_code_or_synonym():
    index = CategoryIndex.load()
    found, unknown = index.resolve_all("独居、低保户，透析/孕妇 精神病；外星人")
    assert [c.code for c in found] == ["elderly_alone", "dibao", "dialysis", "pregnant", "mental_disorder"]
    assert unknown == ["外星人"]
    assert index.resolve("獨居老人").code == "elderly_alone"


def test_id_numbers_are_masked_to_first_and_last_four():
    assert mask_id_number("320602194501011234") == "3206**********1234"


def test_mobiles_are_masked_in_the_middle():
    assert mask_phone("13812345678") == "138****5678"


@given(st.text(min_size=0, max_size=30))
def test_masking_never_reveals_more_than_eight_characters_of_an_id(value):
    masked = mask_id_number(value)
    assert len(masked) == len(value)
    assert sum(1 for a, b in zip(masked, value, strict=True) if a == b and a != "*") <= 8


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_every_mainland_mobile_is_valid_and_masked(phone):
    assert clean_phone(phone) == (phone, True)
    assert mask_phone(phone)[3:7] == "****"
