"""kznews.warehouse.build over several nights: what each one rebuilds, and that it equals a
full refresh of the partitions there are (a file of its own so that `make test`'s two workers
share the warehouse tests)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from kznews.config import Settings
from kznews.schema import EXTRACTED_TABLES
from kznews.warehouse import WarehouseBuildError, run_build, runner
from kznews.warehouse.runner import LAST_BUILD_NAME, DbtInvoker, target_dir

from . import builds, fixture_data


def test_refetched_article_is_recomputed_equal_to_full_refresh(
    tmp_path: Path, forked_dbt: DbtInvoker
) -> None:
    """A later night fetches a known article (13178) under a new URL form with a new title,
    plus a brand-new article: the incremental articles model recomputes only those ids, each
    from its rows in every partition, and the marts equal a full refresh."""
    s = builds.settings_for(tmp_path)
    rows = fixture_data.partition_rows()
    for d in fixture_data.LOAD_DATES:
        fixture_data.write_partition(s.extracted_dir, d, rows[d])
    run_build(s, invoker=forked_dbt, docs=False, tests=False)
    held = duckdb.connect(str(s.build_db), read_only=True)
    before = dict(held.execute(
        "select article_id, title from intermediate.int_articles_merged_across_urls"
    ).fetchall())
    held.close()

    night, fetched = date(2024, 5, 21), datetime(2024, 5, 21, 6, 0, tzinfo=UTC)
    gold = fixture_data.load_gold()
    vote = "https://exclusive.kz/expertiza/smart/13178?id=13258&post_action=like"
    fresh = "http://www.old.exclusive.kz/expertiza/smart/13999/"
    tables: dict[str, list[dict]] = {t: [] for t in EXTRACTED_TABLES}
    for url, aid, title in ((vote, "13178", "Обновлённый заголовок"), (fresh, "13999", "Новая")):
        tables["pages"].append(fixture_data._page(url, night, fetched, article_id=aid,
                                                  has_article=True))
        tables["articles"].append(fixture_data._article(url, gold["article"], night, fetched,
                                                        article_id=aid, title=title))
    fixture_data.write_partition(s.extracted_dir, night, tables)
    run_build(s, invoker=forked_dbt, load_date=night, docs=False, tests=False)

    con = duckdb.connect(str(s.build_db), read_only=True)
    merged = {r[0]: r[1:] for r in con.execute(
        "select article_id, title, n_url_forms, n_fetches, last_load_date, word_count "
        "from intermediate.int_articles_merged_across_urls"
    ).fetchall()}
    con.close()
    assert merged["13178"][0] == "Обновлённый заголовок"
    assert merged["13178"][1] == 3  # www/slash, bare, comment-vote form
    assert merged["13178"][3] == night
    assert merged["13999"][0] == "Новая" and merged["13999"][4] > 0
    assert {k: v[0] for k, v in merged.items() if k not in ("13178", "13999")} == {
        k: v for k, v in before.items() if k != "13178"
    }
    incremental = builds.fingerprint(s.build_db)
    run_build(s, invoker=forked_dbt, full_refresh=True, docs=False, tests=False)
    assert builds.fingerprint(s.build_db) == incremental


def _build_model_by_model(s: Settings, load_date: date, monkeypatch) -> dict:
    """What the per-model Airflow tasks run (KZNEWS_DBT_TASKS=per_model), in one process:
    the plan, one dbt command per model in the DAG's order, the closing record. The
    commands are forked from one parsed dbt (kznews.overlap's helper) rather than started
    18 times: same commands, a minute less."""
    import graphlib
    import runpy

    from kznews import overlap
    from kznews.pipeline import build_plan_stage
    from kznews.warehouse.runner import (
        build_model,
        dbt_env,
        dbt_path_args,
        end_build,
        project_fingerprint,
    )

    monkeypatch.setenv("KZNEWS_DBT_TASKS", "per_model")
    monkeypatch.setenv("KZNEWS_DBT_MANIFEST", str(target_dir(s) / "manifest.json"))
    dag_module = runpy.run_path(str(Path(__file__).resolve().parents[2] / "dags"
                                    / "kznews_nightly.py"))
    models = dag_module["_dbt_models"]()
    assert models and "fct_articles" in models
    plan = build_plan_stage(s, load_date=load_date)
    order = list(graphlib.TopologicalSorter(models).static_order())
    helper = overlap._helper()
    try:
        helper.submit(overlap._dbt_warm_up, dbt_path_args(s), dbt_env(s), str(s.dbt_dir),
                      project_fingerprint(s)).result()
        invoker = overlap._ForkedDbt(helper, lambda: project_fingerprint(s))
        steps = [build_model(s, plan, m, invoker=invoker) for m in order]
    finally:
        helper.shutdown()
    assert invoker.commands == len(order) == len(models)
    return end_build(s, plan, steps)


@pytest.mark.parametrize("per_model", [False, True], ids=["one_command", "per_model"])
def test_night_after_a_failed_build_catches_up(
    fixture_wh: builds.Built, tmp_path: Path, per_model: bool, monkeypatch, forked_dbt: DbtInvoker
) -> None:
    """Night 2024-05-19 landed an article but its build never succeeded (nothing recorded);
    the 2024-05-20 build must still bring that article into the marts, also when the
    opt-in per-model tasks build it."""
    shutil.copytree(fixture_wh.settings.home, tmp_path / "home")
    s = builds.settings_for(tmp_path / "home")
    # the state after 2024-05-18 succeeded (other tests may have built later nights)
    record = target_dir(s) / LAST_BUILD_NAME
    record.write_text(json.dumps({**json.loads(record.read_text()), "load_date": "2024-05-18"}))
    gold = fixture_data.load_gold()
    for night, aid in ((date(2024, 5, 19), "14001"), (date(2024, 5, 20), "14002")):
        fetched = datetime(night.year, night.month, night.day, 6, 0, tzinfo=UTC)
        url = f"http://www.old.exclusive.kz/expertiza/smart/{aid}/"
        tables: dict[str, list[dict]] = {t: [] for t in EXTRACTED_TABLES}
        tables["pages"].append(fixture_data._page(url, night, fetched, article_id=aid,
                                                  has_article=True))
        tables["articles"].append(fixture_data._article(url, gold["article"], night, fetched,
                                                        article_id=aid, title=f"Статья {aid}"))
        fixture_data.write_partition(s.extracted_dir, night, tables)
    if per_model:
        result = _build_model_by_model(s, date(2024, 5, 20), monkeypatch)
    else:
        result = run_build(s, invoker=forked_dbt, load_date=date(2024, 5, 20), docs=False)
    assert result["run_load_date"] == "2024-05-19"  # the day after the last night that succeeded
    assert result["full_refresh"] is False
    con = duckdb.connect(str(s.build_db), read_only=True)
    ids = {r[0] for r in con.execute("select article_id from marts.fct_articles").fetchall()}
    con.close()
    assert {"14001", "14002"} <= ids


def _full_refresh_of(s, home: Path, forked_dbt: DbtInvoker) -> dict:
    """The marts a full refresh builds from ``s``'s extracted partitions, as they are now."""
    ref = builds.settings_for(home)
    shutil.copytree(s.extracted_dir, ref.extracted_dir)
    run_build(ref, invoker=forked_dbt, full_refresh=True, docs=False, tests=False)
    return builds.fingerprint(ref.build_db)


@pytest.mark.parametrize("change", ["rates_removed", "night_deleted"])
def test_a_night_read_before_that_changed_rebuilds_everything(
    fixture_wh: builds.Built, tmp_path: Path, change: str, forked_dbt: DbtInvoker
) -> None:
    """The second night is extracted again and no longer brings its rates (they were
    misread, say), or is deleted outright. The incremental models only recompute the keys
    new rows bring, so the old rates would stay; the build sees that a partition it read
    before changed, rebuilds everything and equals a full refresh of what is there now."""
    s = builds.copy_of(fixture_wh, tmp_path / "wh", target=True)
    night = fixture_data.LOAD_DATES[1]
    if change == "rates_removed":
        rows = fixture_data.partition_rows()[night]
        assert rows["rates"], "the fixture night shows rates"
        rows["rates"] = []
        fixture_data.write_partition(s.extracted_dir, night, rows)
    else:
        for table in EXTRACTED_TABLES:
            shutil.rmtree(s.extracted_dir / table / f"load_date={night}")
    out = run_build(s, invoker=forked_dbt, load_date=night, docs=False, tests=False)
    assert out["full_refresh"], out["full_refresh_reason"]
    assert f"load date(s) {night}" in out["full_refresh_reason"]
    assert builds.fingerprint(s.build_db) == _full_refresh_of(s, tmp_path / "ref", forked_dbt)
    # what it read is recorded again: the next night with nothing changed is incremental
    later = date(2024, 5, 19)
    fixture_data.write_partition(s.extracted_dir, later, fixture_data.partition_rows()[night])
    out = run_build(s, invoker=forked_dbt, load_date=later, docs=False, tests=False)
    assert not out["full_refresh"]


def test_a_night_extracted_again_into_the_same_bytes_stays_incremental(
    fixture_wh: builds.Built,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    forked_dbt: DbtInvoker,
) -> None:
    """A night run again (its gate failed and was accepted, an Airflow run cleared) extracts
    it again into the same bytes: new files, the same data. The digests are of contents,
    so the build stays incremental and still equals a full refresh; a digest hashes only
    files written since the last one."""
    s = builds.copy_of(fixture_wh, tmp_path / "wh", target=True)
    night = fixture_data.LOAD_DATES[1]
    before = runner.partition_digests(s)
    for table in EXTRACTED_TABLES:  # extracted again: new files (new inodes, times)
        shutil.rmtree(s.extracted_dir / table / f"load_date={night}")
    fixture_data.write_partition(s.extracted_dir, night, fixture_data.partition_rows()[night])
    hashed: list[Path] = []
    real_hash = runner._file_sha256
    monkeypatch.setattr(runner, "_file_sha256", lambda f: hashed.append(f) or real_hash(f))
    assert runner.partition_digests(s) == before
    assert {f.parent.name for f in hashed} == {f"load_date={night}"}  # only the new files
    hashed.clear()
    out = run_build(s, invoker=forked_dbt, load_date=night, docs=False, tests=False)
    assert not out["full_refresh"], out["full_refresh_reason"]
    assert hashed == []  # cached since
    assert builds.fingerprint(s.build_db) == _full_refresh_of(s, tmp_path / "ref", forked_dbt)


def test_a_record_of_read_partitions_from_before_content_digests_carries_over(
    fixture_wh: builds.Built, tmp_path: Path, forked_dbt: DbtInvoker
) -> None:
    """A build file whose record holds the earlier digests (names, sizes, mtimes): dates
    whose partitions are still the ones recorded carry over (the next night stays
    incremental); a date changed since counts as changed (a full rebuild, saying which)."""
    s = builds.copy_of(fixture_wh, tmp_path / "wh", target=True)
    runner._record_read_partitions(s, runner._legacy_digests(s))
    assert runner.read_partitions(s) == runner.partition_digests(s)
    later = date(2024, 5, 19)
    fixture_data.write_partition(s.extracted_dir, later,
                                 fixture_data.partition_rows()[fixture_data.LOAD_DATES[1]])
    out = run_build(s, invoker=forked_dbt, load_date=later, docs=False, tests=False)
    assert not out["full_refresh"]

    runner._record_read_partitions(s, runner._legacy_digests(s))
    night = fixture_data.LOAD_DATES[1]
    rows = fixture_data.partition_rows()[night]
    rows["rates"] = []
    fixture_data.write_partition(s.extracted_dir, night, rows)  # changed since the record
    out = run_build(s, invoker=forked_dbt, load_date=later, docs=False, tests=False)
    assert out["full_refresh"] and f"load date(s) {night}" in out["full_refresh_reason"]


def test_a_late_partition_of_an_older_date_rebuilds_everything(
    fixture_wh: builds.Built, tmp_path: Path, forked_dbt: DbtInvoker
) -> None:
    """A date older than the newest one read arrives (a backfill extracted later): a nightly
    run reading from the day after its last build would never read it."""
    s = builds.copy_of(fixture_wh, tmp_path / "wh", target=True)
    early = date(2024, 5, 10)
    fixture_data.write_partition(
        s.extracted_dir, early, fixture_data.partition_rows()[fixture_data.LOAD_DATES[0]]
    )
    out = run_build(s, invoker=forked_dbt, load_date=date(2024, 5, 19), docs=False, tests=False)
    assert out["full_refresh"] and "2024-05-10" in out["full_refresh_reason"]
    assert builds.fingerprint(s.build_db) == _full_refresh_of(s, tmp_path / "ref", forked_dbt)


def test_a_forced_rebuild_that_fails_is_forced_again(
    fixture_wh: builds.Built,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    forked_dbt: DbtInvoker,
) -> None:
    """A full rebuild forced by a changed partition fails half-way (killed, out of memory):
    the models it had not rebuilt still hold the stale rows, so the next build, with nothing
    changed since, must rebuild everything again rather than trust the partitions as read."""
    s = builds.copy_of(fixture_wh, tmp_path / "wh", target=True)
    night = fixture_data.LOAD_DATES[1]
    rows = fixture_data.partition_rows()[night]
    rows["rates"] = []
    fixture_data.write_partition(s.extracted_dir, night, rows)
    real_run_dbt = runner.run_dbt

    def killed(*args, **kwargs):
        raise WarehouseBuildError("dbt build failed: killed")

    monkeypatch.setattr(runner, "run_dbt", killed)
    with pytest.raises(WarehouseBuildError, match="killed"):
        run_build(s, invoker=forked_dbt, load_date=night, docs=False, tests=False)
    monkeypatch.setattr(runner, "run_dbt", real_run_dbt)
    out = run_build(s, invoker=forked_dbt, load_date=night, docs=False, tests=False)
    assert out["full_refresh"] and f"load date(s) {night}" in out["full_refresh_reason"]
    assert builds.fingerprint(s.build_db) == _full_refresh_of(s, tmp_path / "ref", forked_dbt)


def test_rebuilds_everything_knows_a_night_read_before_will_be_extracted_again(
    fixture_wh: builds.Built, tmp_path: Path
) -> None:
    """Asked before the night is extracted (the one-process run decides then whether to
    start its helpers): a load date a build already read, or an older one, will force a
    full rebuild once extracted; a new night will not."""
    from kznews.warehouse.runner import rebuilds_everything

    s = builds.copy_of(fixture_wh, tmp_path, target=True)
    second = fixture_data.LOAD_DATES[1]
    assert not rebuilds_everything(s, load_date=date(2024, 5, 19))
    assert not rebuilds_everything(s)
    assert rebuilds_everything(s, load_date=second)
    assert rebuilds_everything(s, load_date=date(2024, 5, 1))


def _run_params(build_db: Path) -> list[tuple]:
    con = duckdb.connect(str(build_db), read_only=True)
    try:
        if not con.execute("select count(*) from duckdb_tables() where table_name = "
                           "'kznews_run_params'").fetchone()[0]:
            return []
        return con.execute("select load_date, tests_from from main.kznews_run_params").fetchall()
    finally:
        con.close()


def test_a_model_task_keeps_the_run_dates_only_while_it_runs(
    fixture_wh: builds.Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-model DAG: each model's task finds the run's dates (a retry too, after a
    failure dropped them), and a failed model leaves none behind for a dbt run by hand."""
    s = builds.copy_of(fixture_wh, tmp_path)
    night = date(2024, 5, 19)
    fixture_data.write_partition(s.extracted_dir, night,
                                 fixture_data.partition_rows()[fixture_data.LOAD_DATES[1]])
    plan = runner.plan_build(s, load_date=night)  # the plan task, without begin_build
    seen: list[list[tuple]] = []

    def fake_dbt(settings: Settings, *args: str, **kwargs: object) -> dict:
        seen.append(_run_params(settings.build_db))
        if "broken_model" in args:
            raise WarehouseBuildError("dbt build failed")
        return {"command": args[0]}

    monkeypatch.setattr(runner, "run_dbt", fake_dbt)
    with pytest.raises(WarehouseBuildError):
        runner.build_model(s, plan, "broken_model")
    assert _run_params(s.build_db) == []
    runner.build_model(s, plan, "fct_articles")  # the retry, or the next model
    dates = [(night, runner._day(plan["tests_from"]))]
    assert seen == [dates, dates]
    assert _run_params(s.build_db) == dates  # for the next model; end_build drops them
