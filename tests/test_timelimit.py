"""kznews.timelimit: which processes a run stopped at its time limit kills after the grace."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading

import pytest

from kznews.timelimit import _descendants

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@linux_only
def test_descendants_include_children_forked_by_other_threads_and_grandchildren():
    """The kernel lists a child under the thread that forked it: a child started by a
    thread that is still running is not in the main thread's list."""
    started = threading.Event()
    release = threading.Event()
    procs: list[subprocess.Popen] = []

    def fork_from_a_thread() -> None:
        procs.append(subprocess.Popen(["sleep", "60"]))
        started.set()
        release.wait(30)

    worker = threading.Thread(target=fork_from_a_thread)
    worker.start()
    grandchild = None
    shell = subprocess.Popen(["sh", "-c", "sleep 60 & echo $!; wait"], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert started.wait(30)
        assert shell.stdout is not None
        grandchild = int(shell.stdout.readline())
        found = _descendants(os.getpid())
        assert procs[0].pid in found
        assert shell.pid in found and grandchild in found
    finally:
        release.set()
        worker.join()
        for proc in (*procs, shell):
            proc.kill()
            proc.wait()
        if grandchild is not None:  # the shell's sleep, orphaned by its kill
            with contextlib.suppress(OSError):
                os.kill(grandchild, signal.SIGKILL)
