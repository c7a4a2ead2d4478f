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
