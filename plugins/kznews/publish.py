"""Publish the validated build file as the BI-facing warehouse, atomically.

dbt writes ``Settings.build_db`` (staging views over Parquet paths, intermediate tables,
marts). BI tools open ``Settings.published_db``, which must

* hold only the marts, as plain tables in schema ``main`` (no views pointing at Parquet
  paths that exist only on the pipeline machine), with the dbt descriptions as comments;
* open in any DuckDB 1.x client: it is written with storage version ``v1.0.0`` (readable by
  DuckDB 1.0 and later; DuckDB 1.2+ would otherwise be free to use newer encodings);
* never be seen half-written, and never block a reader: the new contents are prepared in a
  new file in the same folder, checked, checkpointed, flushed to disk and renamed over the
  old one with ``os.replace``. A reader holding the old file keeps reading its (unlinked)
  snapshot; the next connection opens the new file. No lock on the published path is ever
  taken (it is only read as bytes, never opened by DuckDB).

Two ways to prepare that new file (``Settings.publish_mode``):

* ``full``: every mart is copied from the build into a fresh file. At 100k pages that is
  ~470 MB, mostly article bodies: 3.6-4.0 s and 1.5-1.75 GB peak RSS (measured).
* ``incremental`` (default): the published file is copied byte for byte (0.15 s for
  470 MB; re-encoding every row is what makes the full copy slow) and only the
  differences are applied to the copy. Marts carrying dbt's ``row_hash`` (md5 of all
  other columns) get a row-level diff on (key, row_hash): published rows whose pair is not
  in the build are deleted, build rows whose pair is not published are inserted, which
  covers changed, new and removed rows. The other marts are small and are replaced whole.
  One night at 100k pages (3,000 article rows and 20,000 sightings changed): 1.4 s and
  ~355 MB peak RSS, of which copy, fsync and unlinking the old file are ~0.5 s. When the
  published file is missing, not the file the last publish wrote (a client opened it
  read-write: a WAL beside it, another inode, size or mtime; :data:`PUBLISHED_RECORD`),
  not in the expected format, holds other tables or columns than the build, or carries
  too much dead space (:data:`MAX_WASTE`), the full copy runs
  instead and the result's ``mode`` says why. So does any other error of the incremental
  path (a corrupt published file DuckDB refuses to attach or read, a failed check of the
  updated copy): its copy is deleted, a warning logged, and the full copy runs once, so a
  bad published file never fails every night until someone sets ``publish_mode=full``.
  Only a failure of the full copy itself fails the publish.

An incrementally updated file holds the same rows as a full copy, but not in the same
physical order (changed rows are appended), which SQL without ORDER BY never promised.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kznews.config import Settings, memory_limit
from kznews.fsutil import file_identity, fsync_path, remove_stale, write_text_atomic

log = logging.getLogger(__name__)

#: DuckDB storage version of the published file: readable by every DuckDB >= 1.0.
STORAGE_VERSION = "v1.0.0"
#: Storage version number in a DuckDB file header that DuckDB 0.10-1.x all read.
HEADER_VERSION = 64
#: Beside the build file: the identity of the file the last publish wrote (see
#: :func:`_why_not_incremental`).
PUBLISHED_RECORD = "published.json"
#: Beside the build file: what each published warehouse was built from (see
#: :func:`published_reads`).
PUBLISHED_READS = "published_reads.json"
#: ``Settings.publish_mode`` values.
PUBLISH_MODES = ("incremental", "full")
#: Marts with this column are diffed row by row; its value is dbt's md5 of all other columns.
HASH_COLUMN = "row_hash"
#: Largest estimated share of dead space (:func:`_waste`) a published file may carry before
#: the next publish writes a fresh file instead of updating a copy. DuckDB keeps deleted
#: rows (article bodies) in their row groups and appended rows take new blocks, so a file
#: updated in place grows every night. At 30% it stays below ~1.4x its compact size (BI
#: scans read at most that much more). With 3,000 article and 20,000 sighting rows changed
#: a night at 100k pages the estimate rose by 0.5-1.4 points a night (30 simulated
#: nights), so the full copy (~4 s instead of ~1.4 s) runs every three to five weeks,
#: ~0.1 s a night on average; a lower limit would rewrite more often for little disk saved.
MAX_WASTE = 0.30
#: ... and only once that dead space is larger than this. In a small file (the sample, the
#: tests) the few blocks freed by re-creating the small marts are a large share of all
#: blocks, but they are reused the next night and cost nothing worth a rewrite.
MIN_WASTE_BYTES = 64 * 2**20


class PublishError(RuntimeError):
    """The published file could not be written or failed its checks (the old one stays)."""


class _Incompatible(Exception):
    """The published file cannot be updated in place; the message says why (internal)."""


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_lit(value: str | None) -> str:
    return "NULL" if value is None else _sql_str(value)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def header_version(path: Path) -> int:
    """The storage version number in a DuckDB file's main header."""
    with open(path, "rb") as fh:
        head = fh.read(20)
    if head[8:12] != b"DUCK":
        raise PublishError(f"{path} is not a DuckDB file")
    return int.from_bytes(head[12:20], "little")


