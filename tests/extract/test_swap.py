# ruff: noqa: F401, F811  (the fixtures landed_raw and reference are imported, then requested)
"""A commit that dies while it swaps a date's partitions into place (kznews.extract.swap).

The process really dies (SIGKILL, as from the out-of-memory killer) between two table swaps;
what it leaves must be finished by the next reader (a retry of the same commit, the next
plan, the dbt build), never by two at once, never over newer data, and never "finished"
when its files are gone. Readers never see the tables of two runs once they have started.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kznews.extract import batch, swap
from kznews.extract.batch import commit_extraction, extract_partition, plan_extraction, run_shard
from kznews.schema import EXTRACTED_TABLES
from tests.extract.test_mapped_extraction import (
    DAY,
    PARTITION,
    SHARDS,
    _content,
    _no_temp_root,
    _worker,
    _xcom,
    landed_raw,
    reference,
)

KILLED_AT = 3  # the third table's swap: two tables hold the new run, the rest the old one


def _dying_swap(at_call: int, how: str = "kill"):
    """A swap_partition that dies as its ``at_call``-th call begins (``kill``: SIGKILL), or
    raises an interrupt right after that call's renames (``interrupt``)."""
    real, calls = swap.swap_partition, []

    def dying(tmp_dir, final_dir):
        calls.append(tmp_dir.name)
        if len(calls) == at_call and how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        out = real(tmp_dir, final_dir)
        if len(calls) == at_call:
            raise KeyboardInterrupt  # e.g. the task runner's SIGTERM, between two swaps
        return out

    return dying


def _commit_and_die(commit, *args) -> None:
    """In a forked child: commit, dying with SIGKILL as the KILLED_AT-th swap begins."""
    swap.swap_partition = _dying_swap(KILLED_AT)
    commit(*args)


def _killed_commit(
    settings, store: bool = False, previous: bool = True, push_shards: bool = False
) -> tuple[dict, list]:
    """A previous (stale, marked) extraction of the date unless ``previous`` is false, then
    a new run whose commit (``store``: the Airflow commit task's, with an object store) is
    killed midway. Returns the new run's plan and results (what the retried commit gets)."""
    from kznews.pipeline import _push_shard, _store, extract_commit_stage

    if previous:
        extract_partition(settings, DAY, workers=SHARDS)
    for table in EXTRACTED_TABLES:
        marker = settings.extracted_dir / table / PARTITION / "stale-marker"
        marker.write_text("previous run", encoding="utf-8")
    plan = _xcom(plan_extraction(settings, DAY, shards=SHARDS))
    results = [_xcom(run_shard(job)) for job in plan["jobs"]]
    if push_shards:  # as the shard tasks do with a store
        for job in plan["jobs"]:
            _push_shard(_store(settings), batch.run_root(settings, plan), int(job["shard"]))
    commit = extract_commit_stage if store else commit_extraction
    args = (plan, results, DAY, settings) if store else (settings, DAY, plan, results)
    child = mp.get_context("fork").Process(target=_commit_and_die, args=(commit, *args))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    assert _mixed(settings) and swap.journal_path(
        settings.extracted_dir, batch.run_root(settings, plan)).exists()
    return plan, results


def _mixed(settings) -> bool:
    """Some tables hold the killed run's partition, the others the previous one."""
    stale = [(settings.extracted_dir / t / PARTITION / "stale-marker").exists()
             for t in EXTRACTED_TABLES]
    return any(stale) and not all(stale)


def _journals(settings) -> list:
    return list(settings.extracted_dir.glob(swap.JOURNAL_GLOB))


def _finished_cleanly(settings, ref_content) -> bool:
    return (_content(settings) == ref_content and not _mixed(settings)
            and not _journals(settings) and _no_temp_root(settings))


def test_the_next_reader_finishes_the_swaps_of_a_killed_commit(
    tmp_path, landed_raw, reference
) -> None:
    _, ref_content = reference
    settings = _worker(tmp_path, "w", landed_raw)
    plan, _ = _killed_commit(settings)
    run = batch.run_root(settings, plan).name
    assert swap.finish_interrupted_swaps(settings.extracted_dir) == [run]
    assert _finished_cleanly(settings, ref_content)  # every table holds the killed run's rows
    assert swap.finish_interrupted_swaps(settings.extracted_dir) == []  # nothing left to do


