"""kznews.overlap: an incremental night of ``kznews run`` with dbt and Great Expectations
started in helper processes while the pages land and extract.

Two workspaces run the same nights, one with ``overlap_nightly`` and one without: the
full first night runs stage after stage either way (it runs once; the second workspace
starts as a copy); the incremental second night overlaps in the first only, and both
must publish the same marts. A third night whose exchange rates
are wrong by a factor of 100 must fail the gate in the overlapped run and leave the
published file as it was, with no temporary file and no helper process left behind; so
must a clean fourth night, until the third is fixed and run again.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import Future
from datetime import date
from pathlib import Path

import pytest

from kznews import gatepass, overlap
from kznews.config import Settings, load_settings
from kznews.fsutil import file_identity
from kznews.pipeline import format_summary, run_pipeline
from kznews.quality import QualityGateError
from kznews.timelimit import children
from kznews.warehouse import runner
from tests.conftest import SAMPLE, stray_children
from tests.reliability.checks import mart_checksums

ROOT = Path(__file__).resolve().parents[1]
linux_only = pytest.mark.skipif(
    not overlap.available(), reason="the overlapped night forks dbt: Linux only"
)
NIGHTS = (date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27))


def _one_page_night(folder: Path, transform=lambda html: html) -> Path:
    """The seed page of the bundled sample as a night of its own (a folder source)."""
    folder.mkdir(parents=True)
    page = ROOT / "sample" / "page_13178.html"
    (folder / page.name).write_text(transform(page.read_text(encoding="utf-8")), "utf-8")
    shutil.copy(ROOT / "sample" / "page_13178.html.json", folder / "page_13178.html.json")
    return folder


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> dict:
    """Per workspace: settings, both nights' summaries, and what night 2 left (checksums of
    the published marts, whether a pass is recorded for the build file as it is)."""
    root = tmp_path_factory.mktemp("overlap")
    second = _one_page_night(root / "night2")
    spaces = {True: root / "overlapped", False: root / "sequential"}

    def settings_of(overlapped: bool) -> Settings:
        ws = spaces[overlapped]
        return load_settings(data_dir=ws / "data", warehouse_dir=ws / "warehouse",
                             overlap_nightly=overlapped)

    first = run_pipeline(SAMPLE, NIGHTS[0], settings_of(True))
    shutil.copytree(spaces[True], spaces[False])  # the same night: stage after stage either way
    out = {}
    for overlapped in (True, False):
        settings = settings_of(overlapped)
        summary = run_pipeline(second, NIGHTS[1], settings)
        passed = gatepass.require_pass(settings)["identity"] == file_identity(settings.build_db)
        out[overlapped] = {"settings": settings, "first": first, "second": summary,
                           "sums": mart_checksums(settings.published_db), "passed": passed}
    return out


@linux_only
@pytest.mark.slow
def test_only_the_incremental_night_overlaps(nights: dict) -> None:
    first, second = nights[True]["first"], nights[True]["second"]
    assert "overlap" not in first  # a first build rebuilds everything: stage after stage
    assert first["build"]["threads"] == 1
    assert second["build"]["full_refresh"] is False
    # both helpers warmed up (a failed warm-up is reported as "failed: ...") and dbt's
    # build ran with the manifest parsed in advance
    warm = second["overlap"]
    assert isinstance(warm["dbt_warm_up_s"], float), warm
    assert isinstance(warm["gx_warm_up_s"], float), warm
    assert warm["dbt_commands"] == warm["dbt_commands_with_parsed_manifest"] == 1, warm
    assert second["quality"]["success"] is True
    assert second["publish"]["mode"] == "incremental"
    assert not stray_children()  # the helpers are gone
    text = format_summary(second)
    assert "validation: PASSED" in text and "quality+publish=" in text


@linux_only
@pytest.mark.slow
def test_the_overlapped_night_publishes_what_the_sequential_one_does(nights: dict) -> None:
    assert "overlap" not in nights[False]["second"]
    assert nights[True]["sums"] == nights[False]["sums"]
    # the gate's pass is recorded for the published build, as the publish stage requires
    assert nights[True]["passed"] and nights[False]["passed"]


@linux_only
@pytest.mark.slow
def test_a_failed_gate_leaves_the_published_file_alone(nights: dict, tmp_path: Path) -> None:
    settings = nights[True]["settings"]
    before = mart_checksums(settings.published_db)
    identity = file_identity(settings.published_db)
    bad = _one_page_night(tmp_path / "night3", lambda html: html.replace("425.67", "42567"))
    with pytest.raises(QualityGateError) as err:
        run_pipeline(bad, NIGHTS[2], settings)
    assert "CRITICAL" in str(err.value)
    assert file_identity(settings.published_db) == identity
    assert mart_checksums(settings.published_db) == before
    leftovers = [p.name for p in settings.published_db.parent.iterdir() if p.suffix == ".tmp"]
    assert not leftovers, leftovers
    with pytest.raises(gatepass.GateNotPassed):  # nothing records a pass for that build
        gatepass.require_pass(settings)
    assert not stray_children()

    # The next night's own pages are clean, but the failed night's rows are in the build
    # file: they must not reach BI with it.
    with pytest.raises(QualityGateError) as err:
        run_pipeline(_one_page_night(tmp_path / "night4"), NIGHTS[3], settings)
    assert f"Earlier load {NIGHTS[2].isoformat()}, in the build file" in str(err.value)
    assert mart_checksums(settings.published_db) == before
    # Night 3 fixed and run again (its date was read already: everything is rebuilt).
    fixed = run_pipeline(_one_page_night(tmp_path / "night3-fixed"), NIGHTS[2], settings)
    assert fixed["build"]["full_refresh"] is True
    assert fixed["quality"]["success"] is True
    assert fixed["publish"]["path"] == str(settings.published_db)
    assert gatepass.require_pass(settings)  # the build that was published passed


@linux_only
@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_night_stops_its_dbt_command_before_cleaning_up(
    nights: dict, tmp_path: Path, stop: signal.Signals
) -> None:
    """SIGINT or SIGTERM to `kznews run` alone (Ctrl-C, a supervisor or container stopping
    it) while the dbt command forked from the helper builds: the command is stopped and
    gone before the build's clean-up opens the build file, so the run ends with the
    interrupt, not with dbt's lock on the file, and leaves neither the run's dates nor a
    running process behind."""
    import time

    import duckdb

    ws = tmp_path / "ws"  # a copy of the overlapped workspace, a night after all of its
    src = nights[True]["settings"]
    shutil.copytree(src.path(src.data_dir), ws / "data")
    shutil.copytree(src.path(src.warehouse_dir), ws / "warehouse")
    night = _one_page_night(tmp_path / "night3")
    log = tmp_path / "run.log"
    # A test suite started in the background of a non-interactive shell inherits SIGINT
    # ignored, and so would the run (Python keeps an ignored SIGINT ignored): a handler here
    # is reset to the default at exec.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with log.open("w") as out:
            run = subprocess.Popen(
                [sys.executable, "-m", "kznews", "run", "--source", str(night), "--date",
                 "2026-11-28", "--data-dir", str(ws / "data"), "--warehouse",
                 str(ws / "warehouse")],
                stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "KZNEWS_OVERLAP_NIGHTLY": "1"},
            )
    finally:
        if inherited is not None:
            signal.signal(signal.SIGINT, inherited)
    try:
        deadline = time.monotonic() + 120
        commands: list[int] = []  # a helper's child: the forked dbt command
        while not commands and run.poll() is None and time.monotonic() < deadline:
            commands = [c for helper in children(run.pid) for c in children(helper)
                        if "resource_tracker" not in _cmdline(c)]
            time.sleep(0.01)
        assert commands, "the night never forked a dbt command"
        time.sleep(0.5)  # dbt under way: parsing done, the build file open
        os.kill(run.pid, stop)
        run.wait(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    output = log.read_text()
    if stop == signal.SIGINT:
        assert run.returncode != 0 and "KeyboardInterrupt" in output, output[-3000:]
    else:
        assert run.returncode == 128 + signal.SIGTERM, output[-3000:]
    assert "Could not set lock" not in output, output[-3000:]
    assert not any(overlap._running(pid) for pid in commands)
    build_db = ws / "warehouse" / src.build_db.relative_to(src.path(src.warehouse_dir))
    con = duckdb.connect(str(build_db), read_only=True)
    try:
        left = con.execute("select count(*) from duckdb_tables() "
                           "where table_name = 'kznews_run_params'").fetchone()[0]
    finally:
        con.close()
    assert left == 0


def _cmdline(pid: int) -> str:
    """A process's command line; a helper's forked dbt command has its helper's, a resource
    tracker the helper started (dbt makes semaphores) names itself."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


