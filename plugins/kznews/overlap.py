"""A nightly run in one command, with the tools' start-up hidden behind the data work.

``python -m kznews run`` (:func:`kznews.pipeline.run_pipeline`) runs the same five stages as
the DAG. A nightly run adds 1% new pages, so most of its time used to be the tools starting:
importing Great Expectations (~3 s) and dbt starting and parsing the project (~2-3 s),
paid again every night before any data is read. When the build will be incremental
(:func:`kznews.warehouse.runner.rebuilds_everything` is false), the run starts two helper
processes next to the stages instead:

* a dbt process that imports dbt and parses the project (which does not read data) while
  the main process lands and extracts. Each dbt command of the build stage is then forked
  from it and runs with the parsed manifest (unless the project changed meanwhile, or the
  command is a full refresh: then the forked process starts dbt afresh, see
  :func:`_dbt_fork`); the command's process closes its DuckDB
  connection and exits with the command, as a ``dbt`` subprocess does. The build stage
  itself, and every check around dbt, still runs in the main process;
* a Great Expectations process, at low priority (``nice``), that imports GX, validates the
  landing and extraction partitions while dbt builds (they do not read the build file),
  then the marts once the build is done, and records the pass (:mod:`kznews.gatepass`).

Every stage does what it does alone: the same functions, the same files, the same gate
record. The publish writes its new file while the gate checks the marts, and the new file
replaces the published one only after the gate passed for that very build file. A full
rebuild runs the stages one after the other in the main process instead: its build needs
the memory, not the seconds (importing GX beside it would hold ~300 MB more at the full
build's peak). Only on Linux (the helpers die with the run: ``PR_SET_PDEATHSIG``; dbt is
forked) and with the ``duckdb`` warehouse backend; ``Settings.overlap_nightly``
(``KZNEWS_OVERLAP_NIGHTLY=false``) turns it off.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date
from multiprocessing import util as mp_util
from pathlib import Path
from typing import Any

from kznews import gatepass
from kznews.config import Settings
from kznews.fsutil import file_identity

#: The environment variables the parsed project depends on (the source locations and the
#: profile's path); a command run with other values parses again instead of using the
#: manifest parsed in advance.
PARSE_ENV = ("KZNEWS_EXTRACTED_DIR", "KZNEWS_BUILD_DB")
_PR_SET_PDEATHSIG = 1


def available() -> bool:
    """The overlapped night runs here: Linux (fork, and helpers that die with the run)."""
    return sys.platform.startswith("linux")


def wanted(settings: Settings) -> bool:
    """Whether an incremental night of ``settings`` runs overlapped."""
    return settings.overlap_nightly and settings.warehouse_backend == "duckdb" and available()


# --- inside the helper processes ------------------------------------------------------------


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when ``parent``, the process that started it, dies
    (a run killed alone, by the OOM killer or a plain ``kill``), so no helper or dbt command
    outlives it. ``parent`` is the pid the starter recorded before starting this process: a
    starter that died before this call (this process already adopted by init) is noticed
    too, and this process leaves at once."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return  # not fatal: a helper then outlives a killed run until its queue closes
    if os.getppid() != parent:  # it died before the call took effect
        os._exit(1)


def _helper_started(parent: int) -> None:
    """Pool initializer of both helpers; ``parent``: the run's pid."""
    _die_with_parent(parent)
    # Skip the interpreter's teardown when the helper exits: tearing down the modules of
    # Great Expectations takes ~1 s, paid while the run waits for its helpers. Every result
    # has been sent by then (the pool's result queue writes synchronously).
    atexit.register(os._exit, 0)


# --- inside the dbt helper process ----------------------------------------------------------

_parsed: dict[str, Any] = {}