@pytest.mark.parametrize("first", ["nobody", "next plan", "build"])
def test_a_retried_commit_of_the_killed_run_reports_it_committed(
    tmp_path, landed_raw, reference, monkeypatch, first
) -> None:
    """The Airflow retry of the commit task, with the same plan and results, whether it
    finishes the swaps itself or another reader did before it: it reports what an
    uninterrupted commit reports (it is not refused for want of the moved files)."""
    from kznews.warehouse import runner

    ref_result, ref_content = reference
    settings = _worker(tmp_path, "w", landed_raw, warehouse_dir=tmp_path / "warehouse")
    plan, results = _killed_commit(settings)
    if first == "next plan":
        plan_extraction(settings, DAY, shards=SHARDS)
    elif first == "build":
        monkeypatch.setattr(runner, "run_dbt", _stop_before_dbt)
        with pytest.raises(RuntimeError, match="stop before dbt"):
            runner.run_build(settings, load_date=DAY)
    out = commit_extraction(settings, DAY, plan, results)
    assert out.pop("resumed") is True
    assert out["rows"] == ref_result["rows"] and out["pages_in"] == ref_result["pages_in"]
    assert _finished_cleanly(settings, ref_content)


def _stop_before_dbt(*args, **kwargs):
    raise RuntimeError("stop before dbt")


def test_the_retried_commit_task_with_a_store_pulls_nothing_and_keeps_the_quarantine(
    tmp_path, landed_raw, reference
) -> None:
    """Through an object store: the retry finishes the swaps before it would pull shard
    files (which would bring back folders already swapped in, without the landing's
    quarantine rows), then pushes the committed partitions."""
    from kznews.pipeline import extract_commit_stage
    from kznews.storage import ObjectStore

    ref_result, ref_content = reference
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    settings = _worker(tmp_path, "w", landed_raw, remote_url=bucket.as_uri())
    plan, results = _killed_commit(settings, store=True)
    out = extract_commit_stage(plan, results, DAY, settings)
    assert out["resumed"] is True and out["rows"] == ref_result["rows"]
    assert ref_result["rows"]["quarantine"] >= 3  # the landing's duplicates
    assert _finished_cleanly(settings, ref_content)
    q = settings.extracted_dir / "quarantine" / PARTITION
    assert sum(pq.read_metadata(f).num_rows for f in q.glob("*.parquet")) == (
        ref_result["rows"]["quarantine"])
    for table in EXTRACTED_TABLES:
        assert ObjectStore(bucket.as_uri()).has_partition(f"extracted/{table}/{PARTITION}")


def test_the_leftover_sweeps_keep_a_root_a_journal_needs(
    tmp_path, landed_raw, reference
) -> None:
    """However old the killed run's root, neither the plan's sweep nor a shard task's sweep
    (a worker that only runs shards) removes it while its journal says it is needed."""
    from kznews.pipeline import extract_shard_stage

    _, ref_content = reference
    settings = _worker(tmp_path, "w", landed_raw)
    plan, _ = _killed_commit(settings)
    root = batch.run_root(settings, plan)
    os.utime(root, (time.time() - 7200,) * 2)
    batch._remove_leftovers(settings.extracted_dir)
    other_run = {**plan["jobs"][0], "out_root": str(settings.extracted_dir / ".run-other")}
    extract_shard_stage(other_run, DAY, settings)
    assert root.is_dir()
    swap.finish_interrupted_swaps(settings.extracted_dir)
    assert _content(settings) == ref_content


