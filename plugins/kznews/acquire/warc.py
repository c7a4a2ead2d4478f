"""WARC source and sink (warcio): every fetched response can be archived and replayed offline.

``read_warc`` yields one :class:`RawRecord` per ``response`` (or ``resource``) record with the
URL, HTTP status, response headers (``Content-Type`` with its charset) and the payload with
transfer/content encodings undone. ``WarcSink`` writes responses; record ids and dates are
taken from the caller so that generated archives are byte-for-byte reproducible.

A ``.warc.gz`` is normally one gzip member per record; a file compressed whole (``gzip
file.warc``) is read too, through one decompressing stream; zero bytes after a member
(padding, which ``gzip`` accepts) are no cut. Records that are not pages
(``warcinfo``, ``request``, ``metadata``) are skipped; a ``revisit`` record (a deduplicating
crawler's "same payload as an earlier capture") carries no page and a response (resource,
revisit) without a ``WARC-Target-URI`` names none: both come out with a ``defect``
(``warc_revisit``, ``no_target_uri``), so a landing quarantines them instead of losing them,
and the records after them are read (warcio alone fails on a nameless response and ends
the file there: see ``_RecordLoader.load_http_headers``); so does the first
segment of a segmented record (``segmented_record``: segments are not put back together),
and a page record whose ``WARC-Date`` is no date (``bad_warc_date``).
Declared digests (``WARC-Block-Digest``, ``WARC-Payload-Digest``) are computed as a record
is read and compared in any encoding writers use (base32, hex, base64); a record whose block
digest does not match, or which declares none and whose payload digest does not match a
payload sent without a transfer encoding, is quarantined as ``digest_mismatch`` (its bytes
changed after the crawl wrote them). A payload digest of a chunked response is not held
against it: writers differ on whether it covers the chunked bytes or the body (see
``_digest_problem``).
"""

from __future__ import annotations

import base64
import binascii
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator, ArchiveLoadFailed
from warcio.digestverifyingreader import DigestVerifyingReader
from warcio.limitreader import LimitReader
from warcio.recordloader import ArcWarcRecord, ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from kznews.acquire.base import RawRecord

__all__ = ["BAD_DATE", "DIGEST_MISMATCH", "NO_TARGET", "REQUEST_URI", "REVISIT", "SEGMENTED",
           "TRUNCATED", "UnreadableWarc", "WarcSink", "read_warc"]

# Extension field: the URL that was asked for when a redirect led to WARC-Target-URI.
REQUEST_URI = "WARC-X-Kznews-Request-URI"
_HOP_BY_HOP = {"content-encoding", "transfer-encoding", "content-length", "connection"}
_NS = uuid.UUID("6f0c3a52-8d0e-4a77-9a57-3c1f0d6a4b1e")


def _warc_date(ts: datetime) -> str:
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _BadWarcDate(ValueError):
    """A record's ``WARC-Date`` is no date this reader can place in UTC."""


def _parse_warc_date(text: str | None) -> datetime:
    """``WARC-Date`` in UTC; none at all gives the epoch (the fetch time is unknown). The
    standard writes it in UTC (``...Z``): one without a zone is read as UTC, never in the
    reading machine's zone. Raises :class:`_BadWarcDate` for one that is no ISO date, or
    falls outside ``datetime``'s years once moved to UTC."""
    if not text:
        return _EPOCH
    try:
        when = datetime.fromisoformat(text.strip().upper().replace("Z", "+00:00"))
        return (when.replace(tzinfo=UTC) if when.tzinfo is None else when).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise _BadWarcDate(f"WARC-Date {text[:80]!r} is not a date ({exc})") from exc


def _fetched_at(rec: ArcWarcRecord) -> datetime:
    """The record's ``WARC-Date`` for a record quarantined anyway: the epoch when bad."""
    try:
        return _parse_warc_date(rec.rec_headers.get_header("WARC-Date"))
    except _BadWarcDate:
        return _EPOCH


