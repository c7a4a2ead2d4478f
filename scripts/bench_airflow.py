"""Airflow benchmark: DAG parse time and Airflow's overhead on a nightly run over the sample.

    .venv/bin/python scripts/bench_airflow.py [--repeat 5] [--date 2026-11-20] [--skip-run]

1. Parse time, each in a fresh interpreter (what the dag-processor pays per file):
   ``import airflow.sdk``, then executing the DAG file, and a DagBag fill of dags/.
2. Overhead: ``airflow dags test kznews_nightly`` (SQLite, temporary AIRFLOW_HOME and data
   folders; ``db migrate`` not timed) versus the stages' own time (the ``seconds`` each task
   reports) and versus ``kznews.pipeline.run_pipeline`` without Airflow on the same input.
Prints a small table; paste it into docs/benchmarks.md under "## Airflow".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"
VENV_BIN = Path(sys.executable).parent
AIRFLOW = str(VENV_BIN / "airflow")

PARSE_SNIPPET = """
import json, runpy, sys, time
t0 = time.perf_counter(); import airflow.sdk; t1 = time.perf_counter()
runpy.run_path(sys.argv[1]); t2 = time.perf_counter()
print(json.dumps({"airflow_import": t1 - t0, "dag_file": t2 - t1}))
"""
DAGBAG_SNIPPET = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
t0 = time.perf_counter(); bag = DagBag(dag_folder=sys.argv[1]); t1 = time.perf_counter()
assert not bag.import_errors, bag.import_errors
print(json.dumps({"dagbag": t1 - t0, "dags": len(bag.dags)}))
"""


def _env(home: Path, work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "KZNEWS_"))}
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Almaty",
            "KZNEWS_HOME": str(ROOT),
            "KZNEWS_DATA_DIR": str(work / "data"),
            "KZNEWS_WAREHOUSE_DIR": str(work / "warehouse"),
            "KZNEWS_AIRFLOW_RETRIES": "0",
        }
    )
    return env


def _json_run(args: list[str], env: dict[str, str]) -> dict:
    out = subprocess.run(  # noqa: S603 - fixed argv, no shell
        args, env=env, capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_parse(repeat: int, env: dict[str, str]) -> dict[str, float]:
    figures: dict[str, list[float]] = {}
    for _ in range(repeat):
        for path in sorted(DAGS.glob("*.py")):
            t0 = time.perf_counter()
            r = _json_run([sys.executable, "-c", PARSE_SNIPPET, str(path)], env)
            figures.setdefault(f"{path.name}: interpreter+airflow+file", []).append(
                time.perf_counter() - t0
            )
            figures.setdefault(f"{path.name}: DAG file only", []).append(r["dag_file"])
            figures.setdefault("import airflow.sdk", []).append(r["airflow_import"])
        r = _json_run([sys.executable, "-c", DAGBAG_SNIPPET, str(DAGS)], env)
        figures.setdefault("DagBag fill of dags/ (after imports)", []).append(r["dagbag"])
    return {k: statistics.median(v) for k, v in figures.items()}


def bench_run(load_date: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="kznews-bench-airflow-") as tmp:
        work = Path(tmp)
        env = _env(work / "airflow_home", work)
        # Fixed argv, no shell (S603).
        subprocess.run(  # noqa: S603
            [AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True
        )
        subprocess.run(  # noqa: S603
            [AIRFLOW, "pools", "set", "kznews_duckdb", "1", "bench"],
            env=env,
            check=True,
            capture_output=True,
        )
        t0 = time.perf_counter()
        proc = subprocess.run(  # noqa: S603
            [AIRFLOW, "dags", "test", "kznews_nightly", load_date, "-c",
             json.dumps({"load_date": load_date, "full_refresh": True})],
            env=env, capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
        airflow_wall = time.perf_counter() - t0
        log = proc.stdout + proc.stderr
        if "state=success" not in log:
            tail = "\n".join(log.splitlines()[-40:])
            raise SystemExit(f"airflow dags test did not succeed:\n{tail}")
        summary = json.loads(
            (work / "data" / "state" / "airflow" / f"summary_{load_date}.json").read_text()
        )
        stages = {k: float(v or 0) for k, v in summary["timings_s"].items()}

        # The same stages without Airflow, on fresh folders.
        plain = work / "plain"
        code = (
            "import json, sys, time\n"
            "from datetime import date\n"
            "from kznews.pipeline import run_pipeline\n"
            "t0 = time.perf_counter()\n"
            "s = run_pipeline(sys.argv[1], date.fromisoformat(sys.argv[2]), full_refresh=True)\n"
            "print(json.dumps({'wall': time.perf_counter() - t0, 'stages': s['timings_s']}))\n"
        )
        t0 = time.perf_counter()
        plain_out = _json_run(
            [sys.executable, "-c", code, str(ROOT / "sample"), load_date], _env(plain, plain)
        )
        plain_process_wall = time.perf_counter() - t0
    stage_sum = sum(stages.values())
    return {
        "airflow dags test wall (s)": airflow_wall,
        "sum of stage seconds inside Airflow (s)": stage_sum,
        "Airflow overhead = wall - stages (s)": airflow_wall - stage_sum,
        "run_pipeline without Airflow, in-process (s)": plain_out["wall"],
        "run_pipeline without Airflow, incl. interpreter start (s)": plain_process_wall,
        **{f"stage {k} (s)": v for k, v in stages.items()},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--date", default="2026-11-20")
    ap.add_argument("--skip-run", action="store_true", help="parse times only")
    args = ap.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="kznews-bench-parse-") as tmp:
        parse = bench_parse(args.repeat, _env(Path(tmp), Path(tmp)))
    print(f"\nDAG parse (median of {args.repeat}, fresh interpreter each):")
    for name, value in parse.items():
        print(f"  {name:<58} {value:7.3f} s")
    worst = max(v for k, v in parse.items() if k.endswith("DAG file only"))
    print(f"  target < 2 s per DAG file: {'OK' if worst < 2 else 'MISSED'} (worst {worst:.3f} s)")
    if not args.skip_run:
        run = bench_run(args.date)
        print(f"\nNightly run over sample/ (load date {args.date}, full refresh, SQLite):")
        for name, value in run.items():
            print(f"  {name:<58} {value:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
