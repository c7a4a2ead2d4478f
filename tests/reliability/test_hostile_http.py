"""Hostile HTTP from a local server (127.0.0.1 only): every misbehaving URL fails alone, with
a named reason, in bounded time and memory, and the crawl goes on for every other page.

Covered: slow drip, a lying (huge) Content-Length, truncated bodies, an endless chunked
stream, redirect loops and redirects to other schemes/hosts, gzip/deflate bombs (single and
stacked), corrupt and unsupported content codings, 429 storms (short and absurd Retry-After)
and wrong charsets. ``kznews.acquire.crawl`` already refused other hosts, private addresses,
simple redirect loops and oversized declared bodies (tests/acquire/test_crawl.py); the
decoded-size cap, the coding allowlist and the whole-response deadline were added for this.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from kznews.acquire.crawl import run_crawl
from kznews.acquire.warc import read_warc
from kznews.config import Settings
from kznews.extract import extract_page
from kznews.sitegen import Site, render_page
from tests.conftest import SITE
from tests.local_crawl import local_crawl_settings

from . import hostile as H
from .hostile import HostileServer

CAP = 1_000_000  # max_body_bytes in these tests


@pytest.fixture(scope="module")
def site() -> Site:
    return Site(seed=7, pages=60)


@pytest.fixture
def server(site: Site) -> Iterator[HostileServer]:
    srv = HostileServer(site).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def settings(tmp_path: Path, server: HostileServer) -> Settings:
    # the deadline ends the drip (2 tries x 3 s) and is far above what any honest page
    # takes on a loaded machine
    return local_crawl_settings(
        tmp_path, server.overrides(), max_retries=1, request_deadline_s=3.0, max_body_bytes=CAP
    )


def _linked(site: Site) -> set[str]:
    return {site.url(k) for k in site.page_keys() if not (k[0] == "old_article" and k[2] != 0)}


def _articles(site: Site) -> list[str]:
    return sorted(
        site.url(k)
        for k in site.page_keys()
        if k[0] in ("old_article", "wp_article") and not (k[0] == "old_article" and k[2] != 0)
    )


def test_each_hostile_response_fails_alone_with_its_reason(
    site: Site, server: HostileServer, settings: Settings
) -> None:
    victims = _articles(site)
    a = victims
    loop_b = "http://www.old.exclusive.kz/nowhere/loop-b/"
    plan = {
        a[0]: (H.drip(), "deadline_exceeded"),
        a[1]: (H.lying_length(), "body_too_large"),
        a[2]: (H.endless(), "body_too_large"),
        a[3]: (H.truncated(), "transport_error: RemoteProtocolError"),
        a[4]: (H.encoded(H.gzip_bomb(), "gzip"), "body_too_large"),
        a[5]: (H.encoded(H.deflate_bomb(), "deflate"), "body_too_large"),
        a[6]: (H.encoded(H.deflate_bomb(raw=True), "deflate"), "body_too_large"),
        a[7]: (H.encoded(H.double_gzip_bomb(), "gzip, gzip"), "body_too_large"),
        a[8]: (H.encoded(b"\x1f\x8b\x08\x00garbage" * 50, "gzip"), "bad_content_encoding: gzip"),
        a[9]: (H.encoded(b"x" * 100, "br"), "unsupported_content_encoding: br"),
        a[10]: (H.encoded(b"x" * 100, "gzip, gzip, gzip"), "unsupported_content_encoding"),
        a[11]: (H.redirect(loop_b), "too_many_redirects"),
        a[12]: (H.redirect("file:///etc/passwd"), "bad_scheme"),
        a[13]: (H.redirect(f"http://127.0.0.1:{server.port}/"), "host_not_allowed"),
        a[14]: (H.redirect("http://[::1]/admin"), "host_not_allowed"),
    }
    server.misbehave(loop_b, H.redirect(a[11], 307))
    for url, (behaviour, _) in plan.items():
        server.misbehave(url, behaviour)

    report = run_crawl(settings)

    reasons = {f["url"]: f["reason"] for f in report.failures}
    for url, (_, expected) in plan.items():
        assert reasons.get(url, "").startswith(expected), (url, reasons.get(url))
    assert len(report.failures) == len(plan)
    emitted = {r.url for r in read_warc(report.warc_path)}
    assert emitted == _linked(site) - set(plan)  # every other page was fetched
    # Bounded: retried at most max_retries+1 times (the non-retryable ones once).
    for url in set(plan) - {a[11]}:
        assert server.count(url) <= settings.max_retries + 1, url
    assert server.count(a[11]) + server.count(loop_b) == settings.max_redirects + 1
    assert server.count(a[1]) == 1 and server.count(a[4]) == 1
    # Nobody outside 127.0.0.1 / the allowlist was asked.
    assert {r["host"] for r in server.requests} <= {
        "www.old.exclusive.kz",
        "old.exclusive.kz",
        "exclusive.kz",
    }


def test_compression_bombs_stop_at_the_cap_in_bounded_memory(
    site: Site, server: HostileServer, settings: Settings
) -> None:
    """A 256 MiB double-gzip bomb is ~1 kB on the wire; httpx's own decoder would inflate a
    whole network chunk at once. The crawler's decoder never holds much more than the cap."""
    bombs = _articles(site)[:3]
    server.misbehave(bombs[0], H.encoded(H.double_gzip_bomb(256), "gzip, gzip"))
    server.misbehave(bombs[1], H.encoded(H.gzip_bomb(64), "gzip"))
    server.misbehave(bombs[2], H.encoded(H.deflate_bomb(64), "deflate"))
    assert len(H.double_gzip_bomb(256)) < 10_000
    tracemalloc.start()
    try:
        report = run_crawl(settings)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    reasons = {f["url"]: f["reason"] for f in report.failures}
    assert all(reasons[b] == "body_too_large" for b in bombs)
    assert report.emitted == len(_linked(site)) - 3
    # Peak Python allocations of the whole crawl (60 pages, WARC, bombs): a few caps at most.
    print(f"peak traced memory of the crawl: {peak / 1e6:.1f} MB")
    assert peak < 12 * CAP, f"peak {peak / 1e6:.1f} MB"