def _dbt_warm_up(args: list[str], env: dict[str, str], cwd: str, fingerprint: str) -> float:
    """Import dbt and parse the project; keep the manifest for the commands forked later."""
    t0 = time.perf_counter()
    os.environ.update(env)
    os.chdir(cwd)
    from dbt.cli.main import dbtRunner

    _parsed["attempted"] = True  # from here on, a fork must not parse (see _dbt_fork)
    # quiet, and no manifest.json: the build writes its own
    res = dbtRunner().invoke(["parse", "--quiet", "--no-write-json", *args])
    if not res.success:  # the build's own command reports the parse error
        raise RuntimeError(f"dbt parse failed: {res.exception}")
    _parsed.update(manifest=res.result, env=_parse_env(env), fingerprint=fingerprint)
    return round(time.perf_counter() - t0, 3)


def _parse_env(env: dict[str, str]) -> dict[str, str | None]:
    return {k: env.get(k) for k in PARSE_ENV}


def _manifest_for(env: dict[str, str], fingerprint: str, args: list[str]) -> Any:
    """The manifest parsed in advance, if it was parsed from this very project
    (``fingerprint``: :func:`kznews.warehouse.runner.project_fingerprint`) with the paths of
    ``env``; never for a full refresh (a project changed since the last build)."""
    if (
        "manifest" in _parsed
        and _parsed.get("env") == _parse_env(env)
        and _parsed.get("fingerprint") == fingerprint
        and "--full-refresh" not in args
    ):
        return _parsed["manifest"]
    return None


def _close_dbt_connections() -> None:
    """Close dbt-duckdb's database as its exit handler would (the child leaves through
    ``os._exit``), so the build file is checkpointed and no WAL is left beside it."""
    with contextlib.suppress(Exception):
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager.close_all_connections()  # forgets it; closing is ours
        if env is not None:
            env.close()


def _dbt_fork(
    args: list[str], env: dict[str, str], cwd: str, fingerprint: str, pid_file: str
) -> tuple[int, str, bool]:
    """Run one dbt command in a child forked from this process (dbt imported, the project
    parsed when :func:`_dbt_warm_up` succeeded): exit code, what it printed, and whether it
    used the manifest parsed in advance. The child's pid goes to ``pid_file``, so that a
    run interrupted meanwhile can wait for it to be gone (:func:`_stop_command`).

    A command that cannot use that manifest parses the project itself, and must not do so
    in a fork of a process that parsed: dbt's parser (dbt_extractor, in Rust) hands work
    to a thread pool that the first parse started, and a forked child has the pool's
    bookkeeping without its threads, so it would wait for them forever. That child
    starts the ``dbt`` executable instead (``exec``, same pid and output), as a
    :func:`~kznews.warehouse.runner.subprocess_invoker` would."""
    manifest = _manifest_for(env, fingerprint, args)
    fresh_dbt = manifest is None and "attempted" in _parsed
    with tempfile.TemporaryFile() as out:
        sys.stdout.flush()
        sys.stderr.flush()
        helper = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 2
            known = set(mp_util._finalizer_registry)
            try:
                _die_with_parent(helper)
                os.dup2(out.fileno(), 1)
                os.dup2(out.fileno(), 2)
                os.chdir(cwd)
                os.environ.clear()
                os.environ.update(env)
                if fresh_dbt:
                    from kznews.warehouse.runner import dbt_command

                    command = [*dbt_command(), *args]
                    os.execve(command[0], command, env)  # noqa: S606 - dbt itself, fixed argv
                from dbt.cli.main import dbtRunner

                res = dbtRunner(manifest=manifest).invoke(args)
                code = 0 if res.success else (1 if res.exception is None else 2)
                _close_dbt_connections()
            except BaseException:  # reported through the output
                traceback.print_exc()
            finally:
                # dbt made named semaphores (its connection locks); unlink them as a normal
                # exit would, or the resource tracker warns about them when the run ends
                for key in set(mp_util._finalizer_registry) - known:
                    with contextlib.suppress(Exception):
                        mp_util._finalizer_registry[key]()
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        try:
            Path(pid_file).write_text(str(pid), encoding="ascii")
            _, status = os.waitpid(pid, 0)
        except BaseException:  # interrupted: the command must not go on writing alone
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            raise
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
        return os.waitstatus_to_exitcode(status), text, manifest is not None


# --- inside the Great Expectations helper process -------------------------------------------

_gate: dict[str, Any] = {}


