"""Swap a date's new partition folders into every extracted table, all or (in effect) none.

An extraction run writes each table's new partition under its temporary root
(``<extracted_dir>/.run-…/<table>``) and, once every shard checked out, swaps them into place
one table at a time (two renames each: the superseded folder aside into the run's root, the
new one in). Between the first and the last swap, readers could see tables of two runs.

* An error in the swapping process (a full disk, an interrupt) swaps back the tables
  already swapped: the date keeps its previous extraction in every table.
* A process killed between two swaps (SIGKILL, the out-of-memory killer) cannot swap back.
  For that case :func:`swap_all` first writes a journal beside the run's root
  (``<extracted_dir>/.commit-<root>.json``) and removes it after the last swap. The staged
  folders were all checked before the journal was written, so finishing the swaps is always
  right: :func:`finish_interrupted_swaps` does that (roll forward), and every reader of the
  extracted tables calls it first (extraction's plan and commit, the dbt build). A live
  swap holds an exclusive ``flock`` on its journal, so a reader never finishes a swap that
  is still running; the kernel drops the lock when the process dies.

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
from collections.abc import Sequence
from pathlib import Path

from kznews.fsutil import fsync_path

log = logging.getLogger(__name__)

JOURNAL_GLOB = ".commit-*.json"


class RestoreFailed(OSError):
    """A swap failed after moving the superseded partition aside, and putting it back failed
    too: the table has no partition for the date until the swaps are finished."""


def journal_path(extracted_dir: Path, tmp_root: Path) -> Path:
    """The journal of the run whose temporary root is ``tmp_root``."""
    return extracted_dir / f".commit-{tmp_root.name}.json"


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
    except BaseException:
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


def _write_journal(extracted_dir: Path, partition: str, tmp_root: Path,
                   tables: Sequence[str]) -> int:
    """Write the journal durably and return an open descriptor holding its ``flock``.
    The lock is taken before the rename, so nobody can see the journal unlocked."""
    path = journal_path(extracted_dir, tmp_root)
    tmp = path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        body = {"partition": partition, "run": tmp_root.name, "tables": list(tables)}
        os.write(fd, json.dumps(body).encode())
        os.fsync(fd)
        os.replace(tmp, path)
        fsync_path(extracted_dir)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return fd


def _drop_journal(path: Path, fd: int) -> None:
    try:
        path.unlink()
        fsync_path(path.parent)
    finally:
        os.close(fd)


def swap_all(extracted_dir: Path, tmp_root: Path, partition: str,
             tables: Sequence[str]) -> None:
    """Swap ``tmp_root/<table>`` into ``extracted_dir/<table>/<partition>`` for every table.

    On an error here, the tables already swapped are swapped back and the error propagates
    (the journal goes too, unless putting a folder back failed: then the next reader
    finishes the swaps). Killed midway, the journal stays and the next reader finishes them.
    """
    fd = _write_journal(extracted_dir, partition, tmp_root, tables)
    swapped: list[tuple[Path, Path, Path | None, int]] = []
    consistent = False
    try:
        for table in tables:
            tmp_dir = tmp_root / table
            final_dir = extracted_dir / table / partition
            final_dir.parent.mkdir(parents=True, exist_ok=True)
            inode = tmp_dir.stat().st_ino
            old = swap_partition(tmp_dir, final_dir)
            swapped.append((tmp_dir, final_dir, old, inode))
        for table in tables:  # the renames reach the disk before the journal goes
            fsync_path(extracted_dir / table)
        consistent = True
    except BaseException as exc:
        consistent = not isinstance(exc, RestoreFailed)
        for tmp_dir, final_dir, old, inode in reversed(swapped):
            try:
                swap_back(tmp_dir, final_dir, old, inode)
            except OSError:
                consistent = False
                log.exception("rolling back %s failed: the next reader of the extracted "
                              "tables finishes this run's swaps instead", final_dir)
        raise
    finally:
        if consistent:
            _drop_journal(journal_path(extracted_dir, tmp_root), fd)
        else:
            os.close(fd)  # the journal stays: finish_interrupted_swaps rolls forward


def remove_root(extracted_dir: Path, tmp_root: Path) -> None:
    """Delete a run's temporary root, unless an unfinished swap of that run still needs it."""
    if not journal_path(extracted_dir, tmp_root).exists():
        shutil.rmtree(tmp_root, ignore_errors=True)


def journaled_roots(extracted_dir: Path) -> set[str]:
    """Names of the temporary roots an unfinished swap still needs (never sweep these)."""
    names = set()
    for path in extracted_dir.glob(JOURNAL_GLOB):
        with contextlib.suppress(OSError, ValueError):
            names.add(str(json.loads(path.read_text(encoding="utf-8"))["run"]))
    return names


def finish_interrupted_swaps(extracted_dir: Path) -> list[str]:
    """Finish the swaps of runs killed midway (see the module's docstring); returns the names
    of the runs whose swaps this call finished. Swaps still running are left alone."""
    finished = []
    for path in sorted(extracted_dir.glob(JOURNAL_GLOB)):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # finished meanwhile
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live swap
            try:
                if os.stat(path).st_ino != os.fstat(fd).st_ino:
                    continue  # removed (or replaced) while we waited for the lock
            except FileNotFoundError:
                continue
            journal = json.loads(os.read(fd, 1 << 20))
            tmp_root = extracted_dir / journal["run"]
            for table in journal["tables"]:
                staged = tmp_root / table
                if staged.exists():  # not swapped yet, or swapped back before the kill
                    final_dir = extracted_dir / table / journal["partition"]
                    final_dir.parent.mkdir(parents=True, exist_ok=True)
                    swap_partition(staged, final_dir)
            for table in journal["tables"]:
                fsync_path(extracted_dir / table)
            log.warning("finished the partition swaps of %s (%s), interrupted when its "
                        "process died", journal["run"], journal["partition"])
            path.unlink()
            shutil.rmtree(tmp_root, ignore_errors=True)
            finished.append(str(journal["run"]))
        finally:
            os.close(fd)
    return finished
