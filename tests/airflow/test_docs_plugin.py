"""The docs plugin serves dbt docs and Data Docs from the configured folders, and nothing else."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    monkeypatch.setenv("KZNEWS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KZNEWS_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("KZNEWS_DBT_PROJECT_DIR", str(tmp_path / "dbt_project"))
    spec = importlib.util.spec_from_file_location(
        "kznews_docs_plugin_under_test", ROOT / "plugins" / "kznews_docs_plugin.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return TestClient(module.create_app()), module, tmp_path


def test_index_says_what_is_missing(client):
    http, _, _ = client
    page = http.get("/").text
    assert "dbt docs" in page and "Data Docs" in page and "not built yet" in page
    assert http.get("/dbt/").status_code == 404


def test_serves_built_sites(client):
    http, _, tmp = client
    dbt_target = tmp / "warehouse" / "build" / "target"
    dbt_target.mkdir(parents=True)
    (dbt_target / "index.html").write_text("<html>dbt</html>")
    (dbt_target / "manifest.json").write_text("{}")
    gx = tmp / "data" / "quality" / "data_docs" / "validations"
    gx.mkdir(parents=True)
    (gx.parent / "index.html").write_text("<html>gx</html>")
    (gx / "run.html").write_text("<html>run</html>")
    assert http.get("/dbt/").text == "<html>dbt</html>"
    assert http.get("/dbt/manifest.json").json() == {}
    assert http.get("/gx/").text == "<html>gx</html>"
    assert http.get("/gx/validations/run.html").text == "<html>run</html>"
    assert "not built yet" not in http.get("/").text


def test_no_path_traversal(client):
    http, _, tmp = client
    (tmp / "secret.txt").write_text("secret")
    (tmp / "data" / "quality" / "data_docs").mkdir(parents=True)
    for path in ("/gx/../../../secret.txt", "/gx/%2e%2e/%2e%2e/%2e%2e/secret.txt", "/etc/passwd"):
        response = http.get(path)
        assert response.status_code == 404, path
        assert "secret" not in response.text


def test_plugin_declares_app_and_views(client):
    _, module, _ = client
    plugin = module.KznewsDocsPlugin
    assert plugin.fastapi_apps[0]["url_prefix"] == "/kznews-docs"
    routes = {v["url_route"] for v in plugin.external_views}
    assert routes == {"kznews-dbt-docs", "kznews-data-docs"}
    assert all(v["href"].startswith("/kznews-docs/") for v in plugin.external_views)
