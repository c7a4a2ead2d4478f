# ruff: noqa: S608, S603  (a benchmark: SQL from its own constants, runs its own interpreter)
"""Time the quality gate on synthetic loads of 1,000 and 100,000 pages.

    .venv/bin/python scripts/bench_quality.py            # 1k and 100k pages
    .venv/bin/python scripts/bench_quality.py --pages 1000 5000

For each size it writes, in a temporary folder, a landing partition, every extracted table in
the exact schemas of ``kznews.schema`` (pages, rates, headlines, articles, listing items,
quarantine) and a build file with the marts, all with DuckDB ``COPY ... FROM range(n)`` so the
generator itself stays small in memory. It then runs ``kznews.quality.run_gate`` in a fresh
Python process (so Great Expectations' import is counted, as in a nightly task) and prints wall
time, the gate's own per-stage seconds and the child's peak RSS.

Per page: 70% old-layout articles (3 rates, 25 headlines, 34 listing items, ~3 KB body),
20% current-site articles, 10% old-layout listings (3 rates, 25 headlines, 34 items). Landed
bodies are a few bytes: the gate never reads ``body`` (it checks ``size_bytes`` and ``sha256``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

LOAD_DATE = date(2024, 5, 17)

_CHILD = r"""
import json, resource, sys, time
from datetime import date
from pathlib import Path
t0 = time.perf_counter()
from kznews.config import Settings
from kznews.quality import QualityGateError, run_gate
try:
    r = run_gate(Settings(home=Path(sys.argv[1])), date.fromisoformat(sys.argv[2]))
except QualityGateError as e:
    r = e.result
wall = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall_s": wall, "rss_mb": rss, "success": r["success"],
                  "evaluated": r["evaluated"], "warnings": r["warnings"],
                  "stages": r.get("stages"), "summary": r["summary"]}))
