"""Idempotency and crash recovery of the whole pipeline (no Airflow), over the bundled sample.

One workspace, one logical date, in order:

1. a clean run -> the reference checksums of every mart (md5 of its sorted rows, computed in
   DuckDB on the published file opened read-only);
2. two more runs of the same date: the marts are identical (idempotency, three runs);
3. the run is SIGKILLed (its whole process group: dbt and the extraction workers too) while
   landing, then while extracting, then while dbt builds, each kill point observed from the
   real temporary files; after each kill what a reader can reach is whole and the published
   file is still the reference; the next run then completes and equals the reference;
4. a publish is SIGKILLed while it writes its temporary file: the published file is untouched.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kznews.config import Settings, load_settings
from kznews.extract import batch
from kznews.land import land_records
from kznews.pipeline import run_pipeline
from tests.conftest import SAMPLE

from .checks import any_file, finish, kill_when, mart_checksums, start, visible_state

DAY = date(2026, 11, 25)
PARTITION = f"load_date={DAY.isoformat()}"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("reliability")
    return load_settings(data_dir=root / "data", warehouse_dir=root / "warehouse")


@pytest.fixture(scope="module")
def reference(workspace: Settings) -> dict:
    summary = run_pipeline(SAMPLE, DAY, workspace)
    sums = mart_checksums(workspace.published_db)
    assert summary["publish"]["mart_rows"] == {m: n for m, (n, _) in sums.items()}
    return {"sums": sums, "visible": visible_state(workspace), "summary": summary}


def test_same_date_three_times_gives_identical_marts(workspace: Settings, reference) -> None:
    for _ in range(2):
        run_pipeline(SAMPLE, DAY, workspace)
        assert mart_checksums(workspace.published_db) == reference["sums"]
        assert visible_state(workspace) == reference["visible"]  # no row landed twice


def _dbt_log(settings: Settings) -> Path:
    return settings.build_db.parent / "logs" / "dbt.log"


def test_sigkill_mid_landing_extraction_and_dbt_then_recovery(
    workspace: Settings, reference
) -> None:
    ws = workspace
    # -- mid-landing: the landing's hidden temporary file has data in it
    proc = start("all", SAMPLE, DAY.isoformat(), ws)
    kill_when(proc, any_file(ws.raw_dir / PARTITION, ".part-0.parquet.*.tmp"), "landing")
    assert visible_state(ws) == reference["visible"]
    assert mart_checksums(ws.published_db) == reference["sums"]

    # -- mid-extraction: a worker has started writing a shard file in the run's temp root
    proc = start("all", SAMPLE, DAY.isoformat(), ws)
    kill_when(proc, any_file(ws.extracted_dir, f".run-{PARTITION}-*/*/part-*.parquet"), "extract")
    assert visible_state(ws) == reference["visible"]
    assert mart_checksums(ws.published_db) == reference["sums"]

    # -- mid-dbt: dbt has created some models of the build (its log says so)
    log = _dbt_log(ws)
    offset = log.stat().st_size if log.exists() else 0

    def dbt_halfway() -> bool:
        if not log.exists():
            return False
        with open(log, "rb") as fh:
            fh.seek(offset)
            return fh.read().count(b"OK created") >= 3

    proc = start("all", SAMPLE, DAY.isoformat(), ws)
    kill_when(proc, dbt_halfway, "dbt building models")
    assert visible_state(ws) == reference["visible"]
    assert mart_checksums(ws.published_db) == reference["sums"]

    # -- the next run completes: nothing lost, nothing doubled
    finish(start("all", SAMPLE, DAY.isoformat(), ws))
    assert mart_checksums(ws.published_db) == reference["sums"]
    assert visible_state(ws) == reference["visible"]


def test_sigkill_mid_publish_leaves_the_published_file_alone(
    workspace: Settings, reference
) -> None:
    ws = workspace
    proc = start("publish", SAMPLE, DAY.isoformat(), ws)
    kill_when(proc, any_file(ws.published_db.parent, f".{ws.published_name}.*.tmp"), "publish")
    assert mart_checksums(ws.published_db) == reference["sums"]
    # beside the published file, only hidden temporaries: no WAL or other file a reader
    # opening the published name would pick up
    beside = {p.name for p in ws.published_db.parent.glob(f"{ws.published_name}*")}
    assert beside == {ws.published_name}
    finish(start("publish", SAMPLE, DAY.isoformat(), ws))
    assert mart_checksums(ws.published_db) == reference["sums"]


# --- narrow windows, made deterministic ------------------------------------------------------
def test_extraction_killed_between_swap_and_cleanup_leaves_no_second_copy(
    tmp_path: Path, monkeypatch
) -> None:
    """A run dying after every table's partition folder was swapped but before the
    superseded folders were deleted (they wait in the run's temporary root until the commit
    removes that root): readers (DuckDB's glob matches hidden names) must not see them."""
    from kznews.acquire.warc import read_warc

    settings = load_settings(data_dir=tmp_path / "data", warehouse_dir=tmp_path / "wh")
    records = list(read_warc(SAMPLE / "site.warc.gz"))[:40]
    land_records(records, settings.raw_dir, DAY)
    batch.extract_partition(settings, DAY, workers=1)
    clean = visible_state(settings)

    real_rmtree = batch.shutil.rmtree

    class Killed(BaseException):
        pass

    dead = []

    def dies_on_superseded(path, *args, **kwargs):
        if dead:
            return None  # the process is gone: its `finally` clean-ups never run
        holds_superseded = Path(path).name.startswith(".run-") and any(
            p.name.startswith(".old-") for p in Path(path).iterdir()
        )
        if holds_superseded:
            dead.append(path)
            raise Killed
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(batch.shutil, "rmtree", dies_on_superseded)
    with pytest.raises(Killed):
        batch.extract_partition(settings, DAY, workers=1)
    monkeypatch.setattr(batch.shutil, "rmtree", real_rmtree)
    assert visible_state(settings) == clean  # no duplicate rows, no hive-key mismatch
    batch.extract_partition(settings, DAY, workers=1)
    assert visible_state(settings) == clean


def test_landing_killed_mid_write_keeps_the_previous_partition(tmp_path: Path) -> None:
    from kznews.acquire.warc import read_warc

    records = list(read_warc(SAMPLE / "site.warc.gz"))[:30]
    raw = tmp_path / "raw"
    land_records(records, raw, DAY, batch_rows=5)

    class Killed(BaseException):
        pass

    def dying():
        yield from records[:20]
        raise Killed

    with pytest.raises(Killed):
        land_records(dying(), raw, DAY, batch_rows=5)
    files = sorted((raw / PARTITION).glob("*.parquet"))
    assert [f.name for f in files] == ["part-0.parquet"]
    assert pq.read_table(files[0]).num_rows == 30
