"""
# kznews_nightly

Nightly pipeline for the Kazakh business magazine **Exclusive** (exclusive.kz):
raw pages -> landing Parquet -> extracted Parquet -> dbt -> Great Expectations -> published DuckDB.

| group       | tasks                              | writes                                   |
|-------------|------------------------------------|------------------------------------------|
| `acquire`   | `plan`, `land`                     | `data/raw_pages/` (Asset `kznews_landing`) |
| `extract`   | `plan_shards`, `extract_shard` ×N (mapped), `commit` | `data/extracted/<table>/` |
| `warehouse` | `dbt_build` (per-model: see docs)  | `warehouse/build/` (pool `kznews_duckdb`) |
| `quality`   | `gate`                             | `data/quality/` (GX results, Data Docs)  |
| `publish`   | `publish`, `summary`  | `warehouse/kznews.duckdb` (Asset `kznews_warehouse`)|

Every task that writes DuckDB runs in the pool **`kznews_duckdb`** (one slot): DuckDB allows a
single writer per file. `make dag-run` / `make airflow` create it (`airflow pools set ...`).

Extraction is mapped: `plan_shards` splits the landed partition into `KZNEWS_EXTRACT_SHARDS`
shards (default: the cores of the machine running it, read at run time), one `extract_shard`
task instance per shard runs wherever the executor has a free slot, and `commit` swaps the
partitions in only when every shard has succeeded (a retried shard replaces its own files).

A quiet night (a crawl that finds no new or changed page, so lands none) skips `plan_shards`
and, through it, everything after: the run succeeds and the published warehouse stays as is.
Unless earlier nights are owed (their extraction, build, gate or publish failed): the land
task then finds landed dates never extracted and extracted dates the published warehouse was
not built from (`kznews.pipeline.catch_up`); `plan_shards` extracts the first, and the build,
gate and publish run on the newest owed date, which the summary names ("caught up"). Such a
night can fail, like any night that builds. A night that lands pages looks back too: the land
task lists the landed dates before it never extracted (`kznews.pipeline.look_back`),
`plan_shards` extracts them before planning the night's shards, and its build reads them.
An owed date that fails to extract stays owed and turns the run red after it published.

## Params (trigger form: "Trigger DAG" -> "Run with config")

* **source** – where pages come from: a folder of `.html` files, a `.warc(.gz)` file or an
  `http(s)://` start URL (polite crawl). Default: the project's bundled `sample/` folder.
* **load_date** – `YYYY-MM-DD`; empty = the run's logical date in Asia/Almaty.
* **full_refresh** – rebuild the incremental dbt models from scratch.
* **page_limit** – stop acquiring after this many pages (≥ 1); empty: `KZNEWS_MAX_PAGES`
  (default 100000).
* **listing_depth** – crawl sources: `new` walks each rubric's pager only until a
  page lists nothing unseen; `all` re-walks every listing page (a periodic re-sweep);
  empty: `KZNEWS_CRAWL_LISTING_DEPTH` (default `new`).
* **reuse_landing** – for a crawl URL, reuse the landing partition of the load date when it
  exists instead of fetching again (what a backfill wants). Folder/WARC sources are re-landed:
  that is cheap and deterministic.

## Backfill

```
airflow backfill create --dag-id kznews_nightly \\
  --from-date 2026-01-01 --to-date 2026-01-07T23:59:59
```
reprocesses each day (runs sit at 02:00 Almaty) from its landed raw Parquet without fetching
again (see *reuse_landing*); `make airflow-backfill FROM=... TO=...` does the same. A day no
crawl landed fails its `land` task instead of filing today's pages under it (conf
`source` = a WARC or folder of that day fills it; `reuse_landing=false` fetches anyway).

See `docs/airflow.md` for the UI, the docs plugin and the compose deployment.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param, TaskGroup, dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable

TZ = "Asia/Almaty"
POOL = "kznews_duckdb"

# The same two Assets are declared in kznews_rates_report.py (matched by name + uri).
LANDING = Asset(name="kznews_landing", uri="kznews://landing/raw_pages", group="kznews")
WAREHOUSE = Asset(name="kznews_warehouse", uri="kznews://warehouse/published", group="kznews")

# KZNEWS_AIRFLOW_RETRIES=0 (set by `make dag-run`) makes a local in-process run fail fast.
_RETRIES = os.environ.get("KZNEWS_AIRFLOW_RETRIES")

DEFAULT_ARGS = {
    "owner": "kznews-data",
    "retries": int(_RETRIES or 1),
    "retry_delay": timedelta(minutes=2),
    "execution_timeout": timedelta(hours=2),
    # a failed night says so in data/state/airflow/last_summary (defined below)
    "on_failure_callback": lambda context: _record_failure(context),
}
# Network-bound tasks (fetching pages) retry more, with exponential backoff.
NETWORK_RETRIES = {
    "retries": int(_RETRIES or 4),
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(hours=8),
}


def _schedule():
    """Nightly at 02:00 Almaty. KZNEWS_NIGHTLY_SCHEDULE=off: manual/asset runs only (test rigs,
    laptops where unpausing must not start the latest missed night at once)."""
    if os.environ.get("KZNEWS_NIGHTLY_SCHEDULE", "").lower() in ("off", "none", "manual"):
        return None
    return CronTriggerTimetable("0 2 * * *", timezone=TZ)


def _default_source() -> str:
    """The bundled sample folder, resolved by kznews.config (cheap: stdlib + two stat calls)."""
    override = os.environ.get("KZNEWS_NIGHTLY_SOURCE")
    if override:
        return override
    try:
        from kznews.config import load_settings

        settings = load_settings()
        return str(settings.path(settings.sample_source))
    except Exception:  # kznews not importable: the form still renders
        return "sample"


def _settings(run: dict):
    """The run's settings: the deployment's (defaults, ``KZNEWS_*``), then the trigger's
    params where given (None leaves the deployment's value)."""
    from kznews.config import load_settings

    return load_settings(
        max_pages=run.get("page_limit"), crawl_listing_depth=run.get("listing_depth")
    )


def _optional(value, kind):
    """A param's value as ``kind``, or None when empty (the deployment's setting applies)."""
    return None if value in (None, "") else kind(value)


def _logical_load_date(ctx) -> str:
    """The run's logical date (or, without one, when it was due) in Almaty, ISO."""
    ref = ctx.get("logical_date") or ctx["dag_run"].run_after
    return pendulum.instance(ref).in_timezone(TZ).date().isoformat()


def _resolve_run(ctx) -> dict:
    """The run's params and logical date (Almaty) as the small dict every task receives."""
    params = ctx["params"]
    if params.get("load_date"):
        load_date = pendulum.parse(str(params["load_date"])).date().isoformat()
    else:
        load_date = _logical_load_date(ctx)
    return {
        "load_date": load_date,
        "source": str(params["source"]),
        "full_refresh": bool(params["full_refresh"]),
        # None: the deployment's setting (KZNEWS_MAX_PAGES, KZNEWS_CRAWL_LISTING_DEPTH)
        "page_limit": _optional(params.get("page_limit"), int),
        "reuse_landing": bool(params.get("reuse_landing", True)),
        "listing_depth": _optional(params.get("listing_depth"), str),
        "run_id": ctx.get("run_id"),
    }


def _load_date(run: dict):
    from datetime import date

    return date.fromisoformat(run["load_date"])


def _dbt_models() -> dict[str, list[str]] | None:
    """Per-model dbt tasks (opt-in, ``KZNEWS_DBT_TASKS=per_model``): model -> parent models,
    from dbt's manifest.json (``KZNEWS_DBT_MANIFEST``, else
    ``dbt_project/target/manifest.json`` from ``dbt parse``), else from the models file the
    last successful build wrote beside the build file (``warehouse/build/target/
    kznews_models.json``, replaced atomically: dbt rewrites manifest.json in place on every
    command, which a parse must not read half-written). None = one ``dbt_build`` task, the
    default (no file is read at parse time then, and no run pays a dbt start-up per model),
    and the fallback while there is neither (the first night writes the models file).
    """
    if os.environ.get("KZNEWS_DBT_TASKS", "single").lower() != "per_model":
        return None
    import json
    from pathlib import Path

    if os.environ.get("KZNEWS_DBT_MANIFEST"):
        manifests, models_file = [Path(os.environ["KZNEWS_DBT_MANIFEST"])], None
    else:
        from kznews.config import load_settings

        settings = load_settings()
        manifests = [settings.dbt_dir / "target" / "manifest.json"]
        models_file = settings.build_db.parent / "target" / "kznews_models.json"
    manifest = next((path for path in manifests if path.is_file()), None)
    if manifest is not None:
        from kznews.dbtgraph import models_from_manifest

        return models_from_manifest(json.loads(manifest.read_text(encoding="utf-8")))
    if models_file is not None and models_file.is_file():
        return json.loads(models_file.read_text(encoding="utf-8"))
    import logging

    logging.getLogger(__name__).warning(
        "KZNEWS_DBT_TASKS=per_model but no dbt manifest at %s and no %s: one dbt_build task "
        "until a build writes it", " or ".join(map(str, manifests)), models_file
    )
    return None


def _per_model_tasks(models: dict[str, list[str]], run, extracted):
    """One ``dbt build --select <model>`` task per model (its tests included), wired like the
    dbt graph, all in the DuckDB pool, between a plan and a closing task: the same decisions
    as the single ``dbt_build`` task (a failed night caught up, a full refresh forced by a
    changed project or partition, tests left to the gate). Returns the final XComArg."""

    @task(pool=POOL)
    def dbt_plan(run: dict, extracted: dict) -> dict:
        from kznews.pipeline import build_plan_stage

        return build_plan_stage(
            _settings(run), full_refresh=run["full_refresh"], load_date=_load_date(run)
        )

    @task(pool=POOL)
    def dbt_model(run: dict, plan: dict, model: str) -> dict:
        from kznews.warehouse.runner import build_model

        return _timed(build_model, _settings(run), plan, model)

    @task(pool=POOL)
    def dbt_docs(run: dict, plan: dict, results: list) -> dict:
        from kznews.warehouse.runner import end_build, run_dbt

        settings = _settings(run)
        steps = list(results)
        if plan["docs"] == "generated":
            steps.append(run_dbt(settings, "docs", "generate"))
        out = end_build(settings, plan, steps)
        out["seconds"] = round(sum(s.get("seconds", s.get("elapsed_s", 0)) for s in steps), 3)
        out["models"] = len(results)
        return out

    plan = dbt_plan(run, extracted)
    tasks = {name: dbt_model.override(task_id=f"dbt_{name}")(run, plan, name) for name in models}
    for name, parents in models.items():
        for parent in parents:
            tasks[parent] >> tasks[name]
    return dbt_docs(run, plan, list(tasks.values()))


def reuse_landing(run: dict, landed_by_crawl: bool) -> bool:
    """Skip fetching when re-running a crawl whose landing partition a crawl already filled
    (backfills reprocess from the landed Parquet; ``kznews.pipeline.landed_by_crawl``).
    Folder/WARC sources are always re-landed, and so is a date whose landing came from
    files (a deployment switched from the sample to the site) or holds nothing; a re-sweep
    (``listing_depth`` "all") always fetches."""
    from kznews.acquire.base import is_crawl

    return (
        bool(run.get("reuse_landing", True))
        and is_crawl(run["source"])
        and run.get("listing_depth") != "all"
        and landed_by_crawl
    )


def backfill_cannot_crawl(run: dict, run_type, landed_by_crawl: bool) -> str | None:
    """Why a backfill run must not crawl, or None. A crawl fetches the site as it is now:
    a backfill that crawled would file today's pages under an old date. A backfill reuses
    the date's crawled landing (``reuse_landing``); it fails, saying how to fill the date,
    when no crawl landed it, or when it asks for a re-sweep (``listing_depth`` "all", which
    always fetches), unless the trigger asked to fetch (``reuse_landing`` false).
    ``run_type``: the run's type (the task SDK's ``DagRunType``, a str enum, or a str)."""
    from kznews.acquire.base import is_crawl

    if getattr(run_type, "value", run_type) != "backfill" or not is_crawl(run["source"]):
        return None
    if not run.get("reuse_landing", True):
        return None
    why = None
    if not landed_by_crawl:
        why = "no crawl landed that date"
    elif run.get("listing_depth") == "all":
        why = "a re-sweep (listing_depth all) fetches again"
    if why is None:
        return None
    return (
        f"backfill of {run['load_date']}: {why}, and a crawl fetches the site as it is "
        "today, not as it was then. Backfill it from a WARC file or a folder of that day "
        "(source), or trigger it with reuse_landing=false to file today's pages under that "
        "date."
    )


def _write_summary(run: dict, data: dict) -> str:
    """Print the night's summary and write it to ``state/airflow/`` as
    ``summary_<load date>`` and ``last_summary`` (``.txt`` and ``.json``)."""
    import json

    from kznews.fsutil import write_text_atomic
    from kznews.pipeline import STAGES, format_summary

    data["timings_s"] = {k: data[k].get("seconds") for k in STAGES if data.get(k)}
    data.setdefault("run_id", run.get("run_id"))
    text = format_summary(data)
    print(text)
    out_dir = _settings(run).state_dir / "airflow"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in (f"summary_{run['load_date']}", "last_summary"):  # tasks may fail side by side
        write_text_atomic(out_dir / f"{name}.txt", text + "\n")
        write_text_atomic(out_dir / f"{name}.json", json.dumps(data, indent=1, default=str))
    return text


#: The task whose result is each stage's part of a failed night's summary
#: (warehouse.dbt_build is absent with per-model dbt tasks: that stage is then left out).
_STAGE_TASKS = {"land": "acquire.land", "extract": "extract.commit",
                "build": "warehouse.dbt_build", "quality": "quality.gate",
                "publish": "publish.publish"}


def _record_failure(context) -> None:
    """``on_failure_callback`` of every task (after its last try): the night's summary files
    (``summary_<load date>``, ``last_summary``) say that it failed, in which task and why,
    with what the stages before it returned (the XComs of its upstream tasks) and what the
    night caught up, so that ``last_summary`` does not show an earlier night's success as
    the latest word. Not written when no task runs its
    callback: a run timed out (``dagrun_timeout``), a task marked failed by hand."""
    ti = context["ti"]
    run = ti.xcom_pull(task_ids="acquire.plan")
    if not run:  # the plan failed: its params, or at least the run's logical date
        try:
            run = _resolve_run(context)
        except Exception:
            run = {"load_date": _logical_load_date(context)}
    run = {**run, "run_id": run.get("run_id") or context.get("run_id")}
    data: dict = {"load_date": run["load_date"]}
    # only the tasks that ran before this one in this try of the run: a cleared run keeps
    # the XComs of its downstream tasks until they run again
    upstream = context["task"].get_flat_relative_ids(upstream=True)
    for stage, task_id in _STAGE_TASKS.items():
        if task_id in upstream and (result := ti.xcom_pull(task_ids=task_id)):
            data[stage] = result
    night = {}
    if "extract.plan_shards" in upstream:
        night = ti.xcom_pull(task_ids="extract.plan_shards", key="night") or {}
    caught = night.get("catch_up") or (data.get("land") or {}).get("catch_up")
    if caught:
        data["catch_up"] = caught
    error = context.get("exception")
    map_index = getattr(ti, "map_index", -1)
    data["failed"] = {
        "task": ti.task_id if map_index in (None, -1) else f"{ti.task_id}[{map_index}]",
        "try": getattr(ti, "try_number", None),
        "error": f"{type(error).__name__}: {error}"[:2000] if error else "unknown",
    }
    _write_summary(run, data)


def _timed(fn, *args, **kwargs) -> dict:
    import time

    t0 = time.perf_counter()
    out = dict(fn(*args, **kwargs) or {})
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


@dag(
    dag_id="kznews_nightly",
    doc_md=__doc__,
    schedule=_schedule(),
    start_date=pendulum.datetime(2026, 1, 1, tz=TZ),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=12),
    default_args=DEFAULT_ARGS,
    tags=["kznews", "nightly", "exclusive.kz"],
    params={
        "source": Param(
            _default_source(),
            type="string",
            minLength=1,
            title="Source",
            description="Folder of .html files, a .warc(.gz) file or an http(s):// start URL.",
        ),
        "load_date": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Load date",
            description="Partition to (re)build, YYYY-MM-DD. Empty: the run's logical date "
            "in Asia/Almaty.",
        ),
        "full_refresh": Param(
            False, type="boolean", title="Full refresh", description="dbt --full-refresh."
        ),
        "page_limit": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            title="Page limit",
            description="Crawls only: fetch at most this many pages (a folder or WARC "
            "source is landed whole). Empty: the deployment's setting (KZNEWS_MAX_PAGES, "
            "default 100000).",
        ),
        "listing_depth": Param(
            None,
            type=["null", "string"],
            enum=[None, "new", "all"],
            title="Listing depth",
            description="Crawl sources only. new: walk each rubric's pager until a page lists "
            "nothing unseen (nightly). all: walk every listing page again (a re-sweep). "
            "Empty: the deployment's setting (KZNEWS_CRAWL_LISTING_DEPTH, default new).",
        ),
        "reuse_landing": Param(
            True,
            type="boolean",
            title="Reuse landing",
            description="Crawl sources only: reuse an existing landing partition of the load "
            "date instead of fetching again (backfills).",
        ),
    },
)
def kznews_nightly():
    with TaskGroup("acquire", tooltip="Resolve the run's parameters and land raw pages"):

        @task
        def plan() -> dict:
            """Resolve params + logical date into the small dict every task receives."""
            run = _resolve_run(get_current_context())
            print(f"kznews run plan: {run}")
            return run

        @task(outlets=[LANDING], **NETWORK_RETRIES)
        def land(run: dict) -> dict:
            """Acquire pages and write the landing partition (or reuse it, see reuse_landing).
            A refusal that the same input would meet again (a backfill that must not crawl,
            a file source with no page, a malformed WARC) fails without retrying."""
            from airflow.sdk.exceptions import AirflowFailException

            from kznews.acquire.warc import UnreadableWarc
            from kznews.land import PART_NAME, NoPagesLanded, partition_dir
            from kznews.pipeline import (
                catch_up,
                land_stage,
                landed_by_crawl,
                look_back,
                quiet_night,
                reuse_landing_stage,
            )

            settings, load_date = _settings(run), _load_date(run)
            part = partition_dir(settings.raw_dir, load_date) / PART_NAME
            crawled = landed_by_crawl(part)
            refused = backfill_cannot_crawl(
                run, get_current_context()["dag_run"].run_type, crawled
            )
            if refused:
                raise AirflowFailException(refused)
            if reuse_landing(run, crawled):
                result = _timed(reuse_landing_stage, load_date, settings)
                print(f"landing partition exists, not fetching again: {part}")
            else:
                try:
                    result = _timed(land_stage, run["source"], load_date, settings)
                except (NoPagesLanded, UnreadableWarc) as exc:
                    raise AirflowFailException(str(exc)) from exc
                result["reused"] = False
            # what earlier nights owe is decided here, where warehouse/ and the landings are
            if quiet_night(run["source"], result):
                result["catch_up"] = catch_up(settings, load_date, run["full_refresh"])
            else:  # an error while looking is reported by the summary, not raised here
                looked = look_back(settings, load_date)
                result["owed"], result["owed_error"] = looked["dates"], looked["error"]
            get_current_context()["outlet_events"][LANDING].extra = {
                "load_date": run["load_date"],
                "rows": result.get("rows"),
            }
            return result

        run = plan()
        landed = land(run)

    with TaskGroup("extract", tooltip="Parse landed pages into the extracted Parquet tables"):

        @task
        def plan_shards(run: dict, landed: dict) -> list[dict]:
            """Split the landing into shard jobs (KZNEWS_EXTRACT_SHARDS, read now, not at
            parse time). Returns the jobs, which extract_shard maps over (Airflow maps only
            over a return value); the whole plan goes to XCom key "plan" for the commit, and
            the run the later tasks work on to key "night".
            A crawl that found nothing new (kznews.pipeline.quiet_night) skips this task and,
            through it, the rest of the night: the run succeeds, nothing is published.
            Unless earlier nights are owed (kznews.pipeline.catch_up, decided by the land
            task): then their dates are extracted here, no shard is mapped, and the rest of
            the night works on the newest owed date. A night that landed pages extracts the
            earlier dates it owes here too (kznews.pipeline.look_back), before its
            own shards."""
            from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

            from kznews.pipeline import (
                CatchUpFailed,
                catch_up_extract,
                extract_looked_back,
                extract_plan_stage,
                quiet_night,
            )

            settings = _settings(run)
            night = run
            if reason := quiet_night(run["source"], landed):
                caught = landed.get("catch_up")
                if not caught:  # the summary task is skipped too: say it here
                    _write_summary(run, {"load_date": run["load_date"], "land": landed,
                                         "skipped": reason})
                    raise AirflowSkipException(reason)
                print(f"catching up: {caught['reason']}")
                try:
                    plan = {"jobs": [], "extracted": catch_up_extract(caught, settings)}
                except CatchUpFailed as exc:  # nothing left to build: say it, fail red
                    _write_summary(run, {"load_date": run["load_date"], "land": landed,
                                         "catch_up": caught, "skipped": str(exc)})
                    raise AirflowFailException(str(exc)) from exc
                night = {**run, "load_date": plan["extracted"]["load_date"], "catch_up": caught}
            else:
                owed = extract_looked_back(  # what the land task's look_back found
                    {"dates": landed.get("owed") or [], "error": landed.get("owed_error")},
                    settings)
                plan = extract_plan_stage(_load_date(run), settings)
                print(f"extraction plan: {plan['shards']} shards of {plan['row_groups']} "
                      "row groups")
                if owed:
                    print(f"extracted first, owed by earlier nights: {sorted(owed['caught_up'])}"
                          f"; failed: {owed['failed'] or 'none'}")
                    plan["owed"] = owed
            ti = get_current_context()["ti"]
            ti.xcom_push(key="plan", value=plan)
            ti.xcom_push(key="night", value=night)
            return plan["jobs"]

        @task
        def extract_shard(run: dict, job: dict) -> dict:
            """One shard, in this task's own process (no pool inside): the parallelism is the
            executor's, across task slots and Celery workers."""
            from kznews.pipeline import extract_shard_stage

            return extract_shard_stage(job, _load_date(run), _settings(run))

        # Runs after no shard at all (a quiet night's catch-up maps none), never after a
        # failed shard or a skipped plan.
        @task(trigger_rule="none_failed_min_one_success")
        def commit(run: dict, plan: dict, shards: list) -> dict:
            """Check every shard and swap the partitions in; `seconds` spans plan to commit.
            A refused commit (a shard's result or files missing) fails without retrying: it
            has removed the run's files, so only a new plan can succeed. A catch-up's plan
            maps no shard: its extraction is done, and reported as it is."""
            from airflow.sdk.exceptions import AirflowFailException

            from kznews.extract.batch import ExtractionIncomplete
            from kznews.pipeline import extract_commit_stage

            if not plan["jobs"]:
                return plan["extracted"]
            try:
                result = extract_commit_stage(plan, shards, _load_date(run), _settings(run))
            except ExtractionIncomplete as exc:
                raise AirflowFailException(str(exc)) from exc
            if plan.get("owed"):  # the earlier nights plan_shards extracted first
                result["owed"] = plan["owed"]
            return result

        jobs = plan_shards(run, landed)
        # from here on: the run, or the earlier night a quiet night catches up
        night = jobs["night"]
        shard_results = extract_shard.partial(run=night).expand(job=jobs)
        extracted = commit(night, jobs["plan"], shard_results)

    with TaskGroup("warehouse", tooltip="dbt build into the private build file"):

        @task(pool=POOL)
        def dbt_build(run: dict, extracted: dict) -> dict:
            from kznews.pipeline import build_stage

            return _timed(
                build_stage,
                _settings(run),
                full_refresh=run["full_refresh"],
                load_date=_load_date(run),
            )

        models = _dbt_models()
        if models is None:
            built = dbt_build(night, extracted)
        else:
            built = _per_model_tasks(models, night, extracted)

    with TaskGroup("quality", tooltip="Great Expectations gate"):
        # A failed gate is deterministic: retrying would only fail again.
        @task(pool=POOL, retries=0)
        def gate(run: dict, built: dict) -> dict:
            from kznews.pipeline import quality_stage

            return _timed(quality_stage, _load_date(run), _settings(run))

        checked = gate(night, built)

    with TaskGroup("publish", tooltip="Publish the validated warehouse for BI"):

        @task(pool=POOL, outlets=[WAREHOUSE])
        def publish(run: dict, checked: dict) -> dict:
            from kznews.pipeline import publish_stage

            result = _timed(publish_stage, _settings(run))
            get_current_context()["outlet_events"][WAREHOUSE].extra = {
                "load_date": run["load_date"],
                "path": result.get("path"),
            }
            return result

        @task
        def summary(
            run: dict, night: dict, landed: dict, extracted: dict, built: dict, checked: dict,
            published: dict,
        ) -> str:
            """Print the run summary (rows per mart, validation, published file, the night
            caught up)."""
            stages = {
                "land": landed,
                "extract": extracted,
                "build": built,
                "quality": checked,
                "publish": published,
            }
            data = {"load_date": run["load_date"], **stages}
            if night.get("catch_up"):
                data["catch_up"] = night["catch_up"]
            text = _write_summary(run, data)
            from kznews.pipeline import describe_owed_failures, owed_failures

            failed = owed_failures(data)
            if failed:  # the rest is published; the run stays red until these are too
                from airflow.sdk.exceptions import AirflowFailException

                raise AirflowFailException(
                    f"catching up, {describe_owed_failures(failed)} (see the logs of "
                    "acquire.land and extract.plan_shards); they stay owed to the next night")
            return text

        published = publish(night, checked)
        summary(run, night, landed, extracted, built, checked, published)


kznews_nightly()
