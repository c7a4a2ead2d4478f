"""Batch extraction: a landed partition -> the extracted Parquet tables, streaming, on all cores.

Input: ``<raw_dir>/load_date=D/part-0.parquet`` (row groups of a few hundred pages).
Output: ``<extracted_dir>/<table>/load_date=D/part-NNNNN.parquet`` for every table of
:data:`kznews.schema.EXTRACTED_TABLES`, each written with its full schema even when empty.

Work is split by row group over worker processes; each worker streams its row groups through
:func:`kznews.extract.extract_page` and writes bounded batches, so memory stays flat as the
page count grows. A run writes into hidden temporary folders and swaps each table's partition
folder into place only when every shard has succeeded: a failed or killed run leaves the
previous extraction of that date untouched, and a re-run replaces it (never appends).

Three public steps, so the shards can also run as separate tasks (Airflow dynamic task mapping
in ``dags/kznews_nightly.py``): :func:`plan_extraction` (a JSON-serialisable plan: run id,
temporary root, one job per shard), :func:`run_shard` (one shard, in the calling process;
re-running it replaces its own files) and :func:`commit_extraction` (checks every shard's
result against its files, then swaps). :func:`extract_partition` is the three in one call,
with a process pool for the shards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing as mp
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from kznews.config import Settings
from kznews.extract.engine import extract_page
from kznews.extract.swap import (
    committed,
    finish_interrupted_swaps,
    journaled_roots,
    remove_root,
    swap_all,
    sweep_done_markers,
)
from kznews.fsutil import remove_stale
from kznews.schema import EXTRACTED_TABLES, LANDING_MARKER, QUARANTINE

log = logging.getLogger(__name__)

RAW_COLUMNS = ["url", "final_url", "status", "content_type", "fetched_at", "sha256", "body"]


@dataclass(frozen=True)
class ShardJob:
    """One shard of a partition: some row groups of the landed file, written under ``out_root``.

    Its dict form (:meth:`to_dict`) is what an Airflow mapped task receives, so a shard can run
    in another process, or on another machine, than the plan and the commit.
    """

    raw_file: str
    row_groups: tuple[int, ...]
    out_root: str  # temporary root: <out_root>/<table>/part-<shard>.parquet
    shard: int
    batch_rows: int
    max_bytes: int
    raw_bytes: int = -1  # size of raw_file when planned (-1: unchecked)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (an XCom value); :meth:`from_dict` reads it back."""
        out = dataclasses.asdict(self)
        out["row_groups"] = list(self.row_groups)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ShardJob:
        return cls(
            raw_file=str(data["raw_file"]),
            row_groups=tuple(int(g) for g in data["row_groups"]),
            out_root=str(data["out_root"]),
            shard=int(data["shard"]),
            batch_rows=int(data["batch_rows"]),
            max_bytes=int(data["max_bytes"]),
            raw_bytes=int(data.get("raw_bytes", -1)),
        )


class ExtractionIncomplete(RuntimeError):
    """A commit found a shard without a result or without its output; nothing was swapped."""


class LandingChanged(RuntimeError):
    """A shard's landed file is not the one its plan read (re-landed, or another copy)."""


def extraction_state(settings: Settings, load_date: date) -> str:
    """How the extracted partitions of ``load_date`` stand to its landing as it is now:
    "missing" (none), "stale" (extracted from an earlier landing of the date: one merged
    into or replaced since) or "current". Partitions without a marker
    (:data:`~kznews.schema.LANDING_MARKER`: written before it existed, or by
    :func:`extract_records_to`), or of a landing without a load token, count as current."""
    from kznews.land import PART_NAME, load_token, partition_dir

    pages = settings.extracted_dir / "pages" / f"load_date={load_date.isoformat()}"
    if not pages.is_dir():
        return "missing"
    try:
        marker = (pages / LANDING_MARKER).read_text("ascii").strip()
    except (OSError, ValueError):  # none, or not one the commit wrote
        return "current"
    try:
        token = load_token(partition_dir(settings.raw_dir, load_date) / PART_NAME)
    except Exception:  # an unreadable landing: its extraction is all there is to go by
        log.warning("the landing of %s cannot be read", load_date, exc_info=True)
        return "current"
    return "current" if token is None or marker == token else "stale"


def shard_file(root: Path, table: str, shard: int) -> Path:
    """Where shard ``shard`` leaves ``table`` inside a run's temporary root."""
    return Path(root) / table / f"part-{shard:05d}.parquet"


