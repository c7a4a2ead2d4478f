"""Run dbt over the extracted Parquet into the private build file.

dbt runs as a subprocess of this environment's ``dbt``: the DuckDB build file is then locked
only while dbt runs (an in-process dbtRunner keeps dbt-duckdb's connection and global state
alive in the caller, e.g. an Airflow worker, and would block the publish step from opening
the same file with another configuration). Paths reach dbt through environment variables
read by ``dbt_project/profiles.yml`` and the source definitions:

* ``KZNEWS_EXTRACTED_DIR``: the extracted Parquet root (``Settings.extracted_dir``)
* ``KZNEWS_BUILD_DB``: the build file (``Settings.build_db``)

dbt's artefacts (``run_results.json``, ``manifest.json``, the docs site ``index.html``) go to
``target/`` beside the build file, so two builds of different files never share one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from kznews import gatepass
from kznews.config import Settings, memory_limit
from kznews.extract.swap import finish_interrupted_swaps
from kznews.fsutil import write_text_atomic
from kznews.schema import EXTRACTED_TABLES

log = logging.getLogger(__name__)

#: The BI-facing tables, in the order reports list them. dbt builds them in schema ``marts``.
MARTS: tuple[str, ...] = (
    "fct_articles",
    "dim_authors",
    "dim_rubrics",
    "dim_date",
    "fct_exchange_rates",
    "fct_headlines",
    "fct_headline_sightings",
)
MARTS_SCHEMA = "marts"

_FAILED = {"error", "fail", "runtime error"}


class WarehouseBuildError(RuntimeError):
    """dbt failed. ``failures`` lists ``{"node", "status", "message"}`` per failing node."""

    def __init__(self, message: str, failures: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.failures = failures or []


def target_dir(settings: Settings) -> Path:
    """dbt's target/ for this build file (holds the docs site after a build)."""
    return settings.build_db.parent / "target"


#: dbt threads of an incremental build when ``Settings.dbt_threads`` is 0 (auto).
NIGHTLY_THREADS = 4


def dbt_threads(settings: Settings, full_refresh: bool) -> int:
    """dbt's thread count for this build: ``settings.dbt_threads``, or when that is 0, one
    thread for a full rebuild (a full refresh or the first build of the file) and four for
    an incremental build. A full rebuild is a few large queries that DuckDB already runs on
    every core: a second dbt thread ran two of them at once, which measured slower and
    ~200 MB larger at 100,000 pages. A nightly build is many small nodes, where more
    threads overlap dbt's per-node Python work with DuckDB's queries: on two cores, with
    ~90 nodes, 4 threads took the 100,000-page night's build from 9.7 to 8.2 s against 2
    (docs/benchmarks.md); with the 24 nodes left since column rules became constraints,
    2 and 4 were within the noise and 8 slower in one-off nights (2026-11-26)."""
    if settings.dbt_threads < 0:
        raise ValueError(f"dbt_threads must be 0 (auto) or more, not {settings.dbt_threads}")
    return settings.dbt_threads or (1 if full_refresh else NIGHTLY_THREADS)


