"""Landing: one atomic Parquet partition per load date, URL dedup with quarantine."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kznews.acquire.base import RawRecord
from kznews.land import (
    PART_NAME,
    QUARANTINE_NAME,
    iter_partition_batches,
    land_records,
    landed_dates,
    partition_dir,
    read_partition,
    recover_partition,
)
from kznews.schema import RAW_PAGES

D = date(2026, 11, 25)


def _rec(url: str, body: bytes = b"<html>x</html>", **kw: object) -> RawRecord:
    headers = {"Content-Type": "text/html; charset=utf-8"}
    return RawRecord(
        url=url, body=body, headers=headers, fetched_at=datetime(2026, 11, 24, 19, tzinfo=UTC), **kw
    )  # type: ignore[arg-type]


def test_landing_the_same_date_twice_gives_one_copy(tmp_path: Path) -> None:
    recs = [_rec(f"http://www.old.exclusive.kz/a/b/{i}/") for i in range(5)]
    land_records(recs, tmp_path, D)
    result = land_records(recs, tmp_path, D)
    table = read_partition(tmp_path, D)
    assert table.num_rows == 5 == result.rows
    assert table.schema.equals(RAW_PAGES)
    assert landed_dates(tmp_path) == [D]
    assert [p.name for p in partition_dir(tmp_path, D).iterdir()] == ["part-0.parquet"]


def test_duplicate_urls_are_quarantined_not_dropped(tmp_path: Path) -> None:
    recs = [_rec("http://x/1", b"a"), _rec("http://x/1", b"b"), _rec("http://x/2")]
    result = land_records(recs, tmp_path, D)
    assert result.rows == 2 and result.duplicates == 1
    q = pq.read_table(partition_dir(tmp_path, D) / QUARANTINE_NAME).to_pylist()
    assert q[0]["reason"] == "duplicate_url_in_load" and q[0]["source"] == "http://x/1"
    assert read_partition(tmp_path, D).column("body").to_pylist()[0] == b"a"
    # re-landing without duplicates removes the stale quarantine with the data
    land_records(recs[:1], tmp_path, D)
    assert not (partition_dir(tmp_path, D) / QUARANTINE_NAME).exists()


def test_failed_load_keeps_the_previous_partition(tmp_path: Path) -> None:
    land_records([_rec("http://x/1")], tmp_path, D)

    def broken():
        yield _rec("http://x/2")
        raise RuntimeError("source died")

    with pytest.raises(RuntimeError):
        land_records(broken(), tmp_path, D)
    assert read_partition(tmp_path, D).column("url").to_pylist() == ["http://x/1"]
    assert not list(partition_dir(tmp_path, D).glob(".*.tmp"))


def test_rows_keep_bytes_headers_and_utc_time(tmp_path: Path) -> None:
    body = "Қаңтар".encode("cp1251", errors="xmlcharrefreplace")
    naive = RawRecord(
        url="http://x/1",
        body=body,
        status=200,
        headers={"Content-Type": "text/html; charset=windows-1251"},
        fetched_at=datetime(2026, 11, 24, 19, 0),
    )
    land_records([naive], tmp_path, D, batch_rows=1)
    row = read_partition(tmp_path, D).to_pylist()[0]
    assert row["body"] == body and row["size_bytes"] == len(body)
    assert "windows-1251" in row["content_type"] and "windows-1251" in row["headers"]
    assert row["fetched_at"] == datetime(2026, 11, 24, 19, 0, tzinfo=UTC)
    assert row["final_url"] == "http://x/1"


def test_streaming_reads(tmp_path: Path) -> None:
    land_records([_rec(f"http://x/{i}") for i in range(10)], tmp_path, D, batch_rows=3)
    batches = list(iter_partition_batches(tmp_path, D, batch_rows=4, columns=["url"]))
    assert sum(b.num_rows for b in batches) == 10 and batches[0].schema.names == ["url"]
    assert list(iter_partition_batches(tmp_path, date(2000, 1, 1))) == []
    assert read_partition(tmp_path, date(2000, 1, 1)).num_rows == 0


def test_empty_load_writes_an_empty_partition_with_the_schema(tmp_path: Path) -> None:
    result = land_records([], tmp_path, D)
    assert result.rows == 0 and read_partition(tmp_path, D).schema.equals(RAW_PAGES)


def test_keep_existing_merges_a_date_landed_again(tmp_path: Path) -> None:
    """A crawl landing a date again brings only what changed: the date's other pages and its
    quarantine rows stay, the pages it brings replace theirs."""
    first = [_rec("http://x/1", b"old"), _rec("http://x/1", b"dup"), _rec("http://x/2", b"two")]
    land_records(first, tmp_path, D)
    result = land_records([_rec("http://x/1", b"new"), _rec("http://x/3", b"three")],
                          tmp_path, D, keep_existing=True)
    rows = {r["url"]: r["body"] for r in read_partition(tmp_path, D).to_pylist()}
    assert rows == {"http://x/1": b"new", "http://x/2": b"two", "http://x/3": b"three"}
    assert (result.rows, result.kept, result.bytes) == (3, 1, len(b"new three two") - 2)
    assert result.summary()["kept_from_earlier_landing"] == 1
    q = pq.read_table(partition_dir(tmp_path, D) / QUARANTINE_NAME).to_pylist()
    assert [(r["source"], r["reason"]) for r in q] == [("http://x/1", "duplicate_url_in_load")]
    # without keep_existing (files: they hold every page) the date is replaced
    land_records([_rec("http://x/9")], tmp_path, D)
    assert read_partition(tmp_path, D).column("url").to_pylist() == ["http://x/9"]
    assert not (partition_dir(tmp_path, D) / QUARANTINE_NAME).exists()


def test_a_failed_rename_of_the_data_leaves_the_quarantine_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data file is renamed before its quarantine: a landing that fails at the data's
    rename keeps the earlier data and the earlier quarantine rows, both."""
    from tests.conftest import fail_landing_renames

    land_records([_rec("http://x/1", b"a"), _rec("http://x/1", b"b")], tmp_path, D)
    q_file = partition_dir(tmp_path, D) / QUARANTINE_NAME
    before = pq.read_table(q_file).to_pylist()
    fail_landing_renames(monkeypatch, "disk gone")
    with pytest.raises(OSError, match="disk gone"):
        land_records([_rec("http://x/2"), _rec("http://x/2")], tmp_path, D)
    assert read_partition(tmp_path, D).column("url").to_pylist() == ["http://x/1"]
    assert pq.read_table(q_file).to_pylist() == before
    assert not list(partition_dir(tmp_path, D).glob(".*.tmp"))


