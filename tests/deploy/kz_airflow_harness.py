"""Start a real Airflow (separate processes) in a temporary AIRFLOW_HOME and drive it over REST.

Used by the slow tests: ``test_airflow_standalone.py`` (SQLite, ``airflow standalone``) and
``test_airflow_celery.py`` (Postgres + Redis + CeleryExecutor, one process per component).
Every process is started in its own session and stopped by its own process-group id.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def postgres_admin(host: str, port: int):
    """An autocommit connection to the ``postgres`` database as a trust-authenticated
    superuser (``postgres``, else ``root``), and that user's name. Raises RuntimeError
    naming the last refusal when neither is accepted."""
    import psycopg2

    last: Exception | None = None
    for user in ("postgres", "root"):
        try:
            con = psycopg2.connect(host=host, port=port, user=user, dbname="postgres")
            con.autocommit = True
            return con, user
        except psycopg2.OperationalError as err:
            last = err
    raise RuntimeError(f"PostgreSQL at {host}:{port} refuses trust connections: {last}")


class LiveAirflow:
    def __init__(self, workdir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.home = workdir / "airflow_home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen] = {}
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW", "KZNEWS_")) and k != "PYTEST_CURRENT_TEST"
        }
        self.env.update(
            {
                "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Almaty",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base}/execution/",
                # One secret shared by every component (the api-server signs, workers verify).
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
                "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                # The pipeline writes into the temporary folder, never the repository's data/.
                "KZNEWS_HOME": str(ROOT),
                "KZNEWS_DATA_DIR": str(workdir / "data"),
                "KZNEWS_WAREHOUSE_DIR": str(workdir / "warehouse"),
                "KZNEWS_AIRFLOW_RETRIES": "0",
                # No cron run of the latest missed night when the test unpauses the DAG.
                "KZNEWS_NIGHTLY_SCHEDULE": "off",
            }
        )
        self.env.update(extra_env or {})
        self.password_file = self.home / "simple_auth_manager_passwords.json.generated"
        self._token: str | None = None

    # --- processes ----------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 600) -> str:
        out = subprocess.run(
            [str(VENV_BIN / "airflow"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.workdir,
        )
        if out.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def prepare(self) -> None:
        """Metadata DB, pool, and a known admin password (the auth manager keeps it)."""
        self.cli("db", "migrate")
        self.cli("pools", "set", "kznews_duckdb", "1", "Single writer for DuckDB files")
        self.password_file.write_text(json.dumps({"admin": "kznews-test-pw"}), encoding="utf-8")

    def start(self, name: str, *args: str) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            [str(VENV_BIN / "airflow"), *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            start_new_session=True,
        )

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def logs_tail(self, lines: int = 40) -> str:
        parts = []
        for log in sorted(self.workdir.glob("*.log")):
            text = log.read_text(encoding="utf-8", errors="replace").splitlines()
            parts.append(f"--- {log.name} ---\n" + "\n".join(text[-lines:]))
        return "\n".join(parts)

    def assert_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise RuntimeError(f"Airflow processes exited: {dead}\n{self.logs_tail()}")

    # --- REST ---------------------------------------------------------------------------
    def request(self, method: str, path: str, body: dict | None = None, auth: bool = True):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", f"Bearer {self.token()}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                if "json" in (resp.headers.get("Content-Type") or ""):
                    return resp.status, (json.loads(raw) if raw else None)
                return resp.status, raw.decode(errors="replace")
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                return err.code, json.loads(raw)
            except ValueError:
                return err.code, raw.decode(errors="replace")

    def wait_ready(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.assert_alive()
            try:
                status, _body = self.request("GET", "/api/v2/monitor/health", auth=False)
                if status == 200:
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(2)
        raise TimeoutError(f"api-server not healthy in {timeout}s\n{self.logs_tail()}")

    def password(self) -> str:
        return json.loads(self.password_file.read_text(encoding="utf-8"))["admin"]

    def token(self) -> str:
        if self._token is None:
            status, body = self.request(
                "POST",
                "/auth/token",
                {"username": "admin", "password": self.password()},
                auth=False,
            )
            assert status in (200, 201), (status, body)
            self._token = body["access_token"]
        return self._token

    def wait_dag(self, dag_id: str, timeout: float = 240) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.assert_alive()
            status, body = self.request("GET", f"/api/v2/dags/{dag_id}")
            if status == 200:
                return body
            time.sleep(3)
        raise TimeoutError(f"{dag_id} not parsed in {timeout}s\n{self.logs_tail()}")

    def unpause(self, dag_id: str) -> None:
        status, body = self.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        assert status == 200, (status, body)

    def trigger(self, dag_id: str, conf: dict, logical_date: str | None = None) -> str:
        status, body = self.request(
            "POST",
            f"/api/v2/dags/{dag_id}/dagRuns",
            {"logical_date": logical_date, "conf": conf},
        )
        assert status in (200, 201), (status, body)
        return body["dag_run_id"]

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 900) -> dict:
        deadline = time.monotonic() + timeout
        body: dict = {}
        while time.monotonic() < deadline:
            self.assert_alive()
            status, body = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
            if status == 200 and body["state"] in ("success", "failed"):
                return body
            time.sleep(3)
        raise TimeoutError(f"{dag_id}/{run_id} still {body.get('state')}\n{self.logs_tail()}")

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        status, body = self.request(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=100"
        )
        assert status == 200, (status, body)
        return {ti["task_id"]: ti["state"] for ti in body["task_instances"]}

    def runs(self, dag_id: str) -> list[dict]:
        status, body = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns")
        assert status == 200, (status, body)
        return body["dag_runs"]


def check_published(workdir: Path) -> dict[str, int]:
    """The published warehouse exists, opens read-only and its marts have rows."""
    import duckdb

    path = workdir / "warehouse" / "kznews.duckdb"
    assert path.is_file(), f"no published warehouse at {path}"
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_name like 'fct_%' or table_name like 'dim_%'"
            ).fetchall()
        ]
        counts = {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}  # noqa: S608
    assert counts, "no marts in the published warehouse"
    assert counts.get("fct_exchange_rates", 0) > 0, counts
    return counts
