"""Warehouses built once per test session and shared by tests/warehouse and test_publish.

dbt invocations take seconds, so every test module asks these functions, which build on first
use and then return the cached result (pytest runs one session per process). Their dbt
commands run through the ``forked_dbt`` fixture's invoker (tests/conftest.py).

* :func:`fixture_warehouse`: the gold-page fixture (fixture_data.py) built incrementally,
  first the 2024-05-17 partition, then 2024-05-18 as a nightly run with ``load_date``
  (and ``dbt docs generate``), so later tests can compare with a full refresh.
* :func:`sample_warehouse`: the bundled sample (``sample/``: WARC + seed pages) extracted by
  the real extractor, built and published. Skipped when the extractor cannot run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kznews.config import Settings
from kznews.warehouse import MARTS, MARTS_SCHEMA, build, run_build
from kznews.warehouse.runner import DbtInvoker

from . import fixture_data

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_LOAD_DATE = date(2024, 5, 17)


@dataclass
class Built:
    settings: Settings
    result: dict[str, Any]
    fingerprint: dict[str, tuple[int, str]]
    published: dict[str, Any] | None = None


_CACHE: dict[str, Built | str] = {}


def settings_for(home: Path) -> Settings:
    """Settings with data and warehouse under ``home`` and this repository's dbt project."""
    return Settings(home=home, dbt_project_dir=ROOT / "dbt_project")


def copy_of(built: Built, home: Path, target: bool = False) -> Settings:
    """Settings under ``home`` holding a copy of ``built``'s extracted Parquet and build file
    (and with ``target``, dbt's target/ with the record of its last build, so that the next
    build of the copy is incremental), for a test that changes them."""
    from kznews.warehouse.runner import target_dir

    src, s = built.settings, settings_for(home)
    shutil.copytree(src.extracted_dir, s.extracted_dir)
    s.build_db.parent.mkdir(parents=True)
    shutil.copy(src.build_db, s.build_db)
    if target:
        shutil.copytree(target_dir(src), target_dir(s))
    return s


def fingerprint(db_path: Path, schema: str = MARTS_SCHEMA) -> dict[str, tuple[int, str]]:
    """(row count, md5 of all rows in a canonical order) per mart."""
    import duckdb

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        out = {}
        for mart in MARTS:
            n, digest = con.execute(
                "select count(*), md5(coalesce(string_agg(cast(t as varchar), chr(10) "  # noqa: S608
                f"order by cast(t as varchar)), '')) from {schema}.{mart} as t"
            ).fetchone()
            out[mart] = (int(n), digest)
        return out
    finally:
        con.close()


def fixture_warehouse(tmp_path_factory: pytest.TempPathFactory, invoker: DbtInvoker) -> Built:
    if "fixture" not in _CACHE:
        s = settings_for(tmp_path_factory.mktemp("wh_fixture"))
        first, second = fixture_data.LOAD_DATES
        rows = fixture_data.partition_rows()
        fixture_data.write_partition(s.extracted_dir, first, rows[first])
        run_build(s, docs=False, tests=False, invoker=invoker)
        fixture_data.write_partition(s.extracted_dir, second, rows[second])
        result = build(s, load_date=second, invoker=invoker)
        _CACHE["fixture"] = Built(s, result, fingerprint(s.build_db))
    built = _CACHE["fixture"]
    assert isinstance(built, Built)
    return built


def sample_warehouse(tmp_path_factory: pytest.TempPathFactory, invoker: DbtInvoker) -> Built:
    if "sample" not in _CACHE:
        s = settings_for(tmp_path_factory.mktemp("wh_sample"))
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "kznews",
                "extract",
                "--source",
                str(ROOT / "sample"),
                "--out",
                str(s.extracted_dir),
                "--date",
                SAMPLE_LOAD_DATE.isoformat(),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0 or not (s.extracted_dir / "pages").exists():
            _CACHE["sample"] = f"extractor could not extract sample/: {proc.stderr[-500:]}"
        else:
            from kznews.publish import publish

            result = run_build(s, docs=False, invoker=invoker)
            _CACHE["sample"] = Built(s, result, fingerprint(s.build_db), publish(s))
    built = _CACHE["sample"]
    if isinstance(built, str):
        pytest.skip(built)
    return built
