"""The whole pipeline without Airflow, over the bundled sample, in a temporary directory."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from kznews.config import load_settings
from kznews.pipeline import format_summary, run_pipeline
from tests.conftest import SAMPLE

MARTS = ("fct_articles", "dim_authors", "fct_exchange_rates", "fct_headlines")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    settings = load_settings(data_dir=root / "data", warehouse_dir=root / "warehouse")
    summary = run_pipeline(SAMPLE, date(2026, 11, 25), settings)
    return settings, summary


@pytest.mark.slow
def test_every_stage_ran_and_published(run):
    settings, summary = run
    assert summary["land"]["rows"] >= 300
    assert summary["extract"]["rows"]["articles"] > 0
    assert summary["quality"]["success"] is True
    assert settings.published_db.exists()
    with duckdb.connect(str(settings.published_db), read_only=True) as con:
        for mart in MARTS:
            n = con.sql(f"select count(*) from {mart}").fetchone()[0]  # noqa: S608
            assert n > 0, mart


@pytest.mark.slow
def test_summary_names_marts_validation_and_file(run):
    settings, summary = run
    text = format_summary(summary)
    for mart in MARTS:
        assert mart in text
    assert "validation: PASSED" in text
    assert str(settings.published_db) in text


@pytest.mark.slow
def test_seed_article_merged_across_its_url_forms(run):
    settings, _ = run
    with duckdb.connect(str(settings.published_db), read_only=True) as con:
        rows = con.sql("select * from fct_articles where article_id = '13178'").fetchall()
    assert len(rows) == 1
