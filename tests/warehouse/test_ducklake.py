"""The DuckLake backend against the real PostgreSQL of the development machines.

Skipped, with the reason, where PostgreSQL on 127.0.0.1:5432 is not reachable (a laptop).
Two publisher processes write alternating versions of every mart while reader processes
query in a loop: no reader error, and every read sees one whole snapshot (all marts of the
same version, with that version's row counts).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import uuid
from pathlib import Path

import duckdb
import pytest

from kznews.config import Settings, load_settings
from kznews.warehouse import MARTS, MARTS_SCHEMA

pytestmark = pytest.mark.services
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def _pg_admin():
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        con = psycopg2.connect(dbname="postgres", connect_timeout=3, **PG)
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432 ({exc.__class__.__name__})")
    con.autocommit = True
    return con


@pytest.fixture
def lake_settings(tmp_path):
    from kznews.warehouse.ducklake import DuckLakeUnavailable, extension_files

    try:
        extension_files()
    except DuckLakeUnavailable as exc:
        pytest.skip(str(exc))
    admin = _pg_admin()
    name = f"kznews_lake_test_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f'create database "{name}"')
    settings = load_settings(
        data_dir=tmp_path / "data",
        warehouse_dir=tmp_path / "warehouse",
        warehouse_backend="ducklake",
        ducklake_catalog=f"postgres:dbname={name} host=127.0.0.1 user=postgres",
        ducklake_data_path=tmp_path / "lake",
    )
    yield settings
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
    admin.close()


def _make_build(path: Path, version: int) -> None:
    """A build file whose every mart holds 10*version rows tagged with the version."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute(f"create schema if not exists {MARTS_SCHEMA}")
        for mart in MARTS:
            con.execute(
                f"create or replace table {MARTS_SCHEMA}.{mart} as "  # noqa: S608 - test names
                f"select {version} as version, range as i from range({10 * version})"
            )


def _publisher(settings: Settings, builds: list[str], rounds: int, errors) -> None:
    from kznews.publish import publish

    try:
        for k in range(rounds):
            publish(settings.replace(build_name=builds[k % len(builds)]))
    except Exception as exc:
        errors.put(f"publisher: {type(exc).__name__}: {exc}")


def _reader(settings: Settings, stop, errors, reads) -> None:
    from kznews.warehouse.ducklake import connect

    n = 0
    try:
        con = connect(settings, read_only=True)
        while not stop.is_set() or n < 5:
            con.execute("begin transaction")
            seen = set()
            for mart in MARTS:
                v, c = con.execute(
                    f"select min(version), count(*) from {mart}"  # noqa: S608 - test names
                ).fetchone()
                seen.add((v, c))
            con.execute("commit")
            if len(seen) != 1 or next(iter(seen))[1] != 10 * next(iter(seen))[0]:
                errors.put(f"reader saw a mixed snapshot: {sorted(seen)}")
            n += 1
        con.close()
    except Exception as exc:
        errors.put(f"reader: {type(exc).__name__}: {exc}")
    reads.put(n)


