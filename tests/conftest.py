"""Shared fixtures: paths to files bundled in the repository (no network, nothing outside)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kznews.warehouse.runner import DbtInvoker

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SITE = FIXTURES / "site"
SAMPLE = ROOT / "sample"
SEED_URL = "http://www.old.exclusive.kz/expertiza/smart/13178/"


@pytest.fixture(scope="session")
def gold() -> dict:
    return json.loads((SITE / "page_13178.gold.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def seed_html() -> bytes:
    return (SITE / "page_13178.html").read_bytes()


@pytest.fixture(scope="session")
def seed_html_cp1251() -> bytes:
    return (SITE / "page_13178.cp1251.html").read_bytes()


def _import_dbt() -> None:
    import dbt.cli.main  # noqa: F401 - what a started dbt spends its first seconds on


@pytest.fixture(scope="session")
def forked_dbt() -> Iterator[DbtInvoker]:
    """Runs a test's dbt commands forked from one helper process that imported dbt, the
    way ``kznews run`` does (:mod:`kznews.overlap`): about 2 s less per command than
    starting the ``dbt`` executable, and otherwise the same command (it parses the project
    from the test's own target folder). For tests of what the commands build; the
    executable, the Airflow tasks' way, is what test_pipeline, the reliability and the
    deploy tests run."""
    from kznews import overlap

    if not overlap.available():
        from kznews.warehouse.runner import subprocess_invoker

        yield subprocess_invoker
        return
    helper = overlap._helper()
    try:
        helper.submit(_import_dbt).result()
        yield overlap._ForkedDbt(helper, lambda: "nothing parsed in advance")
    finally:
        helper.shutdown()


def fail_landing_renames(monkeypatch: pytest.MonkeyPatch, message: str) -> None:
    """Make the rename that puts a landing's data file (``part-0.parquet``) in place raise
    ``OSError(message)``, as a full disk would; ``monkeypatch.undo()`` heals it."""
    import kznews.land as land

    real_replace = land.os.replace

    def replace(src, dst):
        if Path(dst).name == land.PART_NAME:
            raise OSError(message)
        return real_replace(src, dst)

    monkeypatch.setattr(land.os, "replace", replace)


def _file_rank(item: pytest.Item) -> int:
    """0: the real-Airflow deployments (minutes each), 1: other slow tests (whole
    pipelines), 2: the rest."""
    if item.path.parent.name == "deploy" and item.get_closest_marker("slow"):
        return 0
    return 1 if item.get_closest_marker("slow") else 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest test files first (order within a file kept): with `make test`'s workers
    (pytest-xdist, a whole file per worker) the minutes-long files start at once instead
    of one of them running alone at the end."""
    rank: dict[Path, int] = {}
    for item in items:
        rank[item.path] = min(rank.get(item.path, 2), _file_rank(item))
    items.sort(key=lambda item: rank[item.path])  # stable: files stay contiguous
