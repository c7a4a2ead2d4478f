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