def _where(database: str, schema: str, table: str) -> str:
    """Filter for duckdb_tables()/duckdb_columns(). Literals, not ``?`` parameters: the first
    parametrised catalog query of a process costs ~0.3 s in DuckDB 1.5 (measured)."""
    return (
        f"database_name = {_sql_str(database)} and schema_name = {_sql_str(schema)} "
        f"and table_name = {_sql_str(table)}"
    )


def _columns(con: Any, database: str, schema: str, table: str) -> list[tuple[str, str]]:
    """(name, type) of a table's columns in their order."""
    return [
        (str(r[0]), str(r[1]))
        for r in con.execute(
            "select column_name, data_type from duckdb_columns() "  # noqa: S608
            f"where {_where(database, schema, table)} order by column_index"
        ).fetchall()
    ]


def _build_columns(con: Any, build_db: Path) -> dict[str, list[tuple[str, str]]]:
    """Columns of every mart in the attached build; a missing mart is a PublishError."""
    from kznews.warehouse import MARTS, MARTS_SCHEMA

    cols = {m: _columns(con, "build", MARTS_SCHEMA, m) for m in MARTS}
    missing = [m for m, c in cols.items() if not c]
    if missing:
        raise PublishError(f"build file {build_db} lacks mart(s): {', '.join(missing)}")
    return cols


def _hashed_key(columns: list[tuple[str, str]]) -> str | None:
    """The key of a mart diffed by row hash (its first column), or None without a row hash.

    The first column is the mart's key by convention (the full copy orders by it, dbt tests
    it unique before publish runs), so no second list of keys has to be kept in step with
    the models. The diff does not rely on the key alone: a row is kept only if its key and
    its ``row_hash`` (md5 of every other column) both match, so a row hash computed without
    the key is still safe. A row duplicated in the build fails the incremental path's
    row-count check; the full copy that follows would publish it twice, so the quality
    gate's key check (and the key's ``unique`` dbt test on full builds), which a publish
    requires to have passed, is what keeps duplicates out.
    """
    names = [c[0] for c in columns]
    if HASH_COLUMN not in names or names[0] == HASH_COLUMN:
        return None
    return names[0]


def _table_comment(con: Any, db: str, schema: str, table: str) -> str | None:
    row = con.execute(
        f"select comment from duckdb_tables() where {_where(db, schema, table)}"  # noqa: S608
    ).fetchone()
    return row[0] if row and row[0] else None


def _column_comments(con: Any, db: str, schema: str, table: str) -> dict[str, str | None]:
    return {
        r[0]: r[1] or None
        for r in con.execute(
            "select column_name, comment from duckdb_columns() "  # noqa: S608
            f"where {_where(db, schema, table)}"
        ).fetchall()
    }


def _sync_comments(con: Any, mart: str) -> None:
    """Make the published table and column comments equal dbt's persisted descriptions
    (they may change from build to build, or be removed), so BI tools show them."""
    from kznews.warehouse import MARTS_SCHEMA

    want = _table_comment(con, "build", MARTS_SCHEMA, mart)
    if _table_comment(con, "pub", "main", mart) != want:
        con.execute(f"comment on table pub.main.{_ident(mart)} is {_sql_lit(want)}")
    have = _column_comments(con, "pub", "main", mart)
    for col, comment in _column_comments(con, "build", MARTS_SCHEMA, mart).items():
        if have.get(col) != comment:
            con.execute(
                f"comment on column pub.main.{_ident(mart)}.{_ident(col)} is {_sql_lit(comment)}"
            )


def _count(con: Any, table: str) -> int:
    return int(con.execute(f"select count(*) from {table}").fetchone()[0])  # noqa: S608


