"""The compose deployment, parsed (no Docker engine here): services, health, secrets, volumes."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
LONG_RUNNING = AIRFLOW_SERVICES - {"airflow-init"} | {"postgres", "redis", "bi-share"}
VAR = re.compile(r"(?<!\$)\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _env(service: dict) -> dict:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return env


def test_services_present(services):
    assert AIRFLOW_SERVICES | {"postgres", "redis", "bi-share"} <= set(services)


def test_every_long_running_service_has_a_healthcheck(services):
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck")
        assert check and check.get("test"), f"{name}: no healthcheck"


def test_airflow_services_share_one_image_executor_and_jwt_secret(services):
    secrets = {_env(services[n]).get("AIRFLOW__API_AUTH__JWT_SECRET") for n in AIRFLOW_SERVICES}
    assert len(secrets) == 1
    (secret,) = secrets
    assert secret and secret.startswith("${AIRFLOW_JWT_SECRET"), secret
    for name in AIRFLOW_SERVICES:
        svc, env = services[name], _env(services[name])
        assert svc["build"]["dockerfile"] == "Dockerfile", name
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert "postgres" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://"), name
        assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("FabAuthManager"), name
        assert "_PIP_ADDITIONAL_REQUIREMENTS" not in env, name


def test_components_commands(services):
    commands = {n: services[n].get("command") for n in AIRFLOW_SERVICES - {"airflow-init"}}
    assert commands == {
        "airflow-apiserver": "api-server",
        "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor",
        "airflow-triggerer": "triggerer",
        "airflow-worker": "celery worker",
    }
    init = "\n".join(services["airflow-init"]["command"])
    assert "airflow db migrate" in init
    assert "airflow users create" in init
    assert "airflow pools set kznews_duckdb 1" in init
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        dep = services[name]["depends_on"]["airflow-init"]
        assert dep["condition"] == "service_completed_successfully", name


def test_volumes_and_read_only_warehouse_for_bi(compose, services):
    assert {"postgres-db", "airflow-logs", "kznews-data", "kznews-warehouse"} <= set(
        compose["volumes"]
    )
    for name in AIRFLOW_SERVICES:
        mounts = services[name]["volumes"]
        assert "kznews-data:/opt/kznews/data" in mounts, name
        assert "kznews-warehouse:/opt/kznews/warehouse" in mounts, name
        assert "airflow-logs:/opt/airflow/logs" in mounts, name
    bi_mounts = services["bi-share"]["volumes"]
    assert any(m.startswith("kznews-warehouse:") and m.endswith(":ro") for m in bi_mounts)


def test_bi_share_serves_the_published_file_and_nothing_else(compose):
    """The warehouse volume also holds the private build file (ungated data) and dbt's
    files: nginx's default site would serve them all."""
    mounts = compose["services"]["bi-share"]["volumes"]
    conf_mount = next(m for m in mounts if m.endswith(":/etc/nginx/conf.d/default.conf:ro"))
    conf = (ROOT / conf_mount.split(":")[0]).read_text(encoding="utf-8")
    code = "\n".join(line.split("#")[0] for line in conf.splitlines())
    locations = re.findall(r"location\s+([^{]*?)\s*\{([^}]*)\}", code)
    served = {where.strip(): body for where, body in locations}
    assert set(served) == {
        "= /kznews.duckdb",
        "~ ^/kznews-[0-9]+T[0-9]+Z\\.duckdb$",
        "= /kznews.current",
        "= /healthz",
        "/",
    }
    assert "return 404" in served["/"] and "autoindex off" in code
    assert "/healthz" in " ".join(compose["services"]["bi-share"]["healthcheck"]["test"])


def test_env_example_defines_every_variable_without_secrets():
    compose_text = (ROOT / "docker-compose.yaml").read_text(encoding="utf-8")
    used = set(VAR.findall(compose_text))
    example = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            example[key.strip()] = value.strip()
    assert used <= set(example), f"missing from .env.example: {sorted(used - set(example))}"
    for key in ("AIRFLOW_JWT_SECRET", "POSTGRES_PASSWORD", "AIRFLOW_ADMIN_PASSWORD"):
        assert example[key].startswith("change-me"), key
    assert ".env" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()


