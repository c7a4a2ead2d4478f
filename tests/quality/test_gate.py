"""The quality gate passes a clean load and blocks the faults a redesign or a bug produces."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from kznews.config import Settings
from kznews.quality import (
    QualityGateError,
    raise_if_failed,
    run_gate,
    validate_extraction,
    validate_landing,
    validate_marts,
)

from . import builders as b

# --- corruptions: each rewrites the clean load the way a real fault would -----------------------


def rates_times_1000(settings: Settings, tables: dict) -> None:
    rows = [{**r, "rate": r["rate"] * 1000} for r in tables["rates"]]
    b.write_table(settings, "rates", rows)


def titles_emptied(settings: Settings, tables: dict) -> None:
    """Layout drift: the title selector matches an empty element on every article page."""
    b.write_table(settings, "articles", [{**a, "title": ""} for a in tables["articles"]])


def articles_lost(settings: Settings, tables: dict) -> None:
    """Layout drift as the extractor reports it: no article rows, pages stay 'article' by URL."""
    b.write_table(settings, "articles", [])
    b.write_table(settings, "pages", [{**p, "has_article": False} for p in tables["pages"]])


def no_rates(settings: Settings, tables: dict) -> None:
    b.write_table(settings, "rates", [])
    b.write_table(settings, "pages", [{**p, "n_rates": 0} for p in tables["pages"]])


CORRUPTIONS = {
    "rates_x1000": (rates_times_1000, "USD/KZT between 100 and 1000"),
    "empty_titles": (titles_emptied, "have both title and body"),
    "articles_lost": (articles_lost, "have both title and body"),
    "no_rates": (no_rates, "rates present on at least 95% of old-layout pages"),
}


def test_clean_load_passes(settings: Settings, clean: dict) -> None:
    result = run_gate(settings, b.LOAD_DATE)
    assert result["success"] is True
    assert result["evaluated"] >= 40
    assert result["warnings"] == 0, result["summary"]
    assert Path(result["data_docs"]).name == "index.html"
    assert Path(result["data_docs"]).is_file()
    assert Path(result["data_docs"]).is_relative_to(settings.quality_dir)
    assert "PASSED" in result["summary"]
    json.dumps(result)  # JSON-serialisable: Airflow passes it as XCom
    saved = settings.quality_dir / "results" / "load_date=2024-05-17" / "gate.json"
    assert json.loads(saved.read_text(encoding="utf-8"))["success"] is True


def test_message_names_observed_value_and_rows(settings: Settings, clean: dict) -> None:
    rates_times_1000(settings, clean)
    with pytest.raises(QualityGateError) as info:
        run_gate(settings, b.LOAD_DATE)
    text = str(info.value)
    assert "30 of 30 rows unexpected (100.0%)" in text
    assert "425670" in text
    assert "row: rate=425670, page_url=http://www.old.exclusive.kz/expertiza/smart/" in text


# --- the published file stays at the last good version -------------------------------------------


def _publish_function():
    try:
        from kznews.publish import publish
    except ImportError:
        return None
    return publish


def _gate_then_publish(settings: Settings, publish) -> None:
    """What the pipeline does: publish only after the gate returned."""
    run_gate(settings, b.LOAD_DATE)
    publish(settings)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corruption_fails_the_gate_and_nothing_is_published(
    settings: Settings, clean: dict, name: str
) -> None:
    calls: list[Settings] = []
    real = _publish_function()

    def publish(s: Settings) -> None:
        calls.append(s)
        if real is not None:
            real(s)

    published = settings.published_db
    published.parent.mkdir(parents=True, exist_ok=True)
    published.write_bytes(b"last good warehouse\x00" * 64)
    before = published.read_bytes()
    corrupt, expected = CORRUPTIONS[name]
    corrupt(settings, clean)
    with pytest.raises(QualityGateError) as info:
        _gate_then_publish(settings, publish)
    assert calls == []
    assert published.read_bytes() == before  # the last good version stays
    err = info.value
    assert err.result["success"] is False
    assert expected in str(err)
    assert "CRITICAL" in str(err)
    json.dumps(err.result)
    assert Path(err.result["data_docs"]).is_file()  # the docs show the failure too


def test_pipeline_stage_order_runs_gate_before_publish(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import date

    from kznews import pipeline

    calls: list[str] = []
    monkeypatch.setattr(pipeline, "run_stage", lambda stage, *a, **k: calls.append(stage) or {})
    # the sequential path (an incremental night with overlap_nightly: tests/test_overlap.py)
    pipeline.run_pipeline("sample", date(2026, 1, 1), Settings(overlap_nightly=False))
    assert calls.index("quality") < calls.index("publish")
    assert calls == list(pipeline.STAGES)


# --- the load dates the build file holds --------------------------------------------------------


def _build_read_what_is_extracted(settings: Settings) -> None:
    """What a dbt build records before it reads the extracted partitions."""
    from kznews.warehouse import runner

    runner._record_read_partitions(settings, runner.partition_digests(settings))


def test_a_failed_night_keeps_failing_the_gate_until_it_is_fixed(
    settings: Settings, clean: dict
) -> None:
    """A night whose inputs failed is in the build file all the same: the next night's gate
    must not publish it because that night's own inputs pass."""
    from datetime import timedelta

    from kznews.quality.gate import inputs_passed
    from kznews.schema import EXTRACTED_TABLES

    rates_times_1000(settings, clean)
    _build_read_what_is_extracted(settings)
    with pytest.raises(QualityGateError):
        run_gate(settings, b.LOAD_DATE)
    assert inputs_passed(settings) == {}

    next_night = b.LOAD_DATE + timedelta(days=1)
    b.write_landing(settings, clean["raw"], next_night)
    for name in EXTRACTED_TABLES:
        b.write_table(settings, name, clean[name], next_night)
    _build_read_what_is_extracted(settings)
    with pytest.raises(QualityGateError) as info:
        run_gate(settings, next_night)
    text = str(info.value)
    assert "Earlier load 2024-05-17, in the build file, had not passed its input checks: " \
        "checked again, FAILED" in text
    assert "CRITICAL extraction[2024-05-17]/rates: USD/KZT between 100 and 1000" in text
    assert list(inputs_passed(settings)) == [next_night.isoformat()]  # its own inputs passed

    # fixed: the night is extracted again, and the (forced full) build reads it again
    b.write_table(settings, "rates", clean["rates"])
    _build_read_what_is_extracted(settings)
    result = run_gate(settings, next_night)
    assert "Earlier load 2024-05-17, in the build file, had not passed its input checks: " \
        "checked again, passed" in result["summary"]
    assert sorted(inputs_passed(settings)) == ["2024-05-17", "2024-05-18"]
    again = run_gate(settings, next_night)  # a date that passed is not checked again
    assert "Earlier load" not in again["summary"]
    assert again["evaluated"] < result["evaluated"]