#: Reason code of a record a WARC file holds only part of (see ``RawRecord.defect``).
TRUNCATED = "truncated_record"
#: Reason codes of records that hold no page of their own (see the module doc).
REVISIT = "warc_revisit"
NO_TARGET = "no_target_uri"
#: Reason code of a page record whose ``WARC-Date`` is no date (its fetch time unknown).
BAD_DATE = "bad_warc_date"
SEGMENTED = "segmented_record"
#: Reason code of a record whose WARC-Payload-Digest or WARC-Block-Digest does not match it.
DIGEST_MISMATCH = "digest_mismatch"
#: Record types that are pages, and those that stand for one without holding it.
_PAGE_TYPES = ("response", "resource")


class UnreadableWarc(ValueError):
    """The file is not a readable WARC file: malformed, not cut (a cut file is read up to
    the cut, its last record quarantined as ``truncated_record``)."""


def read_warc(path: Path | str) -> Iterator[RawRecord]:
    """Every HTTP response of a ``.warc`` / ``.warc.gz`` file, in file order.

    A file cut short (a copy or a crawl that died mid-write) does not fail the reading: the
    record it cuts comes with ``defect="truncated_record"`` (landings quarantine it), and
    the records before it come as usual. A record is cut when its block is shorter than its
    ``Content-Length``, when its header has no usable ``Content-Length``, when the file ends
    inside the record's gzip member or its closing blank lines, or when warcio cannot parse
    what follows the last whole record (the row then names the file, or the record's URL
    when its header said it). A file that cannot be parsed but ends whole is malformed, not
    cut: it is refused with :class:`UnreadableWarc`, a ``.warc.gz`` naming the offset in its
    uncompressed stream where reading stopped.
    """
    path = Path(path)
    last: RawRecord | None = None  # held back until the file is known to go on past it
    last_is_final = False  # no other record after it (so a cut file cut that one)
    final_start = 0  # where the file's last record starts: only its member is checked
    yielded = 0
    with path.open("rb") as fh:
        records = _archive(fh)
        it = iter(records)
        while True:
            target = None
            try:
                rec = next(it)
                last_is_final, final_start = False, records.offset
                if _declared_length(rec) is None:
                    raise EOFError("a record header without a usable Content-Length")
                target = rec.rec_headers.get_header("WARC-Target-URI")
                out = _page(path, rec, target)
                if out is None:
                    continue
            except StopIteration:
                break
            except Exception as exc:  # warcio on a tail cut inside a record's header
                single = isinstance(exc, ArchiveLoadFailed) and "non-chunked" in str(exc)
                # read at most once: for a .warc.gz it decompresses the whole file
                whole = single or _ends_whole(path)
                if single or (whole and _is_gzip(path)):
                    # compressed whole, not record by record (warcio's offsets are then
                    # meaningless), or malformed: read it again as one stream, which reads
                    # the first or refuses the second naming an offset of the uncompressed
                    # stream ("last" was not yielded: it comes again from there)
                    yield from _read_one_stream(path, skip=yielded)
                    return
                if not _looks_like_warc(path) or whole:
                    # not a WARC file, or one malformed rather than cut short
                    raise UnreadableWarc(f"{path} is not a readable WARC file: at byte "
                                         f"{records.offset}, {type(exc).__name__}: {exc}"
                                         ) from exc
                if last is not None:
                    yield last
                yield _unreadable_tail(path, records.offset, exc, target)
                return
            if last is not None:
                yield last
                yielded += 1
            last, last_is_final = out, True
    whole = path.stat().st_size == 0 or _ends_whole(path, final_start)
    if last is not None and not whole and last_is_final and last.defect is None:
        last = replace(last, defect=TRUNCATED,
                       defect_detail="the file ends inside this record (its last)")
    if last is not None:
        yield last
    if not whole and not last_is_final:
        yield _unreadable_tail(path, records.offset, EOFError("the file ends inside a record"))


