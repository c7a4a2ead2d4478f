"""WARC files as other tools write them: compressed whole rather than record by record
(``gzip file.warc``), with ``revisit`` records of a deduplicating crawler, with a response
that names no URL. Every page is read; what holds no page is quarantined, never dropped."""

from __future__ import annotations

import base64
import gzip
import hashlib
from datetime import UTC, date, datetime
from io import BytesIO
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from kznews.acquire.base import RawRecord
from kznews.acquire.warc import (
    BAD_DATE,
    DIGEST_MISMATCH,
    NO_TARGET,
    REVISIT,
    TRUNCATED,
    UnreadableWarc,
    WarcSink,
    read_warc,
)
from kznews.land import QUARANTINE_NAME, land_records, partition_dir, read_partition

URL = "http://www.old.exclusive.kz/a/{}/"
BODY = b"<html><head><title>t</title></head><body><p>%d</p></body></html>"


@pytest.fixture(scope="module")
def per_record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("warc") / "three.warc.gz"
    with WarcSink(path, info={"software": "test"}) as sink:
        for i in range(3):
            sink.write(RawRecord(url=URL.format(i), body=BODY % i,
                                 headers={"Content-Type": "text/html; charset=utf-8"},
                                 fetched_at=datetime(2024, 5, 17, tzinfo=UTC)))
    return path


def _one_stream(per_record: Path, dst: Path, cut: int = 0) -> Path:
    data = gzip.compress(gzip.decompress(per_record.read_bytes()), mtime=0)
    dst.write_bytes(data[: len(data) - cut])
    return dst


def test_a_file_compressed_whole_reads_like_one_compressed_per_record(
    per_record: Path, tmp_path: Path
) -> None:
    whole = _one_stream(per_record, tmp_path / "whole.warc.gz")
    expected = [(r.url, r.body, r.status, r.defect) for r in read_warc(per_record)]
    assert [(r.url, r.body, r.status, r.defect) for r in read_warc(whole)] == expected
    assert len(expected) == 3


@pytest.mark.parametrize("cut", [5, 40, 200])
def test_a_cut_single_stream_keeps_its_whole_records_and_says_it_was_cut(
    per_record: Path, tmp_path: Path, cut: int
) -> None:
    recs = list(read_warc(_one_stream(per_record, tmp_path / "cut.warc.gz", cut)))
    whole = [r for r in recs if r.defect is None]
    assert [r.body for r in whole] == [BODY % i for i in range(len(whole))]
    assert recs[-1].defect == TRUNCATED and "ends early" in recs[-1].defect_detail
    assert len(whole) < 3 or cut == 5  # only the gzip trailer is gone at 5


@pytest.mark.parametrize("single_stream", [False, True])
@pytest.mark.parametrize("padding", [1, 512, 70_000])
def test_zero_padding_after_the_last_gzip_member_is_no_cut(
    per_record: Path, tmp_path: Path, single_stream: bool, padding: int
) -> None:
    """gzip(1) takes zero bytes after the last member for padding (tape blocks, some
    copies); they are no member cut short."""
    data = (gzip.compress(gzip.decompress(per_record.read_bytes()), mtime=0) if single_stream
            else per_record.read_bytes())
    path = tmp_path / "padded.warc.gz"
    path.write_bytes(data + b"\0" * padding)
    assert [(r.url, r.defect) for r in read_warc(path)] == [(URL.format(i), None)
                                                           for i in range(3)]


def test_zero_padding_then_garbage_is_still_a_cut(per_record: Path, tmp_path: Path) -> None:
    data = gzip.compress(gzip.decompress(per_record.read_bytes()), mtime=0)
    path = tmp_path / "padded.warc.gz"
    path.write_bytes(data + b"\0" * 100 + b"garbage!")
    recs = list(read_warc(path))
    assert [r.defect for r in recs] == [None, None, None, TRUNCATED]


def _read_until_refused(path: Path) -> tuple[list[str], str]:
    urls: list[str] = []
    with pytest.raises(UnreadableWarc) as refused:
        for rec in read_warc(path):
            urls.append(rec.url)
    return urls, str(refused.value)


