"""When does one DuckDB file stop serving? Single file vs DuckLake, measured side by side.

    .venv/bin/python scripts/bench_scaleout.py [--scales 1,10,100] [--readers 1,4] [--no-write]

Builds the sample warehouse once (the real pipeline, no Airflow), then for each scale k makes
a build file whose marts hold k copies of the sample's rows, and measures:

* publish: seconds to publish it as one DuckDB file (copy, verify, fsync, rename) and into a
  DuckLake (one transaction; PostgreSQL catalog on 127.0.0.1, skipped if absent);
* readers: queries per second of N reader processes running the BI guide's queries
  (docs/queries/*.sql) against each backend while nothing else runs;
* a second writer: whether a second process can write while a first one holds the warehouse
  open for writing (one DuckDB file: no, it gets a lock error; DuckLake: yes).

Figures go to the "## Scale-out" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from benchdoc import write_section

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Scale-out"
QUERIES = sorted((ROOT / "docs" / "queries").glob("*.sql"))


def _scaled_build(src: Path, dst: Path, k: int) -> int:
    import duckdb

    from kznews.warehouse import MARTS, MARTS_SCHEMA

    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        dst.unlink()
    con = duckdb.connect(str(dst))
    con.execute(f"attach '{src}' as src (read_only)")
    con.execute(f"create schema {MARTS_SCHEMA}")
    for mart in MARTS:
        # k copies; dim_date stays as is (one row per day whatever the volume)
        reps = 1 if mart == "dim_date" else k
        con.execute(
            f"create table {MARTS_SCHEMA}.{mart} as select s.* "  # noqa: S608 - names from MARTS
            f"from src.{MARTS_SCHEMA}.{mart} s, range({reps})"
        )
    con.execute("checkpoint")
    con.close()
    return dst.stat().st_size


def _reader(backend: str, settings, seconds: float, out) -> None:
    import duckdb

    sqls = [q.read_text(encoding="utf-8") for q in QUERIES]
    if backend == "duckdb":
        def connect():
            return duckdb.connect(str(settings.published_db), read_only=True)
    else:
        from kznews.warehouse.ducklake import connect as lake_connect

        def connect():
            return lake_connect(settings, read_only=True)
    n, errors = 0, 0
    con = connect()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        try:
            con.execute(sqls[n % len(sqls)]).fetchall()
        except duckdb.Error:
            errors += 1
        n += 1
    con.close()
    out.put((n, errors))


def _read_rate(backend: str, settings, readers: int, seconds: float = 5.0) -> tuple[float, int]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_reader, args=(backend, settings, seconds, out))
             for _ in range(readers)]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    return sum(n for n, _ in results) / seconds, sum(e for _, e in results)


def _second_writer_duckdb(path: Path) -> str:
    import duckdb

    first = duckdb.connect(str(path))
    try:
        code = ("import duckdb,sys\ntry:\n duckdb.connect(sys.argv[1]).execute('select 1')\n"
                " print('ok')\nexcept duckdb.Error as e:\n print(type(e).__name__)")
        import subprocess

        res = subprocess.run(  # noqa: S603 - our own interpreter and a fixed snippet
            [sys.executable, "-c", code, str(path)],
            capture_output=True, text=True, timeout=60, check=False,
        )
        return res.stdout.strip() or res.stderr.strip()[-200:]
    finally:
        first.close()


def _second_writer_ducklake(settings) -> str:
    from kznews.warehouse.ducklake import connect

    a, b = connect(settings), connect(settings)
    try:
        a.execute("create or replace table bench_w1 as select 1 as x")
        b.execute("create or replace table bench_w2 as select 2 as x")
        return "ok"
    except Exception as exc:
        return type(exc).__name__
    finally:
        a.close()
        b.close()


def _pg_database(name: str) -> bool:
    try:
        import psycopg2

        con = psycopg2.connect(dbname="postgres", host="127.0.0.1", user="postgres",
                               connect_timeout=3)
    except Exception:
        return False
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
        cur.execute(f'create database "{name}"')
    con.close()
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", default="1,10,100")
    ap.add_argument("--readers", default="1,4")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    from kznews.config import load_settings
    from kznews.pipeline import run_pipeline
    from kznews.publish import publish

    tmp = Path(tempfile.mkdtemp(prefix="kznews-scaleout-"))
    base = load_settings(data_dir=tmp / "data", warehouse_dir=tmp / "warehouse")
    run_pipeline(ROOT / "sample", date(2026, 11, 25), base)
    lake_ok = _pg_database("kznews_lake_bench")
    lake = base.replace(
        warehouse_backend="ducklake", ducklake_data_path=tmp / "lake",
        ducklake_catalog="postgres:dbname=kznews_lake_bench host=127.0.0.1 user=postgres",
    )
    rows = []
    readers = [int(x) for x in args.readers.split(",")]
    for k in (int(x) for x in args.scales.split(",")):
        name = f"build/scaled_{k}.duckdb"
        size = _scaled_build(base.build_db, base.path(base.warehouse_dir) / name, k)
        # full: each scale is a different warehouse, not the next night of the one before
        s_file = base.replace(build_name=name, publish_mode="full")
        t0 = time.perf_counter()
        publish(s_file)
        t_file = time.perf_counter() - t0
        r_file = [_read_rate("duckdb", s_file, n) for n in readers]
        t_lake, r_lake = None, []
        if lake_ok:
            s_lake = lake.replace(build_name=name)
            t0 = time.perf_counter()
            publish(s_lake)
            t_lake = time.perf_counter() - t0
            r_lake = [_read_rate("ducklake", s_lake, n) for n in readers]
        rows.append((k, size, t_file, t_lake, r_file, r_lake))
    writer_file = _second_writer_duckdb(base.build_db)
    writer_lake = _second_writer_ducklake(lake) if lake_ok else "skipped (no PostgreSQL)"

    head = " | ".join(f"{n} reader{'s' if n > 1 else ''} q/s file / lake" for n in readers)
    lines = [
        f"Command: `.venv/bin/python scripts/bench_scaleout.py --scales {args.scales} "
        f"--readers {args.readers}` on {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}. "
        "Scale k = the sample's marts repeated k times; readers run the BI guide's queries "
        "(docs/queries) in a loop for 5 s each.",
        "",
        f"| k | build MB | publish file s | publish DuckLake s | {head} |",
        "|---:|---:|---:|---:|" + "---:|" * len(readers),
    ]
    for k, size, t_file, t_lake, r_file, r_lake in rows:
        cells = []
        for i in range(len(readers)):
            f_q, f_e = r_file[i]
            lake_cell = f"{r_lake[i][0]:,.0f} ({r_lake[i][1]} err)" if r_lake else "–"
            cells.append(f"{f_q:,.0f} ({f_e} err) / {lake_cell}")
        lake_t = f"{t_lake:.2f}" if t_lake is not None else "–"
        lines.append(f"| {k} | {size / 1e6:,.1f} | {t_file:.2f} | {lake_t} | " +
                     " | ".join(cells) + " |")
    lines += ["", f"A second writer while one holds the warehouse for writing: one DuckDB file "
              f"→ `{writer_file}`; DuckLake → `{writer_lake}`."]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
