"""BI readers during nightly loads: three reader processes query the published warehouse in
a loop (two open a fresh read-only connection per batch, one holds a single connection
throughout) while three loads of different pages run the whole pipeline and publish.

Zero reader errors, and every batch sees one complete published snapshot: its row counts
equal those of a snapshot that was published, and the invariants the marts guarantee
between tables hold. Snapshots differ from load to load (a third of the sample each night),
so a reader seeing a mix of two files, or a half-copied one, would not match any of them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from kznews.acquire.warc import WarcSink, read_warc
from kznews.config import load_settings
from kznews.pipeline import run_pipeline
from tests.conftest import SAMPLE

READER = Path(__file__).with_name("bi_reader.py")
MODES = ("fresh", "fresh", "held")

pytestmark = pytest.mark.slow


def _slices(root: Path, n: int = 3) -> list[Path]:
    records = list(read_warc(SAMPLE / "site.warc.gz"))
    out = []
    for k in range(n):
        path = root / f"night-{k}.warc.gz"
        with WarcSink(path, info={"software": "kznews tests"}) as sink:
            for rec in records[k::n]:
                sink.write(rec)
        out.append(path)
    return out


def test_readers_see_whole_snapshots_while_three_loads_publish(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", warehouse_dir=tmp_path / "warehouse")
    sources = _slices(tmp_path)
    stop = tmp_path / "stop"
    logs = [tmp_path / f"reader-{i}.jsonl" for i in range(len(MODES))]
    readers = [
        subprocess.Popen(
            [sys.executable, str(READER), str(settings.published_db), mode, str(log), str(stop)],
            start_new_session=True,
        )
        for mode, log in zip(MODES, logs, strict=True)
    ]
    published: list[dict] = []
    try:
        for k, source in enumerate(sources):
            summary = run_pipeline(source, date(2026, 11, 23) + timedelta(days=k), settings)
            published.append(summary["publish"]["mart_rows"])
        stop.touch()
        for r in readers:
            assert r.wait(timeout=120) == 0
    finally:
        stop.touch()
        for r in readers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(r.pid, signal.SIGKILL)
            r.wait()

    snapshots = {tuple(sorted(p.items())) for p in published}
    assert len(snapshots) == len(sources), "each night must publish a different snapshot"
    batches = []
    for mode, log in zip(MODES, logs, strict=True):
        recs = [json.loads(line) for line in log.read_text().splitlines()]
        errors = [r for r in recs if "error" in r]
        assert not errors, f"{mode} reader: {errors[0]['error']}\n{errors[0]['trace']}"
        seen = [r for r in recs if "counts" in r]
        assert seen, f"{mode} reader never saw a published file"
        for r in seen:
            assert tuple(sorted(r["counts"].items())) in snapshots, r["counts"]
            for name, (a, b) in r["invariants"].items():
                assert a == b, (name, a, b)
        if mode == "fresh":  # its last batch started after the last publish
            assert seen[-1]["counts"] == published[-1]
        distinct = len({tuple(sorted(r["counts"].items())) for r in seen})
        batches.append(f"{mode}: {len(seen)} batches, {distinct} snapshot(s)")
    # For the record (docs/reliability.md).
    print(f"readers: {batches}; snapshots published: {len(snapshots)}")