def _page(path: Path, rec: ArcWarcRecord, target: str | None) -> RawRecord | None:
    """The record as a page, a record with a ``defect`` when it stands for a page it does
    not hold, or None when it is no page at all (warcinfo, request, metadata)."""
    if rec.rec_type == "revisit":
        if not target:  # whatever its payload, no page URL to land it under
            return _no_page(path, rec, target, NO_TARGET,
                            "a revisit record without WARC-Target-URI: no page URL")
        refers = rec.rec_headers.get_header("WARC-Refers-To-Target-URI") or "an earlier capture"
        when = rec.rec_headers.get_header("WARC-Refers-To-Date") or "an unknown date"
        return _no_page(path, rec, target, REVISIT,
                        f"a revisit record: the payload is that of {refers} at {when}, not in "
                        "this record; land the WARC file holding that capture")
    if rec.rec_type not in _PAGE_TYPES:
        return None  # continuation records go with their first segment, quarantined below
    segment = rec.rec_headers.get_header("WARC-Segment-Number")
    if segment:
        return _no_page(path, rec, target, SEGMENTED,
                        f"segment {segment} of a record continued in 'continuation' records; "
                        "segments are not put back together, so the page is not whole here")
    if not target:
        return _no_page(path, rec, target, NO_TARGET,
                        f"a {rec.rec_type} record without WARC-Target-URI: no page URL")
    return _record(path, rec, target)


def _no_page(
    path: Path, rec: ArcWarcRecord, target: str | None, reason: str, detail: str
) -> RawRecord:
    record_id = rec.rec_headers.get_header("WARC-Record-ID") or "?"
    status = rec.http_headers.get_statuscode() if rec.http_headers is not None else None
    return RawRecord(
        url=target or f"{path.name}#{record_id}",
        body=b"",
        status=int(status) if status and status.isdigit() else 0,
        fetched_at=_fetched_at(rec),
        source=f"{path.name}#{record_id}",
        defect=reason,
        defect_detail=detail,
    )