def test_pipeline_settings_file_reaches_every_airflow_service(services):
    """KZNEWS_* tuning (shards, object store, crawl limits) goes in an optional kznews.env
    that every Airflow container reads; its example names only real settings, none that
    the compose file sets itself (those would win over the file), and the file stays out
    of git and of the image."""
    import dataclasses

    from kznews.config import Settings

    for name in AIRFLOW_SERVICES:
        assert services[name]["env_file"] == [{"path": "kznews.env", "required": False}], name
    example = (ROOT / "kznews.env.example").read_text(encoding="utf-8")
    names = set(re.findall(r"^#?\s*KZNEWS_([A-Z0-9_]+)=", example, flags=re.MULTILINE))
    fields = {f.name.upper() for f in dataclasses.fields(Settings)}
    assert names and names <= fields | {"DBT_TASKS"}, sorted(names - fields)
    set_by_compose = {k for k in _env(services["airflow-worker"]) if k.startswith("KZNEWS_")}
    assert not {f"KZNEWS_{n}" for n in names} & set_by_compose
    for ignore in (".gitignore", ".dockerignore"):
        assert "kznews.env" in (ROOT / ignore).read_text(encoding="utf-8").split(), ignore


def test_required_secrets_fail_fast(compose, services):
    """Secrets have no defaults: `${VAR:?message}` makes compose refuse to start without them."""
    env = _env(services["airflow-apiserver"])
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY"):
        assert ":?" in env[key], key


def test_dockerfile_installs_requirements():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM apache/airflow:3\.3\.2-python3\.11\s*$", text, re.M)
    assert re.search(r"^COPY .*requirements\.txt", text, re.M)
    assert re.search(r"pip install [^\n]*-r [^\n]*requirements\.txt", text)
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in text
    reqs = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    for pin in (
        "apache-airflow==3.3.2",
        "apache-airflow-providers-celery==",
        "apache-airflow-providers-fab==",
        "psycopg2-binary==",
    ):
        assert pin in reqs, pin
    # Everything the Dockerfile copies exists and is not excluded from the build context.
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for match in re.finditer(r"^COPY (?:--\S+ )*(.+) \S+$", text, re.M):
        for src in match.group(1).split():
            assert (ROOT / src).exists(), src
            assert src not in ignored, src


def test_the_image_parses_the_dbt_project_where_the_per_model_dag_reads_it(tmp_path):
    """The Dockerfile's `dbt parse` writes dbt_project/target/manifest.json, the manifest the
    per-model DAG layout reads first; the same command works here, offline, on no data."""
    import os
    import shutil
    import subprocess

    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    run = re.search(r"^RUN cd /opt/kznews/dbt_project \\\n((?:.*\\\n)*.*)$", text, re.M)
    assert run, "no dbt parse step in the Dockerfile"
    command = " ".join(part.strip(" \\") for part in run.group(1).splitlines())
    command = command.removeprefix("&&").strip()
    assert "dbt parse" in command and "--target-path target" in command
    project = tmp_path / "dbt_project"
    shutil.copytree(ROOT / "dbt_project", project,
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KZNEWS_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    command = command.replace("/tmp/dbt-logs", str(tmp_path / "logs"))
    subprocess.run(command, shell=True, cwd=project, env=env, check=True, timeout=300)  # noqa: S602
    manifest = project / "target" / "manifest.json"
    assert manifest.stat().st_size > 0

    import json

    from kznews.dbtgraph import models_from_manifest

    models = models_from_manifest(json.loads(manifest.read_text(encoding="utf-8")))
    assert {"fct_articles", "dim_authors", "stg_kznews__articles"} <= set(models)


def test_fab_auth_manager_importable():
    """The auth manager compose configures is installed at the pinned version."""
    pytest.importorskip("airflow.providers.fab")
    from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager

    assert FabAuthManager.__name__ == "FabAuthManager"


def test_celery_workers_preload_the_stages(services):
    """Every component reads the same Celery settings: Airflow's plus the kznews preload."""
    from kznews.celery_config import CELERY_CONFIG

    for name in AIRFLOW_SERVICES:
        option = _env(services[name]).get("AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS")
        assert option == "kznews.celery_config.CELERY_CONFIG", name
    assert "kznews.preload" in CELERY_CONFIG["imports"]
