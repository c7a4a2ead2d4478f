"""Production shape: Postgres metadata DB, CeleryExecutor over Redis, one process per component
(api-server, scheduler, dag-processor, celery worker), a run driven through the REST API.

Needs the PostgreSQL (127.0.0.1:5432, trust auth) and Redis (127.0.0.1:6379) of the development
machines and CI (scripts/ci_services.sh starts them); skipped with the reason where absent.
"""

from __future__ import annotations

import secrets
import time

import pytest
from kz_airflow_harness import ROOT, LiveAirflow, check_published, postgres_admin, reachable

pytestmark = [pytest.mark.slow, pytest.mark.services, pytest.mark.timeout(1800)]

PG_HOST, PG_PORT, REDIS_PORT = "127.0.0.1", 5432, 6379
DB_NAME = "kznews_airflow_test"


def _admin_connection():
    pytest.importorskip("psycopg2", reason="psycopg2-binary is not installed")
    try:
        return postgres_admin(PG_HOST, PG_PORT)
    except RuntimeError as err:
        pytest.skip(str(err))


@pytest.fixture
def fresh_database():
    if not reachable(PG_HOST, PG_PORT):
        pytest.skip(f"PostgreSQL not reachable on {PG_HOST}:{PG_PORT} (laptop without services)")
    if not reachable(PG_HOST, REDIS_PORT):
        pytest.skip(f"Redis not reachable on {PG_HOST}:{REDIS_PORT} (laptop without services)")
    pytest.importorskip("airflow.providers.celery", reason="celery provider not installed")
    con, user = _admin_connection()
    with con.cursor() as cur:
        cur.execute(f'drop database if exists "{DB_NAME}" with (force)')
        cur.execute(f'create database "{DB_NAME}"')
    try:
        yield f"{user}@{PG_HOST}:{PG_PORT}/{DB_NAME}"
    finally:
        with con.cursor() as cur:
            cur.execute(f'drop database if exists "{DB_NAME}" with (force)')
        con.close()


def test_celery_postgres_redis_run_via_rest(tmp_path, fresh_database):
    queue = f"kznews_test_{secrets.token_hex(4)}"  # never picked up by another worker
    af = LiveAirflow(
        tmp_path,
        {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{fresh_database}",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": f"redis://{PG_HOST}:{REDIS_PORT}/7",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{fresh_database}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            # as docker-compose.yaml: tasks are forked from a worker that preloaded GX
            "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "kznews.celery_config.CELERY_CONFIG",
        },
    )
    af.prepare()
    af.start("api-server", "api-server")
    af.start("scheduler", "scheduler")
    af.start("dag-processor", "dag-processor")
    af.start("celery-worker", "celery", "worker", "--queues", queue, "--concurrency", "2")
    try:
        af.wait_ready()
        af.wait_dag("kznews_nightly")
        af.unpause("kznews_nightly")
        t0 = time.monotonic()
        run_id = af.trigger(
            "kznews_nightly",
            {"source": str(ROOT / "sample"), "load_date": "2026-11-21", "full_refresh": True},
        )
        run = af.wait_run("kznews_nightly", run_id, timeout=1500)
        _status, body = af.request(
            "GET", f"/api/v2/dags/kznews_nightly/dagRuns/{run_id}/taskInstances?limit=100"
        )
        tis = body["task_instances"]
        print(
            f"\nCelery run: {run['state']} in {time.monotonic() - t0:.1f}s "
            + str({ti["task_id"]: (ti["state"], ti["queue"]) for ti in tis})
        )
        assert run["state"] == "success", af.logs_tail()
        assert {ti["queue"] for ti in tis} == {queue}
        assert all(ti["hostname"] for ti in tis)
        worker_log = (tmp_path / "celery-worker.log").read_text(encoding="utf-8", errors="replace")
        assert "execute_workload" in worker_log or "succeeded" in worker_log, worker_log[-3000:]
        print(f"published marts: {check_published(tmp_path)}")
    finally:
        af.stop()
