"""What a nightly crawl of a grown site fetches, computed from the model (no HTTP).

The benchmark (``scripts/bench_pipeline.py``) cannot crawl 100,000 pages over HTTP to learn
what the next night brings, so it asks this module. ``tests/acquire`` crawls a small site
both ways and checks that the real crawler (``crawl_listing_depth="new"``) fetches exactly
these pages, so the benchmark's nightly figures describe what the crawler does.

The rule mirrored (:func:`kznews.acquire.policy.follow_pager`): listing heads and home pages
are always fetched; a pager page is fetched when it did not exist the night before, or when
it is the next page after one that lists an article published since.
"""

from __future__ import annotations

from collections.abc import Iterator

from kznews.sitegen.model import CATEGORIES, OLD_PAGE_ITEMS, RUBRICS, WP_PAGE_ITEMS, Site


def _walk(pages_now: int, pages_before: int, newest: list[list[int]], first_new: int) -> list[int]:
    """Pager pages (1-based) a crawl fetches for one listing; ``newest[p-1]`` holds page p's
    item indexes, an index ``>= first_new`` being an article published since last night."""
    fetched = {p for p in range(1, pages_now + 1) if p == 1 or p > pages_before}
    p = 1
    while p < pages_now and any(i >= first_new for i in newest[p - 1]):
        p += 1
        fetched.add(p)
    return sorted(fetched)


def nightly_keys(site: Site, before_old: int, before_wp: int) -> Iterator[tuple]:
    """Keys of the pages fetched with a 200 the night the site grew from ``before_old`` /
    ``before_wp`` visible articles to ``site.visible_old`` / ``site.visible_wp``: both home
    pages, the walked listing pages and every new article (its linked URL form; the extra
    forms of an old-site article are not linked, so a crawler never sees them)."""
    yield ("old_home",)
    for r in range(len(RUBRICS)):
        now = site.rubric_pages(r)
        items = [
            site.group_newest(r, site.visible_old, (p - 1) * OLD_PAGE_ITEMS)
            for p in range(1, now + 1)
        ]
        for p in _walk(now, site.rubric_pages(r, before_old), items, before_old):
            yield ("old_listing", r, p)
    for i in range(before_old, site.visible_old):
        yield ("old_article", i, 0)
    yield ("wp_home",)
    for c in range(len(CATEGORIES)):
        now = site.category_pages(c)
        items = [
            site.group_newest(c, site.visible_wp, (p - 1) * WP_PAGE_ITEMS, WP_PAGE_ITEMS,
                               len(CATEGORIES))
            for p in range(1, now + 1)
        ]
        for p in _walk(now, site.category_pages(c, before_wp), items, before_wp):
            yield ("wp_category", c, p)
    for w in range(before_wp, site.visible_wp):
        yield ("wp_article", w)
