"""Crawl policy as pure functions: which URLs may be fetched, how long to wait, what a page is.

No I/O here (DNS answers and robots.txt text are passed in), so every rule is unit-testable.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import math
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urldefrag, urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def normalize_url(url: str) -> str:
    """Drop the fragment, lower-case scheme and host, give an empty path ``/``."""
    url, _ = urldefrag(url.strip())
    p = urlsplit(url)
    netloc = (p.hostname or "").lower()
    if p.port and not (
        (p.scheme == "http" and p.port == 80) or (p.scheme == "https" and p.port == 443)
    ):
        netloc += f":{p.port}"
    return urlunsplit((p.scheme.lower(), netloc, p.path or "/", p.query, ""))


def url_refusal(url: str, allowed_hosts: Iterable[str]) -> str | None:
    """Why ``url`` must not be fetched by scheme or host, or None when it may."""
    p = urlsplit(url)
    if p.scheme not in ("http", "https"):
        return "bad_scheme"
    host = (p.hostname or "").lower()
    if not host or host not in {h.lower() for h in allowed_hosts}:
        return "host_not_allowed"
    if p.username or p.password:
        return "credentials_in_url"
    return None


def parse_networks(cidrs: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip()]


def address_refusal(addresses: Iterable[str], allowed_networks: Iterable) -> str | None:
    """``private_address`` when any address is not public and not explicitly allowed."""
    nets = list(allowed_networks)
    addrs = list(addresses)
    if not addrs:
        return "no_address"
    for a in addrs:
        ip: IPAddress = ipaddress.ip_address(a.split("%", 1)[0])
        if ip.is_global and not ip.is_multicast:
            continue
        if any(ip in n for n in nets):
            continue
        return "private_address"
    return None


def parse_overrides(entries: Iterable[str]) -> dict[str, str]:
    """``("host=http://127.0.0.1:8000", ...)`` -> ``{"host": "http://127.0.0.1:8000"}``."""
    out = {}
    for e in entries:
        host, sep, target = e.partition("=")
        if sep and host.strip() and target.strip():
            out[host.strip().lower()] = target.strip().rstrip("/")
    return out


def robots_unreachable(status: int | None) -> bool:
    """Whether a robots.txt answer means "unreachable" (RFC 9309 2.3.1.4): no answer, a 5xx,
    a 429 (too many requests: a refusal for now, not a missing file), or a redirect still
    unfollowed after the five the crawler follows. The crawler then fetches nothing from
    that origin, and owes its URLs to the next run.

    >>> robots_unreachable(None), robots_unreachable(503), robots_unreachable(429)
    (True, True, True)
    >>> robots_unreachable(200), robots_unreachable(404), robots_unreachable(301)
    (False, False, True)
    """
    return status is None or status == 429 or status >= 500 or 300 <= status < 400


@dataclass(frozen=True)
class RobotsGroup:
    """The rules of one robots.txt group: ``(allow, pattern)`` pairs and its Crawl-delay."""

    agents: tuple[str, ...]
    rules: tuple[tuple[bool, str], ...] = ()
    crawl_delay: float | None = None


@dataclass(frozen=True)
class Robots:
    """A host's robots.txt, matched as RFC 9309 says (see :func:`robots_allows`). Same
    questions as ``urllib.robotparser.RobotFileParser``: :meth:`can_fetch`,
    :meth:`crawl_delay`. ``everything``: True allows all (no file), False disallows all
    (unreachable), None follows the groups."""

    groups: tuple[RobotsGroup, ...] = ()
    everything: bool | None = None

    def group_for(self, user_agent: str) -> RobotsGroup:
        """The rules that apply to ``user_agent``: every group naming its product token
        (case-insensitive), else every ``*`` group, merged; else no rules."""
        token = _product_token(user_agent)
        for wanted in (token, "*"):
            found = [g for g in self.groups if wanted in g.agents]
            if found:
                delays = [g.crawl_delay for g in found if g.crawl_delay is not None]
                return RobotsGroup(
                    (wanted,), tuple(r for g in found for r in g.rules),
                    delays[0] if delays else None,
                )
        return RobotsGroup(("*",))

    def can_fetch(self, user_agent: str, url: str) -> bool:
        if self.everything is not None:
            return self.everything
        return robots_allows(self.group_for(user_agent).rules, url)

    def crawl_delay(self, user_agent: str) -> float | None:
        if self.everything is not None:
            return None
        return self.group_for(user_agent).crawl_delay


def _product_token(user_agent: str) -> str:
    """``"kznews/1.0 (+https://...)"`` -> ``"kznews"``."""
    return re.split(r"[/\s]", user_agent.strip(), maxsplit=1)[0].lower()


def parse_robots(text: str) -> tuple[RobotsGroup, ...]:
    r"""The groups of a robots.txt (RFC 9309 2.1-2.2): ``user-agent`` lines open a group (a
    run of them, one group), ``allow`` / ``disallow`` / ``crawl-delay`` lines belong to the
    open group; comments, unknown keys and rules before any group are ignored. An empty
    ``disallow`` is no rule. Crawl-delay takes decimals (``2.5``).

    >>> for g in parse_robots("User-agent: A\nUser-agent: b # c\nDisallow: /x\n"
    ...                       "Crawl-delay: 2.5\nSitemap: /s.xml\nUser-agent: *\nDisallow:\n"):
    ...     print(g)
    RobotsGroup(agents=('a', 'b'), rules=((False, '/x'),), crawl_delay=2.5)
    RobotsGroup(agents=('*',), rules=(), crawl_delay=None)
    """
    groups: list[RobotsGroup] = []
    agents: list[str] = []
    rules: list[tuple[bool, str]] = []
    delay: float | None = None
    in_rules = False

    def close() -> None:
        if agents:
            groups.append(RobotsGroup(tuple(agents), tuple(rules), delay))

    for line in text.splitlines():
        key, sep, value = line.split("#", 1)[0].partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key in ("user-agent", "useragent", "user agent"):
            if in_rules:
                close()
                agents, rules, delay, in_rules = [], [], None, False
            if value:
                agents.append(_product_token(value) if value != "*" else "*")
        elif key in ("allow", "disallow") and agents:
            in_rules = True
            if value:
                rules.append((key == "allow", value))
        elif key == "crawl-delay" and agents:
            in_rules = True
            with contextlib.suppress(ValueError):
                seconds = float(value)
                if math.isfinite(seconds) and seconds >= 0:
                    delay = seconds
    close()
    return tuple(groups)


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


def _normalise_path(path: str) -> str:
    """One spelling for the same path: non-ASCII as UTF-8 percent-escapes, escapes in
    upper case, escapes of unreserved characters decoded (RFC 3986 6.2.2).

    >>> _normalise_path("/%7euser/%d0%b0/а")
    '/~user/%D0%B0/%D0%B0'
    """
    path = "".join(c if ord(c) < 128 else quote(c, safe="") for c in path)

    def one(m: re.Match[str]) -> str:
        char = chr(int(m.group(1), 16))
        return char if char in _UNRESERVED else "%" + m.group(1).upper()

    return _ESCAPE.sub(one, path)


@functools.lru_cache(maxsize=4096)
def _rule(pattern: str) -> tuple[int, re.Pattern[str]]:
    """A robots.txt path pattern as (its normalised length, its regex); built once per
    pattern, not once per URL checked against it."""
    pattern = _normalise_path(pattern)
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(re.escape(part) for part in body.split("*"))
    return len(pattern), re.compile(regex + (r"\Z" if anchored else ""), re.DOTALL)


def robots_allows(rules: Iterable[tuple[bool, str]], url: str) -> bool:
    """Whether ``rules`` (one group's ``(allow, pattern)`` pairs) allow ``url``, by RFC 9309
    2.2.2: the matching rule with the longest pattern wins, ``allow`` on a tie; ``*``
    matches any run of characters and a final ``$`` the end of the path; paths compare
    after percent-encoding normalisation; nothing matching allows. ``/robots.txt`` is
    always allowed.

    >>> rules = [(True, "/"), (False, "/search/"), (False, "/*?PAGEN_1="),
    ...          (False, "/*.pdf$"), (True, "/search/ok"), (False, "/search/ok")]
    >>> [robots_allows(rules, "http://h" + p) for p in ("/a/", "/search/?q=1",
    ...  "/x/y/?PAGEN_1=2", "/f.pdf", "/f.pdf?x", "/search/ok")]
    [True, False, False, False, True, True]
    """
    p = urlsplit(url)
    path = _normalise_path((p.path or "/") + (f"?{p.query}" if p.query else ""))
    if path == "/robots.txt":
        return True
    best: tuple[int, bool] | None = None  # (pattern length, allow): max() picks the winner
    for allow, pattern in rules:
        length, regex = _rule(pattern)
        if regex.match(path):
            best = max(best or (-1, False), (length, allow))
    return True if best is None else best[1]


def robots_parser(text: str | None, status: int | None) -> Robots:
    """A host's robots.txt. 4xx but 429: allow all; unreachable (:func:`robots_unreachable`):
    disallow all."""
    if status is not None and 200 <= status < 300 and text is not None:
        return Robots(parse_robots(text))
    if not robots_unreachable(status) and 400 <= status < 500:
        return Robots(everything=True)
    return Robots(everything=False)


def backoff_delay(attempt: int, base_s: float, rng: random.Random, cap_s: float = 60.0) -> float:
    """Exponential backoff with jitter: ``base * 2**attempt`` scaled by U(0.5, 1.5), capped."""
    return min(cap_s, base_s * (2**attempt)) * rng.uniform(0.5, 1.5)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def should_retry(status: int) -> bool:
    return status == 429 or 500 <= status < 600


_TRANSIENT_REASONS = (
    "timeout",
    "deadline_exceeded",
    "transport_error",
    "internal_error",
    "robots_unreachable",
)


def retry_next_run(reason: str, status: int | None) -> bool:
    """Whether a failed fetch is owed to the next run: the failure may pass (5xx, 429,
    timeouts, transport errors). Refusals, robots.txt, 4xx, oversized bodies and redirect
    loops would fail the same way again.

    >>> retry_next_run("http_503", 503), retry_next_run("timeout", None)
    (True, True)
    >>> retry_next_run("http_404", 404), retry_next_run("robots_disallowed", None)
    (False, False)
    """
    if reason.startswith("robots_unreachable"):  # whatever robots.txt answered (3xx too)
        return True
    if status is not None:
        return should_retry(status)
    return reason.startswith(_TRANSIENT_REASONS)


# --- what a URL is -----------------------------------------------------------------------------
def page_kind(url: str) -> str:
    """``listing`` (home, section, rubric, category and pager pages: always re-fetched,
    never asked for conditionally) or ``article``.

    One classifier for the whole project: the site profiles' URL rules
    (:func:`kznews.extract.urls.classify_url`), so the crawler never asks for a listing with
    ``If-None-Match`` because its slug has a digit or a hyphen, or its pager another form.
    A page of a known site that is neither article nor listing there (home, section, WordPress
    ``/page/2/``, ``?paged=2``, tag and author pages) is navigation: a listing. A foreign
    host's page is an article (fetched conditionally, as before).

    >>> page_kind("http://www.old.exclusive.kz/expertiza/smart-city/")
    'listing'
    >>> page_kind("http://www.old.exclusive.kz/x/smart2/?PAGEN_2=3")
    'listing'
    >>> page_kind("https://exclusive.kz/page/2/"), page_kind("https://exclusive.kz/?paged=2")
    ('listing', 'listing')
    >>> page_kind("http://www.old.exclusive.kz/expertiza/smart-city/13178/")
    'article'
    >>> page_kind("http://example.org/a/b/")
    'article'
    """
    # late: importing kznews.extract loads the extraction engine, which policy's other
    # callers do not need
    from kznews.extract.urls import classify_url

    info = classify_url(url)
    if info.kind in ("article", "listing"):
        return info.kind
    return "listing" if info.site is not None else "article"


# --- how deep to walk a listing's pager -------------------------------------------------------
_PAGE_PATH = re.compile(r"/page/(\d+)/?$")  # WordPress: /category/x/page/3/
# Bitrix: /section/rubric/?PAGEN_1=3; WordPress without pretty links: /?paged=3
_PAGE_QUERY = re.compile(r"(?:PAGEN_\d+|paged)=(\d+)")
LISTING_DEPTHS = ("new", "all")


def pager_position(url: str) -> tuple[str, int]:
    """``(listing, page number)`` of a listing URL; any other URL is page 1 of itself.

    >>> pager_position("http://www.old.exclusive.kz/expertiza/smart/?PAGEN_1=3")
    ('http://www.old.exclusive.kz/expertiza/smart/', 3)
    >>> pager_position("https://exclusive.kz/category/economy/page/2/")
    ('https://exclusive.kz/category/economy/', 2)
    >>> pager_position("https://exclusive.kz/category/economy/")
    ('https://exclusive.kz/category/economy/', 1)
    >>> pager_position("https://exclusive.kz/?cat=5&paged=4")
    ('https://exclusive.kz/?cat=5', 4)
    """
    p = urlsplit(url)
    path, number = p.path or "/", 1
    m = _PAGE_PATH.search(path)
    if m:
        number, path = int(m.group(1)), path[: m.start()] + "/"
    kept = []
    for part in filter(None, p.query.split("&")):
        q = _PAGE_QUERY.fullmatch(part)
        if q:
            number = int(q.group(1))
        else:
            kept.append(part)
    return urlunsplit((p.scheme, p.netloc, path, "&".join(kept), "")), number


def check_listing_depth(depth: str) -> str:
    """``depth`` if it is one of :data:`LISTING_DEPTHS`, else a ValueError naming them."""
    if depth not in LISTING_DEPTHS:
        raise ValueError(f"crawl listing depth must be one of {LISTING_DEPTHS}, not {depth!r}")
    return depth


def follow_pager(
    page_url: str, link: str, link_known: bool, page_had_new_items: bool, depth: str = "new"
) -> bool:
    """Whether the crawler fetches the pager ``link`` found on the listing page ``page_url``.

    Listings put the newest items on top, so a nightly crawl finds everything new by walking
    each pager from its head until a page lists nothing it has not seen (``depth="new"``):
    a page is fetched when it was never fetched before, or when it is the next page after
    one that listed something unseen. ``depth="all"`` walks every page every time (a full
    re-sweep, e.g. weekly, to refresh what older listing pages say).

    >>> head = "http://www.old.exclusive.kz/expertiza/smart/?PAGEN_1=1"
    >>> follow_pager(head, head.replace("=1", "=2"), True, True)
    True
    >>> follow_pager(head, head.replace("=1", "=3"), True, True)
    False
    >>> follow_pager(head, head.replace("=1", "=2"), True, False)
    False
    >>> follow_pager(head, head.replace("=1", "=90"), False, False)
    True
    """
    if check_listing_depth(depth) == "all" or not link_known:
        return True
    if not page_had_new_items:
        return False
    base, number = pager_position(page_url)
    link_base, link_number = pager_position(link)
    return link_base == base and link_number == number + 1
