"""Folder source: ``.html`` files on disk (and any WARC files beside them).

The URL of a file comes from its sidecar ``<file>.json`` when present (keys: ``url``,
``status``, ``headers``, ``fetched_at``), else from the page's ``<link rel="canonical">`` or
``og:url``, else it is the file's ``file://`` URI. ``fetched_at`` comes from the sidecar, else
from the file's modification time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from kznews.acquire.base import RawRecord

# Each in either attribute order; the canonical link is looked for first, in the whole head,
# then og:url (one alternation would return whichever of the two comes first in the page).
_CANONICAL = re.compile(
    rb"""<link\s[^>]*?rel=["']?[^"'>]*\bcanonical\b[^>]*?href=["']?([^"'>\s]+)|"""
    rb"""<link\s[^>]*?href=["']?([^"'>\s]+)["']?[^>]*?rel=["']?[^"'>]*\bcanonical\b""",
    re.IGNORECASE,
)
_OG_URL = re.compile(
    rb"""<meta\s[^>]*?property=["']?og:url["']?[^>]*?content=["']?([^"'>\s]+)|"""
    rb"""<meta\s[^>]*?content=["']?([^"'>\s]+)["']?[^>]*?property=["']?og:url\b""",
    re.IGNORECASE,
)
_HTML_SUFFIXES = (".html", ".htm")


def url_from_markup(body: bytes) -> str | None:
    """The URL the page head declares, if any (looks at the first 64 KiB):
    ``<link rel="canonical">``, else ``og:url``.

    >>> url_from_markup(b'<meta property="og:url" content="http://x/og">'
    ...                 b'<link rel="canonical" href="http://x/c?a=1&amp;b=2">')
    'http://x/c?a=1&b=2'
    >>> url_from_markup(b'<meta content="http://x/og" property="og:url">')
    'http://x/og'
    """
    head = body[:65536]
    for pattern in (_CANONICAL, _OG_URL):
        m = pattern.search(head)
        if m:
            raw = next(g for g in m.groups() if g)
            url = raw.decode("ascii", errors="ignore").replace("&amp;", "&")
            if url:
                return url
    return None


def _sidecar(path: Path) -> dict:
    side = path.with_name(path.name + ".json")
    if side.exists():
        return json.loads(side.read_text(encoding="utf-8"))
    return {}


def read_html_file(path: Path) -> RawRecord:
    body = path.read_bytes()
    meta = _sidecar(path)
    url = meta.get("url") or url_from_markup(body) or path.resolve().as_uri()
    if "fetched_at" in meta:
        fetched_at = datetime.fromisoformat(meta["fetched_at"].replace("Z", "+00:00"))
    else:
        fetched_at = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    headers = dict(meta.get("headers") or {})
    return RawRecord(
        url=url,
        body=body,
        status=int(meta.get("status", 200)),
        headers=headers,
        final_url=meta.get("final_url") or url,
        fetched_at=fetched_at,
        source=str(path),
    )


def read_html_folder(path: Path) -> Iterator[RawRecord]:
    """Every ``.html``/``.htm`` file under ``path`` (or ``path`` itself), in name order."""
    if path.is_file():
        yield read_html_file(path)
        return
    for file in sorted(p for p in path.rglob("*") if p.suffix.lower() in _HTML_SUFFIXES):
        yield read_html_file(file)


def read_mixed_folder(path: Path) -> Iterator[RawRecord]:
    """HTML files, then every WARC file, of a folder (the bundled sample is such a folder)."""
    from kznews.acquire.warc import read_warc

    yield from read_html_folder(path)
    for warc in sorted(path.glob("*.warc*")):
        yield from read_warc(warc)
