"""Every example query of docs/bi.md runs against the published sample warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from . import builds

QUERIES = sorted((builds.ROOT / "docs" / "queries").glob("*.sql"))


def test_at_least_five_example_queries() -> None:
    assert len(QUERIES) >= 5
    guide = (builds.ROOT / "docs" / "bi.md").read_text(encoding="utf-8")
    for q in QUERIES:
        assert f"queries/{q.name}" in guide, f"docs/bi.md does not mention {q.name}"


@pytest.mark.parametrize("query", QUERIES, ids=[q.stem for q in QUERIES])
def test_query_runs_on_published_sample(sample_wh: builds.Built, query: Path) -> None:
    published = sample_wh.published["path"]
    con = duckdb.connect(published, read_only=True)
    try:
        rows = con.execute(query.read_text(encoding="utf-8")).fetchall()
    finally:
        con.close()
    assert rows, f"{query.name} returned no rows on the sample warehouse"


def test_rate_trend_compares_with_the_calendar_month_before_only() -> None:
    """A month after a gap has no change: it would span the gap, not one month."""
    con = duckdb.connect()
    con.execute(
        "create table fct_exchange_rates as select * from (values "
        "('USD', date '2024-01-31', 400.0, false), ('USD', date '2024-02-29', 440.0, false), "
        "('USD', date '2024-05-31', 484.0, false)) t(currency, rate_date, rate, is_disputed)"
    )
    sql = (builds.ROOT / "docs" / "queries" / "rate_trend_per_currency.sql").read_text("utf-8")
    rows = con.execute(sql).fetchall()
    cols = [d[0] for d in con.description]
    changes = [dict(zip(cols, r, strict=True))["change_vs_prev_month_pct"] for r in rows]
    assert changes == [None, 10.0, None]