def _gx_warm_up() -> float:
    t0 = time.perf_counter()
    os.nice(10)  # soaks up the core dbt leaves idle; never slows the stages down
    from kznews.quality.gximport import import_great_expectations

    import_great_expectations()

    return round(time.perf_counter() - t0, 3)


def _gate_inputs(settings: Settings, load_date: date) -> None:
    from kznews.pipeline import gate_fetch
    from kznews.quality.gate import GateRun

    gate = GateRun(settings, load_date, gate_fetch(settings))
    gate.validate_inputs()
    _gate["run"] = gate


def _gate_finish(settings: Settings, load_date: date) -> dict:
    from kznews.pipeline import gate_fetch
    from kznews.quality.gate import GateRun

    gate = _gate.pop("run", None) or GateRun(settings, load_date, gate_fetch(settings))
    return gatepass.validate_and_record(settings, gate.finish)


# --- the main process -----------------------------------------------------------------------


def _helper() -> ProcessPoolExecutor:
    # spawn: a fresh interpreter, whatever threads or connections this process holds
    return ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_helper_started,
        initargs=(os.getpid(),),
    )


class _ForkedDbt:
    """A :data:`~kznews.warehouse.runner.DbtInvoker` backed by the dbt helper process; a
    :func:`~kznews.warehouse.runner.subprocess_invoker` when that helper is gone. Counts the
    commands and those that ran with the manifest parsed in advance."""

    def __init__(self, pool: ProcessPoolExecutor, fingerprint: Callable[[], str]) -> None:
        self.pool, self.fingerprint = pool, fingerprint
        self.commands = self.with_manifest = 0

    def __call__(self, args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
        self.commands += 1
        with tempfile.TemporaryDirectory(prefix="kznews-dbt-") as tmp:
            pid_file = Path(tmp) / "command.pid"
            try:
                future = self.pool.submit(
                    _dbt_fork, args, env, str(cwd), self.fingerprint(), str(pid_file)
                )
            except (BrokenProcessPool, RuntimeError):  # the helper died before this command
                from kznews.warehouse.runner import subprocess_invoker

                return subprocess_invoker(args, env, cwd)
            try:
                code, output, used = future.result()
            except BaseException:  # interrupted (KeyboardInterrupt), or the helper died
                _stop_command(self.pool, future, pid_file)
                raise
        self.with_manifest += used
        return code, output


def _stop_command(pool: ProcessPoolExecutor, future: Future, pid_file: Path) -> None:
    """The run stopped waiting for a forked dbt command (interrupted, or the helper died):
    kill the dbt helper, so the command dies with it (its parent-death signal), and return
    only once every thread of the command is gone, so that nothing writes the build file
    while the run cleans up after it (or dbt holds its lock then)."""
    _kill_workers(pool)  # dead before its pid file is read: it writes no more
    try:
        pid = int(pid_file.read_text(encoding="ascii"))
    except (OSError, ValueError):
        # No command, or one forked a moment before the helper died, which has not
        # reached dbt yet: its parent-death signal (or its own check) ends it at once.
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _running(pid):
        time.sleep(0.02)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """Kill a helper's process now and wait (up to 5 s) until it is gone. ProcessPoolExecutor
    has no public way to stop a running worker before Python 3.14 (kill_workers()); its
    worker processes are in _processes."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.kill()
            proc.join(5)


def _running(pid: int) -> bool:
    """Whether any thread of process ``pid`` is still alive. A killed process's main thread
    can be a zombie while its other threads (DuckDB's) still exit and hold its files (and
    so the database's lock); once every thread is a zombie or gone, nothing is held."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in threads:
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text("ascii", errors="replace")
        except OSError:
            continue
        if stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X"):
            return True
    return False


def run_overlapped(source: str | Path, load_date: date, settings: Settings) -> dict[str, Any]:
    """The five stages of an incremental night with the helpers above; the same summary as
    :func:`kznews.pipeline.run_pipeline` plus ``overlap`` (the helpers' warm-up seconds, how
    many dbt commands ran with the manifest parsed in advance). A quiet night stops the
    helpers at once and ends as :func:`kznews.pipeline.finish_quiet_night` says."""
    from kznews import pipeline
    from kznews.publish import publish
    from kznews.warehouse.runner import (
        dbt_env,
        dbt_path_args,
        dbt_threads,
        project_fingerprint,
    )

    summary: dict[str, Any] = {"load_date": load_date.isoformat(), "timings_s": {}}
    timings = summary["timings_s"]
    dbt_pool, gx_pool = _helper(), _helper()
    try:
        env = dbt_env(settings, dbt_threads(settings, full_refresh=False))
        dbt_warm = dbt_pool.submit(
            _dbt_warm_up, dbt_path_args(settings), env, str(settings.dbt_dir),
            project_fingerprint(settings),
        )  # fmt: skip
        gx_warm = gx_pool.submit(_gx_warm_up)

        t0 = time.perf_counter()
        summary["land"] = pipeline.land_stage(source, load_date, settings)
        timings["land"] = round(time.perf_counter() - t0, 3)
        if pipeline.quiet_night(source, summary["land"]):
            # nothing to warm up for, or a catch-up (rare): no waiting for the helpers
            _kill_workers(dbt_pool)
            _kill_workers(gx_pool)
            return pipeline.finish_quiet_night(source, load_date, settings, summary)
        t0 = time.perf_counter()
        summary["extract"] = pipeline.extract_with_owed(load_date, settings)
        timings["extract"] = round(time.perf_counter() - t0, 3)

        # With an object store the build stage first pulls the extracted tables, which may
        # replace what the gate would read: then the inputs are validated after the build.
        inputs = None if settings.remote_url else gx_pool.submit(_gate_inputs, settings, load_date)
        t0 = time.perf_counter()
        dbt = _ForkedDbt(dbt_pool, lambda: project_fingerprint(settings))
        summary["build"] = pipeline.build_stage(settings, load_date=load_date, invoker=dbt)
        timings["build"] = round(time.perf_counter() - t0, 3)
        dbt_pool.shutdown()  # frees its memory for the publish (it exits at once)

        # The gate validates the marts while the new published file is written beside the
        # old one; it replaces it only once the gate passed for the very file it copied.
        t0 = time.perf_counter()
        if inputs is not None:
            inputs.result()
        gate = gx_pool.submit(_gate_finish, settings, load_date)
        copied = file_identity(settings.build_db)
        try:
            summary["publish"] = publish(
                settings, before_commit=_gate_passed(settings, gate, copied, summary)
            )
        except Exception as exc:
            failed = gate.exception()  # a failed gate is the news, whatever publish hit
            if failed is not None and failed is not exc:
                raise failed from exc
            raise
        timings["quality+publish"] = round(time.perf_counter() - t0, 3)
        summary["overlap"] = {
            "dbt_warm_up_s": _warm_seconds(dbt_warm),
            "gx_warm_up_s": _warm_seconds(gx_warm),
            "dbt_commands": dbt.commands,
            "dbt_commands_with_parsed_manifest": dbt.with_manifest,
        }
        return summary
    finally:  # waits until both helpers have exited, whatever happened
        dbt_pool.shutdown(cancel_futures=True)
        gx_pool.shutdown(cancel_futures=True)


def _gate_passed(
    settings: Settings, gate: Future, copied: list[int], summary: dict[str, Any]
) -> Callable[[], None]:
    """What the publish runs before its rename: wait for the gate's verdict (raising
    :class:`~kznews.quality.QualityGateError` when it failed), then require the pass
    recorded for the build file as it was when the publish started reading it."""

    def check() -> None:
        t0 = time.perf_counter()
        summary["quality"] = gate.result()
        waited = round(time.perf_counter() - t0, 3)
        summary.setdefault("timings_s", {})["waited_for_gate"] = waited
        gatepass.require_pass_of(
            settings, copied, "changed while it was validated and published; run the pipeline again"
        )

    return check


def _warm_seconds(warm: Future) -> float | str:
    """A helper's warm-up time, or why it failed (the stages then started cold)."""
    err = warm.exception()
    return f"failed: {err}" if err else warm.result()
