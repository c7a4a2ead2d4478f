"""Every DAG imports cleanly, quickly, without heavy imports, and follows the house rules."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"

PARSE_BUDGET_S = 2.0
HEAVY_MODULES = ("duckdb", "pandas", "great_expectations", "dbt", "pyarrow", "matplotlib")
DUCKDB_WRITERS = {"warehouse.dbt_build", "quality.gate", "publish.publish"}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    t0 = time.perf_counter()
    bag = DagBag(dag_folder=str(DAGS))
    elapsed = time.perf_counter() - t0
    print(f"\nDagBag fill of {DAGS}: {elapsed:.3f} s")
    for stat in bag.dagbag_stats:
        print(f"  {stat.file}: {stat.duration.total_seconds():.3f} s, dags={stat.dag_num}")
    return bag


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {"kznews_nightly", "kznews_rates_report"} <= set(dagbag.dag_ids)


def test_parse_time_per_file(dagbag):
    for stat in dagbag.dagbag_stats:
        assert stat.duration < timedelta(seconds=PARSE_BUDGET_S), stat


def test_every_dag_follows_house_rules(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id}: no tags"
        assert dag.owner and dag.owner != "airflow", f"{dag_id}: no owner"
        assert dag.default_args.get("retries", 0) > 0, f"{dag_id}: no retries"
        assert dag.doc_md and dag.doc_md.strip().startswith("#"), f"{dag_id}: no doc_md"
        assert dag.catchup is False, dag_id
        assert dag.max_active_runs == 1, dag_id


def test_cold_parse_in_fresh_interpreter_is_light():
    """`python dags/<file>.py` alone: time it, and check no heavy library gets imported."""
    code = (
        "import sys, time, runpy, json\n"
        "t0 = time.perf_counter(); import airflow.sdk; t1 = time.perf_counter()\n"
        "runpy.run_path(sys.argv[1]); t2 = time.perf_counter()\n"
        f"heavy = [m for m in {HEAVY_MODULES!r} if m in sys.modules]\n"
        "print(json.dumps(dict(airflow_import=t1 - t0, dag_file=t2 - t1, heavy=heavy)))\n"
    )
    for path in sorted(DAGS.glob("*.py")):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code, str(path)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        total = time.perf_counter() - t0
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"\n{path.name}: interpreter total {total:.2f} s, airflow.sdk import "
            f"{figures['airflow_import']:.2f} s, DAG file {figures['dag_file']:.3f} s"
        )
        assert figures["heavy"] == [], f"{path.name} imports {figures['heavy']} at parse time"
        assert figures["dag_file"] < PARSE_BUDGET_S


def test_nightly_shape(dagbag):
    dag = dagbag.dags["kznews_nightly"]
    assert str(dag.timezone.name) == "Asia/Almaty"
    assert dag.timetable.summary.startswith("0 2 * * *")
    groups = {tid.split(".")[0] for tid in dag.task_ids if "." in tid}
    assert {"acquire", "extract", "warehouse", "quality", "publish"} <= groups
    for tid in DUCKDB_WRITERS:
        assert dag.get_task(tid).pool == "kznews_duckdb", tid
    land = dag.get_task("acquire.land")
    assert land.retries >= 2 and land.retry_exponential_backoff
    assert [a.name for a in land.outlets] == ["kznews_landing"]
    assert [a.name for a in dag.get_task("publish.publish").outlets] == ["kznews_warehouse"]
    # The summary is the last task.
    assert dag.get_task("publish.summary").downstream_task_ids == set()


def test_extraction_is_mapped_over_shards(dagbag):
    """plan_shards -> extract_shard (one mapped task instance per shard) -> commit -> dbt."""
    dag = dagbag.dags["kznews_nightly"]
    assert {t for t in dag.task_ids if t.startswith("extract.")} == {
        "extract.plan_shards",
        "extract.extract_shard",
        "extract.commit",
    }
    shard = dag.get_task("extract.extract_shard")
    assert shard.is_mapped
    assert not dag.get_task("extract.plan_shards").is_mapped
    assert not dag.get_task("extract.commit").is_mapped
    assert "extract.plan_shards" in shard.upstream_task_ids
    assert dag.get_task("extract.plan_shards").upstream_task_ids == {"acquire.land", "acquire.plan"}
    assert dag.get_task("extract.commit").upstream_task_ids >= {
        "extract.plan_shards",
        "extract.extract_shard",
    }
    assert "extract.commit" in dag.get_task("warehouse.dbt_build").upstream_task_ids
    assert "extract.commit" in dag.get_task("publish.summary").upstream_task_ids


def test_refused_extraction_commit_fails_without_retry(dagbag, tmp_path, monkeypatch):
    """A commit missing a shard result has removed the run's files: retrying cannot help,
    so the task raises AirflowFailException (no retry) instead of a plain error."""
    from datetime import date

    from airflow.sdk.exceptions import AirflowFailException

    from kznews.acquire.base import RawRecord
    from kznews.config import load_settings
    from kznews.extract.batch import plan_extraction
    from kznews.land import land_records

    monkeypatch.setenv("KZNEWS_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    day = date(2026, 11, 25)
    page = b"<html><head><title>t</title></head><body><p>x</p></body></html>"
    land_records([RawRecord(url="https://exclusive.kz/a/1/", body=page)], settings.raw_dir, day)
    plan = plan_extraction(settings, day, shards=1)
    commit = dagbag.dags["kznews_nightly"].get_task("extract.commit").python_callable
    with pytest.raises(AirflowFailException, match="shard 0 has no result"):
        commit({"load_date": day.isoformat(), "page_limit": 10}, plan, [])


def test_nightly_params_validate(dagbag):
    from airflow.sdk.definitions.param import ParamsDict

    dag = dagbag.dags["kznews_nightly"]
    defaults = dag.params.validate()
    assert defaults["full_refresh"] is False
    assert defaults["load_date"] is None
    assert defaults["source"].endswith("sample")
    # empty: the deployment's KZNEWS_MAX_PAGES / KZNEWS_CRAWL_LISTING_DEPTH apply
    assert defaults["page_limit"] is None and defaults["listing_depth"] is None

    def with_(**conf):
        params = ParamsDict(dag.params)
        params.update(conf)
        return params.validate()

    assert with_(load_date="2026-01-31", page_limit=5)["page_limit"] == 5
    assert with_(listing_depth="all")["listing_depth"] == "all"
    for bad in ({"page_limit": 0}, {"load_date": "31.01.2026"}, {"full_refresh": "yes"},
                {"listing_depth": "deep"}):
        with pytest.raises(Exception):  # noqa: B017 - ParamValidationError
            with_(**bad)


def test_empty_crawl_params_leave_the_deployments_settings(monkeypatch):
    """KZNEWS_MAX_PAGES and KZNEWS_CRAWL_LISTING_DEPTH (the deployment's environment) apply
    to a run triggered with the params left empty; a param given wins."""
    import runpy

    module = runpy.run_path(str(DAGS / "kznews_nightly.py"))
    settings, optional = module["_settings"], module["_optional"]
    monkeypatch.setenv("KZNEWS_MAX_PAGES", "500")
    monkeypatch.setenv("KZNEWS_CRAWL_LISTING_DEPTH", "all")
    empty = {"page_limit": optional(None, int), "listing_depth": optional("", str)}
    assert (settings(empty).max_pages, settings(empty).crawl_listing_depth) == (500, "all")
    given = {"page_limit": optional(20, int), "listing_depth": optional("new", str)}
    assert (settings(given).max_pages, settings(given).crawl_listing_depth) == (20, "new")


def test_rates_report_scheduled_on_warehouse_asset(dagbag):
    dag = dagbag.dags["kznews_rates_report"]
    condition = dag.timetable.asset_condition
    assert [a.name for a in condition.objects] == ["kznews_warehouse"]


def test_rates_report_renders_from_readonly_duckdb(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    sys.path.insert(0, str(DAGS))
    try:
        from kznews_rates_report import render_report
    finally:
        sys.path.remove(str(DAGS))
    db = tmp_path / "kznews.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(
            "create table fct_exchange_rates as select * from (values "
            "(date '2026-01-01', 'USD', 505.1::decimal(18,6)), "
            "(date '2026-01-02', 'USD', 506.3::decimal(18,6)), "
            "(date '2026-01-02', 'EUR', 540.0::decimal(18,6))) t(rate_date, currency, rate)"
        )
    result = render_report(str(db), str(tmp_path / "reports"), "2026-01-02")
    page = (tmp_path / "reports" / "rates_2026-01-02.html").read_text(encoding="utf-8")
    assert result["rows"] == 3 and result["currencies"] == ["EUR", "USD"]
    assert "<svg" in page and "506.30" in page and "<?xml" not in page


def test_nothing_published_yet_is_a_clear_error(tmp_path):
    from kznews.config import load_settings
    from kznews.publish import PublishError, open_published

    with pytest.raises(PublishError, match="nothing was published yet"):
        open_published(load_settings(warehouse_dir=tmp_path / "warehouse"))


def test_per_model_dbt_tasks_follow_the_manifest(tmp_path, monkeypatch):
    """KZNEWS_DBT_TASKS=per_model: one pooled task per model, wired like the dbt graph."""
    from airflow.dag_processing.dagbag import DagBag

    def node(name, parents=()):
        return {
            "name": name,
            "resource_type": "model",
            "depends_on": {"nodes": [f"model.kznews.{p}" for p in parents]},
        }

    manifest = {
        "nodes": {
            "model.kznews.stg_a": node("stg_a"),
            "model.kznews.int_b": node("int_b", ["stg_a"]),
            "model.kznews.fct_c": node("fct_c", ["int_b", "stg_a"]),
            "test.kznews.not_null_x": {"name": "not_null_x", "resource_type": "test"},
        }
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setenv("KZNEWS_DBT_TASKS", "per_model")
    monkeypatch.setenv("KZNEWS_DBT_MANIFEST", str(path))
    dag = DagBag(dag_folder=str(DAGS / "kznews_nightly.py")).dags["kznews_nightly"]
    ids = {t for t in dag.task_ids if t.startswith("warehouse.")}
    assert ids == {
        "warehouse.dbt_plan",
        "warehouse.dbt_stg_a",
        "warehouse.dbt_int_b",
        "warehouse.dbt_fct_c",
        "warehouse.dbt_docs",
    }
    assert dag.get_task("warehouse.dbt_fct_c").upstream_task_ids >= {
        "warehouse.dbt_int_b",
        "warehouse.dbt_stg_a",
    }
    # the plan decides for every model (catch-up date, forced full refresh) after extraction
    assert "extract.commit" in dag.get_task("warehouse.dbt_plan").upstream_task_ids
    assert "warehouse.dbt_plan" in dag.get_task("warehouse.dbt_stg_a").upstream_task_ids
    assert "warehouse.dbt_plan" in dag.get_task("warehouse.dbt_docs").upstream_task_ids
    assert all(dag.get_task(t).pool == "kznews_duckdb" for t in ids)
    assert "warehouse.dbt_docs" in dag.get_task("quality.gate").upstream_task_ids


def test_per_model_dbt_tasks_without_a_parsed_project_use_the_builds_models_file(
    tmp_path, monkeypatch
):
    """No `dbt parse` in the project: the models file every build writes beside the build
    file (atomically: never manifest.json, which dbt rewrites in place) gives the models;
    with neither, the single dbt_build task."""
    import runpy

    monkeypatch.setenv("KZNEWS_DBT_TASKS", "per_model")
    monkeypatch.delenv("KZNEWS_DBT_MANIFEST", raising=False)
    monkeypatch.setenv("KZNEWS_DBT_PROJECT_DIR", str(tmp_path / "project"))
    monkeypatch.setenv("KZNEWS_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    models = runpy.run_path(str(DAGS / "kznews_nightly.py"))["_dbt_models"]
    assert models() is None
    from kznews.config import load_settings

    target = load_settings().build_db.parent / "target"
    target.mkdir(parents=True)
    (target / "manifest.json").write_text("{half written")  # dbt mid-command: not read
    assert models() is None
    (target / "kznews_models.json").write_text(json.dumps({"stg_a": [], "fct_b": ["stg_a"]}))
    assert models() == {"stg_a": [], "fct_b": ["stg_a"]}


def test_reuse_landing_only_for_crawls_with_a_crawled_partition(tmp_path):
    import runpy

    import pyarrow as pa
    import pyarrow.parquet as pq

    from kznews.pipeline import landed_by_crawl

    reuse = runpy.run_path(str(DAGS / "kznews_nightly.py"))["reuse_landing"]
    crawl = {"source": "https://exclusive.kz/", "reuse_landing": True}
    assert reuse(crawl, landed_by_crawl=True) is True
    assert reuse(crawl, landed_by_crawl=False) is False
    assert reuse({**crawl, "reuse_landing": False}, landed_by_crawl=True) is False
    assert reuse({**crawl, "listing_depth": "all"}, landed_by_crawl=True) is False  # re-sweep
    assert reuse({**crawl, "listing_depth": "new"}, landed_by_crawl=True) is True
    assert reuse({"source": "/srv/sample", "reuse_landing": True}, landed_by_crawl=True) is False
    assert reuse({"source": "crawl", "reuse_landing": True}, landed_by_crawl=True) is True

    def landing(name, sources):
        path = tmp_path / name
        pq.write_table(pa.table({"url": [f"u{i}" for i in range(len(sources))],
                                 "source": pa.array(sources, pa.string())}), path)
        return path

    assert landed_by_crawl(tmp_path / "missing.parquet") is False
    assert landed_by_crawl(landing("empty.parquet", [])) is False  # a night that landed nothing
    assert landed_by_crawl(landing("files.parquet", ["/srv/sample/a.html"])) is False
    assert landed_by_crawl(landing("crawl.parquet", ["/x.html", "crawl-2026.warc.gz"])) is True


def test_a_quiet_night_skips_everything_after_the_landing(dagbag, tmp_path, monkeypatch):
    """A crawl that landed nothing skips plan_shards; every later task waits on all of its
    upstreams succeeding (Airflow's default), so the skip reaches the publish."""
    from airflow.sdk.exceptions import AirflowSkipException

    monkeypatch.setenv("KZNEWS_DATA_DIR", str(tmp_path / "data"))
    dag = dagbag.dags["kznews_nightly"]
    plan_shards = dag.get_task("extract.plan_shards")
    run = {"load_date": "2026-11-25", "source": "https://exclusive.kz/", "page_limit": None,
           "full_refresh": False}
    with pytest.raises(AirflowSkipException, match="no new or changed page"):
        plan_shards.python_callable(run, {"rows": 0, "load_date": "2026-11-25",
                                          "crawl": {"requests": 9, "failed": 2}})
    last = (tmp_path / "data" / "state" / "airflow" / "last_summary.txt").read_text("utf-8")
    assert "nothing new" in last and "2 of its 9 requests failed" in last
    after = plan_shards.get_flat_relatives(upstream=False)
    assert {"publish.publish", "publish.summary", "quality.gate"} <= {t.task_id for t in after}
    # the commit also runs after no shard (a catch-up), but needs one upstream success
    assert {t.trigger_rule for t in after if t.task_id != "extract.commit"} == {"all_success"}
    assert dag.get_task("extract.commit").trigger_rule == "none_failed_min_one_success"


def test_a_quiet_night_owed_an_earlier_night_runs_it(dagbag, tmp_path, monkeypatch):
    """A quiet night whose land task found an earlier night owed (its landing never
    extracted) extracts that date in plan_shards, maps no shard, and every later task
    works on the run plan_shards hands on (XCom key "night"), not on the trigger's."""
    from types import SimpleNamespace

    from kznews.acquire.base import RawRecord
    from kznews.config import load_settings
    from kznews.land import land_records
    from kznews.pipeline import catch_up

    monkeypatch.setenv("KZNEWS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KZNEWS_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    page = RawRecord(url="http://www.old.exclusive.kz/expertiza/smart/13178/",
                     body=(ROOT / "tests" / "fixtures" / "site" / "page_13178.html").read_bytes())
    land_records([page], load_settings().raw_dir, date(2026, 11, 24))
    owed = catch_up(load_settings(), date(2026, 11, 25))  # what the land task adds
    dag = dagbag.dags["kznews_nightly"]
    plan_shards = dag.get_task("extract.plan_shards").python_callable
    pushed: dict = {}
    ti = SimpleNamespace(xcom_push=lambda key, value: pushed.__setitem__(key, value))
    monkeypatch.setitem(plan_shards.__globals__, "get_current_context", lambda: {"ti": ti})
    run = {"load_date": "2026-11-25", "source": "https://exclusive.kz/", "page_limit": None,
           "full_refresh": False}
    landed = {"rows": 0, "load_date": "2026-11-25", "catch_up": owed}
    assert plan_shards(run, landed) == []  # nothing to map: extracted already
    assert pushed["night"]["load_date"] == "2026-11-24"
    assert "the landed pages of 2026-11-24 were never extracted" in (
        pushed["night"]["catch_up"]["reason"])
    extracted = pushed["plan"]["extracted"]
    assert extracted["caught_up"]["2026-11-24"]["rows"]["articles"] == 1
    assert catch_up(load_settings(), date(2026, 11, 25))["extract"] == []  # done

    commit_task = dag.get_task("extract.commit")
    assert commit_task.trigger_rule == "none_failed_min_one_success"
    assert commit_task.python_callable(pushed["night"], pushed["plan"], []) == extracted
    for task_id in ("extract.commit", "warehouse.dbt_build", "quality.gate", "publish.publish"):
        first = dag.get_task(task_id).op_args[0]
        assert (first.operator.task_id, first.key) == ("extract.plan_shards", "night"), task_id
    shard_run = dag.get_task("extract.extract_shard").partial_kwargs["op_kwargs"]["run"]
    assert (shard_run.operator.task_id, shard_run.key) == ("extract.plan_shards", "night")
    summary_night = dag.get_task("publish.summary").op_args[1]
    assert (summary_night.operator.task_id, summary_night.key) == ("extract.plan_shards", "night")

    # an owed night that could not be extracted: the rest is published, the run ends red
    from airflow.sdk.exceptions import AirflowFailException

    summary = dag.get_task("publish.summary").python_callable
    partly = {**extracted, "failed": {"2026-11-20": "ArrowInvalid: not a parquet file"}}
    with pytest.raises(AirflowFailException, match="extraction of 2026-11-20 failed"):
        summary(run, pushed["night"], landed, partly, {}, {}, {})
    last = (tmp_path / "data" / "state" / "airflow" / "last_summary.txt").read_text("utf-8")
    assert "NOT caught up: the extraction of 2026-11-20 failed" in last


def test_a_night_that_lands_pages_extracts_what_earlier_nights_owe_first(
    dagbag, tmp_path, monkeypatch
):
    """The land task lists the earlier dates never extracted (a night that died after its
    landing); plan_shards extracts them before planning the night's own shards, the commit
    hands them on, and the summary turns the run red for one that failed."""
    from collections import defaultdict
    from types import SimpleNamespace

    from airflow.sdk.exceptions import AirflowFailException

    from kznews.acquire.base import RawRecord
    from kznews.acquire.warc import WarcSink
    from kznews.config import load_settings
    from kznews.land import land_records
    from kznews.pipeline import owed_extractions

    monkeypatch.setenv("KZNEWS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KZNEWS_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    page = (ROOT / "tests" / "fixtures" / "site" / "page_13178.html").read_bytes()
    land_records([RawRecord(url="http://www.old.exclusive.kz/expertiza/smart/13178/", body=page)],
                 load_settings().raw_dir, date(2026, 11, 24))  # died after its landing
    warc = tmp_path / "tonight.warc.gz"
    with WarcSink(warc, info={"software": "test"}) as sink:
        sink.write(RawRecord(url="http://www.old.exclusive.kz/expertiza/smart/13999/", body=page))
    dag = dagbag.dags["kznews_nightly"]
    pushed: dict = {}
    ti = SimpleNamespace(xcom_push=lambda key, value: pushed.__setitem__(key, value))
    context = {"dag_run": SimpleNamespace(run_type="manual"), "ti": ti,
               "outlet_events": defaultdict(SimpleNamespace)}
    tasks = {t: dag.get_task(t).python_callable for t in (
        "acquire.land", "extract.plan_shards", "extract.extract_shard", "extract.commit",
        "publish.summary")}
    for fn in tasks.values():
        monkeypatch.setitem(fn.__globals__, "get_current_context", lambda: context)
    run = {"load_date": "2026-11-25", "source": str(warc), "page_limit": None,
           "full_refresh": False, "reuse_landing": True, "listing_depth": None}

    landed = tasks["acquire.land"](run)
    assert landed["rows"] == 1 and landed["owed"] == ["2026-11-24"]
    jobs = tasks["extract.plan_shards"](run, landed)
    assert jobs and pushed["night"] == run  # the night's own shards, on its own date
    owed = pushed["plan"]["owed"]
    assert owed["caught_up"]["2026-11-24"]["rows"]["articles"] == 1 and owed["failed"] == {}
    assert owed_extractions(load_settings(), date(2026, 11, 25)) == []
    shards = [tasks["extract.extract_shard"](run, job) for job in jobs]
    extracted = tasks["extract.commit"](run, pushed["plan"], shards)
    assert extracted["rows"]["articles"] == 1 and extracted["owed"] == owed

    partly = {**extracted, "owed": {**owed, "failed": {"2026-11-20": "ArrowInvalid: bad"}}}
    with pytest.raises(AirflowFailException, match="extraction of 2026-11-20 failed"):
        tasks["publish.summary"](run, run, landed, partly, {}, {}, {})
    last = (tmp_path / "data" / "state" / "airflow" / "last_summary.txt").read_text("utf-8")
    assert "also extracted, owed by earlier nights: 2026-11-24" in last
    assert "NOT caught up: the extraction of 2026-11-20 failed" in last


def test_a_failed_night_says_so_in_last_summary(dagbag, tmp_path, monkeypatch):
    """Every task's on_failure_callback (after its last try) writes the night's summary:
    which task failed and why, with what the stages before it returned (their XComs as they
    are then, never an earlier try's summary). Before, last_summary kept showing the
    previous night's success."""
    import json
    from types import SimpleNamespace

    import pendulum

    from kznews.quality import QualityGateError

    monkeypatch.setenv("KZNEWS_DATA_DIR", str(tmp_path / "data"))
    dag = dagbag.dags["kznews_nightly"]
    run = {"load_date": "2026-11-25", "source": "/srv/sample", "full_refresh": False,
           "page_limit": None, "run_id": "scheduled__2026-11-24T20:00:00+00:00"}
    xcoms = {"acquire.plan": run, "acquire.land": {"rows": 302, "seconds": 1.0},
             "extract.commit": {"rows": {"pages": 302}, "seconds": 2.0},
             "warehouse.dbt_build": {"full_refresh": False, "seconds": 9.0}}
    night = {**run, "catch_up": {"reason": "nothing new landed for 2026-11-25, but ..."}}
    keyed = {("extract.plan_shards", "night"): night}
    ti = SimpleNamespace(task_id="quality.gate", try_number=2, map_index=-1,
                         xcom_pull=lambda task_ids, key="return_value": (
                             xcoms.get(task_ids) if key == "return_value"
                             else keyed.get((task_ids, key))))
    context = {"ti": ti, "run_id": run["run_id"], "params": {},
               "exception": QualityGateError({"summary": "3 of 51 expectations failed"})}
    out = tmp_path / "data" / "state" / "airflow"
    out.mkdir(parents=True)
    (out / "last_summary.txt").write_text("kznews run for load date 2026-11-24\n")  # last night
    assert all(t.on_failure_callback for t in dag.tasks)  # every task has it

    def fail(task_id: str, context: dict) -> str:  # what the task runner does
        context["task"] = dag.get_task(task_id)
        callbacks = context["task"].on_failure_callback  # a mapped task's: not a list
        for callback in callbacks if isinstance(callbacks, list) else [callbacks]:
            callback(context)
        return (out / "last_summary.txt").read_text("utf-8")

    last = fail("quality.gate", context)
    assert last.startswith("kznews run for load date 2026-11-25\n  FAILED in quality.gate "
                           "(try 2): QualityGateError: 3 of 51 expectations failed")
    assert "landed pages: 302" in last and "extracted rows: pages=302" in last
    assert "validation:" not in last and "published warehouse" not in last
    assert "caught up: nothing new landed for 2026-11-25" in last  # plan_shards' night
    assert (out / "summary_2026-11-25.txt").read_text("utf-8") == last
    data = json.loads((out / "last_summary.json").read_text("utf-8"))
    assert data["build"] == xcoms["warehouse.dbt_build"] and data["run_id"] == run["run_id"]

    # the summary task wrote its summary, then failed: the same stages, the failure added
    summary = dag.get_task("publish.summary").python_callable
    monkeypatch.setitem(summary.__globals__, "get_current_context", lambda: context)
    xcoms["extract.commit"] = {"rows": {"pages": 3},
                               "owed": {"caught_up": {}, "failed": {"2026-11-20": "x"}}}
    xcoms["quality.gate"] = {"success": True, "evaluated": 51}
    xcoms["publish.publish"] = {"path": "/wh/kznews.duckdb"}
    with pytest.raises(Exception, match="extraction of 2026-11-20 failed") as failed:
        summary(run, run, xcoms["acquire.land"], xcoms["extract.commit"],
                xcoms["warehouse.dbt_build"], xcoms["quality.gate"], xcoms["publish.publish"])
    ti.task_id, context["exception"] = "publish.summary", failed.value
    last = fail("publish.summary", context)
    assert "FAILED in publish.summary" in last and "published warehouse: /wh/kznews.duckdb" in last
    assert "NOT caught up: the extraction of 2026-11-20 failed" in last

    # the run cleared and run again, failing in its land task: the later tasks' XComs of
    # the earlier try are still there (Airflow clears them when those tasks run again)
    ti.task_id, context["exception"] = "acquire.land", OSError("disk full")
    last = fail("acquire.land", context)
    assert "FAILED in acquire.land (try 2): OSError: disk full" in last
    assert "PASSED" not in last and "published warehouse" not in last
    assert "extracted rows" not in last and "caught up" not in last

    # one shard of several (a mapped task)
    ti.task_id, ti.map_index = "extract.extract_shard", 1
    assert "FAILED in extract.extract_shard[1] (try 2)" in fail("extract.extract_shard", context)

    # a plan that failed on its params: the run's logical date names the night
    ti.task_id, ti.map_index, xcoms = "acquire.plan", -1, {}
    params = {"source": "/srv/x", "full_refresh": False, "page_limit": "many"}
    plan_context = {**context, "run_id": "manual__1", "params": params,
                    "exception": ValueError("invalid literal for int(): 'many'"),
                    "logical_date": pendulum.datetime(2026, 11, 25, 21, 0, tz="UTC")}
    last = fail("acquire.plan", plan_context)
    assert last.startswith("kznews run for load date 2026-11-26\n  FAILED in acquire.plan")


def test_a_backfill_never_files_todays_crawl_under_an_old_date():
    import runpy

    from airflow.sdk.api.datamodels._generated import DagRunType

    refuse = runpy.run_path(str(DAGS / "kznews_nightly.py"))["backfill_cannot_crawl"]
    crawl = {"source": "https://exclusive.kz/", "load_date": "2026-01-03", "reuse_landing": True}
    # what a task's context gives: the task SDK's enum, whose str() is not its value
    assert str(DagRunType.BACKFILL) != "backfill"
    assert "no crawl landed" in refuse(crawl, DagRunType.BACKFILL, landed_by_crawl=False)
    assert refuse(crawl, DagRunType.SCHEDULED, landed_by_crawl=False) is None
    assert "no crawl landed that date" in refuse(crawl, "backfill", landed_by_crawl=False)
    resweep = {**crawl, "listing_depth": "all"}
    assert "re-sweep" in refuse(resweep, DagRunType.BACKFILL, landed_by_crawl=True)
    assert refuse(crawl, "backfill", landed_by_crawl=True) is None  # reused instead
    assert refuse({**crawl, "reuse_landing": False}, "backfill", landed_by_crawl=False) is None
    assert refuse(crawl, "scheduled", landed_by_crawl=False) is None
    assert refuse(crawl, "manual", landed_by_crawl=False) is None
    files = {**crawl, "source": "/srv/warc/2026-01-03.warc.gz"}
    assert refuse(files, "backfill", landed_by_crawl=False) is None


@pytest.mark.parametrize("source", ["empty_folder", "malformed.warc"])
def test_a_source_that_would_fail_again_fails_the_land_task_without_retry(
    dagbag, tmp_path, monkeypatch, source
):
    """An empty folder (NoPagesLanded) or a malformed WARC (UnreadableWarc) is refused the
    same way on every retry: AirflowFailException, not four retries with backoff."""
    from types import SimpleNamespace

    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.setenv("KZNEWS_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / source
    if source == "empty_folder":
        path.mkdir()
    else:
        path.write_bytes(b"WARC/1.0\r\nJUNK\r\n\r\nnot a record\r\n\r\n")
    land = dagbag.dags["kznews_nightly"].get_task("acquire.land").python_callable
    context = {"dag_run": SimpleNamespace(run_type="manual"), "outlet_events": {}}
    monkeypatch.setitem(land.__globals__, "get_current_context", lambda: context)
    run = {"load_date": "2026-11-25", "source": str(path), "page_limit": None}
    with pytest.raises(AirflowFailException, match=r"no page to land|not a readable WARC"):
        land(run)