def test_gzip_and_deflate_pages_are_decoded_and_stored_plain(
    site: Site, server: HostileServer, settings: Settings
) -> None:
    import gzip

    a = _articles(site)
    plain = {u: render_page(site, site.lookup(u)).body for u in a[:4]}
    server.misbehave(a[0], H.encoded(gzip.compress(plain[a[0]]), "gzip"))
    server.misbehave(a[1], H.encoded(H.deflate(plain[a[1]]), "deflate"))
    server.misbehave(a[2], H.encoded(H.deflate(plain[a[2]], raw=True), "deflate"))
    server.misbehave(a[3], H.encoded(plain[a[3]], "identity"))
    report = run_crawl(settings)
    assert report.failed == 0
    records = {r.url: r for r in read_warc(report.warc_path)}
    assert set(records) == _linked(site)
    for url in a[:4]:
        assert records[url].body == plain[url], url
        assert "content-encoding" not in {k.lower() for k in records[url].headers}
    # Every request announced only the codings the crawler decodes itself.
    assert {r["headers"].get("Accept-Encoding") for r in server.requests} == {"gzip, deflate"}


def test_429_storm_is_bounded_and_a_host_asking_for_a_day_is_left_alone(
    site: Site, server: HostileServer, settings: Settings
) -> None:
    """Every article of the new site answers 429 (Retry-After 0): each is asked for
    max_retries + 1 times, no more, and the rest of that host is crawled. Five articles of
    the old site say "come back tomorrow" (Retry-After a day, past the retry budget): the
    crawler asks each at most once and no more of that host this run; what it did not
    fetch is owed to the next run, not lost."""
    from kznews.acquire.state import CrawlState

    storm = [u for u in _articles(site) if u.startswith("https://")]
    absurd = [u for u in _articles(site) if u.startswith("http://")][:5]
    for u in storm:
        server.misbehave(u, H.page(b"slow down", "text/plain", 429, {"Retry-After": "0"}))
    for u in absurd:
        server.misbehave(u, H.page(b"", "text/plain", 429, {"Retry-After": "86400"}))
    # a generous read timeout, so a loaded machine's slow answer is not mistaken for a 429
    report = run_crawl(settings.replace(max_retries=3, retry_budget_s=3.0,
                                        request_timeout_s=5.0, request_deadline_s=10.0))
    reasons = {f["url"]: f["reason"] for f in report.failures}
    assert {reasons[u] for u in storm} == {"http_429"}, reasons
    assert all(server.count(u) == 4 for u in storm)  # max_retries + 1, not more
    assert report.hosts_closed == {"www.old.exclusive.kz": 86400.0}
    assert all(server.count(u) <= 1 for u in absurd)
    old = {u for u in _linked(site) if u.startswith("http://")}
    assert {reasons[u] for u in absurd} <= {"http_429 (retry budget exhausted)",
                                           "host_closed: its Retry-After runs past this run"}
    emitted = {r.url for r in read_warc(report.warc_path)}
    new_site = {u for u in _linked(site) if u.startswith("https://")}
    assert emitted & new_site == new_site - set(storm)  # the other host went on
    pending = {r.url for r in CrawlState.load(settings.state_dir).pending()}
    not_fetched = {u for u in reasons if u in old}
    assert set(absurd) <= not_fetched <= pending  # owed to the next run
    assert report.host_pauses == 0  # Retry-After 0 pauses nothing; a day closes the host


def test_wrong_charsets_are_stored_raw_and_decoded_by_the_bytes(
    site: Site, server: HostileServer, settings: Settings
) -> None:
    """The crawler keeps bytes unchanged; extraction trusts a declared charset only when the
    bytes decode under it, so a cp1251 page labelled utf-8 (or a bogus label) still reads."""
    cp1251 = (SITE / "page_13178.cp1251.html").read_bytes()
    a = _articles(site)
    labels = [f"text/html; charset={c}" for c in ("utf-8", "x-no-such", "utf-16")] + ["text/html"]
    for url, ctype in zip(a, labels, strict=False):
        server.misbehave(url, H.page(cp1251, ctype))
    report = run_crawl(settings)
    records = {r.url: r for r in read_warc(report.warc_path)}
    for url, ctype in zip(a, labels, strict=False):
        rec = records[url]
        assert rec.body == cp1251
        out = extract_page(rec.body, "http://www.old.exclusive.kz/expertiza/smart/13178/", ctype)
        title = out.tables()["articles"][0]["title"]
        assert title.startswith("«Кселл»"), (ctype, title[:30])


def test_latin1_header_on_a_cyrillic_page() -> None:
    # a server default (charset=ISO-8859-1) must not turn a Cyrillic page into mojibake
    cp1251 = (SITE / "page_13178.cp1251.html").read_bytes()
    out = extract_page(
        cp1251,
        "http://www.old.exclusive.kz/expertiza/smart/13178/",
        "text/html; charset=ISO-8859-1",
    )
    assert out.tables()["articles"][0]["title"].startswith("«Кселл»")
