"""What a reader may see, checked: mart checksums, visible files, killing a run mid-way."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from kznews.config import Settings
from kznews.schema import EXTRACTED_TABLES
from kznews.warehouse import MARTS

RUN_STAGE = Path(__file__).with_name("run_stage.py")


def mart_checksums(db: Path) -> dict[str, tuple[int, str]]:
    """{mart: (rows, md5 of its rows as text, sorted)} of a published file, opened read-only."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            m: tuple(
                con.execute(
                    "select count(*), md5(coalesce(string_agg(r, chr(10) order by r), '')) "  # noqa: S608 - mart names are constants
                    f'from (select cast(t as varchar) as r from main."{m}" as t)'
                ).fetchone()
            )
            for m in MARTS
        }
    finally:
        con.close()


def visible_state(settings: Settings) -> dict[str, int]:
    """Assert what readers can reach is whole; return rows per extracted table (dbt's view).

    * no ``*.tmp`` file matches the readers' globs (``raw_pages/*/*.parquet``,
      ``extracted/<table>/*/*.parquet``), and every file that does opens as Parquet;
    * the extracted tables read through the very ``read_parquet`` call dbt's sources use
      (DuckDB's glob also matches hidden names, so leftovers there would be read too);
    * the published DuckDB file, when present, opens read-only and holds every mart.
    """
    raw = sorted(settings.raw_dir.glob("*/*.parquet"))
    ext = {t: sorted((settings.extracted_dir / t).glob("*/*.parquet")) for t in EXTRACTED_TABLES}
    for f in raw + [f for files in ext.values() for f in files]:
        assert ".tmp" not in f.name and not f.parent.name.startswith("."), f
        pq.ParquetFile(f).metadata  # noqa: B018 - opens and reads the footer
    counts: dict[str, int] = {}
    con = duckdb.connect()
    try:
        for t, files in ext.items():
            if not files:
                continue
            counts[t] = con.execute(
                f"select count(*) from read_parquet('{settings.extracted_dir}/{t}/*/*.parquet', "  # noqa: S608 - test paths
                "hive_partitioning = true, union_by_name = true)"
            ).fetchone()[0]
    finally:
        con.close()
    if settings.published_db.exists():
        with duckdb.connect(str(settings.published_db), read_only=True) as pub:
            tables = {
                r[0] for r in pub.execute("select table_name from duckdb_tables()").fetchall()
            }
            assert set(MARTS) <= tables
    return counts


def start(stage: str, source: Path | str, day: str, settings: Settings) -> subprocess.Popen:
    """The pipeline (or a stage) in a child process in its own session (so it and every
    process it starts, dbt and the extraction workers, can be killed together)."""
    cmd = [
        sys.executable,
        str(RUN_STAGE),
        stage,
        str(source),
        day,
        str(settings.path(settings.data_dir)),
        str(settings.path(settings.warehouse_dir)),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
    )


def kill_when(proc: subprocess.Popen, seen: Callable[[], bool], what: str, limit_s=600) -> None:
    """SIGKILL ``proc``'s whole process group as soon as ``seen()`` is true.

    Not a timing assertion: ``limit_s`` only stops a hung test; failing to observe the point
    before the process ends is a test error (the kill point was missed, not a product bug)."""
    deadline = time.monotonic() + limit_s
    try:
        while not seen():
            if proc.poll() is not None:
                raise AssertionError(f"the run ended (rc={proc.returncode}) before {what}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not observed in {limit_s}s")
            time.sleep(0.005)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL, proc.returncode


def finish(proc: subprocess.Popen, limit_s: float = 600) -> str:
    try:
        out, err = proc.communicate(timeout=limit_s)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err.decode(errors="replace")[-3000:]
    return out.decode()


def any_file(pattern_root: Path, pattern: str, min_size: int = 1) -> Callable[[], bool]:
    def seen() -> bool:
        for f in pattern_root.glob(pattern):
            with contextlib.suppress(FileNotFoundError):
                if f.stat().st_size >= min_size:
                    return True
        return False

    return seen