def dbt_env(settings: Settings, threads: int | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["KZNEWS_EXTRACTED_DIR"] = str(settings.extracted_dir)
    env["KZNEWS_BUILD_DB"] = str(settings.build_db)
    env["KZNEWS_DUCKDB_MEMORY_LIMIT"] = memory_limit(settings)
    if threads is not None:
        env["KZNEWS_DBT_THREADS"] = str(threads)
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env.setdefault("DO_NOT_TRACK", "1")
    return env


def dbt_command() -> list[str]:
    """How this environment starts dbt: its ``dbt`` executable."""
    exe = Path(sys.executable).with_name("dbt")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("dbt")
    return [found] if found else [sys.executable, "-m", "dbt.cli.main"]


def _check_sources(settings: Settings) -> None:
    root = settings.extracted_dir
    missing = [t for t in EXTRACTED_TABLES if not any((root / t).glob("*/*.parquet"))]
    if missing:
        raise WarehouseBuildError(
            f"no extracted Parquet under {root} for table(s) {', '.join(missing)}; "
            "run the extract stage first (every table needs at least one partition file)"
        )


#: Runs one dbt command: (dbt's arguments, its environment, its working folder) ->
#: (exit code, what it printed). Either way dbt runs in a process of its own, so its DuckDB
#: connection is closed when the command ends; :mod:`kznews.overlap` forks it from a
#: process that imported dbt and parsed the project in advance.
DbtInvoker = Callable[[list[str], dict[str, str], Path], tuple[int, str]]


def subprocess_invoker(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """The default :data:`DbtInvoker`: this environment's ``dbt`` executable."""
    proc = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [*dbt_command(), *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    return proc.returncode, (proc.stdout or "") + (proc.stderr or "")


def dbt_path_args(settings: Settings) -> list[str]:
    """Where dbt finds the project and writes its artefacts: every command gets these."""
    tdir = target_dir(settings)
    return [
        "--project-dir", str(settings.dbt_dir),
        "--profiles-dir", str(settings.dbt_dir),
        "--target-path", str(tdir),
        "--log-path", str(tdir.parent / "logs"),
    ]  # fmt: skip


def run_dbt(
    settings: Settings, *args: str, threads: int | None = None, invoker: DbtInvoker | None = None
) -> dict[str, Any]:
    """Run one dbt command for ``settings`` (``threads``: dbt's thread count, default the
    profile's; ``invoker``: how, default :func:`subprocess_invoker`); return its run
    results (raises on failure)."""
    gatepass.forget(settings)  # dbt may write the build file: no earlier gate speaks for it
    tdir = target_dir(settings)
    tdir.mkdir(parents=True, exist_ok=True)
    results_file = tdir / "run_results.json"
    results_file.unlink(missing_ok=True)
    t0 = time.perf_counter()
    returncode, output = (invoker or subprocess_invoker)(
        [*args, *dbt_path_args(settings)], dbt_env(settings, threads), settings.dbt_dir
    )
    elapsed = round(time.perf_counter() - t0, 3)
    results: list[dict[str, Any]] = []
    if results_file.exists():
        results = json.loads(results_file.read_text(encoding="utf-8")).get("results", [])
    failures = [
        {
            "node": r.get("unique_id", "?"),
            "status": str(r.get("status")),
            "message": (r.get("message") or "").strip()[:500],
        }
        for r in results
        if str(r.get("status")).lower() in _FAILED
    ]
    if returncode != 0 or failures:
        if failures:
            names = "; ".join(f"{f['node']} ({f['status']}: {f['message']})" for f in failures)
            msg = f"dbt {args[0]} failed: {names}"
        else:
            tail = "\n".join(output.strip().splitlines()[-25:])
            msg = f"dbt {args[0]} failed (exit {returncode}):\n{tail}"
        raise WarehouseBuildError(msg, failures)
    counts: dict[str, int] = {}
    for r in results:
        status = str(r.get("status")).lower()
        counts[status] = counts.get(status, 0) + 1
    out: dict[str, Any] = {"command": args[0], "elapsed_s": elapsed, "statuses": counts}
    if threads is not None:
        out["threads"] = threads
    return out


def mart_row_counts(db_path: Path, schema: str = MARTS_SCHEMA) -> dict[str, int]:
    """Rows per mart in a DuckDB file (opened read-only)."""
    import duckdb

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return {
            m: int(con.execute(f'select count(*) from "{schema}"."{m}"').fetchone()[0])  # noqa: S608
            for m in MARTS
        }
    finally:
        con.close()


#: Written to dbt's target/ after every successful build: the project fingerprint it ran,
#: whether unit tests and docs ran for that fingerprint, and the newest load date processed.
LAST_BUILD_NAME = "kznews_last_build.json"
#: Beside it: model -> parent models of the project the last successful build ran, replaced
#: atomically (the per-model DAG reads it at parse time; dbt rewrites manifest.json in place
#: on every command).
MODELS_NAME = "kznews_models.json"
_PROJECT_SUFFIXES = {".sql", ".yml", ".yaml", ".csv", ".md", ".jinja"}
_DBT_DISTRIBUTIONS = ("dbt-core", "dbt-duckdb", "dbt-adapters", "dbt-common", "duckdb")


def project_fingerprint(settings: Settings) -> str:
    """sha256 of what unit tests and the docs catalog depend on: every project file (models,
    macros, tests, seeds, dbt_project.yml, profiles.yml), the dbt versions and the extracted
    tables' Parquet schemas. Data is not part of it."""
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256()
    root = settings.dbt_dir
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in ("target", "logs", "dbt_packages") or not path.is_file():
            continue
        if path.suffix in _PROJECT_SUFFIXES:
            h.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    for dist in _DBT_DISTRIBUTIONS:  # the incremental strategies live in dbt-adapters
        try:
            h.update(f"{dist}={version(dist)}\0".encode())
        except PackageNotFoundError:
            h.update(f"{dist}=none\0".encode())
    for table, schema in sorted(EXTRACTED_TABLES.items()):
        h.update(f"{table}:{schema}\0".encode())
    return h.hexdigest()


def last_build(settings: Settings) -> dict[str, Any] | None:
    """What the last successful build into this target/ recorded, or None."""
    path = target_dir(settings) / LAST_BUILD_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def built_dates(settings: Settings) -> set[str]:
    """Every load date a successful build of this build file has read, whatever was
    removed since: a date no longer extracted but in here was taken out on purpose
    (:func:`kznews.pipeline.catch_up` leaves it alone)."""
    last = last_build(settings) or {}
    return set(last.get("built_dates") or ()) | set(last.get("read") or ())


def write_run_params(
    settings: Settings, load_date: date | None, tests_from: date | None = None
) -> None:
    """Tell the incremental models which load date this build adds, through the table
    ``main.kznews_run_params`` of the build file (read by ``macros/incremental.sql``).
    ``tests_from``: the first partition the source-level data tests need to read (the
    ``__kznews_new_partitions__`` filter of ``macros/tests.sql``); ``None`` = all of them.

    Passing it as ``--vars`` would change dbt's parse inputs every night and cost a full
    re-parse of the project (~1.5 s measured); a row in the build file is read when the SQL
    runs. ``None`` removes the table: the models then read from the newest partition they
    hold. Written before dbt starts, while nothing else holds the build file, and dropped
    again when the build ends (a later ``dbt build`` by hand must not find a stale date).
    """
    import duckdb

    con = duckdb.connect(str(settings.build_db))
    try:
        if load_date is None:
            con.execute("drop table if exists main.kznews_run_params")
        else:
            con.execute(
                "create or replace table main.kznews_run_params as select"
                " cast(? as date) as load_date, cast(? as date) as tests_from,"
                " current_timestamp as written_at",
                [load_date.isoformat(), tests_from.isoformat() if tests_from else None],
            )
    finally:
        con.close()


#: Tag of the mart tests the quality gate repeats on the same tables before publishing
#: (kznews.quality.specs MART_KEYS, MART_FOREIGN_KEYS): an incremental build skips them.
GATE_TWIN_TAG = "gx_gate"

#: ``dbt build --select`` when the views are kept: every node but the view models
#: (tables, incremental models, data tests; ``dbt run`` takes the first two).
KEEP_VIEWS_SELECTION = (
    "config.materialized:table",
    "config.materialized:incremental",
    "resource_type:test",
)


def views_key(settings: Settings, fingerprint: str) -> str:
    """What the views of a build depend on: the project and the extracted folder their
    ``read_parquet`` paths name."""
    return hashlib.sha256(f"{fingerprint}\0{settings.extracted_dir}".encode()).hexdigest()


def _views_present(settings: Settings) -> bool:
    """Every view model of the last build's manifest exists in the build file."""
    import duckdb

    if not settings.build_db.exists():
        return False
    try:
        manifest = json.loads((target_dir(settings) / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return False
    wanted = {
        (node.get("schema"), node.get("alias") or node.get("name"))
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model"
        and (node.get("config") or {}).get("materialized") == "view"
    }
    con = duckdb.connect(str(settings.build_db), read_only=True)
    try:
        have = set(con.execute("select schema_name, view_name from duckdb_views()").fetchall())
    finally:
        con.close()
    return bool(wanted) and wanted <= have


#: Beside the build record: a digest per load date of the extracted partitions as the last
#: build found them when it started (:func:`partition_digests`), written before dbt runs.
READ_PARTITIONS_NAME = "kznews_read_partitions.json"
#: Beside it, a cache: the content hash of each extracted file by inode, size and mtime, so
#: that a digest hashes only the files written since the last one (losing it costs one
#: pass over the files, never a wrong digest).
FILE_HASHES_NAME = "kznews_file_hashes.json"
#: Marks a digest of file contents; records without it hold digests of names, sizes and
#: mtimes (before 2026-11-27), which :func:`upgrade_digests` carries over.
DIGEST_PREFIX = "c1-"


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _digests_by_date(settings: Settings, describe: Callable[[str, Path], Any]) -> dict[str, str]:
    """A digest per load date over each table's partition files (hidden names, swap
    leftovers, are not partitions), each file described by ``describe(table, path)``."""
    by_date: dict[str, list[str]] = {}
    for table in sorted(EXTRACTED_TABLES):
        folder = settings.extracted_dir / table
        if not folder.is_dir():
            continue
        for part in folder.glob("load_date=*"):
            files = [describe(table, f) for f in sorted(part.iterdir())
                     if not f.name.startswith(".")]
            entry = json.dumps([table, files])
            by_date.setdefault(part.name.split("=", 1)[1], []).append(entry)
    return {
        day: hashlib.sha256("\n".join(entries).encode()).hexdigest()[:16]
        for day, entries in sorted(by_date.items())
    }


def partition_digests(settings: Settings) -> dict[str, str]:
    """A digest per load date of that date's extracted partitions as they are on disk: each
    table's file names and contents. It changes when the date's data changes (extracted
    again into other rows, deleted, edited in place), not when the date is extracted again
    into the same bytes (extraction is deterministic: a night run again after its gate
    failed and was accepted, an Airflow run cleared after a failed publish), so such a
    re-run stays an incremental build. Content hashes are cached by inode, size and mtime
    (:data:`FILE_HASHES_NAME`): a build hashes only the files written since the last
    digest on this machine. Swap leftovers (hidden names) are not partitions."""
    cache_path = target_dir(settings) / FILE_HASHES_NAME
    try:
        cache = dict(json.loads(cache_path.read_text("utf-8")))
    except (OSError, ValueError, TypeError):
        cache = {}
    fresh: dict[str, list] = {}

    def content(table: str, f: Path) -> tuple[str, str]:
        st = f.stat()
        key = [st.st_ino, st.st_size, st.st_mtime_ns]
        rel = f"{table}/{f.parent.name}/{f.name}"
        hit = cache.get(rel)
        sha = hit[3] if isinstance(hit, list) and hit[:3] == key else _file_sha256(f)
        fresh[rel] = [*key, sha]
        return f.name, sha

    digests = _digests_by_date(settings, content)
    if fresh != cache:
        try:
            write_text_atomic(cache_path, json.dumps(fresh))
        except OSError:  # a cache: the digests stand without it
            log.warning("could not write %s", cache_path, exc_info=True)
    return {day: DIGEST_PREFIX + digest for day, digest in digests.items()}


def _legacy_digests(settings: Settings) -> dict[str, str]:
    """The digests recorded before 2026-11-27 (each table's file names, sizes and mtimes) of
    the partitions as they are now: what :func:`upgrade_digests` compares old records with."""

    def stat(table: str, f: Path) -> tuple[str, int, int]:
        st = f.stat()
        return f.name, st.st_size, st.st_mtime_ns

    return _digests_by_date(settings, stat)


def upgrade_digests(settings: Settings, recorded: dict[str, str]) -> dict[str, str]:
    """``recorded`` (load date -> digest: a build's read record, the gate's ledgers) with
    each digest of the earlier kind (names, sizes, mtimes) replaced by the content digest
    of its date's partitions when they are still the ones it described; one whose
    partitions changed since stays as it is, and so matches nothing (the date counts as
    changed, as it would have before). An upgrade thus keeps what the records say instead
    of rebuilding everything, checking every date again and dropping every acceptance.
    Free when every digest is of the current kind."""
    if all(str(d).startswith(DIGEST_PREFIX) for d in recorded.values()):
        return dict(recorded)
    legacy, now = _legacy_digests(settings), partition_digests(settings)
    return {
        day: now[day]
        if not str(d).startswith(DIGEST_PREFIX) and day in now and legacy.get(day) == d
        else d
        for day, d in recorded.items()
    }


def _record_read_partitions(settings: Settings, digests: dict[str, str]) -> None:
    target_dir(settings).mkdir(parents=True, exist_ok=True)
    (target_dir(settings) / READ_PARTITIONS_NAME).write_text(json.dumps(digests), "utf-8")


def read_partitions(settings: Settings) -> dict[str, str]:
    """What the build file holds: the digest per load date of the partitions the builds
    that wrote it read (:func:`partition_digests`); empty when no build recorded it."""
    try:
        read = dict(json.loads((target_dir(settings) / READ_PARTITIONS_NAME).read_text("utf-8")))
    except (OSError, ValueError):
        return {}
    return upgrade_digests(settings, read)


def shown_dates(days: list[str]) -> str:
    """Load dates for a message: the first five, and how many more."""
    return ", ".join(days[:5]) + (f" and {len(days) - 5} more" if len(days) > 5 else "")


def _changed_partitions(settings: Settings, current: dict[str, str]) -> str | None:
    """Why partitions a build already read make an incremental build wrong, or None.

    The incremental models recompute the keys the partitions they read bring. A date
    extracted again with rows removed or moved (a page now quarantined, a rate on another
    date), or deleted, leaves the rows it no longer brings in those models; so does a date
    older than the newest one read that arrives late (no incremental run reads back that
    far). Those cases rebuild everything instead (slower, never wrong)."""
    read = read_partitions(settings)
    if not read:
        return None  # no build recorded what it read (a file built before this check)
    newest = max(read)
    changed = sorted(
        [d for d, digest in read.items() if current.get(d) != digest]
        + [d for d in current if d not in read and d < newest]
    )
    if not changed:
        return None
    shown = shown_dates(changed)
    return (
        f"extracted partitions of load date(s) {shown} were extracted again, removed or "
        "added late since a build read them: rows they no longer bring could stay in the "
        "incremental models"
    )


def _forced_refresh(
    last: dict[str, Any] | None, fingerprint: str, settings: Settings, current: dict[str, str]
) -> str | None:
    """Why an existing build file must be rebuilt from every partition, or None."""
    if last is None:
        return "no successful build of this build file is recorded"
    if last.get("fingerprint") != fingerprint:
        return "the dbt project changed since the last successful build"
    return _changed_partitions(settings, current)


def rebuilds_everything(
    settings: Settings, full_refresh: bool = False, load_date: date | None = None
) -> bool:
    """Whether :func:`run_build` would rebuild every model from every partition (asked for,
    a first build, or forced as it explains) rather than add the new partitions. With
    ``load_date``, asked before that date is extracted: extracting a date a build already
    read, or one older than the newest read, may force it (:func:`_changed_partitions`; a
    date extracted again into the same bytes does not), so this answers True then."""
    if full_refresh or not settings.build_db.exists():
        return True
    if load_date is not None:
        read = read_partitions(settings)
        if read and load_date.isoformat() <= max(read):
            return True
    forced = _forced_refresh(
        last_build(settings), project_fingerprint(settings), settings, partition_digests(settings)
    )
    return forced is not None


def run_build(
    settings: Settings,
    full_refresh: bool = False,
    load_date: date | None = None,
    docs: bool = True,
    tests: bool = True,
    invoker: DbtInvoker | None = None,
) -> dict[str, Any]:
    """``dbt build`` (``dbt run`` when ``tests`` is false), then ``dbt docs generate``
    unless ``docs`` is false. :func:`build` is this with everything on.

    A nightly build costs its new data, not fixed work, and stays correct:

    * The incremental models read the partitions from the build's load date on. That date
      reaches them through :func:`write_run_params`, not ``--vars`` (a ``--vars`` value that
      changes each night forces a full re-parse of the project, ~1.5 s). It is the earlier of
      ``load_date`` and the day after the newest load date the last *successful* build
      processed, so a night whose build failed is picked up by the next one (and a re-run of
      a night re-reads that night).
    * A full refresh is forced when the dbt project changed since the last successful build
      (:func:`project_fingerprint`), or when the build file exists but no build of it is
      recorded: incremental models would otherwise apply new logic only to the rows a night
      touches. Also when extracted partitions a build already read were extracted again,
      removed, or arrive late for an older date (:func:`partition_digests`, recorded before
      dbt runs): the incremental models only recompute the keys new rows bring, so rows a
      date no longer brings would stay. A re-run of a night that extracts it into the same
      bytes stays incremental (the digests are of file contents). Every partition is kept,
      so a full refresh loses nothing.
    * Unit tests and ``dbt docs generate`` depend on the project, not on the data. With
      ``settings.dbt_recheck == "changed"`` (default) they are skipped when the last
      successful build ran them for the same project and this is not a full refresh;
      "always" runs them every time. Data tests always run, but for those tagged
      :data:`GATE_TWIN_TAG` on an incremental build: the quality gate runs the same checks
      (mart keys unique and not null, foreign keys found) on the same tables before any
      publish, so a night does not pay for them twice. Such a failure then fails the gate,
      not the build: the build record advances, and the gate keeps failing on the whole
      marts every night until the night is re-run (``load_date``) once its data is fixed.
    * Views are definitions: when unit tests are skipped (above), the extracted folder is
      the one the last build's views read and every view of the project is in the build
      file, the view models are not re-created (their data tests still run). dbt re-creates
      each one otherwise, ~0.2 s of dbt work per view whatever the data.
    * Threads: :func:`dbt_threads`.
    * ``invoker``: how each dbt command runs (:data:`DbtInvoker`; default a subprocess).

    The decisions are :func:`plan_build`'s; the per-model Airflow tasks run the same plan
    one model at a time (:func:`begin_build`, :func:`model_args`, :func:`end_build`).

    An extraction killed while swapping a date's partitions into place left a journal: its
    swaps are finished first, so dbt never reads tables of two runs
    (:mod:`kznews.extract.swap`).
    """
    plan = plan_build(settings, full_refresh=full_refresh, load_date=load_date, docs=docs,
                      tests=tests)
    begin_build(settings, plan)
    try:
        steps = [run_dbt(settings, *plan["args"], threads=plan["threads"], invoker=invoker)]
        if plan["docs"] == "generated":
            # The build just wrote manifest.json to the same target/: no second compile.
            steps.append(run_dbt(settings, "docs", "generate", "--no-compile", invoker=invoker))
    except BaseException:
        try:
            write_run_params(settings, None)  # a later dbt command by hand must not find it
        except Exception:  # dbt's error (or the interrupt) is the one to report
            log.exception("dropping the run parameters after a failed build failed")
        raise
    return end_build(settings, plan, steps)


def plan_build(
    settings: Settings,
    full_refresh: bool = False,
    load_date: date | None = None,
    docs: bool = True,
    tests: bool = True,
    reuse_views: bool = True,
) -> dict[str, Any]:
    """Decide what :func:`run_build` runs (the rules in its docstring), without running it:
    a JSON-serialisable plan (an Airflow XCom) for :func:`begin_build`, the dbt commands
    (``args``, or :func:`model_args` per model) and :func:`end_build`. ``reuse_views``
    false: the views are created again whatever the last build left (the per-model tasks
    build every model)."""
    finish_interrupted_swaps(settings.extracted_dir)
    _check_sources(settings)
    settings.build_db.parent.mkdir(parents=True, exist_ok=True)
    if settings.dbt_recheck not in ("changed", "always"):
        raise ValueError(f"dbt_recheck must be 'changed' or 'always', not {settings.dbt_recheck!r}")
    fingerprint = project_fingerprint(settings)
    last = last_build(settings)
    partitions = partition_digests(settings)
    forced = None
    if not full_refresh and settings.build_db.exists():
        forced = _forced_refresh(last, fingerprint, settings, partitions)
    full_refresh = full_refresh or forced is not None
    # unit tests and docs already ran for exactly this project (a full refresh keeps that)
    ran_for_project = (
        last is not None and last.get("fingerprint") == fingerprint and last.get("checked") is True
    )
    checked = (
        settings.dbt_recheck == "changed"
        and not full_refresh
        and ran_for_project
        and (target_dir(settings) / "catalog.json").is_file()
    )
    done = date.fromisoformat(last["load_date"]) if last and last.get("load_date") else None
    run_date = load_date
    if load_date is not None and done is not None and not full_refresh:
        run_date = min(load_date, done + timedelta(days=1))  # a failed night is re-read
    views = views_key(settings, fingerprint)
    keep_views = checked and last is not None and last.get("views_key") == views
    keep_views = keep_views and reuse_views and _views_present(settings)
    # a first build of the file rebuilds everything, like a full refresh
    rebuild = full_refresh or not settings.build_db.exists()
    args = ["build" if tests else "run"]
    if full_refresh:
        args.append("--full-refresh")
    if tests and checked:
        args += ["--exclude-resource-type", "unit_test"]
    if keep_views:
        args += ["--select", *KEEP_VIEWS_SELECTION[: 3 if tests else 2]]
    if not tests:
        gate_twins = "not run (no data tests)"
    elif rebuild:
        gate_twins = "run"
    else:
        gate_twins = "left to the quality gate"
        args += ["--exclude", f"tag:{GATE_TWIN_TAG}"]
    # Source-level data tests read only the partitions this build adds when every earlier
    # one passed them in an earlier successful build of this file (same project).
    tests_from = run_date if checked and done is not None else None
    newest = max((d for d in (done, load_date) if d is not None), default=None)
    return {
        "args": args,
        "threads": dbt_threads(settings, rebuild),
        "full_refresh": full_refresh,
        "full_refresh_reason": forced,
        "tests": tests,
        "unit_tests": tests and not checked,
        "gate_twin_tests": gate_twins,
        "keep_views": keep_views,
        "docs": ("reused" if checked else "generated") if docs else "skipped",
        "load_date": load_date.isoformat() if load_date else None,
        "run_load_date": run_date.isoformat() if run_date else None,
        "tests_from": tests_from.isoformat() if tests_from else None,
        "partitions": partitions,
        "record": {
            "fingerprint": fingerprint,
            "views_key": views,
            "checked": ran_for_project or (tests and docs),
            "load_date": newest.isoformat() if newest else None,
        },
    }


def model_args(plan: dict[str, Any], model: str) -> list[str]:
    """The dbt command that builds one model of ``plan`` with its tests (the per-model
    Airflow tasks): a test runs with the last of its parents (``buildable``)."""
    args = ["build" if plan["tests"] else "run", "--select", model]
    if plan["tests"]:
        args += ["--indirect-selection", "buildable"]
    if plan["full_refresh"]:
        args.append("--full-refresh")
    if plan["tests"] and not plan["unit_tests"]:
        args += ["--exclude-resource-type", "unit_test"]
    if plan["gate_twin_tests"] == "left to the quality gate":
        args += ["--exclude", f"tag:{GATE_TWIN_TAG}"]
    return args


def build_model(
    settings: Settings, plan: dict[str, Any], model: str, invoker: DbtInvoker | None = None
) -> dict[str, Any]:
    """One model of ``plan`` (a per-model Airflow task): its dbt command, with the run's
    dates in the build file first, so a retry or a cleared task finds them; a failure drops
    them again, as :func:`run_build` does, so no dbt command run by hand later reads them."""
    write_run_params(settings, _day(plan["run_load_date"]), _day(plan["tests_from"]))
    try:
        return run_dbt(settings, *model_args(plan, model), invoker=invoker)
    except BaseException:
        try:
            write_run_params(settings, None)
        except Exception:  # dbt's error is the one to report
            log.exception("dropping the run parameters after a failed model failed")
        raise


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def begin_build(settings: Settings, plan: dict[str, Any]) -> None:
    """Before dbt runs: the run's dates into the build file (:func:`write_run_params`), and,
    for an incremental build, what it is about to read. An incremental build that fails
    half-way may already hold rows of them; a full refresh records them in
    :func:`end_build`, so one that fails half-way leaves the record that forces it again."""
    write_run_params(settings, _day(plan["run_load_date"]), _day(plan["tests_from"]))
    if not plan["full_refresh"]:
        _record_read_partitions(settings, plan["partitions"])


def _record_models(settings: Settings) -> None:
    """Write :data:`MODELS_NAME` from the manifest the build just wrote (logged, not
    raised, when it cannot: only the opt-in per-model DAG reads it)."""
    from kznews.dbtgraph import models_from_manifest

    try:
        manifest = json.loads((target_dir(settings) / "manifest.json").read_text("utf-8"))
        text = json.dumps(models_from_manifest(manifest))
        write_text_atomic(target_dir(settings) / MODELS_NAME, text)
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("could not write %s", target_dir(settings) / MODELS_NAME, exc_info=True)


def end_build(
    settings: Settings, plan: dict[str, Any], steps: list[dict[str, Any]]
) -> dict[str, Any]:
    """After every dbt command of ``plan`` succeeded: drop the run's dates from the build
    file, record the build (:func:`last_build`) and what a full refresh read; returns
    :func:`run_build`'s summary."""
    write_run_params(settings, None)
    if plan["full_refresh"]:
        _record_read_partitions(settings, plan["partitions"])
    # what the build file now holds, for kznews.publish to record with what it publishes,
    # and every date a successful build of it ever read (see built_dates)
    record = {**plan["record"], "read": plan["partitions"],
              "built_dates": sorted(built_dates(settings) | set(plan["partitions"]))}
    (target_dir(settings) / LAST_BUILD_NAME).write_text(json.dumps(record), encoding="utf-8")
    _record_models(settings)
    return {
        "build_db": str(settings.build_db),
        "docs_dir": str(target_dir(settings)),
        "docs": plan["docs"],
        "unit_tests": "run" if plan["unit_tests"] else "skipped (project unchanged)",
        "extracted_dir": str(settings.extracted_dir),
        "full_refresh": plan["full_refresh"],
        "full_refresh_reason": plan["full_refresh_reason"],
        "views": "kept (project and paths unchanged)" if plan["keep_views"] else "created",
        "source_tests_from": plan["tests_from"] or "every partition",
        "gate_twin_tests": plan["gate_twin_tests"],
        "threads": plan["threads"],
        "load_date": plan["load_date"],
        "run_load_date": plan["run_load_date"],
        "mart_rows": mart_row_counts(settings.build_db),
        "dbt": steps,
    }


def build(
    settings: Settings,
    full_refresh: bool = False,
    load_date: date | None = None,
    invoker: DbtInvoker | None = None,
) -> dict[str, Any]:
    """Build the warehouse into ``settings.build_db`` and generate dbt docs.

    Runs ``dbt build`` (models, unit tests and data tests; ``--full-refresh`` rebuilds the
    incremental models from every partition) and ``dbt docs generate``. ``load_date`` tells
    the incremental models which partition is new (they also re-read anything newer).
    Returns ``build_db``, ``docs_dir`` (dbt's target/ with index.html) and ``mart_rows``.
    Raises :class:`WarehouseBuildError` naming the failing models and tests.
    """
    return run_build(
        settings, full_refresh=full_refresh, load_date=load_date, docs=True, invoker=invoker
    )
