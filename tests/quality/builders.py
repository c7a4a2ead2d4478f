"""Test inputs for the quality gate: a clean load built from page_13178.gold.json plus small
synthetic rows, written as Parquet in the exact schemas of kznews.schema, and a tiny build
file with the marts. Corruptions rewrite one table the way a real fault would.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kznews.config import Settings
from kznews.schema import EXTRACTED_TABLES, RAW_PAGES

GOLD = Path(__file__).resolve().parents[1] / "fixtures" / "site" / "page_13178.gold.json"
LOAD_DATE = date(2024, 5, 17)
FETCHED = datetime(2024, 5, 17, 6, 0, tzinfo=UTC)
N_OLD = 30  # old-layout article pages (the gold page and clones)
N_NEW = 10  # current-site (WordPress) article pages


def gold() -> dict:
    return json.loads(GOLD.read_text(encoding="utf-8"))


def write_table(settings: Settings, table: str, rows: list[dict], load_date: date = LOAD_DATE,
                schema: pa.Schema | None = None) -> Path:
    schema = schema or EXTRACTED_TABLES[table]
    folder = settings.extracted_dir / table / f"load_date={load_date.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("part-*.parquet"):
        old.unlink()
    path = folder / "part-0.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def read_rows(settings: Settings, table: str, load_date: date = LOAD_DATE) -> list[dict]:
    folder = settings.extracted_dir / table / f"load_date={load_date.isoformat()}"
    return pq.read_table(folder / "part-0.parquet").to_pylist()


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def clean_tables(n_old: int = N_OLD, n_new: int = N_NEW) -> dict[str, list[dict]]:
    """Rows of every extracted table for a clean load, plus the landed rows under "raw"."""
    g = gold()
    art = g["article"]
    shown_on = date.fromisoformat(g["shown_on"])
    common = {"shown_on": shown_on, "fetched_at": FETCHED}
    t: dict[str, list[dict]] = {name: [] for name in [*EXTRACTED_TABLES, "raw"]}
    base_id = int(art["article_id"])
    for i in range(n_old):
        aid = base_id + i
        url = art["url"] if i == 0 else f"http://www.old.exclusive.kz/expertiza/smart/{aid}/"
        t["pages"].append({
            "url": url, "page_type": "article", "layout": "old_bitrix", "status": 200,
            "article_id": str(aid), "section": "expertiza", "rubric": "smart",
            "rubric_name": g["rubric_name"], "pager_pages": 33, "n_rates": len(g["rates"]),
            "n_headlines": len(g["headlines"]), "n_listing_items": len(g["listing_items"]),
            "has_article": True, "extraction_method": "profile:old_bitrix", **common,
        })
        for r in g["rates"]:
            t["rates"].append({"page_url": url, "base_currency": r["base_currency"],
                               "quote_currency": r["quote_currency"],
                               "rate": Decimal(r["rate"]),
                               "extraction_method": "profile:old_bitrix", **common})
        for h in g["headlines"]:
            t["headlines"].append({"page_url": url, "position": h["position"],
                                   "title": h["title"], "url": h["url"],
                                   "language": h["language"],
                                   "extraction_method": "profile:old_bitrix", **common})
        t["articles"].append({
            "url": url, "page_url": url, "article_id": str(aid), "site": "old",
            "section": "expertiza",
            "rubric": "smart", "title": art["title"] if i == 0 else f"{art['title']} ({i})",
            "body": art["body"], "language": art["language"],
            "extraction_method": "profile:old_bitrix", **common,
        })
        for item in g["listing_items"]:
            t["listing_items"].append({
                "page_url": url, "position": item["position"], "url": item["url"],
                "article_id": str(item["article_id"]), "section": "expertiza",
                "rubric": "smart", "rubric_name": g["rubric_name"], "title": item["title"],
                "author": item["author"], "published_at": _ts(item["published_at"]),
                "extraction_method": "profile:old_bitrix", **common,
            })
    for i in range(n_new):
        url = f"https://exclusive.kz/novost-{i}/"
        t["pages"].append({
            "url": url, "page_type": "article", "layout": "wordpress", "status": 200,
            "section": None, "rubric": "news", "n_rates": 0, "n_headlines": 0,
            "n_listing_items": 0, "has_article": True,
            "extraction_method": "profile:wordpress", **common,
        })
        t["articles"].append({
            "url": url, "page_url": url, "article_id": f"novost-{i}", "site": "current",
            "rubric": "news", "title": f"Новость {i}",
            "body": "Текст новости.\n\nВторой абзац.", "language": "ru",
            "published_on": shown_on - timedelta(days=i),
            "extraction_method": "profile:wordpress", **common,
        })
    for p in t["pages"]:
        body = f"<html><body>{p['url']}</body></html>".encode()
        t["raw"].append({
            "url": p["url"], "final_url": p["url"], "status": 200, "headers": "{}",
            "content_type": "text/html; charset=utf-8", "fetched_at": FETCHED,
            "sha256": hashlib.sha256(body).hexdigest(), "size_bytes": len(body),
            "source": "test", "body": body,
        })
    return t


def write_landing(settings: Settings, rows: list[dict], load_date: date = LOAD_DATE) -> Path:
    folder = settings.raw_dir / f"load_date={load_date.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "part-0.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=RAW_PAGES), path)
    return path


def write_marts(settings: Settings, tables: dict[str, list[dict]]) -> Path:
    """A build file with the marts the gate checks, derived from the extracted rows."""
    import duckdb

    path = settings.build_db
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.dim_rubrics AS SELECT * FROM (VALUES ('smart'), "
                    "('news')) t(rubric_id)")
        authors = sorted({i["author"] for i in tables["listing_items"]})
        con.execute("CREATE TABLE marts.dim_authors (author_id VARCHAR, author_name VARCHAR)")
        con.executemany("INSERT INTO marts.dim_authors VALUES (?, ?)",
                        [[f"a{n}", a] for n, a in enumerate(authors)])
        con.execute("CREATE TABLE marts.fct_articles (article_id VARCHAR, rubric_id VARCHAR, "
                    "author_id VARCHAR, published_on DATE, title VARCHAR)")
        con.executemany("INSERT INTO marts.fct_articles VALUES (?, ?, ?, ?, ?)",
                        [[a.get("article_id") or a["url"], a["rubric"], "a0",
                          a.get("published_on"), a["title"]] for a in tables["articles"]])
        con.execute("CREATE TABLE marts.dim_date AS SELECT CAST(d AS DATE) AS date_day FROM "
                    "range(DATE '2000-01-01', DATE '2030-01-01', INTERVAL 1 DAY) t(d)")
        rates = {(r["shown_on"], r["base_currency"]): r["rate"] for r in tables["rates"]}
        con.execute("CREATE TABLE marts.fct_exchange_rates (exchange_rate_id VARCHAR, "
                    "rate_date DATE, currency VARCHAR, rate DECIMAL(18, 6))")
        con.executemany("INSERT INTO marts.fct_exchange_rates VALUES (?, ?, ?, ?)",
                        [[f"{d}/{c}", d, c, v] for (d, c), v in sorted(rates.items())])
        heads = sorted({h["title"] for h in tables["headlines"]})
        con.execute("CREATE TABLE marts.fct_headlines (headline_id VARCHAR, "
                    "headline_title VARCHAR)")
        con.executemany("INSERT INTO marts.fct_headlines VALUES (?, ?)",
                        [[f"h{n}", h] for n, h in enumerate(heads)])
        con.execute("CREATE TABLE marts.fct_headline_sightings AS SELECT "
                    "CAST(row_number() OVER () AS VARCHAR) AS sighting_id, headline_id, "
                    "DATE '2024-05-17' AS seen_on FROM marts.fct_headlines")
    finally:
        con.close()
    return path


def write_clean_load(settings: Settings, load_date: date = LOAD_DATE) -> dict[str, list[dict]]:
    tables = clean_tables()
    write_landing(settings, tables["raw"], load_date)
    for name in EXTRACTED_TABLES:
        write_table(settings, name, tables[name], load_date)
    write_marts(settings, tables)
    return tables
