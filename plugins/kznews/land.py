"""Landing (bronze): raw responses, bytes unchanged, as Parquet partitioned by load date.

Layout: ``<raw_dir>/load_date=YYYY-MM-DD/part-0.parquet`` (zstd). A load writes its file under a
hidden temporary name in the partition folder, then ``os.replace``-s it into place: readers
see the previous complete file or the new complete file, never half of one. Within one load a
URL is kept once (the first record); later records of the same URL go to the quarantine with
the reason ``duplicate_url_in_load``, so nothing disappears silently. A record the source
could give only in part goes there too, under the reason it names (``RawRecord.defect``):
``truncated_record`` for a WARC file cut inside a record (a half page is never landed).

Re-landing a date: files (a folder, a WARC) are landed as they are and replace the date's
landing. A crawl emits only what changed since its last run, so its landing is merged into
the date's (``keep_existing``): the pages it fetched replace theirs, the date's other pages
and quarantine rows stay. A file source that gives no page at all (an empty folder, a WARC
whose every record is cut) is refused (:class:`NoPagesLanded`): the date's earlier
landing stays as it was. A crawl that finds nothing new lands nothing, which is a quiet night,
not an error (:func:`kznews.pipeline.quiet_night`).

Durability: a load writes its data file (its token in the Parquet metadata,
:func:`load_token`) and its quarantine file (empty when it quarantined nothing; the token in
its temporary name) under temporary names and fsyncs both, then renames the data file into
place, then the quarantine (an empty one removes the date's quarantine file), then fsyncs the
folder. Loads, pulls and pushes of one date take a lock (:func:`partition_lock`); a load starts
by finishing what a killed one left (:func:`recover_partition`): a data file never renamed is
discarded with its quarantine (the partition is the earlier load's, whole); a quarantine
whose token is the data file's was its load's second rename, so it is renamed now; any other
belongs to data since replaced and is discarded. So a killed load loses nothing it wrote,
and once recovered, data and quarantine rows come from the same load. Readers take no lock:
one that reads while a load is between its renames can see the new data with the earlier
quarantine. A reused landing (a retried crawl task) and the extraction plan call
:func:`recover_partition` before they read.
Speed: the ``body`` column is written without dictionary encoding and without statistics
(both are useless for page bytes and cost most of the time); see ``scripts/bench_land.py``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
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


class NoPagesLanded(ValueError):
    """A file source gave no page to land; nothing was replaced."""


PART_NAME = "part-0.parquet"
QUARANTINE_NAME = "quarantine.parquet"
#: Parquet metadata key of a landing's data file: the token of the load that wrote it, which
#: its quarantine's temporary name carries too (:func:`recover_partition` pairs them).
LOAD_TOKEN_KEY = b"kznews.load_token"
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
    #: records the source could not give whole (``RawRecord.defect``), quarantined
    defective: int = 0
    quarantined: list[dict] = field(default_factory=list)
    #: rows of the date's earlier landing kept beside the new ones (``keep_existing``)
    kept: int = 0
    #: what this load finished or discarded of a killed earlier load (:func:`recover_partition`)
    recovered: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        out: dict[str, object] = {
            "load_date": self.load_date.isoformat(),
            "path": str(self.path),
            "rows": self.rows,
            "bytes": self.bytes,
            "duplicates_quarantined": self.duplicates,
        }
        if self.defective:
            out["defective_quarantined"] = self.defective
        if self.kept:
            out["kept_from_earlier_landing"] = self.kept
        if self.recovered:
            out["recovered"] = self.recovered
        return out


def partition_dir(raw_dir: Path, load_date: date) -> Path:
    return Path(raw_dir) / f"load_date={load_date.isoformat()}"


def _tmp_names(token: str) -> tuple[str, str]:
    """The temporary names of one load's data file and quarantine file."""
    return f".{PART_NAME}.{token}.tmp", f".{QUARANTINE_NAME}.{token}.tmp"


#: This process's held landing locks: (pid, thread, lock file) -> [fd, depth].
_HELD: dict[tuple[int, int, str], list[int]] = {}


