"""Light link discovery for the crawler: only the links that lead to listings and articles.

Selectors are data (one list per site layout); this is not extraction: it returns URLs only.
"""

from __future__ import annotations

from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from kznews.acquire.policy import normalize_url

DISCOVERY_SELECTORS: dict[str, tuple[str, ...]] = {
    "old_bitrix": (
        "div.pager a",  # rubric pager
        "div.news-item a.title",  # listing items
        "ul.rubric-menu a",  # rubric links
    ),
    "wordpress": (
        "div.section__item.item h2.item__title a",  # category listing items
        "a.next.page-numbers",
        "a.page-numbers",
        "ul.menu a",  # category menu
        "a[rel~=category]",
    ),
}


def discover_links(body: bytes, base_url: str, max_bytes: int = 2_000_000) -> list[str]:
    """Absolute http(s) URLs of pager, listing and rubric/category links, in page order."""
    tree = LexborHTMLParser(body[:max_bytes])
    out: list[str] = []
    seen: set[str] = set()
    for selectors in DISCOVERY_SELECTORS.values():
        for sel in selectors:
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
                    out.append(url)
    return out
