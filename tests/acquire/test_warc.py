"""WARC round trip, the mixed sample folder, and the pure crawl policy."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

from kznews.acquire import open_source
from kznews.acquire.base import RawRecord
from kznews.acquire.policy import (
    address_refusal,
    backoff_delay,
    page_kind,
    parse_networks,
    retry_after_seconds,
    robots_parser,
    url_refusal,
)
from kznews.acquire.warc import WarcSink

ROOT = Path(__file__).resolve().parents[2]


def test_warc_round_trip(tmp_path: Path) -> None:
    body = "<html><meta charset=windows-1251>Қ</html>".encode("cp1251", "xmlcharrefreplace")
    recs = [
        RawRecord(
            url="http://www.old.exclusive.kz/a/b/1/",
            body=body,
            status=200,
            headers={"Content-Type": "text/html; charset=windows-1251", "ETag": '"e1"'},
            fetched_at=datetime(2026, 11, 24, 19, 0, 5, tzinfo=UTC),
        ),
        RawRecord(
            url="http://old.exclusive.kz/a/b/1",
            body=b"<html>2</html>",
            status=404,
            headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"},
            final_url="http://www.old.exclusive.kz/a/b/1/",
            fetched_at=datetime(2026, 11, 24, 19, 1, tzinfo=UTC),
        ),
    ]
    path = tmp_path / "x.warc.gz"
    with WarcSink(path, info={"software": "test"}) as sink:
        for r in recs:
            sink.write(r)
    back = list(open_source(path))
    assert [(r.url, r.final_url or r.url, r.status, r.body, r.fetched_at) for r in back] == [
        (r.url, r.final_url or r.url, r.status, r.body, r.fetched_at) for r in recs
    ]
    assert back[0].content_type == "text/html; charset=windows-1251"
    assert back[0].headers["ETag"] == '"e1"'
    assert "Content-Encoding" not in back[1].headers  # the stored body is decoded


def test_sample_folder_has_unique_urls_with_charset() -> None:
    recs = list(open_source(ROOT / "sample"))
    assert len(recs) > 250
    assert len({r.url for r in recs}) == len(recs)
    assert all(r.status == 200 and "charset=" in (r.content_type or "") for r in recs)
    assert all(r.fetched_at.year in (2024, 2026) for r in recs)
    assert {"utf-8", "windows-1251"} <= {r.content_type.split("=")[-1] for r in recs}


def test_url_and_address_rules() -> None:
    allowed = ("exclusive.kz", "www.old.exclusive.kz")
    assert url_refusal("https://exclusive.kz/x/", allowed) is None
    assert url_refusal("https://evil.kz/", allowed) == "host_not_allowed"
    assert url_refusal("ftp://exclusive.kz/", allowed) == "bad_scheme"
    assert url_refusal("http://u:p@exclusive.kz/", allowed) == "credentials_in_url"
    nets = parse_networks(["127.0.0.1/32"])
    assert address_refusal(["93.184.216.34"], []) is None
    for private in ("10.0.0.1", "192.168.1.1", "169.254.169.254", "::1", "fe80::1", "127.0.0.1"):
        assert address_refusal([private], []) == "private_address"
    assert address_refusal(["127.0.0.1"], nets) is None
    assert address_refusal(["127.0.0.2"], nets) == "private_address"


def test_retry_rules() -> None:
    assert retry_after_seconds("7") == 7.0
    when = datetime(2026, 11, 25, 12, 0, 30, tzinfo=UTC)
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Wed, 25 Nov 2026 12:00:30 GMT", now) == 30.0 == (when - now).seconds
    assert retry_after_seconds("soon") is None
    rng = random.Random(1)  # noqa: S311 - jitter, not security
    delays = [backoff_delay(a, 1.0, rng) for a in range(4)]
    assert all(0.5 * 2**a <= d <= 1.5 * 2**a for a, d in enumerate(delays))
    assert backoff_delay(20, 1.0, rng, cap_s=60) <= 90


def test_robots_and_page_kinds() -> None:
    rp = robots_parser("User-agent: *\nDisallow: /search/\n", 200)
    assert not rp.can_fetch("kznews", "http://www.old.exclusive.kz/search/?q=1")
    assert rp.can_fetch("kznews", "http://www.old.exclusive.kz/a/b/1/")
    assert robots_parser(None, 404).can_fetch("kznews", "http://x/")
    assert not robots_parser(None, 503).can_fetch("kznews", "http://x/")
    assert not robots_parser(None, 429).can_fetch("kznews", "http://x/")  # for now, not 4xx
    assert not robots_parser(None, None).can_fetch("kznews", "http://x/")
    assert page_kind("http://www.old.exclusive.kz/expertiza/smart/?PAGEN_1=3") == "listing"
    assert page_kind("http://www.old.exclusive.kz/expertiza/smart/13178/") == "article"
    assert (
        page_kind("https://exclusive.kz/expertiza/smart/13178?id=1&post_action=like") == "article"
    )
    assert page_kind("https://exclusive.kz/category/novosti/page/2/") == "listing"
    assert page_kind("https://exclusive.kz/some-article-slug/") == "article"


def test_a_canonical_link_wins_over_an_earlier_og_url(tmp_path) -> None:
    from kznews.acquire.folder import read_html_file, url_from_markup

    head = (b'<html><head><meta property="og:url" content="http://www.old.exclusive.kz/og/"/>'
            b'<link href="http://www.old.exclusive.kz/expertiza/smart/13178/" rel="canonical"/>'
            b"</head><body></body></html>")
    assert url_from_markup(head) == "http://www.old.exclusive.kz/expertiza/smart/13178/"
    page = tmp_path / "p.html"
    page.write_bytes(head)
    assert read_html_file(page).url == "http://www.old.exclusive.kz/expertiza/smart/13178/"
    only_og = b'<meta content="http://www.old.exclusive.kz/og/" property="og:url">'
    assert url_from_markup(only_og) == "http://www.old.exclusive.kz/og/"
    assert url_from_markup(b"<html><body>no head</body></html>") is None