def _temp_glob(shard: int) -> str:
    return f"part-{shard:05d}.*.tmp.parquet"


class _TableWriters:
    """One ParquetWriter per table, fed in bounded batches.

    Each file is written under a temporary name and renamed to ``part-<shard>.parquet`` only by
    a successful :meth:`close`: a retried shard replaces its own part files whole (never
    appends to them), and an attempt that died midway leaves at most a temporary file, which
    the commit never publishes.
    """

    def __init__(self, out_root: Path, shard: int, batch_rows: int) -> None:
        self.buffers: dict[str, list[dict[str, Any]]] = {t: [] for t in EXTRACTED_TABLES}
        self.counts: dict[str, int] = dict.fromkeys(EXTRACTED_TABLES, 0)
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.paths: dict[str, tuple[Path, Path]] = {}
        self.out_root = out_root
        self.shard = shard
        self.batch_rows = batch_rows
        token = uuid.uuid4().hex[:8]
        for table, schema in EXTRACTED_TABLES.items():
            final = shard_file(out_root, table, shard)
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = final.with_name(f"part-{shard:05d}.{token}.tmp.parquet")
            self.paths[table] = (tmp, final)
            self.writers[table] = pq.ParquetWriter(tmp, schema, compression="zstd")

    def add(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        buf = self.buffers[table]
        buf.extend(rows)
        if len(buf) >= self.batch_rows:
            self._flush(table)

    def add_page(self, extraction: Any) -> None:
        """Every table's rows of one page's :class:`PageExtraction`."""
        for table, rows in extraction.tables().items():
            if rows:
                self.add(table, rows)

    def _flush(self, table: str) -> None:
        buf = self.buffers[table]
        if buf:
            self.writers[table].write_table(pa.Table.from_pylist(buf, EXTRACTED_TABLES[table]))
            self.counts[table] += len(buf)
            buf.clear()

    def close(self, keep: bool = True) -> dict[str, int]:
        """Finish every file; ``keep``: rename each into place, else delete them."""
        try:
            if keep:
                for table in EXTRACTED_TABLES:
                    self._flush(table)
        finally:
            for writer in self.writers.values():
                writer.close()
        for tmp, final in self.paths.values():
            if keep:
                os.replace(tmp, final)
            else:
                tmp.unlink(missing_ok=True)
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
                final_url=cols["final_url"][i],
            )


