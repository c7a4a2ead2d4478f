"""The nightly DAG under a real scheduler, for ``bench_pipeline.py --scheduler-sizes``.

``airflow dags test`` runs every task in one process, one after another, so it cannot show
whether the extraction shards (mapped tasks) use both cores. This runs the production shape
instead: PostgreSQL metadata database, CeleryExecutor over Redis, the api-server, scheduler,
dag-processor and one Celery worker (concurrency 2, one slot per core) as separate
processes, runs triggered over the REST API. It reuses the deployment tests' harness
(``tests/deploy/kz_airflow_harness.py``). ``preload=True`` gives the worker the Celery
settings docker-compose.yaml ships (``kznews.celery_config``: the worker imports
``kznews.preload`` once, and its forked tasks start with Great Expectations loaded);
``preload=False`` is Airflow's default Celery settings.

Per night: the run's wall time (the run's own start and end, from the API), the seconds each
stage reports (the summary task's file), when each extraction shard ran (so whether shards ran
side by side), and the peak of the summed RSS of all Airflow processes with their task
processes (sampled every 0.2 s; forked processes share pages, which the sum counts once per
process, so it is an upper bound). Needs PostgreSQL on 127.0.0.1:5432 (trust) and Redis on
6379, as on the development machines and CI; where they are missing the result says why and
the report says the table was not run.

Run on its own, it measures one scheduler setting instead (section "## Scheduler idle sleep"
of docs/benchmarks.md)::

    .venv/bin/python scripts/bench_scheduler.py --idle-sleep 1 0.25 0.1

For each value of ``[scheduler] scheduler_idle_sleep_time`` (Airflow's default: 1 s): the
CPU the idle deployment uses (no run active, 30 s; each Airflow process with its children,
and the PostgreSQL server), then a full and a nightly run of a 10,000-page site. The
scheduler sleeps that long whenever a loop found nothing to do, so each hand-off from a
finished task to the next waits for it; a shorter sleep runs the loop, and its queries, more
often all day.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_HOST, PG_PORT, REDIS_PORT = "127.0.0.1", 5432, 6379
DB_NAME = "kznews_bench_scheduler"
QUEUE = "kznews_bench"  # a queue of its own: no other worker picks its tasks
WORKER_CONCURRENCY = 2  # one task slot per core of the 2-core development machines


def _harness():
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "deploy"))
    import kz_airflow_harness

    return kz_airflow_harness


def _admin_connection():
    return _harness().postgres_admin(PG_HOST, PG_PORT)


def unavailable() -> str | None:
    """Why this benchmark cannot run here, or None."""
    h = _harness()
    if not h.reachable(PG_HOST, PG_PORT):
        return f"PostgreSQL not reachable on {PG_HOST}:{PG_PORT}"
    if not h.reachable(PG_HOST, REDIS_PORT):
        return f"Redis not reachable on {PG_HOST}:{REDIS_PORT}"
    try:
        import airflow.providers.celery  # noqa: F401
        import psycopg2  # noqa: F401
    except ImportError as err:
        return f"not installed: {err.name}"
    try:
        _admin_connection()[0].close()
    except RuntimeError as err:
        return str(err)
    return None


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _max_parallel(intervals: list[tuple[datetime, datetime]]) -> tuple[int, float]:
    """Most intervals open at once, and the seconds during which two or more were open."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals],
                    key=lambda x: (x[0], x[1]))
    best = n = 0
    both = 0.0
    prev = None
    for t, step in events:
        if prev is not None and n >= 2:
            both += (t - prev).total_seconds()
        n += step
        best = max(best, n)
        prev = t
    return best, both


def _tree_sum(pids: list[int], measure: Callable[[Any], float]) -> float:
    """``measure`` summed over these processes and all their children; a process that is
    gone (or goes while it is read) counts as nothing."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            continue
        for p in procs:
            with contextlib.suppress(psutil.Error):
                total += measure(p)
    return total


def _tree_rss(pids: list[int]) -> int:
    return int(_tree_sum(pids, lambda p: p.memory_info().rss))


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes and all their children."""
    return _tree_sum(pids, lambda p: sum(p.cpu_times()[:2]))  # user, system


def _postgres_pids() -> list[int]:
    import psutil

    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]


