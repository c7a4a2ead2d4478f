"""The extraction engine: one page's bytes in, the rows of every contract table out. No I/O.

Order of work for a page: refuse what cannot be a page (empty, oversized, HTTP error, binary)
with a quarantine reason; decode; parse once with lexbor (selectolax) and drop ``<script>``,
``<style>``, ``<noscript>`` and ``<template>``; choose a site profile; take each field from the
profile's selectors, else from text patterns, else (title and body) from trafilatura; tag each
row with the method that produced it. Values that cannot be read are left null, never guessed.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from kznews.extract import text as tx
from kznews.extract.encoding import decode_html
from kznews.extract.profiles import PROFILES, ListingSpec, SiteProfile
from kznews.extract.urls import (
    UrlInfo,
    absolutize,
    canonical_article_url,
    classify_url,
    host_of,
)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
_DROP_TAGS = ["script", "style", "noscript", "template", "iframe", "svg"]
PATTERN = "pattern"
GENERIC = "trafilatura"


@dataclass
class PageExtraction:
    """Everything one page yields. ``page`` is None exactly when the page is quarantined."""

    url: str
    page: dict[str, Any] | None = None
    rates: list[dict[str, Any]] = field(default_factory=list)
    headlines: list[dict[str, Any]] = field(default_factory=list)
    articles: list[dict[str, Any]] = field(default_factory=list)
    listing_items: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    rubric_name: str | None = None
    pager_pages: int | None = None
    next_page: str | None = None

    @property
    def quarantined(self) -> bool:
        return self.page is None

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "pages": [self.page] if self.page else [],
            "rates": self.rates,
            "headlines": self.headlines,
            "articles": self.articles,
            "listing_items": self.listing_items,
            "quarantine": self.quarantine,
        }


# --------------------------------------------------------------------------------------------
# small selector helpers
# --------------------------------------------------------------------------------------------


def _first(root: LexborHTMLParser | LexborNode, selectors: tuple[str, ...]) -> LexborNode | None:
    for sel in selectors:
        node = root.css_first(sel)
        if node is not None:
            return node
    return None


def _all(root: LexborHTMLParser | LexborNode, selectors: tuple[str, ...]) -> list[LexborNode]:
    for sel in selectors:
        nodes = root.css(sel)
        if nodes:
            return nodes
    return []


# Elements whose edges separate words: a line break before and after each (as a browser lays
# them out). Inline elements (b, i, a, span, ...) add nothing, so a word split by markup
# (``<b>Ка</b>зах``) stays one word.
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
    "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
    "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hgroup", "hr", "html", "legend", "li",
    "main", "marquee", "menu", "nav", "ol", "optgroup", "option", "p", "pre", "section",
    "summary", "table", "tbody", "td", "tfoot", "th", "thead", "title", "tr", "ul",
})


def _text(node: LexborNode | None) -> str:
    """The text of ``node`` and its descendants, with ``<br>`` and the edges of block elements
    as line breaks (callers collapse or split whitespace); inline elements add nothing.

    lexbor's own ``text()`` joins text nodes with one separator for all: "" glues words at
    ``<br>`` and block edges (``переходит<br>на``), a space splits words at inline tags
    (``<b>Ка</b>зах``). Walks iteratively: no recursion limit on deeply nested markup.
    """
    if node is None:
        return ""
    cur = node.child
    if cur is not None and cur.next is None and cur.tag == "-text":
        return cur.text_content or ""  # the common case: one text node (a link, a date)
    blocks = _BLOCK_TAGS
    out: list[str] = []
    parents: list[tuple[LexborNode, bool]] = []  # open elements, and whether each is a block
    while True:
        while cur is None:
            if not parents:
                return "".join(out)
            parent, is_block = parents.pop()
            if is_block:
                out.append("\n")
            cur = parent.next
        tag = cur.tag
        if tag == "-text":
            out.append(cur.text_content or "")
        elif tag == "br":
            out.append("\n")
        elif tag and tag[0] != "-":  # an element (not a comment or doctype)
            is_block = tag in blocks
            if is_block:
                out.append("\n")
            child = cur.child
            if child is not None:
                parents.append((cur, is_block))
                cur = child
                continue
            if is_block:
                out.append("\n")
        cur = cur.next


def _loose_text(node: LexborNode | None) -> str:
    """The text of ``node`` with a space between every two text nodes (lexbor's own join).

    Never glues words at ``<br>`` or block edges, but splits a word at inline tags
    (``<b>Ка</b>зах`` -> ``Ка зах``): for patterns of numbers and codes only (date lines,
    rates, pager numbers, listing dates), whose whitespace-tolerant regexes do not care,
    and which it reads at C speed. Words (titles, bodies, authors) come from :func:`_text`.
    """
    return "" if node is None else (node.text(deep=True, separator=" ", strip=False) or "")


_CONTROL_BYTES = bytes([*range(0, 9), *range(14, 32)])


def _looks_binary(body: bytes) -> bool:
    head = body[:8192]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls > len(head) * 0.05


# --------------------------------------------------------------------------------------------
# profile choice
# --------------------------------------------------------------------------------------------


def choose_profile(
    tree: LexborHTMLParser, url: str, profiles: tuple[SiteProfile, ...] = PROFILES
) -> SiteProfile | None:
    """The profile with the most markers present; host breaks ties; None when none fits."""
    host = host_of(url)
    best: tuple[int, int, SiteProfile] | None = None
    for profile in profiles:
        score = sum(1 for sel in profile.markers if tree.css_first(sel) is not None)
        host_match = 1 if host in profile.hosts else 0
        if score == 0:
            continue
        key = (score, host_match, profile)
        if best is None or key[:2] > best[:2]:
            best = key
    return best[2] if best else None


# --------------------------------------------------------------------------------------------
# field extractors: each returns (value, method)
# --------------------------------------------------------------------------------------------


def _shown_on(tree, profile, page_text: Callable[[], str]) -> tuple[date | None, str | None]:
    if profile and profile.date_line:
        node = _first(tree, profile.date_line)
        if node is not None:
            d = tx.parse_date_line(_loose_text(node))
            if d:
                return d, f"profile:{profile.name}"
    d = tx.parse_date_line(page_text())
    return (d, PATTERN) if d else (None, None)


def _rates(
    tree, profile, header_text: Callable[[], str]
) -> tuple[list[tuple[str, str, Any]], str | None]:
    if profile and profile.rates:
        for sel in profile.rates:
            node = tree.css_first(sel)
            if node is not None:
                found = tx.find_rates(_loose_text(node))
                if found:
                    return found, f"profile:{profile.name}"
    found = tx.find_rates(header_text())
    return (found, PATTERN) if found else ([], None)


def _headlines(tree, profile, base_url) -> tuple[list[tuple[str, str | None]], str | None]:
    if not profile or not profile.ticker_links:
        return [], None
    out = []
    for a in _all(tree, profile.ticker_links):
        title = tx.collapse_ws(_text(a))
        if title:
            out.append((title, absolutize(a.attributes.get("href"), base_url)))
    return out, (f"profile:{profile.name}" if out else None)


def _paragraphs(nodes: list[LexborNode]) -> list[str]:
    paras: list[str] = []
    for node in nodes:
        if node.tag == "p":
            t = _text(node).strip()
            if t:
                paras.append(t)
            continue
        inner = node.css("p")
        if inner:
            paras.extend(t for t in (_text(p).strip() for p in inner) if t)
        else:
            # a container without <p>: its lines (source newlines, <br>, block edges)
            paras.extend(t for t in (ln.strip() for ln in _text(node).split("\n")) if t)
    return paras


def _article_from_profile(tree, profile) -> tuple[str | None, list[str]]:
    if not profile:
        return None, []
    title_node = _first(tree, profile.article_title)
    title = tx.collapse_ws(_text(title_node)) if title_node is not None else None
    paras = _paragraphs(_all(tree, profile.article_body)) if profile.article_body else []
    return title or None, paras


MIN_GENERIC_BODY_CHARS = 200


def _without_known_blocks(html: str, profile: SiteProfile | None) -> str:
    """The page without the blocks the profile knows are not the article (header, ticker,
    listing, pager), so a generic extractor cannot mistake them for the article text."""
    tree = LexborHTMLParser(html)
    tree.strip_tags(_DROP_TAGS)
    if profile is not None:
        selectors = (*profile.date_line, *profile.rates, *profile.ticker_links,
                     *profile.rubric_name, *profile.pager)
        if profile.listing is not None:
            selectors += profile.listing.item
        root = tree.root
        root_id = root.mem_id if root is not None else None
        for sel in selectors:
            for node in tree.css(sel):
                # the root element (a mangled page may carry a block's class on <html>)
                # cannot be removed; its non-article blocks are left for the checks below
                if node.mem_id != root_id and node.parent is not None:
                    node.decompose()
    return tree.html or ""


def _is_boilerplate(paragraph: str) -> bool:
    return bool(
        tx.DATE_LINE_RE.search(paragraph)
        or tx.LISTING_DT_RE.search(paragraph)
        or tx.RATE_RE.search(paragraph)
        or len(paragraph) < 3
    )


def _article_generic(html: str, page_text: str = "") -> tuple[str | None, list[str]]:
    """Generic main-text extraction (trafilatura), used only when the profile finds nothing.

    Its output is accepted only if, after dropping lines that are dates, rates or too short,
    it still holds a real text (``MIN_GENERIC_BODY_CHARS``): a missing body stays missing.
    """
    from trafilatura import bare_extraction  # imported here: slow, and rarely needed

    try:
        doc = bare_extraction(html, fast=True, with_metadata=True, include_comments=False,
                              include_tables=False)
    except Exception:  # trafilatura's failures on odd markup must not stop a batch
        return None, []
    if doc is None:
        return None, []
    get = doc.get if isinstance(doc, dict) else lambda k: getattr(doc, k, None)
    title = tx.collapse_ws(get("title") or "") or None
    paras = [p.strip() for p in (get("text") or "").split("\n") if p.strip()]
    if title and paras and tx.collapse_ws(paras[0]) == title:
        paras = paras[1:]  # trafilatura repeats the heading as the first line
    paras = [p for p in paras if not _is_boilerplate(p)]
    if sum(len(p) for p in paras) < MIN_GENERIC_BODY_CHARS:
        paras = []
    return title, paras


def _listing(
    tree, spec: ListingSpec | None, profile_name: str, base_url: str
) -> tuple[list[dict[str, Any]], str | None]:
    if spec is None:
        return [], None
    items: list[dict[str, Any]] = []
    for node in _all(tree, spec.item):
        link = _first(node, spec.link)
        if link is None:
            continue
        url = absolutize(link.attributes.get("href"), base_url)
        title = tx.collapse_ws(_text(link))
        if not url or not title:
            continue
        author_node = _first(node, spec.author) if spec.author else None
        author = tx.collapse_ws(_text(author_node)) or None if author_node is not None else None
        date_text = _text(_first(node, spec.date)) if spec.date else ""
        published_at, published_on = _parse_listing_date(date_text, spec.date_format)
        items.append(
            {"url": url, "title": title, "author": author,
             "published_at": published_at, "published_on": published_on}
        )
    return items, (f"profile:{profile_name}" if items else None)


def _parse_listing_date(text: str, fmt: str) -> tuple[datetime | None, date | None]:
    if fmt == "ru_date":
        d = tx.parse_ru_date(text)
        return None, d
    ts = tx.parse_listing_datetime(text)
    if ts is None:
        return None, None
    return ts, tx.local_date(ts)


def _listing_by_pattern(tree, base_url: str, profiles) -> list[dict[str, Any]]:
    """Fallback: blocks holding an article link and an old-site listing date.

    Used when the profile's listing selectors find nothing (renamed classes). A block is the
    nearest ancestor of an article link whose text contains a ``dd.mm.yyyy - HH:MM`` date.
    """
    items: list[dict[str, Any]] = []
    seen_blocks: set[int] = set()
    for a in tree.css("a[href]"):
        url = absolutize(a.attributes.get("href"), base_url)
        if not url or classify_url(url, profiles).kind != "article":
            continue
        title = tx.collapse_ws(_text(a))
        if not title:
            continue
        # the block: nearest ancestor (up to 3 levels) holding exactly one listing date
        block, node = None, a.parent
        for _ in range(3):
            if node is None:
                break
            n_dates = len(tx.LISTING_DT_RE.findall(_loose_text(node)))
            if n_dates == 1:
                block = node
                break
            if n_dates > 1:
                break
            node = node.parent
        if block is None:
            continue
        key = block.mem_id
        if key in seen_blocks:
            # A second link of the same block (caption then title): keep the later text.
            items[-1]["title"] = title
            continue
        seen_blocks.add(key)
        lines = [tx.collapse_ws(t) for t in block.text(separator="\n").split("\n")]
        titles = {tx.collapse_ws(_text(x)) for x in block.css("a")}
        others = [
            ln for ln in lines
            if ln and ln not in titles and not tx.LISTING_DT_RE.search(ln) and ln != "|"
        ]
        ts = tx.parse_listing_datetime(_loose_text(block))
        items.append(
            {
                "url": url,
                "title": title,
                "author": others[0] if len(others) == 1 else None,
                "published_at": ts,
                "published_on": tx.local_date(ts) if ts else None,
            }
        )
    return items


_INT = re.compile(r"\d{1,6}")
_PAGER_TEXT = re.compile(r"Страниц[ыа]?\s*:\s*([\d\s.…]+)")


def _pager(tree, profile, page_text: Callable[[], str], has_listing: bool) -> int | None:
    """Number of listing pages: the largest number in the pager (the current page may be
    plain text, the others links); 1 when a listing has no pager; None without a listing."""
    if profile and profile.pager:
        nums = [int(n) for node in _all(tree, profile.pager)
                for n in _INT.findall(_loose_text(node))]
        if nums:
            return max(nums)
    m = _PAGER_TEXT.search(page_text())
    if m:
        nums = [int(n) for n in _INT.findall(m.group(1))]
        if nums:
            return max(nums)
    return 1 if has_listing else None


# --------------------------------------------------------------------------------------------
# the public entry point
# --------------------------------------------------------------------------------------------


def _quarantine(url: str, reason: str, detail: str, body: bytes, sha: str, status, fetched_at):
    return {
        "source": url,
        "stage": "extract",
        "reason": reason,
        "detail": detail,
        "content_sha256": sha,
        "size_bytes": len(body),
        "status": status,
        "fetched_at": fetched_at,
    }


def extract_page(
    body: bytes,
    url: str,
    content_type: str | None = None,
    *,
    status: int | None = 200,
    fetched_at: datetime | None = None,
    sha256: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    profiles: tuple[SiteProfile, ...] = PROFILES,
    final_url: str | None = None,
) -> PageExtraction:
    """Extract every contract table's rows from one page. Pure: no I/O, never raises on input.

    ``url`` is the page's key (the URL fetched: every row's ``page_url``); ``final_url``,
    where a redirect led, is the document's own address: relative links resolve against it,
    and the page is classified by it (its kind, article id and rubric). Default: ``url``.

    ``profiles`` are the site layouts to recognise (default: both Exclusive.kz layouts);
    a third site is one more :class:`~kznews.extract.profiles.SiteProfile` in that tuple.

    Example::

        >>> from pathlib import Path
        >>> from kznews.extract import extract_page
        >>> html = Path("tests/fixtures/site/page_13178.html").read_bytes()
        >>> out = extract_page(html, "http://www.old.exclusive.kz/expertiza/smart/13178/")
        >>> out.page["shown_on"], out.rates[0]["base_currency"], str(out.rates[0]["rate"])
        (datetime.date(2024, 5, 17), 'USD', '425.67')
        >>> out.articles[0]["article_id"], len(out.listing_items), out.listing_items[0]["author"]
        ('13178', 34, 'Редакция Exclusive')

    A page that cannot be used comes back with ``page=None`` and one ``quarantine`` row
    whose ``reason`` says why (``empty_body``, ``too_large``, ``http_status``, ``not_html``,
    ``no_content``, ``parse_error``). A page that is kept but lacks what its URL promises
    also gets a ``quarantine`` row: ``article_incomplete`` (an article URL without a title
    or a body) and ``listing_empty`` (a listing URL without a single listing item).
    """
    body = body or b""
    sha = sha256 or hashlib.sha256(body).hexdigest()
    out = PageExtraction(url=url)

    def refuse(reason: str, detail: str) -> PageExtraction:
        out.quarantine.append(_quarantine(url, reason, detail, body, sha, status, fetched_at))
        return out

    if not body.strip():
        return refuse("empty_body", "the response body is empty")
    if len(body) > max_bytes:
        return refuse("too_large", f"{len(body)} bytes exceeds the {max_bytes}-byte page limit")
    if status is not None and not 200 <= status < 300:
        return refuse("http_status", f"HTTP {status}: not a page to extract")
    if _looks_binary(body):
        return refuse("not_html", "the body looks binary (NUL or control bytes), not HTML")
    try:
        return _extract(body, url, content_type, status, fetched_at, sha, out, profiles,
                        final_url or url)
    except Exception as exc:  # a parser bug must cost one page, never the batch
        out.page = None
        out.rates, out.headlines, out.articles, out.listing_items = [], [], [], []
        return refuse("parse_error", f"{type(exc).__name__}: {exc}"[:500])


def _extract(body, url, content_type, status, fetched_at, sha, out: PageExtraction, profiles,
             address: str):
    """``url``: the page's key; ``address``: where the document is (after redirects)."""
    html, encoding, _how = decode_html(body, content_type)
    tree = LexborHTMLParser(html)
    tree.strip_tags(_DROP_TAGS)
    info: UrlInfo = classify_url(address, profiles)
    profile = choose_profile(tree, address, profiles)
    pname = profile.name if profile else None
    body_node = tree.body if tree.body is not None else tree.root
    # the page's text: read once, and only when a fallback needs it
    loose_text = functools.cache(functools.partial(_loose_text, body_node))

    shown_on, _m_shown = _shown_on(tree, profile, loose_text)

    # Article: profile selectors, else generic main-text extraction for article URLs.
    title, paras = _article_from_profile(tree, profile)
    article_method = f"profile:{pname}" if title and paras else None
    if not (title and paras) and (info.kind == "article" or profile is None):
        g_title, g_paras = _article_generic(_without_known_blocks(html, profile))
        title = title or g_title
        paras = paras or g_paras
        if title and paras:
            article_method = GENERIC

    # Rates only from the page header: never from the article text below the title.
    def header_text() -> str:
        if not tx.RATE_RE.search(loose_text()):
            return ""  # no rate anywhere: spare the word-true reading of the page
        # the title is whitespace-collapsed: look for it in the collapsed page text
        text = tx.collapse_ws(_text(body_node))
        return text[: text.index(title)] if title and title in text else text

    rates, rates_method = _rates(tree, profile, header_text)

    headlines, headlines_method = _headlines(tree, profile, address)

    spec = profile.listing if profile else None
    items, items_method = _listing(tree, spec, pname or "", address)
    if not items and (profile is None or profile.listing_date_fallback):
        items = _listing_by_pattern(tree, address, profiles)
        items_method = PATTERN if items else None

    rubric_node = _first(tree, profile.rubric_name) if profile else None
    rubric_name = tx.collapse_ws(_text(rubric_node)) or None if rubric_node is not None else None
    if rubric_name and title and paras and rubric_name == title:
        rubric_name = None  # the h1 of an article page is not a rubric name
    out.rubric_name = rubric_name
    out.pager_pages = _pager(tree, profile, loose_text, bool(items or rubric_name))
    if profile and profile.next_page:
        nxt = _first(tree, profile.next_page)
        out.next_page = absolutize(nxt.attributes.get("href"), address) if nxt is not None else None

    has_article = bool(title and paras)
    common = {"shown_on": shown_on, "fetched_at": fetched_at}
    for base, quote, value in rates:
        out.rates.append(
            {"page_url": url, "base_currency": base, "quote_currency": quote, "rate": value,
             "extraction_method": rates_method, **common}
        )
    for i, (h_title, h_url) in enumerate(headlines, start=1):
        out.headlines.append(
            {"page_url": url, "position": i, "title": h_title, "url": h_url,
             "language": tx.detect_language(h_title), "extraction_method": headlines_method,
             **common}
        )
    if has_article:
        article_body = "\n\n".join(paras)
        published_at, published_on = _article_date(tree, profile)
        rubric = info.rubric
        if profile is not None and profile.article_category:
            cat = _first(tree, profile.article_category)
            if cat is not None:
                href = absolutize(cat.attributes.get("href"), address) or ""
                rubric = classify_url(href, profiles).rubric or rubric
        out.articles.append(
            {"url": canonical_article_url(info, _canonical_link(tree, address), address, profiles),
             "page_url": url, "article_id": info.article_id, "site": info.site,
             "section": info.section, "rubric": rubric, "title": title, "body": article_body,
             "language": tx.detect_article_language(f"{title}\n{article_body}"),
             "published_at": published_at, "published_on": published_on,
             "extraction_method": article_method, **common}
        )
    for i, item in enumerate(items, start=1):
        item_info = classify_url(item["url"], profiles)
        out.listing_items.append(
            {"page_url": url, "position": i, "url": item["url"],
             "article_id": item_info.article_id, "section": item_info.section,
             "rubric": item_info.rubric or info.rubric,
             "rubric_name": rubric_name, "title": item["title"], "author": item["author"],
             "published_at": item["published_at"], "published_on": item["published_on"],
             "extraction_method": items_method, **common}
        )

    if not (shown_on or rates or headlines or has_article or items or profile):
        # Nothing known on the page and no layout recognised: set it aside with the reason.
        # (A page of a known layout without data blocks, e.g. a front page, is an "other" page.)
        out.quarantine.append(
            _quarantine(url, "no_content",
                        f"none of the expected blocks found (layout: {pname or 'unknown'})",
                        body, sha, status, fetched_at)
        )
        return out
    if info.kind == "article" and not has_article:
        missing = "title" if not title else "body"
        out.quarantine.append(
            _quarantine(url, "article_incomplete",
                        f"article URL but no {missing} found; page rows kept",
                        body, sha, status, fetched_at)
        )
    if info.kind == "listing" and not items:
        out.quarantine.append(
            _quarantine(url, "listing_empty",
                        f"listing URL but no listing item found (layout: {pname or 'unknown'}); "
                        "page rows kept",
                        body, sha, status, fetched_at)
        )

    page_type = "article" if has_article else ("listing" if items else info.kind)
    out.page = {
        "url": url, "page_type": page_type if page_type in ("article", "listing") else "other",
        "layout": pname, "shown_on": shown_on, "fetched_at": fetched_at,
        "content_sha256": sha, "encoding": encoding, "status": status,
        "article_id": info.article_id, "section": info.section, "rubric": info.rubric,
        "rubric_name": rubric_name, "pager_pages": out.pager_pages,
        "n_rates": len(out.rates), "n_headlines": len(out.headlines),
        "n_listing_items": len(out.listing_items), "has_article": has_article,
        "extraction_method": f"profile:{pname}" if pname else GENERIC,
    }
    return out


def _canonical_link(tree, base_url: str) -> str | None:
    node = tree.css_first("link[rel='canonical']")
    return absolutize(node.attributes.get("href"), base_url) if node is not None else None


def _article_date(tree, profile) -> tuple[datetime | None, date | None]:
    if profile is None or not profile.article_date:
        return None, None
    node = _first(tree, profile.article_date)
    if node is None:
        return None, None
    iso = node.attributes.get("datetime")
    if iso:
        ts = tx.parse_iso_datetime(iso)
        if ts:
            return ts, tx.local_date(ts)
    d = tx.parse_ru_date(_text(node))
    return None, d
