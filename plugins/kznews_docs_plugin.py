"""Airflow 3 plugin: the dbt docs and the Great Expectations Data Docs inside the Airflow UI.

A small FastAPI app is mounted on the API server under ``/kznews-docs`` and serves, read-only,
- ``/kznews-docs/dbt/``: dbt's target folder (``index.html`` + ``manifest.json`` +
  ``catalog.json``): ``warehouse/build/target/`` written by every warehouse build, else
  ``dbt_project/target/`` (a manual ``dbt docs generate``),
- ``/kznews-docs/gx/``: the Data Docs site of the quality gate (``data/quality/data_docs/``).
Two ``external_views`` put them in the UI's "Browse" menu (shown in an iframe).

Folders are resolved through ``kznews.config`` on each request, so the plugin needs no restart
when they appear. Only files inside those folders are served (no path traversal). The app
sits behind the API server but Airflow does not authenticate plugin apps: these pages hold
metadata and quality results, not data; keep the API server off the public internet.
"""

from __future__ import annotations

from pathlib import Path

from airflow.plugins_manager import AirflowPlugin
from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

URL_PREFIX = "/kznews-docs"


def docs_roots() -> dict[str, Path]:
    """The folders served, by short name (dbt, gx)."""
    from kznews.config import load_settings

    settings = load_settings()
    # kznews.warehouse writes dbt's target/ (docs site included) beside the build file;
    # a plain `dbt docs generate` in dbt_project/ writes dbt_project/target/.
    dbt_target = settings.build_db.parent / "target"
    if not (dbt_target / "index.html").is_file():
        dbt_target = settings.dbt_dir / "target"
    return {
        "dbt": dbt_target,
        "gx": settings.quality_dir / "data_docs",
    }


TITLES = {
    "dbt": ("dbt docs", "every warehouse build writes them (warehouse/build/target/)"),
    "gx": ("Data Docs", "the quality gate writes data/quality/data_docs/ on every run"),
}


def _safe_file(root: Path, rel: str) -> Path:
    root = root.resolve()
    target = (root / (rel or "index.html")).resolve()
    if not target.is_relative_to(root):
        raise HTTPException(status_code=404, detail="not found")
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        raise HTTPException(status_code=404, detail=f"{rel or 'index.html'} not built yet")
    return target


def create_app() -> FastAPI:
    app = FastAPI(title="kznews docs", description="dbt docs and GX Data Docs for kznews")

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        items = []
        for key, root in docs_roots().items():
            title, how = TITLES[key]
            built = (root / "index.html").is_file()
            state = "" if built else f" — not built yet ({how})"
            items.append(f'<li><a href="{URL_PREFIX}/{key}/">{title}</a>{state}</li>')
        return "<h1>kznews docs</h1><ul>" + "".join(items) + "</ul>"

    @app.get("/{site}")
    def site_root(site: str) -> RedirectResponse:
        return RedirectResponse(f"{URL_PREFIX}/{site}/")

    @app.get("/{site}/{rel:path}")
    def site_file(site: str, rel: str) -> FileResponse:
        roots = docs_roots()
        if site not in roots:
            raise HTTPException(status_code=404, detail="unknown docs site")
        return FileResponse(_safe_file(roots[site], rel))

    return app


class KznewsDocsPlugin(AirflowPlugin):
    name = "kznews_docs"
    fastapi_apps = [  # noqa: RUF012 - the AirflowPlugin API uses class attributes
        {"app": create_app(), "url_prefix": URL_PREFIX, "name": "kznews docs"},
    ]
    external_views = [  # noqa: RUF012
        {
            "name": "dbt docs (kznews)",
            "href": f"{URL_PREFIX}/dbt/",
            "destination": "nav",
            "category": "browse",
            "url_route": "kznews-dbt-docs",
        },
        {
            "name": "Data Docs (kznews)",
            "href": f"{URL_PREFIX}/gx/",
            "destination": "nav",
            "category": "browse",
            "url_route": "kznews-data-docs",
        },
    ]
