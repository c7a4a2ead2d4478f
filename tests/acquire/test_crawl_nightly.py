"""The nightly crawl walks each pager only as far as there is something new, and the
benchmark's model of a night (kznews.sitegen.nightly) is what the crawler really fetches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kznews.acquire.crawl import run_crawl
from kznews.acquire.warc import read_warc
from kznews.config import Settings
from kznews.sitegen import Site
from kznews.sitegen.model import OLD_PAGE_ITEMS, RUBRICS
from kznews.sitegen.nightly import nightly_keys
from kznews.sitegen.server import SiteServer, serve_site

HIDDEN_OLD = len(RUBRICS) * 25  # more than a page per rubric: some walks go 3 pages deep
HIDDEN_WP = 40


@pytest.fixture
def big_site() -> Site:
    site = Site(seed=11, pages=1500)
    assert min(site.rubric_pages(r) for r in range(len(RUBRICS))) >= 3
    return site


@pytest.fixture
def big_server(big_site: Site) -> Iterator[SiteServer]:
    with serve_site(big_site) as srv:
        yield srv


def _settings(settings: Settings, server: SiteServer, **kw: object) -> Settings:
    return settings.replace(host_overrides=server.overrides(), per_host_concurrency=8, **kw)


def _unconditional(server: SiteServer, since: int) -> set[str]:
    """URLs asked for without validators after request ``since`` (everything but the
    conditional GETs of known articles and robots.txt)."""
    scheme = {"www.old.exclusive.kz": "http", "exclusive.kz": "https"}
    return {
        f"{scheme[r['host']]}://{r['host']}{r['path']}"
        for r in server.requests[since:]
        if "If-None-Match" not in r["headers"] and r["path"] != "/robots.txt"
    }


def test_nightly_crawl_fetches_what_the_benchmark_model_says(
    big_site: Site, big_server: SiteServer, settings: Settings
) -> None:
    s = _settings(settings, big_server)
    before_old, before_wp = big_site.n_old - HIDDEN_OLD, big_site.n_wp - HIDDEN_WP
    big_site.visible_old, big_site.visible_wp = before_old, before_wp
    first = run_crawl(s)
    assert first.pager_links_skipped == 0  # a first crawl walks every page
    big_site.visible_old, big_site.visible_wp = big_site.n_old, big_site.n_wp
    since = len(big_server.requests)
    night = run_crawl(s)

    expected = {big_site.url(k) for k in nightly_keys(big_site, before_old, before_wp)}
    assert _unconditional(big_server, since) == expected
    assert night.failed == 0 and night.pager_links_skipped > 0
    # every new article was found and emitted
    emitted = {r.url for r in read_warc(night.warc_path)}
    new_articles = {big_site.url(("old_article", i, 0))
                    for i in range(before_old, big_site.n_old)}
    new_articles |= {big_site.url(("wp_article", w)) for w in range(before_wp, big_site.n_wp)}
    assert new_articles <= emitted
    assert night.articles_fetched == len(new_articles)
    # far fewer listing pages than a full walk: the archive's depth is not re-read
    all_listings = sum(big_site.rubric_pages(r) for r in range(len(RUBRICS)))
    assert night.listings_fetched < first.listings_fetched
    walked_old = [k for k in nightly_keys(big_site, before_old, before_wp)
                  if k[0] == "old_listing"]
    assert len(walked_old) < all_listings
    # 25 new per rubric, 20 per page: head, page 2 (5 new on it), page 3 (nothing new)
    assert max(k[2] for k in walked_old) >= 3 > HIDDEN_OLD // len(RUBRICS) // OLD_PAGE_ITEMS


def test_listing_depth_all_walks_every_page_again(settings: Settings) -> None:
    site = Site(seed=11, pages=500)  # two pages per rubric: enough for a pager to skip
    assert min(site.rubric_pages(r) for r in range(len(RUBRICS))) >= 2
    with serve_site(site) as server:
        s = _settings(settings, server, crawl_listing_depth="all")
        first = run_crawl(s)
        second = run_crawl(s)
        # what the default depth ("new") skips on the same site: the test can tell them apart
        skipped = run_crawl(_settings(settings, server)).pager_links_skipped
    assert second.listings_fetched == first.listings_fetched
    assert second.pager_links_skipped == 0 < skipped


def test_unknown_listing_depth_is_refused(settings: Settings) -> None:
    with pytest.raises(ValueError, match="crawl listing depth"):
        run_crawl(settings.replace(crawl_listing_depth="some"))


def test_policy_docstring_examples_run() -> None:
    import doctest

    from kznews.acquire import policy

    result = doctest.testmod(policy)
    assert result.failed == 0 and result.attempted >= 7