def idle_cpu(af, seconds: float = 30.0) -> dict[str, float]:
    """Percent of one core each Airflow process and the PostgreSQL server (every
    ``postgres`` process of the machine) used over ``seconds`` with no run: the processes
    and their children alive at both ends (a child that exits in between, such as a
    dag-processor's parse process, is not counted: a lower bound)."""
    groups = {name: [proc.pid] for name, proc in af.procs.items()}
    groups["PostgreSQL server"] = _postgres_pids()
    before = {name: _cpu_seconds(pids) for name, pids in groups.items()}
    t0 = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - t0
    return {name: round(100 * (_cpu_seconds(pids) - before[name]) / elapsed, 1)
            for name, pids in groups.items()}


def run_nights(work: Path, nights: list[tuple[str, Path, str]], preload: bool = True,
               timeout: float = 3600, extra_env: dict[str, str] | None = None,
               idle_s: float = 0.0) -> dict:
    """Start the deployment under ``work``, run each (name, source, load date) night in turn,
    stop everything. Returns ``{name: measurements}`` or ``{"skipped": reason}``.
    ``extra_env``: more Airflow settings; ``idle_s`` > 0: first measure :func:`idle_cpu`
    over that many seconds (key ``idle_cpu``)."""
    reason = unavailable()
    if reason:
        return {"skipped": reason}
    h = _harness()
    con, user = _admin_connection()
    with con.cursor() as cur:
        cur.execute(f'drop database if exists "{DB_NAME}" with (force)')
        cur.execute(f'create database "{DB_NAME}"')
    url = f"{user}@{PG_HOST}:{PG_PORT}/{DB_NAME}"
    af = h.LiveAirflow(work, {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{url}",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{PG_HOST}:{REDIS_PORT}/8",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{url}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": QUEUE,
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        **({"AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "kznews.celery_config.CELERY_CONFIG"}
           if preload else {}),
        **(extra_env or {}),
    })
    out: dict = {"worker_concurrency": WORKER_CONCURRENCY, "preload": preload}
    try:
        af.prepare()
        af.start("api-server", "api-server")
        af.start("scheduler", "scheduler")
        af.start("dag-processor", "dag-processor")
        af.start("celery-worker", "celery", "worker", "--queues", QUEUE,
                 "--concurrency", str(WORKER_CONCURRENCY))
        af.wait_ready()
        af.wait_dag("kznews_nightly")
        af.unpause("kznews_nightly")
        if idle_s > 0:
            time.sleep(10)  # the start-up's own work (first parses, worker pool) settles
            out["idle_cpu"] = idle_cpu(af, idle_s)
        for name, source, load_date in nights:
            out[name] = _one_night(af, work, source, load_date, timeout)
            m = out[name]
            print(f"    celery ({'preload' if preload else 'default'}) {name}: wall "
                  f"{m['wall']:.1f} s, stages {m['stages']}, shards at once "
                  f"{m['shards_at_once']}", flush=True)
    finally:
        af.stop()
        with con.cursor() as cur:
            cur.execute(f'drop database if exists "{DB_NAME}" with (force)')
        con.close()
    return out


def _one_night(af, work: Path, source: Path, load_date: str, timeout: float) -> dict:
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss([p.pid for p in af.procs.values()]))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        run_id = af.trigger("kznews_nightly", {"source": str(source), "load_date": load_date})
        run = af.wait_run("kznews_nightly", run_id, timeout=timeout)
    finally:
        done.set()
        sampler.join()
    if run["state"] != "success":
        raise RuntimeError(f"run {run_id} ended {run['state']}\n{af.logs_tail()}")
    _status, body = af.request(
        "GET", f"/api/v2/dags/kznews_nightly/dagRuns/{run_id}/taskInstances?limit=200")
    tis = body["task_instances"]
    shards = [(_ts(t["start_date"]), _ts(t["end_date"])) for t in tis
              if t["task_id"].endswith("extract_shard") and t["start_date"] and t["end_date"]]
    at_once, both_s = _max_parallel(shards)
    summary = json.loads(
        (work / "data" / "state" / "airflow" / f"summary_{load_date}.json").read_text())
    stages = {k: float(v or 0) for k, v in summary["timings_s"].items()}
    wall = (_ts(run["end_date"]) - _ts(run["start_date"])).total_seconds()
    return {
        "wall": wall,
        "stages": stages,
        "overhead": wall - sum(stages.values()),
        "shards": len(shards),
        "shards_at_once": at_once,
        "shards_overlap_s": both_s,
        "shard_s": [(e - s).total_seconds() for s, e in shards],
        "tree_mb": peak / 2**20,
        "tasks": len(tis),
    }


