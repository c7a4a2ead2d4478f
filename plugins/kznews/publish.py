"""Publish the validated build file as the BI-facing warehouse, atomically.

dbt writes ``Settings.build_db`` (staging views over Parquet paths, intermediate tables,
marts). BI tools open ``Settings.published_db``, which must

* hold only the marts, as plain tables in schema ``main`` (no views pointing at Parquet
  paths that exist only on the pipeline machine), with the dbt descriptions as comments;
* open in any DuckDB 1.x client: it is written with storage version ``v1.0.0`` (readable by
  DuckDB 1.0 and later; DuckDB 1.2+ would otherwise be free to use newer encodings);
* never be seen half-written, and never block a reader: the marts are copied into a new
  file in the same folder, checked, flushed to disk and renamed over the old one with
  ``os.replace``. A reader holding the old file keeps reading its (unlinked) snapshot; the
  next connection opens the new file. No lock on the published path is ever taken.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

from kznews.config import Settings
from kznews.fsutil import fsync_path, remove_stale

#: DuckDB storage version of the published file: readable by every DuckDB >= 1.0.
STORAGE_VERSION = "v1.0.0"
#: Storage version number in a DuckDB file header that DuckDB 0.10-1.x all read.
HEADER_VERSION = 64


class PublishError(RuntimeError):
    """The published file could not be written or failed its checks (the old one stays)."""


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def header_version(path: Path) -> int:
    """The storage version number in a DuckDB file's main header."""
    with open(path, "rb") as fh:
        head = fh.read(20)
    if head[8:12] != b"DUCK":
        raise PublishError(f"{path} is not a DuckDB file")
    return int.from_bytes(head[12:20], "little")


def _copy_marts(build_db: Path, tmp: Path) -> dict[str, int]:
    import duckdb

    from kznews.warehouse import MARTS, MARTS_SCHEMA

    con = duckdb.connect()  # in memory; both files are attached to it
    try:
        con.execute(f"attach {_sql_str(str(build_db))} as build (read_only)")
        con.execute(
            f"attach {_sql_str(str(tmp))} as pub (storage_version {_sql_str(STORAGE_VERSION)})"
        )
        have = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() "
                "where database_name = 'build' and schema_name = ?",
                [MARTS_SCHEMA],
            ).fetchall()
        }
        missing = [m for m in MARTS if m not in have]
        if missing:
            raise PublishError(f"build file {build_db} lacks mart(s): {', '.join(missing)}")
        rows: dict[str, int] = {}
        for mart in MARTS:
            src = f"build.{_ident(MARTS_SCHEMA)}.{_ident(mart)}"
            first_col = con.execute(
                "select column_name from duckdb_columns() where database_name = 'build' "
                "and schema_name = ? and table_name = ? order by column_index limit 1",
                [MARTS_SCHEMA, mart],
            ).fetchone()[0]
            # Ordered by the key so the published file's row order is stable for BI users.
            con.execute(
                f"create table pub.main.{_ident(mart)} as "  # noqa: S608 - names from MARTS
                f"select * from {src} order by {_ident(first_col)}"
            )
            rows[mart] = int(
                con.execute(f"select count(*) from pub.main.{_ident(mart)}").fetchone()[0]  # noqa: S608
            )
            expected = int(con.execute(f"select count(*) from {src}").fetchone()[0])  # noqa: S608
            if rows[mart] != expected:
                raise PublishError(f"{mart}: copied {rows[mart]} rows, build has {expected}")
            _copy_comments(con, mart)
        con.execute("checkpoint pub")
        con.execute("detach pub")
        con.execute("detach build")
        return rows
    finally:
        con.close()


def _copy_comments(con: Any, mart: str) -> None:
    """Carry dbt's persisted descriptions over, so BI tools show them."""
    from kznews.warehouse import MARTS_SCHEMA

    row = con.execute(
        "select comment from duckdb_tables() where database_name = 'build' "
        "and schema_name = ? and table_name = ?",
        [MARTS_SCHEMA, mart],
    ).fetchone()
    if row and row[0]:
        con.execute(f"comment on table pub.main.{_ident(mart)} is {_sql_str(row[0])}")
    for col, comment in con.execute(
        "select column_name, comment from duckdb_columns() where database_name = 'build' "
        "and schema_name = ? and table_name = ? and comment is not null",
        [MARTS_SCHEMA, mart],
    ).fetchall():
        con.execute(
            f"comment on column pub.main.{_ident(mart)}.{_ident(col)} is {_sql_str(comment)}"
        )


def _verify(tmp: Path, rows: dict[str, int]) -> None:
    import duckdb

    version = header_version(tmp)
    if version != HEADER_VERSION:
        raise PublishError(f"{tmp}: storage version {version}, expected {HEADER_VERSION}")
    con = duckdb.connect(str(tmp), read_only=True)
    try:
        tags = con.execute(
            "select tags['storage_version'] from duckdb_databases() "
            "where database_name = current_database()"
        ).fetchone()[0]
        if not str(tags).startswith(STORAGE_VERSION):
            raise PublishError(f"{tmp}: storage version {tags}, expected {STORAGE_VERSION}")
        tables = {
            r[0]: r[1]
            for r in con.execute(
                "select table_name, estimated_size from duckdb_tables() where not internal"
            ).fetchall()
        }
        if set(tables) != set(rows):
            raise PublishError(f"{tmp}: holds {sorted(tables)}, expected {sorted(rows)}")
        for mart, n in rows.items():
            got = con.execute(f"select count(*) from main.{_ident(mart)}").fetchone()[0]  # noqa: S608
            if got != n:
                raise PublishError(f"{tmp}: {mart} has {got} rows after reopening, expected {n}")
    finally:
        con.close()


#: A temporary file older than this belongs to a killed publish, never to a running one.


def _remove_stale_tmp(target: Path) -> None:
    """Remove what a publish killed before its cleanup left beside ``target`` (disk only:
    readers open ``target`` by name and never see these)."""
    remove_stale(target.parent.glob(f".{target.name}.*.tmp*"))


def publish(settings: Settings) -> dict[str, Any]:
    """Copy the marts of ``settings.build_db`` into ``settings.published_db``, atomically.

    Returns ``path`` (the published file), ``mart_rows`` {mart: rows}, ``size_bytes`` and
    ``storage_version``. On any failure the previously published file is left untouched and
    the temporary file is removed.
    """
    if settings.warehouse_backend == "ducklake":
        from kznews.warehouse.ducklake import publish_to_ducklake

        return publish_to_ducklake(settings)
    if settings.warehouse_backend != "duckdb":
        raise PublishError(f"unknown warehouse_backend {settings.warehouse_backend!r}")
    build_db = settings.build_db
    target = settings.published_db
    if not build_db.exists():
        raise PublishError(f"no build file at {build_db}; run the build stage first")
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_tmp(target)
    # Same folder as the target, so os.replace is a rename within one file system.
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        rows = _copy_marts(build_db, tmp)
        _verify(tmp, rows)
        if Path(f"{tmp}.wal").exists():
            raise PublishError(f"{tmp}: a write-ahead log was left behind")
        fsync_path(tmp)
        os.replace(tmp, target)
        fsync_path(target.parent)
    except BaseException:
        for leftover in (tmp, Path(f"{tmp}.wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        raise
    return {
        "path": str(target),
        "mart_rows": rows,
        "size_bytes": target.stat().st_size,
        "storage_version": STORAGE_VERSION,
        "build_db": str(build_db),
    }