@pytest.mark.parametrize("which", [1, 2, 3])
def test_a_malformed_record_in_a_single_stream_refuses_the_file_like_uncompressed(
    per_record: Path, tmp_path: Path, which: int
) -> None:
    """A record header that is no header, in a single gzip stream that ends whole, is a
    malformed file as it is uncompressed: refused at the offset where reading stopped (of
    the uncompressed stream), not read as a cut file, which dropped the records after it."""
    plain = gzip.decompress(per_record.read_bytes())
    starts = [i for i in range(len(plain)) if plain.startswith(b"WARC/1.", i)]
    bad = plain[:starts[which]] + b"JUNK" + plain[starts[which] + 4:]
    (tmp_path / "bad.warc").write_bytes(bad)
    (tmp_path / "bad.warc.gz").write_bytes(gzip.compress(bad, mtime=0))
    urls, plain_error = _read_until_refused(tmp_path / "bad.warc")
    gz_urls, gz_error = _read_until_refused(tmp_path / "bad.warc.gz")
    assert f"at byte {starts[which]}," in plain_error
    assert f"at byte {starts[which]} of its uncompressed stream" in gz_error
    assert gz_urls == urls == [URL.format(i) for i in range(len(urls))]


def _warc_with(records) -> bytes:
    out = BytesIO()
    writer = WARCWriter(out, gzip=True)
    for rec in records(writer):
        writer.write_record(rec)
    return out.getvalue()


def test_revisits_and_nameless_records_are_quarantined(tmp_path: Path) -> None:
    def records(writer: WARCWriter):
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        yield writer.create_warc_record(URL.format(1), "response", payload=BytesIO(BODY % 1),
                                        http_headers=http)
        yield writer.create_revisit_record(
            URL.format(2), digest="sha1:AAAA", refers_to_uri=URL.format(1),
            refers_to_date="2024-05-17T00:00:00Z",
            http_headers=StatusAndHeaders("200 OK", [], protocol="HTTP/1.1"))
        nameless = writer.create_warc_record(URL.format(3), "resource",
                                             payload=BytesIO(BODY % 3))
        nameless.rec_headers.remove_header("WARC-Target-URI")
        yield nameless

    path = tmp_path / "dedup.warc.gz"
    path.write_bytes(_warc_with(records))
    recs = list(read_warc(path))
    assert [(r.url, r.defect) for r in recs[:2]] == [(URL.format(1), None),
                                                     (URL.format(2), REVISIT)]
    assert URL.format(1) in recs[1].defect_detail and recs[1].status == 200
    assert recs[2].defect == NO_TARGET and recs[2].url.startswith("dedup.warc.gz#")

    day = date(2026, 11, 2)
    result = land_records(recs, tmp_path / "raw", day)
    assert result.rows == 1 and result.defective == 2
    assert read_partition(tmp_path / "raw", day).column("url").to_pylist() == [URL.format(1)]
    reasons = pq.read_table(partition_dir(tmp_path / "raw", day) / QUARANTINE_NAME)
    assert sorted(reasons.column("reason").to_pylist()) == [NO_TARGET, REVISIT]


def _forms(tmp_path: Path, name: str, records) -> list[Path]:
    """The records as the three forms a WARC file comes in: uncompressed, one gzip member
    per record, and compressed whole (``gzip file.warc``)."""
    plain = BytesIO()
    writer = WARCWriter(plain, gzip=False)
    for rec in records(writer):
        writer.write_record(rec)
    paths = [tmp_path / f"{name}.warc", tmp_path / f"{name}.warc.gz",
             tmp_path / f"{name}-whole.warc.gz"]
    paths[0].write_bytes(plain.getvalue())
    paths[1].write_bytes(_warc_with(records))
    paths[2].write_bytes(gzip.compress(plain.getvalue(), mtime=0))
    return paths


def test_a_warc_date_without_a_zone_is_utc_whatever_the_machines_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    def records(writer: WARCWriter):
        for n, when in enumerate(("2024-05-17T10:00:00", "2024-05-17t10:00:00z",
                                  "2024-05-17T15:00:00+05:00")):
            rec = writer.create_warc_record(URL.format(n), "resource",
                                            payload=BytesIO(BODY % n),
                                            warc_content_type="text/html")
            rec.rec_headers.replace_header("WARC-Date", when)
            yield rec

    path = _forms(tmp_path, "zones", records)[0]
    monkeypatch.setenv("TZ", "Asia/Almaty")
    time.tzset()
    try:
        stamps = {r.fetched_at for r in read_warc(path)}
    finally:
        monkeypatch.undo()
        time.tzset()
    assert stamps == {datetime(2024, 5, 17, 10, 0, tzinfo=UTC)}


