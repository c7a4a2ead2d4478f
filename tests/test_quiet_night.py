"""A night with nothing to do: a crawl that finds no new or changed page lands nothing and
the night ends there (both one-process paths), while a file source that gives no page is a
clear error that leaves the date's earlier landing alone. A quiet night that finds an
earlier night's pages missing from the published warehouse runs that night instead."""

from __future__ import annotations

import gzip
import json
import shutil
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kznews import overlap, publish
from kznews.acquire.base import RawRecord
from kznews.acquire.warc import WarcSink
from kznews.config import Settings
from kznews.land import PART_NAME, NoPagesLanded, land_records, partition_dir, read_partition
from kznews.pipeline import (
    CatchUpFailed,
    catch_up,
    catch_up_extract,
    extract_stage,
    format_summary,
    land_stage,
    quiet_night,
    run_pipeline,
)
from kznews.schema import EXTRACTED_TABLES
from kznews.sitegen import Site
from kznews.sitegen.server import SiteServer, serve_site
from kznews.warehouse.runner import LAST_BUILD_NAME, partition_digests, target_dir
from tests.conftest import ROOT, SITE
from tests.local_crawl import local_crawl_settings

START = "http://www.old.exclusive.kz/"
FIRST, QUIET = date(2026, 11, 1), date(2026, 11, 2)
SECOND, THIRD, FOURTH = date(2026, 11, 3), date(2026, 11, 4), date(2026, 11, 5)


@pytest.fixture(scope="module")
def server() -> Iterator[SiteServer]:
    with serve_site(Site(seed=3, pages=60)) as srv:
        yield srv


def _crawled_once(tmp_path: Path, server: SiteServer, **changes: object) -> Settings:
    """Settings of a data folder whose crawl state has seen the whole site; that night's
    pages are extracted and recorded as published (:func:`_record_published`)."""
    settings = _landed_once(tmp_path, server, **changes)
    extract_stage(FIRST, settings)
    _record_published(settings)
    return settings


def _landed_once(tmp_path: Path, server: SiteServer, **changes: object) -> Settings:
    """... whose first night landed the whole site and died there (nothing extracted).
    The project's dbt folder, the data and warehouse under ``tmp_path``."""
    changes = {"data_dir": tmp_path / "data", "warehouse_dir": tmp_path / "warehouse",
               **changes}
    settings = local_crawl_settings(ROOT, server.overrides(), **changes)
    assert land_stage(START, FIRST, settings)["rows"] > 0
    return settings


def _record_published(settings: Settings) -> None:
    """The record a publish of a build that read every extracted partition as it is now
    leaves (publish._record_reads), and a stand-in for the published file it names."""
    settings.build_db.parent.mkdir(parents=True, exist_ok=True)
    settings.published_db.parent.mkdir(parents=True, exist_ok=True)
    settings.published_db.touch()
    record = {str(settings.published_db): partition_digests(settings)}
    (settings.build_db.parent / publish.PUBLISHED_READS).write_text(json.dumps(record))


def _assert_nothing_after_land(settings: Settings, summary: dict) -> None:
    assert summary["land"]["rows"] == 0
    crawl = summary["land"]["crawl"]  # the crawl asked, and got "not modified"
    assert crawl["requests"] > 0 and crawl["not_modified"] > 0 and crawl["failed"] == 0
    assert "new or changed page" in summary["skipped"] and "failed" not in summary["skipped"]
    assert not {"extract", "build", "quality", "publish"} & summary.keys()
    assert not any(settings.extracted_dir.glob(f"*/load_date={QUIET.isoformat()}"))
    assert not settings.build_db.exists()
    assert "nothing new: the crawl of" in format_summary(summary)


def test_a_quiet_crawl_ends_the_night_after_landing(tmp_path: Path, server: SiteServer) -> None:
    settings = _crawled_once(tmp_path, server, overlap_nightly=False)
    _assert_nothing_after_land(settings, run_pipeline(START, QUIET, settings))


@pytest.mark.skipif(not overlap.available(), reason="the overlapped night runs on Linux only")
def test_a_quiet_crawl_ends_the_overlapped_night_too(tmp_path: Path, server: SiteServer) -> None:
    settings = _crawled_once(tmp_path, server)
    _assert_nothing_after_land(settings, overlap.run_overlapped(START, QUIET, settings))


