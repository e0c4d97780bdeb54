"""The English catalogue: complete, placeholders intact, compiled, and used by the pages once English is chosen."""

import re
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

PO_PATH = Path(settings.BASE_DIR) / "caregrid" / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")

# %(name)s, %(n)d, %s, %d … (but not a literal %%) and str.format-style {name} placeholders.
PLACEHOLDER = re.compile(r"%\([^)]+\)[#0 +-]*\d*(?:\.\d+)?[sdifr]|%[sdifr]|\{[A-Za-z_][A-Za-z0-9_]*\}")
HAN = re.compile(r"[\u4e00-\u9fff]")

# Navigation labels of the site layout, in the source language and in English.
NAV_ZH = ["首页", "居民台账", "退出", "地点与区域"]
NAV_EN = ["Home", "Resident ledger", "Sign out", "Places and zones"]


@pytest.fixture(autouse=True)
def _default_language_afterwards():
    """A request in English leaves English active on this thread; later tests expect the default."""
    yield
    translation.deactivate()


@pytest.fixture(scope="module")
def catalogue() -> polib.POFile:
    return polib.pofile(str(PO_PATH))


def _messages(catalogue):
    return [e for e in catalogue if not e.obsolete]


def _placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


def test_header_declares_english_utf8_and_plural_rule(catalogue):
    assert catalogue.metadata["Language"] == "en"
    assert "charset=UTF-8" in catalogue.metadata["Content-Type"]
    assert catalogue.metadata["Plural-Forms"].replace(" ", "") == "nplurals=2;plural=(n!=1);"


def test_every_message_is_translated_and_none_is_fuzzy(catalogue):
    entries = _messages(catalogue)
    assert len(entries) > 100
    untranslated = [e.msgid for e in entries if not e.translated()]
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy: {fuzzy}"
    for e in entries:
        forms = list(e.msgstr_plural.values()) if e.msgid_plural else [e.msgstr]
        assert all(form.strip() for form in forms), e.msgid


def test_translations_are_english(catalogue):
    """No msgstr is a copy of its Chinese msgid; Chinese may appear only as quoted examples of ledger input."""
    for e in _messages(catalogue):
        forms = list(e.msgstr_plural.values()) if e.msgid_plural else [e.msgstr]
        for form in forms:
            assert form != e.msgid, e.msgid
            outside_quotes = re.sub(r"“[^”]*”", "", form)
            assert not HAN.search(outside_quotes), f"{e.msgid!r} → {form!r}"


def test_placeholders_match(catalogue):
    for e in _messages(catalogue):
        expected = _placeholders(e.msgid)
        if e.msgid_plural:
            assert _placeholders(e.msgid_plural) == expected, e.msgid
            for form in e.msgstr_plural.values():
                assert _placeholders(form) == expected, f"{e.msgid!r} → {form!r}"
        else:
            assert _placeholders(e.msgstr) == expected, f"{e.msgid!r} → {e.msgstr!r}"


def test_compiled_catalogue_is_up_to_date(catalogue):
    assert MO_PATH.exists(), "run `caregrid compiletranslations`"
    compiled = {(e.msgctxt, e.msgid): e for e in polib.mofile(str(MO_PATH))}
    for e in _messages(catalogue):
        mo = compiled.get((e.msgctxt, e.msgid))
        assert mo is not None, f"{e.msgid!r} is not compiled; run `caregrid compiletranslations`"
        if e.msgid_plural:
            assert mo.msgstr_plural == e.msgstr_plural, e.msgid
        else:
            assert mo.msgstr == e.msgstr, f"{e.msgid!r} is stale; run `caregrid compiletranslations`"


def test_glossary_terms():
    from caregrid.places.models import ZoneStatus

    with translation.override("en"):
        assert str(ZoneStatus.SEALED.label) == "Sealed zone"
        assert translation.gettext("管控区") == "Controlled zone"
        assert translation.gettext("防范区") == "Precaution zone"
        assert translation.gettext("已解封") == "Lifted"
        assert translation.gettext("网格员") == "Grid worker"
        assert translation.gettext("平时") == "Peacetime"
        assert translation.gettext("应急") == "Emergency"
        assert translation.gettext("姓名不能为空") == "Name is required."
        assert translation.ngettext("共 %(n)s 人", "共 %(n)s 人", 1) % {"n": 1} == "1 person"
        assert translation.ngettext("共 %(n)s 人", "共 %(n)s 人", 3) % {"n": 3} == "3 people"
    with translation.override("zh-hans"):
        assert str(ZoneStatus.SEALED.label) == "封控区"


def _pages():
    return [reverse("home"), reverse("people:list")]


def _assert_english(body: str):
    for word in NAV_EN:
        assert word in body, word
    for word in NAV_ZH:
        assert f">{word}<" not in body, word
    assert 'lang="en"' in body


def _assert_chinese(body: str):
    for word in NAV_ZH:
        assert f">{word}<" in body, word
    assert "Sign out" not in body
    assert "Resident ledger" not in body


def test_pages_are_chinese_by_default(world, login):
    client = login(world.community_worker)
    for url in _pages():
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_chinese(response.content.decode())


def test_choosing_english_translates_the_pages(world, login):
    client = login(world.community_worker)
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("people:list")})
    assert response.status_code == 302
    for url in _pages():
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        _assert_english(body)
    assert "Priority residents only" in client.get(reverse("people:list")).content.decode()

    client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("home")})
    _assert_chinese(client.get(reverse("home")).content.decode())


def test_an_english_browser_alone_does_not_switch_language(world, login):
    """Staff work in Chinese whatever their browser's language; only the switch turns pages English."""
    client = login(world.community_worker)
    for url in _pages():
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
        assert response.status_code == 200, url
        _assert_chinese(response.content.decode())
    client.post(reverse("set_language"), {"language": "en", "next": reverse("home")})
    for url in _pages():
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
        _assert_english(response.content.decode())