_STARTS_HELPERS = """
import os, signal, sys, time
from kznews import overlap
pools = overlap._helper(), overlap._helper()
for pool in pools:
    pool.submit(time.sleep, 0)  # the first task spawns the helper
print(" ".join(str(pid) for pool in pools for pid in pool._processes), flush=True)
time.sleep(float(sys.argv[1]))
os.kill(os.getpid(), signal.SIGKILL)
"""


@linux_only
@pytest.mark.parametrize("after_s", [0.0, 0.5])
def test_helpers_die_with_a_run_killed_while_they_start(after_s: float, tmp_path: Path) -> None:
    """The run SIGKILLed (the OOM killer) before or after its helpers finished starting:
    no helper outlives it. A helper that found its starter gone when it armed its
    parent-death signal would otherwise wait for work forever, adopted by init."""
    import time

    pids = tmp_path / "helpers.txt"
    with pids.open("w") as out:  # a file: helpers left alive would hold a pipe open
        subprocess.run([sys.executable, "-c", _STARTS_HELPERS, str(after_s)], stdout=out,
                       stderr=subprocess.DEVNULL, timeout=60)
    helpers = [int(pid) for pid in pids.read_text().split()]
    assert len(helpers) == 2
    deadline = time.monotonic() + 10
    while any(overlap._running(pid) for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = [pid for pid in helpers if overlap._running(pid)]
    for pid in alive:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert not alive


# --- the parts, without whole runs ------------------------------------------------------------


def test_a_command_with_other_paths_parses_again(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"KZNEWS_EXTRACTED_DIR": "/a", "KZNEWS_BUILD_DB": "/a/b.duckdb", "OTHER": "1"}
    monkeypatch.setattr(overlap, "_parsed", {})
    assert overlap._manifest_for(env, "fp", ["build"]) is None  # never parsed (or failed)
    manifest = object()
    monkeypatch.setattr(overlap, "_parsed", {"manifest": manifest, "fingerprint": "fp",
                                             "env": overlap._parse_env(env)})
    other = {**env, "OTHER": "2", "KZNEWS_DUCKDB_MEMORY_LIMIT": "1GB"}
    assert overlap._manifest_for(other, "fp", ["build"]) is manifest
    moved = {**env, "KZNEWS_BUILD_DB": "/elsewhere.duckdb"}
    assert overlap._manifest_for(moved, "fp", ["build"]) is None
    assert overlap._manifest_for({**env, "KZNEWS_EXTRACTED_DIR": "/b"}, "fp", ["build"]) is None


def test_warm_up_failures_are_reported_not_raised() -> None:
    done: Future = Future()
    done.set_result(1.5)
    failed: Future = Future()
    failed.set_exception(RuntimeError("dbt parse failed: boom"))
    assert overlap._warm_seconds(done) == 1.5
    assert overlap._warm_seconds(failed) == "failed: dbt parse failed: boom"
    text = format_summary({"load_date": "2026-11-25", "overlap": {
        "dbt_warm_up_s": "failed: dbt parse failed: boom", "gx_warm_up_s": 2.0}})
    assert "dbt helper: failed: dbt parse failed: boom" in text  # the night still ran


def _settings(tmp_path: Path) -> Settings:
    s = load_settings(data_dir=tmp_path / "data", warehouse_dir=tmp_path / "warehouse")
    s.build_db.parent.mkdir(parents=True)
    s.build_db.write_bytes(b"build")
    return s


def test_publish_waits_for_the_gate_of_the_file_it_copied(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    copied = file_identity(s.build_db)
    gate: Future = Future()
    gate.set_result({"success": True})
    summary: dict = {}
    gatepass.validate_and_record(s, lambda: None)
    overlap._gate_passed(s, gate, copied, summary)()  # passes: same file, pass recorded
    assert summary["quality"] == {"success": True}

    s.build_db.write_bytes(b"rebuilt after the copy")  # a build ran meanwhile
    with pytest.raises(gatepass.GateNotPassed):
        overlap._gate_passed(s, gate, copied, summary)()
    gatepass.validate_and_record(s, lambda: None)  # it passed, but it is not what was copied
    with pytest.raises(gatepass.GateNotPassed, match="changed while"):
        overlap._gate_passed(s, gate, copied, summary)()


def test_a_manifest_parsed_for_another_project_is_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dbt project deployed while the night lands: its build (a forced full refresh)
    parses the new project instead of running the manifest parsed before."""
    env = {"KZNEWS_EXTRACTED_DIR": "/a", "KZNEWS_BUILD_DB": "/a/b.duckdb"}
    manifest = object()
    parsed = {"manifest": manifest, "env": overlap._parse_env(env), "fingerprint": "old"}
    monkeypatch.setattr(overlap, "_parsed", parsed)
    assert overlap._manifest_for(env, "old", ["build"]) is manifest
    assert overlap._manifest_for(env, "new", ["build"]) is None
    assert overlap._manifest_for(env, "old", ["build", "--full-refresh"]) is None


def test_a_broken_helper_falls_back_to_a_dbt_subprocess(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from concurrent.futures.process import BrokenProcessPool

    class Broken:
        def submit(self, *a, **k):
            raise BrokenProcessPool("the dbt helper died")

    calls: list[list[str]] = []
    monkeypatch.setattr(runner, "subprocess_invoker",
                        lambda args, env, cwd: calls.append(args) or (0, "ran"))
    invoker = overlap._ForkedDbt(Broken(), lambda: "fp")
    assert invoker(["build"], {}, tmp_path) == (0, "ran")
    assert calls == [["build"]] and invoker.commands == 1 and invoker.with_manifest == 0


def test_importing_overlap_leaves_pyarrow_to_the_helpers_that_need_it() -> None:
    """Each helper is a fresh interpreter that imports kznews.overlap first: the dbt
    helper, which heads the nightly chain, must get to importing dbt at once."""
    code = ("import sys, kznews.overlap; "
            "print(sorted({'pyarrow', 'numpy', 'duckdb'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_the_switch_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KZNEWS_OVERLAP_NIGHTLY", "false")
    assert load_settings().overlap_nightly is False
    monkeypatch.setenv("KZNEWS_OVERLAP_NIGHTLY", "1")
    assert load_settings().overlap_nightly is True
    monkeypatch.setenv("KZNEWS_OVERLAP_NIGHTLY", "sometimes")
    with pytest.raises(ValueError, match="boolean"):
        load_settings()


def test_ducklake_and_the_switch_keep_the_sequential_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from kznews import pipeline

    calls: list[str] = []
    monkeypatch.setattr(pipeline, "run_stage", lambda stage, *a, **k: calls.append(stage) or {})
    monkeypatch.setattr(overlap, "run_overlapped", lambda *a, **k: pytest.fail("overlapped"))
    monkeypatch.setattr("kznews.warehouse.runner.rebuilds_everything", lambda *a, **k: False)
    for s in (Settings(warehouse_backend="ducklake"), Settings(overlap_nightly=False)):
        calls.clear()
        pipeline.run_pipeline("sample", NIGHTS[1], s)
        assert calls == list(pipeline.STAGES)  # the gate before publish, stage after stage
    assert overlap.wanted(Settings()) is overlap.available()


@linux_only
@pytest.mark.timeout(120)  # the bug this guards against waits forever
def test_a_command_that_must_parse_again_runs_in_a_fresh_dbt(tmp_path: Path) -> None:
    """The helper parsed the whole project (no partial-parse file yet: a new dbt, a cleaned
    target), then a model was edited before the build: the command cannot use the manifest
    parsed in advance and parses again. Forked from the helper, that parse waited forever
    for the thread pool of dbt's parser (dbt_extractor), which the helper's parse started
    and a fork does not have; the command runs in a dbt started afresh instead."""
    from tests.warehouse import fixture_data

    project = tmp_path / "dbt_project"
    shutil.copytree(ROOT / "dbt_project", project,
                    ignore=shutil.ignore_patterns("target", "logs"))
    s = Settings(home=tmp_path / "home", dbt_project_dir=project)
    day = fixture_data.LOAD_DATES[0]
    fixture_data.write_partition(s.extracted_dir, day, fixture_data.partition_rows()[day])
    helper = overlap._helper()
    try:
        helper.submit(overlap._dbt_warm_up, runner.dbt_path_args(s), runner.dbt_env(s),
                      str(s.dbt_dir), runner.project_fingerprint(s)).result()
        model = project / "models" / "marts" / "dim_date.sql"
        model.write_text(model.read_text(encoding="utf-8") + "\n-- edited\n", encoding="utf-8")
        invoker = overlap._ForkedDbt(helper, lambda: runner.project_fingerprint(s))
        assert runner.run_dbt(s, "parse", invoker=invoker)["command"] == "parse"
    finally:
        helper.shutdown()
    assert invoker.commands == 1 and invoker.with_manifest == 0
