"""URL forms of the two sites: what article, section and rubric a URL names. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

OLD_HOSTS = frozenset({"old.exclusive.kz", "www.old.exclusive.kz"})
CURRENT_HOSTS = frozenset({"exclusive.kz", "www.exclusive.kz"})

# /<section>/<rubric>/<id>[/]  (any host of either site; the like-vote form adds a query)
_OLD_ARTICLE = re.compile(r"^/([a-z0-9_-]+)/([a-z0-9_-]+)/(\d+)/?$", re.IGNORECASE)
# /<section>/<rubric>/  (an old-site rubric listing, any page of its pager)
_OLD_RUBRIC = re.compile(r"^/([a-z0-9_-]+)/([a-z0-9_-]+)/?$", re.IGNORECASE)
_WP_CATEGORY = re.compile(r"^/category/([^/]+)(?:/page/\d+)?/?$", re.IGNORECASE)
_WP_ARTICLE = re.compile(r"^/([^/?#]+)/?$")
_WP_RESERVED = frozenset({"category", "tag", "author", "page", "wp-admin", "wp-content", "feed"})


@dataclass(frozen=True)
class UrlInfo:
    site: str | None  # "old" or "current"
    kind: str  # "article", "listing", "other"
    article_id: str | None = None
    section: str | None = None
    rubric: str | None = None


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def absolutize(href: str | None, base: str) -> str | None:
    if not href:
        return None
    href = href.strip()
    if not href or href.startswith(("#", "javascript:", "mailto:")):
        return None
    if href.startswith(("http://", "https://")) and " " not in href:
        return href  # already absolute: the common case, skip urljoin
    try:
        return urljoin(base, href)
    except ValueError:
        return None


@lru_cache(maxsize=131_072)  # listing links repeat across pages; UrlInfo is immutable
def classify_url(url: str) -> UrlInfo:
    """Which site, what kind of page, and the article id / section / rubric of a URL.

    >>> classify_url("https://exclusive.kz/expertiza/smart/13178?id=13258&post_action=like")
    UrlInfo(site='old', kind='article', article_id='13178', section='expertiza', rubric='smart')
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return UrlInfo(None, "other")
    host = (parts.hostname or "").lower()
    path = parts.path or "/"
    if host not in OLD_HOSTS and host not in CURRENT_HOSTS:
        return UrlInfo(None, "other")
    m = _OLD_ARTICLE.match(path)
    if m:
        # The old archive's article form, also served on exclusive.kz (comment-vote links).
        return UrlInfo("old", "article", m.group(3), m.group(1).lower(), m.group(2).lower())
    if host in OLD_HOSTS:
        m = _OLD_RUBRIC.match(path)
        if m:
            return UrlInfo("old", "listing", None, m.group(1).lower(), m.group(2).lower())
        return UrlInfo("old", "other")
    m = _WP_CATEGORY.match(path)
    if m:
        return UrlInfo("current", "listing", None, "category", m.group(1).lower())
    m = _WP_ARTICLE.match(path)
    if m and m.group(1).lower() not in _WP_RESERVED:
        return UrlInfo("current", "article", m.group(1).lower())
    return UrlInfo("current", "other")


def canonical_article_url(info: UrlInfo, declared: str | None, fetched: str) -> str:
    """The one URL of an article, whatever form it was fetched under.

    The page's declared canonical link wins when it names the same article; else the old
    archive's form ``http://www.old.exclusive.kz/<section>/<rubric>/<id>/`` is built from the
    URL; else (current site) the fetched URL without query or fragment.
    """
    if declared and classify_url(declared).article_id == info.article_id:
        return declared
    if info.site == "old" and info.article_id:
        return f"http://www.old.exclusive.kz/{info.section}/{info.rubric}/{info.article_id}/"
    try:
        parts = urlsplit(fetched)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"
    except ValueError:
        return fetched