"""


def _copy(con, sql: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)")


def make_load(home: Path, n_pages: int) -> dict[str, int]:
    """Write a clean synthetic load of ``n_pages`` pages under ``home``; returns row counts."""
    import duckdb
    import pyarrow.parquet as pq

    from kznews.config import Settings
    from kznews.schema import QUARANTINE

    s = Settings(home=home)
    part = f"load_date={LOAD_DATE.isoformat()}"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    body = ("Миграция на новую биллинговую систему осуществляется во исполнение предписания. "
            * 40).replace("'", "")
    con.execute(f"""
        CREATE TEMP VIEW p AS
        SELECT i,
               CASE WHEN i % 10 < 7 THEN 'old_article' WHEN i % 10 < 9 THEN 'wp_article'
                    ELSE 'old_listing' END AS kind,
               CASE WHEN i % 10 < 7 THEN 'http://www.old.exclusive.kz/expertiza/smart/' || i || '/'
                    WHEN i % 10 < 9 THEN 'https://exclusive.kz/novost-' || i || '/'
                    ELSE 'http://www.old.exclusive.kz/expertiza/smart/?PAGEN_1=' || i END AS url,
               DATE '{LOAD_DATE}' AS shown_on,
               TIMESTAMPTZ '{LOAD_DATE} 06:00:00+00' AS fetched_at
        FROM range({n_pages}) t(i)
    """)
    prof = "CASE WHEN kind LIKE 'old%' THEN 'profile:old_bitrix' ELSE 'profile:wordpress' END"
    ex = s.extracted_dir
    _copy(con, """
        SELECT url, url AS final_url, CAST(200 AS INTEGER) AS status, '{}' AS headers,
               'text/html; charset=utf-8' AS content_type, fetched_at,
               sha256(url) AS sha256, CAST(length(url) AS BIGINT) AS size_bytes,
               'bench' AS source, CAST(url AS BLOB) AS body
        FROM p""", s.raw_dir / part / "part-0.parquet")
    _copy(con, f"""
        SELECT url, CASE WHEN kind LIKE '%article' THEN 'article' ELSE 'listing' END AS page_type,
               CASE WHEN kind LIKE 'old%' THEN 'old_bitrix' ELSE 'wordpress' END AS layout,
               shown_on, fetched_at, sha256(url) AS content_sha256, 'utf-8' AS encoding,
               CAST(200 AS INTEGER) AS status, CAST(i AS VARCHAR) AS article_id,
               'expertiza' AS section, 'smart' AS rubric, 'Smart' AS rubric_name,
               CAST(33 AS INTEGER) AS pager_pages,
               CAST(CASE WHEN kind LIKE 'old%' THEN 3 ELSE 0 END AS INTEGER) AS n_rates,
               CAST(CASE WHEN kind LIKE 'old%' THEN 25 ELSE 0 END AS INTEGER) AS n_headlines,
               CAST(CASE WHEN kind LIKE 'old%' THEN 34 ELSE 0 END AS INTEGER) AS n_listing_items,
               kind LIKE '%article' AS has_article, {prof} AS extraction_method
        FROM p""", ex / "pages" / part / "part-0.parquet")
    _copy(con, """
        SELECT url AS page_url, shown_on, c.cur AS base_currency, 'KZT' AS quote_currency,
               CAST(c.rate + (i % 7) * 0.0 AS DECIMAL(18, 6)) AS rate, fetched_at,
               'profile:old_bitrix' AS extraction_method
        FROM p, (VALUES ('USD', 425.67), ('EUR', 496.42), ('RUB', 5.81)) c(cur, rate)
        WHERE kind LIKE 'old%'""", ex / "rates" / part / "part-0.parquet")
    _copy(con, """
        SELECT url AS page_url, shown_on, CAST(h AS INTEGER) AS position,
               'Заголовок новости ' || h AS title,
               'https://exclusive.kz/headline-' || h || '/' AS url,
               CASE WHEN h % 4 = 0 THEN 'kk' ELSE 'ru' END AS language, fetched_at,
               'profile:old_bitrix' AS extraction_method
        FROM p, range(1, 26) t(h) WHERE kind LIKE 'old%'""",
          ex / "headlines" / part / "part-0.parquet")
    _copy(con, f"""
        SELECT url, url AS page_url, CAST(i AS VARCHAR) AS article_id,
               CASE WHEN kind LIKE 'old%' THEN 'old' ELSE 'current' END AS site,
               'expertiza' AS section, 'smart' AS rubric, 'Статья ' || i AS title,
               '{body}' || i AS body, 'ru' AS language,
               CAST(NULL AS TIMESTAMPTZ) AS published_at,
               CASE WHEN kind = 'wp_article' THEN DATE '{LOAD_DATE}' - CAST(i % 3000 AS INTEGER)
                    END AS published_on,
               shown_on, fetched_at, {prof} AS extraction_method
        FROM p WHERE kind LIKE '%article'""", ex / "articles" / part / "part-0.parquet")
    _copy(con, """
        SELECT url AS page_url, CAST(k AS INTEGER) AS position,
               'http://www.old.exclusive.kz/expertiza/smart/' || (i * 34 + k) || '/' AS url,
               CAST(i * 34 + k AS VARCHAR) AS article_id, 'expertiza' AS section,
               'smart' AS rubric, 'Smart' AS rubric_name, 'Статья ' || k AS title,
               'Автор ' || (k % 9) AS author,
               TIMESTAMPTZ '2008-01-01 00:00:00+00'
                 + to_minutes(CAST((i * 34 + k) % 4000000 AS BIGINT)) AS published_at,
               CAST(NULL AS DATE) AS published_on, shown_on, fetched_at,
               'profile:old_bitrix' AS extraction_method
        FROM p, range(1, 35) t(k) WHERE kind LIKE 'old%'""",
          ex / "listing_items" / part / "part-0.parquet")
    qdir = ex / "quarantine" / part
    qdir.mkdir(parents=True, exist_ok=True)
    pq.write_table(QUARANTINE.empty_table(), qdir / "part-0.parquet")
    counts = {t: con.execute(f"SELECT count(*) FROM '{ex / t / part / 'part-0.parquet'}'")
              .fetchone()[0] for t in ("pages", "rates", "headlines", "articles", "listing_items")}
    con.close()

    s.build_db.parent.mkdir(parents=True, exist_ok=True)
    b = duckdb.connect(str(s.build_db))
    b.execute(f"""
        CREATE SCHEMA marts;
        CREATE TABLE marts.dim_rubrics AS SELECT 'expertiza/smart' AS rubric_id;
        CREATE TABLE marts.dim_authors AS
          SELECT 'a' || i AS author_id, 'Автор ' || i AS author_name FROM range(9) t(i);
        CREATE TABLE marts.dim_date AS SELECT CAST(d AS DATE) AS date_day
          FROM range(DATE '2000-01-01', DATE '2030-01-01', INTERVAL 1 DAY) t(d);
        CREATE TABLE marts.fct_articles AS SELECT CAST(i AS VARCHAR) AS article_id,
          'expertiza/smart' AS rubric_id, 'a' || (i % 9) AS author_id,
          DATE '2008-01-01' + CAST(i % 6000 AS INTEGER) AS published_on
          FROM range({n_pages * 34 // 10 * 7}) t(i);
        CREATE TABLE marts.fct_exchange_rates AS
          SELECT CAST(d AS DATE) || '/' || c AS exchange_rate_id, CAST(d AS DATE) AS rate_date,
                 c AS currency, CAST(r AS DECIMAL(18, 6)) AS rate
          FROM range(DATE '2016-01-01', DATE '2026-01-01', INTERVAL 1 DAY) t(d),
               (VALUES ('USD', 425.67), ('EUR', 496.42), ('RUB', 5.81)) v(c, r);
        CREATE TABLE marts.fct_headlines AS
          SELECT 'h' || i AS headline_id FROM range(10000) t(i);
        CREATE TABLE marts.fct_headline_sightings AS
          SELECT CAST(i AS VARCHAR) AS sighting_id, 'h' || (i % 10000) AS headline_id,
                 DATE '2024-05-17' AS seen_on
          FROM range({n_pages * 25 // 10 * 8}) t(i);
    """)
    b.close()
    return counts


def run(n_pages: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="kznews-bench-quality-") as tmp:
        home = Path(tmp)
        t0 = time.perf_counter()
        counts = make_load(home, n_pages)
        gen_s = time.perf_counter() - t0
        proc = subprocess.run([sys.executable, "-c", _CHILD, str(home), LOAD_DATE.isoformat()],
                              capture_output=True, text=True, check=True)
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        out.update({"pages": n_pages, "rows": counts, "generate_s": gen_s})
        return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, nargs="+", default=[1_000, 100_000])
    args = ap.parse_args(argv)
    print(f"{'pages':>8} {'rows (all tables)':>18} {'gate wall s':>12} "
          f"{'landing s':>10} {'extract s':>10} {'marts s':>8} {'peak RSS MB':>12} verdict")
    for n in args.pages:
        r = run(n)
        st = r["stages"] or {}
        print(f"{n:>8,} {sum(r['rows'].values()):>18,} {r['wall_s']:>12.1f} "
              f"{st.get('landing', {}).get('seconds', 0):>10.2f} "
              f"{st.get('extraction', {}).get('seconds', 0):>10.2f} "
              f"{st.get('marts', {}).get('seconds', 0):>8.2f} {r['rss_mb']:>12.0f} "
              f"{'PASSED' if r['success'] else 'FAILED'} ({r['evaluated']} expectations, "
              f"{r['warnings']} warnings)", flush=True)
        if not r["success"]:
            print(r["summary"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
