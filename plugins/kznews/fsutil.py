"""File-system helpers shared by the stages that write files readers may see."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import time
from collections.abc import Iterable
from pathlib import Path

#: Age after which a temporary file or folder can only be a killed run's leftover: no stage
#: keeps one open that long between writing it and renaming it into place.
STALE_AFTER_S = 3600.0


def fsync_path(path: Path) -> None:
    """Flush a file (or a folder's entries) to disk, so a rename that follows is durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename: a reader sees the old or the new file,
    never half of one. The temporary file has a name of its own (two writers never share
    it), is flushed to disk before the rename, and is removed if anything fails."""
    import uuid

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        fsync_path(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def file_identity(path: Path) -> list[int]:
    """What changes whenever a file is written or replaced: inode, size, mtime (ns). A hard
    link or a read-only open changes none of them."""
    st = path.stat()
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def is_file_of_size(path: Path, size: int | None = None) -> bool:
    """Whether ``path`` is a regular file (of ``size`` bytes when given); False, not an
    error, when it is missing or unreadable."""
    try:
        st = path.stat()
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and (size is None or st.st_size == size)


def remove_stale(paths: Iterable[Path], older_than_s: float = STALE_AFTER_S) -> int:
    """Delete the given files or folders that are older than ``older_than_s``; returns count."""
    now = time.time()
    removed = 0
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            if now - path.stat().st_mtime <= older_than_s:
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink()
            removed += 1
    return removed
