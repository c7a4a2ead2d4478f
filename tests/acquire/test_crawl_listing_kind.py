"""A listing is re-fetched unconditionally whatever its URL form (hyphenated or digit slugs,
any Bitrix ``PAGEN_n``, WordPress ``/page/N/`` and ``?paged=N``): the crawler and the
extractor share one URL classifier. A listing asked for with ``If-None-Match`` may come back
304, and the new articles it lists would never be found."""

from __future__ import annotations

import http.server
import socketserver
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kznews.acquire.crawl import Crawler, run_crawl
from kznews.acquire.policy import page_kind
from kznews.acquire.state import CrawlState
from kznews.acquire.warc import read_warc
from kznews.config import Settings
from kznews.extract.urls import classify_url
from tests.local_crawl import local_crawl_settings

OLD = "http://www.old.exclusive.kz"
LISTING = "/expertiza/smart-city/"


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        (OLD + "/expertiza/smart-city/", "listing"),
        (OLD + "/x/smart2/?PAGEN_1=3", "listing"),
        (OLD + "/expertiza/smart/?PAGEN_2=4", "listing"),
        (OLD + "/", "listing"),
        (OLD + "/expertiza/", "listing"),
        ("https://exclusive.kz/page/2/", "listing"),
        ("https://exclusive.kz/?paged=2", "listing"),
        ("https://exclusive.kz/category/novosti/?paged=2", "listing"),
        (OLD + "/expertiza/smart-city/13178/", "article"),
        ("https://exclusive.kz/some-article-slug/", "article"),
    ],
)
def test_page_kind_agrees_with_the_extractors_classifier(url: str, kind: str) -> None:
    assert page_kind(url) == kind
    if classify_url(url).kind != "other":
        assert classify_url(url).kind == page_kind(url)


class _Site:
    """A rubric whose listing always answers 304 to its ETag (as a cache in front of the
    site may, whatever changed behind it); ``items`` are the article ids it lists."""

    def __init__(self) -> None:
        self.items = [998]
        self.requests: list[tuple[str, str | None]] = []


def _handler(site: _Site) -> type[http.server.BaseHTTPRequestHandler]:
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requests.append((self.path, self.headers.get("If-None-Match")))
            if self.path == "/robots.txt":
                self._send(404, b"", "text/plain")
            elif self.path == LISTING and self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.send_header("ETag", '"v1"')
                self.end_headers()
            elif self.path == LISTING:
                items = "".join(
                    f'<div class="news-item"><a class="title" href="{LISTING}{i}/">A{i}</a></div>'
                    for i in site.items
                )
                self._send(200, f"<html><body>{items}</body></html>".encode(), "text/html")
            else:
                self._send(200, b"<html><body><p>x</p></body></html>", "text/html")

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype + "; charset=utf-8")
            self.send_header("ETag", '"v1"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return H


@pytest.fixture
def small_site() -> Iterator[tuple[_Site, int]]:
    site = _Site()
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _handler(site))
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield site, srv.server_address[1]
    finally:
        srv.shutdown()
        srv.server_close()


def _small_settings(tmp_path: Path, port: int) -> Settings:
    return local_crawl_settings(
        tmp_path, (f"www.old.exclusive.kz=http://127.0.0.1:{port}",),
        per_host_concurrency=2, max_retries=1, retry_budget_s=5.0,
    )


def test_a_hyphenated_listing_is_fetched_unconditionally_and_its_new_article_found(
    small_site: tuple[_Site, int], tmp_path: Path
) -> None:
    site, port = small_site
    s = _small_settings(tmp_path, port)
    night1 = run_crawl(s, start_urls=(OLD + LISTING,))
    assert night1.listings_fetched == 1 and night1.articles_fetched == 1
    assert CrawlState.load(s.state_dir).get(OLD + LISTING).kind == "listing"

    site.items = [999, 998]  # night 2: a new article on top
    site.requests.clear()
    night2 = run_crawl(s, start_urls=(OLD + LISTING,))
    assert (LISTING, None) in site.requests  # no If-None-Match on the listing
    assert night2.not_modified == 0 and night2.listings_fetched == 1
    assert OLD + LISTING + "999/" in {r.url for r in read_warc(night2.warc_path)}


def test_a_pending_listing_page_is_unseen_whatever_kind_an_old_state_gave_it(
    tmp_path: Path,
) -> None:
    """A state written when ``?PAGEN_1=2`` of a hyphenated rubric was called an article: its
    failed fetch must still make it unseen, so its pager link is followed."""
    s = Settings(home=tmp_path)
    page2 = OLD + LISTING + "?PAGEN_1=2"
    state = CrawlState.load(s.state_dir)
    now = datetime(2024, 5, 17, tzinfo=UTC)
    state.update(page2, "article", 200, {}, "ab" * 32, now)
    state.mark_pending(page2, "article", "http_503", now)
    article = OLD + LISTING + "998/"
    state.update(article, "article", 200, {}, "cd" * 32, now)
    crawler = Crawler(s, start_urls=(OLD + LISTING,), state=state)
    assert page2 not in crawler._known
    assert article in crawler._known
