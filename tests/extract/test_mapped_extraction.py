"""Extraction as plan -> shards -> commit (the Airflow DAG's mapped tasks), over the sample.

The three steps must give exactly what :func:`extract_partition` gives; a commit must refuse
(and leave the date's previous partition byte for byte) when a shard did not succeed; a
retried shard must replace its own files, never add rows. With an object store, the three
steps may run on three machines that share nothing but the bucket.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kznews.acquire import open_source
from kznews.config import Settings, load_settings
from kznews.extract import batch, swap
from kznews.extract.batch import (
    ExtractionIncomplete,
    commit_extraction,
    extract_partition,
    plan_extraction,
    run_shard,
)
from kznews.land import land_records
from kznews.schema import EXTRACTED_TABLES
from tests.conftest import SAMPLE

DAY = date(2026, 11, 25)
PARTITION = f"load_date={DAY.isoformat()}"
SHARDS = 3


@pytest.fixture(scope="module")
def landed_raw(tmp_path_factory) -> Path:
    """The sample landed once in row groups of 40 pages, plus three duplicate URLs (so the
    landing has a quarantine for the commit to carry over). Tests copy it."""
    root = tmp_path_factory.mktemp("landing")
    settings = load_settings(data_dir=root / "data")
    records = list(open_source(SAMPLE, settings))
    land_records(records + records[:3], settings.raw_dir, DAY, batch_rows=40)
    assert pq.ParquetFile(settings.raw_dir / PARTITION / "part-0.parquet").num_row_groups > SHARDS
    return settings.raw_dir


def _worker(tmp_path: Path, name: str, landed_raw: Path | None, **kw: object) -> Settings:
    """A data folder of its own (as on a separate machine), with the landing when given."""
    settings = load_settings(data_dir=tmp_path / name / "data", **kw)
    if landed_raw is not None:
        shutil.copytree(landed_raw, settings.raw_dir)
    return settings


def _content(settings: Settings) -> dict[str, dict[str, list]]:
    """Every extracted file of the day: table -> file name -> its rows, in file order."""
    out = {}
    for table in EXTRACTED_TABLES:
        folder = settings.extracted_dir / table / PARTITION
        out[table] = {
            f.name: pq.read_table(f).to_pylist()
            for f in sorted(folder.iterdir())
            if f.suffix == ".parquet"
        }
    return out


def _bytes(settings: Settings) -> dict[str, bytes]:
    root = settings.extracted_dir
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


def _no_temp_root(settings: Settings) -> bool:
    return not list(settings.extracted_dir.glob(".run-*"))


def _xcom(value):
    """What an XCom round trip does to a value: JSON in, JSON out."""
    return json.loads(json.dumps(value))


@pytest.fixture
def reference(tmp_path, landed_raw) -> tuple[dict, dict]:
    settings = _worker(tmp_path, "reference", landed_raw)
    result = extract_partition(settings, DAY, workers=SHARDS)
    return result, _content(settings)


def test_plan_shards_commit_equals_extract_partition(tmp_path, landed_raw, reference) -> None:
    ref_result, ref_content = reference
    settings = _worker(tmp_path, "mapped", landed_raw)
    plan = _xcom(plan_extraction(settings, DAY, shards=SHARDS))
    assert plan["shards"] == SHARDS and len(plan["jobs"]) == SHARDS
    assert plan["started_at"] > 0 and plan["raw_bytes"] > 0
    # shards in any order, each from its dict form, results through XCom
    results = [_xcom(run_shard(job)) for job in reversed(plan["jobs"])]
    out = commit_extraction(settings, DAY, plan, results)
    assert {k: v for k, v in out.items() if k != "extracted_dir"} == {
        k: v for k, v in ref_result.items() if k != "extracted_dir"
    }
    assert out["rows"]["quarantine"] >= 3  # the landing's duplicates came along
    assert _content(settings) == ref_content
    assert _no_temp_root(settings)


@pytest.mark.parametrize("lost", ["result", "output"])
def test_incomplete_run_is_refused_and_keeps_the_previous_partition(
    tmp_path, landed_raw, lost
) -> None:
    settings = _worker(tmp_path, "w", landed_raw)
    extract_partition(settings, DAY, workers=SHARDS)
    before = _bytes(settings)
    plan = plan_extraction(settings, DAY, shards=SHARDS)
    results = [run_shard(job) for job in plan["jobs"]]
    if lost == "result":  # e.g. the mapped task of shard 1 never succeeded
        del results[1]
        expected = "shard 1 has no result"
    else:  # the task succeeded but its file is gone (another machine, a sweep)
        (Path(plan["tmp_root"]) / "articles" / "part-00001.parquet").unlink()
        expected = "shard 1: .*part-00001.parquet is missing"
    with pytest.raises(ExtractionIncomplete, match=expected):
        commit_extraction(settings, DAY, plan, results)
    assert _bytes(settings) == before  # nothing swapped, byte for byte
    assert _no_temp_root(settings)


def test_a_result_of_another_run_is_refused(tmp_path, landed_raw) -> None:
    settings = _worker(tmp_path, "w", landed_raw)
    old = plan_extraction(settings, DAY, shards=SHARDS)
    stale = run_shard(old["jobs"][0])
    plan = plan_extraction(settings, DAY, shards=SHARDS)
    results = [stale] + [run_shard(job) for job in plan["jobs"][1:]]
    with pytest.raises(ExtractionIncomplete, match="belongs to run"):
        commit_extraction(settings, DAY, plan, results)
    assert not (settings.extracted_dir / "pages" / PARTITION).exists()


def test_retried_shard_replaces_its_own_files(
    tmp_path, landed_raw, reference, monkeypatch
) -> None:
    """Shard 1 dies midway, then is retried twice: rows are those of one clean run."""
    _, ref_content = reference
    settings = _worker(tmp_path, "w", landed_raw)
    plan = _xcom(plan_extraction(settings, DAY, shards=SHARDS))
    results = {0: run_shard(plan["jobs"][0])}
    real = batch.iter_extractions

    def dies_after_ten(*args, **kwargs):
        for i, out in enumerate(real(*args, **kwargs)):
            if i == 10:
                raise RuntimeError("worker lost")
            yield out

    monkeypatch.setattr(batch, "iter_extractions", dies_after_ten)
    with pytest.raises(RuntimeError, match="worker lost"):
        run_shard(plan["jobs"][1])
    monkeypatch.setattr(batch, "iter_extractions", real)
    # a temporary file of an attempt killed hard (no clean-up at all) in one table
    tmp_root = Path(plan["tmp_root"])
    (tmp_root / "pages" / "part-00001.deadbeef.tmp.parquet").write_bytes(b"PAR1 partial")
    results[1] = run_shard(plan["jobs"][1])
    results[1] = run_shard(plan["jobs"][1])  # retried once more after succeeding
    results[2] = run_shard(plan["jobs"][2])
    assert sorted(p.name for p in (tmp_root / "pages").iterdir()) == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    out = commit_extraction(settings, DAY, plan, list(results.values()))
    assert _content(settings) == ref_content
    assert out["rows"]["pages"] == sum(len(rows) for rows in ref_content["pages"].values())


def test_shard_refuses_a_landing_that_changed_since_the_plan(tmp_path, landed_raw) -> None:
    settings = _worker(tmp_path, "w", landed_raw)
    plan = plan_extraction(settings, DAY, shards=SHARDS)
    records = list(open_source(SAMPLE, settings))[:50]
    land_records(records, settings.raw_dir, DAY)  # re-landed between plan and shard
    with pytest.raises(batch.LandingChanged, match="changed since the plan"):
        run_shard(plan["jobs"][0])


# --- the pipeline stages the DAG calls, across machines --------------------------------------
def test_stages_on_three_machines_through_an_object_store(
    tmp_path, landed_raw, reference
) -> None:
    """Plan where the landing is, shards on a machine without it, commit on a third one that
    has neither the landing nor any shard output: all through a file:// bucket."""
    from kznews.pipeline import extract_commit_stage, extract_plan_stage, extract_shard_stage
    from kznews.storage import ObjectStore

    ref_result, ref_content = reference
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    remote = {"remote_url": bucket.as_uri()}
    planner = _worker(tmp_path, "planner", None, **remote)
    store = ObjectStore(bucket.as_uri())
    shutil.copytree(landed_raw, planner.raw_dir)
    store.push_partition(planner.raw_dir / PARTITION, f"raw_pages/{PARTITION}")
    shutil.rmtree(planner.raw_dir)  # the plan pulls it too

    plan = _xcom(extract_plan_stage(DAY, planner, shards=SHARDS))
    shard_worker = _worker(tmp_path, "shards", None, **remote)
    results = [_xcom(extract_shard_stage(job, DAY, shard_worker)) for job in plan["jobs"]]
    committer = _worker(tmp_path, "commit", None, **remote)
    out = _xcom(extract_commit_stage(plan, iter(results), DAY, committer))

    assert out["shards"] == out["workers"] == SHARDS
    assert out["seconds"] >= 0
    assert out["rows"] == ref_result["rows"] and out["pages_in"] == ref_result["pages_in"]
    assert len(out["remote"]) == len(EXTRACTED_TABLES)
    assert _content(committer) == ref_content
    assert not (bucket / "_runs" / "extract").exists() or not any(
        (bucket / "_runs" / "extract").iterdir()
    )
    for table in EXTRACTED_TABLES:  # what the build stage pulls is the committed partition
        assert store.has_partition(f"extracted/{table}/{PARTITION}")
    assert _no_temp_root(committer)