@pytest.mark.parametrize("form", [0, 1, 2], ids=["warc", "per-record-gz", "whole-gz"])
def test_a_page_whose_warc_date_is_no_date_is_quarantined_and_its_neighbours_land(
    tmp_path: Path, form: int
) -> None:
    """A ``WARC-Date`` that is no date (text, or one past year 9999 once moved to UTC)
    refused the whole file; the page's fetch time is unknown, so it alone is quarantined
    as ``bad_warc_date``. A bad date on a record that is no page (warcinfo) is no matter."""
    bad = {2: "yesterday", 3: "9999-12-31T23:59:59-14:00"}

    def records(writer: WARCWriter):
        info = writer.create_warcinfo_record("x.warc", {"software": "test"})
        info.rec_headers.replace_header("WARC-Date", "not a date either")
        yield info
        for n in (1, 2, 3, 4):
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")],
                                    protocol="HTTP/1.1")
            rec = writer.create_warc_record(URL.format(n), "response",
                                            payload=BytesIO(BODY % n), http_headers=http)
            if n in bad:
                rec.rec_headers.replace_header("WARC-Date", bad[n])
            yield rec

    path = _forms(tmp_path, "dates", records)[form]
    recs = list(read_warc(path))
    assert [(r.url, r.body, r.defect) for r in recs if r.defect is None] == [
        (URL.format(1), BODY % 1, None), (URL.format(4), BODY % 4, None)]
    quarantined = [r for r in recs if r.defect]
    assert [(r.url, r.defect) for r in quarantined] == [(URL.format(2), BAD_DATE),
                                                        (URL.format(3), BAD_DATE)]
    assert "WARC-Date 'yesterday' is not a date" in quarantined[0].defect_detail
    assert "'9999-12-31T23:59:59-14:00' is not a date" in quarantined[1].defect_detail
    assert {r.fetched_at for r in quarantined} == {datetime(1970, 1, 1, tzinfo=UTC)}

    day = date(2026, 11, 2)
    result = land_records(recs, tmp_path / "raw", day)
    assert (result.rows, result.defective) == (2, 2)
    reasons = pq.read_table(partition_dir(tmp_path / "raw", day) / QUARANTINE_NAME)
    assert reasons.column("reason").to_pylist() == [BAD_DATE, BAD_DATE]


@pytest.mark.parametrize("form", [0, 1, 2], ids=["warc", "per-record-gz", "whole-gz"])
@pytest.mark.parametrize("rec_type", ["response", "revisit"])
def test_a_record_naming_no_url_is_quarantined_and_its_neighbours_land(
    tmp_path: Path, form: int, rec_type: str
) -> None:
    """warcio parses the HTTP headers of a response (or revisit) only for an http(s)
    WARC-Target-URI and fails on a missing one, which refused the whole file: the record is
    quarantined as ``no_target_uri`` (like a nameless resource) and the records before and
    after it land."""

    def records(writer: WARCWriter):
        def http():
            return StatusAndHeaders("200 OK", [("Content-Type", "text/html")],
                                    protocol="HTTP/1.1")
        yield writer.create_warc_record(URL.format(1), "response", payload=BytesIO(BODY % 1),
                                        http_headers=http())
        if rec_type == "response":
            nameless = writer.create_warc_record(URL.format(2), "response",
                                                 payload=BytesIO(BODY % 2), http_headers=http())
        else:  # as wget writes them: the revisit's own HTTP headers as its block
            nameless = writer.create_revisit_record(
                URL.format(2), digest="sha1:AAAA", refers_to_uri=URL.format(1),
                refers_to_date="2024-05-17T00:00:00Z", http_headers=http())
        nameless.rec_headers.remove_header("WARC-Target-URI")
        yield nameless
        yield writer.create_warc_record(URL.format(3), "response", payload=BytesIO(BODY % 3),
                                        http_headers=http())

    path = _forms(tmp_path, "nameless", records)[form]
    recs = list(read_warc(path))
    assert [(r.url, r.body, r.defect) for r in recs[::2]] == [(URL.format(1), BODY % 1, None),
                                                            (URL.format(3), BODY % 3, None)]
    assert recs[1].defect == NO_TARGET and recs[1].url.startswith(f"{path.name}#<urn:uuid:")
    assert f"a {rec_type} record without WARC-Target-URI" in recs[1].defect_detail
    assert len(recs) == 3

    day = date(2026, 11, 2)
    result = land_records(recs, tmp_path / "raw", day)
    assert (result.rows, result.defective) == (2, 1)
    reasons = pq.read_table(partition_dir(tmp_path / "raw", day) / QUARANTINE_NAME)
    assert reasons.column("reason").to_pylist() == [NO_TARGET]