def test_partitions_changed_after_the_build_read_them_block(
    settings: Settings, clean: dict
) -> None:
    _build_read_what_is_extracted(settings)
    run_gate(settings, b.LOAD_DATE)
    b.write_table(settings, "rates", clean["rates"])  # extracted again into the same bytes
    run_gate(settings, b.LOAD_DATE)  # the build holds exactly what is on disk
    b.write_table(settings, "rates", clean["rates"][1:])  # extracted again into other rows
    with pytest.raises(QualityGateError) as info:
        run_gate(settings, b.LOAD_DATE)
    assert ("extracted partitions of load date(s) 2024-05-17 changed after the build read "
            "them") in str(info.value)


# --- finer checks ------------------------------------------------------------------------------


def test_separate_stage_functions_and_raise_if_failed(settings: Settings, clean: dict) -> None:
    results = [f(settings, b.LOAD_DATE, build_docs=False)
               for f in (validate_landing, validate_extraction, validate_marts)]
    assert all(r["success"] for r in results)
    combined = raise_if_failed(*results)
    assert combined["success"] and combined["evaluated"] == sum(r["evaluated"] for r in results)

    no_rates(settings, clean)
    bad = validate_extraction(settings, b.LOAD_DATE)
    assert bad["success"] is False and bad["failed"] >= 1
    assert Path(bad["data_docs"]).is_file()
    with pytest.raises(QualityGateError, match="rates present"):
        raise_if_failed(results[0], bad, results[2])


def test_missing_build_file_blocks(settings: Settings, clean: dict) -> None:
    settings.build_db.unlink()
    result = validate_marts(settings, b.LOAD_DATE, build_docs=False)
    assert result["success"] is False
    assert "every mart exists in the build file" in result["summary"]


