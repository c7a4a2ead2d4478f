"""Small extracted-Parquet fixtures for the warehouse, built from page_13178.gold.json.

Two load dates in the exact schemas of ``kznews.schema`` (every table, every partition, even
when empty), so dbt meets what the real extractor writes:

* ``2024-05-17``: the seed article page under its two URL forms (utf-8 with ``www.`` and a
  slash; windows-1251 without either), as the sample holds it: same article id 13178, same
  rates, ticker and 34-item listing on both.
* ``2024-05-18``: synthetic pages that exercise the warehouse logic: an old-site rubric
  listing that finally lists 13178 itself (author in capitals with a no-break space, a time
  that falls on the next local day), a second page served the same day with a different USD
  rate (disagreement), a rubric page served on 2024-05-20 (so 2024-05-19 is a gap that must
  stay a gap), a current-site article (slug id, date without time) and a ticker with a
  whitespace variant of a known headline plus a new Kazakh one.

Synthetic values are invented for tests; only the 2024-05-17 partition mirrors the gold file.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

from kznews.schema import EXTRACTED_TABLES

GOLD = Path(__file__).resolve().parents[1] / "fixtures" / "site" / "page_13178.gold.json"
ALMATY = ZoneInfo("Asia/Almaty")
LOAD_DATES = (date(2024, 5, 17), date(2024, 5, 18))

URL_WWW = "http://www.old.exclusive.kz/expertiza/smart/13178/"
URL_BARE = "http://old.exclusive.kz/expertiza/smart/13178"
LISTING_URL = "http://www.old.exclusive.kz/expertiza/smart/"
PAGE_13170 = "http://www.old.exclusive.kz/expertiza/smart/13170/"
WP_ARTICLE = "https://exclusive.kz/tenge-ostaetsja-vo-vlasti-emocij/"


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def load_gold() -> dict[str, Any]:
    return json.loads(GOLD.read_text(encoding="utf-8"))


def _page(url: str, shown_on: date, fetched_at: datetime, **kw: Any) -> dict[str, Any]:
    row = {
        "url": url,
        "page_type": "article",
        "layout": "old_bitrix",
        "shown_on": shown_on,
        "fetched_at": fetched_at,
        "content_sha256": f"sha-{url}-{fetched_at.isoformat()}",
        "encoding": "utf-8",
        "status": 200,
        "article_id": None,
        "section": "expertiza",
        "rubric": "smart",
        "rubric_name": "Smart",
        "pager_pages": 33,
        "n_rates": 0,
        "n_headlines": 0,
        "n_listing_items": 0,
        "has_article": False,
        "extraction_method": "fixture",
    }
    row.update(kw)
    return row


def _listing(page_url: str, shown_on: date, fetched_at: datetime, items: list[dict]) -> list[dict]:
    out = []
    for pos, it in enumerate(items, start=1):
        published_at = _ts(it["published_at"]) if it.get("published_at") else None
        published_on = it.get("published_on") or (
            published_at.astimezone(ALMATY).date() if published_at else None
        )
        out.append(
            {
                "page_url": page_url,
                "position": pos,
                "url": it["url"],
                "article_id": str(it["article_id"]) if it.get("article_id") else None,
                "section": it.get("section", "expertiza"),
                "rubric": it.get("rubric", "smart"),
                "rubric_name": it.get("rubric_name", "Smart"),
                "title": it["title"],
                "author": it["author"],
                "published_at": published_at,
                "published_on": published_on,
                "shown_on": shown_on,
                "fetched_at": fetched_at,
                "extraction_method": "fixture",
            }
        )
    return out


def _rates(page_url: str, shown_on: date, fetched_at: datetime, rates: dict) -> list[dict]:
    return [
        {
            "page_url": page_url,
            "shown_on": shown_on,
            "base_currency": cur,
            "quote_currency": "KZT",
            "rate": Decimal(str(value)),
            "fetched_at": fetched_at,
            "extraction_method": "fixture",
        }
        for cur, value in rates.items()
    ]


def _headlines(page_url: str, shown_on: date, fetched_at: datetime, items: list[dict]) -> list:
    return [
        {
            "page_url": page_url,
            "shown_on": shown_on,
            "position": pos,
            "title": h["title"],
            "url": h["url"],
            "language": h["language"],
            "fetched_at": fetched_at,
            "extraction_method": "fixture",
        }
        for pos, h in enumerate(items, start=1)
    ]


def _article(url: str, gold_article: dict, shown_on: date, fetched_at: datetime, **kw) -> dict:
    row = {
        "url": url,
        "article_id": str(gold_article["article_id"]),
        "site": "old",
        "section": gold_article["section"],
        "rubric": gold_article["rubric"],
        "title": gold_article["title"],
        "body": gold_article["body"],
        "language": gold_article["language"],
        "published_at": None,
        "published_on": None,
        "shown_on": shown_on,
        "fetched_at": fetched_at,
        "extraction_method": "fixture",
    }
    row.update(kw)
    return row


def partition_rows() -> dict[date, dict[str, list[dict]]]:
    """Rows per load date and table (before Arrow conversion)."""
    gold = load_gold()
    shown = date.fromisoformat(gold["shown_on"])
    rates = {r["base_currency"]: r["rate"] for r in gold["rates"]}
    day1: dict[str, list[dict]] = {t: [] for t in EXTRACTED_TABLES}
    for url, fetched, enc in (
        (URL_WWW, _ts("2024-05-17T06:00:00Z"), "utf-8"),
        (URL_BARE, _ts("2024-05-17T06:05:00Z"), "windows-1251"),
    ):
        n_li = len(gold["listing_items"])
        day1["pages"].append(
            _page(
                url,
                shown,
                fetched,
                encoding=enc,
                article_id="13178",
                has_article=True,
                n_rates=3,
                n_headlines=len(gold["headlines"]),
                n_listing_items=n_li,
            )
        )
        day1["rates"] += _rates(url, shown, fetched, rates)
        day1["headlines"] += _headlines(url, shown, fetched, gold["headlines"])
        day1["articles"].append(_article(url, gold["article"], shown, fetched))
        day1["listing_items"] += _listing(url, shown, fetched, gold["listing_items"])

    # --- 2024-05-18: synthetic pages --------------------------------------------------------
    d18, d20 = date(2024, 5, 18), date(2024, 5, 20)
    f18 = _ts("2024-05-18T05:00:00Z")
    day2: dict[str, list[dict]] = {t: [] for t in EXTRACTED_TABLES}
    new_items = [
        {
            "url": URL_WWW,
            "article_id": 13178,
            "title": gold["article"]["title"],
            # capitals, a no-break space and a double space: one author after normalisation
            "author": "КАРЛЫГАШ\u00a0 ЕЖЕНОВА",
            # 01:30 local on 21 June 2016 is 19:30 UTC on the 20th
            "published_at": "2016-06-20T19:30:00Z",
        },
        *[
            dict(it, author=it["author"].upper()) if i == 0 else it
            for i, it in enumerate(gold["listing_items"][:5])
        ],
    ]
    day2["pages"].append(
        _page(
            LISTING_URL,
            d18,
            f18,
            page_type="listing",
            n_rates=3,
            n_headlines=3,
            n_listing_items=len(new_items),
        )
    )
    day2["listing_items"] += _listing(LISTING_URL, d18, f18, new_items)
    day2["rates"] += _rates(
        LISTING_URL, d18, f18, {"USD": "426.10", "EUR": "497.00", "RUR": "5.83"}
    )
    ticker = [
        dict(gold["headlines"][0], title="  " + gold["headlines"][0]["title"].replace(" ", "  ")),
        gold["headlines"][1],
        {
            "title": "Теңге бағамы нығайды",
            "url": "https://exclusive.kz/tenge-bagamy-nygajdy/",
            "language": "kk",
        },
    ]
    day2["headlines"] += _headlines(LISTING_URL, d18, f18, ticker)

    f18b = _ts("2024-05-18T09:00:00Z")
    a13170 = gold["listing_items"][0]
    day2["pages"].append(
        _page(PAGE_13170, d18, f18b, article_id="13170", has_article=True, n_rates=3)
    )
    day2["rates"] += _rates(
        PAGE_13170, d18, f18b, {"USD": "426.50", "EUR": "497.00", "RUB": "5.83"}
    )
    day2["articles"].append(
        _article(
            PAGE_13170,
            {
                "article_id": 13170,
                "section": "expertiza",
                "rubric": "smart",
                "title": a13170["title"],
                "language": "ru",
                "body": "Первый абзац.\n\nВторой  абзац из\u00a0пяти слов.",
            },
            d18,
            f18b,
        )
    )

    f20 = _ts("2024-05-20T04:00:00Z")
    page2 = LISTING_URL + "?PAGEN_1=2"
    day2["pages"].append(_page(page2, d20, f20, page_type="listing", n_rates=3))
    day2["rates"] += _rates(page2, d20, f20, {"USD": "427.00", "EUR": "498.10", "RUR": "5.85"})

    f_wp = _ts("2024-05-18T12:00:00Z")
    day2["pages"].append(
        _page(
            WP_ARTICLE,
            None,
            f_wp,
            layout="wordpress",
            section=None,
            rubric=None,
            rubric_name=None,
            pager_pages=None,
            article_id="tenge-ostaetsja-vo-vlasti-emocij",
            has_article=True,
        )
    )
    day2["articles"].append(
        {
            "url": WP_ARTICLE,
            "article_id": "tenge-ostaetsja-vo-vlasti-emocij",
            "site": "current",
            "section": None,
            "rubric": None,
            "title": "Тенге остается во власти эмоций",
            "body": "Курс тенге снова колеблется.",
            "language": "ru",
            "published_at": None,
            "published_on": date(2022, 6, 1),
            "shown_on": None,
            "fetched_at": f_wp,
            "extraction_method": "fixture",
        }
    )
    return {LOAD_DATES[0]: day1, LOAD_DATES[1]: day2}


def write_partition(out_dir: Path, load_date: date, tables: dict[str, list[dict]]) -> None:
    for name, schema in EXTRACTED_TABLES.items():
        folder = Path(out_dir) / name / f"load_date={load_date.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(tables.get(name, []), schema=schema)
        pq.write_table(table, folder / "part-00000.parquet")


def write_fixture(out_dir: Path, load_dates: tuple[date, ...] = LOAD_DATES) -> Path:
    """Write the chosen load-date partitions under ``out_dir`` and return it."""
    rows = partition_rows()
    for d in load_dates:
        write_partition(out_dir, d, rows[d])
    return Path(out_dir)


if __name__ == "__main__":  # pragma: no cover - manual use
    import sys

    print(write_fixture(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/kznews_fixture")))
