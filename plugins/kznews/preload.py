"""What a long-lived Airflow worker imports once, so that the tasks it forks start warm.

Airflow 3 runs every task in a process forked from its worker (``os.fork`` on Linux), so
modules the worker imported before forking cost the task nothing. A Celery worker imports
this module when it starts, before it forks its pool (``kznews.celery_config``). Without it,
every night's quality task imports Great Expectations again (3.25 s on the 2-core
development machine in the start-up floor table of docs/benchmarks.md, 2026-11-26). dbt
is not here: it runs as a subprocess of the build task (see ``kznews.warehouse.runner``).

This module does its work at import time on purpose; nothing else imports it (DAG files
must not: the dag-processor would pay for it on every parse). A failed import of Great
Expectations is logged, not raised: it must not stop the worker, and so every other DAG;
the quality task then fails on the same import with its own error. At the end the loaded
objects are moved to the garbage collector's permanent generation (``gc.freeze``, as
Airflow does before its own preloads): collections in forked tasks then skip them instead
of writing to, and so copying, the pages they share with the worker.
"""

from __future__ import annotations

import gc
import logging

import kznews.extract.batch
import kznews.land
import kznews.pipeline
import kznews.publish
import kznews.quality.frames
import kznews.warehouse.runner

log = logging.getLogger(__name__)

try:
    from kznews.quality.gximport import import_great_expectations

    import_great_expectations()  # the quality gate's import, ~3 s
    import kznews.quality.gate  # noqa: F401
except ImportError:
    log.exception("preloading Great Expectations failed; quality tasks will import it")

gc.freeze()