def test_a_nameless_response_does_not_let_a_malformed_file_through(tmp_path: Path) -> None:
    """Reading past a response without WARC-Target-URI is narrow: a record header that is no
    header after it still refuses the file."""

    def records(writer: WARCWriter):
        nameless = writer.create_warc_record(
            URL.format(1), "response", payload=BytesIO(BODY % 1),
            http_headers=StatusAndHeaders("200 OK", [], protocol="HTTP/1.1"))
        nameless.rec_headers.remove_header("WARC-Target-URI")
        yield nameless
        yield writer.create_warc_record(URL.format(2), "resource", payload=BytesIO(BODY % 2))

    for path in _forms(tmp_path, "bad", records):
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        second = data.index(b"WARC/1", 1)
        bad = data[:second] + b"JUNK" + data[second + 4:]
        path.write_bytes(gzip.compress(bad, mtime=0) if path.suffix == ".gz" else bad)
        with pytest.raises(UnreadableWarc, match=f"at byte {second}"):
            list(read_warc(path))


def test_a_record_whose_bytes_changed_fails_its_digest_and_is_quarantined(
    per_record: Path, tmp_path: Path
) -> None:
    plain = gzip.decompress(per_record.read_bytes())
    assert plain.count(b"WARC-Payload-Digest: sha1:") == 3  # what the sink declares
    changed = tmp_path / "changed.warc"
    changed.write_bytes(plain.replace(BODY % 1, (BODY % 1).replace(b"<p>1", b"<p>7"), 1))
    recs = list(read_warc(changed))
    assert [r.defect for r in recs] == [None, DIGEST_MISMATCH, None]
    assert "digest failed" in recs[1].defect_detail
    assert [r.defect for r in read_warc(per_record)] == [None] * 3


PAGE = "<html><body><p>Президент прибыл</p></body></html>".encode()
CHUNKED_HTTP = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
                + b"%x\r\n" % len(PAGE) + PAGE + b"\r\n0\r\n\r\n")
PLAIN_HTTP = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
              b"Content-Length: %d\r\n\r\n" % len(PAGE) + PAGE)


def _b32(algo: str, data: bytes) -> str:
    return f"{algo}:" + base64.b32encode(hashlib.new(algo, data).digest()).decode()


def _response(tmp_path: Path, http: bytes, block: str | None, payload: str | None) -> Path:
    """One uncompressed WARC response record declaring the given digests."""
    digests = "".join(f"{name}: {value}\r\n" for name, value in
                      (("WARC-Block-Digest", block), ("WARC-Payload-Digest", payload)) if value)
    head = ("WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:1>\r\n"
            "WARC-Date: 2024-05-17T00:00:00Z\r\nWARC-Target-URI: http://x.kz/a/1/\r\n"
            f"Content-Type: application/http; msgtype=response\r\n{digests}"
            f"Content-Length: {len(http)}\r\n\r\n").encode()
    path = tmp_path / "one.warc"
    path.write_bytes(head + http + b"\r\n\r\n")
    return path


def _entity(http: bytes) -> bytes:
    return PAGE if http is CHUNKED_HTTP else http.split(b"\r\n\r\n", 1)[1]


def _sent(http: bytes) -> bytes:
    return http.split(b"\r\n\r\n", 1)[1]


