"""The time limit of ``kznews run``: what Airflow's ``execution_timeout`` is to a task.

:class:`TimeLimit` arms SIGALRM for the main thread. When the limit passes, the main thread
raises :class:`TimedOut` (a ``SystemExit``) and the run unwinds as on Ctrl-C: each stage
cleans up, the one-process night stops its dbt command and helpers. A clean-up can itself
wait on a process that hangs (an extraction worker, the gate's helper): if the run has not
finished unwinding :data:`KILL_AFTER_S` later, every process under it is killed and it
exits with :data:`TIMED_OUT` at once (as ``timeout --kill-after``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

#: Exit status of a run stopped at its time limit (as coreutils' ``timeout``).
TIMED_OUT = 124
#: Seconds a run stopped at its time limit has to unwind before its processes are killed
#: (as ``timeout --kill-after``).
KILL_AFTER_S = 60.0


class TimedOut(SystemExit):
    """Raised in the main thread when ``kznews run`` reaches its time limit."""


class TimeLimit:
    """A limit of ``seconds`` on the ``with`` block (main thread only; see the module).
    ``fired`` tells whether it passed, for a library that turned :class:`TimedOut` into an
    error of its own (DuckDB interrupts its query). On leaving, the caller's own SIGALRM
    handler and timer (less the time spent here) are put back."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False

    def __enter__(self) -> TimeLimit:
        self._t0 = time.monotonic()
        self._handler = signal.signal(signal.SIGALRM, self._expire)
        try:
            self._timer = signal.setitimer(signal.ITIMER_REAL, self.seconds)
        except BaseException:
            self._restore_handler()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        self._restore_handler()
        delay, interval = self._timer
        if delay:
            left = max(delay - (time.monotonic() - self._t0), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left, interval)

    def _restore_handler(self) -> None:
        if self._handler is not None:  # None: a handler not installed from Python
            signal.signal(signal.SIGALRM, self._handler)

    def _expire(self, signum: int, frame: object) -> None:
        if not self.fired:
            self.fired = True
            signal.setitimer(signal.ITIMER_REAL, KILL_AFTER_S)
            raise TimedOut(TIMED_OUT)
        print(f"kznews run: still unwinding {KILL_AFTER_S:g} s after its time limit; "
              "killing its processes", file=sys.stderr, flush=True)
        for pid in _descendants(os.getpid()):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        os._exit(TIMED_OUT)


def children(pid: int) -> list[int]:
    """The processes ``pid`` started and that still run (Linux ``/proc``; elsewhere none).
    The kernel lists a process's children per thread (the thread that forked each), so
    every thread is read."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found: list[int] = []
    for tid in threads:
        with contextlib.suppress(OSError):
            found += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
    return found


def _descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (see :func:`children`)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        below = children(todo.pop())
        found += below
        todo += below
    return found
