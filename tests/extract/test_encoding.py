"""Encoding: HTTP header, then <meta>, then BOM, then detection."""

from __future__ import annotations

import codecs

import pytest

from kznews.extract import extract_page
from kznews.extract.encoding import decode_html
from tests.conftest import SEED_URL

TITLE = "«Кселл» переходит на усовершенствованную биллинговую систему"


def _without_meta(body: bytes) -> bytes:
    meta = b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1251" />'
    return body.replace(meta, b"")


def test_header_wins_over_meta(seed_html_cp1251):
    _, enc, how = decode_html(seed_html_cp1251, "text/html; charset=windows-1251")
    assert (enc, how) == ("cp1251", "header")


def test_meta_when_no_header(seed_html_cp1251):
    _, enc, how = decode_html(seed_html_cp1251, None)
    assert (enc, how) == ("cp1251", "meta")


def test_bom_when_nothing_declared(seed_html):
    body = codecs.BOM_UTF8 + seed_html.replace(b"charset=utf-8", b"")
    text, enc, how = decode_html(body, None)
    assert (enc, how) == ("utf-8", "bom")
    assert not text.startswith("\ufeff")


def test_detection_of_undeclared_windows_1251(seed_html_cp1251):
    body = _without_meta(seed_html_cp1251)
    assert b"charset" not in body[:2000]
    _, enc, how = decode_html(body, None)
    assert (enc, how) == ("cp1251", "detected")
    out = extract_page(body, SEED_URL)
    assert out.articles[0]["title"] == TITLE
    # Kazakh letters arrive as numeric character references in windows-1251 pages
    kk = [h for h in out.headlines if h["language"] == "kk"]
    assert len(kk) == 7 and "Қаңтар" in kk[0]["title"]


def test_unknown_charset_label_falls_through(seed_html):
    _, enc, _ = decode_html(seed_html, "text/html; charset=x-no-such-charset")
    assert enc == "utf-8"


def test_server_default_latin1_header_yields_to_the_page(seed_html, seed_html_cp1251):
    _, enc, how = decode_html(seed_html_cp1251, "text/html; charset=ISO-8859-1")
    assert (enc, how) == ("cp1251", "meta")
    undeclared = seed_html.replace(b"charset=utf-8", b"")
    _, enc, how = decode_html(undeclared, "text/html; charset=windows-1252")
    assert (enc, how) == ("utf-8", "detected")
    # a real Latin-1 page (ASCII-only here) still decodes under its header
    _, enc, how = decode_html(b"<html><p>plain</p></html>", "text/html; charset=iso-8859-1")
    assert (enc, how) == ("iso8859-1", "header")


def test_valid_utf8_wins_over_a_windows_1251_label(seed_html):
    """cp1251 decodes nearly any bytes: a UTF-8 page labelled windows-1251 (header or meta)
    would be mojibake if the label were trusted."""
    want = seed_html.decode("utf-8")
    text, enc, how = decode_html(seed_html, "text/html; charset=windows-1251")
    assert (text, enc, how) == (want, "utf-8", "detected")
    meta = seed_html.replace(b"charset=utf-8", b"charset=windows-1251")
    assert b"charset=windows-1251" in meta[:4096]
    text, enc, _ = decode_html(meta, None)
    assert (text, enc) == (meta.decode("utf-8"), "utf-8")
    out = extract_page(seed_html, SEED_URL, "text/html; charset=windows-1251")
    assert out.articles[0]["title"] == TITLE and out.page["encoding"] == "utf-8"


def test_a_bom_wins_over_labels(seed_html_cp1251):
    body = codecs.BOM_UTF8 + "<p>Қаңтар</p>".encode()
    assert decode_html(body, "text/html; charset=windows-1251") == ("<p>Қаңтар</p>", "utf-8", "bom")


