"""Celery settings for Airflow's CeleryExecutor when it runs kznews (docker-compose.yaml).

Point Airflow at them with
``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=kznews.celery_config.CELERY_CONFIG``. They are
Airflow's own defaults plus Celery's ``imports`` setting: a worker imports
:mod:`kznews.preload` once when it starts, before forking its pool, and every task it runs
is forked with those modules loaded (the nightly quality task then skips Great
Expectations' import). The scheduler reads this module too; it only builds a dict.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

PRELOAD_MODULES: tuple[str, ...] = ("kznews.preload",)

CELERY_CONFIG: dict[str, Any] = {
    **DEFAULT_CELERY_CONFIG,
    "imports": (*DEFAULT_CELERY_CONFIG.get("imports", ()), *PRELOAD_MODULES),
}
