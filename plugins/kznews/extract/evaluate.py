"""Field accuracy of extractions against ground truth (gold files, generator truth). Pure.

A truth record has the shape of ``tests/fixtures/site/page_13178.gold.json``: ``url``,
``page_type``, ``shown_on``, ``rates``, ``headlines``, ``article``, ``rubric_name``,
``listing_items`` (and optionally ``pager_pages``). :func:`compare` scores one page per table
(fields right / fields expected, plus rows extracted that the truth does not have), and
:class:`Accuracy` adds them up.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kznews.extract.engine import PageExtraction


def _norm(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value.normalize()
    if hasattr(value, "strftime") and hasattr(value, "hour"):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _norm_truth(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key == "rate":
        return Decimal(str(value)).normalize()
    return str(value)


@dataclass
class Accuracy:
    right: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    expected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    extra_rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    misses: list[str] = field(default_factory=list)

    def add(self, table: str, right: int, expected: int) -> None:
        self.right[table] += right
        self.expected[table] += expected

    def share(self, table: str) -> float:
        return self.right[table] / self.expected[table] if self.expected[table] else 1.0

    def report(self) -> dict[str, dict[str, float | int]]:
        return {
            t: {"accuracy": round(self.share(t), 5), "fields": self.expected[t],
                "extra_rows": self.extra_rows[t]}
            for t in sorted(self.expected)
        }


def _rows(
    acc: Accuracy, table: str, got: list[dict], want: list[dict], keys: tuple[str, ...], url: str
) -> None:
    for i, w in enumerate(want):
        g = got[i] if i < len(got) else {}
        for k in keys:
            ok = _norm(g.get(k)) == _norm_truth(k, w.get(k))
            acc.add(table, int(ok), 1)
            if not ok and len(acc.misses) < 50:
                acc.misses.append(f"{url} {table}[{i}].{k}: got {g.get(k)!r} want {w.get(k)!r}")
    if len(got) > len(want):
        acc.extra_rows[table] += len(got) - len(want)


def compare(out: PageExtraction, truth: dict, acc: Accuracy) -> None:
    url = truth["url"]
    page = out.page or {}
    checks = {
        "shown_on": (_norm(page.get("shown_on")), _norm_truth("d", truth.get("shown_on"))),
        "page_type": (page.get("page_type"), truth.get("page_type")),
        "rubric_name": (out.rubric_name, truth.get("rubric_name")),
    }
    if "pager_pages" in truth:
        checks["pager_pages"] = (out.pager_pages, truth.get("pager_pages"))
    for name, (got, want) in checks.items():
        acc.add("pages", int(got == want), 1)
        if got != want and len(acc.misses) < 50:
            acc.misses.append(f"{url} pages.{name}: got {got!r} want {want!r}")
    _rows(acc, "rates", out.rates, truth.get("rates") or [],
          ("base_currency", "quote_currency", "rate"), url)
    _rows(acc, "headlines", out.headlines, truth.get("headlines") or [],
          ("position", "title", "url", "language"), url)
    want_article = truth.get("article")
    _rows(acc, "articles", out.articles, [want_article] if want_article else [],
          ("url", "article_id", "section", "rubric", "title", "body", "language"), url)
    _rows(acc, "listing_items", out.listing_items, truth.get("listing_items") or [],
          ("position", "url", "article_id", "title", "author", "published_at"), url)