@contextlib.contextmanager
def partition_lock(raw_dir: Path, load_date: date) -> Iterator[None]:
    """One date's landing lock (exclusive, blocking; re-entrant within a thread): loads,
    pulls, pushes and recoveries of a date take turns, so the temporary files a recovery
    finds are a killed load's, never a live one's. The lock file sits beside the partitions
    (``<raw_dir>/.locks/``), not in them: a pull swaps the partition folder whole."""
    path = Path(raw_dir) / ".locks" / f"land-{load_date.isoformat()}.lock"
    key = (os.getpid(), threading.get_ident(), str(path))
    held = _HELD.get(key)
    if held is not None:  # this thread holds it already (land_stage around land_records)
        held[1] += 1
        try:
            yield
        finally:
            held[1] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _HELD[key] = [fd, 1]
        yield
    finally:
        _HELD.pop(key, None)
        os.close(fd)  # releases the lock


def load_token(data_file: Path) -> str | None:
    """The token of the load that wrote ``data_file`` (a landing's ``part-0.parquet``), kept
    in its Parquet metadata; None for files written before it was recorded."""
    value = (pq.read_schema(data_file).metadata or {}).get(LOAD_TOKEN_KEY)
    return value.decode() if value else None


def _token_of(tmp: Path) -> str:
    return tmp.name.split(".")[-2]  # .<name>.<token>.tmp


def _commit_quarantine(q_tmp: Path, q_target: Path, rows: int | None = None) -> None:
    """A load's second rename: its quarantine file into place, or, when it quarantined
    nothing, the date's quarantine file removed (the rows belonged to the data replaced).
    ``rows``: the file's row count when known (the load itself); read from it otherwise."""
    if rows is None:
        rows = pq.read_metadata(q_tmp).num_rows
    if rows:
        os.replace(q_tmp, q_target)
        return
    with contextlib.suppress(FileNotFoundError):
        q_target.unlink()
    q_tmp.unlink()


def _recover_locked(part_dir: Path) -> list[str]:
    done: list[str] = []
    for tmp in sorted(part_dir.glob(f".{PART_NAME}.*.tmp")):
        # killed before its data's rename: the load never happened. Its quarantine goes
        # first, so a recovery killed midway still leaves the mark of an unfinished load.
        for name in reversed(_tmp_names(_token_of(tmp))):
            with contextlib.suppress(FileNotFoundError):
                (part_dir / name).unlink()
        done.append(f"discarded the unfinished load {_token_of(tmp)}")
    data = part_dir / PART_NAME
    current = load_token(data) if data.exists() else None
    for q_tmp in sorted(part_dir.glob(f".{QUARANTINE_NAME}.*.tmp")):
        token = _token_of(q_tmp)
        if token != current:  # its data was replaced since, or never landed
            q_tmp.unlink()
            done.append(f"discarded the quarantine of the superseded load {token}")
            continue
        try:  # the data in place is its load's: its second rename was not done
            _commit_quarantine(q_tmp, part_dir / QUARANTINE_NAME)
        except (OSError, pa.ArrowException) as exc:
            raise OSError(
                f"{part_dir}: cannot finish the quarantine of the killed load {token}: {exc}"
            ) from exc
        done.append(f"finished the quarantine of the load {token}")
    if done:
        fsync_path(part_dir)
    # anything else hidden here is an earlier version's leftover
    remove_stale(p for p in part_dir.glob(".*.tmp") if p.exists())
    return done


def recover_partition(raw_dir: Path, load_date: date) -> list[str]:
    """Finish what a killed load of ``load_date`` left in its partition (see the module doc);
    returns what was done, one line each (empty when the partition was whole)."""
    part_dir = partition_dir(raw_dir, load_date)
    if not part_dir.is_dir() or not any(part_dir.glob(".*.tmp")):
        return []  # whole (readers need not write the lock folder); a live load's are waited for
    with partition_lock(raw_dir, load_date):
        return _recover_locked(part_dir)


