"""robots.txt as RFC 9309 matches it: the group for the crawler's product token, the longest
matching rule (allow on a tie), ``*`` and ``$``, percent-encoding normalised, decimal
Crawl-delay. urllib.robotparser did none of these."""

from __future__ import annotations

import pytest

from kznews.acquire.policy import robots_parser

UA = "kznews/1.0 (+https://example.org/bot)"
H = "http://www.old.exclusive.kz"


def _allowed(text: str, path: str, ua: str = UA) -> bool:
    return robots_parser(text, 200).can_fetch(ua, H + path)


@pytest.mark.parametrize(
    ("text", "path", "allowed"),
    [
        # longest match wins, not the first listed
        ("User-agent: *\nAllow: /\nDisallow: /search/\n", "/search/?q=1", False),
        ("User-agent: *\nDisallow: /a/\nAllow: /a/b/\n", "/a/b/c", True),
        ("User-agent: *\nDisallow: /a/\nAllow: /a/b/\n", "/a/c", False),
        # a tie goes to allow
        ("User-agent: *\nDisallow: /page\nAllow: /page\n", "/page", True),
        # wildcards and the end anchor
        ("User-agent: *\nDisallow: /*?PAGEN_1=\n", "/expertiza/smart/?PAGEN_1=2", False),
        ("User-agent: *\nDisallow: /*?PAGEN_1=\n", "/expertiza/smart/", True),
        ("User-agent: *\nDisallow: /*.pdf$\n", "/files/a.pdf", False),
        ("User-agent: *\nDisallow: /*.pdf$\n", "/files/a.pdf?download=1", True),
        ("User-agent: *\nDisallow: /$\n", "/", False),
        ("User-agent: *\nDisallow: /$\n", "/a/", True),
        # percent-encoding: one spelling for the same path
        ("User-agent: *\nDisallow: /%7Euser/\n", "/~user/x", False),
        ("User-agent: *\nDisallow: /статьи/\n", "/%D1%81%D1%82%D0%B0%D1%82%D1%8C%D0%B8/1", False),
        ("User-agent: *\nDisallow: /%d1%81/\n", "/%D1%81/", False),
        # an empty Disallow disallows nothing; robots.txt itself is always allowed
        ("User-agent: *\nDisallow:\n", "/anything", True),
        ("User-agent: *\nDisallow: /\n", "/robots.txt", True),
    ],
)
def test_rfc9309_matching(text: str, path: str, allowed: bool) -> None:
    assert _allowed(text, path) is allowed


def test_the_group_naming_the_crawler_wins_over_star() -> None:
    text = ("User-agent: *\nDisallow: /\n\n"
            "User-agent: otherbot\nAllow: /\n\n"
            "User-agent: KZNews\nDisallow: /private/\n")
    assert _allowed(text, "/a/")
    assert not _allowed(text, "/private/x")
    assert not _allowed(text, "/a/", ua="somebot/2.0")


def test_groups_for_the_same_agent_are_merged_and_a_run_of_agents_is_one_group() -> None:
    text = ("User-agent: a\nUser-agent: kznews\nDisallow: /x/\n\n"
            "User-agent: kznews\nDisallow: /y/\n")
    assert not _allowed(text, "/x/1") and not _allowed(text, "/y/1") and _allowed(text, "/z/")


def test_decimal_crawl_delay() -> None:
    rp = robots_parser("User-agent: *\nCrawl-delay: 2.5\nDisallow: /x\n", 200)
    assert rp.crawl_delay(UA) == 2.5
    assert robots_parser("User-agent: *\nCrawl-delay: soon\n", 200).crawl_delay(UA) is None
    assert robots_parser(None, 404).crawl_delay(UA) is None
