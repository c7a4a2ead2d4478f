"""What one night could not fetch is owed to the next: failed listing pages (and pages left
for ``max_pages``) are retried and count as unseen; a redirected listing page keeps its place
in its pager under its final URL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kznews.acquire.crawl import run_crawl
from kznews.acquire.state import STATE_NAME, CrawlState
from kznews.acquire.warc import read_warc
from kznews.config import Settings
from kznews.sitegen import Site
from kznews.sitegen.model import CATEGORIES, WP_PAGE_ITEMS
from kznews.sitegen.server import Fault, SiteServer, serve_site

WP_HOME = "https://exclusive.kz/"
HIDDEN_WP = 12 * len(CATEGORIES)  # more than a page per category: page 2 lists new ones


@pytest.fixture
def wp_site() -> Site:
    site = Site(seed=7, pages=500)
    site.visible_wp = site.n_wp - HIDDEN_WP
    assert min(site.category_pages(c) for c in range(len(CATEGORIES))) >= 2
    return site


@pytest.fixture
def wp_server(wp_site: Site) -> Iterator[SiteServer]:
    with serve_site(wp_site) as srv:
        yield srv


def _settings(settings: Settings, server: SiteServer) -> Settings:
    return settings.replace(
        host_overrides=(*server.overrides(), f"www.exclusive.kz={server.base_url}"),
        per_host_concurrency=8,
    )


def _new_on_page(site: Site, c: int, page: int, before: int) -> set[str]:
    idx = site.group_newest(
        c, site.visible_wp, (page - 1) * WP_PAGE_ITEMS, WP_PAGE_ITEMS, len(CATEGORIES)
    )
    return {site.url(("wp_article", w)) for w in idx if w >= before}


def test_failed_listing_page_is_retried_next_night_and_its_new_articles_fetched(
    wp_site: Site, wp_server: SiteServer, settings: Settings
) -> None:
    s = _settings(settings, wp_server)
    run_crawl(s, start_urls=(WP_HOME,))  # night 1: page 2 of every category is known
    before = wp_site.visible_wp
    wp_site.visible_wp = wp_site.n_wp  # night 2: new articles, page 2 of category 0 fails
    page2 = Site.category_url(0, 2)
    lost = _new_on_page(wp_site, 0, 2, before)
    assert lost, "the scenario needs new articles on page 2"
    wp_server.inject(page2, Fault("status", status=503, times=s.max_retries + 1))
    night2 = run_crawl(s, start_urls=(WP_HOME,))
    assert {"url": page2, "reason": "http_503", "status": 503} in night2.failures
    assert not lost & {r.url for r in read_warc(night2.warc_path)}
    row = CrawlState.load(s.state_dir).get(page2)
    assert row is not None and row.sha256 is not None and row.pending_reason == "http_503"

    # night 3: nothing new on the head (its pager link to page 2 is left alone), but the
    # page owed from night 2 is fetched first, as unseen, and so are the articles it lists
    since = len(wp_server.requests)
    night3 = run_crawl(s, start_urls=(WP_HOME,))
    assert night3.failed == 0
    assert (
        wp_server.paths_requested("exclusive.kz")[since:].count(
            "/category/" + CATEGORIES[0][0] + "/page/2/"
        )
        == 1
    )
    assert lost <= {r.url for r in read_warc(night3.warc_path)}
    state = CrawlState.load(s.state_dir)
    assert state.pending() == [] and state.get(page2).pending_since is None
    # night 4: nothing owed any more, nothing new: heads only
    night4 = run_crawl(s, start_urls=(WP_HOME,))
    assert night4.articles_fetched == 0 and night4.pager_links_skipped > 0


def test_redirected_listing_head_walks_its_pager_from_the_final_url(
    wp_site: Site, wp_server: SiteServer, settings: Settings
) -> None:
    s = _settings(settings, wp_server)
    slug = CATEGORIES[0][0]
    run_crawl(s, start_urls=(WP_HOME,))
    wp_site.visible_wp = wp_site.n_wp
    # the head is asked for under another host name and redirected to the canonical one
    head = f"https://www.exclusive.kz/category/{slug}/"
    wp_server.inject(head, Fault("redirect", status=301, location=Site.category_url(0, 1)))
    since = len(wp_server.requests)
    night = run_crawl(s, start_urls=(head,))
    asked = wp_server.paths_requested("exclusive.kz")[since:]
    assert asked.count(f"/category/{slug}/") == 1  # the final URL is not fetched again
    assert f"/category/{slug}/page/2/" in asked  # the head listed new items: page 2 follows
    assert night.failed == 0


def test_page_limit_leaves_the_rest_owed_to_the_next_run(
    wp_server: SiteServer, settings: Settings
) -> None:
    s = _settings(settings, wp_server).replace(max_pages=5)
    first = run_crawl(s, start_urls=(WP_HOME,))
    assert first.page_limit_reached
    owed = {r.url for r in CrawlState.load(s.state_dir).pending()}
    assert owed and all(
        r == "page_limit"
        for r in (CrawlState.load(s.state_dir).get(u).pending_reason for u in owed)
    )
    since = len(wp_server.requests)
    run_crawl(s.replace(max_pages=100_000), start_urls=(WP_HOME,))
    scheme_host = "https://exclusive.kz"
    asked = {scheme_host + r["path"] for r in wp_server.requests[since:]}
    assert owed <= asked


def test_state_written_before_the_pending_columns_still_loads(tmp_path: Path) -> None:
    ts = pa.timestamp("us", tz="UTC")
    old_schema = pa.schema(
        [
            pa.field("url", pa.string(), nullable=False),
            pa.field("kind", pa.string()),
            pa.field("status", pa.int32()),
            pa.field("etag", pa.string()),
            pa.field("last_modified", pa.string()),
            pa.field("sha256", pa.string()),
            pa.field("first_seen", ts),
            pa.field("last_fetched", ts),
            pa.field("last_changed", ts),
        ]
    )
    now = datetime(2024, 5, 1, tzinfo=UTC)
    row = {
        "url": "https://exclusive.kz/category/x/page/2/",
        "kind": "listing",
        "status": 200,
        "etag": '"e"',
        "last_modified": None,
        "sha256": "ab" * 32,
        "first_seen": now,
        "last_fetched": now,
        "last_changed": now,
    }
    pq.write_table(pa.Table.from_pylist([row], old_schema), tmp_path / STATE_NAME)
    state = CrawlState.load(tmp_path)
    got = state.get(row["url"])
    assert got is not None and got.sha256 == row["sha256"] and got.pending_since is None
    assert state.pending() == []
    state.mark_pending(row["url"], "listing", "timeout", now)
    state.save()
    again = CrawlState.load(tmp_path)
    assert [r.url for r in again.pending()] == [row["url"]]
    assert again.get(row["url"]).sha256 == row["sha256"]  # what was known is kept


def _emitted(*reports) -> set[str]:
    return {r.url for report in reports for r in read_warc(report.warc_path)}


def _linked(site: Site) -> set[str]:
    """Every page reachable by discovery links (alternative article URLs are not linked)."""
    return {site.url(k) for k in site.page_keys() if not (k[0] == "old_article" and k[2] != 0)}


def test_a_host_asking_to_pause_past_the_retry_budget_is_left_to_the_next_run(
    site: Site, server: SiteServer, settings: Settings
) -> None:
    """A Retry-After longer than the retry budget: the crawler stops asking that host for
    the rest of the run (no request after the pause began, instead of coming back once the
    budget has run out), leaves its URLs pending, and the next run fetches them."""
    wp_cat = "https://exclusive.kz/category/novosti/"
    server.inject(wp_cat, Fault("status", status=429, retry_after="3600"))
    # retry budget: 10 s; a per-host delay keeps requests waiting their turn behind the 429
    first = run_crawl(settings.replace(per_host_delay_s=0.2))
    assert first.hosts_closed == {"exclusive.kz": 3600.0}
    wp = [r for r in server.requests if r["host"] == "exclusive.kz"]
    refused_at = next(r["at"] for r in wp if r["path"] == "/category/novosti/")
    assert [r for r in wp if r["at"] > refused_at + 0.1] == []  # in flight may land
    assert any(r["host"] == "www.old.exclusive.kz" and r["at"] > refused_at for r in
               server.requests)  # the other host went on
    pending = {r.url for r in CrawlState.load(settings.state_dir).pending()}
    assert wp_cat in pending
    assert all(f["status"] == 429 for f in first.failures)

    second = run_crawl(settings)
    assert second.failed == 0 and second.hosts_closed == {}
    assert _emitted(first, second) == _linked(site)
    assert CrawlState.load(settings.state_dir).pending() == []


def test_an_unreachable_robots_txt_leaves_its_hosts_pages_to_the_next_run(
    site: Site, server: SiteServer, settings: Settings
) -> None:
    """robots.txt answering 503 (or 429) means "disallow everything for now" (RFC 9309): the
    host's pages are not fetched, and are owed to the next run rather than dropped as
    disallowed."""
    attempts = settings.max_retries + 1
    server.inject("https://exclusive.kz/robots.txt", Fault("status", status=503, times=attempts))
    first = run_crawl(settings)
    assert first.robots_disallowed == 0 and first.failed > 0
    assert {f["reason"] for f in first.failures} == {"robots_unreachable"}
    assert "https://exclusive.kz/" in {r.url for r in CrawlState.load(settings.state_dir).pending()}
    second = run_crawl(settings)
    assert second.failed == 0
    assert _emitted(first, second) == _linked(site)