def land_records(
    records: Iterable[RawRecord],
    raw_dir: Path,
    load_date: date,
    batch_rows: int = 500,
    keep_existing: bool = False,
    allow_empty: bool = True,
) -> LandResult:
    """Write ``records`` as the landing partition of ``load_date``, replacing it atomically.
    ``keep_existing``: the partition's earlier rows whose URL ``records`` do not bring, and
    its quarantine rows, are kept (a crawl landing a date again; see the module doc).
    ``allow_empty`` false: a load that would leave the partition without a page raises
    :class:`NoPagesLanded` instead, and the partition stays as it was."""
    part_dir = partition_dir(raw_dir, load_date)
    part_dir.mkdir(parents=True, exist_ok=True)
    with partition_lock(raw_dir, load_date):
        recovered = _recover_locked(part_dir)
        result = _land_locked(records, part_dir, load_date, batch_rows, keep_existing,
                              allow_empty)
    result.recovered = recovered
    return result


def _land_locked(
    records: Iterable[RawRecord],
    part_dir: Path,
    load_date: date,
    batch_rows: int,
    keep_existing: bool,
    allow_empty: bool = True,
) -> LandResult:
    target = part_dir / PART_NAME
    q_target = part_dir / QUARANTINE_NAME
    token = uuid.uuid4().hex
    tmp_name, q_tmp_name = _tmp_names(token)
    tmp, q_tmp = part_dir / tmp_name, part_dir / q_tmp_name
    result = LandResult(load_date=load_date, path=target)
    seen: set[str] = set()
    batch: list[RawRecord] = []

    def flush(writer: pq.ParquetWriter) -> None:
        if batch:
            writer.write_table(_records_table(batch))
            batch.clear()

    try:
        schema = RAW_PAGES.with_metadata({LOAD_TOKEN_KEY: token.encode()})
        with pq.ParquetWriter(tmp, schema, **_WRITE_OPTIONS) as writer:
            for rec in records:
                if rec.defect:  # not a whole response (a cut WARC file): never landed
                    result.defective += 1
                    result.quarantined.append(_quarantine_row(rec, rec.defect,
                                                              rec.defect_detail))
                    continue
                if rec.url in seen:
                    result.duplicates += 1
                    result.quarantined.append(_quarantine_row(
                        rec, "duplicate_url_in_load", "another record of this URL was landed first"
                    ))
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
        if not result.rows and not allow_empty:
            raise NoPagesLanded(_no_pages(part_dir, result))
        fsync_path(tmp)
        # The quarantine of a landing sits beside its data and is replaced with it; it is
        # written even when empty, so that a recovery knows the second rename's intent.
        quarantine = pa.Table.from_pylist(result.quarantined, QUARANTINE)
        if keep_existing and q_target.exists():
            quarantine = pa.concat_tables([quarantine, pq.read_table(q_target, schema=QUARANTINE)])
        pq.write_table(quarantine, q_tmp, compression="zstd")
        fsync_path(q_tmp)
        os.replace(tmp, target)
        try:
            _commit_quarantine(q_tmp, q_target, quarantine.num_rows)
        except OSError as exc:
            raise OSError(
                f"{part_dir}: the pages are landed but their quarantine could not be put in "
                f"place ({exc}); the next landing of this date finishes it from {q_tmp.name}"
            ) from exc
        fsync_path(part_dir)
    finally:
        # Decided from the files, not a flag set after the rename (an exception can come
        # between the two): once the data is in place, the quarantine's temporary file is
        # what the recovery needs. Quarantine first, as in the recovery.
        if tmp.exists():
            for t in (q_tmp, tmp):
                with contextlib.suppress(FileNotFoundError):
                    t.unlink()
    return result


def _no_pages(part_dir: Path, result: LandResult) -> str:
    reasons: dict[str, int] = {}
    for row in result.quarantined:
        reasons[str(row["reason"])] = reasons.get(str(row["reason"]), 0) + 1
    found = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
    return (
        f"the source gave no page to land for {result.load_date} "
        f"({'records refused: ' + found if found else 'no records at all'}); "
        f"{part_dir} is left as it was"
    )


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


def _quarantine_row(rec: RawRecord, reason: str, detail: str) -> dict[str, object]:
    return {
        "source": rec.url,
        "stage": "land",
        "reason": reason,
        "detail": f"{rec.source or rec.url}: {detail}",
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
