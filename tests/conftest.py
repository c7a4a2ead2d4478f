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
        SESSION_HELPERS.update(p.pid for p in helper._processes.values())
        yield overlap._ForkedDbt(helper, lambda: "nothing parsed in advance")
    finally:
        helper.shutdown()


#: Processes the session's fixtures keep alive on purpose (the forked_dbt helper).
SESSION_HELPERS: set[int] = set()


def stray_children() -> list:
    """This process's live children, but those the session's fixtures keep on purpose: a
    test that must leave no process behind checks this, whatever ran before it here."""
    import multiprocessing

    return [p for p in multiprocessing.active_children() if p.pid not in SESSION_HELPERS]


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


#: Seconds each test file took, all of its tests on one worker, as ``make test-durations``
#: last measured them (on one machine: only their order matters).
DURATIONS = ROOT / "tests" / "durations.json"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--record-durations", action="store_true",
                     help=f"write each test file's seconds to {DURATIONS.relative_to(ROOT)}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest test files first, by :data:`DURATIONS` (a file's tests stay together and in
    their order; a file it does not know yet goes last). `make test`'s workers
    (pytest-xdist, a whole file per worker, ``--no-loadscope-reorder``) then take the
    files as a greedy longest-first schedule, and end close together."""
    known = _known_durations()
    items.sort(key=lambda item: -known.get(_file_of(item.nodeid), 0.0))  # stable


def _known_durations() -> dict[str, float]:
    return json.loads(DURATIONS.read_text(encoding="utf-8")) if DURATIONS.exists() else {}


def _file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


_measured: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Sum each file's set-up, call and tear-down times (with workers: in the controller,
    which gets every worker's reports)."""
    name = _file_of(report.nodeid)
    _measured[name] = _measured.get(name, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if not config.getoption("record_durations") or hasattr(config, "workerinput"):
        return
    known = _known_durations()
    known.update({name: round(s, 1) for name, s in _measured.items()})
    DURATIONS.write_text(json.dumps(dict(sorted(known.items())), indent=1) + "\n",
                         encoding="utf-8")
