"""kznews.warehouse.build: the contract the pipeline relies on, idempotence, failures."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kznews.schema import EXTRACTED_TABLES
from kznews.warehouse import MARTS, WarehouseBuildError, run_build
from kznews.warehouse.runner import (
    GATE_TWIN_TAG,
    MODELS_NAME,
    DbtInvoker,
    run_dbt,
    target_dir,
)

from . import builds, fixture_data


def test_build_returns_the_pipeline_contract(fixture_wh: builds.Built) -> None:
    result = fixture_wh.result
    json.dumps(result)  # Airflow passes it between tasks
    assert set(result["mart_rows"]) == set(MARTS)
    assert all(n > 0 for n in result["mart_rows"].values()), result["mart_rows"]
    assert Path(result["build_db"]) == fixture_wh.settings.build_db
    assert Path(result["build_db"]).exists()
    docs = Path(result["docs_dir"])
    assert (docs / "index.html").exists()
    assert (docs / "catalog.json").exists()
    assert [step["command"] for step in result["dbt"]] == ["build", "docs"]
    # every unit test and data test ran and passed
    assert set(result["dbt"][0]["statuses"]) <= {"success", "pass"}, result["dbt"][0]


def test_night_without_new_pages_changes_nothing(
    fixture_wh: builds.Built, tmp_path: Path, forked_dbt: DbtInvoker
) -> None:
    """The next night lands nothing new: the same page fetches as the night before (landing
    deduplicates within a night, not across nights) in a new load-date partition."""
    s = builds.copy_of(fixture_wh, tmp_path, target=True)  # the session's fixture stays as built
    same_again = fixture_data.partition_rows()[fixture_data.LOAD_DATES[1]]
    fixture_data.write_partition(s.extracted_dir, date(2024, 5, 19), same_again)
    run_build(s, invoker=forked_dbt, load_date=date(2024, 5, 19), docs=False, tests=False)
    assert builds.fingerprint(s.build_db) == fixture_wh.fingerprint


def test_full_refresh_equals_incremental_history(
    fixture_wh: builds.Built, tmp_path: Path, forked_dbt: DbtInvoker
) -> None:
    s = builds.copy_of(fixture_wh, tmp_path, target=True)
    run_build(s, invoker=forked_dbt, full_refresh=True, docs=False, tests=False)
    assert builds.fingerprint(s.build_db) == fixture_wh.fingerprint


def test_failing_tests_are_named(
    fixture_wh: builds.Built, tmp_path: Path, forked_dbt: DbtInvoker
) -> None:
    s = builds.settings_for(tmp_path)
    s.build_db.parent.mkdir(parents=True)
    shutil.copy(fixture_wh.settings.build_db, s.build_db)
    con = duckdb.connect(str(s.build_db))
    # the same article twice: a uniqueness the database does not enforce (a data test)
    con.execute("insert into intermediate.int_articles_merged_across_urls"
                " select * from intermediate.int_articles_merged_across_urls limit 1")
    con.close()
    with pytest.raises(WarehouseBuildError) as err:
        run_dbt(s, "test", "--select", "int_articles_merged_across_urls", invoker=forked_dbt)
    message = str(err.value)
    assert "unique_int_articles_merged_across_urls_article_id" in message
    assert err.value.failures and all(f["status"] == "fail" for f in err.value.failures)


def test_a_missing_required_column_fails_its_staging_test(
    fixture_wh: builds.Built, tmp_path: Path, forked_dbt: DbtInvoker
) -> None:
    """columns_not_null (one test for all of a staging model's required columns) names the
    model when one of them is null in the partition a build adds."""
    s = builds.copy_of(fixture_wh, tmp_path)
    night = date(2024, 5, 19)
    rows = fixture_data.partition_rows()[fixture_data.LOAD_DATES[1]]
    fixture_data.write_partition(s.extracted_dir, night, rows)
    # Extraction's own files cannot hold a null position (its schema says so): a file
    # written by something else, with the field nullable, can.
    schema = EXTRACTED_TABLES["listing_items"]
    relaxed = schema.set(schema.get_field_index("position"),
                         schema.field("position").with_nullable(True))
    items = [{**rows["listing_items"][0], "position": None}, *rows["listing_items"][1:]]
    pq.write_table(pa.Table.from_pylist(items, schema=relaxed),
                   s.extracted_dir / "listing_items" / f"load_date={night}" / "part-00000.parquet")
    with pytest.raises(WarehouseBuildError) as err:
        run_build(s, invoker=forked_dbt, load_date=night, docs=False)
    assert "stg_kznews__listing_items_required_columns" in str(err.value)
    assert [f["status"] for f in err.value.failures] == ["fail"]


def test_constraint_violation_fails_its_model_and_keeps_the_table(
    fixture_wh: builds.Built, tmp_path: Path, forked_dbt: DbtInvoker
) -> None:
    """Headlines whose position was read as 0 break fct_headline_sightings' check constraint
    (positions count from 1): the build fails naming the model and the rule, and the mart
    keeps the rows it had, including the sightings the night merges into (its delete+insert
    is rolled back)."""
    s = builds.copy_of(fixture_wh, tmp_path, target=True)  # its record: the night is incremental
    night = date(2024, 5, 19)
    rows = fixture_data.partition_rows()[fixture_data.LOAD_DATES[1]]
    assert rows["headlines"], "the fixture night shows headlines"
    # the same page fetches again (same sightings), their positions misread
    rows["headlines"] = [{**r, "position": 0} for r in rows["headlines"]]
    fixture_data.write_partition(s.extracted_dir, night, rows)
    before = builds.fingerprint(s.build_db)
    with pytest.raises(WarehouseBuildError) as err:
        run_build(s, invoker=forked_dbt, load_date=night, docs=False)
    message = str(err.value)
    assert "model.kznews.fct_headline_sightings" in message
    assert "CHECK constraint failed on table fct_headline_sightings" in message
    after = builds.fingerprint(s.build_db)
    assert after["fct_headline_sightings"] == before["fct_headline_sightings"]


def test_a_misread_rate_is_counted_not_voted(
    fixture_wh: builds.Built, tmp_path: Path, forked_dbt: DbtInvoker
) -> None:
    """Later fetches of more pages than ever showed those dates' USD rates, every one read
    100 times too high (425.67 as 42567): they would win the vote. Implausible values take no
    part in it (macros/rates.sql): the dates keep their rates, counts and min/max, and the
    misread fetches are counted in n_implausible_observations."""
    s = builds.copy_of(fixture_wh, tmp_path, target=True)
    night = date(2024, 5, 19)
    rows = fixture_data.partition_rows()[fixture_data.LOAD_DATES[1]]
    usd = [r for r in rows["rates"] if r["base_currency"] == "USD"]
    assert usd, "the fixture night shows USD rates"
    rows["rates"] = [
        {**r, "page_url": f"{r['page_url']}?copy={i}", "rate": r["rate"] * 100,
         "fetched_at": r["fetched_at"] + timedelta(days=1)}
        for r in usd for i in range(5)
    ]  # fmt: skip
    # a new date: its first night brings only a misread value, the next a plausible one
    new_day = date(2024, 6, 1)
    rows["rates"].append({**usd[0], "rate": usd[0]["rate"] * 100, "shown_on": new_day,
                          "page_url": f"{usd[0]['page_url']}?a"})
    fixture_data.write_partition(s.extracted_dir, night, rows)
    later = fixture_data.partition_rows()[fixture_data.LOAD_DATES[1]]
    later["rates"] = [{**usd[0], "shown_on": new_day, "page_url": f"{usd[0]['page_url']}?b",
                       "fetched_at": usd[0]["fetched_at"] + timedelta(days=2)}]
    fixture_data.write_partition(s.extracted_dir, night + timedelta(days=1), later)
    query = ("select rate_date, rate, n_observations, min_rate, max_rate, "
             "n_implausible_observations from marts.fct_exchange_rates "
             "where currency = 'USD' and rate_date < ? order by rate_date")

    def usd_rates() -> list[tuple]:
        con = duckdb.connect(str(s.build_db), read_only=True)
        try:
            return con.execute(query, [new_day]).fetchall()
        finally:
            con.close()

    before = usd_rates()
    assert not run_build(s, invoker=forked_dbt, load_date=night, docs=False)["full_refresh"]
    after = usd_rates()
    assert [r[:5] for r in after] == [r[:5] for r in before]
    assert sum(r[5] for r in after) == 5 * len(usd)  # every misread fetch, counted once
    assert all(r[5] == 0 for r in before)
    con = duckdb.connect(str(s.build_db), read_only=True)
    new_row = con.execute("select rate, n_observations, n_implausible_observations, "
                          "first_load_date from marts.fct_exchange_rates where currency = "
                          "'USD' and rate_date = ?", [new_day]).fetchall()
    con.close()
    # the row appeared on the later night, the misread one counted beside it
    assert new_row == [(usd[0]["rate"], 1, 1, night + timedelta(days=1))]


@pytest.mark.parametrize(
    ("args", "touched_filter"),
    [
        ([], "article_id in ('"),  # in_keys: the touched ids as literals
        (["--vars", "{in_keys_max: 0}"], "article_id in (select article_id from"),
    ],
    ids=["literal-keys", "subquery-above-in_keys_max"],
)
def test_dbt_run_by_hand_rereads_the_newest_held_partition(
    fixture_wh: builds.Built,
    tmp_path: Path,
    args: list[str],
    touched_filter: str,
    forked_dbt: DbtInvoker,
) -> None:
    """`dbt run` by hand (no run parameters in the build file): the incremental models read
    from the newest load date they hold (macros/incremental.sql), which changes nothing on
    an up-to-date build, whether in_keys lists the listing aggregate's touched ids as
    literals or, above in_keys_max of them, selects them with a subquery."""
    s = builds.copy_of(fixture_wh, tmp_path)
    before = builds.fingerprint(s.build_db)
    con = duckdb.connect(str(s.build_db), read_only=True)
    params = con.execute("select count(*) from duckdb_tables() where table_name = "
                         "'kznews_run_params'").fetchone()[0]
    con.close()
    assert params == 0  # the runner drops them after every build
    # Lose the aggregate rows of the newest held partition: the run gets them back only if
    # it selects every one of their ids (in_keys).
    con = duckdb.connect(str(s.build_db))
    table = "intermediate.int_article_listings_aggregated"
    digest = ("select count(*), md5(string_agg(cast(t as varchar), '|' "  # noqa: S608
              f"order by cast(t as varchar))) from {table} as t")
    aggregated = con.execute(digest).fetchone()
    lost = con.execute(f"delete from {table} where last_load_date = "  # noqa: S608
                       f"(select max(last_load_date) from {table})").fetchone()[0]
    con.close()
    assert lost > 0
    run_dbt(s, "run", *args, invoker=forked_dbt)
    assert builds.fingerprint(s.build_db) == before
    con = duckdb.connect(str(s.build_db), read_only=True)
    assert con.execute(digest).fetchone() == aggregated
    con.close()
    compiled = target_dir(s) / "compiled" / "kznews" / "models" / "intermediate"
    sql = (compiled / "int_rate_observations.sql").read_text(encoding="utf-8")
    assert "coalesce(max(load_date), date '1900-01-01')" in sql  # the held-partition bound
    sql = (compiled / "int_article_listings_aggregated.sql").read_text(encoding="utf-8")
    assert touched_filter in sql


def test_missing_extracted_data_is_a_clear_error(tmp_path: Path, forked_dbt: DbtInvoker) -> None:
    s = builds.settings_for(tmp_path)
    with pytest.raises(WarehouseBuildError, match="no extracted Parquet"):
        run_build(s, invoker=forked_dbt)


def _last_invocation_log(s) -> str:
    """dbt.log from the last ``Running with dbt=`` line (dbt appends every invocation)."""
    text = (s.build_db.parent / "logs" / "dbt.log").read_text(encoding="utf-8")
    return text[text.rindex("Running with dbt="):]


def _compiled_test_sql(s, name: str) -> str:
    folder = s.build_db.parent / "target" / "compiled" / "kznews" / "models"
    return next(folder.rglob(f"{name}*.sql")).read_text(encoding="utf-8")


def test_nightly_build_skips_project_only_work_and_keeps_partial_parsing(
    fixture_wh: builds.Built, tmp_path: Path, forked_dbt: DbtInvoker
) -> None:
    """Unit tests and the docs catalog depend on the project, not on data: a night with an
    unchanged project skips them; the load date reaches the models without --vars, so a
    new date does not make dbt parse the project again."""
    shutil.copytree(fixture_wh.settings.home, tmp_path / "home")
    s = builds.settings_for(tmp_path / "home")
    first = run_build(s, invoker=forked_dbt, load_date=fixture_data.LOAD_DATES[1])
    assert first["unit_tests"].startswith("skipped") and first["docs"] == "reused"
    # the copy's views read the original extracted folder: they must be re-created
    assert first["views"] == "created"
    con = duckdb.connect(str(s.build_db), read_only=True)
    sql = con.execute("select sql from duckdb_views() where view_name = 'stg_kznews__pages'")
    assert str(s.extracted_dir) in sql.fetchone()[0]
    con.close()
    assert [step["command"] for step in first["dbt"]] == ["build"]
    manifest = json.loads((s.build_db.parent / "target" / "manifest.json").read_text())
    n_unit = len(manifest["unit_tests"])
    assert n_unit >= 4
    # the model graph for the per-model DAG, as the manifest has it
    models = json.loads((s.build_db.parent / "target" / MODELS_NAME).read_text())
    n_models = sum(n["resource_type"] == "model" for n in manifest["nodes"].values())
    assert len(models) == n_models and models["fct_articles"]
    assert set().union(*models.values()) <= set(models)
    # an incremental build leaves the gate's twins (tag gx_gate) to the quality gate
    n_twins = sum(GATE_TWIN_TAG in n.get("tags", []) for n in manifest["nodes"].values()
                  if n["resource_type"] == "test")
    assert n_twins == 21 and first["gate_twin_tests"] == "left to the quality gate"
    passed_before = fixture_wh.result["dbt"][0]["statuses"]["pass"]  # incremental too
    assert fixture_wh.result["gate_twin_tests"] == "left to the quality gate"
    assert first["dbt"][0]["statuses"]["pass"] == passed_before - n_unit

    night = date(2024, 5, 19)
    same_again = fixture_data.partition_rows()[fixture_data.LOAD_DATES[1]]
    fixture_data.write_partition(s.extracted_dir, night, same_again)
    nightly = run_build(s, invoker=forked_dbt, load_date=night)
    assert "Unable to do partial parsing" not in _last_invocation_log(s)
    # Views are definitions: same project and folder, so they are kept (their tests run);
    # source-level tests read the new partition, tests of marts the whole table.
    assert nightly["views"].startswith("kept") and nightly["threads"] == 4
    assert nightly["source_tests_from"] == "2024-05-19"
    counts = nightly["dbt"][0]["statuses"]
    # every data test ran but the gate's twins
    assert counts["pass"] == first["dbt"][0]["statuses"]["pass"]
    assert counts["success"] == first["dbt"][0]["statuses"]["success"] - 7  # 7 view models
    staging = _compiled_test_sql(s, "stg_kznews__pages_required_columns")
    assert "load_date >= cast('2024-05-19' as date)" in staging
    assert "dbt_subquery" not in _compiled_test_sql(
        s, "unique_int_articles_merged_across_urls_article_id"
    )
    con = duckdb.connect(str(s.build_db), read_only=True)
    left = con.execute("select count(*) from duckdb_tables() where table_name = "
                       "'kznews_run_params'").fetchone()[0]
    con.close()
    assert left == 0  # dropped after the build: a dbt run by hand finds no stale date
    assert builds.fingerprint(s.build_db) == fixture_wh.fingerprint

    con = duckdb.connect(str(s.build_db))
    con.execute("drop view staging.stg_kznews__pages")  # e.g. dropped by hand
    con.close()
    full = run_build(s, invoker=forked_dbt, full_refresh=True, load_date=night, docs=False)
    assert full["views"] == "created" and full["threads"] == 1
    assert full["source_tests_from"] == "every partition"
    staging = _compiled_test_sql(s, "stg_kznews__pages_required_columns")
    assert "where true" in staging and "load_date >=" not in staging


def test_views_are_recreated_when_one_is_missing(tmp_path: Path) -> None:
    """_views_present compares the manifest's view models with the build file's views."""
    from kznews.warehouse.runner import _views_present

    s = builds.settings_for(tmp_path)
    assert not _views_present(s)  # no build file
    s.build_db.parent.mkdir(parents=True)
    target_dir(s).mkdir(parents=True)
    view = {"resource_type": "model", "schema": "staging", "alias": "v",
            "config": {"materialized": "view"}}
    (target_dir(s) / "manifest.json").write_text(json.dumps({"nodes": {"model.k.v": view}}))
    con = duckdb.connect(str(s.build_db))
    con.execute("create schema staging")
    con.close()
    assert not _views_present(s)
    con = duckdb.connect(str(s.build_db))
    con.execute("create view staging.v as select 1 as x")
    con.close()
    assert _views_present(s)


def test_changed_project_runs_unit_tests_and_docs_again(
    fixture_wh: builds.Built, tmp_path: Path, forked_dbt: DbtInvoker
) -> None:
    shutil.copytree(fixture_wh.settings.home, tmp_path / "home")
    project = tmp_path / "dbt_project"
    shutil.copytree(builds.ROOT / "dbt_project", project,
                    ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models" / "marts" / "dim_date.sql"
    model.write_text(model.read_text(encoding="utf-8") + "\n-- edited\n", encoding="utf-8")
    s = builds.settings_for(tmp_path / "home").replace(dbt_project_dir=project)
    result = run_build(s, invoker=forked_dbt, load_date=fixture_data.LOAD_DATES[1])
    assert result["unit_tests"] == "run" and result["docs"] == "generated"
    # new model logic must reach every row, not only those a night touches
    assert result["full_refresh"] is True
    assert result["full_refresh_reason"] == (
        "the dbt project changed since the last successful build"
    )
    assert result["dbt"][0]["statuses"].get("pass", 0) > 0
    always = run_build(s.replace(dbt_recheck="always"), invoker=forked_dbt,
                       load_date=fixture_data.LOAD_DATES[1])
    assert always["unit_tests"] == "run" and always["docs"] == "generated"


def test_dbt_threads_follow_the_kind_of_build(tmp_path: Path) -> None:
    from kznews.warehouse.runner import dbt_env, dbt_threads

    s = builds.settings_for(tmp_path)
    assert dbt_threads(s, full_refresh=True) == 1
    assert dbt_threads(s, full_refresh=False) == 4
    assert dbt_threads(s.replace(dbt_threads=3), full_refresh=True) == 3
    with pytest.raises(ValueError, match="dbt_threads"):
        dbt_threads(s.replace(dbt_threads=-1), full_refresh=False)
    env = dbt_env(s.replace(duckdb_memory_limit="768MiB"), threads=1)
    assert env["KZNEWS_DBT_THREADS"] == "1"
    assert env["KZNEWS_DUCKDB_MEMORY_LIMIT"] == "768MiB"
    with pytest.raises(ValueError, match="duckdb_memory_limit"):
        dbt_env(s.replace(duckdb_memory_limit="1GB'; drop table x; --"))


def test_dim_date_reaches_back_to_almaty_summer_time(
    fixture_wh: builds.Built, tmp_path: Path, forked_dbt: DbtInvoker
) -> None:
    """An archive article listed as published on 10 July 2003, when Almaty kept summer time
    (UTC+7 until March 2005): the date dimension takes its day with that offset instead of
    failing the build on its offset check."""
    s = builds.copy_of(fixture_wh, tmp_path, target=True)
    night = date(2024, 5, 19)
    rows = fixture_data.partition_rows()[fixture_data.LOAD_DATES[1]]
    item = rows["listing_items"][0]
    rows["listing_items"].append({
        **item, "position": 99, "article_id": "999",
        "url": "http://www.old.exclusive.kz/expertiza/smart/999/",
        "published_at": datetime(2003, 7, 10, 7, 0, tzinfo=UTC),
        "published_on": date(2003, 7, 10),
    })  # fmt: skip
    fixture_data.write_partition(s.extracted_dir, night, rows)
    run_build(s, invoker=forked_dbt, load_date=night, docs=False)
    con = duckdb.connect(str(s.build_db), read_only=True)
    offsets = dict(con.execute(
        "select date_day, almaty_utc_offset_hours from marts.dim_date where date_day in "
        "('2003-07-10', '2005-07-10', '2024-05-17')").fetchall())
    con.close()
    assert offsets == {date(2003, 7, 10): 7, date(2005, 7, 10): 6, date(2024, 5, 17): 5}
