"""Site profiles: what to select, per field, per layout. Data, not code.

The engine (``kznews.extract.engine``) tries each field's selectors in order and takes the
first that finds something; when none does, it falls back to text patterns (date line,
rates, listing dates) and to generic main-text extraction (title, body), and records which
method produced each row. Adding a site is adding a :class:`SiteProfile` to ``PROFILES``.

A profile is chosen by markup first (how many of its ``markers`` the page has), then by host,
because the old archive's articles are also served on the current site's host.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ListingSpec:
    """A repeated block of a listing, and where each field sits inside one block."""

    item: tuple[str, ...]
    link: tuple[str, ...]  # <a> whose href and text are the item's URL and title
    author: tuple[str, ...] = ()
    date: tuple[str, ...] = ()
    date_format: str = "listing_datetime"  # listing_datetime | ru_date


@dataclass(frozen=True)
class UrlRule:
    """A URL form of a site: a regex on the path with named groups ``id``, ``section`` and
    ``rubric`` (each optional), the hosts it applies to, and the page kind it names."""

    kind: str  # article | listing
    pattern: str
    hosts: frozenset[str]
    section: str | None = None  # a fixed section when the pattern has no such group


@dataclass(frozen=True)
class SiteProfile:
    name: str
    site: str  # the site the layout belongs to ("old", "current"); rows carry it
    hosts: frozenset[str]
    markers: tuple[str, ...]  # selectors whose presence says "this layout"
    url_rules: tuple[UrlRule, ...] = ()
    # str.format template of an article's one canonical URL ({section}, {rubric}, {id});
    # None: the fetched URL without query and fragment
    canonical_article: str | None = None
    listing_date_fallback: bool = False  # find listing blocks by their dates when selectors fail
    date_line: tuple[str, ...] = ()
    rates: tuple[str, ...] = ()  # containers whose text holds "XXX/KZT: n.nn" pairs
    ticker_links: tuple[str, ...] = ()
    article_title: tuple[str, ...] = ()
    article_body: tuple[str, ...] = ()  # paragraph nodes (or one container when paragraphs=False)
    article_date: tuple[str, ...] = ()
    article_category: tuple[str, ...] = ()
    rubric_name: tuple[str, ...] = ()
    listing: ListingSpec | None = None
    pager: tuple[str, ...] = ()  # pager container(s); the largest number in them = page count
    next_page: tuple[str, ...] = ()


OLD_HOSTS = frozenset({"old.exclusive.kz", "www.old.exclusive.kz"})
CURRENT_HOSTS = frozenset({"exclusive.kz", "www.exclusive.kz"})

OLD_BITRIX = SiteProfile(
    name="old_bitrix",
    site="old",
    hosts=OLD_HOSTS,
    markers=("div.today", "div.currency", "div.news-detail", "div.news-item", "div.ticker"),
    url_rules=(
        # /<section>/<rubric>/<id>[/], also served on the current host (comment-vote links)
        UrlRule("article", r"^/(?P<section>[a-z0-9_-]+)/(?P<rubric>[a-z0-9_-]+)/(?P<id>\d+)/?$",
                OLD_HOSTS | CURRENT_HOSTS),
        # /<section>/<rubric>/ (any page of the rubric's pager)
        UrlRule("listing", r"^/(?P<section>[a-z0-9_-]+)/(?P<rubric>[a-z0-9_-]+)/?$", OLD_HOSTS),
    ),
    canonical_article="http://www.old.exclusive.kz/{section}/{rubric}/{id}/",
    listing_date_fallback=True,
    date_line=("div.today", ".top-line .date", "#header .today"),
    rates=("div.currency", ".top-line .currency", ".currency"),
    ticker_links=("div.ticker a", "marquee a", ".ticker a"),
    article_title=("div.news-detail h1", "div.news-detail h2", "#content h1", "h1"),
    article_body=("div.news-detail div.detail-text p", "div.detail-text p", "div.news-detail p"),
    rubric_name=("div.news-list h2.rubric-title", "h2.rubric-title", "div.news-list h2"),
    listing=ListingSpec(
        item=("div.news-list div.news-item", "div.news-item"),
        link=("a.title", "a[href]:not(.preview)"),
        author=(".author",),
        date=(".date",),
        date_format="listing_datetime",
    ),
    pager=("div.pager", ".pager", ".navigation-pages"),
)

WORDPRESS = SiteProfile(
    name="wordpress",
    site="current",
    hosts=CURRENT_HOSTS,
    url_rules=(
        UrlRule("listing", r"^/category/(?P<rubric>[^/]+)(?:/page/\d+)?/?$", CURRENT_HOSTS,
                section="category"),
        # /<slug>/: an article keyed by its slug (not a reserved WordPress path)
        UrlRule("article",
                r"^/(?!(?:category|tag|author|page|wp-admin|wp-content|wp-json|feed)/?$)"
                r"(?P<id>[^/?#]+)/?$", CURRENT_HOSTS),
    ),
    markers=(
        "div.entry-content",
        "div.section__item",
        "a.next.page-numbers",
        "link[href*='wp-content']",
        "body[class*='wp-']",
        "article.post",
    ),
    article_title=("h1.entry-title", "article h1", "h1"),
    article_body=("div.entry-content p", "div.entry-content"),
    # the article's own header only: a sidebar or related-posts block has dates too
    # (latest-posts widgets' <time datetime>, listing-style p.item__time)
    article_date=(
        ".entry-header time[datetime]", ".entry-meta time[datetime]",
        "article[id^='post-'] time.entry-date", "article.post time.entry-date",
        "article[id^='post-'] time[datetime]", "article.post time[datetime]",
        ".entry-header time", ".entry-meta time", ".entry-header .item__time",
        ".entry-meta .item__time",
    ),
    article_category=("a[rel~='category']", ".cat-links a"),
    rubric_name=("h1.page-title", "h1.archive-title", "h1"),
    listing=ListingSpec(
        item=("div.section__item.item", "div.section__item", "article.item"),
        link=("h2.item__title a", ".item__title a", "h2 a"),
        date=("p.item__time", ".item__time", "time"),
        date_format="ru_date",
    ),
    pager=(".page-numbers:not(.next):not(.prev)",),
    next_page=("a.next.page-numbers",),
)

PROFILES: tuple[SiteProfile, ...] = (OLD_BITRIX, WORDPRESS)