# --- the scheduler's idle sleep ---------------------------------------------------------------

SECTION_IDLE = "## Scheduler idle sleep"
IDLE_SETTING = "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME"


def idle_report(rows: list[dict], pages: dict, command: str) -> str:
    """The "## Scheduler idle sleep" section: one row per setting."""
    import os
    import platform

    lines = [
        f"Command: `{command}` on {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {datetime.now().date().isoformat()}. The deployment "
        "of the Celery table in \"End to end\" (worker preload on), with "
        "`[scheduler] scheduler_idle_sleep_time` set to each value (Airflow's default: 1). "
        "Idle: percent of one core used over "
        f"{rows[0]['idle_s']:.0f} s with no run active (each process with its children alive "
        "at both ends, so a lower bound; PostgreSQL: every server process of the machine). "
        "Then a full run of "
        f"{pages['night1.warc.gz_pages']:,} pages and a nightly run of "
        f"{pages['night2.warc.gz_pages']:,} (+1% articles), as in \"Incremental nightly run\"; "
        "overhead = wall − the seconds the stages report.",
        "",
        "| idle sleep s | idle CPU % scheduler | idle CPU % PostgreSQL | idle CPU % all "
        "| full run wall s | full run overhead s | nightly wall s | nightly overhead s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['sleep']} | not run: {r['skipped']} |  |  |  |  |  |  |")
            continue
        idle, full, night = r["idle_cpu"], r["full"], r["nightly"]
        lines.append(
            f"| {r['sleep']} | {idle.get('scheduler', 0):.1f} | "
            f"{idle.get('PostgreSQL server', 0):.1f} | {sum(idle.values()):.1f} | "
            f"{full['wall']:.1f} | {full['overhead']:.1f} | {night['wall']:.1f} | "
            f"{night['overhead']:.1f} |"
        )
    lines += ["", "docker-compose.yaml keeps Airflow's default; why: docs/airflow.md "
              "(\"What a hand-off between tasks costs\")."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="The scheduler's idle sleep: idle CPU against "
                                 "the nightly run's wall time, under Celery.")
    ap.add_argument("--idle-sleep", type=float, nargs="+", required=True,
                    help="values of [scheduler] scheduler_idle_sleep_time, in seconds")
    ap.add_argument("--pages", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--idle-seconds", type=float, default=30.0)
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--json", type=Path, default=None, help="also write raw results here")
    args = ap.parse_args(argv)
    raw = argv if argv is not None else sys.argv[1:]  # --json/--no-write: where it goes
    shown = [a for i, a in enumerate(raw)
             if a not in ("--no-write", "--json") and (i == 0 or raw[i - 1] != "--json")]
    command = " ".join([".venv/bin/python scripts/bench_scheduler.py", *shown])
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench_pipeline
    from benchdoc import write_section

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="kznews-bench-idle-") as tmp:
        site = Path(tmp) / "site"
        pages = bench_pipeline.generate(args.pages, args.seed, site)
        nights = [("full", site / "night1.warc.gz", bench_pipeline.NIGHT1),
                  ("nightly", site / "night2.warc.gz", bench_pipeline.NIGHT2)]
        for sleep in args.idle_sleep:
            work = Path(tmp) / f"idle-{sleep}"
            res = run_nights(work, nights, extra_env={IDLE_SETTING: str(sleep)},
                             idle_s=args.idle_seconds)
            rows.append({"sleep": sleep, "idle_s": args.idle_seconds, **res})
            if args.json:
                args.json.write_text(json.dumps({"pages": pages, "rows": rows}, default=str))
            print(f"idle sleep {sleep}: {res.get('idle_cpu') or res.get('skipped')}", flush=True)
    text = idle_report(rows, pages, command)
    print("\n" + text)
    if not args.no_write:
        write_section(SECTION_IDLE, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
