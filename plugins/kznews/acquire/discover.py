"""Light link discovery for the crawler: only the links that lead to listings and articles.

Selectors are data (one table per site layout), each tagged with the role of what it finds:

* ``item``: an article named by a listing (``div.news-item a.title``);
* ``pager``: another page of the same listing (page numbers, "next");
* ``nav``: the head of a listing (rubric and category menus).

The roles let the crawler walk a pager only as deep as there is something new to find
(:func:`kznews.acquire.policy.follow_pager`). This is not extraction: it returns URLs only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from kznews.acquire.policy import normalize_url

ROLES = ("item", "pager", "nav")

DISCOVERY_SELECTORS: dict[str, tuple[tuple[str, str], ...]] = {
    "old_bitrix": (
        ("pager", "div.pager a"),  # rubric pager
        ("item", "div.news-item a.title"),  # listing items
        ("nav", "ul.rubric-menu a"),  # rubric links
    ),
    "wordpress": (
        ("item", "div.section__item.item h2.item__title a"),  # category listing items
        ("pager", "a.next.page-numbers"),
        ("pager", "a.page-numbers"),
        ("nav", "ul.menu a"),  # category menu
        ("nav", "a[rel~=category]"),
    ),
}


@dataclass
class Links:
    """Discovered absolute URLs by role, each in page order, each URL under one role only."""

    item: list[str] = field(default_factory=list)
    pager: list[str] = field(default_factory=list)
    nav: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        return [*self.item, *self.pager, *self.nav]


def discover(body: bytes, base_url: str, max_bytes: int = 2_000_000) -> Links:
    """Pager, listing-item and rubric/category links of a page, by role."""
    tree = LexborHTMLParser(body[:max_bytes])
    out = Links()
    seen: set[str] = set()
    for selectors in DISCOVERY_SELECTORS.values():
        for role, sel in selectors:
            for node in tree.css(sel):
                href = node.attributes.get("href")
                if not href:
                    continue
                url = urljoin(base_url, href.strip())
                if not url.startswith(("http://", "https://")):
                    continue
                url = normalize_url(url)
                if url not in seen:
                    seen.add(url)
                    getattr(out, role).append(url)
    return out


def discover_links(body: bytes, base_url: str, max_bytes: int = 2_000_000) -> list[str]:
    """Every discovered URL (items, then pagers, then menus)."""
    return discover(body, base_url, max_bytes).all()
