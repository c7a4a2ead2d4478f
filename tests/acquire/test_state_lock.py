"""One crawl at a time owns the crawl state (kznews.acquire.state.StateLock)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from kznews.acquire.crawl import crawl_records, record_landed_fetches, run_crawl
from kznews.acquire.state import CrawlStateBusy, StateLock
from kznews.config import Settings
from kznews.land import PART_NAME, partition_dir
from kznews.sitegen.server import SiteServer

DAY = date(2026, 11, 22)

_HOLDER = (
    "import sys, time\n"
    "from kznews.acquire.state import StateLock\n"
    "lock = StateLock(sys.argv[1]).acquire()\n"
    "print('held', flush=True)\n"
    "time.sleep(600)\n"
)


@pytest.fixture
def other_crawl(settings: Settings) -> Iterator[subprocess.Popen]:
    """Another process holding the crawl state's lock, as a running crawl does."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(settings.state_dir)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_a_second_crawl_stops_at_once_and_names_the_first(
    server: SiteServer, settings: Settings, other_crawl: subprocess.Popen
) -> None:
    from kznews.pipeline import land_stage

    with pytest.raises(CrawlStateBusy, match=rf"pid {other_crawl.pid} on .+, since 20"):
        land_stage("crawl", DAY, settings)
    assert server.requests == []  # the site saw nothing of it
    assert not (partition_dir(settings.raw_dir, DAY) / PART_NAME).exists()
    with pytest.raises(CrawlStateBusy):
        run_crawl(settings)
    assert server.requests == []

    other_crawl.send_signal(signal.SIGKILL)  # a killed crawl leaves no lock behind
    other_crawl.wait()
    assert land_stage("crawl", DAY, settings)["rows"] > 0
    assert (settings.state_dir / "crawl_state.parquet").exists()


def test_catching_the_state_up_from_a_landing_waits_its_turn_too(
    server: SiteServer, settings: Settings
) -> None:
    from kznews.pipeline import land_stage

    land_stage("crawl", DAY, settings)
    part = partition_dir(settings.raw_dir, DAY) / PART_NAME
    with StateLock(settings.state_dir), pytest.raises(CrawlStateBusy):
        record_landed_fetches(part, settings)
    assert record_landed_fetches(part, settings) == 0  # its own turn: nothing new


def test_a_crawl_holds_the_lock_from_its_start_to_its_commit(
    server: SiteServer, settings: Settings
) -> None:
    records = crawl_records(None, settings)
    assert list(records)
    with pytest.raises(CrawlStateBusy, match=f"pid {os.getpid()}"):
        StateLock(settings.state_dir).acquire()
    records.commit()
    with StateLock(settings.state_dir) as lock:
        assert lock.held


def test_a_failed_landing_gives_the_lock_back(
    server: SiteServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crawl's records object lives on in the traceback; the lock must not."""
    from kznews.pipeline import land_stage
    from tests.conftest import fail_landing_renames

    fail_landing_renames(monkeypatch, "disk full")
    with pytest.raises(OSError, match="disk full") as failed:
        land_stage("crawl", DAY, settings)
    assert failed.traceback  # still referenced here
    with StateLock(settings.state_dir) as lock:
        assert lock.held
    assert not (settings.state_dir / "crawl_state.parquet").exists()


def test_the_lock_is_released_once(tmp_path: Path) -> None:
    lock = StateLock(tmp_path).acquire()
    lock.release()
    lock.release()  # idempotent
    with StateLock(tmp_path) as again:
        assert again.held
    assert not again.held


def test_a_holder_that_left_no_note_is_refused_all_the_same(tmp_path: Path) -> None:
    """A holder killed between taking the lock and writing its note, or mid-write."""
    import fcntl

    (tmp_path / "crawl_state.lock").write_text('{"pid": 12')
    fd = os.open(tmp_path / "crawl_state.lock", os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(CrawlStateBusy, match=r"; holder unknown\)"):
            StateLock(tmp_path).acquire()
    finally:
        os.close(fd)