def test_stages_without_a_store_need_a_shared_data_folder(tmp_path, landed_raw) -> None:
    from kznews.pipeline import extract_commit_stage, extract_plan_stage, extract_shard_stage

    planner = _worker(tmp_path, "planner", landed_raw)
    plan = _xcom(extract_plan_stage(DAY, planner, shards=SHARDS))
    elsewhere = _worker(tmp_path, "elsewhere", None)
    with pytest.raises(FileNotFoundError, match="same data folder"):
        extract_shard_stage(plan["jobs"][0], DAY, elsewhere)
    results = [extract_shard_stage(job, DAY, planner) for job in plan["jobs"]]
    other = _worker(tmp_path, "other", landed_raw)  # has the landing, not the shard outputs
    with pytest.raises(ExtractionIncomplete, match="same data folder"):
        extract_commit_stage(plan, results, DAY, other)
    # on the shared folder the same plan and results commit fine
    out = extract_commit_stage(plan, results, DAY, planner)
    assert out["shards"] == SHARDS and out["pages_in"] > 0
    assert _no_temp_root(planner)


def test_refused_commit_through_a_store_drops_the_run_prefix(tmp_path, landed_raw) -> None:
    """A refused commit is final (the DAG does not retry it): its shards' uploads go too."""
    from kznews.pipeline import extract_commit_stage, extract_plan_stage, extract_shard_stage

    bucket = tmp_path / "bucket"
    bucket.mkdir()
    worker = _worker(tmp_path, "w", landed_raw, remote_url=bucket.as_uri())
    plan = _xcom(extract_plan_stage(DAY, worker, shards=SHARDS))
    results = [extract_shard_stage(job, DAY, worker) for job in plan["jobs"]]
    runs = bucket / "_runs" / "extract"
    assert len(list(runs.iterdir())) == 1  # the shards pushed under the run's prefix
    with pytest.raises(ExtractionIncomplete, match=r"shard 0 has no result.*new plan"):
        extract_commit_stage(plan, results[1:], DAY, worker)
    assert not any(runs.iterdir())
    assert not (bucket / "extracted").exists()  # nothing committed, nothing pushed
    assert _no_temp_root(worker)


