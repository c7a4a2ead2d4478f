# ruff: noqa: S603  (a benchmark: runs this environment's own interpreter and airflow CLI)
"""End-to-end benchmark: land -> extract -> dbt build -> quality gate -> publish, at scale.

    .venv/bin/python scripts/bench_pipeline.py                      # what `make bench` runs
    .venv/bin/python scripts/bench_pipeline.py --sizes 1000 --airflow-sizes 1000 --no-write

For every size N (default 1,000, 10,000 and 100,000 pages) the synthetic site generator
(``kznews.sitegen``) writes two WARC files in a temporary folder:

* ``night1.warc.gz``: a site of ~N pages whose newest articles (1% of N) are not published yet
  (``Site.visible_old`` / ``visible_wp``): the first, full run;
* ``night2.warc.gz``: the next night as the incremental crawler emits it
  (``crawl_listing_depth="new"``, :mod:`kznews.sitegen.nightly`; ``tests/acquire`` checks the
  real crawler fetches exactly these pages): the new article pages (1% of N), both home
  pages, and each rubric's and category's pager walked from its head until a page lists no
  new article (they all changed: new items on top, that day's rates and ticker). Known
  article pages are answered 304 and are not emitted.

Then, on fresh data and warehouse folders under the same temporary folder:

1. outside Airflow, each stage of :mod:`kznews.pipeline` in its own fresh Python process (so
   imports are counted, as in an Airflow task, and peak RSS is per stage): night 1 with load
   date 2026-11-21 (the full run), then night 2 with load date 2026-11-22 (the nightly run);
2. through Airflow for the sizes in ``--airflow-sizes``: ``airflow dags test kznews_nightly``
   with a temporary AIRFLOW_HOME (SQLite) over the same WARCs and load dates (params
   ``source`` and ``load_date``), night 1 then night 2;
3. under a real scheduler for the sizes in ``--scheduler-sizes`` (:mod:`bench_scheduler`):
   CeleryExecutor, PostgreSQL and Redis, one worker with two task slots, runs triggered over
   REST, so the mapped extraction shards can run side by side; skipped, with the reason in the
   output, where PostgreSQL or Redis is not running.

Per stage: wall time, CPU time (user + system of the process and every process it waited for:
extraction workers, the dbt subprocess), peak RSS of the largest single process (``wait4``) and
of the whole process tree (sampled every 0.1 s), pages/s. Results go to the "## End to end" and
"## Incremental nightly run" sections of docs/benchmarks.md (other sections are left alone).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bench_scheduler
from benchdoc import write_section

from kznews.pipeline import STAGES

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
AIRFLOW = str(VENV_BIN / "airflow")
NIGHT1, NIGHT2 = "2026-11-21", "2026-11-22"
SECTION_E2E = "## End to end"
SECTION_INC = "## Incremental nightly run"
MARK = "@@KZNEWS-BENCH@@"

_STAGE_CHILD = r"""
import json, sys, time
from datetime import date
stage, load_date, source = sys.argv[1], date.fromisoformat(sys.argv[2]), sys.argv[3]
t0 = time.perf_counter()
from kznews import pipeline
out = pipeline.run_stage(stage, source, load_date)
if stage == "quality":
    out = {k: out.get(k) for k in ("success", "evaluated", "warnings", "stages", "seconds")}
print("@@KZNEWS-BENCH@@" + json.dumps({"inner_s": time.perf_counter() - t0, "out": out},
                                      default=str))
"""

# The whole night in one process: what `python -m kznews run` calls (kznews.__main__.cmd_run).
_RUN_CHILD = r"""
import json, sys, time
from datetime import date
source, load_date = sys.argv[1], date.fromisoformat(sys.argv[2])
t0 = time.perf_counter()
from kznews.pipeline import run_pipeline
out = run_pipeline(source, load_date)
print("@@KZNEWS-BENCH@@" + json.dumps({"inner_s": time.perf_counter() - t0, "out": {
    "timings_s": out["timings_s"], "overlap": out.get("overlap"),
    "build_threads": out["build"]["threads"], "publish_mode": out["publish"]["mode"],
    "quality_success": out["quality"]["success"]}}, default=str))
