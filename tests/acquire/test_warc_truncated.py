"""A WARC file cut short (a copy or a crawl that died mid-write): the record it cuts is
quarantined as ``truncated_record``, never landed as a half page, and the whole records
before it land as usual."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kznews.acquire.base import RawRecord
from kznews.acquire.warc import TRUNCATED, UnreadableWarc, WarcSink, read_warc
from kznews.land import QUARANTINE_NAME, land_records, read_partition
from tests.conftest import SITE

URL = "http://www.old.exclusive.kz/expertiza/smart/{}/"


@pytest.fixture(scope="module")
def warc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    body = (SITE / "page_13178.html").read_bytes()
    path = tmp_path_factory.mktemp("warc") / "three.warc.gz"
    with WarcSink(path, info={"software": "test"}) as sink:
        for i in range(3):
            sink.write(RawRecord(url=URL.format(13178 + i), body=body,
                                 headers={"Content-Type": "text/html; charset=utf-8"},
                                 fetched_at=datetime(2024, 5, 17, tzinfo=UTC)))
    return path


def _cut(src: Path, dst: Path, keep: int, plain: bool = False) -> Path:
    data = gzip.decompress(src.read_bytes()) if plain else src.read_bytes()
    dst.write_bytes(data[:keep] if keep >= 0 else data[:len(data) + keep])
    return dst


def test_a_whole_file_reads_without_defects(warc: Path) -> None:
    recs = list(read_warc(warc))
    assert [r.defect for r in recs] == [None] * 3
    plain = _cut(warc, warc.with_name("whole.warc"), 10**9, plain=True)
    assert [r.defect for r in read_warc(plain)] == [None] * 3


@pytest.mark.parametrize("plain", [False, True])
@pytest.mark.parametrize("cut", [-2000, -30, -5])
def test_the_cut_record_is_flagged_and_the_whole_ones_are_not(
    warc: Path, tmp_path: Path, cut: int, plain: bool
) -> None:
    path = _cut(warc, tmp_path / ("cut.warc" if plain else "cut.warc.gz"), cut, plain)
    recs = list(read_warc(path))
    whole = (SITE / "page_13178.html").read_bytes()
    assert [(r.url, r.body) for r in recs[:2]] == [(URL.format(13178 + i), whole)
                                                   for i in range(2)]
    assert [r.defect for r in recs] == [None, None, TRUNCATED]
    assert recs[2].url == URL.format(13180) and recs[2].defect_detail


def test_a_file_cut_inside_a_record_header_quarantines_its_tail(
    warc: Path, tmp_path: Path
) -> None:
    data = gzip.decompress(warc.read_bytes())
    second = data.index(b"WARC/1", data.index(URL.format(13179).encode()) - 400)
    path = tmp_path / "cut.warc"
    path.write_bytes(data[: second + 60])  # inside the second response's WARC header
    recs = list(read_warc(path))
    assert [r.defect for r in recs] == [None, TRUNCATED]


def test_landing_quarantines_the_truncated_record(warc: Path, tmp_path: Path) -> None:
    path = _cut(warc, tmp_path / "cut.warc.gz", -2000)
    result = land_records(read_warc(path), tmp_path / "raw", date(2024, 5, 17))
    assert result.rows == 2 and result.summary()["defective_quarantined"] == 1
    landed = read_partition(tmp_path / "raw", date(2024, 5, 17), columns=["url"])
    assert landed.column("url").to_pylist() == [URL.format(13178), URL.format(13179)]
    q = pq.read_table(tmp_path / "raw" / "load_date=2024-05-17" / QUARANTINE_NAME).to_pylist()
    assert [(r["source"], r["stage"], r["reason"]) for r in q] == [
        (URL.format(13180), "land", "truncated_record")
    ]
    assert "cut.warc.gz" in q[0]["detail"]


def test_a_malformed_but_whole_file_still_fails(tmp_path: Path, warc: Path) -> None:
    """A record header that is not one, in a file that ends whole, is not a cut file: the
    file is refused, naming where reading stopped (one gzip stream over all records is read:
    tests/acquire/test_warc_forms.py)."""
    plain = gzip.decompress(warc.read_bytes())
    version = plain[:8]
    second = plain.index(version, plain.index(version, 1) + 1)
    path = tmp_path / "malformed.warc"
    path.write_bytes(plain[:second] + b"JUNK" + plain[second + 4:])
    with pytest.raises(ValueError, match=f"malformed\\.warc is not a readable WARC file: at "
                                         f"byte {second}"):
        list(read_warc(path))


def test_a_file_that_is_no_warc_at_all_is_refused_as_unreadable(tmp_path: Path) -> None:
    """The refusal is an :class:`UnreadableWarc` (a ``ValueError``): a caller can tell a
    malformed file from its own mistakes."""
    path = tmp_path / "notes.warc"
    path.write_bytes(b"these are not the records you are looking for\r\n\r\n")
    with pytest.raises(UnreadableWarc, match=r"notes\.warc is not a readable WARC file"):
        list(read_warc(path))