@pytest.mark.parametrize(("http", "block", "payload"), [
    # the WARC standard (and heritrix): the payload digest over the de-chunked entity
    (CHUNKED_HTTP, "block", _b32("sha1", PAGE)),
    (CHUNKED_HTTP, None, _b32("sha1", PAGE)),
    # warcio: over the chunked bytes as sent
    (CHUNKED_HTTP, "block", "sent"),
    (CHUNKED_HTTP, None, "sent"),
    # a payload digest computed over something else, the block digest intact
    (PLAIN_HTTP, "block", _b32("sha1", b"something else")),
])
def test_a_payload_digest_over_the_de_chunked_body_is_not_a_mismatch(
    tmp_path: Path, http: bytes, block: str | None, payload: str
) -> None:
    block = _b32("sha1", http) if block == "block" else block
    payload = _b32("sha1", _sent(http)) if payload == "sent" else payload
    [rec] = read_warc(_response(tmp_path, http, block, payload))
    assert (rec.defect, rec.body) == (None, PAGE)


def _encodings(algo: str, data: bytes) -> list[str]:
    raw = hashlib.new(algo, data).digest()
    b32 = base64.b32encode(raw).decode()
    return [f"{algo}:{b32.lower()}", f"{algo}:{b32.rstrip('=')}",
            f"{algo}:{b32.lower().rstrip('=')}", f"{algo}:{raw.hex()}",
            f"{algo}:{raw.hex().upper()}", f"{algo}:{base64.b64encode(raw).decode()}",
            f"{algo}:{base64.urlsafe_b64encode(raw).decode().rstrip('=')}",
            f"{algo.upper().replace('SHA', 'SHA-')}:{b32}"]


@pytest.mark.parametrize("which", ["block", "payload"])
@pytest.mark.parametrize("algo", ["sha1", "sha256"])
def test_a_declared_digest_is_read_in_any_of_its_encodings(
    tmp_path: Path, which: str, algo: str
) -> None:
    data = PLAIN_HTTP if which == "block" else _entity(PLAIN_HTTP)
    for value in _encodings(algo, data):
        digests = {"block": None, "payload": None, which: value}
        [rec] = read_warc(_response(tmp_path, PLAIN_HTTP, digests["block"], digests["payload"]))
        assert rec.defect is None, value
        # and the same encoding of another digest still fails
        wrong = _encodings(algo, data + b"!")[_encodings(algo, data).index(value)]
        digests[which] = wrong
        [rec] = read_warc(_response(tmp_path, PLAIN_HTTP, digests["block"], digests["payload"]))
        assert rec.defect == DIGEST_MISMATCH, wrong
        assert f"{which} digest failed" in rec.defect_detail


@pytest.mark.parametrize("value", ["blake9:AAAA", "sha1", "shake_128:AAAA"])
def test_a_digest_this_reader_cannot_compute_is_not_a_mismatch(
    tmp_path: Path, value: str
) -> None:
    [rec] = read_warc(_response(tmp_path, PLAIN_HTTP, value, value))
    assert (rec.defect, rec.body) == (None, PAGE)


@pytest.mark.parametrize("value", ["sha1:xyz", "sha1:", "sha1:!!!!", "sha1:" + "A" * 33])
def test_an_undecodable_declared_digest_is_a_mismatch_not_an_unreadable_file(
    tmp_path: Path, value: str
) -> None:
    [rec] = read_warc(_response(tmp_path, PLAIN_HTTP, value, None))
    assert rec.defect == DIGEST_MISMATCH and "block digest failed" in rec.defect_detail


@pytest.mark.parametrize("http", [PLAIN_HTTP, CHUNKED_HTTP])
def test_a_block_digest_that_does_not_match_quarantines_the_record(
    tmp_path: Path, http: bytes
) -> None:
    [rec] = read_warc(_response(tmp_path, http, _b32("sha1", http + b"!"),
                                _b32("sha1", _entity(http))))
    assert rec.defect == DIGEST_MISMATCH and "WARC-Block-Digest" in rec.defect_detail


def test_a_payload_digest_alone_that_does_not_match_quarantines_an_unchunked_record(
    tmp_path: Path,
) -> None:
    [rec] = read_warc(_response(tmp_path, PLAIN_HTTP, None, _b32("sha1", PAGE + b"!")))
    assert rec.defect == DIGEST_MISMATCH and "WARC-Payload-Digest" in rec.defect_detail