def run_shard(job: ShardJob | Mapping[str, Any]) -> dict[str, Any]:
    """Extract the given row groups of a landed file into ``job.out_root`` (worker entry).

    Takes a :class:`ShardJob` or its dict form (an Airflow mapped task's argument). Runs in the
    calling process. Running a shard again (a retried task) replaces its own
    ``part-<shard>.parquet`` files, so a retry never duplicates rows. Returns the rows written
    per table plus ``_pages_in``, ``_shard`` and ``_run`` (the temporary root's name), which
    :func:`commit_extraction` checks against the plan and the files.
    """
    if not isinstance(job, ShardJob):
        job = ShardJob.from_dict(job)
    pf = pq.ParquetFile(job.raw_file)
    if job.raw_bytes >= 0 and os.path.getsize(job.raw_file) != job.raw_bytes:
        # Row group numbers only mean something in the file the plan split.
        raise LandingChanged(
            f"shard {job.shard}: {job.raw_file} has {os.path.getsize(job.raw_file)} bytes, the "
            f"plan read {job.raw_bytes}: the landing changed since the plan; run it again"
        )
    out_root = Path(job.out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    os.utime(out_root)  # the leftover sweep only removes temporary roots idle for an hour
    for table in EXTRACTED_TABLES:  # temporary files of an earlier, killed attempt
        for stale in (out_root / table).glob(_temp_glob(job.shard)):
            stale.unlink(missing_ok=True)
    writers = _TableWriters(out_root, job.shard, job.batch_rows)
    pages = 0
    ok = False
    try:
        for rg in job.row_groups:
            table = pf.read_row_group(rg, columns=RAW_COLUMNS)
            for out in iter_extractions(table.to_batches(max_chunksize=256), job.max_bytes):
                pages += 1
                writers.add_page(out)
        ok = True
    finally:
        counts = writers.close(keep=ok)
    os.utime(out_root)  # a long shard keeps its run's root fresh for the sweep as well
    return {**counts, "_pages_in": pages, "_shard": job.shard, "_run": out_root.name}


def _remove_leftovers(extracted_dir: Path) -> None:
    """Temporary roots of killed runs (older than an hour, so never a live run's; never one
    an unfinished swap still needs), and superseded partition folders an earlier version
    left inside table folders."""
    needed = journaled_roots(extracted_dir)
    remove_stale(p for p in extracted_dir.glob(".run-*") if p.name not in needed)
    sweep_done_markers(extracted_dir)
    for table in EXTRACTED_TABLES:
        for old in (extracted_dir / table).glob(".*.old"):
            shutil.rmtree(old, ignore_errors=True)


def _landing_quarantine(raw_part_dir: Path) -> pa.Table | None:
    q = raw_part_dir / "quarantine.parquet"
    return pq.read_table(q, schema=QUARANTINE) if q.exists() else None


def _raw_file(settings: Settings, load_date: date) -> Path:
    from kznews.land import PART_NAME, partition_dir

    raw_file = partition_dir(settings.raw_dir, load_date) / PART_NAME
    if not raw_file.exists():
        raise FileNotFoundError(
            f"no landed pages for {load_date.isoformat()}: {raw_file} is missing (run land first)"
        )
    return raw_file


def run_root(settings: Settings, plan: Mapping[str, Any]) -> Path:
    """The plan's temporary root on *this* machine (its name under this extracted_dir)."""
    return settings.extracted_dir / Path(str(plan["tmp_root"])).name


def plan_extraction(
    settings: Settings, load_date: date, shards: int | None = None
) -> dict[str, Any]:
    """Split the landed partition of ``load_date`` into shard jobs; reads only its footer.

    Row groups go round-robin over ``shards`` (default ``settings.extract_workers``, else one
    per core; never more shards than row groups). Returns a JSON-serialisable plan, small
    enough for an Airflow XCom: ``run_id``, the temporary root ``tmp_root``, ``raw_file`` and
    its size ``raw_bytes`` (each shard checks it reads that same file), ``started_at`` (epoch
    seconds: a commit on another machine can report the stage's wall time), ``shards`` and
    ``jobs`` (one :meth:`ShardJob.to_dict` per shard). Also sweeps the leftovers of killed
    runs, and first finishes a killed landing of the date (its quarantine, which the commit
    reads; :func:`kznews.land.recover_partition`). The temporary root itself is created by
    the shards.
    """
    from kznews.land import load_token, recover_partition

    started_at = time.time()
    recover_partition(settings.raw_dir, load_date)
    raw_file = _raw_file(settings, load_date)
    n_groups = pq.ParquetFile(raw_file).metadata.num_row_groups
    raw_bytes = raw_file.stat().st_size
    token = load_token(raw_file)
    shards = shards or settings.extract_workers or os.cpu_count() or 1
    shards = max(1, min(shards, n_groups or 1))

    run_id = uuid.uuid4().hex[:12]
    partition = f"load_date={load_date.isoformat()}"
    finish_interrupted_swaps(settings.extracted_dir, strict=False)
    _remove_leftovers(settings.extracted_dir)
    tmp_root = settings.extracted_dir / f".run-{partition}-{run_id}"
    jobs = [
        ShardJob(
            raw_file=str(raw_file),
            row_groups=tuple(range(k, n_groups, shards)),
            out_root=str(tmp_root),
            shard=k,
            batch_rows=settings.extract_batch_rows,
            max_bytes=settings.max_page_bytes,
            raw_bytes=raw_bytes,
        )
        for k in range(shards)
    ]
    return {
        "load_date": load_date.isoformat(),
        "partition": partition,
        "run_id": run_id,
        "started_at": started_at,
        "raw_file": str(raw_file),
        "raw_bytes": raw_bytes,
        "landing_token": token,
        "tmp_root": str(tmp_root),
        "row_groups": n_groups,
        "shards": shards,
        "jobs": [job.to_dict() for job in jobs],
    }


def shard_output_problems(
    tmp_root: Path, shard: int, result: Mapping[str, Any] | None
) -> list[str]:
    """What keeps one shard's output from being committed ([] = nothing).

    Every table's ``part-<shard>.parquet`` must exist under ``tmp_root``, open, and hold exactly
    the rows the shard reported: a file of another attempt of the same shard (one that died,
    or ran on another machine) is caught here instead of being published.
    """
    if result is None:
        return [f"shard {shard} has no result (its task did not succeed)"]
    problems = []
    for table in EXTRACTED_TABLES:
        path = shard_file(tmp_root, table, shard)
        if not path.is_file():
            problems.append(f"shard {shard}: {path} is missing")
            continue
        try:
            rows = pq.read_metadata(path).num_rows
        except (OSError, pa.ArrowException) as exc:
            problems.append(f"shard {shard}: {path} is unreadable ({exc})")
            continue
        if rows != result.get(table):
            problems.append(
                f"shard {shard}: {path} holds {rows} rows, the shard reported {result.get(table)}"
            )
    return problems


def _keep_only_shard_files(tmp_root: Path, shards: Iterable[int]) -> None:
    """Delete what is not a shard's final part file (temporary files of dead attempts)."""
    expected = {shard_file(tmp_root, "x", k).name for k in shards}
    for table in EXTRACTED_TABLES:
        for entry in (tmp_root / table).iterdir():
            if entry.name not in expected:
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)