def test_publish_copies_every_mart(lake_settings, tmp_path):
    _make_build(lake_settings.build_db, 2)
    from kznews.publish import publish, published_reads
    from kznews.warehouse.ducklake import connect
    from kznews.warehouse.runner import LAST_BUILD_NAME, target_dir

    target_dir(lake_settings).mkdir(parents=True, exist_ok=True)
    read = {"2026-11-24": "c1-0123456789abcdef"}  # what the build file was built from
    (target_dir(lake_settings) / LAST_BUILD_NAME).write_text(json.dumps({"read": read}))
    out = publish(lake_settings)
    assert out["backend"] == "ducklake"
    # what a quiet night compares the extracted partitions with, kept per warehouse
    assert published_reads(lake_settings) == read
    assert published_reads(lake_settings.replace(warehouse_backend="duckdb")) is None
    assert out["mart_rows"] == dict.fromkeys(MARTS, 20)
    again = publish(lake_settings)  # a second night: a new snapshot, same content
    assert again["snapshot_id"] > out["snapshot_id"]
    con = connect(lake_settings, read_only=True)
    assert con.execute(f"select count(*) from {MARTS[0]}").fetchone()[0] == 20  # noqa: S608
    # time travel: the previous night's snapshot is still readable
    old = con.execute(
        f"select count(*) from {MARTS[0]} at (version => {out['snapshot_id']})"  # noqa: S608
    ).fetchone()[0]
    assert old == 20
    con.close()
    # tables dropped outside the pipeline: nothing counts as published (a quiet night then
    # builds and publishes again); a lake that cannot be opened is not judged
    con = connect(lake_settings)
    con.execute(f"drop table {MARTS[0]}")
    con.close()
    assert published_reads(lake_settings) is None
    from kznews.publish import PUBLISHED_READS, _warehouse_name

    def recorded_as_published(settings: Settings) -> Settings:
        record = lake_settings.build_db.parent / PUBLISHED_READS
        recorded = json.loads(record.read_text("utf-8"))
        record.write_text(json.dumps({**recorded, _warehouse_name(settings): read}))
        return settings

    catalog = lake_settings.ducklake_catalog
    unreachable = recorded_as_published(  # nothing listens on port 1: not judged
        lake_settings.replace(ducklake_catalog=catalog + " port=1 connect_timeout=2"))
    assert published_reads(unreachable) == read
    gone = recorded_as_published(lake_settings.replace(  # a catalog database dropped
        ducklake_catalog=catalog.replace("dbname=", "dbname=kznews_dropped_")))
    assert published_reads(gone) is None
    empty = f"kznews_lake_empty_{uuid.uuid4().hex[:8]}"  # recreated: no lake in it
    admin = _pg_admin()
    with admin.cursor() as cur:
        cur.execute(f'create database "{empty}"')
    try:
        recreated = recorded_as_published(lake_settings.replace(
            ducklake_catalog=f"postgres:dbname={empty} host=127.0.0.1 user=postgres"))
        assert published_reads(recreated) is None
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{empty}" with (force)')
        admin.close()


def test_the_rates_report_reads_the_lake_and_no_password_leaves(lake_settings, tmp_path):
    """With the DuckLake backend there is no published file: the report reads the lake.
    The catalog's password (trust auth ignores it here) stays out of what publish returns,
    which goes to XCom, the Asset event and the night's summary."""
    import sys

    from kznews.publish import open_published, publish

    _make_build(lake_settings.build_db, 1)
    with duckdb.connect(str(lake_settings.build_db)) as con:
        con.execute(
            f"create or replace table {MARTS_SCHEMA}.fct_exchange_rates as select * from "  # noqa: S608
            "(values (date '2026-01-01', 'USD', 505.1), (date '2026-01-02', 'USD', 506.3)) "
            "t(rate_date, currency, rate)"
        )
    settings = lake_settings.replace(
        ducklake_catalog=lake_settings.ducklake_catalog + " password=hunter2"
    )
    out = publish(settings)
    assert "hunter2" not in str(out) and "password=***" in out["path"]
    dags = str(Path(__file__).resolve().parents[2] / "dags")
    sys.path.insert(0, dags)
    try:
        from kznews_rates_report import render_report
    finally:
        sys.path.remove(dags)
    con, source = open_published(settings)
    result = render_report(source, str(tmp_path / "reports"), "2026-01-02", con=con)
    page = (tmp_path / "reports" / "rates_2026-01-02.html").read_text(encoding="utf-8")
    assert result["rows"] == 2 and "506.30" in page and "hunter2" not in page


@pytest.mark.slow
def test_concurrent_writers_and_readers_see_whole_snapshots(lake_settings):
    base = lake_settings.path(lake_settings.warehouse_dir)
    builds = []
    for version in (1, 2, 3):
        name = f"build/v{version}.duckdb"
        _make_build(base / name, version)
        builds.append(name)
    from kznews.publish import publish

    publish(lake_settings.replace(build_name=builds[0]))  # the lake exists before readers come
    ctx = mp.get_context("spawn")
    errors, reads, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    readers = [ctx.Process(target=_reader, args=(lake_settings, stop, errors, reads))
               for _ in range(2)]
    writers = [ctx.Process(target=_publisher, args=(lake_settings, builds[i:] + builds[:i], 4,
                                                    errors))
               for i in range(2)]
    for p in readers + writers:
        p.start()
    for p in writers:
        p.join(timeout=300)
    stop.set()
    for p in readers:
        p.join(timeout=120)
    for p in readers + writers:
        if p.is_alive():
            p.kill()
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert problems == []
    total_reads = sum(reads.get(timeout=5) for _ in readers)
    assert total_reads >= 10
    assert all(p.exitcode == 0 for p in writers)