def _killed_at(raw_dir: Path, records: list[RawRecord], at: str, **kw: object) -> None:
    """Run ``land_records`` in a forked child that dies (``os._exit``, as a SIGKILL would: no
    ``finally``) at the rename of its data file (``at="data"``) or of its quarantine
    (``at="quarantine"``), leaving what a killed load leaves."""
    import multiprocessing
    import os

    import kznews.land as land

    def die(*_args: object) -> None:
        os._exit(9)

    def child() -> None:  # patches the child's own copy of the module
        if at == "data":
            real_replace = os.replace
            land.os.replace = lambda src, dst: (
                die() if Path(dst).name == PART_NAME else real_replace(src, dst))
        else:
            land._commit_quarantine = die
        land_records(records, raw_dir, D, **kw)
        os._exit(0)

    proc = multiprocessing.get_context("fork").Process(target=child)
    proc.start()
    proc.join(60)
    assert proc.exitcode == 9


def _quarantined(raw_dir: Path) -> list[tuple[str, str]]:
    q_file = partition_dir(raw_dir, D) / QUARANTINE_NAME
    if not q_file.exists():
        return []
    return sorted((r["source"], r["reason"]) for r in pq.read_table(q_file).to_pylist())


def test_a_load_killed_between_its_two_renames_is_finished_by_the_next(tmp_path: Path) -> None:
    """Killed after its data's rename, before its quarantine's: the new data sits beside the
    earlier quarantine. The next landing of the date finishes the quarantine first, so
    neither the earlier rows nor the killed load's are lost, and says so."""
    land_records([_rec("http://x/1", b"a"), _rec("http://x/1", b"b")], tmp_path, D)
    earlier = [("http://x/1", "duplicate_url_in_load")]
    assert _quarantined(tmp_path) == earlier
    _killed_at(tmp_path, [_rec("http://x/2"), _rec("http://x/2"), _rec("http://x/1", b"c")],
               "quarantine", keep_existing=True)
    assert sorted(read_partition(tmp_path, D).column("url").to_pylist()) == [
        "http://x/1", "http://x/2"]
    assert _quarantined(tmp_path) == earlier  # the killed load's rows are not in place yet
    result = land_records([_rec("http://x/3")], tmp_path, D, keep_existing=True)
    assert [line.split(" load ")[0] for line in result.recovered] == [
        "finished the quarantine of the"]
    assert result.summary()["recovered"] == result.recovered
    assert _quarantined(tmp_path) == [("http://x/1", "duplicate_url_in_load"),
                                      ("http://x/2", "duplicate_url_in_load")]
    assert sorted(read_partition(tmp_path, D).column("url").to_pylist()) == [
        "http://x/1", "http://x/2", "http://x/3"]
    assert not list(partition_dir(tmp_path, D).glob(".*"))
    assert land_records([_rec("http://x/3")], tmp_path, D, keep_existing=True).recovered == []