def _copy_mart(con: Any, mart: str, columns: list[tuple[str, str]], replace: bool) -> None:
    from kznews.warehouse import MARTS_SCHEMA

    src = f"build.{_ident(MARTS_SCHEMA)}.{_ident(mart)}"
    verb = "create or replace table" if replace else "create table"
    # Ordered by the key, so a freshly written mart lists rows in key order (an incremental
    # publish appends changed rows at the end; SQL promises no order without ORDER BY).
    con.execute(
        f"{verb} pub.main.{_ident(mart)} as "  # noqa: S608 - names from MARTS
        f"select * from {src} order by {_ident(columns[0][0])}"
    )


def _check_counts(con: Any, rows: dict[str, int]) -> None:
    """Each mart has as many rows in ``pub`` as in the build, before anything is committed."""
    from kznews.warehouse import MARTS_SCHEMA

    for mart, n in rows.items():
        expected = _count(con, f"build.{_ident(MARTS_SCHEMA)}.{_ident(mart)}")
        if n != expected:
            raise PublishError(f"{mart}: published {n} rows, build has {expected}")


def _connect(limit: str, tmp: Path, database: str = ":memory:", read_only: bool = False) -> Any:
    """DuckDB for one publish: bounded by ``limit`` (it spills), spilling into a folder
    beside the temporary file (swept with it), not into the working directory's ``.tmp``."""
    import duckdb

    config = {"memory_limit": limit, "temp_directory": f"{tmp}.spill"}
    return duckdb.connect(database, read_only=read_only, config=config)


def _attach(con: Any, build_db: Path, tmp: Path, *, new: bool) -> None:
    con.execute(f"attach {_sql_str(str(build_db))} as build (read_only)")
    # A new file is created with the old storage version; an existing (copied) one keeps the
    # version it was created with, which _verify checks again after the changes.
    options = f" (storage_version {_sql_str(STORAGE_VERSION)})" if new else ""
    con.execute(f"attach {_sql_str(str(tmp))} as pub{options}")


def _copy_marts(
    build_db: Path, tmp: Path, limit: str
) -> tuple[dict[str, int], dict[str, Any]]:
    """The full path: every mart into a new file. Returns (rows, changes)."""

    from kznews.warehouse import MARTS

    # in memory; both files are attached to it. Bounded like the dbt build (it spills).
    con = _connect(limit, tmp)
    try:
        _attach(con, build_db, tmp, new=True)
        cols = _build_columns(con, build_db)
        rows: dict[str, int] = {}
        for mart in MARTS:
            _copy_mart(con, mart, cols[mart], replace=False)
            rows[mart] = _count(con, f"pub.main.{_ident(mart)}")
            _sync_comments(con, mart)
        _check_counts(con, rows)
        con.execute("checkpoint pub")
        con.execute("detach pub")
        con.execute("detach build")
        return rows, {m: "replaced" for m in MARTS}
    finally:
        con.close()


def _incompatibility(con: Any, build_cols: dict[str, list[tuple[str, str]]]) -> str | None:
    """Why the attached copy ``pub`` cannot be updated in place, or None if it can."""
    from kznews.warehouse import MARTS

    tag = con.execute(
        "select tags['storage_version'] from duckdb_databases() where database_name = 'pub'"
    ).fetchone()[0]
    if not str(tag).startswith(STORAGE_VERSION):
        return f"published file has storage version {tag}, expected {STORAGE_VERSION}"
    tables = {
        (r[0], r[1])
        for r in con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = 'pub' and not internal"
        ).fetchall()
    }
    views = con.execute(
        "select count(*) from duckdb_views() where database_name = 'pub' and not internal"
    ).fetchone()[0]
    if tables != {("main", m) for m in MARTS} or views:
        return "published file holds other tables than the marts"
    for mart in MARTS:
        have, want = _columns(con, "pub", "main", mart), build_cols[mart]
        if have != want:
            extra = [c for c in want if c not in have]
            gone = [c for c in have if c not in want]
            detail = (
                (f"build adds {', '.join(f'{n} {t}' for n, t in extra)}; " if extra else "")
                + (f"build drops {', '.join(f'{n} {t}' for n, t in gone)}; " if gone else "")
            ) or "column order differs; "
            return f"{mart} columns changed: {detail.rstrip('; ')}"
    share, size = _waste(con, [m for m in MARTS if _hashed_key(build_cols[m]) is not None])
    if share > MAX_WASTE and size > MIN_WASTE_BYTES:
        return (
            f"published file is ~{share:.0%} dead space, {size / 2**20:.0f} MiB "
            f"(limit {MAX_WASTE:.0%})"
        )
    return None