def test_a_weak_server_default_label_yields_to_detection(seed_html_cp1251):
    body = _without_meta(seed_html_cp1251)
    for label in ("ISO-8859-1", "latin-1", "windows-1252", "us-ascii"):
        text, enc, how = decode_html(body, f"text/html; charset={label}")
        assert (enc, how) == ("cp1251", "detected"), label
        assert text == body.decode("cp1251")
        out = extract_page(body, SEED_URL, f"text/html; charset={label}")
        assert out.articles[0]["title"] == TITLE and out.page["encoding"] == "cp1251"


@pytest.mark.parametrize(
    "header",
    [None, "utf-8", "windows-1251", "ISO-8859-1", "windows-1252", "us-ascii", "koi8-r",
     "x-no-such-charset"],
)
@pytest.mark.parametrize("meta", [True, False])
def test_both_seed_encodings_decode_exactly_under_every_header(
    seed_html, seed_html_cp1251, header, meta
):
    content_type = f"text/html; charset={header}" if header else "text/html"
    utf8 = seed_html if meta else seed_html.replace(b"charset=utf-8", b"")
    cp = seed_html_cp1251 if meta else _without_meta(seed_html_cp1251)
    assert decode_html(utf8, content_type)[:2] == (utf8.decode("utf-8"), "utf-8")
    assert decode_html(cp, content_type)[:2] == (cp.decode("cp1251"), "cp1251")


@pytest.mark.parametrize("label", ["koi8-r", "windows-1251"])
def test_windows_1251_and_koi8_r_labels_yield_to_the_bytes(seed_html, label):
    """A page in one of the two Cyrillic single-byte encodings sent with the other's label
    decodes as what it is; sent with its own label, as declared."""
    text = seed_html.decode("utf-8").replace("charset=utf-8", "")
    actual = "cp1251" if label == "koi8-r" else "koi8-r"
    body = text.encode(actual, errors="xmlcharrefreplace")
    assert decode_html(body, f"text/html; charset={label}")[:2] == (body.decode(actual), actual)
    assert decode_html(body, f"text/html; charset={actual}")[:3] == (
        body.decode(actual), actual, "header")
    page = extract_page(body, SEED_URL, f"text/html; charset={label}")
    assert page.articles[0]["title"] == TITLE


def test_a_few_letters_never_overrule_a_label():
    from kznews.extract.encoding import MIN_LETTERS_TO_OVERRULE, cyrillic_label_swapped

    few = "<p>Привет</p>".encode("cp1251") * (MIN_LETTERS_TO_OVERRULE // 6 - 1)
    assert cyrillic_label_swapped(few, "koi8-r") is None
    assert cyrillic_label_swapped(few * 2, "koi8-r") == "cp1251"
    assert cyrillic_label_swapped(few * 2, "iso8859-5") is None  # only the two swap


@pytest.mark.parametrize("encoding", ["cp1251", "koi8-r"])
def test_a_correct_label_on_a_page_in_capitals_stands(encoding):
    """Menus and headlines in capitals put most letters in the upper-case range; the label
    is right and stays (only words capitalised the other way round overrule it)."""
    menu = ["ГЛАВНАЯ", "НОВОСТИ", "ЭКОНОМИКА", "ПОЛИТИКА", "ОБЩЕСТВО", "ФИНАНСЫ", "КОНТАКТЫ"]
    heads = ["НАЦБАНК СОХРАНИЛ БАЗОВУЮ СТАВКУ", "ТЕНГЕ УКРЕПИЛСЯ К ДОЛЛАРУ"]
    html = ("<html><head><title>ЭКСКЛЮЗИВ — Главная</title></head><body>"
            + "".join(f"<a href=/r/{i}>{m}</a>" for i, m in enumerate(menu))
            + "".join(f"<h2>{h}</h2><p>Подробнее</p>" for h in heads)
            + "<h1>ҚАЗАҚСТАН ҰЛТТЫҚ БАНКІ</h1></body></html>")
    body = html.encode(encoding, errors="xmlcharrefreplace")
    label = "windows-1251" if encoding == "cp1251" else encoding
    assert decode_html(body, f"text/html; charset={label}")[:3] == (
        body.decode(encoding), encoding, "header")
