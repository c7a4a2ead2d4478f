"""Bytes -> text: BOM, then HTTP header charset, then ``<meta>`` charset, then detection.

A declared charset is used only if the bytes decode under it; otherwise the next source is
tried, so a wrong header cannot turn a page into mojibake. Numeric character references
(``&#1179;``, how windows-1251 pages carry Kazakh letters) are left to the HTML parser.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""",
    re.IGNORECASE,
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Labels pages use that Python spells differently (WHATWG encoding labels).
_ALIASES = {"win-1251": "cp1251", "windows-1251": "cp1251", "x-cp1251": "cp1251"}


def _normalise(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = _HEADER_CHARSET.search(content_type)
    return _normalise(m.group(1)) if m else None


def meta_charset(body: bytes) -> str | None:
    m = _META_CHARSET.search(body[:4096])
    return _normalise(m.group(1).decode("ascii", "ignore")) if m else None


def bom_charset(body: bytes) -> str | None:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    return None


def _try(body: bytes, encoding: str) -> str | None:
    try:
        text = body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    return text[1:] if text.startswith("\ufeff") else text


@lru_cache(maxsize=64)
def _single_byte(encoding: str) -> bool:
    """Whether every byte is a character of its own under ``encoding`` (cp1251, koi8-r,
    Latin-1...): such a label decodes nearly any bytes, so decoding cannot refute it.

    >>> _single_byte("cp1251"), _single_byte("utf-8"), _single_byte("shift_jis")
    (True, False, False)
    """
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    except LookupError:
        return False
    return all(len(decoder.decode(bytes([b]))) == 1 for b in range(0x80, 0x100))


# Labels servers send by default rather than by knowledge of the page: every byte sequence
# decodes under Latin-1/cp1252, so such a header cannot be refuted by decoding and would turn
# a Cyrillic page into mojibake. For these, what the page itself declares, and then what
# detection finds, wins; the label decides only ASCII pages and what detection cannot.
_WEAK_HEADER_LABELS = frozenset({"iso8859-1", "cp1252", "ascii"})


# windows-1251 and KOI8-R, the two Cyrillic single-byte encodings of the Russian web, hold
# their letters in the same two byte ranges, in swapped cases: lower case at 0xE0-0xFF in
# windows-1251 and 0xC0-0xDF in KOI8-R, upper case the other way round. A page sent with the
# other one's label (a server's wrong default) decodes to mojibake whose words start with a
# lower-case letter followed by capitals ("кСЕЛЛ"), which real text almost never has.
_SWAPPED = {"cp1251": "koi8-r", "koi8-r": "cp1251"}
_NOT_HIGH = bytes(range(0xC0))  # deleted to count the bytes 0xC0-0xFF
_NOT_TOP = bytes(range(0xE0))  # deleted to count the bytes 0xE0-0xFF
# a capital then a small letter, read as windows-1251 / as KOI8-R
_CAPITALISED = {"cp1251": re.compile(rb"[\xc0-\xdf][\xe0-\xff]"),
                "koi8-r": re.compile(rb"[\xe0-\xff][\xc0-\xdf]")}
#: Letter bytes (0xC0-0xFF) needed before a label may be overruled.
MIN_LETTERS_TO_OVERRULE = 64
#: Capitalised words, read the other way, needed before a label may be overruled.
MIN_CAPITALISED_TO_OVERRULE = 4


def cyrillic_label_swapped(body: bytes, label: str) -> str | None:
    """The other encoding when ``body`` labelled windows-1251 or KOI8-R is in the other
    one, else None (also for every other label). Two tests, both needed:

    * most letter bytes (at least :data:`MIN_LETTERS_TO_OVERRULE`) sit in the other
      encoding's lower-case range: cheap (byte counts at C speed, no decoding), and false
      for nearly every page, so the second test rarely runs;
    * read the other way, the page has more than twice as many capitalised words (a capital
      followed by a small letter, at least :data:`MIN_CAPITALISED_TO_OVERRULE`) as read as
      labelled. A correctly labelled page in capitals (menus, headlines, Kazakh words
      carried as ``&#...;`` references) passes the first test but not this one.

    >>> text = "Кселл переходит на новую биллинговую систему".encode("cp1251") * 4
    >>> cyrillic_label_swapped(text, "koi8-r"), cyrillic_label_swapped(text, "cp1251")
    ('cp1251', None)
    """
    other = _SWAPPED.get(label)
    if other is None:
        return None
    high = len(body.translate(None, _NOT_HIGH))
    if high < MIN_LETTERS_TO_OVERRULE:
        return None
    top = len(body.translate(None, _NOT_TOP))
    lower_if_label = top if label == "cp1251" else high - top
    if high - lower_if_label <= 2 * lower_if_label:
        return None
    as_labelled = len(_CAPITALISED[label].findall(body))
    as_other = len(_CAPITALISED[other].findall(body))
    if as_other >= MIN_CAPITALISED_TO_OVERRULE and as_other > 2 * as_labelled:
        return other
    return None


def _utf8(body: bytes) -> str | None:
    """``body`` as UTF-8 when it has non-ASCII bytes and is strictly valid UTF-8: a page
    that is, is UTF-8 whatever single-byte label it carries (a non-ASCII single-byte text is
    almost never valid UTF-8 by chance)."""
    return None if body.isascii() else _try(body, "utf-8")


def _detect(body: bytes) -> str | None:
    """The encoding charset_normalizer finds for a non-ASCII ``body``, or None."""
    if body.isascii():
        return None
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000], cp_isolation=["cp1251", "koi8_r", "utf_8", "cp1252"]).best()
    if best is None or not best.encoding:
        return None
    return codecs.lookup(best.encoding).name


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str, str]:
    """Decode ``body``; returns ``(text, encoding, how)`` where how is
    bom/header/meta/detected/fallback.

    Order: BOM (it wins, as in WHATWG's decode), HTTP header, ``<meta>``, detection. A
    label is used only if the bytes decode under it, and a single-byte label (windows-1251,
    koi8-r...) yields to non-ASCII bytes that are valid UTF-8; windows-1251 and KOI8-R yield
    to each other when the letter cases say the page is in the other one
    (:func:`cyrillic_label_swapped`). A header naming Latin-1,
    cp1252 or ASCII (typical server defaults) comes after the page's own declaration and
    after detection: it decides only for ASCII pages, or when detection finds nothing.
    """
    bom = bom_charset(body)
    if bom:
        text = _try(body, bom)
        if text is not None:
            return text, bom, "bom"
    header = header_charset(content_type)
    weak = header in _WEAK_HEADER_LABELS
    for how, enc in (("header", None if weak else header), ("meta", meta_charset(body))):
        if not enc:
            continue
        if _single_byte(enc) and (text := _utf8(body)) is not None:
            return text, "utf-8", "detected"
        if (swapped := cyrillic_label_swapped(body, enc)) is not None:
            return body.decode(swapped), swapped, "detected"
        text = _try(body, enc)
        if text is not None:
            return text, enc, how
    text = _utf8(body) if weak else _try(body, "utf-8")
    if text is not None:
        return text, "utf-8", "detected"
    enc = _detect(body)
    if enc is not None and (text := _try(body, enc)) is not None:
        return text, enc, "detected"
    if weak and (text := _try(body, header)) is not None:
        return text, header, "header"
    if enc is not None:
        return body.decode(enc, errors="replace"), enc, "detected"
    return body.decode("utf-8", errors="replace"), "utf-8", "fallback"
