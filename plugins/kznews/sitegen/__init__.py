"""Synthetic Exclusive.kz site: deterministic pages in both layouts, with ground truth.

``Site(seed, pages)`` is the model; :func:`iter_pages` streams rendered pages;
``python -m kznews.sitegen`` writes them as WARC or HTML files; :mod:`kznews.sitegen.server`
serves them on 127.0.0.1 for crawler tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from kznews.acquire.base import RawRecord
from kznews.sitegen.model import Site
from kznews.sitegen.render import headers_for, render_bytes, truth


@dataclass(frozen=True)
class Page:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: datetime
    truth: dict

    def to_record(self, source: str = "sitegen") -> RawRecord:
        """The page as a fetched response, the shape every landing source yields."""
        return RawRecord(
            url=self.url, body=self.body, status=self.status, headers=self.headers,
            final_url=self.url, fetched_at=self.fetched_at, source=source,
        )


def render_page(site: Site, key: tuple, k: int | None = None) -> Page:
    view = site.view(key, k)
    body = render_bytes(view)
    return Page(view.url, 200, headers_for(view, body), body, view.fetched_at, truth(view))


def iter_pages(site: Site) -> Iterator[Page]:
    """Every page of ``site`` in generation order, one at a time."""
    for k, key in enumerate(site.page_keys()):
        yield render_page(site, key, k)


__all__ = ["Page", "Site", "iter_pages", "render_page"]
