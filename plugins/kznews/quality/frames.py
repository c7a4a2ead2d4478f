# ruff: noqa: S608  (SQL is built only from code constants, quoted identifiers and escaped paths)
"""Build the pandas frames the gate validates, with DuckDB doing the reading and aggregating.

Only the columns a check needs are read (the landing's ``body`` column never is); per-row
frames are kept where a check needs per-row evidence (pages, rates), and large tables
(headlines, listing items) are aggregated in DuckDB first so memory stays flat at 100,000
pages. Each builder returns ``{frame name: DataFrame}`` for the frames of ``specs.frames()``.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kznews.quality import specs

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from kznews.config import Settings


def _connect(
    settings: Settings, database: str = ":memory:", read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    import duckdb

    from kznews.config import memory_limit

    con = duckdb.connect(database, read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    # Bounded memory, the same bound as the build and the publish step (duckdb_memory_limit):
    # DuckDB spills instead of growing with the archive.
    con.execute(f"SET memory_limit = '{memory_limit(settings)}'")
    return con


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _files_sql(files: list[Path]) -> str:
    return "[" + ", ".join(_sql_str(str(f)) for f in files) + "]"


def partition_files(settings: Settings, table: str, load_date: date) -> list[Path]:
    folder = settings.extracted_dir / table / f"load_date={load_date.isoformat()}"
    return sorted(folder.glob("part-*.parquet"))


def landing_file(settings: Settings, load_date: date) -> Path:
    return settings.raw_dir / f"load_date={load_date.isoformat()}" / "part-0.parquet"


def _register_table(
    con: duckdb.DuckDBPyConnection, name: str, files: list[Path], columns: list[str], schema: Any
) -> None:
    """A view ``name`` with exactly ``columns``: from ``files`` when any, else empty.

    A column missing from the files (an older schema) reads as NULL of the schema's type, so
    one stale column does not turn into a crash of the whole gate.
    """
    import pyarrow as pa

    if not files:
        empty = pa.schema([schema.field(c) for c in columns]).empty_table()
        con.register(f"{name}__empty", empty)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {name}__empty")
        return
    src = f"read_parquet({_files_sql(files)}, union_by_name = true)"
    present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
    exprs = []
    for c in columns:
        if c in present:
            exprs.append(f'"{c}"')
        else:
            duck_type = con.from_arrow(pa.schema([schema.field(c)]).empty_table()).types[0]
            exprs.append(f'CAST(NULL AS {duck_type}) AS "{c}"')
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {', '.join(exprs)} FROM {src}")


# --- landing -----------------------------------------------------------------------------------


def landing_frames(settings: Settings, load_date: date) -> dict[str, pd.DataFrame]:
    from kznews.schema import RAW_PAGES

    con = _connect(settings)
    try:
        f = landing_file(settings, load_date)
        cols = ["url", "status", "size_bytes", "sha256", "content_type"]
        _register_table(con, "raw", [f] if f.exists() else [], cols, RAW_PAGES)
        return {"raw_pages": con.execute("SELECT * FROM raw").df()}
    finally:
        con.close()


# --- extraction --------------------------------------------------------------------------------

_EXTRACT_COLUMNS: dict[str, list[str]] = {
    "pages": ["url", "page_type", "layout", "article_id", "has_article", "extraction_method"],
    "rates": ["page_url", "shown_on", "base_currency", "quote_currency", "rate",
              "extraction_method"],
    "headlines": ["page_url", "title", "language", "extraction_method"],
    "articles": ["url", "page_url", "article_id", "title", "body", "published_at",
                 "published_on", "fetched_at", "extraction_method"],
    "listing_items": ["url", "published_at", "published_on", "fetched_at", "extraction_method"],
    "quarantine": ["source", "stage", "reason"],
}


def extraction_frames(settings: Settings, load_date: date) -> dict[str, pd.DataFrame]:
    import pandas as pd

    from kznews.schema import EXTRACTED_TABLES, RAW_PAGES

    con = _connect(settings)
    try:
        file_counts: dict[str, int] = {}
        for table, cols in _EXTRACT_COLUMNS.items():
            files = partition_files(settings, table, load_date)
            file_counts[table] = len(files)
            _register_table(con, table, files, cols, EXTRACTED_TABLES[table])
        raw = landing_file(settings, load_date)
        _register_table(con, "raw", [raw] if raw.exists() else [], ["url"], RAW_PAGES)

        out: dict[str, pd.DataFrame] = {}
        rows = []
        for table in EXTRACTED_TABLES:
            if table in specs.METHOD_TABLES:
                n, fallback = con.execute(
                    f"SELECT count(*), count(*) FILTER (WHERE extraction_method IS NULL OR NOT "
                    f"starts_with(extraction_method, '{specs.PROFILE_METHOD_PREFIX}')) "
                    f"FROM {table}"
                ).fetchone()
            else:
                n, fallback = con.execute(f"SELECT count(*), NULL FROM {table}").fetchone()
            rows.append({
                "table": table, "files": file_counts[table], "rows": n,
                "fallback_rows": fallback,
                "fallback_share": (fallback / n) if (fallback is not None and n) else None,
            })
        out["extract_tables"] = pd.DataFrame(rows).astype({"fallback_share": "float64"})

        out["coverage"] = con.execute(
            """
            WITH landed AS (SELECT DISTINCT url FROM raw),
            q AS (SELECT DISTINCT source AS url FROM quarantine WHERE stage = 'extract'),
            seen AS (SELECT url FROM pages UNION SELECT url FROM q)
            SELECT
              (SELECT count(*) FROM landed) AS landed_rows,
              (SELECT count(*) FROM pages) AS pages_rows,
              CASE WHEN (SELECT count(*) FROM landed) > 0 THEN (SELECT count(*) FROM pages)
                   END AS pages_if_landed,
              (SELECT count(*) FROM landed WHERE url IN (SELECT url FROM seen))
                / nullif((SELECT count(*) FROM landed), 0) AS accounted_share,
              (SELECT count(*) FROM q) / nullif((SELECT count(*) FROM landed), 0)
                AS quarantine_share
            """
        ).df()

        out["pages"] = con.execute(
            "SELECT url, page_type, layout, has_article FROM pages"
        ).df()

        # Articles with a title and a body, scanned once (bodies are the biggest column):
        # a regex search for one non-space character stops at the first letter.
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE ok AS
            SELECT coalesce(page_url, url) AS page_url, url, article_id FROM articles
            WHERE regexp_matches(coalesce(title, ''), '\\S')
              AND regexp_matches(coalesce(body, ''), '\\S')
            """
        )
        out["article_pages"] = con.execute(
            """
            -- a page is complete when an article row with title and body names it as the
            -- page it came from (page_url), or by its canonical URL, or by its article id
            SELECT p.url, p.layout,
                   (p.url IN (SELECT page_url FROM ok) OR p.url IN (SELECT url FROM ok)
                    OR coalesce(p.article_id IN (SELECT article_id FROM ok
                                                WHERE article_id IS NOT NULL), false))
                   AS has_title_and_body
            FROM pages p WHERE p.page_type = 'article'
            """
        ).df()

        out["old_layout_pages"] = con.execute(
            """
            SELECT p.url, r.page_url IS NOT NULL AS has_rates,
                   coalesce(r.n_currencies, 0) AS n_currencies
            FROM pages p
            LEFT JOIN (SELECT page_url, count(DISTINCT base_currency) AS n_currencies
                       FROM rates GROUP BY page_url) r ON r.page_url = p.url
            WHERE p.layout = 'old_bitrix'
            """
        ).df()

        out["rates"] = con.execute(
            """
            SELECT page_url, base_currency, quote_currency, CAST(rate AS DOUBLE) AS rate,
                   strftime(shown_on, '%Y-%m-%d') AS shown_on
            FROM rates
            """
        ).df()

        out["rates_daily"] = con.execute(
            """
            SELECT strftime(shown_on, '%Y-%m-%d') AS shown_on, base_currency,
                   count(*) AS pages, min(CAST(rate AS DOUBLE)) AS rate_min,
                   max(CAST(rate AS DOUBLE)) AS rate_max,
                   max(CAST(rate AS DOUBLE)) / nullif(min(CAST(rate AS DOUBLE)), 0) - 1
                     AS spread
            FROM rates WHERE shown_on IS NOT NULL
            GROUP BY ALL ORDER BY ALL
            """
        ).df()

        out["headline_languages"] = con.execute(
            """
            SELECT language, count(*) AS rows, any_value(title) AS example_title,
                   any_value(page_url) AS example_page_url
            FROM headlines GROUP BY language ORDER BY rows DESC
            """
        ).df()

        fallback_fetch = _sql_str((load_date + timedelta(days=1)).isoformat())
        out["publication_dates"] = con.execute(
            f"""
            WITH pub AS (
              SELECT 'articles' AS source, url, published_at, published_on, fetched_at
              FROM articles
              UNION ALL
              SELECT 'listing_items', url, published_at, published_on, fetched_at
              FROM listing_items
            ), u AS (
              -- naive UTC timestamps via epoch: no per-row time-zone arithmetic
              SELECT source, url,
                     coalesce(make_timestamp(epoch_us(published_at)),
                              CAST(published_on AS TIMESTAMP)) AS ts,
                     coalesce(make_timestamp(epoch_us(fetched_at)),
                              CAST({fallback_fetch} AS TIMESTAMP)) AS fetched
              FROM pub
              WHERE published_at IS NOT NULL OR published_on IS NOT NULL
            ), t AS (
              SELECT source, url, CAST(ts AS DATE) AS day,
                     date_diff('second', fetched, ts) AS ahead_s
              FROM u
            )
            SELECT source, strftime(day, '%Y-%m-%d') AS published_day,
                   year(day) AS published_year, count(*) AS rows,
                   max(ahead_s) / 3600.0 AS max_hours_after_fetch,
                   arg_max(url, ahead_s) AS example_url
            FROM t GROUP BY source, day ORDER BY ALL
            """
        ).df()
        return out
    finally:
        con.close()