"""


# --- generating the two nights ---------------------------------------------------------------


def _visible(site, key: tuple) -> bool:
    kind = key[0]
    if kind == "old_listing":
        return key[2] <= site.rubric_pages(key[1])
    if kind == "old_article":
        return key[1] < site.visible_old
    if kind == "wp_category":
        return key[2] <= site.category_pages(key[1])
    if kind == "wp_article":
        return key[1] < site.visible_wp
    return True


def generate(n: int, seed: int, out: Path, growth: float = 0.01) -> dict:
    """Write night1.warc.gz (~n pages) and night2.warc.gz (new + changed pages) under out."""
    from kznews.acquire.warc import WarcSink
    from kznews.sitegen import Site, render_page
    from kznews.sitegen.nightly import nightly_keys

    site = Site(seed=seed, pages=round(n * (1 + growth)))
    new = max(1, round(n * growth))
    new_old = round(new * site.n_old / max(site.n_old + site.n_wp, 1))
    cut_old, cut_wp = site.n_old - new_old, site.n_wp - (new - new_old)
    keys = list(site.page_keys())
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}

    def write(name: str, wanted) -> None:
        sink = WarcSink(out / name, info={"software": "kznews bench_pipeline", "seed": str(seed)},
                        created=site.capture_start)
        pages = size = 0
        try:
            for k, key in enumerate(keys):
                if not _visible(site, key) or not wanted(key):
                    continue
                page = render_page(site, key, k)
                sink.write(page.to_record())
                pages += 1
                size += len(page.body)
        finally:
            sink.close()
        counts[f"{name}_pages"] = pages
        counts[f"{name}_html_mb"] = round(size / 1e6, 1)

    t0 = time.perf_counter()
    site.visible_old, site.visible_wp = cut_old, cut_wp
    write("night1.warc.gz", lambda key: True)
    # The next night: everything published, fetched five days later within two hours.
    site.visible_old, site.visible_wp = site.n_old, site.n_wp
    site.capture_start = site.capture_start + timedelta(days=5)
    site.capture_span = timedelta(hours=2)

    fetched = set(nightly_keys(site, cut_old, cut_wp))  # what the crawler fetches that night
    write("night2.warc.gz", fetched.__contains__)
    counts["new_articles"] = new
    counts["generate_s"] = round(time.perf_counter() - t0, 1)
    (out / "generated.json").write_text(json.dumps(counts), encoding="utf-8")
    return counts


# --- measuring one process -------------------------------------------------------------------


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def measure(argv: list[str], env: dict[str, str], log: Path) -> dict:
    """Run argv; wall, CPU (incl. waited-for descendants), peak RSS (largest process, tree)."""
    peak_tree = 0
    done = threading.Event()
    with log.open("w", encoding="utf-8") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)

        def sample() -> None:
            nonlocal peak_tree
            while not done.is_set():
                peak_tree = max(peak_tree, _tree_rss(proc.pid))
                done.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text(encoding="utf-8", errors="replace")
    result = None
    for line in text.splitlines():
        if line.startswith(MARK):
            result = json.loads(line[len(MARK):])
    return {
        "rc": proc.returncode,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
        "tree_mb": peak_tree / 2**20,
        "result": result,
        "log": str(log),
    }


def _fail(what: str, m: dict) -> None:
    tail = "\n".join(Path(m["log"]).read_text(errors="replace").splitlines()[-40:])
    raise SystemExit(f"{what} failed (exit {m['rc']}):\n{tail}")


def _kz_env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "KZNEWS_"))}
    env.update({
        "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        "KZNEWS_HOME": str(ROOT),
        "KZNEWS_DATA_DIR": str(work / "data"),
        "KZNEWS_WAREHOUSE_DIR": str(work / "warehouse"),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def run_plain(work: Path, warc: Path, load_date: str) -> dict[str, dict]:
    """Every stage in its own fresh process; returns per-stage measurements."""
    env = _kz_env(work)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    out = {}
    for stage in STAGES:
        m = measure([sys.executable, "-c", _STAGE_CHILD, stage, load_date, str(warc)], env,
                    work / "logs" / f"{load_date}-{stage}.log")
        if m["rc"] != 0 or m["result"] is None:
            _fail(f"stage {stage} ({load_date})", m)
        out[stage] = m
        print(f"    {stage:<8} wall {m['wall']:7.1f} s  cpu {m['cpu']:7.1f} s  "
              f"peak {m['peak_mb']:6.0f} MB  tree {m['tree_mb']:6.0f} MB", flush=True)
    return out


def run_one(work: Path, warc: Path, load_date: str) -> dict:
    """The night in one process (`python -m kznews run`); on an incremental night it starts
    dbt and Great Expectations in helper processes (kznews.overlap), counted in CPU and in
    the tree's peak RSS."""
    env = _kz_env(work)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    m = measure([sys.executable, "-c", _RUN_CHILD, str(warc), load_date], env,
                work / "logs" / f"{load_date}-run.log")
    if m["rc"] != 0 or m["result"] is None:
        _fail(f"kznews run ({load_date})", m)
    print(f"    run      wall {m['wall']:7.1f} s  cpu {m['cpu']:7.1f} s  "
          f"peak {m['peak_mb']:6.0f} MB  tree {m['tree_mb']:6.0f} MB  "
          f"{m['result']['out']['timings_s']}", flush=True)
    return m


