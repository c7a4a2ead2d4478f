"""kznews.publish: atomic, reader-safe publishing of the marts in a DuckDB 1.x-readable file."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

import kznews.publish as publish_module
from kznews.config import Settings, load_settings
from kznews.fsutil import file_identity
from kznews.publish import HEADER_VERSION, PublishError, header_version, publish
from kznews.warehouse import MARTS, mart_row_counts
from kznews.warehouse.runner import (
    LAST_BUILD_NAME,
    READ_PARTITIONS_NAME,
    DbtInvoker,
    target_dir,
)
from tests.warehouse import builds

OLD_DUCKDB = os.environ.get("KZNEWS_OLD_DUCKDB", "1.1.3")


@pytest.fixture
def settings(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, forked_dbt: DbtInvoker
) -> Settings:
    """A private copy of the session's fixture build file (tests here modify it)."""
    built = builds.fixture_warehouse(tmp_path_factory, forked_dbt)
    s = builds.settings_for(tmp_path)
    s.build_db.parent.mkdir(parents=True)
    shutil.copy(built.settings.build_db, s.build_db)
    return s


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_publish_writes_only_the_marts_as_tables(settings: Settings) -> None:
    result = publish(settings)
    json.dumps(result)
    assert Path(result["path"]) == settings.published_db
    assert result["mode"] == "full (no published file)"
    assert result["changes"] == {m: "replaced" for m in MARTS}
    assert result["mart_rows"] == mart_row_counts(settings.build_db)
    con = duckdb.connect(str(settings.published_db), read_only=True)
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() order by 2"
        ).fetchall()
        views = con.execute("select view_name from duckdb_views() where not internal").fetchall()
        comment = con.execute(
            "select comment from duckdb_tables() where table_name = 'fct_articles'"
        ).fetchone()[0]
    finally:
        con.close()
    assert tables == [("main", m) for m in sorted(MARTS)]
    assert views == []  # nothing that points at Parquet paths of the pipeline machine
    assert comment and comment.startswith("One row per article id")
    assert header_version(settings.published_db) == HEADER_VERSION
    assert _leftovers(settings.published_db.parent) == []
    assert not Path(f"{settings.published_db}.wal").exists()


READER = textwrap.dedent(
    """
    import sys, duckdb
    path = sys.argv[1]
    q = "select count(*) from fct_headline_sightings"
    con = duckdb.connect(path, read_only=True)
    print("before", con.execute(q).fetchone()[0], flush=True)
    sys.stdin.readline()  # the test publishes a new file now
    print("after", con.execute(q).fetchone()[0], flush=True)
    con.close()
    con = duckdb.connect(path, read_only=True)
    print("reopened", con.execute(q).fetchone()[0], flush=True)
    """
)