# --- marts -------------------------------------------------------------------------------------


def _quote(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def mart_frames(settings: Settings) -> dict[str, pd.DataFrame]:
    """Frames about the marts of the dbt build file, opened read-only (no writer lock)."""
    import pandas as pd

    marts = set(specs.MART_KEYS) | {fk[0] for fk in specs.MART_FOREIGN_KEYS}
    marts |= {fk[2] for fk in specs.MART_FOREIGN_KEYS} | {specs.MART_RATES[0]}
    needed: dict[str, set[str]] = {m: set() for m in marts}
    for m, keys in specs.MART_KEYS.items():
        for key in keys:
            needed[m].update(key)
    for child, ccol, parent, pcol, _ in specs.MART_FOREIGN_KEYS:
        needed[child].add(ccol)
        needed[parent].add(pcol)
    needed[specs.MART_RATES[0]].update(specs.MART_RATES[1:])

    build_db = settings.build_db
    located: dict[str, str] = {}
    columns: dict[str, set[str]] = {}
    con = None
    if build_db.exists():
        con = _connect(settings, str(build_db), read_only=True)
    try:
        if con is not None:
            found = con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "ORDER BY (table_schema = 'marts') DESC, table_schema"
            ).fetchall()
            for schema_name, table_name in found:
                if table_name in marts and table_name not in located:
                    located[table_name] = f"{_quote(schema_name)}.{_quote(table_name)}"
                    columns[table_name] = {
                        r[0] for r in con.execute(
                            "SELECT column_name FROM information_schema.columns "
                            "WHERE table_schema = ? AND table_name = ?",
                            [schema_name, table_name],
                        ).fetchall()
                    }

        def usable(mart: str, cols: tuple[str, ...] | set[str]) -> bool:
            return con is not None and mart in located and set(cols) <= columns[mart]

        tables = []
        for m in sorted(marts):
            missing = sorted(needed[m] - columns.get(m, set())) if m in located else []
            rows = con.execute(f"SELECT count(*) FROM {located[m]}").fetchone()[0] if (
                con is not None and m in located) else None
            tables.append({"mart": m, "exists": m in located, "rows": rows,
                           "missing_columns": ", ".join(missing)})
        out: dict[str, pd.DataFrame] = {"mart_tables": pd.DataFrame(tables)}

        keys = []
        for m, mart_keys in specs.MART_KEYS.items():
            for key in mart_keys:
                if not usable(m, key):
                    continue
                cols = ", ".join(_quote(c) for c in key)
                any_null = " OR ".join(f"{_quote(c)} IS NULL" for c in key)
                rows, nulls = con.execute(
                    f"SELECT count(*), count(*) FILTER (WHERE {any_null}) FROM {located[m]}"
                ).fetchone()
                dup, example = con.execute(
                    f"SELECT count(*), any_value(k) FROM (SELECT concat_ws(' | ', "
                    f"{', '.join(f'CAST({_quote(c)} AS VARCHAR)' for c in key)}) AS k "
                    f"FROM {located[m]} WHERE NOT ({any_null}) GROUP BY {cols} "
                    f"HAVING count(*) > 1)"
                ).fetchone()
                keys.append({"mart": m, "key": "+".join(key), "rows": rows, "null_keys": nulls,
                             "duplicate_keys": dup, "example": example})
        out["mart_keys"] = pd.DataFrame(
            keys, columns=["mart", "key", "rows", "null_keys", "duplicate_keys", "example"])

        fks = []
        for child, ccol, parent, pcol, min_cov in specs.MART_FOREIGN_KEYS:
            if not (usable(child, (ccol,)) and usable(parent, (pcol,))):
                continue
            child_rows, orphans, example = con.execute(
                f"""
                WITH p AS (SELECT DISTINCT CAST({_quote(pcol)} AS VARCHAR) AS k
                           FROM {located[parent]})
                SELECT count(c.v), count(c.v) FILTER (WHERE p.k IS NULL),
                       any_value(c.v) FILTER (WHERE p.k IS NULL)
                FROM (SELECT CAST({_quote(ccol)} AS VARCHAR) AS v FROM {located[child]}) c
                LEFT JOIN p ON c.v = p.k
                """
            ).fetchone()
            coverage = 1.0 - (orphans / child_rows) if child_rows else 1.0
            fks.append({"relation": f"{child}.{ccol} -> {parent}.{pcol}",
                        "child_rows": child_rows, "orphans": orphans,
                        "coverage": round(coverage, 6), "min_coverage": min_cov,
                        "coverage_margin": coverage - min_cov, "example": example})
        out["mart_foreign_keys"] = pd.DataFrame(
            fks, columns=["relation", "child_rows", "orphans", "coverage", "min_coverage",
                          "coverage_margin", "example"])

        mart, dcol, ccol, rcol = specs.MART_RATES
        if usable(mart, (dcol, ccol, rcol)):
            out["mart_rates"] = con.execute(
                f"SELECT CAST({_quote(dcol)} AS VARCHAR) AS rate_date, "
                f"CAST({_quote(ccol)} AS VARCHAR) AS currency, "
                f"CAST({_quote(rcol)} AS DOUBLE) AS rate FROM {located[mart]}"
            ).df()
        else:
            out["mart_rates"] = pd.DataFrame(
                {"rate_date": pd.Series(dtype="object"), "currency": pd.Series(dtype="object"),
                 "rate": pd.Series(dtype="float64")})
        return out
    finally:
        if con is not None:
            con.close()