def test_a_response_with_an_http2_status_line_is_read(tmp_path: Path) -> None:
    """Crawlers record HTTP/2 responses as "HTTP/2 200"; warcio's iterator reads them unless
    told to verify HTTP strictly, which a custom record loader must not switch on."""

    def records(writer: WARCWriter):
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/2")
        yield writer.create_warc_record(URL.format(1), "response", payload=BytesIO(BODY % 1),
                                        http_headers=http)

    path = tmp_path / "h2.warc.gz"
    path.write_bytes(_warc_with(records))
    assert [(r.url, r.status, r.defect, r.body) for r in read_warc(path)] == [
        (URL.format(1), 200, None, BODY % 1)]


def _member(i: int, size: int) -> bytes:
    """One response record of ``size`` random letters as its own gzip member (what WarcSink
    writes): big enough that a member inflates past warcio's 16 KiB reads."""
    import random

    rnd = random.Random(i)  # noqa: S311 (test data, not secrets)
    buf = BytesIO()
    with WarcSink(buf, info={"software": "test"}) as sink:
        sink.write(RawRecord(url=URL.format(i), body=bytes(rnd.randrange(97, 123)
                                                          for _ in range(size)),
                             headers={"Content-Type": "text/html"},
                             fetched_at=datetime(2026, 1, 1, tzinfo=UTC)))
    return buf.getvalue()


def test_two_files_compressed_whole_and_concatenated_read_once_each(tmp_path: Path) -> None:
    """`cat d1.warc.gz d2.warc.gz` of files compressed whole: every record once (a member
    boundary once fed the next member's bytes twice, and the reading never ended)."""
    days = [gzip.compress(b"".join(gzip.decompress(_member(10 * d + i, 40_000))
                                   for i in range(3)), mtime=0) for d in (1, 2)]
    path = tmp_path / "days.warc.gz"
    path.write_bytes(b"".join(days))
    import itertools

    urls = [r.url for r in itertools.islice(read_warc(path), 10)]
    assert urls == [URL.format(n) for n in (10, 11, 12, 20, 21, 22)]


@pytest.mark.parametrize("size", [40_000, 1_500_000])
def test_a_malformed_member_between_big_records_refuses_the_file(
    tmp_path: Path, size: int
) -> None:
    """A member that is no WARC record between whole ones: the file ends whole, so it is
    malformed, not cut; refused rather than read as cut (which would drop records 2-3)."""
    from kznews.acquire.warc import UnreadableWarc, _ends_whole

    members = [_member(i, size) for i in range(4)]
    whole = tmp_path / "whole.warc.gz"
    whole.write_bytes(b"".join(members))
    assert _ends_whole(whole) and len(list(read_warc(whole))) == 4
    path = tmp_path / "malformed.warc.gz"
    path.write_bytes(b"".join(members[:2]) + gzip.compress(b"not a warc record\r\n\r\n")
                     + b"".join(members[2:]))
    with pytest.raises(UnreadableWarc, match="uncompressed stream"):
        list(read_warc(path))


def test_a_segmented_record_is_quarantined_not_landed_as_half_a_page(tmp_path: Path) -> None:
    from kznews.acquire.warc import SEGMENTED

    def records(writer: WARCWriter):
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        first = writer.create_warc_record(URL.format(1), "response",
                                          payload=BytesIO(b"<html>first-half"),
                                          http_headers=http)
        first.rec_headers.add_header("WARC-Segment-Number", "1")
        yield first
        rest = writer.create_warc_record(URL.format(1), "continuation",
                                         payload=BytesIO(b" second-half</html>"))
        rest.rec_headers.add_header("WARC-Segment-Number", "2")
        yield rest
        yield writer.create_warc_record(URL.format(2), "response", payload=BytesIO(BODY % 2),
                                        http_headers=http)

    path = tmp_path / "segments.warc.gz"
    path.write_bytes(_warc_with(records))
    recs = list(read_warc(path))
    assert [(r.url, r.defect) for r in recs] == [(URL.format(1), SEGMENTED), (URL.format(2), None)]
    assert "segment 1" in recs[0].defect_detail