def _swap_fails(monkeypatch, at_call: int) -> list[str]:
    """Make the ``at_call``-th partition swap (1-based) raise OSError, once; returns the
    tables swapped so far (their folder names)."""
    real = swap.swap_partition
    calls: list[str] = []

    def failing_swap(tmp_dir: Path, final_dir: Path) -> Path | None:
        calls.append(tmp_dir.name)
        if len(calls) == at_call:
            raise OSError(28, "No space left on device")
        return real(tmp_dir, final_dir)

    monkeypatch.setattr(swap, "swap_partition", failing_swap)
    return calls


def _failed_commit(settings: Settings, monkeypatch, at_call: int) -> tuple:
    """Plan and run every shard (through XCom), then commit with the ``at_call``-th swap
    raising; returns (plan, results, tables swapped so far) for the retry."""
    plan = _xcom(plan_extraction(settings, DAY, shards=SHARDS))
    results = [_xcom(run_shard(job)) for job in plan["jobs"]]
    swapped = _swap_fails(monkeypatch, at_call=at_call)
    with pytest.raises(OSError, match="No space left"):
        commit_extraction(settings, DAY, plan, results)
    return plan, results, swapped


@pytest.mark.parametrize("at_call", [1, 4], ids=["first-swap", "midway"])
def test_commit_failing_in_a_swap_on_a_first_night_can_be_retried(
    tmp_path, landed_raw, reference, monkeypatch, at_call
) -> None:
    """A transient error (not a refusal) keeps the run's files, and with no previous
    extraction of the date the tables swapped before it are taken out again: no table holds
    a partition of the date until the retried commit task, with the same plan and results,
    commits them all (no object store involved)."""
    ref_result, ref_content = reference
    settings = _worker(tmp_path, "w", landed_raw)
    plan, results, _ = _failed_commit(settings, monkeypatch, at_call)
    assert not _no_temp_root(settings)  # kept for the retry
    assert not list(settings.extracted_dir.glob(f"*/{PARTITION}"))
    out = commit_extraction(settings, DAY, plan, results)
    assert out["rows"] == ref_result["rows"] and out["pages_in"] == ref_result["pages_in"]
    assert _content(settings) == ref_content
    assert _no_temp_root(settings)


