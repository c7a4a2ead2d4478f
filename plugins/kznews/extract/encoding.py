"""Bytes -> text: HTTP header charset, then ``<meta>`` charset, then BOM, then detection.

A declared charset is used only if the bytes decode under it; otherwise the next source is
tried, so a wrong header cannot turn a page into mojibake. Numeric character references
(``&#1179;``, how windows-1251 pages carry Kazakh letters) are left to the HTML parser.
"""

from __future__ import annotations

import codecs
import re

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


# Labels servers send by default rather than by knowledge of the page: every byte sequence
# decodes under Latin-1/cp1252, so such a header cannot be refuted by decoding and would turn
# a Cyrillic page into mojibake. For these, what the page itself declares wins.
_WEAK_HEADER_LABELS = frozenset({"iso8859-1", "cp1252", "ascii"})


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str, str]:
    """Decode ``body``; returns ``(text, encoding, how)`` where how is header/meta/bom/detected.

    Order: HTTP header, ``<meta>``, BOM, detection. A header naming Latin-1, cp1252 or ASCII
    (typical server defaults) comes after the page's own declaration and after valid UTF-8.
    """
    header = header_charset(content_type)
    if header in _WEAK_HEADER_LABELS:
        order = [("meta", meta_charset(body)), ("bom", bom_charset(body))]
        if not body.isascii():
            order.append(("detected", "utf-8"))
        order.append(("header", header))
    else:
        order = [("header", header), ("meta", meta_charset(body)), ("bom", bom_charset(body))]
    for how, enc in order:
        if enc:
            text = _try(body, enc)
            if text is not None:
                return text, enc, how
    text = _try(body, "utf-8")
    if text is not None:
        return text, "utf-8", "detected"
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000], cp_isolation=["cp1251", "koi8_r", "utf_8", "cp1252"]).best()
    if best is not None and best.encoding:
        enc = codecs.lookup(best.encoding).name
        return body.decode(enc, errors="replace"), enc, "detected"
    return body.decode("utf-8", errors="replace"), "utf-8", "fallback"