def test_reader_keeps_its_snapshot_and_new_connections_see_new_data(settings: Settings) -> None:
    first = publish(settings)["mart_rows"]["fct_headline_sightings"]
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.published_db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().split() == ["before", str(first)]
        # new data in the build file, published while the reader holds the old file open
        con = duckdb.connect(str(settings.build_db))
        con.execute("delete from marts.fct_headline_sightings where seen_on = '2024-05-18'")
        con.close()
        second = publish(settings)["mart_rows"]["fct_headline_sightings"]  # no lock error
        assert second < first
        out, err = reader.communicate("go\n", timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0, err
    assert out.split() == ["after", str(first), "reopened", str(second)]


def test_failed_publish_leaves_the_published_file_alone(settings: Settings) -> None:
    publish(settings)
    before = _sha(settings.published_db)
    con = duckdb.connect(str(settings.build_db))
    con.execute("drop table marts.dim_date")
    con.close()
    with pytest.raises(PublishError, match="dim_date"):
        publish(settings)
    assert _sha(settings.published_db) == before
    assert _leftovers(settings.published_db.parent) == []


@pytest.mark.parametrize("mode", ["incremental", "full"])
def test_before_commit_runs_before_the_rename_and_can_stop_it(
    settings: Settings, mode: str
) -> None:
    """kznews.overlap waits for the quality gate in ``before_commit``: the new file must be
    complete by then, the published one untouched, and a raise must leave nothing behind."""
    publish(settings)
    before = _sha(settings.published_db)
    s = settings.replace(publish_mode=mode)
    seen: list[list[str]] = []

    def look() -> None:
        assert _sha(s.published_db) == before  # not replaced yet
        seen.append(_leftovers(s.published_db.parent))  # the new file is written beside it

    publish(s, before_commit=look)
    assert seen and any(name.endswith(".tmp") for name in seen[0]), seen
    record = s.build_db.parent / publish_module.PUBLISHED_READS
    assert publish_module.published_reads(s) is None  # the copied build file has no record
    built_from = {"2026-11-01": "c1-aaaaaaaaaaaaaaaa"}
    target_dir(s).mkdir(parents=True, exist_ok=True)
    (target_dir(s) / LAST_BUILD_NAME).write_text(json.dumps({"read": built_from}))
    publish(s)
    assert publish_module.published_reads(s) == built_from  # what the file was built from
    record.unlink()

    def gate_failed() -> None:
        raise RuntimeError("quality gate failed")

    published = _sha(s.published_db)
    with pytest.raises(RuntimeError, match="quality gate failed"):
        publish(s, before_commit=gate_failed)
    assert _sha(s.published_db) == published
    assert _leftovers(s.published_db.parent) == []
    assert not record.exists()  # nothing new was published: nothing recorded


def test_a_publish_records_what_the_last_successful_build_read(settings: Settings) -> None:
    """An incremental build notes what it is about to read before dbt runs; when dbt then
    fails and the file is gated and published again, the published record must not claim
    the dates that build never added (a quiet night would never catch them up)."""
    target = target_dir(settings)
    target.mkdir(parents=True, exist_ok=True)
    succeeded = {"load_date": "2026-11-01", "read": {"2026-11-01": "c1-aaaaaaaaaaaaaaaa"}}
    (target / LAST_BUILD_NAME).write_text(json.dumps(succeeded))
    meant = {"2026-11-01": "c1-aaaaaaaaaaaaaaaa", "2026-11-02": "c1-bbbbbbbbbbbbbbbb"}
    (target / READ_PARTITIONS_NAME).write_text(json.dumps(meant))  # a build that failed
    publish(settings)
    assert publish_module.published_reads(settings) == {"2026-11-01": "c1-aaaaaaaaaaaaaaaa"}
    settings.published_db.unlink()  # BI lost its file: nothing counts as published
    assert publish_module.published_reads(settings) is None


def test_missing_build_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="no build file"):
        publish(builds.settings_for(tmp_path))


def _old_client(request: pytest.FixtureRequest, tmp_path_factory) -> Path:
    """A venv with another DuckDB 1.x, cached between sessions in pytest's cache folder."""
    cache = getattr(request.config, "cache", None)
    base = (
        cache.mkdir(f"kznews-duckdb-{OLD_DUCKDB}")
        if cache is not None
        else tmp_path_factory.mktemp(f"duckdb-{OLD_DUCKDB}")
    )
    venv = Path(base) / "venv"
    python = venv / "bin" / "python"
    ok = Path(base) / "installed"
    if not ok.exists():
        shutil.rmtree(venv, ignore_errors=True)
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(python), "-m", "pip", "install", "-q", f"duckdb=={OLD_DUCKDB}"],
        ]
        for step in steps:
            try:
                proc = subprocess.run(step, capture_output=True, text=True, timeout=240)
            except subprocess.TimeoutExpired:
                pytest.skip(f"installing duckdb=={OLD_DUCKDB} in a venv timed out")
            if proc.returncode != 0:
                pytest.skip(
                    f"cannot install duckdb=={OLD_DUCKDB} in a separate venv "
                    f"(no registry access?): {proc.stderr.strip()[-300:]}"
                )
        ok.write_text(OLD_DUCKDB)
    return python


OLD_READER = textwrap.dedent(
    """
    import json, sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    out = {"version": duckdb.__version__, "rows": {}}
    for (t,) in con.execute("select table_name from duckdb_tables()").fetchall():
        out["rows"][t] = con.execute(f"select count(*) from {t}").fetchone()[0]
        # every value, typed columns included (timestamptz, decimal, date), as text
        con.execute(f"select cast(x as varchar) from {t} as x").fetchall()
    print(json.dumps(out))
    """
)