def test_mart_duplicate_rate_per_day_blocks(settings: Settings, clean: dict) -> None:
    import duckdb

    con = duckdb.connect(str(settings.build_db))
    con.execute(
        "INSERT INTO marts.fct_exchange_rates VALUES ('dup', DATE '2024-05-17', 'USD', 426)")
    con.close()
    result = validate_marts(settings, b.LOAD_DATE, build_docs=False)
    assert result["success"] is False
    assert "one rate per currency per day" in result["summary"]
    assert "rate_date+currency" in result["summary"]


def test_mart_orphan_foreign_key_blocks(settings: Settings, clean: dict) -> None:
    import duckdb

    con = duckdb.connect(str(settings.build_db))
    con.execute("INSERT INTO marts.fct_articles VALUES ('999', 'no-such-rubric', 'a0', NULL, 'x')")
    con.close()
    result = validate_marts(settings, b.LOAD_DATE, build_docs=False)
    assert result["success"] is False
    assert "fct_articles.rubric_id -> dim_rubrics.rubric_id" in result["summary"]


def test_landing_duplicates_and_empty_bodies_block(settings: Settings, clean: dict) -> None:
    raw = clean["raw"]
    empty = {**raw[1], "body": b"", "size_bytes": 0,
             "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}
    b.write_landing(settings, [raw[0], raw[0], empty, *raw[2:]])
    result = validate_landing(settings, b.LOAD_DATE, build_docs=False)
    assert result["success"] is False
    assert "one row per URL per load" in result["summary"]
    assert "HTTP 200 bodies are not empty" in result["summary"]


def test_fallback_share_blocks(settings: Settings, clean: dict) -> None:
    rows = [{**a, "extraction_method": "trafilatura"} for a in clean["articles"]]
    b.write_table(settings, "articles", rows)
    result = validate_extraction(settings, b.LOAD_DATE, build_docs=False)
    assert result["success"] is False
    assert "table=articles" in result["summary"]


def test_publication_dates_out_of_range_block(settings: Settings, clean: dict) -> None:
    items = list(clean["listing_items"])
    items[0] = {**items[0], "published_at": datetime(1999, 12, 31, 12, tzinfo=UTC)}
    items[1] = {**items[1], "published_at": datetime(2024, 5, 20, tzinfo=UTC)}
    b.write_table(settings, "listing_items", items)
    result = validate_extraction(settings, b.LOAD_DATE, build_docs=False)
    assert result["success"] is False
    assert "not before 2000" in result["summary"]
    assert "not in the future" in result["summary"]


def test_unknown_headline_language_blocks(settings: Settings, clean: dict) -> None:
    rows = [{**h, "language": "en"} if i == 0 else h for i, h in enumerate(clean["headlines"])]
    b.write_table(settings, "headlines", rows)
    result = validate_extraction(settings, b.LOAD_DATE, build_docs=False)
    assert result["success"] is False
    assert "headline language in {ru, kk}" in result["summary"]


def test_warning_is_reported_but_does_not_block(settings: Settings, clean: dict) -> None:
    rates = list(clean["rates"])
    rates[0] = {**rates[0], "rate": rates[0]["rate"] + Decimal("100")}  # one page disagrees
    b.write_table(settings, "rates", rates)
    result = run_gate(settings, b.LOAD_DATE)
    assert result["success"] is True
    assert result["warnings"] == 1
    assert "WARNING extraction/rates_daily" in result["summary"]


def test_missing_extracted_partition_blocks(settings: Settings, clean: dict) -> None:
    folder = settings.extracted_dir / "headlines" / "load_date=2024-05-17"
    for f in folder.glob("*.parquet"):
        f.unlink()
    result = validate_extraction(settings, b.LOAD_DATE, build_docs=False)
    assert result["success"] is False
    assert "files=0, table=headlines" in result["summary"]


def test_error_pickles_with_its_result() -> None:
    err = QualityGateError({"success": False, "summary": "boom"})
    again = pickle.loads(pickle.dumps(err))  # noqa: S301 (our own bytes)
    assert again.result == err.result and str(again) == "boom"


def test_import_is_cheap() -> None:
    code = ("import sys, kznews.quality; "
            "print(any(m.split('.')[0] in ('great_expectations', 'pandas', 'duckdb') "
            "for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def _next_night(settings: Settings, clean: dict, days: int = 1):
    """Land and extract a clean night ``days`` after the fixture's, as the build reads it."""
    from datetime import timedelta

    from kznews.schema import EXTRACTED_TABLES

    night = b.LOAD_DATE + timedelta(days=days)
    b.write_landing(settings, clean["raw"], night)
    for name in EXTRACTED_TABLES:
        b.write_table(settings, name, clean[name], night)
    _build_read_what_is_extracted(settings)
    return night


def _as_before_content_digests(settings: Settings) -> None:
    """Rewrite every record of partition digests (the build's read record, the passed and
    accepted ledgers) as the version before content digests left them."""
    from kznews.quality.gate import INPUTS_ACCEPTED_NAME, INPUTS_PASSED_NAME
    from kznews.warehouse import runner

    legacy = runner._legacy_digests(settings)
    runner._record_read_partitions(settings, dict(legacy))
    passed = settings.quality_dir / INPUTS_PASSED_NAME
    if passed.exists():
        days = json.loads(passed.read_text(encoding="utf-8"))
        passed.write_text(json.dumps({d: legacy[d] for d in days}), encoding="utf-8")
    accepted = settings.quality_dir / INPUTS_ACCEPTED_NAME
    if accepted.exists():
        records = json.loads(accepted.read_text(encoding="utf-8"))
        for day, record in records.items():
            record["digest"] = legacy[day]
        accepted.write_text(json.dumps(records), encoding="utf-8")


def test_an_upgrade_to_content_digests_keeps_passes_and_acceptances(
    settings: Settings, clean: dict
) -> None:
    """Records written before content digests (names, sizes, mtimes) that still describe
    the partitions on disk carry over: the upgraded gate keeps the accepted date accepted
    and the passed date passed, instead of failing or checking every date again. A date
    whose partitions changed since its record counts as changed."""
    from kznews.quality import accept_inputs
    from kznews.quality.gate import inputs_passed

    rates_times_1000(settings, clean)
    _build_read_what_is_extracted(settings)
    accept_inputs(settings, b.LOAD_DATE, "rates published in tiyn", "ops")
    assert run_gate(settings, b.LOAD_DATE)["success"]
    tonight = _next_night(settings, clean)
    assert run_gate(settings, tonight)["success"]

    _as_before_content_digests(settings)
    summary = run_gate(settings, tonight)["summary"]
    # an accepted date is checked at every gate, and stays accepted
    assert (f"Earlier load {b.LOAD_DATE.isoformat()}, in the build file, had not passed its "
            "input checks: checked again, passed, its failures accepted") in summary
    assert sorted(inputs_passed(settings)) == [tonight.isoformat()]  # still passed

    _as_before_content_digests(settings)
    b.write_table(settings, "rates", clean["rates"][1:], tonight)  # changed since its record
    with pytest.raises(QualityGateError) as info:
        run_gate(settings, tonight)
    assert f"load date(s) {tonight.isoformat()} changed after the build read them" in str(
        info.value)


def _as_before_the_ledger(settings: Settings, day: str) -> None:
    """Make ``day``'s gate verdict look written by a version that recorded no digest,
    keeping its file times."""
    import os

    path = settings.quality_dir / "results" / f"load_date={day}" / "gate.json"
    st = path.stat()
    verdict = json.loads(path.read_text(encoding="utf-8"))
    verdict.pop("inputs_digest")
    path.write_text(json.dumps(verdict), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_first_gate_after_an_upgrade_trusts_the_nights_that_passed(
    settings: Settings, clean: dict
) -> None:
    """A data folder without the ledger: a night whose own gate passed on the partitions the
    build holds is not checked again (its landing may be gone from this machine, e.g. with
    an object store); a night whose gate failed, or that was extracted again after its gate
    passed, is."""
    from kznews.quality.gate import INPUTS_PASSED_NAME, inputs_passed

    bad_rates = [{**r, "rate": r["rate"] * 1000} for r in clean["rates"]]
    _build_read_what_is_extracted(settings)
    run_gate(settings, b.LOAD_DATE)
    changed = _next_night(settings, clean, days=1)
    run_gate(settings, changed)
    b.write_table(settings, "rates", bad_rates, changed)  # extracted again after its gate
    failed = _next_night(settings, clean, days=2)
    b.write_table(settings, "rates", bad_rates, failed)
    _build_read_what_is_extracted(settings)
    with pytest.raises(QualityGateError):
        run_gate(settings, failed)

    (settings.quality_dir / INPUTS_PASSED_NAME).unlink()  # lost, or never kept
    _as_before_the_ledger(settings, "2024-05-17")
    assert sorted(inputs_passed(settings)) == ["2024-05-17"]  # 05-18's digest is not the build's
    _as_before_the_ledger(settings, "2024-05-18")
    assert sorted(inputs_passed(settings)) == ["2024-05-17"]  # 05-18 was written after its gate
    (settings.quality_dir / INPUTS_PASSED_NAME).write_text("{not json", encoding="utf-8")
    assert inputs_passed(settings) == {}  # unreadable: every date is checked again
    (settings.quality_dir / INPUTS_PASSED_NAME).unlink()
    (settings.raw_dir / "load_date=2024-05-17" / "part-0.parquet").unlink()

    tonight = _next_night(settings, clean, days=3)
    with pytest.raises(QualityGateError) as info:
        run_gate(settings, tonight)
    text = str(info.value)
    assert "Earlier load 2024-05-17" not in text  # passed then; its landing is gone here
    for day in ("2024-05-18", "2024-05-19"):
        assert f"Earlier load {day}, in the build file, had not passed its input checks: " \
            "checked again, FAILED" in text
    assert sorted(inputs_passed(settings)) == ["2024-05-17", "2024-05-20"]


def test_an_accepted_failure_publishes_until_the_date_changes(
    settings: Settings, clean: dict
) -> None:
    """`kznews accept`: the checks that failed, on the partitions as they are, become
    warnings naming the acceptance; any other failure, a withdrawal or new partitions
    fail the gate again."""
    from kznews.__main__ import main
    from kznews.quality import accept_inputs
    from kznews.quality.gate import inputs_accepted, inputs_passed

    day = "2024-05-17"
    data = ["--data-dir", str(settings.quality_dir.parent)]
    rates_times_1000(settings, clean)
    _build_read_what_is_extracted(settings)
    with pytest.raises(QualityGateError):
        run_gate(settings, b.LOAD_DATE)
    with pytest.raises(ValueError, match="needs a reason"):
        accept_inputs(settings, b.LOAD_DATE, "  ", "ops")
    assert main(["accept", "--date", "2030-01-01", "--reason", "x", *data]) == 2  # nothing there
    assert main(["accept", "--date", day, *data]) == 2  # no reason
    assert inputs_accepted(settings) == {}

    reason = "the bank published them in tiyn"
    assert main(["accept", "--date", day, "--reason", reason, "--by", "ops", *data]) == 0
    record = inputs_accepted(settings)[day]
    assert [c.split(": ")[1] for c in record["checks"]] == [
        "EUR/KZT between 100 and 1200", "RUB/KZT between 1 and 20", "USD/KZT between 100 and 1000"]
    result = run_gate(settings, b.LOAD_DATE)  # the night's gate run again
    assert result["success"] and result["warnings"] >= 1
    assert (f"Load {day}: 3 failed input check(s) accepted; failure accepted by ops on "
            f"{record['at']}: {reason}") in result["summary"]
    assert "WARNING extraction/rates: USD/KZT between 100 and 1000" in result["summary"]
    assert day not in inputs_passed(settings)  # checked at every gate while accepted

    tonight = _next_night(settings, clean)
    summary = run_gate(settings, tonight)["summary"]
    assert (f"Earlier load {day}, in the build file, had not passed its input checks: "
            "checked again, passed, its failures accepted") in summary

    # a failure the acceptance does not list (the landing is not in the digest)
    b.write_landing(settings, clean["raw"] + clean["raw"][:1], b.LOAD_DATE)
    with pytest.raises(QualityGateError) as info:
        run_gate(settings, tonight)
    assert f"CRITICAL landing[{day}]/raw_pages: one row per URL per load" in str(info.value)
    assert "other checks fail all the same" in str(info.value)
    b.write_landing(settings, clean["raw"], b.LOAD_DATE)

    failed_again = (f"Earlier load {day}, in the build file, had not passed its input checks: "
                    "checked again, FAILED")
    assert main(["accept", "--date", day, "--withdraw", *data]) == 0
    assert main(["accept", "--date", day, "--withdraw", *data]) == 2  # none left
    with pytest.raises(QualityGateError) as info:
        run_gate(settings, tonight)
    assert failed_again in str(info.value)

    # accepted again, then extracted again into the same bytes: the same data, still accepted
    accept_inputs(settings, b.LOAD_DATE, reason, "ops")
    rates_times_1000(settings, clean)
    _build_read_what_is_extracted(settings)
    assert "its failures accepted" in run_gate(settings, tonight)["summary"]
    # extracted again into other data, as wrong: new partitions, checked afresh
    b.write_table(settings, "rates", [{**r, "rate": r["rate"] * 999} for r in clean["rates"]])
    _build_read_what_is_extracted(settings)
    with pytest.raises(QualityGateError) as info:
        run_gate(settings, tonight)
    assert failed_again in str(info.value)


def test_earlier_nights_are_fetched_and_digested_once(
    settings: Settings, clean: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With an object store the gate pulls the landing of each date it checks; the partition
    digests are scanned a fixed number of times, not twice per date."""
    import dataclasses

    from kznews import pipeline
    from kznews.storage import ObjectStore
    from kznews.warehouse import runner

    remote = dataclasses.replace(settings, remote_url=(tmp_path / "bucket").as_uri())
    store = ObjectStore.from_settings(remote)
    nights = [b.LOAD_DATE] + [_next_night(settings, clean, days=d) for d in (1, 2, 3)]
    for night in nights[:3]:  # three failed nights, their landings pushed and gone here
        b.write_table(settings, "rates", [{**r, "rate": r["rate"] * 1000}
                                          for r in clean["rates"]], night)
        raw = settings.raw_dir / f"load_date={night.isoformat()}"
        store.push_partition(raw, f"raw_pages/load_date={night.isoformat()}")
        (raw / "part-0.parquet").unlink()
    _build_read_what_is_extracted(settings)

    scans = []
    real = runner.partition_digests
    monkeypatch.setattr(runner, "partition_digests", lambda s: scans.append(1) or real(s))
    fetched = []
    fetch = pipeline.gate_fetch(remote)
    with pytest.raises(QualityGateError) as info:
        run_gate(settings, nights[3], fetch=lambda day: fetched.append(day) or fetch(day))
    assert fetched == nights[3:] + nights[:3]
    text = str(info.value)
    for night in nights[:3]:
        assert f"Earlier load {night.isoformat()}, in the build file, had not passed its " \
            "input checks: checked again, FAILED" in text
    assert "the load landed at least one page" not in text  # pulled, not read as empty
    assert "USD/KZT between 100 and 1000" in text
    assert len(scans) == 4  # tonight before/after, the earlier dates before/after

    # a landing gone from the bucket as well fails its date, with the reason
    import shutil

    first = nights[0].isoformat()
    shutil.rmtree(tmp_path / "bucket" / "raw_pages" / f"load_date={first}")
    (settings.raw_dir / f"load_date={first}" / "part-0.parquet").unlink()
    with pytest.raises(QualityGateError) as info:
        run_gate(settings, nights[3], fetch=fetch)
    assert f"CRITICAL landing[{first}]/-: fetch the landing partition" in str(info.value)
    assert "is neither here nor under" in str(info.value)

    # an acceptance reads what the gate reads: the landing from the bucket, or none at all
    from kznews.quality import accept_inputs

    with pytest.raises(ValueError, match="could not be fetched"):
        accept_inputs(settings, nights[0], "lost", "ops", fetch)
    second = nights[1].isoformat()
    (settings.raw_dir / f"load_date={second}" / "part-0.parquet").unlink()
    record = accept_inputs(settings, nights[1], "tiyn", "ops", fetch)
    assert record["checks"] and all(c.startswith("extraction/") for c in record["checks"])


def test_data_docs_keep_the_earlier_nights_checked_again(
    settings: Settings, clean: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kznews.quality import gate

    monkeypatch.setattr(gate, "KEEP_RUNS", 1)
    rates_times_1000(settings, clean)
    _build_read_what_is_extracted(settings)
    with pytest.raises(QualityGateError):
        run_gate(settings, b.LOAD_DATE)
    tonight = _next_night(settings, clean)
    with pytest.raises(QualityGateError):
        run_gate(settings, tonight)
    for root in (settings.quality_dir / "gx" / "validations",
                 settings.quality_dir / "data_docs" / "validations"):
        kept = {p.name for p in root.rglob("load_date=*") if p.is_dir()}
        assert kept == {"load_date=2024-05-17", "load_date=2024-05-18"}, root
