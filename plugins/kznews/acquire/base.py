"""The record every source yields, and the dispatcher choosing a source from a URI."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kznews.config import Settings


@dataclass(frozen=True)
class RawRecord:
    """One fetched (or archived) HTTP response, bytes unchanged."""

    url: str
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    final_url: str | None = None
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    source: str = ""
    #: Set when the record is not a whole response: a reason code (``truncated_record``: a
    #: WARC file cut inside it), with ``defect_detail`` saying more. Landings quarantine such
    #: a record instead of landing it; ``body`` is what could be read.
    defect: str | None = None
    defect_detail: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def content_type(self) -> str | None:
        for k, v in self.headers.items():
            if k.lower() == "content-type":
                return v
        return None

    def headers_json(self) -> str:
        return json.dumps(self.headers, ensure_ascii=False, sort_keys=True)


#: How the WARC files a crawl writes are named, so the ``source`` of every record a crawl
#: landed starts with it (``crawl-<time>-<id>.warc.gz#<record id>``); files landed from a
#: folder or another WARC do not.
CRAWL_SOURCE_PREFIX = "crawl-"


def is_crawl(uri: str | Path) -> bool:
    """Whether ``uri`` names a crawl (``"crawl"`` or an http(s) URL) rather than files."""
    text = str(uri)
    return text in ("crawl", "crawl:") or text.startswith(("http://", "https://"))


def open_source(uri: str | Path, settings: Settings | None = None) -> Iterable[RawRecord]:
    """Pick the source for ``uri``: http(s) URL, WARC file, folder or single HTML file.

    ``"crawl"`` crawls from ``settings.start_urls``; an http(s) URL crawls from that URL.
    A crawl keeps state between runs: call :func:`commit_source` once its records are
    landed (files need nothing).
    """
    from kznews.config import load_settings

    settings = settings or load_settings()
    text = str(uri)
    if is_crawl(text):
        from kznews.acquire.crawl import crawl_records

        return crawl_records(None if text.startswith("crawl") else text, settings)
    path = Path(text)
    if not path.exists():
        raise FileNotFoundError(f"source not found: {path}")
    if path.is_file() and path.name.endswith((".warc", ".warc.gz")):
        from kznews.acquire.warc import read_warc

        return read_warc(path)
    if path.is_dir() and any(path.glob("*.warc*")):
        from kznews.acquire.folder import read_mixed_folder

        return read_mixed_folder(path)
    from kznews.acquire.folder import read_html_folder

    return read_html_folder(path)


def commit_source(records: Iterable[RawRecord]) -> None:
    """Tell a source whose records are now durably landed that it may save its state (a
    crawl's :meth:`~kznews.acquire.crawl.CrawlRecords.commit`); nothing for files."""
    commit = getattr(records, "commit", None)
    if commit is not None:
        commit()


def close_source(records: Iterable[RawRecord]) -> None:
    """Let a source go, committed or not: a crawl gives its state's lock back
    (:meth:`~kznews.acquire.crawl.CrawlRecords.close`), a generator is closed."""
    close = getattr(records, "close", None)
    if close is not None:
        close()