def commit_extraction(
    settings: Settings,
    load_date: date,
    plan: Mapping[str, Any],
    results: Iterable[Mapping[str, Any] | None],
) -> dict[str, Any]:
    """Publish a planned run: check every shard, add the landing quarantine, swap partitions.

    ``results`` are the shards' :func:`run_shard` return values, in any order (an Airflow
    mapped task's XComs). When a shard has no result, or its output is missing, unreadable or
    not what it reported, raises :class:`ExtractionIncomplete` and swaps nothing: the previous
    extraction of the date stays as it was. Returns what :func:`extract_partition` returns.

    The run's temporary root is removed after a successful commit and after a refusal
    (:class:`ExtractionIncomplete`: a refused run is re-run from a new plan, never
    half-committed). After any other error (an ``OSError`` during the swap, a missing
    landing, an interrupt) it is kept, so that a retry of the commit with the same plan and
    results can still find the shards' files; if no retry comes, the leftover sweep of a
    later :func:`plan_extraction` removes it once it is an hour old.

    The tables are swapped one by one (:func:`kznews.extract.swap.swap_all`). When a swap
    raises midway, the tables already swapped are swapped back before the error propagates:
    the date keeps its previous extraction in every table, and a retry of the commit finds
    every shard file again. When the process is killed midway, the run's journal stays and
    the next reader finishes the swaps. A retry of a commit whose swaps are done (finished
    by it or by an earlier reader, or done before the process died) returns this result
    with ``"resumed": True``.
    """
    partition = f"load_date={load_date.isoformat()}"
    tmp_root = run_root(settings, plan)
    shards = [int(job["shard"]) for job in plan["jobs"]]
    drop_root = False
    with contextlib.suppress(FileNotFoundError):
        os.utime(tmp_root)  # in use: keep the leftover sweeps (root age > 1 h) off it
    try:
        if plan.get("load_date") != load_date.isoformat():
            raise ValueError(f"the plan is for {plan.get('load_date')}, not {partition}")
        raw_file = _raw_file(settings, load_date)
        by_shard: dict[int, Mapping[str, Any]] = {}
        for result in results:
            if result is None:
                continue
            if result.get("_run") != tmp_root.name:
                raise ExtractionIncomplete(
                    f"a shard result belongs to run {result.get('_run')!r}, not {tmp_root.name!r}"
                )
            by_shard[int(result["_shard"])] = result
        landing_q = _landing_quarantine(raw_file.parent)
        finish_interrupted_swaps(settings.extracted_dir, strict=False)
        if committed(settings.extracted_dir, tmp_root):
            # a retry: this run's swaps are done (finished just now or by an earlier reader,
            # or the commit died after them), though its files have left the root
            drop_root = True
            return _commit_result(settings, load_date, shards, by_shard, landing_q,
                                  resumed=True)
        problems = [p for k in shards for p in shard_output_problems(tmp_root, k, by_shard.get(k))]
        if problems:
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise ExtractionIncomplete(
                f"extraction of {partition} not committed, its previous partition is unchanged: "
                + "; ".join(problems[:5])
                + more
            )
        _keep_only_shard_files(tmp_root, shards)
        if landing_q is not None and landing_q.num_rows:
            pq.write_table(
                landing_q, tmp_root / "quarantine" / "part-landing.parquet", compression="zstd"
            )
        if plan.get("landing_token"):  # the landing the shards read (planned before them)
            (tmp_root / "pages" / LANDING_MARKER).write_text(plan["landing_token"], "ascii")
        swap_all(settings.extracted_dir, tmp_root, partition, tuple(EXTRACTED_TABLES))
        drop_root = True
    except ExtractionIncomplete:
        drop_root = True  # a refusal is final: the run is re-done from a new plan
        raise
    except BaseException:
        # Kept for a retry: a fresh mtime keeps the leftover sweep off it for another hour.
        with contextlib.suppress(OSError):
            os.utime(tmp_root)
        raise
    finally:
        if drop_root:
            remove_root(settings.extracted_dir, tmp_root)
    return _commit_result(settings, load_date, shards, by_shard, landing_q)