def _warm_up_that_finishes_late() -> float:
    """A helper's warm-up (run in the spawned helper) that would still be running when a
    quiet night ends: it leaves a file behind once it finishes."""
    import os
    import time

    time.sleep(3)
    Path(os.environ["KZNEWS_TEST_WARM_MARKER"]).write_text("finished")
    return 3.0


@pytest.mark.skipif(not overlap.available(), reason="the overlapped night runs on Linux only")
def test_a_quiet_overlapped_night_does_not_wait_for_its_helpers(
    tmp_path: Path, server: SiteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The archive is quiet every night: its night ends once landed, and the helpers that
    warm dbt and Great Expectations up are stopped, not waited for."""
    settings = _crawled_once(tmp_path, server)
    marker = tmp_path / "warm-up finished"
    monkeypatch.setenv("KZNEWS_TEST_WARM_MARKER", str(marker))
    monkeypatch.setattr(overlap, "_gx_warm_up", _warm_up_that_finishes_late)
    summary = overlap.run_overlapped(START, QUIET, settings)
    assert "skipped" in summary
    time.sleep(4)  # long enough for the warm-up to finish, had it been left running
    assert not marker.exists()


def test_only_an_empty_crawl_is_a_quiet_night() -> None:
    assert quiet_night(START, {"rows": 0, "load_date": "2026-11-02"})
    partly = quiet_night(START, {"rows": 0, "crawl": {"requests": 5, "failed": 3}})
    assert "3 of its 5 requests failed" in partly
    assert quiet_night(START, {"rows": 3}) is None
    assert quiet_night("/data/pages", {"rows": 0}) is None  # refused at landing instead


def test_a_quiet_night_finds_what_earlier_nights_owe(tmp_path: Path) -> None:
    settings = local_crawl_settings(ROOT, (), data_dir=tmp_path / "data",
                                    warehouse_dir=tmp_path / "warehouse")
    land_records([_page(1)], settings.raw_dir, FIRST)  # died after landing
    land_records([], settings.raw_dir, QUIET, allow_empty=True)  # an earlier quiet night
    land_records([_page(2)], settings.raw_dir, FOURTH)  # after the night asked about
    owed = catch_up(settings, THIRD)
    assert owed is not None and owed["load_date"] == FIRST.isoformat()
    assert owed["extract"] == [FIRST.isoformat()]
    assert "the landed pages of 2026-11-01 were never extracted" in owed["reason"]

    extract_stage(FIRST, settings)  # extracted, then died before its publish
    owed = catch_up(settings, THIRD)
    assert owed is not None and owed["extract"] == []
    assert "no publish recorded" in owed["reason"]
    _record_published(settings)
    assert catch_up(settings, THIRD) is None
    assert catch_up(settings, THIRD, full_refresh=True)["load_date"] == FIRST.isoformat()
    assert catch_up(settings, date(2026, 10, 31)) is None  # nothing landed up to then

    # a landing merged into after its extraction (a re-sweep that died), and an older night
    # that died after landing: both are owed, the newest date leads the rest of the night
    land_records([_page(3)], settings.raw_dir, FIRST, keep_existing=True)
    land_records([_page(4)], settings.raw_dir, date(2026, 10, 31))
    owed = catch_up(settings, THIRD)
    assert owed["extract"] == ["2026-10-31", FIRST.isoformat()]
    assert owed["load_date"] == FIRST.isoformat()
    extract_stage(date(2026, 10, 31), settings)
    extract_stage(FIRST, settings)
    owed = catch_up(settings, THIRD)  # extracted now, but the warehouse was not built so
    assert owed["extract"] == [] and "2026-10-31, 2026-11-01 never reached" in owed["reason"]
    _record_published(settings)
    assert catch_up(settings, THIRD) is None
    settings.published_db.unlink()  # BI lost its file: everything is owed again
    assert catch_up(settings, THIRD)["load_date"] == FIRST.isoformat()
    # another warehouse (the lake) keeps its own record
    lake = settings.replace(warehouse_backend="ducklake", ducklake_catalog="postgres:dbname=x")
    assert catch_up(lake, THIRD) is not None


def test_a_night_removed_on_purpose_is_not_extracted_again(tmp_path: Path) -> None:
    """docs/quality.md keeps a failed night out of BI by removing its extracted partitions;
    the build file was built from them, so the catch-up leaves the date alone. A date no
    build ever read is owed its extraction."""
    settings = local_crawl_settings(ROOT, (), data_dir=tmp_path / "data",
                                    warehouse_dir=tmp_path / "warehouse")
    land_records([_page(1)], settings.raw_dir, FIRST)
    land_records([_page(2)], settings.raw_dir, SECOND)
    extract_stage(FIRST, settings)
    extract_stage(SECOND, settings)
    target_dir(settings).mkdir(parents=True)
    record = target_dir(settings) / LAST_BUILD_NAME
    record.write_text(json.dumps({"read": partition_digests(settings)}))  # a build read both
    for table in EXTRACTED_TABLES:  # the bad night (its gate failed) is taken out
        shutil.rmtree(settings.extracted_dir / table / f"load_date={SECOND.isoformat()}")
    _record_published(settings)  # ... and the build without it published
    assert catch_up(settings, THIRD) is None
    # the full rebuild that followed read FIRST only: SECOND is still known as built once
    record.write_text(json.dumps({"read": {FIRST.isoformat(): "c1-0"},
                                  "built_dates": [FIRST.isoformat(), SECOND.isoformat()]}))
    assert catch_up(settings, THIRD) is None
    record.write_text(json.dumps({"read": {FIRST.isoformat(): "c1-0"}}))  # SECOND never built
    assert catch_up(settings, THIRD)["extract"] == [SECOND.isoformat()]


def test_an_owed_night_that_cannot_be_extracted_does_not_hold_the_others_back(
    tmp_path: Path,
) -> None:
    settings = local_crawl_settings(ROOT, (), data_dir=tmp_path / "data",
                                    warehouse_dir=tmp_path / "warehouse")
    land_records([_page(1)], settings.raw_dir, FIRST)
    land_records([_page(2)], settings.raw_dir, SECOND)
    broken = partition_dir(settings.raw_dir, FIRST) / PART_NAME
    broken.write_bytes(b"PAR1 not a parquet file")  # a disk that lost it
    owed = catch_up(settings, THIRD)
    assert owed["extract"] == [FIRST.isoformat(), SECOND.isoformat()]
    done = catch_up_extract(owed, settings)
    assert list(done["failed"]) == [FIRST.isoformat()] and done["load_date"] == SECOND.isoformat()
    assert "NOT caught up: the extraction of 2026-11-01 failed" in format_summary(
        {"load_date": THIRD.isoformat(), "extract": done})
    again = catch_up_extract(owed, settings)  # a retry: what is done is not done again
    assert again["caught_up"][SECOND.isoformat()] == {
        "skipped": "extracted from its landing as it is already"}
    with pytest.raises(CatchUpFailed, match="2026-11-01: "):
        catch_up_extract({**owed, "extract": [FIRST.isoformat()], "unpublished": []}, settings)
    extract_stage(SECOND, settings)  # an unreadable landing whose extraction is there
    shutil.copytree(settings.extracted_dir / "pages" / f"load_date={SECOND.isoformat()}",
                    settings.extracted_dir / "pages" / f"load_date={FIRST.isoformat()}")
    assert catch_up(settings, THIRD)["extract"] == []  # not held against every quiet night


def test_a_quiet_night_catches_up_nights_that_never_reached_bi(
    tmp_path: Path, server: SiteServer
) -> None:
    """The archive lands nothing new, night after night: nights that died after their
    landing would never be published. The next quiet night runs them all, then they stop."""
    settings = _landed_once(tmp_path, server)  # died after landing: nothing extracted
    warc = tmp_path / "second.warc.gz"  # the next night lands two more pages, dies too
    with WarcSink(warc, info={"software": "test"}) as sink:
        for n in (1, 2):
            sink.write(_page(n))
    assert land_stage(warc, SECOND, settings)["rows"] == 2

    night = run_pipeline(START, THIRD, settings)
    assert night["land"]["rows"] == 0 and "skipped" not in night
    assert night["catch_up"]["extract"] == [FIRST.isoformat(), SECOND.isoformat()]
    assert set(night["extract"]["caught_up"]) == {FIRST.isoformat(), SECOND.isoformat()}
    assert night["build"]["load_date"] == SECOND.isoformat() and night["quality"]["success"]
    assert set(publish.published_reads(settings)) == {FIRST.isoformat(), SECOND.isoformat()}
    assert "caught up: nothing new landed for 2026-11-04" in format_summary(night)
    marts = night["publish"]["mart_rows"]

    published = settings.published_db.stat()
    again = run_pipeline(START, FOURTH, settings)  # nothing owed any more
    assert "skipped" in again and "catch_up" not in again
    assert settings.published_db.stat().st_mtime_ns == published.st_mtime_ns

    # SECOND turns out bad after its publish and is taken out (docs/quality.md): the next
    # quiet night rebuilds and publishes without it, and no later one extracts it again
    for table in EXTRACTED_TABLES:
        shutil.rmtree(settings.extracted_dir / table / f"load_date={SECOND.isoformat()}")
    fourth = run_pipeline(START, FOURTH, settings)
    assert "the published warehouse still holds 2026-11-03" in fourth["catch_up"]["reason"]
    assert fourth["catch_up"]["extract"] == [] and fourth["build"]["full_refresh"]
    assert fourth["publish"]["mart_rows"]["fct_articles"] < marts["fct_articles"]
    assert set(publish.published_reads(settings)) == {FIRST.isoformat()}
    assert catch_up(settings, FOURTH) is None
    # published again as it was, for the rest of the test
    extract_stage(SECOND, settings)
    night = run_pipeline(START, FOURTH, settings)
    assert night["catch_up"]["unpublished"] == [SECOND.isoformat()]
    assert night["publish"]["mart_rows"] == marts

    # a publish that left no record (killed after its rename, an upgrade): the next quiet
    # night builds, checks and publishes again, extracting nothing
    (settings.build_db.parent / publish.PUBLISHED_READS).unlink()
    fifth = date(2026, 11, 6)
    if overlap.available():
        night = overlap.run_overlapped(START, fifth, settings)
    else:
        night = run_pipeline(START, fifth, settings)
    assert night["catch_up"]["extract"] == [] and night["extract"]["caught_up"] == {}
    assert night["build"]["load_date"] == SECOND.isoformat()
    assert not night["build"]["full_refresh"]
    assert night["publish"]["mart_rows"] == marts
    assert catch_up(settings, fifth) is None


def _page(n: int) -> RawRecord:
    return RawRecord(url=f"http://www.old.exclusive.kz/a/{n}/",
                     body=(SITE / "page_13178.html").read_bytes())


def test_an_empty_folder_is_refused_and_the_dates_landing_kept(tmp_path: Path) -> None:
    settings = local_crawl_settings(tmp_path, ())
    land_records([_page(1), _page(2)], settings.raw_dir, FIRST)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NoPagesLanded, match="no records at all"):
        run_pipeline(empty, FIRST, settings)
    assert read_partition(settings.raw_dir, FIRST).num_rows == 2
    assert not list(partition_dir(settings.raw_dir, FIRST).glob(".*.tmp"))


def test_a_warc_of_cut_records_only_names_what_it_refused(tmp_path: Path) -> None:
    whole = tmp_path / "one.warc.gz"
    with WarcSink(whole, info={"software": "test"}) as sink:
        sink.write(_page(1))
    cut = tmp_path / "cut.warc"
    cut.write_bytes(gzip.decompress(whole.read_bytes())[:-200])
    settings = local_crawl_settings(tmp_path, ())
    with pytest.raises(NoPagesLanded, match="1 truncated_record"):
        land_stage(cut, FIRST, settings)
    assert not (partition_dir(settings.raw_dir, FIRST) / PART_NAME).exists()


def test_a_crawl_landing_nothing_new_keeps_the_dates_earlier_pages(
    tmp_path: Path, server: SiteServer
) -> None:
    settings = _crawled_once(tmp_path, server)
    first = pq.read_metadata(partition_dir(settings.raw_dir, FIRST) / PART_NAME).num_rows
    again = land_stage(START, FIRST, settings)  # the same date crawled again: nothing new
    assert again["rows"] == first and quiet_night(START, again) is None
