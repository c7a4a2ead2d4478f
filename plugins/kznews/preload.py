"""What a long-lived Airflow worker imports once, so that the tasks it forks start warm.

Airflow 3 runs every task in a process forked from its worker (``os.fork`` on Linux), so
modules the worker imported before forking cost the task nothing. A Celery worker imports
this module when it starts, before it forks its pool (``kznews.celery_config``). Without it,
every night's quality task imports Great Expectations again (~3.4 s on the 2-core
development machine, docs/benchmarks.md). dbt is not here: it runs as a subprocess of the
build task (see ``kznews.warehouse.runner``).

This module does its work at import time on purpose; nothing else imports it (DAG files
must not: the dag-processor would pay for it on every parse).
"""

from __future__ import annotations

import great_expectations  # the quality gate's import, ~3 s
import great_expectations.expectations  # noqa: F401 (ruff counts one name per package)

import kznews.extract.batch
import kznews.land
import kznews.pipeline
import kznews.publish
import kznews.quality.frames
import kznews.quality.gate
import kznews.warehouse.runner  # noqa: F401 (ruff counts one name per package)
