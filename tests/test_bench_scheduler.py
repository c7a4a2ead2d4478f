"""The scheduler benchmark's arithmetic: how many extraction shards ran side by side."""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime, timedelta

from tests.conftest import ROOT


def _module():
    sys.path.insert(0, str(ROOT / "scripts"))
    spec = importlib.util.spec_from_file_location(
        "bench_scheduler", ROOT / "scripts" / "bench_scheduler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


T0 = datetime(2026, 11, 21, 1, 0, 0)


def _iv(start: float, end: float) -> tuple[datetime, datetime]:
    return T0 + timedelta(seconds=start), T0 + timedelta(seconds=end)


def test_overlapping_shards_counted_with_their_shared_seconds():
    at_once, both = _module()._max_parallel([_iv(0, 10), _iv(2, 12), _iv(20, 25)])
    assert at_once == 2
    assert both == 8.0


def test_shards_one_after_another_never_overlap():
    # the second starts the instant the first ends: not side by side
    at_once, both = _module()._max_parallel([_iv(0, 5), _iv(5, 9)])
    assert (at_once, both) == (1, 0.0)


def test_three_at_once_and_no_shards():
    m = _module()
    assert m._max_parallel([_iv(0, 4), _iv(1, 4), _iv(2, 3)]) == (3, 3.0)
    assert m._max_parallel([]) == (0, 0.0)


def test_idle_report_one_row_per_setting_and_says_why_one_was_not_run():
    m = _module()
    night = {"wall": 12.0, "overhead": 2.5}
    rows = [
        {"sleep": 1.0, "idle_s": 30.0, "idle_cpu": {"scheduler": 2.0, "PostgreSQL server": 1.5,
                                                    "celery-worker": 0.5},
         "full": {"wall": 30.0, "overhead": 7.0}, "nightly": night},
        {"sleep": 0.1, "idle_s": 30.0, "skipped": "Redis not reachable on 127.0.0.1:6379"},
    ]
    pages = {"night1.warc.gz_pages": 9988, "night2.warc.gz_pages": 136}
    text = m.idle_report(rows, pages, "cmd --idle-sleep 1 0.1")
    assert "`cmd --idle-sleep 1 0.1`" in text
    assert "| 1.0 | 2.0 | 1.5 | 4.0 | 30.0 | 7.0 | 12.0 | 2.5 |" in text
    assert "| 0.1 | not run: Redis not reachable on 127.0.0.1:6379 |" in text
    assert "9,988 pages" in text and "136" in text


def test_cpu_seconds_counts_a_busy_child():
    import subprocess
    import sys as _sys

    m = _module()
    child = subprocess.Popen([_sys.executable, "-c", "import time\nt = time.process_time()\n"
                              "while time.process_time() - t < 0.5: pass\nimport sys\n"
                              "sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        import time

        deadline = time.monotonic() + 30
        while m._cpu_seconds([child.pid]) < 0.4 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert m._cpu_seconds([child.pid]) >= 0.4
    finally:
        child.communicate(b"")
    assert m._cpu_seconds([child.pid]) == 0.0  # gone: counted as nothing, no error
