"""WARC source and sink (warcio): every fetched response can be archived and replayed offline.

``read_warc`` yields one :class:`RawRecord` per ``response`` (or ``resource``) record with the
URL, HTTP status, response headers (``Content-Type`` with its charset) and the payload with
transfer/content encodings undone. ``WarcSink`` writes responses; record ids and dates are
taken from the caller so that generated archives are byte-for-byte reproducible.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from kznews.acquire.base import RawRecord

# Extension field: the URL that was asked for when a redirect led to WARC-Target-URI.
REQUEST_URI = "WARC-X-Kznews-Request-URI"
_HOP_BY_HOP = {"content-encoding", "transfer-encoding", "content-length", "connection"}
_NS = uuid.UUID("6f0c3a52-8d0e-4a77-9a57-3c1f0d6a4b1e")


def _warc_date(ts: datetime) -> str:
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_warc_date(text: str | None) -> datetime:
    if not text:
        return datetime(1970, 1, 1, tzinfo=UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def read_warc(path: Path | str) -> Iterator[RawRecord]:
    """Every HTTP response of a ``.warc`` / ``.warc.gz`` file, in file order."""
    path = Path(path)
    with path.open("rb") as fh:
        for rec in ArchiveIterator(fh):
            if rec.rec_type not in ("response", "resource"):
                continue
            target = rec.rec_headers.get_header("WARC-Target-URI")
            if not target:
                continue
            requested = rec.rec_headers.get_header(REQUEST_URI) or target
            fetched_at = _parse_warc_date(rec.rec_headers.get_header("WARC-Date"))
            if rec.rec_type == "response" and rec.http_headers is not None:
                status = int(rec.http_headers.get_statuscode() or 0)
                headers = {
                    k: v for k, v in rec.http_headers.headers if k.lower() not in _HOP_BY_HOP
                }
            else:
                status = 200
                ctype = rec.rec_headers.get_header("Content-Type") or "application/octet-stream"
                headers = {"Content-Type": ctype}
            body = rec.content_stream().read()
            yield RawRecord(
                url=requested,
                body=body,
                status=status,
                headers=headers,
                final_url=target,
                fetched_at=fetched_at,
                source=f"{path.name}#{rec.rec_headers.get_header('WARC-Record-ID')}",
            )


class WarcSink:
    """Append HTTP responses to a gzip WARC file (``with WarcSink(path) as sink: ...``)."""

    def __init__(
        self,
        target: Path | str | BinaryIO,
        info: dict[str, str] | None = None,
        created: datetime | None = None,
    ) -> None:
        self._own = not hasattr(target, "write")
        if self._own:
            Path(target).parent.mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]
            self._fh: BinaryIO = Path(target).open("wb")  # type: ignore[arg-type]  # noqa: SIM115
        else:
            self._fh = target  # type: ignore[assignment]
        self._writer = WARCWriter(self._fh, gzip=True)
        self.count = 0
        if info is not None:
            created = created or datetime.now(UTC)
            rec = self._writer.create_warcinfo_record("kznews.warc.gz", info)
            rec.rec_headers.replace_header("WARC-Date", _warc_date(created))
            rec.rec_headers.replace_header(
                "WARC-Record-ID", f"<urn:uuid:{uuid.uuid5(_NS, 'warcinfo|' + str(info))}>"
            )
            self._writer.write_record(rec)

    def write(self, rec: RawRecord, reason: str = "") -> None:
        """Write ``rec`` as a ``response`` record (``WARC-Target-URI`` is its final URL)."""
        target = rec.final_url or rec.url
        headers = [(k, v) for k, v in rec.headers.items() if k.lower() not in _HOP_BY_HOP]
        headers.append(("Content-Length", str(len(rec.body))))
        http_headers = StatusAndHeaders(
            f"{rec.status} {reason or _REASONS.get(rec.status, 'Status')}",
            headers,
            protocol="HTTP/1.1",
        )
        date = _warc_date(rec.fetched_at)
        warc_headers = {
            "WARC-Date": date,
            "WARC-Record-ID": f"<urn:uuid:{uuid.uuid5(_NS, f'{rec.url}|{date}|{rec.sha256}')}>",
        }
        if rec.url != target:
            warc_headers[REQUEST_URI] = rec.url
        record = self._writer.create_warc_record(
            target,
            "response",
            payload=BytesIO(rec.body),
            length=len(rec.body),
            http_headers=http_headers,
            warc_headers_dict=warc_headers,
        )
        self._writer.write_record(record)
        self.count += 1

    def close(self) -> None:
        if self._own:
            self._fh.close()
        else:
            self._fh.flush()

    def __enter__(self) -> WarcSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