def _waste(con: Any, diffed: list[str]) -> tuple[float, float]:
    """Estimated dead space of the attached ``pub`` file as (share of its blocks, bytes):
    free blocks, plus for each diffed mart its blocks times its share of deleted rows
    (DuckDB keeps deleted rows in their row group; ``estimated_size`` counts them,
    ``count(*)`` does not). Reads catalog and block metadata only (~30 ms at 100k pages);
    at 100k pages the estimate was within 2 points of 1 - (size of a fresh full copy) / size.
    """
    total, free, block_size = con.execute(
        "select total_blocks, free_blocks, block_size from pragma_database_size() "
        "where database_name = 'pub'"
    ).fetchone()
    if not total:
        return 0.0, 0.0
    dead = 0.0
    for mart in diffed:
        stored = con.execute(
            f"select estimated_size from duckdb_tables() where {_where('pub', 'main', mart)}"  # noqa: S608
        ).fetchone()[0]
        live = _count(con, f"pub.main.{_ident(mart)}")
        if not stored or stored <= live:
            continue
        info = f"pragma_storage_info({_sql_str(f'pub.main.{mart}')})"
        blocks = con.execute(
            f"select count(distinct b) from (select block_id as b from {info} "  # noqa: S608
            f"where persistent and block_id >= 0 union all "
            f"select unnest(additional_block_ids) from {info} where persistent)"
        ).fetchone()[0]
        dead += blocks * (stored - live) / stored
    return (free + dead) / total, (free + dead) * block_size


def _diff_mart(con: Any, mart: str, key: str) -> dict[str, int]:
    """Delete published rows whose (key, row_hash) is not in the build, insert build rows
    whose pair is not published: changed rows are deleted and re-inserted.

    One full outer join of the narrow (rowid, key, row_hash) columns finds both sides at
    once; the wide rows (article bodies) are then read by rowid, only for the rows that
    changed. Two anti-joins reading ``b.*`` cost ~2x as much at 100k pages (measured).
    """
    from kznews.warehouse import MARTS_SCHEMA

    pub = f"pub.main.{_ident(mart)}"
    src = f"build.{_ident(MARTS_SCHEMA)}.{_ident(mart)}"
    k, h = _ident(key), _ident(HASH_COLUMN)
    con.execute(
        "create or replace temp table kznews_diff as "  # noqa: S608 - names from MARTS
        "select p.rowid as pub_rowid, b.rowid as build_rowid "
        f"from (select rowid, {k}, {h} from {pub}) as p "
        f"full join (select rowid, {k}, {h} from {src}) as b "
        f"on p.{k} = b.{k} and p.{h} = b.{h} "
        "where p.rowid is null or b.rowid is null"
    )
    deleted = con.execute(
        f"delete from {pub} where rowid in "  # noqa: S608
        "(select pub_rowid from kznews_diff where pub_rowid is not null)"
    ).fetchone()[0]
    inserted = con.execute(
        f"insert into {pub} select * from {src} where rowid in "  # noqa: S608
        f"(select build_rowid from kznews_diff where build_rowid is not null) order by {k}"
    ).fetchone()[0]
    con.execute("drop table kznews_diff")
    return {"deleted": int(deleted), "inserted": int(inserted)}


