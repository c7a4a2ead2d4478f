"""Incremental crawl state: per URL its validators, content hash and when it was seen.

Kept as one Parquet file under ``Settings.state_dir`` (``crawl_state.parquet``), replaced
atomically, so the next nightly run knows what it has already got, and what it still owes:
a URL whose last fetch failed (5xx, timeout, ...) or that a run left for its page limit is
*pending* (``pending_since``, ``pending_reason``) until a later run fetches it. Files written
before these two columns existed load as they are (nothing pending).

One crawl at a time owns the state: :class:`StateLock` (an exclusive ``flock`` on
``crawl_state.lock`` beside it) is held from loading it to saving it. A second crawl would
save a state without the first one's fetches, and both would hit the site at once; it
stops at once with :class:`CrawlStateBusy`, which names the holder. The kernel releases the
lock when its process dies, so a killed crawl never leaves it behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

STATE_NAME = "crawl_state.parquet"
LOCK_NAME = "crawl_state.lock"
TS = pa.timestamp("us", tz="UTC")
STATE_SCHEMA = pa.schema(
    [
        pa.field("url", pa.string(), nullable=False),
        pa.field("kind", pa.string()),
        pa.field("status", pa.int32()),
        pa.field("etag", pa.string()),
        pa.field("last_modified", pa.string()),
        pa.field("sha256", pa.string()),
        pa.field("first_seen", TS),
        pa.field("last_fetched", TS),
        pa.field("last_changed", TS),
        # added later (nullable, appended): files without them still load
        pa.field("pending_since", TS),
        pa.field("pending_reason", pa.string()),
    ]
)


@dataclass
class UrlState:
    url: str
    kind: str = "article"
    status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    first_seen: datetime | None = None
    last_fetched: datetime | None = None
    last_changed: datetime | None = None
    # set while a fetch is owed: the last attempt failed, or a run's page limit left it
    pending_since: datetime | None = None
    pending_reason: str | None = None

    def validators(self) -> dict[str, str]:
        """Conditional-request headers for this URL (empty when nothing to validate)."""
        if self.status != 200:
            return {}
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


class CrawlState:
    """All known URLs in memory (a dict), loaded from and saved to Parquet."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.urls: dict[str, UrlState] = {}

    @classmethod
    def load(cls, state_dir: Path) -> CrawlState:
        state = cls(Path(state_dir) / STATE_NAME)
        if state.path.exists():
            names = {f.name for f in STATE_SCHEMA}
            for row in pq.read_table(state.path).to_pylist():
                # columns this code does not know are ignored; missing ones take defaults
                state.urls[row["url"]] = UrlState(**{k: v for k, v in row.items() if k in names})
        return state

    def get(self, url: str) -> UrlState | None:
        return self.urls.get(url)

    def pending(self) -> list[UrlState]:
        """URLs a run still owes a fetch (failed last time, or left for the page limit),
        oldest first."""
        rows = [r for r in self.urls.values() if r.pending_since is not None]
        return sorted(rows, key=lambda r: (r.pending_since, r.url))

    def mark_pending(self, url: str, kind: str, reason: str, now: datetime | None = None) -> None:
        """Record that ``url`` was not fetched this run (``reason``: why), so the next run
        fetches it and treats it as unseen. Validators and content hash are kept."""
        now = now or datetime.now(UTC)
        row = self.urls.get(url)
        if row is None:
            row = self.urls[url] = UrlState(url=url, kind=kind, first_seen=now)
        if row.pending_since is None:
            row.pending_since = now
        row.pending_reason = reason[:200]

    def clear_pending(self, url: str) -> None:
        row = self.urls.get(url)
        if row is not None:
            row.pending_since = row.pending_reason = None

    def update(
        self,
        url: str,
        kind: str,
        status: int,
        headers: dict[str, str],
        sha256: str | None,
        now: datetime | None = None,
    ) -> bool:
        """Record a response; returns True when the content is new or changed."""
        now = now or datetime.now(UTC)
        lower = {k.lower(): v for k, v in headers.items()}
        row = self.urls.get(url)
        if row is None:
            row = self.urls[url] = UrlState(url=url, kind=kind, first_seen=now)
        changed = sha256 is not None and sha256 != row.sha256
        row.kind, row.last_fetched = kind, now
        row.pending_since = row.pending_reason = None
        if status == 304:
            row.etag = lower.get("etag", row.etag)
            row.last_modified = lower.get("last-modified", row.last_modified)
            return False
        row.status = status
        row.etag = lower.get("etag")
        row.last_modified = lower.get("last-modified")
        if changed:
            row.sha256 = sha256
            row.last_changed = now
        return changed

    def save(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist([asdict(r) for r in self.urls.values()], STATE_SCHEMA)
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        try:
            pq.write_table(table, tmp, compression="zstd")
            os.replace(tmp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return self.path


class CrawlStateBusy(RuntimeError):
    """Another crawl holds the crawl state (:class:`StateLock`)."""


class StateLock:
    """The exclusive right to load, change and save the crawl state in ``state_dir``.

    ``acquire()`` takes it or raises :class:`CrawlStateBusy` at once, naming the process
    that holds it (pid, host, since when: written into the lock file by its holder);
    ``release()`` gives it back (idempotent). Also a context manager. The lock is an
    ``flock`` on the lock file's open file description: a second ``StateLock`` of the same
    directory conflicts even within one process, so every load-to-save span takes one."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> StateLock:
        if self._fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o664)
        except PermissionError:  # another user's lock file: lock it, without the holder note
            fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise CrawlStateBusy(
                f"another crawl holds the crawl state ({self.path}; {holder}). Two crawls at "
                "once would each save a state without the other's fetches, and double the "
                "load on the site: wait for that one to finish, or stop it."
            ) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd  # held from here on: release() (or the garbage collector) gives it back
        held = {"pid": os.getpid(), "host": socket.gethostname(),
                "since": datetime.now(UTC).replace(microsecond=0).isoformat()}
        with contextlib.suppress(OSError):  # the note is for the error message only
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(held).encode(), 0)
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)  # even if a forked child still has the fd
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> StateLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:  # a holder dropped without release(): do not keep the lock
        self.release()


def _holder(fd: int) -> str:
    """Who holds the lock, as its holder wrote it; a best effort (it may be mid-write)."""
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {info['pid']} on {info['host']}, since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"