def test_a_load_killed_before_its_data_rename_never_happened(tmp_path: Path) -> None:
    land_records([_rec("http://x/1", b"a"), _rec("http://x/1", b"b")], tmp_path, D)
    before = (read_partition(tmp_path, D), _quarantined(tmp_path))
    _killed_at(tmp_path, [_rec("http://x/2"), _rec("http://x/2")], "data")
    assert len(list(partition_dir(tmp_path, D).glob(".*.tmp"))) == 2
    assert recover_partition(tmp_path, D)[0].startswith("discarded the unfinished load")
    assert (read_partition(tmp_path, D), _quarantined(tmp_path)) == before
    assert not list(partition_dir(tmp_path, D).glob(".*"))


def test_a_killed_load_without_duplicates_still_removes_the_replaced_quarantine(
    tmp_path: Path,
) -> None:
    """Files replace the date: the earlier quarantine belonged to the data replaced, so
    finishing a killed load that quarantined nothing removes it (as the load would have)."""
    land_records([_rec("http://x/1", b"a"), _rec("http://x/1", b"b")], tmp_path, D)
    _killed_at(tmp_path, [_rec("http://x/9")], "quarantine")
    assert read_partition(tmp_path, D).column("url").to_pylist() == ["http://x/9"]
    assert recover_partition(tmp_path, D) and _quarantined(tmp_path) == []
    assert recover_partition(tmp_path, D) == []
    assert recover_partition(tmp_path, date(2020, 1, 1)) == []  # never landed: nothing to do


def test_a_failed_quarantine_rename_is_an_error_and_is_finished_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pages are in place when the quarantine's rename fails: the load raises and says
    so, and keeps the quarantine's temporary file for the next landing to put in place."""
    import kznews.land as land

    real_replace = land.os.replace

    def replace(src, dst):
        if Path(dst).name == QUARANTINE_NAME:
            raise OSError("disk gone")
        return real_replace(src, dst)

    monkeypatch.setattr(land.os, "replace", replace)
    with pytest.raises(OSError, match="pages are landed but their quarantine could not"):
        land_records([_rec("http://x/2"), _rec("http://x/2")], tmp_path, D)
    monkeypatch.undo()
    assert read_partition(tmp_path, D).column("url").to_pylist() == ["http://x/2"]
    assert _quarantined(tmp_path) == []
    land_records([_rec("http://x/4")], tmp_path, D, keep_existing=True)
    assert _quarantined(tmp_path) == [("http://x/2", "duplicate_url_in_load")]


def test_a_quarantine_left_by_another_load_is_never_put_back(tmp_path: Path) -> None:
    """Only the quarantine of the load whose data is in place (the token in the data file's
    metadata) is finished. One of a load that never landed (its data file's temporary file
    already removed by a recovery killed midway), or one an earlier version left before a
    later load replaced the data, is discarded, whatever the file times say."""
    land_records([_rec("http://x/1"), _rec("http://x/1")], tmp_path, D)
    part = partition_dir(tmp_path, D)
    stray = part / f".{QUARANTINE_NAME}.{'0' * 32}.tmp"
    (part / QUARANTINE_NAME).rename(stray)  # newer than the data file, but not its load's
    land_records([_rec("http://x/2")], tmp_path, D)  # replaces the data (no quarantine)
    stray.touch()
    assert recover_partition(tmp_path, D) == [
        f"discarded the quarantine of the superseded load {'0' * 32}"]
    assert _quarantined(tmp_path) == [] and not stray.exists()


def test_the_load_token_is_in_the_data_files_metadata_only(tmp_path: Path) -> None:
    from kznews.land import load_token

    land_records([_rec("http://x/1")], tmp_path, D)
    data = partition_dir(tmp_path, D) / PART_NAME
    first = load_token(data)
    assert first and len(first) == 32
    land_records([_rec("http://x/2")], tmp_path, D, keep_existing=True)
    assert load_token(data) not in (None, first)
    assert read_partition(tmp_path, D).schema.equals(RAW_PAGES)  # same columns and types


def test_an_exception_just_after_the_data_rename_keeps_the_quarantine_for_recovery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signal handler (Airflow's SIGTERM, Ctrl-C) may raise right after the data's rename
    returns: the load must still leave its quarantine for the next one to finish."""
    import kznews.land as land

    land_records([_rec("http://x/1"), _rec("http://x/1")], tmp_path, D)
    real_replace = land.os.replace

    def replace(src, dst):
        real_replace(src, dst)
        if Path(dst).name == PART_NAME:
            raise KeyboardInterrupt

    monkeypatch.setattr(land.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        land_records([_rec("http://x/2"), _rec("http://x/2")], tmp_path, D, keep_existing=True)
    monkeypatch.undo()
    assert recover_partition(tmp_path, D)[0].startswith("finished the quarantine of the load")
    assert _quarantined(tmp_path) == [("http://x/1", "duplicate_url_in_load"),
                                      ("http://x/2", "duplicate_url_in_load")]