def _apply_changes(
    build_db: Path, tmp: Path, limit: str
) -> tuple[dict[str, int], dict[str, Any]]:
    """The incremental path, on ``tmp`` (a copy of the published file). Returns (rows,
    changes); raises _Incompatible before changing anything if the copy does not fit."""

    from kznews.warehouse import MARTS

    con = _connect(limit, tmp)
    try:
        # All changes in one transaction whose commit checkpoints straight into the file
        # instead of first writing them to a WAL: the temporary file needs no crash recovery
        # (a failed publish deletes it), so the WAL would only be written twice.
        con.execute("set checkpoint_threshold = '1b'")
        # No vacuum of row groups with deleted rows during the checkpoint: DuckDB rewrites
        # such a group into new blocks before freeing the old ones, so a vacuum of
        # fct_articles doubled the file and cost as much as a full publish (measured at
        # 100k pages). Dead rows are counted by _waste instead; past MAX_WASTE the next
        # publish writes a compact file from scratch.
        con.execute("set max_vacuum_tasks = 0")
        _attach(con, build_db, tmp, new=False)
        cols = _build_columns(con, build_db)
        reason = _incompatibility(con, cols)
        if reason is not None:
            raise _Incompatible(reason)
        rows: dict[str, int] = {}
        changes: dict[str, Any] = {}
        con.execute("begin transaction")
        for mart in MARTS:
            key = _hashed_key(cols[mart])
            if key is None:
                _copy_mart(con, mart, cols[mart], replace=True)
                changes[mart] = "replaced"
            else:
                changes[mart] = _diff_mart(con, mart, key)
            _sync_comments(con, mart)
            rows[mart] = _count(con, f"pub.main.{_ident(mart)}")
        _check_counts(con, rows)
        con.execute("commit")
        con.execute("checkpoint pub")
        con.execute("detach pub")
        con.execute("detach build")
        return rows, changes
    finally:
        con.close()


def _pair_digest(con: Any, table: str, key: str) -> tuple[int, int]:
    """Row count and sum of a 64-bit hash of each (key, row_hash): equal for equal multisets
    of pairs whatever the row order."""
    n, total = con.execute(
        f"select count(*), coalesce(sum(hash({_ident(key)}, {_ident(HASH_COLUMN)})), 0) "  # noqa: S608
        f"from {table}"
    ).fetchone()
    return int(n), int(total)


def _verify(tmp: Path, rows: dict[str, int], build_db: Path, limit: str) -> None:
    """Check the new file after reopening it, before it is renamed into place.

    * header version 64 and storage tag ``v1.0.0`` (a copied file modified by a newer
      DuckDB must still be one that DuckDB 1.0 reads), exactly the marts, their row counts;
    * for marts with ``row_hash``: the (key, row_hash) pairs of the new file and of the
      build are the same multiset, compared order-independently by count and the sum of a
      64-bit hash of each pair, both computed in this one DuckDB process (the hash function
      is the same on both sides). It reads two narrow columns, not the bodies.

    What the pair check proves: every build row is published once, with the same row hash,
    and nothing else is (up to a 2^-64 chance of a colliding sum). What it does not prove:
    that the other columns of a published row still match its row hash (they are not
    re-hashed: that would read every body), nor anything about marts without ``row_hash``
    beyond their row counts. Those columns are copied from the build rows by INSERT ...
    SELECT or CREATE TABLE AS; tests compare whole-row fingerprints and read every value
    with an older DuckDB.
    """

    from kznews.warehouse import MARTS_SCHEMA

    version = header_version(tmp)
    if version != HEADER_VERSION:
        raise PublishError(f"{tmp}: storage version {version}, expected {HEADER_VERSION}")
    con = _connect(limit, tmp, str(tmp), read_only=True)
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
                "select table_name, estimated_size from duckdb_tables() "
                "where not internal and database_name = current_database()"
            ).fetchall()
        }
        if set(tables) != set(rows):
            raise PublishError(f"{tmp}: holds {sorted(tables)}, expected {sorted(rows)}")
        for mart, n in rows.items():
            got = _count(con, f"main.{_ident(mart)}")
            if got != n:
                raise PublishError(f"{tmp}: {mart} has {got} rows after reopening, expected {n}")
        con.execute(f"attach {_sql_str(str(build_db))} as build (read_only)")
        for mart in rows:
            key = _hashed_key(_columns(con, "build", MARTS_SCHEMA, mart))
            if key is None:
                continue
            pub = _pair_digest(con, f"main.{_ident(mart)}", key)
            src = _pair_digest(con, f"build.{_ident(MARTS_SCHEMA)}.{_ident(mart)}", key)
            if pub != src:
                raise PublishError(
                    f"{tmp}: {mart} ({key}, {HASH_COLUMN}) pairs differ from the build "
                    f"(count/hash sum {pub} vs {src})"
                )
    finally:
        con.close()


def version_names(target: Path) -> list[str]:
    """The published file's snapshots beside it (``kznews-<stamp>.duckdb``), oldest first."""
    pattern = re.compile(rf"{re.escape(target.stem)}-\d{{8}}T\d{{12}}Z{re.escape(target.suffix)}")
    return sorted(p.name for p in target.parent.iterdir() if pattern.fullmatch(p.name))