def _airflow_env(work: Path) -> dict[str, str]:
    env = _kz_env(work)
    env.update({
        "AIRFLOW_HOME": str(work / "airflow_home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Almaty",
        "KZNEWS_AIRFLOW_RETRIES": "0",
        "KZNEWS_NIGHTLY_SCHEDULE": "off",
    })
    return env


def airflow_init(work: Path) -> None:
    env = _airflow_env(work)
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([AIRFLOW, "pools", "set", "kznews_duckdb", "1", "bench"], env=env,
                   check=True, capture_output=True)


def run_airflow(work: Path, warc: Path, load_date: str) -> dict:
    """``airflow dags test kznews_nightly`` over ``warc`` for ``load_date``."""
    env = _airflow_env(work)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    conf = json.dumps({"source": str(warc), "load_date": load_date})
    m = measure([AIRFLOW, "dags", "test", "kznews_nightly", load_date, "-c", conf], env,
                work / "logs" / f"airflow-{load_date}.log")
    text = Path(m["log"]).read_text(errors="replace")
    if m["rc"] != 0 or not re.search(r"DagRun Finished: .*state=success", text):
        _fail(f"airflow dags test ({load_date})", m)
    summary = json.loads(
        (work / "data" / "state" / "airflow" / f"summary_{load_date}.json").read_text()
    )
    m["stages"] = {k: float(v or 0) for k, v in summary["timings_s"].items()}
    m["workers"] = (summary.get("extract") or {}).get("workers")
    print(f"    airflow  wall {m['wall']:7.1f} s  cpu {m['cpu']:7.1f} s  "
          f"tree {m['tree_mb']:6.0f} MB  stages {m['stages']}", flush=True)
    return m


# --- the start-up floor: what every night pays before touching any data ----------------------

_FLOOR_CHILD = {
    "stage process (Python, kznews, DuckDB, Arrow)": (
        "from kznews import pipeline; import kznews.land, kznews.extract.batch, "
        "kznews.warehouse, kznews.publish, duckdb, pyarrow.parquet"
    ),
    # as the quality stage imports it (kznews.quality.gximport)
    "Great Expectations import": (
        "from kznews.quality.gximport import import_great_expectations; "
        "import_great_expectations()"
    ),
}
#: For comparison, not counted in the floor: GX imported with every module eager.
_EAGER_GX = "Great Expectations import, every module eager (for comparison)"


def _median_wall(argv: list[str], env: dict[str, str], repeat: int = 3) -> float:
    walls = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, env=env, cwd=ROOT, check=True, capture_output=True)
        walls.append(time.perf_counter() - t0)
    return sorted(walls)[len(walls) // 2]


_REFERENCE_LOOP = (
    "import time\nt = time.perf_counter()\ns = 0\n"
    "for i in range(10_000_000):\n    s += i\nprint(time.perf_counter() - t)"
)


def cpu_reference() -> float:
    """Seconds of a 10,000,000-step pure-Python loop (median of 3 fresh processes): how fast
    this machine runs Python, to compare figures measured on different machines."""
    runs = sorted(
        float(subprocess.run([sys.executable, "-c", _REFERENCE_LOOP], check=True,
                             capture_output=True, text=True).stdout)
        for _ in range(3)
    )
    return runs[1]


def startup_floor(work: Path) -> dict[str, float]:
    """Seconds a night pays whatever its data: one stage process start per stage, the GX
    import (quality), dbt's start-up and partial parse (build), medians of 3 runs."""
    env = _kz_env(work)
    out = {name: _median_wall([sys.executable, "-c", code], env)
           for name, code in _FLOOR_CHILD.items()}
    code = ("from kznews.config import load_settings; from kznews.warehouse.runner import "
            "run_dbt; run_dbt(load_settings(), 'parse')")
    out["dbt start-up and partial parse"] = _median_wall([sys.executable, "-c", code], env)
    out[_EAGER_GX] = _median_wall([sys.executable, "-c", "import great_expectations"], env)
    out["total"] = (len(STAGES) * out["stage process (Python, kznews, DuckDB, Arrow)"]
                    + out["Great Expectations import"] + out["dbt start-up and partial parse"])
    return out


# --- one size --------------------------------------------------------------------------------


def bench_size(n: int, seed: int, root: Path, airflow: bool, scheduler: bool = False) -> dict:
    gen_dir = root / f"site-{n}"
    print(f"\n== {n:,} pages: generating (seed {seed})", flush=True)
    code = ("import json, sys; sys.path.insert(0, sys.argv[4]); import bench_pipeline as b; "
            "print(json.dumps(b.generate(int(sys.argv[1]), int(sys.argv[2]), "
            "__import__('pathlib').Path(sys.argv[3]))))")
    gen = json.loads(subprocess.run(
        [sys.executable, "-c", code, str(n), str(seed), str(gen_dir), str(ROOT / "scripts")],
        env=_kz_env(root), check=True, capture_output=True, text=True, cwd=ROOT,
    ).stdout.strip().splitlines()[-1])
    print(f"   {gen}", flush=True)
    res: dict = {"n": n, "gen": gen}
    plain = root / f"plain-{n}"
    print("   outside Airflow, night 1 (full run)", flush=True)
    res["full"] = run_plain(plain, gen_dir / "night1.warc.gz", NIGHT1)
    print("   outside Airflow, night 2 (+1% pages, incremental)", flush=True)
    res["nightly"] = run_plain(plain, gen_dir / "night2.warc.gz", NIGHT2)
    res["published_mb"] = (plain / "warehouse" / "kznews.duckdb").stat().st_size / 1e6
    res["extract_workers"] = res["full"]["extract"]["result"]["out"].get("workers")
    res["marts"] = res["nightly"]["publish"]["result"]["out"].get("mart_rows")
    res["floor"] = startup_floor(plain)
    res["cpu_reference_s"] = cpu_reference()
    print(f"   start-up floor {res['floor']}", flush=True)
    shutil.rmtree(plain, ignore_errors=True)
    one = root / f"one-{n}"
    print("   one process (python -m kznews run), night 1 then night 2", flush=True)
    res["one_full"] = run_one(one, gen_dir / "night1.warc.gz", NIGHT1)
    res["one_nightly"] = run_one(one, gen_dir / "night2.warc.gz", NIGHT2)
    shutil.rmtree(one, ignore_errors=True)
    if airflow:
        af = root / f"airflow-{n}"
        airflow_init(af)
        print("   through Airflow, night 1 then night 2", flush=True)
        res["airflow_full"] = run_airflow(af, gen_dir / "night1.warc.gz", NIGHT1)
        res["airflow_nightly"] = run_airflow(af, gen_dir / "night2.warc.gz", NIGHT2)
        shutil.rmtree(af, ignore_errors=True)
    if scheduler:
        print("   under a real scheduler (Celery, PostgreSQL, Redis), night 1 then night 2",
              flush=True)
        sch = root / f"scheduler-{n}"
        nights = [("full", gen_dir / "night1.warc.gz", NIGHT1),
                  ("nightly", gen_dir / "night2.warc.gz", NIGHT2)]
        # the shipped worker settings (kznews.celery_config), then Airflow's defaults
        for key, worker in _SCHEDULER_RUNS:
            preload = worker == "preload"
            try:
                res[key] = bench_scheduler.run_nights(sch, nights, preload=preload)
            except Exception as err:  # reported in the table; the other sizes' results are kept
                res[key] = {"skipped": f"failed: {type(err).__name__}: {str(err)[:300]}"}
            shutil.rmtree(sch, ignore_errors=True)
            if "skipped" in res[key]:
                print(f"   skipped: {res[key]['skipped']}", flush=True)
                break
    shutil.rmtree(gen_dir, ignore_errors=True)
    return res


# --- report ----------------------------------------------------------------------------------


def _total(stages: dict[str, dict]) -> dict:
    return {
        "wall": sum(m["wall"] for m in stages.values()),
        "cpu": sum(m["cpu"] for m in stages.values()),
        "peak_mb": max(m["peak_mb"] for m in stages.values()),
        "tree_mb": max(m["tree_mb"] for m in stages.values()),
    }


def _row(name: str, m: dict, pages: int) -> str:
    rate = pages / m["wall"] if m["wall"] else 0
    return (f"| {name} | {m['wall']:.1f} | {m['cpu']:.1f} | {m['peak_mb']:,.0f} | "
            f"{m['tree_mb']:,.0f} | {rate:,.0f} |")


def report(results: list[dict], command: str) -> tuple[str, str]:
    date_s = datetime.now(UTC).strftime("%Y-%m-%d")
    head = (f"Command: `{command}` (what `make bench` runs). Machine: {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, {date_s}. Sites from `kznews.sitegen` "
            "(seeded, both layouts; generation and crawling not timed). Each stage runs in a "
            "fresh Python process (imports included, as in an Airflow task). CPU = user + "
            "system of the stage's process and every process it waited for (extraction "
            "workers, dbt). Peak RSS: largest single process (`wait4`) and the whole process "
            "tree (sampled every 0.1 s). pages/s = landed pages / stage wall.")
    ref = results[-1].get("cpu_reference_s") if results else None
    if ref:
        head += (f" Machine speed reference: a 10,000,000-step pure-Python loop took "
                 f"{ref:.2f} s here (median of 3); compare figures from other machines by it.")
    e2e = [head, ""]
    for r in results:
        pages = r["gen"]["night1.warc.gz_pages"]
        e2e += [
            f"**{pages:,} pages** ({r['gen']['night1.warc.gz_html_mb']:,} MB of HTML, "
            f"extraction workers: {r['extract_workers']}, published file "
            f"{r['published_mb']:.0f} MB), outside Airflow:",
            "",
            "| stage | wall s | CPU s | peak RSS MB (process) | peak RSS MB (tree) | pages/s |",
            "|---|---:|---:|---:|---:|---:|",
            *(_row(s, r["full"][s], pages) for s in STAGES),
            _row("**total**", _total(r["full"]), pages),
            "",
        ]
    af = [r for r in results if "airflow_full" in r]
    if af:
        e2e += [
            "Through Airflow: `airflow dags test kznews_nightly <date> -c '{\"source\": "
            "\"<night1.warc.gz>\", \"load_date\": \"2026-11-21\"}'` with a fresh temporary "
            "AIRFLOW_HOME (SQLite, in-process task runner); stage columns are the seconds each "
            "task reports; overhead = wall − sum of stages.",
            "",
            "| pages | wall s | CPU s | peak RSS MB (tree) | land | extract | build | quality "
            "| publish | Airflow overhead s | pages/s |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in af:
            m, pages = r["airflow_full"], r["gen"]["night1.warc.gz_pages"]
            st = m["stages"]
            e2e.append(
                f"| {pages:,} | {m['wall']:.1f} | {m['cpu']:.1f} | {m['tree_mb']:,.0f} | "
                + " | ".join(f"{st.get(s, 0):.1f}" for s in STAGES)
                + f" | {m['wall'] - sum(st.values()):.1f} | {pages / m['wall']:,.0f} |"
            )
        e2e.append("")
    e2e += _scheduler_table(results)
    e2e += _verdicts(results)
    e2e.append(NOTES_E2E.strip())
    inc = [
        "Same command and machine. Night 2 lands what the incremental crawler fetches the next "
        "night (`crawl_listing_depth=\"new\"`, modelled by `kznews.sitegen.nightly`; "
        "`tests/acquire/test_crawl_nightly.py` checks the real crawler fetches exactly those "
        "pages): the new article pages (1% of the site), both home pages, and each rubric's and "
        "category's pager walked from its head until a page lists no new article. It runs on "
        "top of night 1 with load date 2026-11-22, without `--full-refresh`.",
        "",
        "| pages (night 1 → night 2 landed) | stage | full run wall s | nightly wall s "
        "| nightly / full | full CPU s | nightly CPU s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        label = f"{r['gen']['night1.warc.gz_pages']:,} → {r['gen']['night2.warc.gz_pages']:,}"
        rows = [(s, r["full"][s], r["nightly"][s]) for s in STAGES]
        rows.append(("**total**", _total(r["full"]), _total(r["nightly"])))
        for s, f, n in rows:
            inc.append(f"| {label} | {s} | {f['wall']:.1f} | {n['wall']:.1f} | "
                       f"{n['wall'] / f['wall']:.1%} | {f['cpu']:.1f} | {n['cpu']:.1f} |")
    one = [r for r in results if "one_full" in r]
    if one:
        inc += ["", "The same nights in one process (`python -m kznews run`, what "
                "`make run-local` runs; `kznews.pipeline.run_pipeline`): night 1 runs the "
                "stages one after another; night 2, an incremental build, starts dbt (import "
                "and project parse) and Great Expectations (import, then the landing and "
                "extraction checks while dbt builds) in helper processes while the pages land "
                "(`kznews.overlap`), and writes the new published file while the gate checks "
                "the marts. CPU and peak RSS include the helpers and dbt.", "",
                "| pages (night 1 → night 2 landed) | full run wall s | nightly wall s "
                "| nightly / full | full CPU s | nightly CPU s | peak RSS MB tree (full / "
                "nightly) | nightly: land, extract, build, quality + publish s "
                "| helpers' warm-up s (dbt, GX) |",
                "|---|---:|---:|---:|---:|---:|---:|---|---|"]
        for r in one:
            f, n = r["one_full"], r["one_nightly"]
            t = n["result"]["out"]["timings_s"]
            warm = n["result"]["out"].get("overlap") or {}
            label = f"{r['gen']['night1.warc.gz_pages']:,} → {r['gen']['night2.warc.gz_pages']:,}"
            stages = ", ".join(f"{t.get(k, 0):.1f}" for k in
                               ("land", "extract", "build", "quality+publish"))
            warmed = ", ".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in
                               (warm.get(k, "-") for k in ("dbt_warm_up_s", "gx_warm_up_s")))
            inc.append(f"| {label} | {f['wall']:.1f} | {n['wall']:.1f} | "
                       f"{n['wall'] / f['wall']:.1%} | {f['cpu']:.1f} | {n['cpu']:.1f} | "
                       f"{f['tree_mb']:,.0f} / {n['tree_mb']:,.0f} | {stages} | {warmed} |")
    big = results[-1]
    full_s, night_s = _total(big["full"])["wall"], _total(big["nightly"])["wall"]
    ratio = night_s / full_s
    verdict = {True: "met", False: "missed"}
    inc += ["", f"Target: a nightly run adding 1% new pages costs under 10% of a full run, at "
            f"{big['n']:,} pages:", ""]
    if "one_full" in big:
        of, on = big["one_full"]["wall"], big["one_nightly"]["wall"]
        inc.append(f"* in one process (`python -m kznews run`): **{verdict[on / of < 0.10]}** "
                   f"({on:.2f} s, {on / of:.2%} of the full run's {of:.2f} s);")
    inc.append(f"* with one process per stage (as Airflow runs its tasks): "
               f"**{verdict[ratio < 0.10]}** ({night_s:.2f} s, {ratio:.2%} of the full run's "
               f"{full_s:.2f} s).")
    nightly = ", ".join(f"{_total(r['nightly'])['wall']:.1f} s at "
                        f"{r['gen']['night1.warc.gz_pages']:,}" for r in results)
    inc += ["", f"The nightly cost follows the new pages, not the archive: {nightly} pages "
            "(full runs: " + ", ".join(f"{_total(r['full'])['wall']:.1f} s" for r in results)
            + ")."]
    floor = big.get("floor")
    if floor:
        inc += ["", "Start-up floor (medians of 3 fresh processes, same machine; paid by every "
                "night whatever its data):", "", "| part | s |", "|---|---:|"]
        inc += [f"| {name} | {sec:.2f} |" for name, sec in floor.items()
                if name not in ("total", _EAGER_GX)]
        inc += [f"| **floor of one night** ({len(STAGES)} stage processes + GX + dbt) "
                f"| **{floor['total']:.1f}** |"]
        if _EAGER_GX in floor:  # runs before 2026-11-27 did not measure it
            inc += [f"| {_EAGER_GX} | {floor[_EAGER_GX]:.2f} |"]
        inc += ["",
                f"Above the floor, the {big['n']:,}-page night costs "
                f"{night_s - floor['total']:.1f} s: {(night_s - floor['total']) / full_s:.1%} "
                "of the full run."]
    inc += ["", NOTES_INC.strip()]
    if af:
        inc += ["", "Through Airflow (`airflow dags test`, same WARCs and dates):", "",
                "| pages | full run wall s | nightly wall s | nightly / full |",
                "|---:|---:|---:|---:|"]
        for r in af:
            f, n = r["airflow_full"]["wall"], r["airflow_nightly"]["wall"]
            inc.append(f"| {r['gen']['night1.warc.gz_pages']:,} | {f:.1f} | {n:.1f} | "
                       f"{n / f:.1%} |")
    sch = [r for r in results if _scheduler_runs(r)]
    if sch:
        inc += ["", "Under a real scheduler (Celery, PostgreSQL, Redis; table in \"End to end\"):",
                "", "| pages | worker | full run wall s | nightly wall s | nightly / full |",
                "|---:|---|---:|---:|---:|"]
        for r in sch:
            for worker, m in _scheduler_runs(r):
                f, n = m["full"]["wall"], m["nightly"]["wall"]
                inc.append(f"| {r['gen']['night1.warc.gz_pages']:,} | {worker} | {f:.1f} | "
                           f"{n:.1f} | {n / f:.1%} |")
    return "\n".join(e2e), "\n".join(inc)


#: Findings that do not change from run to run. Figures here are dated one-offs or earlier
#: runs, labelled as such; this run's figures are in the tables the report prints.
NOTES_E2E = """
Notes:

* DuckDB runs with `memory_limit` 1 GB in the dbt build and the publish step
  (`duckdb_memory_limit`, `KZNEWS_DUCKDB_MEMORY_LIMIT`): without it the 100k full build
  peaked at 2,253 MB RSS (an earlier run; DuckDB's default limit is 80% of RAM), spilling to
  disk when needed with it. The full publish (a DuckDB copy of the marts, article bodies
  included: the first night, or after 30% dead space) peaked at 1,371-1,476 MB before it had
  the limit (earlier runs). The full build runs dbt with one thread (`dbt_threads` auto);
  with two, its dbt process peaked at 1,494-1,630 MB (runs of 2026-11-24 and 2026-11-25).
  A nightly build's process holds ~1.1 GB at 100k: DuckDB keeps the blocks the whole-table
  tests read (article bodies among them) in its buffer pool, up to the limit.
* `dbt docs generate --no-compile` after the build when the dbt project changed (the full run
  here; it reuses the manifest the build wrote); a night with the same project keeps the
  catalog and skips the unit tests (`dbt_recheck`).
* Extraction uses both cores through `extract_partition`'s process pool (one shard per core,
  row groups round-robin). In Airflow the same shards are mapped tasks
  (`extract.plan_shards` → `extract.extract_shard` × `KZNEWS_EXTRACT_SHARDS` → `extract.commit`,
  docs/airflow.md). `airflow dags test` runs mapped tasks one after another in one process,
  so its rows use one core for extraction; under a real scheduler (the Celery table) the
  shards run side by side, as its "shards" column shows.
* Extraction hot spots (cProfile of one worker over 2,000 landed pages, 2026-11-25):
  `engine._extract` 73% of the time (listing items `_listing` 25%, `_first` 9%, regex
  substitutions 6%, hashing of cached dataclass keys 7%); the Parquet writers
  (`from_pylist` + `write_table`) 8.5%; reading row groups 5%. The hashing is gone since
  2026-11-26 (`classify_url` caches lookups with the default profiles by URL alone): a
  one-off loop over 3,000 generated pages went from 1,756 to ~1,840 pages/s on one core.
* Peak memory of Airflow (`airflow dags test`, tasks in-process) is 0.6-0.9 GB at 1k and 10k
  pages: the CLI process imports Airflow, GX and dbt's runner once. Under Celery the summed
  RSS of all Airflow processes (api-server, scheduler, dag-processor, worker, tasks) is an
  upper bound: forked tasks share most pages with their worker.
"""

NOTES_INC = """
What keeps a night small (each change has tests; figures from this run unless dated):

* Crawl: listing heads every night, each pager walked only while the page before listed an
  article never fetched (`crawl_listing_depth=new`, docs/acquisition.md). At 100k pages night
  2 lands 1,158 pages instead of 7,038 (every listing page).
* dbt: `int_article_listings_aggregated` (1.4M listing items at 100k) and `fct_articles` are
  incremental by touched article id, like `int_articles_merged_across_urls`; a full refresh
  stays equal to the incremental history (tests/warehouse). Their `all_*` import CTEs are
  `not materialized`: the incremental branch reads each twice (touched ids, then their
  rows), and DuckDB used to copy the whole upstream into a temporary result first (one-off
  runs of the 100k night's build, 2026-11-26, not a repository command: the `fct_articles`
  node 0.74 -> 0.54 s, `int_article_listings_aggregated` 1.35 -> 1.10 s). The load date
  reaches the models through `main.kznews_run_params` in the build file instead of `--vars`
  (a var that changes every night made dbt re-parse the whole project), as a literal so
  DuckDB prunes partitions. Unit tests and `dbt docs generate` depend only on the project
  and run when its fingerprint changed or on a full refresh (`dbt_recheck`). With the
  project and the extracted folder unchanged, the 7 views are not re-created.
* dbt nodes: a nightly build runs 24 (the 11 table and incremental models, 13 data
  tests), ~90 before 2026-11-26's changes. Each node costs ~0.1 s of dbt's own Python
  whatever it reads, and a model's tests hold back its children.
  - The intermediate tables and the marts are contracts. Their column rules (not null,
    allowed values and ranges, `has_full_text = (body is not null)`) are DuckDB
    constraints, checked on every row a build inserts, not ~50 data tests re-reading
    whole marts every night.
  - Each staging view has one `columns_not_null` test for its required columns instead
    of one test per column (22 before). It reads only the partitions the night adds.
  - The 21 mart tests the quality gate repeats on the same tables (keys, foreign keys;
    tag `gx_gate`, `tests/warehouse/test_gate_twins.py`) are left to the gate on
    incremental builds.
  - `int_article_listings_aggregated` computes author ids with the macro
    `int_authors_normalised` uses instead of waiting for that table. It selects its
    touched articles' listing items with a constant list (`in_keys`), so that the view's
    time-zone and whitespace expressions run for those items only, not for all 1.4M
    (0.47 s -> 0.28 s for its query, one-off).
  - One-off runs of the 100k night (2026-11-26, not a repository command), each change
    after the other: the build stage ~6.5 s -> ~4.8 s (constraints), then dbt's
    elapsed time 3.5 s -> 3.1 s (the author ids and the staging tests) -> 2.6 s in the
    nights after `in_keys` (whose query itself saves ~0.2 s; the rest is run-to-run
    noise or less contention), the one-process night ~8.3 s -> ~6.4 s.
  `int_articles_merged_across_urls` reads only the load-date partitions that hold a row of
  a touched article (`partitions_holding`): before, it decoded every article body of the
  archive to keep 1% of them (one-off on the 100k night's data, 2026-11-26, not a
  repository command: 0.50 s -> 0.05 s for its query plus 0.04 s for the lookup).
  `int_authors_normalised` collapses whitespace once per distinct spelling instead of once
  per listing item (0.64 -> 0.28 s for its query in one nightly build each).
* Threads (`dbt_threads=0`, auto): 1 for a full rebuild, 4 for a nightly build. One-off
  runs of `dbt build --full-refresh` on the 100k night-1 data (2026-11-25, that session's
  slower machine, not a repository command): 41.9 s and 1,313 MB with 1 thread against
  44.7 s and 1,527 MB with 2; the nightly build's nodes took 15.0 s with 1 thread against
  12.8 s with 2. The 100k night's build stage (2026-11-26, speed reference of that
  session's machine in "End to end", two runs each, not a repository command): 9.7 and
  9.8 s with 2 threads, 8.2 and 8.6 s with 4, 8.1 and 8.5 s with 8, at the same peak
  (1.2 GB).
* Publish: `publish_mode=incremental` copies the published file and applies only the rows
  whose `row_hash` changed (`fct_articles`, `fct_headline_sightings`), replacing the small
  marts whole, then verifies (key, row_hash) sets against the build before the atomic
  rename; the file is rewritten from scratch when dead space passes 30%. Its DuckDB is
  bounded by `duckdb_memory_limit` (1GB) like the build's.
* Great Expectations' import binds SciPy's statistics and Altair lazily
  (`kznews.quality.gximport`): only its distribution expectations use them at module
  level, and the gate has none. The start-up floor table compares it with the plain
  `import great_expectations` in the same run (an earlier one-off attempt, 2026-11-26,
  saw ~0.3 s of ~3 s and was not kept).
* Warm Celery workers (docker-compose.yaml, `kznews.celery_config`): a worker imports
  Great Expectations and the kznews stages once and Airflow 3 forks each task from it, so
  the nightly quality task skips that import (the Celery tables compare it with Airflow's
  default settings, same runs).
* One process (`python -m kznews run`, `kznews.overlap`): an incremental night starts a
  dbt helper (import, project parse) and a Great Expectations helper (import at `nice`
  10, then the landing and extraction checks while dbt builds) next to the landing; each
  dbt command is forked from the parsed helper, and the publish writes its new file while
  the gate checks the marts, renaming it only once the gate passed for that build file.
  A full rebuild runs stage after stage (its build needs the memory). In the one-process
  table the nightly CPU is higher than the wall time: both cores are busy almost all
  night (one-off sampling of /proc/stat during a 100k night, 2026-11-26: ~1.9 of 2 cores
  busy for ~95% of the run). Its peak tree RSS is a sum over processes: the forked dbt
  command shares the pages of its helper's dbt import, counted in both.

What is left (the verdicts above say whether each shape met the 10% target):

* One process per stage (the shape of the Airflow tasks) pays the start-up floor above
  every night, before any data is read: it takes most of the 10% budget by itself.
* In one process the start-up is hidden behind the landing, and the 100k night is a chain
  (one-off traces, 2026-11-26, not a repository command):
  - the dbt helper's start: spawn, dbt import, project parse. This takes ~2 s while the
    landing and extraction run beside it; they finish after ~1.2 s;
  - dbt's build: ~2.6-3 s for 24 nodes. Run alone with one thread, that is ~1.4 s of dbt's own
    Python (~60 ms a node) and ~1.7 s in DuckDB;
  - the gate's mart checks and Data Docs (~0.9 s), beside the publish (~0.7-0.9 s);
  - ~0.3 s to start and leave the process.

  Both cores are busy most of the night (~11 CPU-s in ~6 s). What is left to gain:
  - dbt's per-node Python;
  - what the build still reads of the archive. `fct_articles` reloads the body of every
    article a new listing touched (~0.3 s cold): those rows are spread over the whole
    table. The listing aggregate still reads and keys all 1.4M listing items (~0.28 s)
    to keep the 2% it needs;
  - the dbt and Great Expectations imports every night (a long-lived worker, as the
    Celery preload does for Great Expectations).
* Under Celery the worker preload removes the Great Expectations import, but dbt still
  starts as a subprocess of the build task, and Airflow adds seconds of its own to every
  run (the "Airflow overhead" column: queueing, task start, XCom), so the nightly share
  there is higher than outside Airflow.
* Tried and not kept in the one-process night (one-off nights of the 100k site, medians,
  2026-11-26, not a repository command):
  - rendering the Data Docs pages of the landing and extraction checks while dbt builds:
    6.66 s against 6.43 s, 5 nights each;
  - extraction workers at `nice` 10, to leave the dbt helper a core: 6.71 s against
    6.84 s, 5 each;
  - one extraction worker: 7.04 s against 7.12 s, 4 each;
  - the main process at `nice` 5 while it lands, and the Great Expectations helper at 19
    instead of 10: within the noise;
  - again, `int_listing_items_localised` as an incremental table: nights of 7.5-7.9 s
    against 7.0-7.2 s. Reading 1.4M stored rows before the filter costs about what
    localising them did.
* Tried and not kept (one-off, 2026-11-26 unless dated): materialising the listing items
  (`int_listing_items_localised`) as an incremental table made the full build ~5 s slower
  and ~100 MB larger without a measurable nightly gain (2026-11-25); filtering the listing
  items by touched article before localising them (0.65 -> 0.52 s for that query), an
  explicit CASE instead of COALESCE for staging's article ids (similar), and an `info`
  instead of `debug` dbt file log (no CPU difference in three builds each): within the
  run-to-run noise, or not worth their complexity.
* This machine's speed drifts: the same 100k full run (one process per stage) took 95.9 s
  at 11:19 and 137.3 s at 11:41 UTC on 2026-11-26 (one-off runs, not a repository command),
  land alone 15.2 s and 18.6-19.8 s. Compare shares (nightly / full, measured back to
  back), not seconds across runs.
* Earlier figures of the same script: at 9571d2e (2026-11-27, speed reference 0.83 s, before
  the lazy import of SciPy and Altair under Great Expectations) in one process 10.37 s
  against 95.48 s (10.86%), one process per stage 15.12 s against 92.40 s (16.36%), under
  Celery 20.0 s against 112.1 s (17.8%, preload) and 25.0 s against 123.3 s (20.3%); at
  fa6fe0b (2026-11-27, speed reference 0.55 s, before
  that day's robustness fixes: content digests, crawl state catch-up, the overlap's
  interrupt handling) in one process 7.48 s against 77.65 s (9.63%), one process per stage
  11.50 s against 78.12 s (14.72%), under Celery 15.5 s against 96.5 s (16.1%, preload) and
  20.3 s against 98.5 s (20.6%); at 1f696cc (2026-11-26, speed reference 0.50 s, before the
  quality gate's ledger of checked inputs) in one process 5.99 s against 63.14 s (9.49%),
  one process per stage 11.42 s against 66.81 s (17.10%), under Celery 16.4 s against 73.2 s
  (22.5%, preload) and 17.5 s against 75.2 s (23.2%); at fa63d4b (2026-11-26, before
  `in_keys`) in one process 6.58 s against 65.55 s (10.03%), one process per stage 11.35 s
  against 65.07 s (17.44%); at 8c43759 (2026-11-26, speed reference 1.05 s, before the
  constraints) 12.2 s against 109.6 s (11.1%) and 18.8 s against 118.5 s (15.9%); at commit
  eae0e3c, 2026-11-26, same machine, before a review's robustness fixes to
  `kznews.overlap`): in one process 13.3 s against 128.5 s (10.3%), one process per stage
  16.3 s against 95.8 s (17.0%), the speed drift above falling between the two shapes' runs;
  14.2 s against 73.2 s (19.4%) at commit b855a67 (2026-11-26, speed reference 0.49 s, one
  process per stage, before the one-process path); 40.8 s against 206.1 s (19.8%) on
  2026-11-25's slower machine (speed reference 0.95 s); 15.3 s against 85.9 s (17.8%) on the
  machine before it; 40.1 s against 112.9 s (35.5%) and 57.3 s against 140.6 s (40.8%)
  before the two sessions before; 36.0 s against 195.3 s (18.5%) on a machine with speed
  reference 1.14 s (`--sizes 100000 --airflow-sizes --scheduler-sizes`); 16.9 s against 94.5
  s (17.9%) (speed reference 0.73 s).
"""


#: Result keys of bench_size's two Celery runs, and how the report names their worker.
_SCHEDULER_RUNS = (("scheduler", "preload"), ("scheduler_cold", "default"))


def _scheduler_runs(r: dict) -> list[tuple[str, dict]]:
    """(worker, result) of each Celery run of one size that completed."""
    return [(worker, r[key]) for key, worker in _SCHEDULER_RUNS if "full" in r.get(key, {})]


def _scheduler_table(results: list[dict]) -> list[str]:
    """Night 1 and night 2 under Celery: stage seconds, shards side by side, overhead."""
    rows = [r for r in results if _scheduler_runs(r)]
    skipped = {r[k]["skipped"] for r in results for k, _ in _SCHEDULER_RUNS
               if "skipped" in r.get(k, {})}
    if not rows:
        return [f"Under a real scheduler: not run ({'; '.join(sorted(skipped))}).", ""] \
            if skipped else []
    conc = _scheduler_runs(rows[0])[0][1]["worker_concurrency"]
    out = [
        "Under a real scheduler (`--scheduler-sizes`, scripts/bench_scheduler.py): "
        "CeleryExecutor, PostgreSQL metadata database, Redis broker, api-server, scheduler, "
        f"dag-processor and one Celery worker with {conc} slots as separate processes; each "
        "night triggered over REST with the same WARC and load date. Wall = the run's start to "
        "end as the API reports it; stage columns are the seconds each task reports (extract: "
        "plan to commit); shards = extraction shards (mapped tasks) and how many ran at once, "
        "with the seconds two ran side by side; memory = the peak of the summed RSS of every "
        "Airflow process and its tasks (api-server and dag-processor included; pages forked "
        "processes share are counted once per process, so an upper bound). Worker `preload`: "
        "the Celery settings docker-compose.yaml ships (`kznews.celery_config`: the worker imports "
        "`kznews.preload`, Great Expectations included, before forking its tasks); "
        "`default`: Airflow's own Celery settings.",
        "",
        "| pages landed | night | worker | wall s | land | extract | build | quality | publish "
        "| Airflow overhead s | shards (at once, s side by side) | peak RSS MB (all) |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        for (worker, run), night in [(w, n) for w in _scheduler_runs(r)
                                     for n in ("full", "nightly")]:
            m = run[night]
            pages = r["gen"][f"night{1 if night == 'full' else 2}.warc.gz_pages"]
            out.append(
                f"| {pages:,} | {night} | {worker} | {m['wall']:.1f} | "
                + " | ".join(f"{m['stages'].get(s, 0):.1f}" for s in STAGES)
                + f" | {m['overhead']:.1f} | {m['shards']} ({m['shards_at_once']}, "
                f"{m['shards_overlap_s']:.1f} s) | {m['tree_mb']:,.0f} |"
            )
    if skipped:
        out += ["", f"Not run: {'; '.join(sorted(skipped))}."]
    return [*out, ""]


def _verdicts(results: list[dict]) -> list[str]:
    """The issue's targets, checked on the largest size (and growth from the one before)."""
    big = results[-1]
    pages = big["gen"]["night1.warc.gz_pages"]
    total = _total(big["full"])
    ex = big["full"]["extract"]
    rate = pages / ex["wall"]
    ok = {True: "met", False: "**missed**"}
    lines = [
        f"Targets at {pages:,} pages on {os.cpu_count()} cores (outside Airflow, crawling "
        "excluded):",
        "",
        f"* end to end within 10 minutes: {ok[total['wall'] < 600]} ({total['wall']:.0f} s);",
        f"* extraction ≥ 1,000 pages/s using both cores: {ok[rate >= 1000]} ({rate:,.0f} "
        f"pages/s with {big['extract_workers']} worker processes, "
        f"{ex['cpu'] / ex['wall']:.2f} cores busy on average);",
        f"* peak memory under 2 GB: {ok[total['tree_mb'] < 2048]} (largest stage: "
        f"{total['tree_mb']:,.0f} MB for its whole process tree, "
        f"{total['peak_mb']:,.0f} MB for one process);",
    ]
    if "one_full" in big:
        trees = max(big["one_full"]["tree_mb"], big["one_nightly"]["tree_mb"])
        lines.append(f"* peak memory under 2 GB in one process (`python -m kznews run`, "
                     f"helpers included): {ok[trees < 2048]} ({big['one_full']['tree_mb']:,.0f}"
                     f" MB for the full run's process tree, "
                     f"{big['one_nightly']['tree_mb']:,.0f} MB for the nightly run's);")
    if len(results) > 1:
        prev = results[-2]
        grow = pages / prev["gen"]["night1.warc.gz_pages"]
        mem = total["tree_mb"] / _total(prev["full"])["tree_mb"]
        lines.append(f"* memory growing sub-linearly: {ok[mem < grow]} ({grow:.0f}x the pages, "
                     f"{mem:.1f}x the peak).")
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    ap.add_argument("--airflow-sizes", type=int, nargs="*", default=[1000, 10_000])
    ap.add_argument("--scheduler-sizes", type=int, nargs="*", default=[10_000, 100_000],
                    help="sizes also run under Celery + PostgreSQL + Redis (if running)")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--tmp", default=None, help="parent of the temporary folder (default /tmp)")
    ap.add_argument("--json", type=Path, default=None, help="also write raw results here")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--from-json", type=Path, default=None,
                    help="re-render the report from a --json file of an earlier run")
    args = ap.parse_args(argv)
    # The command as documented: --tmp/--json/--no-write only say where things go.
    shown, skip = [], False
    for a in argv if argv is not None else sys.argv[1:]:
        if skip or a == "--no-write":
            skip = False
            continue
        if a in ("--tmp", "--json", "--from-json"):
            skip = True
            continue
        shown.append(a)
    command = " ".join([".venv/bin/python scripts/bench_pipeline.py", *shown])
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}")
    results = json.loads(args.from_json.read_text()) if args.from_json else []
    with tempfile.TemporaryDirectory(prefix="kznews-bench-pipeline-", dir=args.tmp) as tmp:
        for n in [] if args.from_json else args.sizes:
            results.append(bench_size(n, args.seed, Path(tmp), n in args.airflow_sizes,
                                      n in args.scheduler_sizes))
            if args.json:
                args.json.write_text(json.dumps(results, indent=1, default=str))
    e2e, inc = report(results, command)
    print("\n" + e2e + "\n\n" + inc)
    if not args.no_write:
        write_section(SECTION_E2E, e2e)
        write_section(SECTION_INC, inc)
        print(f"\nwritten to {ROOT / 'docs' / 'benchmarks.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
