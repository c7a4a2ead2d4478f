"""kznews.celery_config: Airflow's Celery defaults plus the worker preload."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("airflow.providers.celery", reason="celery provider not installed")


def test_airflows_celery_app_takes_the_settings_from_the_environment_variable():
    """What docker-compose sets reaches the app Airflow's workers run: the preload is in its
    ``imports`` and Airflow's own settings (here the broker from the environment) are kept."""
    code = (
        "from airflow.providers.celery.executors.celery_executor_utils import app\n"
        "print(list(app.conf.imports), app.conf.broker_url)\n"
    )
    env = {**os.environ, "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS":
           "kznews.celery_config.CELERY_CONFIG",
           "AIRFLOW__CELERY__BROKER_URL": "redis://broker.invalid:6379/5"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True, env=env)
    last = out.stdout.strip().splitlines()[-1]
    assert last == "['kznews.preload'] redis://broker.invalid:6379/5", out.stderr[-2000:]


def test_a_celery_worker_imports_the_preload_before_its_tasks():
    """What a worker does at start-up (its loader imports the ``imports`` modules), in a fresh
    interpreter: afterwards Great Expectations and the quality gate are loaded."""
    code = (
        "import sys\n"
        "from celery import Celery\n"
        "from kznews.celery_config import CELERY_CONFIG\n"
        "app = Celery(config_source=CELERY_CONFIG)\n"
        "assert 'great_expectations' not in sys.modules\n"
        "app.loader.import_default_modules()\n"
        "print(all(m in sys.modules for m in ('great_expectations', 'kznews.quality.gate')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True)
    assert out.stdout.strip().splitlines()[-1] == "True", out.stderr[-2000:]


def test_the_scheduler_side_stays_light():
    """The scheduler imports the settings module too: it must not pull in the preload."""
    code = (
        "import sys\nimport kznews.celery_config\n"
        "print('great_expectations' in sys.modules or 'kznews.preload' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr[-2000:]