class _Gunzip:
    """A file's gzip members decompressed as one stream, read in bounded pieces. Unlike
    :mod:`gzip` it gives every byte it could decompress before a cut, then ends, and says
    so in ``cut``; warcio takes a raising stream for an early end. Like :mod:`gzip`, it
    takes zero bytes where a member could start for padding, not for a cut member."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self._d: zlib._Decompress | None = None  # None between members
        self._buf = b""  # compressed bytes not yet given to a decompressor
        self.cut = False

    def read(self, size: int = -1) -> bytes:
        size = size if size and size > 0 else 1 << 20
        while True:
            if not self._buf:
                self._buf = self._fh.read(1 << 16)
                if not self._buf:
                    self.cut = self.cut or self._d is not None  # ended inside a member
                    return b""
            if self._d is None:  # a member ended (or none began): padding, or the next one
                self._buf = self._buf.lstrip(b"\0")
                if not self._buf:
                    continue
                self._d = zlib.decompressobj(31)
            try:
                out = self._d.decompress(self._buf, size)
            except zlib.error:
                self.cut = True
                return b""
            if self._d.eof:  # what follows the member; unconsumed_tail may repeat it
                self._buf, self._d = self._d.unused_data, None
            else:
                self._buf = self._d.unconsumed_tail
            if out:
                return out


def _read_one_stream(path: Path, skip: int) -> Iterator[RawRecord]:
    """The records of a ``.warc.gz`` compressed as a single gzip stream, after the first
    ``skip`` (already yielded). Cut short, a record whose block is incomplete comes with
    ``truncated_record`` and a ``truncated_record`` row for the file follows the last record
    read (a gzip stream cannot say whether another record was lost after it). A record that
    cannot be parsed in a stream that is not cut is a malformed file, refused like an
    uncompressed one (:class:`UnreadableWarc`), not read as a cut one: that would drop the
    whole records after it."""
    last: RawRecord | None = None
    seen = 0
    with path.open("rb") as fh:
        stream = _Gunzip(fh)
        records = _archive(stream)
        target = None
        try:
            for rec in records:
                target = rec.rec_headers.get_header("WARC-Target-URI")
                if _declared_length(rec) is None:
                    raise EOFError("a record header without a usable Content-Length")
                out = _page(path, rec, target)
                if out is None:
                    continue
                seen += 1
                if seen <= skip:
                    continue
                if last is not None:
                    yield last
                last, target = out, None
        except Exception as exc:  # warcio, or a record header that is no header
            while stream.read(1 << 20):  # to the end of the stream: was it cut?
                pass
            if not stream.cut:
                raise UnreadableWarc(f"{path} is not a readable WARC file: at byte "
                                     f"{records.offset} of its uncompressed stream, "
                                     f"{type(exc).__name__}: {exc}") from exc
            if last is not None:
                yield last
            yield _unreadable_tail(path, records.offset, exc, target)
            return
    if last is not None:
        yield last  # its own length check flagged it if the cut took part of its block
    if stream.cut:  # whatever followed the last whole record is lost: say so
        yield _unreadable_tail(path, records.offset, EOFError(
            "the file's single gzip stream ends early (offsets of the uncompressed stream)"))


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _looks_like_warc(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(5)
    return head.startswith(b"\x1f\x8b") or (head != b"" and b"WARC/".startswith(head))


def _ends_whole(path: Path, start: int = 0) -> bool:
    """Whether the file ends where a record does: a gzip file with its members from byte
    ``start`` on (the last record's, read already: not the whole file again) whole, trailer
    included, and nothing after them but zero bytes (padding, which :mod:`gzip` accepts); an
    uncompressed one with the blank lines closing a record."""
    with path.open("rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            fh.seek(-4, 2) if path.stat().st_size >= 4 else fh.seek(0)
            return fh.read() == b"\r\n\r\n"
        fh.seek(start)
        stream = _Gunzip(fh)  # walks the members as the reader does; output discarded
        while stream.read(1 << 20):
            pass
        return not stream.cut


def _declared_length(rec: ArcWarcRecord) -> int | None:
    value = (rec.rec_headers.get_header("Content-Length") or "").strip()
    return int(value) if value.isdigit() else None


def _record(path: Path, rec: ArcWarcRecord, target: str) -> RawRecord:
    requested = rec.rec_headers.get_header(REQUEST_URI) or target
    try:
        fetched_at = _parse_warc_date(rec.rec_headers.get_header("WARC-Date"))
    except _BadWarcDate as exc:  # this page alone: the records after it are read
        return _no_page(path, rec, target, BAD_DATE,
                        f"{exc}: when the page was fetched is unknown; fix the date and land "
                        "the record again")
    if rec.rec_type == "response" and rec.http_headers is not None:
        status = int(rec.http_headers.get_statuscode() or 0)
        headers = {k: v for k, v in rec.http_headers.headers if k.lower() not in _HOP_BY_HOP}
    else:
        status = 200
        ctype = rec.rec_headers.get_header("Content-Type") or "application/octet-stream"
        headers = {"Content-Type": ctype}
    body = rec.content_stream().read()
    while rec.raw_stream.read(1 << 16):  # the rest of the block (digests cover all of it)
        pass
    record_id = rec.rec_headers.get_header("WARC-Record-ID")
    return RawRecord(
        url=requested,
        body=body,
        status=status,
        headers=headers,
        final_url=target,
        fetched_at=fetched_at,
        source=f"{path.name}#{record_id}",
        **(_truncation(rec) or _digest_problem(rec)),
    )


def _truncation(rec: ArcWarcRecord) -> dict[str, str]:
    """``defect`` fields for a record whose block the file holds only part of: after its
    payload was read, bytes of its ``Content-Length`` are still missing (warcio's
    LimitReader counts them down)."""
    declared = _declared_length(rec)
    missing = getattr(rec.raw_stream, "limit", None)
    if missing is not None and missing > 0:
        return {"defect": TRUNCATED, "defect_detail": f"the file ends {missing} bytes "
                f"before the end of the record's {declared}-byte block"}
    return {}


def _digest_problem(rec: ArcWarcRecord) -> dict[str, str]:
    """``defect`` fields for a whole record whose declared digest does not match its bytes;
    nothing for a record that declares none, or none this reader can compute.

    warcio computes the digests as the record is read (:class:`_DigestingReader`); the
    declared values are compared here, decoded leniently (base32 in any case, with or
    without padding; hex; base64, standard or URL-safe), since writers differ. The block
    digest covers every byte of the record's block, so a declared one that does not match
    quarantines the record. The payload digest alone quarantines it only when no block
    digest was checked and the response has no ``Transfer-Encoding``: the WARC standard (and
    heritrix) digest the payload with the transfer encoding undone, warcio and others over
    the bytes as sent, so on a chunked response a declared payload digest cannot tell a
    changed record from another writer's reading; and with a matching block digest every
    byte is known intact whatever the payload digest was computed over."""
    reader = rec.raw_stream
    block = _digest_check(getattr(reader, "block_digester", None),
                          getattr(reader, "block_digest", None))
    payload = _digest_check(getattr(reader, "payload_digester_obj", None),
                            getattr(reader, "payload_digest", None))
    if block is not None and not block[0]:
        return {"defect": DIGEST_MISMATCH, "defect_detail": f"block digest failed: "
                f"WARC-Block-Digest {block[1]} declared, the block's is {block[2]}"[:500]}
    if payload is not None and not payload[0] and block is None and not _transfer_coded(rec):
        return {"defect": DIGEST_MISMATCH, "defect_detail": f"payload digest failed: "
                f"WARC-Payload-Digest {payload[1]} declared, the payload's is {payload[2]}"[:500]}
    return {}


def _digest_check(
    digester: Digester | None, declared: str | None
) -> tuple[bool, str, str] | None:
    """(whether ``declared`` matches what ``digester`` computed, declared, computed), or None
    when there is nothing to compare (none declared, or an algorithm not computed)."""
    if digester is None or not declared:
        return None
    computed = str(digester)
    ours = base64.b32decode(computed.partition(":")[2])
    value = declared.partition(":")[2]
    return any(d == ours for d in _decodings(value)), declared.strip(), computed


def _decodings(value: str) -> Iterator[bytes]:
    """Every reading of a declared digest value: base32 (any case, padded or not), hex,
    base64 (standard or URL-safe, padded or not)."""
    text = value.strip()
    b32 = text.upper().rstrip("=")
    b64 = text.rstrip("=")
    for decode in (
        lambda: base64.b32decode(b32 + "=" * (-len(b32) % 8)),
        lambda: bytes.fromhex(text),
        lambda: base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True),
        lambda: base64.b64decode(b64 + "=" * (-len(b64) % 4), altchars=b"-_", validate=True),
    ):
        try:
            yield decode()
        except (binascii.Error, ValueError):
            continue


def _transfer_coded(rec: ArcWarcRecord) -> bool:
    if rec.http_headers is None:
        return False
    coding = (rec.http_headers.get_header("Transfer-Encoding") or "").strip().lower()
    return coding not in ("", "identity")


def _digester(declared: str | None) -> Digester | None:
    """A digester for the algorithm ``declared`` names (``sha1``, ``SHA-1``, ``sha256``...),
    or None when it names none this Python computes."""
    algo, sep, _ = (declared or "").partition(":")
    name = algo.strip().lower()
    if not sep or not name:
        return None
    for candidate in dict.fromkeys((name, name.replace("-", ""), name.replace("-", "_"))):
        try:
            digester = Digester(candidate)
        except (ValueError, TypeError):
            continue
        if digester.digester.digest_size > 0:  # not a variable-length one (shake_*)
            return digester
    return None


class _DigestingReader(DigestVerifyingReader):
    """warcio's digest-verifying reader, computing the block and payload digests as a record
    is read but not comparing them: warcio compares the declared value strictly (one
    encoding, exact algorithm names) and can raise on one it cannot decode, refusing the
    whole file. :func:`_digest_problem` compares them once the record is read."""

    def __init__(
        self,
        stream: BinaryIO,
        limit: int,
        digest_checker: object,
        record_type: str | None = None,
        payload_digest: str | None = None,
        block_digest: str | None = None,
        segment_number: str | None = None,
    ) -> None:
        LimitReader.__init__(self, stream, limit)
        self.digest_checker = digest_checker
        if record_type == "revisit":  # as warcio: a revisit's digests are another record's
            block_digest = payload_digest = None
        if segment_number is not None:  # a segment's payload digest is the whole payload's
            payload_digest = None
        self.payload_digest, self.block_digest = payload_digest, block_digest
        self.block_digester = _digester(block_digest)
        self.payload_digester_obj = _digester(payload_digest)
        self.payload_digester: Digester | None = None

    def begin_payload(self) -> None:
        self.payload_digester = self.payload_digester_obj

    def _update(self, buff: bytes) -> bytes:
        LimitReader._update(self, buff)
        if self.payload_digester is not None:
            self.payload_digester.update(buff)
        if self.block_digester is not None:
            self.block_digester.update(buff)
        return buff


class _RecordLoader(ArcWarcRecordLoader):
    def load_http_headers(  # type: ignore[override]
        self, rec_type: str | None, uri: str | None, stream: BinaryIO, length: int | None,
    ) -> StatusAndHeaders | None:
        """warcio's, except for a record without ``WARC-Target-URI``: warcio looks at the
        URI's scheme to decide whether the block holds HTTP headers and fails on a missing
        one (``None.startswith``), which ends its iterator and so refused the whole file.
        Without a URI nothing says the block is HTTP, and such a record is quarantined
        (``no_target_uri``) whatever it holds, so its block is left unparsed, as warcio
        leaves that of a non-HTTP URI. Only the missing URI is let through: a malformed
        record still fails as before."""
        if uri is None:
            return None
        return super().load_http_headers(rec_type, uri, stream, length)

    def wrap_digest_verifying_stream(  # type: ignore[override]
        self, stream: BinaryIO, rec_type: str, rec_headers: StatusAndHeaders,
        digest_checker: object, length: int | None = None,
    ) -> tuple[BinaryIO, bool]:
        payload = rec_headers.get_header("WARC-Payload-Digest")
        block = rec_headers.get_header("WARC-Block-Digest")
        if not payload and not block:
            return stream, False
        return _DigestingReader(  # type: ignore[return-value]
            stream, length, digest_checker, record_type=rec_type, payload_digest=payload,
            block_digest=block, segment_number=rec_headers.get_header("WARC-Segment-Number"),
        ), True


def _archive(fh: BinaryIO) -> ArchiveIterator:
    """warcio's record iterator, computing declared digests (see :func:`_digest_problem`)."""
    records = ArchiveIterator(fh, check_digests=True)
    records.loader = _RecordLoader(verify_http=False, arc2warc=False)  # as ArchiveIterator
    return records


def _unreadable_tail(
    path: Path, offset: int, exc: Exception, url: str | None = None
) -> RawRecord:
    return RawRecord(
        url=url or path.name,
        body=b"",
        status=0,
        fetched_at=datetime(1970, 1, 1, tzinfo=UTC),
        source=f"{path.name}@{offset}",
        defect=TRUNCATED,
        defect_detail=f"no whole record from byte {offset} on ({type(exc).__name__}: "
        f"{str(exc)[:200]})",
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
