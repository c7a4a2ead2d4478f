"""URL forms: what site, page kind, article, section and rubric a URL names. Pure.

The forms themselves are data: each :class:`~kznews.extract.profiles.SiteProfile` lists its
:class:`~kznews.extract.profiles.UrlRule` entries; the first rule (profiles in order) whose
hosts and path pattern match decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from kznews.extract.profiles import PROFILES, SiteProfile


@dataclass(frozen=True)
class UrlInfo:
    site: str | None  # the profile's site ("old", "current"), None for foreign hosts
    kind: str  # "article", "listing", "other"
    article_id: str | None = None
    section: str | None = None
    rubric: str | None = None
    profile: str | None = None  # name of the profile whose rule matched


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


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _lower(value: str | None) -> str | None:
    return value.lower() if value else value


def classify_url(url: str, profiles: tuple[SiteProfile, ...] = PROFILES) -> UrlInfo:
    """Which site, what kind of page, and the article id / section / rubric of a URL.

    >>> classify_url("https://exclusive.kz/expertiza/smart/13178?id=13258&post_action=like")
    UrlInfo(site='old', kind='article', article_id='13178', section='expertiza', \
rubric='smart', profile='old_bitrix')
    """
    if profiles is PROFILES:  # the hot path: a cache keyed by the URL alone
        return _classify_default(url)
    return _classify_cached(url, profiles)


# Listing links repeat across pages and UrlInfo is immutable, so results are cached. The
# default profiles get a cache of their own: hashing the tuple of (frozen, nested) profile
# dataclasses for every lookup cost ~7% of extraction time.
@lru_cache(maxsize=131_072)
def _classify_default(url: str) -> UrlInfo:
    return _classify(url, PROFILES)


@lru_cache(maxsize=16_384)
def _classify_cached(url: str, profiles: tuple[SiteProfile, ...]) -> UrlInfo:
    return _classify(url, profiles)


def _classify(url: str, profiles: tuple[SiteProfile, ...]) -> UrlInfo:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return UrlInfo(None, "other")
    path = parts.path or "/"
    for profile in profiles:
        for rule in profile.url_rules:
            if host not in rule.hosts:
                continue
            m = _compiled(rule.pattern).match(path)
            if m:
                groups = m.groupdict()
                return UrlInfo(
                    profile.site,
                    rule.kind,
                    _lower(groups.get("id")),
                    _lower(groups.get("section")) or rule.section,
                    _lower(groups.get("rubric")),
                    profile.name,
                )
    for profile in profiles:
        if host in profile.hosts:
            return UrlInfo(profile.site, "other", profile=profile.name)
    return UrlInfo(None, "other")


def canonical_article_url(
    info: UrlInfo, declared: str | None, fetched: str,
    profiles: tuple[SiteProfile, ...] = PROFILES,
) -> str:
    """The one URL of an article, whatever form it was fetched under.

    The page's declared canonical link wins when it names the same article; else the
    profile's ``canonical_article`` template; else the fetched URL without query or fragment.
    """
    if declared and classify_url(declared, profiles).article_id == info.article_id:
        return declared
    profile = next((p for p in profiles if p.name == info.profile), None)
    if profile is not None and profile.canonical_article and info.article_id:
        return profile.canonical_article.format(
            section=info.section, rubric=info.rubric, id=info.article_id
        )
    try:
        parts = urlsplit(fetched)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"
    except ValueError:
        return fetched
