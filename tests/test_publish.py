"""kznews.publish: atomic, reader-safe publishing of the marts in a DuckDB 1.x-readable file."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from kznews.config import Settings
from kznews.publish import HEADER_VERSION, PublishError, header_version, publish
from kznews.warehouse import MARTS, mart_row_counts
from tests.warehouse import builds

OLD_DUCKDB = os.environ.get("KZNEWS_OLD_DUCKDB", "1.1.3")


@pytest.fixture
def settings(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A private copy of the session's fixture build file (tests here modify it)."""
    built = builds.fixture_warehouse(tmp_path_factory)
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
    rows = publish(settings)["mart_rows"]
    python = _old_client(request, tmp_path_factory)
    proc = subprocess.run(
        [str(python), "-c", OLD_READER, str(settings.published_db)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["version"] == OLD_DUCKDB
    assert out["rows"] == rows