def _commit_result(
    settings: Settings,
    load_date: date,
    shards: list[int],
    by_shard: Mapping[int, Mapping[str, Any]],
    landing_q: pa.Table | None,
    resumed: bool = False,
) -> dict[str, Any]:
    totals = {t: sum(int(by_shard[k][t]) for k in shards) for t in EXTRACTED_TABLES}
    totals["quarantine"] += landing_q.num_rows if landing_q is not None else 0
    out = {
        "load_date": load_date.isoformat(),
        "pages_in": sum(int(by_shard[k]["_pages_in"]) for k in shards),
        "rows": totals,
        "workers": len(shards),
        "extracted_dir": str(settings.extracted_dir),
    }
    if resumed:
        out["resumed"] = True
    return out


def extract_partition(
    settings: Settings, load_date: date, workers: int | None = None
) -> dict[str, Any]:
    """Extract the landed pages of ``load_date`` on this machine; returns row counts and paths.

    :func:`plan_extraction`, one process per shard, then :func:`commit_extraction`: the same
    three steps the Airflow DAG runs as separate (mapped) tasks. Nothing retries the commit
    here, so the run's temporary root is removed after any failure, the commit's included
    (a commit keeps it after errors other than a refusal, for a retry of the same run).
    """
    plan = plan_extraction(settings, load_date, workers)
    jobs = [ShardJob.from_dict(job) for job in plan["jobs"]]
    try:
        if len(jobs) == 1:
            results = [run_shard(jobs[0])]
        else:
            ctx = mp.get_context("fork") if hasattr(os, "fork") else mp.get_context("spawn")
            with ProcessPoolExecutor(max_workers=len(jobs), mp_context=ctx) as pool:
                results = list(pool.map(run_shard, jobs))
        return commit_extraction(settings, load_date, plan, results)
    except BaseException:
        remove_root(settings.extracted_dir, run_root(settings, plan))
        raise


def extract_records_to(
    records: Iterable[Any], out_dir: Path, load_date: date, max_bytes: int, batch_rows: int = 2000
) -> dict[str, int]:
    """Extract :class:`~kznews.acquire.RawRecord` objects straight into ``out_dir`` (CLI path).

    Used by ``python -m kznews extract`` where there is no landing; same layout and same
    atomic swap as :func:`extract_partition`, in one process.
    """
    partition = f"load_date={load_date.isoformat()}"
    out_dir = Path(out_dir)
    finish_interrupted_swaps(out_dir, strict=False)
    if out_dir.is_dir():
        sweep_done_markers(out_dir)
    tmp_root = out_dir / f".run-{partition}-{uuid.uuid4().hex[:12]}"
    writers = _TableWriters(tmp_root, 0, batch_rows)
    pages = defective = 0
    ok = False
    try:
        try:
            for rec in records:
                if getattr(rec, "defect", None):  # a cut WARC record: half a page
                    log.warning("not extracted: %s (%s: %s)", rec.url, rec.defect,
                                rec.defect_detail)
                    defective += 1
                    continue
                pages += 1
                out = extract_page(
                    rec.body, rec.url, rec.content_type, status=rec.status,
                    fetched_at=rec.fetched_at, sha256=rec.sha256, max_bytes=max_bytes,
                    final_url=rec.final_url,
                )
                writers.add_page(out)
            ok = True
        finally:
            counts = writers.close(keep=ok)
        swap_all(out_dir, tmp_root, partition, tuple(EXTRACTED_TABLES))
    finally:
        remove_root(out_dir, tmp_root)
    return {"pages_in": pages, **counts, **({"defective_records": defective} if defective else {})}
