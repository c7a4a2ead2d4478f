"""Publishing only what passed the gate (kznews.gatepass), whatever runs in between.

The case it guards against was reproduced under a real scheduler: a backfill's dbt build
ran between another run's quality gate and its publish (the DuckDB pool keeps tasks apart,
not a run's sequence), failed its own tests after writing its marts, and the other run's
publish shipped them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kznews import gatepass
from kznews.config import Settings, load_settings
from kznews.fsutil import file_identity
from kznews.pipeline import publish_stage


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = load_settings(data_dir=tmp_path / "data", warehouse_dir=tmp_path / "warehouse")
    s.build_db.parent.mkdir(parents=True)
    s.build_db.write_bytes(b"night 1 build")
    return s


def _rebuild(settings: Settings, content: bytes = b"night 2 build, failed its tests") -> None:
    """What another run's dbt build does to the file (a new mtime at least)."""
    settings.build_db.write_bytes(content)
    st = settings.build_db.stat()
    os.utime(settings.build_db, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


def test_publish_refuses_a_build_that_never_passed_the_gate(settings: Settings) -> None:
    with pytest.raises(gatepass.GateNotPassed, match="has not passed the quality gate"):
        publish_stage(settings)
    assert not settings.published_db.exists()


def test_a_pass_speaks_for_that_build_only(settings: Settings) -> None:
    assert gatepass.validate_and_record(settings, lambda: {"success": True}) == {"success": True}
    assert gatepass.require_pass(settings)["identity"] == file_identity(
        settings.build_db)
    _rebuild(settings)  # the other run's build lands between this run's gate and publish
    with pytest.raises(gatepass.GateNotPassed, match="changed after it passed"):
        publish_stage(settings)
    assert not settings.published_db.exists()


def test_a_failed_gate_leaves_no_pass_not_even_an_earlier_one(settings: Settings) -> None:
    gatepass.validate_and_record(settings, lambda: None)

    def failing_gate():
        raise RuntimeError("expect_column_values_to_be_between failed")

    with pytest.raises(RuntimeError, match="between failed"):
        gatepass.validate_and_record(settings, failing_gate)
    with pytest.raises(gatepass.GateNotPassed):
        gatepass.require_pass(settings)


def test_a_build_during_the_gate_voids_the_pass(settings: Settings) -> None:
    with pytest.raises(gatepass.GateNotPassed, match="changed while the quality gate read"):
        gatepass.validate_and_record(settings, lambda: _rebuild(settings))
    with pytest.raises(gatepass.GateNotPassed):
        gatepass.require_pass(settings)


def test_a_new_build_forgets_the_pass(settings: Settings) -> None:
    gatepass.validate_and_record(settings, lambda: None)
    gatepass.forget(settings)  # what run_dbt does before every dbt command
    with pytest.raises(gatepass.GateNotPassed, match="no record"):
        gatepass.require_pass(settings)


def test_changes_left_in_a_write_ahead_log_void_the_pass(settings: Settings) -> None:
    """A writer that dies before its checkpoint leaves its changes in the WAL: the file's
    identity is unchanged, but every DuckDB open (the publish's included) replays them."""
    gatepass.validate_and_record(settings, lambda: None)
    wal = Path(f"{settings.build_db}.wal")
    wal.write_bytes(b"unvalidated changes")
    with pytest.raises(gatepass.GateNotPassed, match="died before its checkpoint"):
        publish_stage(settings)
    with pytest.raises(gatepass.GateNotPassed, match="died before its checkpoint"):
        gatepass.validate_and_record(settings, lambda: None)


def test_every_dbt_command_forgets_the_pass(settings: Settings, monkeypatch) -> None:
    """The per-model DAG tasks run dbt without the build stage: run_dbt itself forgets."""
    import subprocess

    from kznews.warehouse import runner

    gatepass.validate_and_record(settings, lambda: None)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0))
    runner.run_dbt(settings, "build", "--select", "fct_articles")
    with pytest.raises(gatepass.GateNotPassed, match="no record"):
        gatepass.require_pass(settings)
