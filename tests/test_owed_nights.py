"""A night that lands pages also extracts what earlier nights owe: a night that died after
its landing leaves pages the crawl will not fetch again, and a site with new pages every
night has no quiet night to catch them up (tests/test_quiet_night.py covers that path)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from kznews import overlap, publish
from kznews.acquire.base import RawRecord
from kznews.acquire.warc import WarcSink
from kznews.config import Settings
from kznews.land import PART_NAME, land_records, partition_dir
from kznews.pipeline import (
    extract_owed,
    extract_stage,
    extract_with_owed,
    format_summary,
    land_stage,
    owed_extractions,
    owed_failures,
    run_pipeline,
)
from kznews.schema import EXTRACTED_TABLES
from tests.conftest import ROOT, SITE

OLDER, FIRST, SECOND = date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)
THIRD, FOURTH = date(2026, 11, 3), date(2026, 11, 4)


def _settings(tmp_path: Path) -> Settings:
    return Settings(home=ROOT, data_dir=tmp_path / "data", warehouse_dir=tmp_path / "warehouse")


def _page(n: int) -> RawRecord:
    return RawRecord(url=f"http://www.old.exclusive.kz/expertiza/smart/{n}/",
                     body=(SITE / "page_13178.html").read_bytes())


def _warc(tmp_path: Path, *numbers: int) -> Path:
    warc = tmp_path / f"night-{'-'.join(map(str, numbers))}.warc.gz"
    with WarcSink(warc, info={"software": "test"}) as sink:
        for n in numbers:
            sink.write(_page(n))
    return warc


def _published_articles(settings: Settings) -> set[str]:
    import duckdb

    con = duckdb.connect(str(settings.published_db), read_only=True)
    try:
        return {r[0] for r in con.execute("select article_id from fct_articles").fetchall()}
    finally:
        con.close()


def _extracted(settings: Settings, day: date) -> bool:
    return (settings.extracted_dir / "pages" / f"load_date={day.isoformat()}").is_dir()


def test_the_dates_before_a_night_that_were_never_extracted_are_owed(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    land_records([_page(1)], settings.raw_dir, FIRST)
    extract_stage(FIRST, settings)
    land_records([_page(2)], settings.raw_dir, SECOND)  # died after its landing
    land_records([], settings.raw_dir, THIRD, allow_empty=True)  # a quiet night: nothing owed
    land_records([_page(4)], settings.raw_dir, FOURTH)  # tonight's landing
    assert owed_extractions(settings, FOURTH) == [SECOND.isoformat()]
    assert owed_extractions(settings, SECOND) == []  # only the dates before the night

    result = extract_with_owed(FOURTH, settings)
    assert list(result["owed"]["caught_up"]) == [SECOND.isoformat()]
    assert result["owed"]["failed"] == {} and result["owed"]["rows"]["pages"] == 1
    assert result["rows"]["pages"] == 1  # tonight's own rows, as before
    assert _extracted(settings, SECOND) and _extracted(settings, FOURTH)
    assert owed_extractions(settings, FOURTH) == []
    assert "also extracted, owed by earlier nights: 2026-11-02" in format_summary(
        {"load_date": FOURTH.isoformat(), "extract": result})
    assert "owed" not in extract_with_owed(FOURTH, settings)  # nothing owed: as before

    # a landing merged into after its extraction (a re-sweep that died) is owed again
    land_records([_page(3)], settings.raw_dir, FIRST, keep_existing=True)
    assert owed_extractions(settings, FOURTH) == [FIRST.isoformat()]


def test_an_owed_date_that_cannot_be_extracted_stays_owed_and_is_reported(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    land_records([_page(1)], settings.raw_dir, FIRST)
    land_records([_page(2)], settings.raw_dir, SECOND)
    (partition_dir(settings.raw_dir, FIRST) / PART_NAME).write_bytes(b"PAR1 not a parquet file")
    land_records([_page(3)], settings.raw_dir, THIRD)
    result = extract_with_owed(THIRD, settings)
    assert list(result["owed"]["caught_up"]) == [SECOND.isoformat()]
    assert list(result["owed"]["failed"]) == [FIRST.isoformat()]
    assert _extracted(settings, THIRD)  # the night's own pages go on
    summary = {"load_date": THIRD.isoformat(), "extract": result}
    assert list(owed_failures(summary)) == [FIRST.isoformat()]
    assert "NOT caught up: the extraction of 2026-11-01 failed" in format_summary(summary)
    assert owed_extractions(settings, THIRD) == [FIRST.isoformat()]  # still owed


@pytest.mark.slow
def test_nights_that_land_pages_publish_what_earlier_nights_left_landed(tmp_path: Path) -> None:
    """Through the whole pipeline: an owed date newer than the last build is built
    incrementally (an overlapped night, on Linux); one older than a date a build read
    forces a full rebuild, decided before the night starts (no overlapped helpers)."""
    settings = _settings(tmp_path)
    run_pipeline(_warc(tmp_path, 1), FIRST, settings)
    assert land_stage(_warc(tmp_path, 2), SECOND, settings)["rows"] == 1  # died there

    third = run_pipeline(_warc(tmp_path, 3), THIRD, settings)
    assert list(third["extract"]["owed"]["caught_up"]) == [SECOND.isoformat()]
    assert not third["build"]["full_refresh"] and third["quality"]["success"]
    assert ("overlap" in third) == overlap.available()
    assert set(publish.published_reads(settings)) == {
        FIRST.isoformat(), SECOND.isoformat(), THIRD.isoformat()}
    assert _published_articles(settings) >= {"1", "2", "3"}

    # a backfill of an older date that died after its landing
    assert land_stage(_warc(tmp_path, 5), OLDER, settings)["rows"] == 1
    fourth = run_pipeline(_warc(tmp_path, 4), FOURTH, settings)
    assert list(fourth["extract"]["owed"]["caught_up"]) == [OLDER.isoformat()]
    assert fourth["build"]["full_refresh"], "an older date than the build read: everything"
    assert "overlap" not in fourth
    assert _published_articles(settings) >= {"1", "2", "3", "4", "5"}
    assert OLDER.isoformat() in publish.published_reads(settings)
    assert owed_extractions(settings, FOURTH) == []


def test_a_removed_night_is_not_owed_to_a_night_that_lands_pages(tmp_path: Path) -> None:
    """docs/quality.md keeps a failed night out of BI by removing its extracted partitions
    after a build read them: the nights after leave it alone, as a quiet night does."""
    import json

    from kznews.warehouse.runner import LAST_BUILD_NAME, partition_digests, target_dir

    settings = _settings(tmp_path)
    land_records([_page(1)], settings.raw_dir, FIRST)
    extract_stage(FIRST, settings)
    target_dir(settings).mkdir(parents=True)
    (target_dir(settings) / LAST_BUILD_NAME).write_text(
        json.dumps({"read": partition_digests(settings)}))
    for table in EXTRACTED_TABLES:
        shutil.rmtree(settings.extracted_dir / table / f"load_date={FIRST.isoformat()}")
    assert owed_extractions(settings, SECOND) == []


def test_with_a_store_owed_landings_are_shared_and_extracted_on_another_machine(
    tmp_path: Path,
) -> None:
    """A night killed between its landing and the upload left the landing on the land
    machine only: the next night's land task pushes it, so the worker that extracts it
    (another machine, another data folder) finds it."""
    from kznews.config import load_settings

    bucket = tmp_path / "bucket"
    land_machine = load_settings(data_dir=tmp_path / "land", remote_url=bucket.as_uri())
    worker = load_settings(data_dir=tmp_path / "worker", remote_url=bucket.as_uri())
    land_records([_page(1)], land_machine.raw_dir, FIRST)  # never uploaded
    assert not (bucket / "raw_pages" / f"load_date={FIRST.isoformat()}").exists()
    assert owed_extractions(land_machine, SECOND) == [FIRST.isoformat()]
    assert (bucket / "raw_pages" / f"load_date={FIRST.isoformat()}").is_dir()
    done = extract_owed([FIRST.isoformat()], worker)
    assert list(done["caught_up"]) == [FIRST.isoformat()] and done["failed"] == {}


def test_looking_back_never_fails_the_night(tmp_path: Path, monkeypatch, caplog) -> None:
    """A bucket that does not answer (here: any error while looking) gives no owed date;
    the night goes on and says so, and the dates stay owed to the next one."""
    import kznews.pipeline

    settings = _settings(tmp_path)
    land_records([_page(1)], settings.raw_dir, FIRST)

    def unreachable(*args, **kwargs):
        raise OSError("the bucket does not answer")

    monkeypatch.setattr(kznews.pipeline, "_unextracted", unreachable)
    assert owed_extractions(settings, SECOND) == []
    assert "they stay owed to the next night" in caplog.text
    land_records([_page(2)], settings.raw_dir, SECOND)
    result = extract_with_owed(SECOND, settings)  # the night's own pages go on
    assert result["rows"]["pages"] == 1
    summary = {"load_date": SECOND.isoformat(), "extract": result}
    assert owed_failures(summary) == {"looking back": "OSError: the bucket does not answer"}
    assert ("NOT caught up: looking back for owed nights failed (OSError: the bucket does not "
            "answer)") in format_summary(summary)  # and the CLI exits 4, the DAG ends red
    monkeypatch.undo()
    assert owed_extractions(settings, SECOND) == [FIRST.isoformat()]
