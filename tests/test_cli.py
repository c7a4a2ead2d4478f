"""`python -m kznews extract`: one folder of Parquet per table, in a subprocess like a user."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import pytest

from kznews.schema import EXTRACTED_TABLES
from tests.conftest import ROOT, SITE


def _run(*args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "kznews", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _count(folder, table: str) -> int:
    glob = str(folder / table / "*" / "*.parquet")
    return duckdb.sql(f"select count(*) from read_parquet('{glob}')").fetchone()[0]  # noqa: S608


@pytest.mark.parametrize("encoding_file", ["page_13178.html", "page_13178.cp1251.html"])
def test_extract_single_file(tmp_path, encoding_file):
    out = _run("extract", "--source", str(SITE / encoding_file), "--out", str(tmp_path),
               "--date", "2024-05-17")
    assert out["pages_in"] == 1
    for table in EXTRACTED_TABLES:
        assert (tmp_path / table / "load_date=2024-05-17").is_dir(), table
    assert _count(tmp_path, "rates") == 3
    assert _count(tmp_path, "headlines") == 25
    assert _count(tmp_path, "articles") == 1
    assert _count(tmp_path, "listing_items") == 34
    assert _count(tmp_path, "quarantine") == 0


def test_extract_folder_rerun_replaces(tmp_path):
    folder = tmp_path / "pages"
    folder.mkdir()
    for name in ("page_13178.html", "wp_category_economy.html", "wp_article_tenge.html"):
        (folder / name).write_bytes((SITE / name).read_bytes())
    (folder / "broken.html").write_bytes(b"")
    out_dir = tmp_path / "out"
    for _ in range(2):  # a second run replaces the partition, never appends
        out = _run(
            "extract", "--source", str(folder), "--out", str(out_dir), "--date", "2026-11-25"
        )
    assert out["pages_in"] == 4
    assert _count(out_dir, "pages") == 3
    assert _count(out_dir, "articles") == 2
    assert _count(out_dir, "quarantine") == 1
    reason = duckdb.sql(
        f"select reason from read_parquet('{out_dir}/quarantine/*/*.parquet')"  # noqa: S608
    ).fetchone()[0]
    assert reason == "empty_body"


def test_extract_refuses_a_site_to_crawl(tmp_path):
    """A crawl shares its state with the nightly load: pages crawled by ``extract`` would be
    missing from the next night. extract reads files only, and says where crawls go."""
    proc = subprocess.run(
        [sys.executable, "-m", "kznews", "extract", "--source", "http://127.0.0.1:9/",
         "--out", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "KZNEWS_DATA_DIR": str(tmp_path / "data")},
    )
    assert proc.returncode == 2, proc.stderr
    assert "kznews land --source URL" in proc.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "data").exists()


def test_run_stops_at_its_time_limit_and_cleans_up(tmp_path):
    """A source that never answers (a FIFO nobody writes: a hung mount, say) would hang
    `kznews run` forever; with --timeout it unwinds like Ctrl-C and exits with 124."""
    import shutil
    import time

    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(SITE / "page_13178.html", src / "a.html")
    os.mkfifo(src / "b.html")
    data = tmp_path / "data"
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "kznews", "run", "--source", str(src), "--date", "2026-11-28",
         "--data-dir", str(data), "--warehouse", str(tmp_path / "wh"), "--timeout", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 124, proc.stderr[-3000:]
    assert time.monotonic() - t0 < 60
    assert "stopped at its time limit of 3 s" in proc.stderr
    part = data / "raw_pages" / "load_date=2026-11-28"
    assert not part.exists() or not any(part.iterdir())  # the landing's temp files removed
    assert not (tmp_path / "wh" / "kznews.duckdb").exists()


def test_run_refuses_a_negative_time_limit():
    proc = subprocess.run([sys.executable, "-m", "kznews", "run", "--source", "sample",
                           "--timeout", "-1"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 2 and "not a number of seconds >= 0: -1" in proc.stderr


def test_a_time_limit_gives_the_callers_alarm_back(monkeypatch):
    """The limit ends with the run, and a caller's own SIGALRM handler and timer (pytest's
    timeout, say) go on as they were; a run without a limit leaves them alone."""
    import signal
    import time

    import kznews.__main__ as cli
    import kznews.pipeline

    monkeypatch.delenv("KZNEWS_RUN_TIMEOUT_S", raising=False)
    monkeypatch.setattr(kznews.pipeline, "run_pipeline", lambda *a, **k: {"timings_s": {}})
    monkeypatch.setattr(kznews.pipeline, "format_summary", lambda summary: "done")
    fired: list[int] = []
    saved_handler = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    outer = signal.getsignal(signal.SIGALRM)
    saved_timer = signal.setitimer(signal.ITIMER_REAL, 30)
    try:
        assert cli.main(["run", "--source", "sample", "--timeout", "0.5"]) == 0
        time.sleep(0.8)  # the run's alarm, were it still armed, would raise here
        assert signal.getsignal(signal.SIGALRM) is outer
        assert 25 < signal.getitimer(signal.ITIMER_REAL)[0] < 30
        assert cli.main(["run", "--source", "sample"]) == 0
        assert signal.getsignal(signal.SIGALRM) is outer
        assert 25 < signal.getitimer(signal.ITIMER_REAL)[0] < 30
        assert fired == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, saved_handler)
        signal.setitimer(signal.ITIMER_REAL, *saved_timer)


_CLEAN_UP_HANGS = r'''
import subprocess, sys, time
import kznews.__main__ as cli
import kznews.pipeline as pipeline
import kznews.timelimit

kznews.timelimit.KILL_AFTER_S = 1.0

def run_pipeline(*args, **kwargs):
    child = subprocess.Popen(["sleep", "600"])
    print(child.pid, flush=True)
    try:
        time.sleep(600)
    finally:
        time.sleep(600)  # a clean-up waiting on something that hangs

pipeline.run_pipeline = run_pipeline
sys.exit(cli.main(["run", "--source", "sample", "--timeout", "1"]))
'''


def test_a_run_that_cannot_unwind_is_killed_after_its_grace(tmp_path):
    import time

    from kznews.overlap import _running

    proc = subprocess.run([sys.executable, "-c", _CLEAN_UP_HANGS], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 124, proc.stderr[-3000:]
    assert "still unwinding 1 s after its time limit; killing its processes" in proc.stderr
    child = int(proc.stdout.split()[0])
    deadline = time.monotonic() + 30  # SIGKILL is delivered, not waited for
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child)


def test_a_time_limit_inside_a_duckdb_query_is_still_reported_as_one(tmp_path):
    """DuckDB turns a signal that arrives mid-query into its own interrupt error."""
    code = (
        "import sys, duckdb\n"
        "import kznews.__main__ as cli, kznews.pipeline as pipeline\n"
        "def run_pipeline(*a, **k):\n"
        "    duckdb.sql('select count(*) from range(1000000000000) t(i) where i % 7 = 3')"
        ".fetchall()\n"
        "pipeline.run_pipeline = run_pipeline\n"
        "sys.exit(cli.main(['run', '--source', 'sample', '--timeout', '1']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 124, proc.stderr[-3000:]
    assert "stopped at its time limit of 1 s" in proc.stderr


@pytest.mark.parametrize("given", [["--timeout", "nan"], ["--timeout", "inf"]])
def test_run_refuses_a_time_limit_that_is_not_a_number_of_seconds(given):
    proc = subprocess.run([sys.executable, "-m", "kznews", "run", "--source", "sample",
                           *given], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 2 and "not a number of seconds >= 0" in proc.stderr
    env = {**os.environ, "KZNEWS_RUN_TIMEOUT_S": "-5"}
    proc = subprocess.run([sys.executable, "-m", "kznews", "run", "--source", "sample"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
                          env=env)
    assert proc.returncode == 2 and "must be a number of seconds >= 0, not -5.0" in proc.stderr


def test_a_catch_up_that_left_owed_nights_exits_4(monkeypatch, capsys):
    """A night that could not extract an owed night (a quiet night's catch-up, or a night
    that landed pages): status 4, naming it, whether the rest was published or nothing
    could be."""
    import kznews.__main__ as cli
    import kznews.pipeline
    from kznews.pipeline import CatchUpFailed

    monkeypatch.delenv("KZNEWS_RUN_TIMEOUT_S", raising=False)
    partly = {"load_date": "2026-11-03", "timings_s": {},
              "extract": {"failed": {"2026-11-01": "ArrowInvalid: not a parquet file"}}}
    monkeypatch.setattr(kznews.pipeline, "run_pipeline", lambda *a, **k: partly)
    assert cli.main(["run", "--source", "sample"]) == cli.CATCH_UP_INCOMPLETE == 4
    out = capsys.readouterr()
    assert "NOT caught up: the extraction of 2026-11-01 failed" in out.out
    assert "the extraction of 2026-11-01 failed" in out.err
    # a night that landed pages and could not extract an earlier night it owed
    landed = {"load_date": "2026-11-03", "timings_s": {}, "extract": {
        "rows": {"pages": 3}, "owed": {"caught_up": {}, "failed": {"2026-11-02": "OSError"}}}}
    monkeypatch.setattr(kznews.pipeline, "run_pipeline", lambda *a, **k: landed)
    assert cli.main(["run", "--source", "sample"]) == 4
    out = capsys.readouterr()
    assert "NOT caught up: the extraction of 2026-11-02 failed (OSError)" in out.out
    assert "2026-11-02 failed; they stay owed to the next night" in out.err

    def nothing_left(*a, **k):
        raise CatchUpFailed("catching up: no owed night could be extracted: 2026-11-01: boom")

    monkeypatch.setattr(kznews.pipeline, "run_pipeline", nothing_left)
    assert cli.main(["run", "--source", "sample"]) == 4
    assert "2026-11-01: boom" in capsys.readouterr().err