def test_a_reader_waits_for_a_live_swap(tmp_path, landed_raw, reference) -> None:
    """A swap in progress holds the folder's lock: a reader blocks until it is done and
    then has nothing to finish (it never swaps the same folders at the same time)."""
    _, ref_content = reference
    settings = _worker(tmp_path, "w", landed_raw)
    plan = _xcom(plan_extraction(settings, DAY, shards=SHARDS))
    results = [_xcom(run_shard(job)) for job in plan["jobs"]]
    midway, go_on = threading.Event(), threading.Event()
    real, calls = swap.swap_partition, []

    def slow_swap(tmp_dir, final_dir):
        calls.append(tmp_dir)
        if len(calls) == KILLED_AT:
            midway.set()
            go_on.wait(30)
        return real(tmp_dir, final_dir)

    swap.swap_partition = slow_swap
    try:
        committer = threading.Thread(target=commit_extraction,
                                     args=(settings, DAY, plan, results))
        committer.start()
        assert midway.wait(30)
        finished: list = []
        reader = threading.Thread(target=lambda: finished.append(
            swap.finish_interrupted_swaps(settings.extracted_dir)))
        reader.start()
        reader.join(0.5)
        assert reader.is_alive() and len(_journals(settings)) == 1  # waiting for the lock
        go_on.set()
        committer.join(30)
        reader.join(30)
    finally:
        swap.swap_partition = real
        go_on.set()
    assert finished == [[]]
    assert _finished_cleanly(settings, ref_content)


def test_an_interrupt_between_two_swaps_keeps_the_journal(
    tmp_path, landed_raw, reference, monkeypatch
) -> None:
    """Not an OSError (SIGTERM's exception, a KeyboardInterrupt) right after a table's
    renames: nothing is swapped back half-knowingly; the journal stays for the next reader."""
    _, ref_content = reference
    settings = _worker(tmp_path, "w", landed_raw)
    extract_partition(settings, DAY, workers=SHARDS)
    plan = _xcom(plan_extraction(settings, DAY, shards=SHARDS))
    results = [_xcom(run_shard(job)) for job in plan["jobs"]]
    monkeypatch.setattr(swap, "swap_partition", _dying_swap(2, how="interrupt"))
    with pytest.raises(KeyboardInterrupt):
        commit_extraction(settings, DAY, plan, results)
    monkeypatch.undo()
    assert len(_journals(settings)) == 1
    swap.finish_interrupted_swaps(settings.extracted_dir)
    assert _finished_cleanly(settings, ref_content)


