# ruff: noqa: F811  (the fixtures landed_raw and reference are imported, then requested)
"""A commit killed while it swaps a date's partitions into place (kznews.extract.swap).

The process really dies (SIGKILL, as from the out-of-memory killer) between two table swaps;
what it leaves must be finished by the next reader: a retry of the same commit, the next
plan, or the dbt build. Readers never see the tables of two runs once they have started.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

import pytest

from kznews.extract import batch, swap
from kznews.extract.batch import commit_extraction, extract_partition, plan_extraction, run_shard
from kznews.schema import EXTRACTED_TABLES
from tests.extract.test_mapped_extraction import (  # noqa: F401  (fixtures)
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


def _commit_and_die(settings, plan, results) -> None:
    """In a forked child: commit, dying with SIGKILL as the KILLED_AT-th swap begins."""
    real, calls = swap.swap_partition, []

    def dying_swap(tmp_dir, final_dir):
        calls.append(tmp_dir.name)
        if len(calls) == KILLED_AT:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(tmp_dir, final_dir)

    swap.swap_partition = dying_swap
    commit_extraction(settings, DAY, plan, results)


def _killed_commit(settings) -> tuple[dict, list]:
    """A previous (stale) extraction of the date, then a new run whose commit is killed
    midway. Returns the new run's plan and results (as the retried commit task gets them)."""
    extract_partition(settings, DAY, workers=SHARDS)
    for table in EXTRACTED_TABLES:
        marker = settings.extracted_dir / table / PARTITION / "stale-marker"
        marker.write_text("previous run", encoding="utf-8")
    plan = _xcom(plan_extraction(settings, DAY, shards=SHARDS))
    results = [_xcom(run_shard(job)) for job in plan["jobs"]]
    child = mp.get_context("fork").Process(target=_commit_and_die, args=(settings, plan, results))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    return plan, results


def _mixed(settings) -> bool:
    """Some tables hold the killed run's partition, the others the previous one."""
    stale = [(settings.extracted_dir / t / PARTITION / "stale-marker").exists()
             for t in EXTRACTED_TABLES]
    return any(stale) and not all(stale)


def _journals(settings) -> list:
    return list(settings.extracted_dir.glob(swap.JOURNAL_GLOB))


def test_the_next_reader_finishes_the_swaps_of_a_killed_commit(
    tmp_path, landed_raw, reference
) -> None:
    _, ref_content = reference
    settings = _worker(tmp_path, "w", landed_raw)
    plan, _ = _killed_commit(settings)
    assert len(_journals(settings)) == 1 and _mixed(settings)
    run = batch.run_root(settings, plan).name

    assert swap.finish_interrupted_swaps(settings.extracted_dir) == [run]
    assert _content(settings) == ref_content  # every table holds the killed run's rows
    assert not _mixed(settings) and not _journals(settings) and _no_temp_root(settings)
    assert swap.finish_interrupted_swaps(settings.extracted_dir) == []  # nothing left to do


def test_a_retried_commit_of_the_killed_run_reports_it_committed(
    tmp_path, landed_raw, reference
) -> None:
    """The Airflow retry of the commit task, with the same plan and results: it finishes
    the swaps and returns what an uninterrupted commit returns (it used to be refused)."""
    ref_result, ref_content = reference
    settings = _worker(tmp_path, "w", landed_raw)
    plan, results = _killed_commit(settings)
    out = commit_extraction(settings, DAY, plan, results)
    assert out.pop("finished_after_kill") is True
    assert out["rows"] == ref_result["rows"] and out["pages_in"] == ref_result["pages_in"]
    assert _content(settings) == ref_content
    assert not _journals(settings) and _no_temp_root(settings)


def test_the_next_plan_finishes_them_before_sweeping_leftovers(
    tmp_path, landed_raw, reference
) -> None:
    """Even when the killed run's root is older than the leftover sweep's hour."""
    _, ref_content = reference
    settings = _worker(tmp_path, "w", landed_raw)
    plan, _ = _killed_commit(settings)
    root = batch.run_root(settings, plan)
    two_hours_ago = time.time() - 7200
    os.utime(root, (two_hours_ago, two_hours_ago))
    plan_extraction(settings, DAY, shards=SHARDS)
    assert _content(settings) == ref_content and not _journals(settings)


def test_a_live_swap_is_left_alone_and_its_root_kept(tmp_path, landed_raw) -> None:
    """A journal whose writer still holds its lock is a swap in progress: no reader
    finishes it, and the sweep keeps its root however old."""
    settings = _worker(tmp_path, "w", landed_raw)
    plan = plan_extraction(settings, DAY, shards=SHARDS)
    for job in plan["jobs"]:
        run_shard(job)
    root = batch.run_root(settings, plan)
    fd = swap._write_journal(settings.extracted_dir, PARTITION, root, tuple(EXTRACTED_TABLES))
    try:
        os.utime(root, (time.time() - 7200,) * 2)
        assert swap.finish_interrupted_swaps(settings.extracted_dir) == []
        batch._remove_leftovers(settings.extracted_dir)
        assert root.is_dir() and len(_journals(settings)) == 1
        assert not list(settings.extracted_dir.glob(f"*/{PARTITION}"))
    finally:
        os.close(fd)  # the writer "dies": its lock goes with it
    assert swap.finish_interrupted_swaps(settings.extracted_dir) == [root.name]
    assert len(list(settings.extracted_dir.glob(f"*/{PARTITION}"))) == len(EXTRACTED_TABLES)


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
    assert len(_journals(settings)) == 1
    assert not (settings.extracted_dir / list(EXTRACTED_TABLES)[1] / PARTITION).exists()
    swap.finish_interrupted_swaps(settings.extracted_dir)
    assert _content(settings) == ref_content and _no_temp_root(settings)


def test_the_build_finishes_them_before_dbt_reads(tmp_path, landed_raw, monkeypatch) -> None:
    """``run_build`` finishes an interrupted swap before dbt starts (dbt is stubbed out:
    what matters is the state of the tables when it would start)."""
    from kznews.warehouse import runner

    settings = _worker(tmp_path, "w", landed_raw, warehouse_dir=tmp_path / "warehouse")
    _killed_commit(settings)
    assert _mixed(settings)
    seen = {}

    def fake_dbt(s, *args, **kw):
        seen["mixed"], seen["journals"] = _mixed(settings), _journals(settings)
        raise RuntimeError("stop here")

    monkeypatch.setattr(runner, "run_dbt", fake_dbt)
    with pytest.raises(RuntimeError, match="stop here"):
        runner.run_build(settings, load_date=DAY)
    assert seen == {"mixed": False, "journals": []}
