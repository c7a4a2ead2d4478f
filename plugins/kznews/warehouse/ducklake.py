"""DuckLake backend of the published warehouse: catalog in PostgreSQL, data as Parquet.

With ``KZNEWS_WAREHOUSE_BACKEND=ducklake`` the publish stage writes the validated marts into
a DuckLake instead of swapping a DuckDB file. DuckLake keeps table metadata and snapshots in
the catalog database, so several processes can write (nightly load, a backfill) and read (BI)
at the same time; every reader sees one committed snapshot. dbt still builds into the private
DuckDB build file (it is one writer by construction); only publishing changes.

The DuckDB extensions come from pip wheels (``duckdb-extension-ducklake``,
``duckdb-extension-postgres-scanner``) and are loaded from their files: nothing is downloaded
at run time, and ``autoinstall_known_extensions`` is off.
"""

from __future__ import annotations

import contextlib
import importlib.util
import random
import re
import time
from pathlib import Path
from typing import Any

from kznews.config import Settings

LAKE = "lake"  # the name the lake is attached under


class DuckLakeUnavailable(RuntimeError):
    """The extensions or the catalog database cannot be reached."""


_SECRETS = (
    re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE),  # key=value
    re.compile(r"(://[^:/@\s]*:)([^@\s]+)(@)"),  # a URL's user:password@ part
)


def redacted(catalog: str) -> str:
    """``catalog`` (a DuckLake catalog string) with any password replaced by ``***``: what
    may go to logs, XCom, Asset events and summaries.

    >>> redacted("postgres:dbname=lake host=db user=kz password='s3 cr'")
    'postgres:dbname=lake host=db user=kz password=***'
    >>> redacted("postgres:postgresql://kz:" + "s3cr@db/lake")
    'postgres:postgresql://kz:***@db/lake'
    >>> redacted("postgres:dbname=lake host=127.0.0.1 user=postgres")
    'postgres:dbname=lake host=127.0.0.1 user=postgres'
    """
    out = _SECRETS[0].sub(r"\1***", catalog)
    return _SECRETS[1].sub(r"\1***\3", out)


def _extension_file(package: str, name: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DuckLakeUnavailable(f"Python package {package} is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(root.glob(f"extensions/*/{name}.duckdb_extension"))
    if not files:
        raise DuckLakeUnavailable(f"{package} holds no {name}.duckdb_extension")
    return files[-1]


def extension_files() -> list[Path]:
    """postgres_scanner, then ducklake (the order they must load in)."""
    return [
        _extension_file("duckdb_extension_postgres_scanner", "postgres_scanner"),
        _extension_file("duckdb_extension_ducklake", "ducklake"),
    ]


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def connect(settings: Settings, read_only: bool = False) -> Any:
    """A DuckDB connection with the lake attached as ``lake`` (and made the default)."""
    import duckdb

    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    try:
        for ext in extension_files():
            con.execute(f"load {_quote(str(ext))}")
        data_path = settings.path(settings.ducklake_data_path)
        data_path.mkdir(parents=True, exist_ok=True)
        options = f"data_path {_quote(str(data_path) + '/')}"
        if read_only:
            options += ", read_only"
        con.execute(
            f"attach {_quote('ducklake:' + settings.ducklake_catalog)} as {LAKE} ({options})"
        )
        con.execute(f"use {LAKE}")
    except duckdb.Error as exc:
        con.close()
        msg = f"cannot attach DuckLake {redacted(settings.ducklake_catalog)}: {exc}"
        raise DuckLakeUnavailable(msg) from exc
    return con


def publish_to_ducklake(settings: Settings, attempts: int = 5) -> dict[str, Any]:
    """Replace every mart in the lake from the build file, in one transaction.

    Readers keep their snapshot while this runs and see all new marts at once after COMMIT;
    a failure rolls everything back (the lake stays at the last good snapshot). When another
    writer commits to the same tables first, DuckLake refuses this commit; it is retried
    (bounded) on a fresh snapshot, so concurrent loads serialise instead of failing.
    """
    import duckdb

    build_db = settings.build_db
    if not build_db.exists():
        raise FileNotFoundError(f"no build file at {build_db}; run the build stage first")
    for attempt in range(1, attempts + 1):
        try:
            return _publish_once(settings, build_db)
        except duckdb.TransactionException:
            if attempt == attempts:
                raise
            time.sleep(0.2 * 2**attempt * (0.5 + random.random()))  # noqa: S311 - jitter
    raise AssertionError("unreachable")


def _publish_once(settings: Settings, build_db: Path) -> dict[str, Any]:
    from kznews.warehouse import MARTS, MARTS_SCHEMA

    con = connect(settings)
    try:
        con.execute(f"attach {_quote(str(build_db))} as build (read_only)")
        rows: dict[str, int] = {}
        con.execute("begin transaction")
        try:
            for mart in MARTS:
                con.execute(
                    f'create or replace table {LAKE}.main."{mart}" as '  # noqa: S608 - names from MARTS
                    f'select * from build."{MARTS_SCHEMA}"."{mart}"'
                )
                rows[mart] = int(
                    con.execute(f'select count(*) from {LAKE}.main."{mart}"').fetchone()[0]  # noqa: S608
                )
            con.execute("commit")
        except BaseException:
            with contextlib.suppress(Exception):
                con.execute("rollback")
            raise
        snapshot = con.execute(
            "select max(snapshot_id) from ducklake_snapshots(?)", [LAKE]
        ).fetchone()[0]
    finally:
        con.close()
    return {
        "backend": "ducklake",
        "path": f"ducklake:{redacted(settings.ducklake_catalog)}",
        "data_path": str(settings.path(settings.ducklake_data_path)),
        "snapshot_id": int(snapshot),
        "mart_rows": rows,
        "build_db": str(build_db),
    }