def test_commit_failing_midway_through_the_swaps_is_rolled_back(
    tmp_path, landed_raw, reference, monkeypatch
) -> None:
    """A swap raising midway swaps back the tables before it: afterwards the date keeps its
    previous extraction (here: a stale one) in every table, and the retried commit, with
    the same plan and results (through XCom), commits them all."""
    ref_result, ref_content = reference
    settings = _worker(tmp_path, "w", landed_raw)
    stale = extract_partition(settings, DAY, workers=SHARDS)
    marker = settings.extracted_dir / "pages" / PARTITION / "stale-marker"
    marker.write_text("previous run", encoding="utf-8")

    def committed() -> dict[str, bytes]:
        return {k: v for k, v in _bytes(settings).items() if not k.startswith(".run-")}

    before = committed()
    plan, results, swapped = _failed_commit(settings, monkeypatch, at_call=3)
    assert swapped[0] == "pages"  # the first table was swapped in, then back
    assert marker.read_text(encoding="utf-8") == "previous run"
    assert committed() == before
    assert not list(settings.extracted_dir.glob(swap.JOURNAL_GLOB))  # rolled back: whole
    assert not _no_temp_root(settings)  # kept, with every shard file, for the retry
    out = commit_extraction(settings, DAY, plan, results)
    assert out["rows"] == ref_result["rows"] == stale["rows"]
    assert not marker.exists()
    assert _content(settings) == ref_content
    assert _no_temp_root(settings)


def test_swap_failing_after_moving_the_old_partition_aside_puts_it_back(
    tmp_path, monkeypatch
) -> None:
    """The second rename of one swap fails: the previous partition returns to its place."""
    tmp_dir, final_dir = tmp_path / ".run-x" / "pages", tmp_path / "pages" / PARTITION
    tmp_dir.mkdir(parents=True)
    (tmp_dir / "part-00000.parquet").write_bytes(b"new")
    final_dir.mkdir(parents=True)
    (final_dir / "part-00000.parquet").write_bytes(b"old")
    real = os.replace

    def replace(src, dst):
        if Path(src) == tmp_dir:
            raise OSError(5, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(swap.os, "replace", replace)
    with pytest.raises(OSError, match="Input/output"):
        swap.swap_partition(tmp_dir, final_dir)
    assert (final_dir / "part-00000.parquet").read_bytes() == b"old"
    assert (tmp_dir / "part-00000.parquet").read_bytes() == b"new"
    assert [p.name for p in tmp_dir.parent.iterdir()] == ["pages"]


def test_extract_partition_never_leaves_a_temp_root(tmp_path, landed_raw, monkeypatch) -> None:
    """Its commit keeps the root after a transient error, but nothing retries that commit:
    extract_partition removes it, and the date's previous partition stays as it was."""
    settings = _worker(tmp_path, "w", landed_raw)
    extract_partition(settings, DAY, workers=SHARDS)
    before = _bytes(settings)
    _swap_fails(monkeypatch, at_call=1)
    with pytest.raises(OSError, match="No space left"):
        extract_partition(settings, DAY, workers=SHARDS)
    assert _no_temp_root(settings)
    assert _bytes(settings) == before


def test_plan_finishes_a_landing_killed_before_its_quarantine_rename(
    tmp_path, landed_raw, reference
) -> None:
    """A landing killed between its two renames leaves its quarantine under a temporary
    name (and a retried crawl task reuses that landing): planning the extraction finishes
    it first, so the landing's quarantine rows reach the extracted quarantine."""
    from kznews.land import QUARANTINE_NAME, load_token

    settings = _worker(tmp_path, "w", landed_raw)
    part = settings.raw_dir / PARTITION
    token = load_token(part / "part-0.parquet")
    (part / QUARANTINE_NAME).rename(part / f".{QUARANTINE_NAME}.{token}.tmp")
    extract_partition(settings, DAY, workers=SHARDS)
    assert _content(settings) == reference[1]
    assert pq.read_table(part / QUARANTINE_NAME).num_rows == 3
    assert not list(part.glob(".*"))
