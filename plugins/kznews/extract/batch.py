"""Batch extraction: a landed partition -> the extracted Parquet tables, streaming, on all cores.

Input: ``<raw_dir>/load_date=D/part-0.parquet`` (row groups of a few hundred pages).
Output: ``<extracted_dir>/<table>/load_date=D/part-NNNNN.parquet`` for every table of
:data:`kznews.schema.EXTRACTED_TABLES`, each written with its full schema even when empty.

Work is split by row group over worker processes; each worker streams its row groups through
:func:`kznews.extract.extract_page` and writes bounded batches, so memory stays flat as the
page count grows. A run writes into hidden temporary folders and swaps each table's partition
folder into place only when every shard has succeeded: a failed or killed run leaves the
previous extraction of that date untouched, and a re-run replaces it (never appends).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from kznews.config import Settings
from kznews.extract.engine import extract_page
from kznews.fsutil import remove_stale
from kznews.schema import EXTRACTED_TABLES, QUARANTINE

RAW_COLUMNS = ["url", "final_url", "status", "content_type", "fetched_at", "sha256", "body"]


@dataclass(frozen=True)
class ShardJob:
    raw_file: str
    row_groups: tuple[int, ...]
    out_root: str  # temporary root: <out_root>/<table>/part-<shard>.parquet
    shard: int
    batch_rows: int
    max_bytes: int


class _TableWriters:
    """One ParquetWriter per table, fed in bounded batches."""

    def __init__(self, out_root: Path, shard: int, batch_rows: int) -> None:
        self.buffers: dict[str, list[dict[str, Any]]] = {t: [] for t in EXTRACTED_TABLES}
        self.counts: dict[str, int] = dict.fromkeys(EXTRACTED_TABLES, 0)
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.out_root = out_root
        self.shard = shard
        self.batch_rows = batch_rows
        for table, schema in EXTRACTED_TABLES.items():
            folder = out_root / table
            folder.mkdir(parents=True, exist_ok=True)
            self.writers[table] = pq.ParquetWriter(
                folder / f"part-{shard:05d}.parquet", schema, compression="zstd"
            )

    def add(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        buf = self.buffers[table]
        buf.extend(rows)
        if len(buf) >= self.batch_rows:
            self._flush(table)

    def _flush(self, table: str) -> None:
        buf = self.buffers[table]
        if buf:
            self.writers[table].write_table(pa.Table.from_pylist(buf, EXTRACTED_TABLES[table]))
            self.counts[table] += len(buf)
            buf.clear()

    def close(self) -> dict[str, int]:
        for table in EXTRACTED_TABLES:
            self._flush(table)
            self.writers[table].close()
        return self.counts


def iter_extractions(batches: Iterable[pa.RecordBatch], max_bytes: int) -> Iterator[Any]:
    """Yield one :class:`PageExtraction` per landed row of ``batches``."""
    for batch in batches:
        cols = batch.to_pydict()
        for i in range(batch.num_rows):
            yield extract_page(
                cols["body"][i] or b"",
                cols["url"][i],
                cols["content_type"][i],
                status=cols["status"][i],
                fetched_at=cols["fetched_at"][i],
                sha256=cols["sha256"][i],
                max_bytes=max_bytes,
            )


def run_shard(job: ShardJob) -> dict[str, int]:
    """Extract the given row groups of a landed file into ``job.out_root`` (worker entry)."""
    pf = pq.ParquetFile(job.raw_file)
    writers = _TableWriters(Path(job.out_root), job.shard, job.batch_rows)
    pages = 0
    try:
        for rg in job.row_groups:
            table = pf.read_row_group(rg, columns=RAW_COLUMNS)
            for out in iter_extractions(table.to_batches(max_chunksize=256), job.max_bytes):
                pages += 1
                for name, rows in out.tables().items():
                    if rows:
                        writers.add(name, rows)
    finally:
        counts = writers.close()
    return {**counts, "_pages_in": pages}


def _swap_partition(tmp_dir: Path, final_dir: Path) -> None:
    """Replace ``final_dir`` by ``tmp_dir`` (two renames on one file system).

    The superseded folder is moved into the run's temporary root (beside ``tmp_dir``), never
    left inside the table folder: readers glob ``<table>/*/*.parquet`` and DuckDB's glob
    matches hidden names, so a run killed before the old folder was deleted would otherwise
    leave a second copy of the partition where readers (dbt) find it.
    """
    old = tmp_dir.with_name(f".old-{tmp_dir.name}-{uuid.uuid4().hex[:8]}")
    if final_dir.exists():
        os.replace(final_dir, old)
    os.replace(tmp_dir, final_dir)
    shutil.rmtree(old, ignore_errors=True)


def _remove_leftovers(extracted_dir: Path) -> None:
    """Temporary roots of killed runs (older than an hour, so never a live run's), and
    superseded partition folders an earlier version left inside table folders."""
    remove_stale(extracted_dir.glob(".run-*"))
    for table in EXTRACTED_TABLES:
        for old in (extracted_dir / table).glob(".*.old"):
            shutil.rmtree(old, ignore_errors=True)


def _landing_quarantine(raw_part_dir: Path) -> pa.Table | None:
    q = raw_part_dir / "quarantine.parquet"
    return pq.read_table(q, schema=QUARANTINE) if q.exists() else None


def extract_partition(
    settings: Settings, load_date: date, workers: int | None = None
) -> dict[str, Any]:
    """Extract the landed pages of ``load_date``; returns row counts and output paths."""
    from kznews.land import PART_NAME, partition_dir

    raw_part = partition_dir(settings.raw_dir, load_date)
    raw_file = raw_part / PART_NAME
    if not raw_file.exists():
        raise FileNotFoundError(
            f"no landed pages for {load_date.isoformat()}: {raw_file} is missing (run land first)"
        )
    n_groups = pq.ParquetFile(raw_file).metadata.num_row_groups
    workers = workers or settings.extract_workers or os.cpu_count() or 1
    workers = max(1, min(workers, n_groups or 1))

    run_id = uuid.uuid4().hex[:12]
    partition = f"load_date={load_date.isoformat()}"
    _remove_leftovers(settings.extracted_dir)
    tmp_root = settings.extracted_dir / f".run-{partition}-{run_id}"
    jobs = [
        ShardJob(
            raw_file=str(raw_file),
            row_groups=tuple(range(k, n_groups, workers)),
            out_root=str(tmp_root),
            shard=k,
            batch_rows=settings.extract_batch_rows,
            max_bytes=settings.max_page_bytes,
        )
        for k in range(workers)
    ]
    try:
        if workers == 1:
            results = [run_shard(jobs[0])]
        else:
            ctx = mp.get_context("fork") if hasattr(os, "fork") else mp.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                results = list(pool.map(run_shard, jobs))
        landing_q = _landing_quarantine(raw_part)
        if landing_q is not None and landing_q.num_rows:
            pq.write_table(
                landing_q, tmp_root / "quarantine" / "part-landing.parquet", compression="zstd"
            )
        totals = {t: sum(r[t] for r in results) for t in EXTRACTED_TABLES}
        totals["quarantine"] += landing_q.num_rows if landing_q is not None else 0
        for table in EXTRACTED_TABLES:
            final_dir = settings.extracted_dir / table / partition
            final_dir.parent.mkdir(parents=True, exist_ok=True)
            _swap_partition(tmp_root / table, final_dir)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp_root)
    pages_in = sum(r["_pages_in"] for r in results)
    return {
        "load_date": load_date.isoformat(),
        "pages_in": pages_in,
        "rows": totals,
        "workers": workers,
        "extracted_dir": str(settings.extracted_dir),
    }


def extract_records_to(
    records: Iterable[Any], out_dir: Path, load_date: date, max_bytes: int, batch_rows: int = 2000
) -> dict[str, int]:
    """Extract :class:`~kznews.acquire.RawRecord` objects straight into ``out_dir`` (CLI path).

    Used by ``python -m kznews extract`` where there is no landing; same layout and same
    atomic swap as :func:`extract_partition`, in one process.
    """
    partition = f"load_date={load_date.isoformat()}"
    tmp_root = Path(out_dir) / f".run-{partition}-{uuid.uuid4().hex[:12]}"
    writers = _TableWriters(tmp_root, 0, batch_rows)
    pages = 0
    try:
        try:
            for rec in records:
                pages += 1
                out = extract_page(
                    rec.body, rec.url, rec.content_type, status=rec.status,
                    fetched_at=rec.fetched_at, sha256=rec.sha256, max_bytes=max_bytes,
                )
                for name, rows in out.tables().items():
                    if rows:
                        writers.add(name, rows)
        finally:
            counts = writers.close()
        for table in EXTRACTED_TABLES:
            final_dir = Path(out_dir) / table / partition
            final_dir.parent.mkdir(parents=True, exist_ok=True)
            _swap_partition(tmp_root / table, final_dir)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    return {"pages_in": pages, **counts}