def test_published_file_opens_in_an_older_duckdb_1x(
    settings: Settings, request: pytest.FixtureRequest, tmp_path_factory
) -> None:
    assert duckdb.__version__ != OLD_DUCKDB
    python = _old_client(request, tmp_path_factory)

    def old_reader_rows() -> dict[str, int]:
        proc = subprocess.run(
            [str(python), "-c", OLD_READER, str(settings.published_db)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        assert out["version"] == OLD_DUCKDB
        return out["rows"]

    rows = publish(settings)["mart_rows"]
    assert old_reader_rows() == rows
    # A copy of that file changed in place by this (newer) DuckDB must stay v1.0.0 too:
    # rows deleted and appended (bodies, timestamptz, dates), small marts recreated.
    _edit_build(settings.build_db)
    result = publish(settings)
    assert result["mode"] == "incremental"
    assert header_version(settings.published_db) == HEADER_VERSION
    assert old_reader_rows() == result["mart_rows"]


# --- incremental publishing ------------------------------------------------------------------


def _row_hash(con: duckdb.DuckDBPyConnection, table: str, key: str, value: str) -> str:
    """row_hash as dbt computes it: md5 of the JSON of every other column."""
    return con.execute(
        f"select md5(to_json(x)) from (select * exclude (row_hash) from {table} "  # noqa: S608
        f"where {key} = ?) as x",
        [value],
    ).fetchone()[0]


def _edit_build(build_db: Path) -> dict[str, str]:
    """One night's worth of changes in the build: one article's body edited (and its
    row_hash), one article removed, one added, one author renamed, a column comment changed
    and one removed. Returns the article ids involved."""
    con = duckdb.connect(str(build_db))
    try:
        ids = [
            r[0]
            for r in con.execute(
                # articles with full text first: a body edit keeps has_full_text true
                "select article_id from marts.fct_articles"
                " order by has_full_text desc, article_id limit 3"
            ).fetchall()
        ]
        edited, removed, template = ids
        con.execute(
            "update marts.fct_articles set body = 'edited body' where article_id = ?", [edited]
        )
        con.execute(
            "update marts.fct_articles set row_hash = ? where article_id = ?",
            [_row_hash(con, "marts.fct_articles", "article_id", edited), edited],
        )
        con.execute("delete from marts.fct_articles where article_id = ?", [removed])
        added = "zz-added-article"
        con.execute(
            "insert into marts.fct_articles select * replace (? as article_id) "
            "from marts.fct_articles where article_id = ?",
            [added, template],
        )
        con.execute(
            "update marts.fct_articles set row_hash = ? where article_id = ?",
            [_row_hash(con, "marts.fct_articles", "article_id", added), added],
        )
        con.execute(
            "update marts.dim_authors set author_name = author_name || ' (renamed)' "
            "where author_id = (select min(author_id) from marts.dim_authors)"
        )
        con.execute("comment on column marts.fct_articles.title is 'Headline (edited comment)'")
        con.execute("comment on column marts.fct_articles.site is NULL")
    finally:
        con.close()
    return {"edited": edited, "removed": removed, "added": added}


def _comments(db: Path, schema: str) -> set[tuple[str, str, str | None]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return set(
            con.execute(
                "select table_name, column_name, comment from duckdb_columns() "
                "where schema_name = ? and table_name in (select unnest(?))",
                [schema, list(MARTS)],
            ).fetchall()
        )
    finally:
        con.close()


def test_incremental_publish_applies_exactly_the_build_changes(
    settings: Settings, tmp_path: Path
) -> None:
    publish(settings)
    ids = _edit_build(settings.build_db)
    result = publish(settings)
    json.dumps(result)
    assert result["mode"] == "incremental"
    assert result["changes"]["fct_articles"] == {"deleted": 2, "inserted": 2}
    assert result["changes"]["fct_headline_sightings"] == {"deleted": 0, "inserted": 0}
    for mart in ("dim_authors", "dim_rubrics", "dim_date", "fct_exchange_rates", "fct_headlines"):
        assert result["changes"][mart] == "replaced"
    assert result["mart_rows"] == mart_row_counts(settings.build_db)
    # The same contents (order-independent) and comments as the build, and as a full copy.
    published = builds.fingerprint(settings.published_db, schema="main")
    assert published == builds.fingerprint(settings.build_db)
    full = settings.replace(
        warehouse_dir=tmp_path / "full", build_name=str(settings.build_db), publish_mode="full"
    )
    assert publish(full)["mode"] == "full (publish_mode=full)"
    assert builds.fingerprint(full.published_db, schema="main") == published
    assert _comments(settings.published_db, "main") == _comments(settings.build_db, "marts")
    assert ("fct_articles", "title", "Headline (edited comment)") in _comments(
        settings.published_db, "main"
    )
    con = duckdb.connect(str(settings.published_db), read_only=True)
    try:
        bodies = dict(
            con.execute(
                "select article_id, body from fct_articles where article_id in (?, ?, ?)",
                [ids["edited"], ids["removed"], ids["added"]],
            ).fetchall()
        )
        renamed = con.execute(
            "select count(*) from dim_authors where author_name like '% (renamed)'"
        ).fetchone()[0]
    finally:
        con.close()
    assert set(bodies) == {ids["edited"], ids["added"]}
    assert bodies[ids["edited"]] == "edited body"
    assert renamed == 1
    assert _leftovers(settings.published_db.parent) == []
    assert not Path(f"{settings.published_db}.wal").exists()
    # Nothing changed since: nothing to delete or insert.
    again = publish(settings)
    assert again["mode"] == "incremental"
    assert again["changes"]["fct_articles"] == {"deleted": 0, "inserted": 0}
    assert builds.fingerprint(settings.published_db, schema="main") == published


def _add_column(settings: Settings) -> None:
    con = duckdb.connect(str(settings.build_db))
    con.execute("alter table marts.fct_headlines add column extra integer default 7")
    con.close()


def _not_duckdb(settings: Settings) -> None:
    settings.published_db.write_bytes(b"not a database" * 100)


def _newer_storage(settings: Settings) -> None:
    newer = settings.published_db.with_name("newer.duckdb")
    con = duckdb.connect()
    con.execute(f"attach '{settings.published_db}' as old (read_only)")
    con.execute(f"attach '{newer}' as newer (storage_version 'v1.2.0')")
    con.execute("copy from database old to newer")
    con.close()
    os.replace(newer, settings.published_db)


def _extra_table(settings: Settings) -> None:
    con = duckdb.connect(str(settings.published_db))
    con.execute("create table notes as select 1 as x")
    con.close()


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (_add_column, "full (fct_headlines columns changed: build adds extra INTEGER)"),
        (_not_duckdb, "full (published file unreadable:"),
        (_newer_storage, "full (published file has header version 65, expected 64)"),
        (_extra_table, "full (the published file is not the one the last publish wrote"),
    ],
)
def test_incremental_falls_back_to_full_and_says_why(settings: Settings, change, why) -> None:
    publish(settings)
    change(settings)
    result = publish(settings)
    assert result["mode"].startswith(why), result["mode"]
    assert result["changes"] == {m: "replaced" for m in MARTS}
    assert builds.fingerprint(settings.published_db, schema="main") == builds.fingerprint(
        settings.build_db
    )
    assert header_version(settings.published_db) == HEADER_VERSION
    assert _leftovers(settings.published_db.parent) == []
    assert publish(settings)["mode"] == "incremental"  # and back to incremental next time


def test_dead_space_past_the_limit_means_a_full_rewrite(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(settings)
    _edit_build(settings.build_db)
    assert publish(settings)["mode"] == "incremental"  # leaves deleted rows in the file
    monkeypatch.setattr(publish_module, "MAX_WASTE", 0.0)
    monkeypatch.setattr(publish_module, "MIN_WASTE_BYTES", 0)
    result = publish(settings)
    assert result["mode"].startswith("full (published file is ~"), result["mode"]
    assert "dead space" in result["mode"]


@pytest.mark.parametrize("step", ["_sync_comments", "_verify", "fsync_path"])
def test_failed_incremental_publish_leaves_the_published_file_alone(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """Steps the full copy shares: it fails as well, and the publish fails."""
    publish(settings)
    before = _sha(settings.published_db)
    _edit_build(settings.build_db)

    def boom(*args, **kwargs):
        raise RuntimeError(f"{step} failed")

    monkeypatch.setattr(publish_module, step, boom)
    with pytest.raises(RuntimeError, match=f"{step} failed"):
        publish(settings)
    assert _sha(settings.published_db) == before
    assert _leftovers(settings.published_db.parent) == []


def test_full_mode_always_copies_everything(settings: Settings) -> None:
    full = settings.replace(publish_mode="full")
    publish(full)
    _edit_build(settings.build_db)
    result = publish(full)
    assert result["mode"] == "full (publish_mode=full)"
    assert result["changes"] == {m: "replaced" for m in MARTS}
    assert builds.fingerprint(settings.published_db, schema="main") == builds.fingerprint(
        settings.build_db
    )


def test_publish_mode_setting(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().publish_mode == "incremental"
    monkeypatch.setenv("KZNEWS_PUBLISH_MODE", "full")
    assert load_settings().publish_mode == "full"
    with pytest.raises(ValueError, match=r"publish_mode \(KZNEWS_PUBLISH_MODE\) must be"):
        publish(settings.replace(publish_mode="fast"))
    assert not settings.published_db.exists()


def _corrupt_after_header(settings: Settings) -> None:
    """Garbage over every block after DuckDB's three header blocks (the header bytes, which
    publish checks before copying, stay valid): attaching or reading the copy fails."""
    path = settings.published_db
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.seek(3 * 4096)
        fh.write(bytes((i * 151 + 7) % 256 for i in range(size - 3 * 4096)))


def _diff_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args, **kwargs):
        raise duckdb.IOException("could not read block 42")

    monkeypatch.setattr(publish_module, "_diff_mart", boom)


def _accept(_: object, settings: Settings) -> None:
    """Record the published file as what the last publish wrote: damage that leaves no
    trace in its inode, size or mtime (bit rot), which only reading it can show."""
    record = settings.build_db.parent / publish_module.PUBLISHED_RECORD
    ident = file_identity(settings.published_db)
    record.write_text(json.dumps({str(settings.published_db): ident}), encoding="utf-8")


def _pair_check_fails_once(monkeypatch: pytest.MonkeyPatch) -> None:
    real = publish_module._verify
    calls = []

    def verify(tmp, rows, build_db, limit):
        calls.append(tmp)
        if len(calls) == 1:
            raise PublishError(f"{tmp}: fct_articles (article_id, row_hash) pairs differ")
        real(tmp, rows, build_db, limit)

    monkeypatch.setattr(publish_module, "_verify", verify)


@pytest.mark.parametrize(
    ("break_it", "error"),
    [
        (lambda s, m: _accept(_corrupt_after_header(s), s), r"\w+Exception"),
        (lambda s, m: _diff_raises(m), "IOException: could not read block 42"),
        (lambda s, m: _pair_check_fails_once(m), "PublishError: .* pairs differ"),
    ],
    ids=["corrupt-file", "diff-error", "pair-check"],
)
def test_any_incremental_error_falls_back_to_one_full_copy(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    break_it,
    error: str,
) -> None:
    publish(settings)
    _edit_build(settings.build_db)
    break_it(settings, monkeypatch)
    with caplog.at_level("WARNING", logger="kznews.publish"):
        result = publish(settings)
    assert re.match(rf"full \(incremental failed: {error}", result["mode"]), result["mode"]
    assert "\n" not in result["mode"]
    assert result["changes"] == {m: "replaced" for m in MARTS}
    assert result["mart_rows"] == mart_row_counts(settings.build_db)
    assert any(
        r.levelname == "WARNING" and "full copy instead" in r.getMessage() for r in caplog.records
    )
    published = builds.fingerprint(settings.published_db, schema="main")
    full = settings.replace(
        warehouse_dir=tmp_path / "full", build_name=str(settings.build_db), publish_mode="full"
    )
    publish(full)
    assert builds.fingerprint(full.published_db, schema="main") == published
    assert published == builds.fingerprint(settings.build_db)
    assert header_version(settings.published_db) == HEADER_VERSION
    assert _leftovers(settings.published_db.parent) == []
    monkeypatch.undo()
    assert publish(settings)["mode"] == "incremental"  # and back to incremental next time


def test_failed_full_copy_after_a_failed_incremental_one_raises(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(settings)
    before = _sha(settings.published_db)
    _edit_build(settings.build_db)
    _diff_raises(monkeypatch)

    def full_fails(*args, **kwargs):
        raise RuntimeError("full copy failed")

    monkeypatch.setattr(publish_module, "_copy_marts", full_fails)
    with pytest.raises(RuntimeError, match="full copy failed") as info:
        publish(settings)
    assert any("incremental failed: IOException" in n for n in info.value.__notes__)
    assert _sha(settings.published_db) == before
    assert _leftovers(settings.published_db.parent) == []


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_interrupt_during_incremental_publish_is_not_retried(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, exc: type[BaseException]
) -> None:
    publish(settings)
    before = _sha(settings.published_db)
    _edit_build(settings.build_db)
    full = []

    def interrupted(*args, **kwargs):
        raise exc()

    monkeypatch.setattr(publish_module, "_apply_changes", interrupted)
    monkeypatch.setattr(publish_module, "_copy_marts", lambda *a, **k: full.append(a))
    with pytest.raises(exc):
        publish(settings)
    assert full == []
    assert _sha(settings.published_db) == before
    assert _leftovers(settings.published_db.parent) == []


def test_publish_bounds_duckdb_memory_and_checks_the_setting(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both paths open DuckDB with settings.duckdb_memory_limit; a value that is not a size
    is refused before anything is written."""
    seen: list[dict] = []
    real_connect = duckdb.connect

    def connect(*args, **kwargs):
        seen.append(kwargs.get("config") or {})
        return real_connect(*args, **kwargs)

    with pytest.raises(ValueError, match="duckdb_memory_limit"):
        publish(settings.replace(duckdb_memory_limit="lots"))
    assert not settings.published_db.exists()
    monkeypatch.setattr(duckdb, "connect", connect)
    first = publish(settings.replace(duckdb_memory_limit="300MB"))
    second = publish(settings.replace(duckdb_memory_limit="300MB"))
    assert first["mode"].startswith("full") and second["mode"] == "incremental"
    # every connection: the full copy, the incremental diff and both checks of the new file
    assert len(seen) >= 4 and {c.get("memory_limit") for c in seen} == {"300MB"}
    assert all(c.get("temp_directory", "").endswith(".tmp.spill") for c in seen)
    assert _leftovers(settings.published_db.parent) == []


def test_a_published_file_a_client_wrote_to_is_published_whole_again(settings: Settings) -> None:
    """A BI client opened the published file read-write and changed a value (checkpointed,
    or left in a WAL when it died): the next publish must not keep it. The incremental path
    only compares (key, row_hash) pairs, so it starts only from the exact file the last
    publish wrote; a WAL is never left to be replayed onto the new file."""
    publish(settings)
    expected = builds.fingerprint(settings.build_db)
    dies_mid_write = (  # the change stays in the WAL: the client dies before a checkpoint
        "import duckdb, os, sys; con = duckdb.connect(sys.argv[1]); "
        "con.execute(\"set checkpoint_threshold = '1TB'\"); "
        "con.execute(\"update fct_articles set body = 'TAMPERED'\"); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", dies_mid_write, str(settings.published_db)],
                   check=True)
    assert Path(f"{settings.published_db}.wal").exists()
    result = publish(settings)
    assert result["mode"].startswith("full (a write-ahead log beside the published file")
    assert not Path(f"{settings.published_db}.wal").exists()
    assert builds.fingerprint(settings.published_db, schema="main") == expected
    con = duckdb.connect(str(settings.published_db))
    con.execute("update fct_articles set body = 'TAMPERED'")  # checkpointed on close
    con.close()
    assert not Path(f"{settings.published_db}.wal").exists()
    result = publish(settings)
    assert result["mode"].startswith("full (the published file is not the one")
    assert builds.fingerprint(settings.published_db, schema="main") == expected
    assert publish(settings)["mode"] == "incremental"  # the file it wrote: incremental again


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_each_publish_leaves_an_immutable_snapshot_for_http_readers(settings: Settings) -> None:
    """httpfs readers fetch byte ranges by name: a session attached to the stable name
    across a publish would read two files. Each publish also links the new file under a
    snapshot name that no later publish changes, named in kznews.current; two are kept."""
    target = settings.published_db
    pointer = target.with_name("kznews.current")
    first = publish(settings)
    assert first["version"] == pointer.read_text(encoding="utf-8").strip()
    snap1 = target.with_name(first["version"])
    assert snap1.stat().st_ino == target.stat().st_ino  # a link, not a copy
    before = _sha(snap1)
    _edit_build(settings.build_db)
    second = publish(settings)  # incremental: copies the published file, then changes it
    assert second["mode"] == "incremental" and second["version"] != first["version"]
    assert _sha(snap1) == before  # the first snapshot is untouched
    assert pointer.read_text(encoding="utf-8").strip() == second["version"]
    third = publish(settings)
    assert publish_module.version_names(target) == [second["version"], third["version"]]
    assert not snap1.exists()
    con = duckdb.connect(str(target.with_name(third["version"])), read_only=True)
    try:
        assert con.execute("select count(*) from fct_articles").fetchone()[0] == (
            third["mart_rows"]["fct_articles"])
    finally:
        con.close()


def test_snapshots_can_be_turned_off(settings: Settings) -> None:
    publish(settings)
    off = settings.replace(published_versions_kept=0)
    result = publish(off)
    assert result["version"] is None
    assert publish_module.version_names(off.published_db) == []
    assert not off.published_db.with_name("kznews.current").exists()  # never names an old one


def test_a_clock_stepped_back_still_names_the_newest_snapshot(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Snapshots are ordered by name: one made after the clock was set back an hour must
    still sort last, or pruning would delete the file kznews.current names."""
    import datetime as real_datetime

    first = publish(settings.replace(published_versions_kept=1))

    class EarlierClock(real_datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return real_datetime.datetime.now(tz) - real_datetime.timedelta(hours=1)

    monkeypatch.setattr(publish_module, "datetime", EarlierClock)
    second = publish(settings.replace(published_versions_kept=1))
    pointer = settings.published_db.with_name("kznews.current").read_text().strip()
    assert pointer == second["version"] > first["version"]
    assert publish_module.version_names(settings.published_db) == [second["version"]]


def test_publish_stage_fails_when_a_build_writes_the_file_while_it_is_copied(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass is checked again just before the rename: a build written while the publish
    copied the file (a CLI run beside the DAG) was never validated, so nothing is shipped."""
    from kznews import gatepass
    from kznews import publish as publish_module
    from kznews.pipeline import publish_stage

    gatepass.validate_and_record(settings, lambda: None)
    publish_stage(settings)
    before = _sha(settings.published_db)
    snapshots = publish_module.version_names(settings.published_db)
    gatepass.validate_and_record(settings, lambda: None)
    real_check = publish_module._check_new_file

    def check_then_another_build_lands(*args, **kwargs):
        real_check(*args, **kwargs)
        st = settings.build_db.stat()
        os.utime(settings.build_db, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        gatepass.validate_and_record(settings, lambda: None)  # and even passes its own gate

    monkeypatch.setattr(publish_module, "_check_new_file", check_then_another_build_lands)
    with pytest.raises(gatepass.GateNotPassed, match="changed while it was published"):
        publish_stage(settings)
    assert _sha(settings.published_db) == before
    assert publish_module.version_names(settings.published_db) == snapshots
    assert _leftovers(settings.published_db.parent) == []


def test_a_publish_failing_at_its_rename_leaves_no_snapshot(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Snapshots name published files only: one made before a rename that then failed
    would count towards the snapshots kept and push out the one still named current."""
    from kznews import publish as publish_module

    first = publish(settings)
    real_replace = publish_module.os.replace

    def replace(src, dst):
        if Path(dst) == settings.published_db:
            raise OSError("no space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(publish_module.os, "replace", replace)
    with pytest.raises(OSError, match="no space"):
        publish(settings)
    assert publish_module.version_names(settings.published_db) == [first["version"]]
    pointer = settings.published_db.with_name(f"{settings.published_db.stem}.current")
    assert pointer.read_text(encoding="utf-8").strip() == first["version"]
    assert _leftovers(settings.published_db.parent) == []
