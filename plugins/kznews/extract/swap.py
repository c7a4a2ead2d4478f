"""Swap a date's new partition folders into every extracted table, all or (in effect) none.

An extraction run writes each table's new partition under its temporary root
(``<extracted_dir>/.run-…/<table>``) and, once every shard checked out, swaps them into place
one table at a time (two renames each: the superseded folder aside into the run's root, the
new one in). Between the first and the last swap, readers could see tables of two runs.

* A failed rename (a full disk, an I/O error) swaps back the tables already swapped: the
  date keeps its previous extraction in every table.
* A process killed between two swaps (SIGKILL, the out-of-memory killer, an interrupt)
  cannot swap back. For that case :func:`swap_all` first writes a journal
  (``<extracted_dir>/.commit-<root>.json``: the date and, per table, the inode of the folder
  to swap in). The staged folders were all checked before the journal was written, so
  finishing the swaps is always right: :func:`finish_interrupted_swaps` does that (roll
  forward), and every reader of the extracted tables calls it first (extraction's plan and
  commit, the Airflow commit task, the dbt build).
* Swapping and finishing hold one exclusive lock per extracted folder (``flock`` on
  ``.swap.lock``; the kernel drops it when its holder dies), so a journal that a reader sees
  under the lock belongs to a dead process, never to a swap still running.
* A finished swap leaves ``.done-<root>.json`` (swept after a day): a retried commit of the
  same run reports it committed instead of refusing for want of its (moved) files.
* A journal whose folders are gone or were replaced (the run's root deleted, its shards
  re-run) cannot be finished: the build refuses to read the tables (a clear error naming
  the date), extraction logs it. It is superseded, and dropped, once every table holds a
  later run of the date: the next commit of the date here (the next night's look-back,
  :func:`kznews.pipeline.owed_extractions`, makes one), a later interrupted one finished
  here, or, with an object store, the build's pull of the date into every table.

Not covered: a host crash. The extracted files are not fsync-ed (they can be extracted again
from the landing, which is), so after a crash the staged files may be incomplete; re-extract
the date (``extract_partition`` or a new Airflow run) if a build then fails on them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from kznews.fsutil import fsync_path, remove_stale

log = logging.getLogger(__name__)

LOCK_NAME = ".swap.lock"
JOURNAL_GLOB = ".commit-*.json"
DONE_GLOB = ".done-*.json"
DONE_KEPT_S = 86_400.0  # how long a retried commit can still learn that its run committed


class RestoreFailed(OSError):
    """A swap failed after moving the superseded partition aside, and putting it back failed
    too: the table has no partition for the date until the swaps are finished."""


class SwapUnfinishable(RuntimeError):
    """An interrupted swap cannot be finished (its staged folders are gone): the date's
    tables may hold two runs until the date is extracted again."""


def journal_path(extracted_dir: Path, tmp_root: Path) -> Path:
    """The journal of the run whose temporary root is ``tmp_root``."""
    return extracted_dir / f".commit-{tmp_root.name}.json"


def done_path(extracted_dir: Path, tmp_root: Path) -> Path:
    """Left once every table of the run is swapped in (see :func:`committed`)."""
    return extracted_dir / f".done-{tmp_root.name}.json"


def committed(extracted_dir: Path, tmp_root: Path) -> bool:
    """Whether every swap of the run whose root is ``tmp_root`` is done (in the last day)."""
    return done_path(extracted_dir, tmp_root).exists()


@contextlib.contextmanager
def swap_lock(extracted_dir: Path) -> Iterator[None]:
    """The folder's swap lock (exclusive, blocking). Opened for writing: NFS emulates
    ``flock`` with POSIX locks, which need that for an exclusive lock."""
    extracted_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(extracted_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def swap_partition(tmp_dir: Path, final_dir: Path) -> Path | None:
    """Replace ``final_dir`` by ``tmp_dir`` (two renames on one file system); returns where
    the superseded folder went (None when there was none), for :func:`swap_back`.

    The superseded folder is moved into the run's temporary root (beside ``tmp_dir``), never
    left inside the table folder: readers glob ``<table>/*/*.parquet`` and DuckDB's glob
    matches hidden names, so a run killed before the old folder was deleted would otherwise
    leave a second copy of the partition where readers (dbt) find it. It is deleted with
    that root once every table is swapped.
    """
    old = None  # set once the superseded folder is really moved aside
    try:
        if final_dir.exists():
            aside = tmp_dir.with_name(f".old-{tmp_dir.name}-{uuid.uuid4().hex[:8]}")
            os.replace(final_dir, aside)
            old = aside
        os.replace(tmp_dir, final_dir)
    except OSError:
        if old is not None:
            _restore(old, final_dir)
        raise
    return old


def _restore(old: Path, final_dir: Path) -> None:
    try:
        os.replace(old, final_dir)
    except OSError as exc:
        log.exception("putting the previous partition back failed: %s has no partition; the "
                      "previous one is in %s (kept with the run's temporary root)",
                      final_dir, old)
        raise RestoreFailed(exc.errno, f"{exc.strerror} (restoring {final_dir})") from exc


def swap_back(tmp_dir: Path, final_dir: Path, old: Path | None, swapped_in: int) -> None:
    """Undo :func:`swap_partition`: the new folder back into the run's root (so a retry of
    the commit finds the shard files), the superseded one back into place. ``swapped_in``
    is the inode of the folder this run moved in (a rename keeps it): when another commit
    of the same date has replaced it since, that one is left alone."""
    if final_dir.stat().st_ino != swapped_in:
        log.warning("not rolling back %s: another run replaced it since", final_dir)
        return
    os.replace(final_dir, tmp_dir)
    if old is not None:
        _restore(old, final_dir)


def _write_json(path: Path, body: dict[str, Any]) -> None:
    """Write ``path`` durably (temporary file, fsync, rename, fsync of the folder)."""
    tmp = path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(body, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_path(path.parent)


def _mark_done(extracted_dir: Path, journal: Path, tables: Sequence[str]) -> None:
    """The swaps of ``journal`` are done: make the renames durable, then turn the journal
    into the run's done marker."""
    for table in tables:
        fsync_path(extracted_dir / table)
    done = extracted_dir / (".done-" + journal.name.removeprefix(".commit-"))
    os.replace(journal, done)
    os.utime(done)  # a rename keeps the journal's age; the marker's day starts now
    fsync_path(extracted_dir)


def _forget(extracted_dir: Path, path: Path, body: dict[str, Any]) -> None:
    """Drop an unfinishable journal that a complete swap of its date has superseded."""
    log.warning("%s superseded: every table holds a later run of %s", path.name,
                body.get("partition"))
    path.unlink(missing_ok=True)
    if body.get("run"):
        shutil.rmtree(extracted_dir / str(body["run"]), ignore_errors=True)


def swap_all(extracted_dir: Path, tmp_root: Path, partition: str,
             tables: Sequence[str]) -> None:
    """Swap ``tmp_root/<table>`` into ``extracted_dir/<table>/<partition>`` for every table.

    Under the folder's swap lock: first finishes what killed runs left (a journal of the
    same date that cannot be finished is superseded by this swap and removed after it),
    then journal, swaps, done marker. A failed rename swaps back the tables already swapped
    and removes the journal, unless putting a folder back failed too or an unfinishable
    journal of the date was there (the tables were mixed before: the kept journal, whose
    folders are back in the run's root, lets the next reader make them whole). Any other
    exception (an interrupt) keeps it too, and the next reader finishes the swaps.
    """
    with swap_lock(extracted_dir):
        _, broken = _finish_locked(extracted_dir)
        same_date = [(p, b) for p, b in broken if b.get("partition") == partition]
        journal = journal_path(extracted_dir, tmp_root)  # may replace its own broken one
        inodes = {table: (tmp_root / table).stat().st_ino for table in tables}
        _write_json(journal, {"partition": partition, "run": tmp_root.name, "tables": inodes})
        swapped: list[tuple[Path, Path, Path | None, int]] = []
        try:
            for table in tables:
                tmp_dir = tmp_root / table
                final_dir = extracted_dir / table / partition
                final_dir.parent.mkdir(parents=True, exist_ok=True)
                old = swap_partition(tmp_dir, final_dir)
                swapped.append((tmp_dir, final_dir, old, inodes[table]))
            _mark_done(extracted_dir, journal, tables)
        except OSError as exc:
            consistent = not isinstance(exc, RestoreFailed) and not same_date
            for tmp_dir, final_dir, old, inode in reversed(swapped):
                try:
                    swap_back(tmp_dir, final_dir, old, inode)
                except OSError:
                    consistent = False
                    log.exception("rolling back %s failed: the next reader of the extracted "
                                  "tables finishes this run's swaps instead", final_dir)
            done_path(extracted_dir, tmp_root).unlink(missing_ok=True)  # not done after all
            if consistent:
                journal.unlink(missing_ok=True)
            raise
        for path, body in same_date:  # every table now holds this run
            if path != journal:
                _forget(extracted_dir, path, body)


def _finish_locked(
    extracted_dir: Path,
) -> tuple[list[str], list[tuple[Path, dict[str, Any]]]]:
    """Roll forward every journal (the caller holds the swap lock, so none is live).
    Returns the runs finished and the journals that cannot be (left in place)."""
    finished: list[tuple[str, str]] = []
    broken: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted(extracted_dir.glob(JOURNAL_GLOB)):
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            tables: dict[str, int] = body["tables"]
            root, partition = extracted_dir / str(body["run"]), str(body["partition"])
        except (OSError, ValueError, KeyError, TypeError):
            log.exception("unreadable swap journal %s", path)
            broken.append((path, {}))
            continue
        todo = []
        for table, inode in tables.items():
            staged, final_dir = root / table, extracted_dir / table / partition
            if _inode(final_dir) == inode:
                continue  # swapped in before the kill
            if _inode(staged) != inode:
                broken.append((path, body))
                break
            todo.append((staged, final_dir))
        else:
            for staged, final_dir in todo:
                final_dir.parent.mkdir(parents=True, exist_ok=True)
                swap_partition(staged, final_dir)
            _mark_done(extracted_dir, path, list(tables))
            shutil.rmtree(root, ignore_errors=True)
            log.warning("finished the partition swaps of %s (%s), interrupted when its "
                        "process died", body["run"], partition)
            finished.append((str(body["run"]), partition))
    # Unfinishable journals of a date just finished are older (a swap finishes every journal
    # before writing its own): every table now holds the later run.
    done_dates = {partition for _, partition in finished}
    for path, body in [(p, b) for p, b in broken if b.get("partition") in done_dates]:
        _forget(extracted_dir, path, body)
        broken.remove((path, body))
    return [run for run, _ in finished], broken


def finish_interrupted_swaps(extracted_dir: Path, strict: bool = True) -> list[str]:
    """Finish the swaps of runs that died midway; returns the names of the runs finished.

    A journal that cannot be finished raises :class:`SwapUnfinishable` when ``strict``
    (readers of the tables: the build), else is logged and left for the next commit of
    its date, which supersedes it (extraction)."""
    if not extracted_dir.is_dir():
        return []
    with swap_lock(extracted_dir):
        finished, broken = _finish_locked(extracted_dir)
    if broken:
        dates = ", ".join(sorted(str(b.get("partition", p.name)) for p, b in broken))
        msg = (f"extraction commits interrupted and not finishable ({dates}): their staged "
               "folders are gone, so those dates' tables may mix two runs; extract them again "
               "(the next night does when their landing is on its machine; in Airflow: clear the "
               "extract group of their runs)")
        if strict:
            raise SwapUnfinishable(msg)
        log.error(msg)
    return finished


def unfinishable_partitions(extracted_dir: Path) -> list[str]:
    """Finish what killed runs left (as :func:`finish_interrupted_swaps`), then the
    partitions (``load_date=...``) of the journals that cannot be finished: dates whose
    tables may mix two runs until the date is extracted again, which
    :func:`kznews.pipeline.owed_extractions` then does. A journal too damaged to name its
    date is left out (the build still refuses, naming it)."""
    if not extracted_dir.is_dir():
        return []
    with swap_lock(extracted_dir):
        _, broken = _finish_locked(extracted_dir)
    return sorted({str(b["partition"]) for _, b in broken if b.get("partition")})


def forget_replaced(extracted_dir: Path, replaced: Callable[[str], bool]) -> list[str]:
    """Drop the unfinishable journals of the dates for which ``replaced(partition)`` says
    every table was replaced from elsewhere (the build's pull from an object store);
    returns their dates."""
    if not extracted_dir.is_dir():
        return []
    forgotten = []
    with swap_lock(extracted_dir):
        _, broken = _finish_locked(extracted_dir)
        for path, body in broken:
            if body.get("partition") and replaced(str(body["partition"])):
                _forget(extracted_dir, path, body)
                forgotten.append(str(body["partition"]))
    return forgotten


def remove_root(extracted_dir: Path, tmp_root: Path) -> None:
    """Delete a run's temporary root, unless an unfinished swap of that run still needs it."""
    if not journal_path(extracted_dir, tmp_root).exists():
        shutil.rmtree(tmp_root, ignore_errors=True)


def journaled_roots(extracted_dir: Path) -> set[str]:
    """Names of the temporary roots an unfinished swap still needs (never sweep these)."""
    names = set()
    for path in extracted_dir.glob(JOURNAL_GLOB):
        names.add(path.name.removeprefix(".commit-").removesuffix(".json"))
    return names


def sweep_done_markers(extracted_dir: Path) -> None:
    """Done markers older than a day: no retry of their commits is coming any more."""
    remove_stale(extracted_dir.glob(DONE_GLOB), older_than_s=DONE_KEPT_S)