def test_a_failed_restore_keeps_the_journal_for_the_next_reader(
    tmp_path, landed_raw, reference, monkeypatch
) -> None:
    """The second rename of a swap fails and so does putting the previous partition back:
    that table has no partition of the date. The error propagates, the journal stays, and
    the next reader's roll-forward makes every table whole."""
    _, ref_content = reference
    settings = _worker(tmp_path, "w", landed_raw)
    extract_partition(settings, DAY, workers=SHARDS)
    plan = _xcom(plan_extraction(settings, DAY, shards=SHARDS))
    results = [_xcom(run_shard(job)) for job in plan["jobs"]]
    real = os.replace
    staged = batch.run_root(settings, plan) / list(EXTRACTED_TABLES)[1]
    final = settings.extracted_dir / list(EXTRACTED_TABLES)[1] / PARTITION

    def replace(src, dst):  # the second table: its new folder in, then the old one back
        if Path(src) == staged or (Path(dst) == final and Path(src).name.startswith(".old-")):
            raise OSError(5, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(swap.os, "replace", replace)
    with pytest.raises(swap.RestoreFailed):
        commit_extraction(settings, DAY, plan, results)
    monkeypatch.setattr(swap.os, "replace", real)
    assert len(_journals(settings)) == 1 and not final.exists()
    swap.finish_interrupted_swaps(settings.extracted_dir)
    assert _finished_cleanly(settings, ref_content)


def test_a_journal_whose_files_are_gone_stops_the_build_until_the_date_is_redone(
    tmp_path, landed_raw, reference, monkeypatch
) -> None:
    """The killed run's root was deleted by hand: the swaps cannot be finished. The build
    refuses to read the mixed tables, naming the date; the next extraction of the date
    supersedes the journal and the build goes on."""
    from kznews.warehouse import runner

    _, ref_content = reference
    settings = _worker(tmp_path, "w", landed_raw, warehouse_dir=tmp_path / "warehouse")
    plan, results = _killed_commit(settings)
    import shutil

    shutil.rmtree(batch.run_root(settings, plan))
    monkeypatch.setattr(runner, "run_dbt", _stop_before_dbt)
    with pytest.raises(swap.SwapUnfinishable, match=PARTITION):
        runner.run_build(settings, load_date=DAY)
    assert _mixed(settings) and len(_journals(settings)) == 1
    assert swap.finish_interrupted_swaps(settings.extracted_dir, strict=False) == []
    with pytest.raises(batch.ExtractionIncomplete):  # the retry cannot pretend it committed
        commit_extraction(settings, DAY, plan, results)
    extract_partition(settings, DAY, workers=SHARDS)
    assert _finished_cleanly(settings, ref_content)
    with pytest.raises(RuntimeError, match="stop before dbt"):
        runner.run_build(settings, load_date=DAY)


def test_the_next_night_extracts_a_date_whose_commit_cannot_be_finished(
    tmp_path, landed_raw, reference, monkeypatch
) -> None:
    """Instead of a build that refuses night after night until someone extracts the date
    by hand: the next night's look-back (kznews.pipeline.owed_extractions, or a quiet
    night's catch_up) owes the date its extraction again, which supersedes the journal,
    and the build goes on."""
    from datetime import timedelta

    from kznews.pipeline import catch_up, extract_owed, owed_extractions
    from kznews.warehouse import runner

    _, ref_content = reference
    settings = _worker(tmp_path, "w", landed_raw, warehouse_dir=tmp_path / "warehouse",
                       extract_workers=SHARDS)  # the reference's files, one per shard
    plan, _ = _killed_commit(settings)
    shutil.rmtree(batch.run_root(settings, plan))  # its journal cannot be finished now
    assert swap.unfinishable_partitions(settings.extracted_dir) == [PARTITION]
    assert owed_extractions(settings, DAY) == []  # only the dates before the night
    owed = owed_extractions(settings, DAY + timedelta(days=1))
    assert owed == [DAY.isoformat()]
    assert catch_up(settings, DAY)["extract"] == owed  # a quiet night owes it too
    assert extract_owed(owed, settings)["failed"] == {}
    assert _finished_cleanly(settings, ref_content)
    assert owed_extractions(settings, DAY + timedelta(days=1)) == []
    monkeypatch.setattr(runner, "run_dbt", _stop_before_dbt)
    with pytest.raises(RuntimeError, match="stop before dbt"):
        runner.run_build(settings, load_date=DAY)


# --- what a second review found: each case must end with every table whole -----------------


def test_a_done_marker_counts_its_day_from_the_finish(tmp_path, landed_raw, reference) -> None:
    """The killed commit's journal is over a day old when the next plan finishes it: the
    plan's own sweep must not take the fresh done marker, so the retry still resumes."""
    _, ref_content = reference
    settings = _worker(tmp_path, "w", landed_raw)
    plan, results = _killed_commit(settings)
    (journal,) = _journals(settings)
    os.utime(journal, (time.time() - swap.DONE_KEPT_S - 600,) * 2)
    plan_extraction(settings, DAY, shards=SHARDS)  # finishes the swaps, then sweeps
    assert commit_extraction(settings, DAY, plan, results)["resumed"] is True
    assert _finished_cleanly(settings, ref_content)


def _break_journal(settings, plan) -> None:
    """The killed run's root is deleted: its journal cannot be finished any more."""
    shutil.rmtree(batch.run_root(settings, plan))
    with pytest.raises(swap.SwapUnfinishable, match=PARTITION):
        swap.finish_interrupted_swaps(settings.extracted_dir)


def test_only_the_staged_folders_themselves_are_rolled_forward(tmp_path, landed_raw) -> None:
    """After the root was deleted, re-running one shard recreates its table folders (new
    inodes, a third of the rows): they must not be taken for the checked ones."""
    settings = _worker(tmp_path, "w", landed_raw)
    plan, _ = _killed_commit(settings)
    _break_journal(settings, plan)
    run_shard(plan["jobs"][0])
    with pytest.raises(swap.SwapUnfinishable):
        swap.finish_interrupted_swaps(settings.extracted_dir)
    assert _mixed(settings)


def test_an_unfinishable_journal_goes_once_a_later_run_of_its_date_is_finished(
    tmp_path, landed_raw, reference, monkeypatch
) -> None:
    """The date's next run is killed mid-swap too, then finished by its retry: every table
    holds that run, so the older, unfinishable journal goes and the build proceeds."""
    from kznews.warehouse import runner

    _, ref_content = reference
    settings = _worker(tmp_path, "w", landed_raw, warehouse_dir=tmp_path / "warehouse")
    plan, _ = _killed_commit(settings)
    _break_journal(settings, plan)
    plan2, results2 = _killed_commit(settings, previous=False)
    assert commit_extraction(settings, DAY, plan2, results2)["resumed"] is True
    assert _finished_cleanly(settings, ref_content)
    monkeypatch.setattr(runner, "run_dbt", _stop_before_dbt)
    with pytest.raises(RuntimeError, match="stop before dbt"):
        runner.run_build(settings, load_date=DAY)


def test_a_commit_of_another_date_leaves_an_unfinishable_journal_alone(
    tmp_path, landed_raw, monkeypatch
) -> None:
    """Only a complete swap of the same date supersedes it; the build keeps refusing."""
    from kznews.warehouse import runner

    settings = _worker(tmp_path, "w", landed_raw, warehouse_dir=tmp_path / "warehouse")
    plan, _ = _killed_commit(settings)
    _break_journal(settings, plan)
    (journal,) = _journals(settings)
    body = json.loads(journal.read_text(encoding="utf-8"))
    journal.write_text(json.dumps({**body, "partition": "load_date=2020-01-01"}))
    extract_partition(settings, DAY, workers=SHARDS)
    assert _journals(settings) == [journal]
    monkeypatch.setattr(runner, "run_dbt", _stop_before_dbt)
    with pytest.raises(swap.SwapUnfinishable, match="2020-01-01"):
        runner.run_build(settings, load_date=DAY)


def test_the_retry_that_pulls_its_own_root_back_commits_and_keeps_no_journal(
    tmp_path, landed_raw, reference
) -> None:
    """Object store: the killed commit's root is lost; its retry pulls the shard files back
    from the run's prefix (new folders), commits every table, replaces its own journal and
    pushes the partitions."""
    from kznews.pipeline import extract_commit_stage
    from kznews.storage import ObjectStore

    ref_result, ref_content = reference
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    settings = _worker(tmp_path, "w", landed_raw, remote_url=bucket.as_uri())
    plan, results = _killed_commit(settings, store=True, push_shards=True)
    shutil.rmtree(batch.run_root(settings, plan))
    out = extract_commit_stage(plan, results, DAY, settings)
    assert "resumed" not in out and out["rows"] == ref_result["rows"]
    assert _finished_cleanly(settings, ref_content)
    for table in EXTRACTED_TABLES:
        assert ObjectStore(bucket.as_uri()).has_partition(f"extracted/{table}/{PARTITION}")


def test_a_failed_retry_over_an_unfinishable_journal_keeps_one(
    tmp_path, landed_raw, reference, monkeypatch
) -> None:
    """As above, but a rename of the retry fails: it swaps back to a state as mixed as
    before, so its journal (whose folders are back in the root) stays, the build refuses,
    and the next reader makes every table whole."""
    from kznews.pipeline import extract_commit_stage
    from kznews.warehouse import runner
    from tests.extract.test_mapped_extraction import _swap_fails

    _, ref_content = reference
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    settings = _worker(tmp_path, "w", landed_raw, remote_url=bucket.as_uri(),
                       warehouse_dir=tmp_path / "warehouse")
    plan, results = _killed_commit(settings, store=True, push_shards=True)
    shutil.rmtree(batch.run_root(settings, plan))
    _swap_fails(monkeypatch, at_call=4)
    with pytest.raises(OSError, match="No space left"):
        extract_commit_stage(plan, results, DAY, settings)
    monkeypatch.undo()
    assert _mixed(settings) and len(_journals(settings)) == 1
    monkeypatch.setattr(runner, "run_dbt", _stop_before_dbt)
    with pytest.raises(RuntimeError, match="stop before dbt"):  # finished first, then dbt
        runner.run_build(settings, load_date=DAY)
    assert _content(settings) == ref_content and not _journals(settings)


def test_the_build_with_a_store_reads_the_pulled_partitions_in_every_table(
    tmp_path, landed_raw, monkeypatch
) -> None:
    """Machine B's commit of a date was killed; the date was then extracted again on
    machine C (other content) and pushed. B's build must end with C's partitions in every
    table, never B's old swaps finished over some of them."""
    from kznews.acquire import open_source
    from kznews.land import land_records
    from kznews.pipeline import build_stage
    from kznews.storage import ObjectStore
    from kznews.warehouse import runner
    from tests.conftest import SAMPLE

    bucket = tmp_path / "bucket"
    bucket.mkdir()
    b = _worker(tmp_path, "b", landed_raw, remote_url=bucket.as_uri(),
                warehouse_dir=tmp_path / "wh")
    _killed_commit(b)
    c = _worker(tmp_path, "c", None)
    land_records(list(open_source(SAMPLE, c))[:30], c.raw_dir, DAY, batch_rows=10)
    extract_partition(c, DAY, workers=1)
    for table in EXTRACTED_TABLES:
        ObjectStore(bucket.as_uri()).push_partition(
            c.extracted_dir / table / PARTITION, f"extracted/{table}/{PARTITION}")
    seen = {}

    def fake_dbt(*args, **kwargs):
        seen["content"] = _content(b)
        raise RuntimeError("stop before dbt")

    monkeypatch.setattr(runner, "run_dbt", fake_dbt)
    with pytest.raises(RuntimeError, match="stop before dbt"):
        build_stage(b, load_date=DAY)
    assert seen["content"] == _content(c)


def test_the_build_with_a_store_drops_a_journal_whose_date_it_pulled(
    tmp_path, landed_raw, reference, monkeypatch
) -> None:
    """An unfinishable journal does not stop a build whose pull replaced its date in every
    table from the bucket (committed and pushed by another machine)."""
    from kznews.pipeline import build_stage
    from kznews.storage import ObjectStore
    from kznews.warehouse import runner

    _, ref_content = reference
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    other = _worker(tmp_path, "other", landed_raw)
    extract_partition(other, DAY, workers=SHARDS)
    for table in EXTRACTED_TABLES:
        ObjectStore(bucket.as_uri()).push_partition(
            other.extracted_dir / table / PARTITION, f"extracted/{table}/{PARTITION}")
    b = _worker(tmp_path, "b", landed_raw, remote_url=bucket.as_uri(),
                warehouse_dir=tmp_path / "wh")
    plan, _ = _killed_commit(b)
    _break_journal(b, plan)
    monkeypatch.setattr(runner, "run_dbt", _stop_before_dbt)
    with pytest.raises(RuntimeError, match="stop before dbt"):
        build_stage(b, load_date=DAY)
    assert _content(b) == ref_content and not _journals(b) and not _mixed(b)


def test_a_done_marker_is_withdrawn_when_the_swaps_are_rolled_back(
    tmp_path, landed_raw, reference, monkeypatch
) -> None:
    """The last step (making the done marker durable) fails: the swaps are undone, so no
    marker may say the run committed; the retry then commits for real."""
    _, ref_content = reference
    settings = _worker(tmp_path, "w", landed_raw)
    extract_partition(settings, DAY, workers=SHARDS)
    before = _content(settings)
    plan = _xcom(plan_extraction(settings, DAY, shards=SHARDS))
    results = [_xcom(run_shard(job)) for job in plan["jobs"]]
    real, calls = swap.fsync_path, []

    def fsync_path(path):
        calls.append(path)
        if Path(path) == settings.extracted_dir and calls.count(path) == 2:
            raise OSError(5, "Input/output error")  # the fsync after the marker's rename
        real(path)

    monkeypatch.setattr(swap, "fsync_path", fsync_path)
    with pytest.raises(OSError, match="Input/output"):
        commit_extraction(settings, DAY, plan, results)
    monkeypatch.undo()
    root = batch.run_root(settings, plan)
    assert not swap.committed(settings.extracted_dir, root) and not _journals(settings)
    assert _content(settings) == before
    assert "resumed" not in commit_extraction(settings, DAY, plan, results)
    assert _content(settings) == ref_content


def test_remove_root_keeps_a_root_its_journal_needs(tmp_path) -> None:
    root = tmp_path / ".run-x"
    (root / "pages").mkdir(parents=True)
    swap.journal_path(tmp_path, root).write_text("{}")
    swap.remove_root(tmp_path, root)
    assert root.is_dir()
    swap.journal_path(tmp_path, root).unlink()
    swap.remove_root(tmp_path, root)
    assert not root.exists()
