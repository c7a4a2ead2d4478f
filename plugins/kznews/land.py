"""Landing (bronze): raw responses, bytes unchanged, as Parquet partitioned by load date.

Layout: ``<raw_dir>/load_date=YYYY-MM-DD/part-0.parquet`` (zstd). A load writes its file under a
hidden temporary name in the partition folder, then ``os.replace``-s it into place: readers
see the previous complete file or the new complete file, never half of one. Within one load a
URL is kept once (the first record); later records of the same URL go to the quarantine with
the reason ``duplicate_url_in_load``, so nothing disappears silently.

Re-landing a date: files (a folder, a WARC) are landed as they are and replace the date's
landing. A crawl emits only what changed since its last run, so its landing is merged into
the date's (``keep_existing``): the pages it fetched replace theirs, the date's other pages
and quarantine rows stay.

Durability: the new files are fsync-ed before the rename and the folder after it, so a crash
leaves either the old or the new partition. The data file is renamed first, then its
quarantine: a crash between the two leaves the new data beside the earlier quarantine file
(the earlier load's quarantine rows stay; this load's, duplicates of URLs it landed, are not
written until the date is landed again). Renamed the other way round, such a crash lost the
earlier rows with the earlier data kept. Stale temporary files of a crashed load are
removed on the next one.
Speed: the ``body`` column is written without dictionary encoding and without statistics
(both are useless for page bytes and cost most of the time); see ``scripts/bench_land.py``.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kznews.acquire.base import RawRecord
from kznews.fsutil import fsync_path, remove_stale
from kznews.schema import QUARANTINE, RAW_PAGES

PART_NAME = "part-0.parquet"
QUARANTINE_NAME = "quarantine.parquet"
# Page bytes: no dictionary, no min/max statistics (slow and meaningless for HTML bodies).
_WRITE_OPTIONS: dict = {
    "compression": "zstd",
    "use_dictionary": ["url", "final_url", "content_type", "source", "headers"],
    "write_statistics": ["url", "final_url", "status", "fetched_at", "size_bytes"],
}


@dataclass
class LandResult:
    load_date: date
    path: Path
    rows: int = 0
    bytes: int = 0
    duplicates: int = 0
    quarantined: list[dict] = field(default_factory=list)
    #: rows of the date's earlier landing kept beside the new ones (``keep_existing``)
    kept: int = 0

    def summary(self) -> dict[str, object]:
        out: dict[str, object] = {
            "load_date": self.load_date.isoformat(),
            "path": str(self.path),
            "rows": self.rows,
            "bytes": self.bytes,
            "duplicates_quarantined": self.duplicates,
        }
        if self.kept:
            out["kept_from_earlier_landing"] = self.kept
        return out


def partition_dir(raw_dir: Path, load_date: date) -> Path:
    return Path(raw_dir) / f"load_date={load_date.isoformat()}"


def _remove_stale_tmp(part_dir: Path) -> None:
    remove_stale(part_dir.glob(".*.tmp"))


def land_records(
    records: Iterable[RawRecord],
    raw_dir: Path,
    load_date: date,
    batch_rows: int = 500,
    keep_existing: bool = False,
) -> LandResult:
    """Write ``records`` as the landing partition of ``load_date``, replacing it atomically.
    ``keep_existing``: the partition's earlier rows whose URL ``records`` do not bring, and
    its quarantine rows, are kept (a crawl landing a date again; see the module doc)."""
    part_dir = partition_dir(raw_dir, load_date)
    part_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_tmp(part_dir)
    target = part_dir / PART_NAME
    q_target = part_dir / QUARANTINE_NAME
    token = uuid.uuid4().hex
    tmp = part_dir / f".{PART_NAME}.{token}.tmp"
    q_tmp = part_dir / f".{QUARANTINE_NAME}.{token}.tmp"
    result = LandResult(load_date=load_date, path=target)
    seen: set[str] = set()
    batch: list[RawRecord] = []

    def flush(writer: pq.ParquetWriter) -> None:
        if batch:
            writer.write_table(_records_table(batch))
            batch.clear()

    try:
        with pq.ParquetWriter(tmp, RAW_PAGES, **_WRITE_OPTIONS) as writer:
            for rec in records:
                if rec.url in seen:
                    result.duplicates += 1
                    result.quarantined.append(_quarantine_row(rec, "duplicate_url_in_load"))
                    continue
                seen.add(rec.url)
                batch.append(rec)
                result.rows += 1
                result.bytes += len(rec.body)
                if len(batch) >= batch_rows:
                    flush(writer)
            flush(writer)
            if keep_existing and target.exists():
                result.kept, kept_bytes = _keep_earlier(target, seen, writer, batch_rows)
                result.rows += result.kept
                result.bytes += kept_bytes
        fsync_path(tmp)
        # The quarantine of a landing sits beside its data and is replaced with it.
        quarantine = pa.Table.from_pylist(result.quarantined, QUARANTINE)
        if keep_existing and q_target.exists():
            quarantine = pa.concat_tables([quarantine, pq.read_table(q_target, schema=QUARANTINE)])
        if quarantine.num_rows:
            pq.write_table(quarantine, q_tmp, compression="zstd")
            fsync_path(q_tmp)
        os.replace(tmp, target)
        if quarantine.num_rows:
            os.replace(q_tmp, q_target)
        else:
            with contextlib.suppress(FileNotFoundError):
                q_target.unlink()
        fsync_path(part_dir)
    finally:
        for t in (tmp, q_tmp):
            with contextlib.suppress(FileNotFoundError):
                t.unlink()
    return result


def _keep_earlier(
    target: Path, landed: set[str], writer: pq.ParquetWriter, batch_rows: int
) -> tuple[int, int]:
    """Append the rows of the earlier landing ``target`` whose URL is not in ``landed``;
    returns how many, and their page bytes. Streams the file (page bodies are large)."""
    import pyarrow.compute as pc

    urls = pa.array(sorted(landed), pa.string())
    kept = kept_bytes = 0
    with pq.ParquetFile(target) as earlier:
        for rows in earlier.iter_batches(batch_size=batch_rows):
            rows = rows.filter(pc.invert(pc.is_in(rows.column("url"), value_set=urls)))
            if rows.num_rows:
                writer.write_table(pa.Table.from_batches([rows]).cast(RAW_PAGES))
                kept += rows.num_rows
                kept_bytes += pc.sum(rows.column("size_bytes")).as_py() or 0
    return kept, kept_bytes


def _records_table(batch: list[RawRecord]) -> pa.Table:
    return pa.Table.from_pydict(
        {
            "url": [r.url for r in batch],
            "final_url": [r.final_url or r.url for r in batch],
            "status": [r.status for r in batch],
            "headers": [r.headers_json() for r in batch],
            "content_type": [r.content_type for r in batch],
            "fetched_at": [_utc(r.fetched_at) for r in batch],
            "sha256": [r.sha256 for r in batch],
            "size_bytes": [len(r.body) for r in batch],
            "source": [r.source for r in batch],
            "body": [r.body for r in batch],
        },
        schema=RAW_PAGES,
    )


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _quarantine_row(rec: RawRecord, reason: str) -> dict[str, object]:
    return {
        "source": rec.url,
        "stage": "land",
        "reason": reason,
        "detail": f"{rec.source or rec.url}: another record of this URL was landed first",
        "content_sha256": rec.sha256,
        "size_bytes": len(rec.body),
        "status": rec.status,
        "fetched_at": _utc(rec.fetched_at),
    }


def read_partition(raw_dir: Path, load_date: date, columns: list[str] | None = None) -> pa.Table:
    """The landed rows of one load date (empty table with the schema when none)."""
    target = partition_dir(raw_dir, load_date) / PART_NAME
    if not target.exists():
        return RAW_PAGES.empty_table()
    return pq.read_table(target, columns=columns, schema=RAW_PAGES)


def iter_partition_batches(
    raw_dir: Path, load_date: date, batch_rows: int = 256, columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """Stream the landed rows of one load date as record batches (bounded memory)."""
    target = partition_dir(raw_dir, load_date) / PART_NAME
    if not target.exists():
        return
    with pq.ParquetFile(target) as pf:
        yield from pf.iter_batches(batch_size=batch_rows, columns=columns)


def landed_dates(raw_dir: Path) -> list[date]:
    out = []
    for p in sorted(Path(raw_dir).glob("load_date=*")):
        if (p / PART_NAME).exists():
            out.append(date.fromisoformat(p.name.split("=", 1)[1]))
    return out