def _link_version(target: Path, kept: int) -> Path | None:
    """Link the file just published as ``target`` under a name of its own.

    A reader over HTTP (DuckDB httpfs) fetches byte ranges by name as it goes: after a
    publish, ``target``'s name leads to another file and such a session would read pieces
    of two. A snapshot name only ever leads to one file, which no publish changes (the
    incremental path copies the published file before changing it): long HTTP sessions
    attach the name ``<stem>.current`` gives. A hard link costs no copy."""
    if kept <= 0:
        return None
    now = datetime.now(UTC)
    existing = version_names(target)
    if existing:  # names order the snapshots: a clock stepped back must not sort it first
        newest = existing[-1][len(target.stem) + 1 : -len(target.suffix) or None]
        after = datetime.strptime(newest, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
        now = max(now, after + timedelta(microseconds=1))
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    version = target.with_name(f"{target.stem}-{stamp}{target.suffix}")
    try:
        os.link(target, version)
    except OSError as exc:  # a file system without hard links: no snapshots, say so
        log.warning("no snapshot of the published file (%s): %s", version.name, exc)
        return None
    return version


def _point_and_prune(target: Path, version: Path | None, kept: int) -> None:
    """Name the newest snapshot in ``<stem>.current`` (removed when there is none, so it
    never names an older file as the newest) and delete all but the newest ``kept``."""
    pointer = target.with_name(f"{target.stem}.current")
    if version is None:
        pointer.unlink(missing_ok=True)
    else:
        # named like the publish's own temporaries, so the leftover sweep finds it too
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp.current")
        tmp.write_text(version.name + "\n", encoding="utf-8")
        os.replace(tmp, pointer)
    names = version_names(target)
    for name in names[: max(0, len(names) - max(kept, 0))]:
        _remove(target.with_name(name))


def _remove_stale_tmp(target: Path) -> None:
    """Remove what a publish killed before its cleanup left beside ``target`` (disk only:
    readers open ``target`` by name and never see these)."""
    remove_stale(target.parent.glob(f".{target.name}.*.tmp*"))


def _remove(path: Path) -> None:
    for leftover in (path, Path(f"{path}.wal")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
    shutil.rmtree(f"{path}.spill", ignore_errors=True)


def _check_new_file(tmp: Path, rows: dict[str, int], build_db: Path, limit: str) -> None:
    """:func:`_verify`, and no write-ahead log left beside the new file."""
    _verify(tmp, rows, build_db, limit)
    if Path(f"{tmp}.wal").exists():
        raise PublishError(f"{tmp}: a write-ahead log was left behind")


def _short_error(exc: BaseException, limit: int = 200) -> str:
    """``<class>: <message>``, on one line and at most ``limit`` characters of message."""
    message = " ".join(str(exc).split())
    if len(message) > limit:
        message = message[: limit - 3] + "..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _published_record(settings: Settings) -> Path:
    """Where the last publish notes the identity of the file it published (private)."""
    return settings.build_db.parent / PUBLISHED_RECORD


def _why_not_incremental(settings: Settings, target: Path) -> str | None:
    """What rules out the incremental path before any copying (reads only header bytes of
    the published file, takes no lock). The incremental path starts from the published
    file, so it must be exactly what the last publish wrote: a client that opened it
    read-write (a WAL beside it, or a changed inode, size or mtime) rules it out."""
    if settings.publish_mode == "full":
        return "publish_mode=full"
    if not target.exists():
        return "no published file"
    if Path(f"{target}.wal").exists():
        return "a write-ahead log beside the published file: a client wrote to it"
    try:
        version = header_version(target)
    except (OSError, PublishError) as exc:
        return f"published file unreadable: {exc}"
    if version != HEADER_VERSION:
        return f"published file has header version {version}, expected {HEADER_VERSION}"
    if _recorded_identities(settings).get(str(target)) != file_identity(target):
        return "the published file is not the one the last publish wrote (or no record)"
    return None


def _recorded_identities(settings: Settings) -> dict[str, Any]:
    try:
        recorded = json.loads(_published_record(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def _warehouse_name(settings: Settings) -> str:
    """What BI reads, as a key of :data:`PUBLISHED_READS`: the published file's path, or
    the lake's catalog (password left out)."""
    if settings.warehouse_backend == "ducklake":
        from kznews.warehouse.ducklake import redacted

        return f"ducklake:{redacted(settings.ducklake_catalog)}"
    return str(settings.published_db)


def _all_published_reads(settings: Settings) -> dict[str, Any]:
    try:
        reads = json.loads((settings.build_db.parent / PUBLISHED_READS).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return reads if isinstance(reads, dict) else {}


def published_reads(settings: Settings) -> dict[str, str] | None:
    """What the published warehouse holds: the digest per load date of the extracted
    partitions the build it last published had read (:func:`_build_reads`). None when no
    publish to this warehouse recorded it (nothing published yet, or published before the
    record existed), when the published file is gone, or when the lake lacks a mart (its
    tables dropped outside the pipeline: :func:`_lake_lacks_marts`). A quiet night compares
    it with the extracted partitions (:func:`kznews.pipeline.catch_up`)."""
    if settings.warehouse_backend == "duckdb" and not settings.published_db.exists():
        return None
    reads = _all_published_reads(settings).get(_warehouse_name(settings))
    if not isinstance(reads, dict):
        return None
    if settings.warehouse_backend == "ducklake" and _lake_lacks_marts(settings):
        return None
    return dict(reads)


#: An attach refused because there is no lake: DuckLake's own words for a catalog database
#: without one (read-only attach), or PostgreSQL's for a catalog database that is gone (not
#: a role or a host that does not exist: a configuration error, not a lake emptied).
_LAKE_GONE = re.compile(r'creating a new DuckLake is explicitly disabled|database "[^"]*" does '
                        r"not exist")


def _lake_lacks_marts(settings: Settings) -> bool:
    """Whether the lake, opened read-only, lacks one of the marts (dropped by hand), or is
    not there at all (its catalog database recreated empty, or dropped): then nothing counts
    as published, and the next publish recreates it or says why it cannot. A lake that
    cannot be opened for another reason (the catalog's server down) is not judged (logged;
    its record stands). Rows deleted from a mart that is still there are not noticed."""
    from kznews.warehouse.ducklake import DuckLakeUnavailable
    from kznews.warehouse.runner import MARTS

    try:
        con, name = open_published(settings)
    except Exception as exc:
        if isinstance(exc, DuckLakeUnavailable) and _LAKE_GONE.search(str(exc)):
            log.warning("%s: it counts as holding nothing published", exc)
            return True
        log.warning("could not open %s to see whether it holds the marts",
                    _warehouse_name(settings), exc_info=True)
        return False
    try:
        have = {r[0] for r in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database()"
        ).fetchall()}
    finally:
        con.close()
    missing = sorted(set(MARTS) - have)
    if missing:
        log.warning("%s lacks %s: it counts as holding nothing published", name,
                    ", ".join(missing))
    return bool(missing)


def _build_reads(settings: Settings) -> dict[str, str] | None:
    """What the build file about to be published was built from: the digests of the
    partitions its last *successful* build had read (``read`` of
    :func:`kznews.warehouse.runner.last_build`), never what a failed build meant to read.
    None when unknown (then the next quiet night publishes again)."""
    from kznews.warehouse.runner import last_build

    read = (last_build(settings) or {}).get("read")
    return dict(read) if isinstance(read, dict) else None


def _record_reads(settings: Settings, reads: dict[str, str] | None) -> None:
    """After a publish: note what the published warehouse now holds. A failure is logged,
    not raised: the publish is done, and a missing record costs one more publish."""
    recorded = _all_published_reads(settings)
    recorded[_warehouse_name(settings)] = reads
    try:
        write_text_atomic(settings.build_db.parent / PUBLISHED_READS, json.dumps(recorded))
    except OSError:
        log.warning("could not record what %s holds", _warehouse_name(settings), exc_info=True)


def open_published(settings: Settings) -> tuple[Any, str]:
    """A read-only DuckDB connection to what BI tools read, and a name for it that may be
    shown: the published file, or with ``warehouse_backend`` "ducklake" the lake (attached
    and made the default catalog, its password left out of the name). The marts are in the
    default schema either way."""
    if settings.warehouse_backend == "ducklake":
        from kznews.warehouse.ducklake import connect

        return connect(settings, read_only=True), _warehouse_name(settings)
    if settings.warehouse_backend != "duckdb":
        raise PublishError(f"unknown warehouse_backend {settings.warehouse_backend!r}")
    import duckdb

    path = settings.published_db
    if not path.exists():
        raise PublishError(f"no published warehouse at {path}: nothing was published yet")
    return duckdb.connect(str(path), read_only=True), str(path)


def publish(
    settings: Settings, before_commit: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Publish the marts of ``settings.build_db`` as ``settings.published_db``, atomically.

    ``before_commit``, when given, runs once the new file is written and flushed, just
    before it replaces the published one; raising there abandons the new file (the
    published file stays as it was). :mod:`kznews.overlap` waits for the quality gate there.

    Returns ``path`` (the published file), ``mart_rows`` {mart: rows}, ``size_bytes``,
    ``storage_version``, ``build_db``, ``mode`` ("incremental", or "full (<why>)") and
    ``changes`` {mart: {"deleted": n, "inserted": n} or "replaced"}. When the incremental
    path fails with any error (an ``Exception``; an interrupt still propagates), the full
    copy runs instead and ``mode`` is "full (incremental failed: <error class>: <message>)".
    If the full copy fails, the publish fails: the previously published file is left
    untouched and the temporary file is removed. Flushing and renaming the finished file
    are shared by both paths and not retried.
    """
    if settings.warehouse_backend == "ducklake":
        from kznews.warehouse.ducklake import publish_to_ducklake

        reads = _build_reads(settings)
        if before_commit is not None:  # a lake commit has no file to prepare: wait first
            before_commit()
        result = publish_to_ducklake(settings)
        _record_reads(settings, reads)
        return result
    if settings.warehouse_backend != "duckdb":
        raise PublishError(f"unknown warehouse_backend {settings.warehouse_backend!r}")
    if settings.publish_mode not in PUBLISH_MODES:
        raise ValueError(
            f"publish_mode (KZNEWS_PUBLISH_MODE) must be 'incremental' or 'full', "
            f"not {settings.publish_mode!r}"
        )
    build_db = settings.build_db
    target = settings.published_db
    limit = memory_limit(settings)
    if not build_db.exists():
        raise PublishError(f"no build file at {build_db}; run the build stage first")
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_tmp(target)
    reads = _build_reads(settings)  # before copying: what the file copied was built from
    # Same folder as the target, so os.replace is a rename within one file system.
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        reason = _why_not_incremental(settings, target)
        failed: Exception | None = None
        if reason is None:
            try:
                shutil.copyfile(target, tmp)
                rows, changes = _apply_changes(build_db, tmp, limit)
                _check_new_file(tmp, rows, build_db, limit)
            except _Incompatible as exc:
                reason = str(exc)
                _remove(tmp)
            except Exception as exc:  # any other error: one full copy instead
                # Not BaseException: an interrupt or exit still ends the publish (the outer
                # handler removes the temporary file).
                _remove(tmp)
                failed = exc
                reason = f"incremental failed: {_short_error(exc)}"
                log.warning(
                    "incremental publish of %s failed, publishing a full copy instead: %s",
                    target,
                    _short_error(exc),
                    exc_info=True,
                )
        if reason is not None:
            try:
                rows, changes = _copy_marts(build_db, tmp, limit)
                _check_new_file(tmp, rows, build_db, limit)
            except Exception as exc:
                if failed is not None:
                    exc.add_note(f"(full copy after the incremental publish failed: {reason})")
                raise
        fsync_path(tmp)
        if before_commit is not None:
            before_commit()
        # A WAL a read-write client left would be replayed onto the new file by the next
        # reader that opens it: it belongs to the old file, which is going.
        stale_wal = Path(f"{target}.wal")
        if stale_wal.exists():
            log.warning("removing %s: a client wrote to the published file", stale_wal)
            stale_wal.unlink(missing_ok=True)
        os.replace(tmp, target)
        # after the rename, so a publish that fails or is killed before it leaves no
        # snapshot of a file that was never published
        version = _link_version(target, settings.published_versions_kept)
        fsync_path(target.parent)
        shutil.rmtree(f"{tmp}.spill", ignore_errors=True)  # if DuckDB spilled
        _point_and_prune(target, version, settings.published_versions_kept)
        recorded = {**_recorded_identities(settings), str(target): file_identity(target)}
        _published_record(settings).write_text(json.dumps(recorded), encoding="utf-8")
    except BaseException:
        _remove(tmp)
        raise
    _record_reads(settings, reads)
    return {
        "path": str(target),
        "mart_rows": rows,
        "size_bytes": target.stat().st_size,
        "storage_version": STORAGE_VERSION,
        "build_db": str(build_db),
        "mode": "incremental" if reason is None else f"full ({reason})",
        "changes": changes,
        "version": version.name if version else None,
    }
