"""Landing and extracted Parquet exchanged through object storage (fsspec).

Each stage runs with its own empty local data folder, as on separate Celery workers, and the
bucket is the only thing they share: a moto S3 server on 127.0.0.1, and a file:// URL.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

import pyarrow.parquet as pq
import pytest

from kznews.config import load_settings
from kznews.pipeline import extract_stage, land_stage
from kznews.schema import EXTRACTED_TABLES
from kznews.storage import MANIFEST, ObjectStore
from tests.conftest import SITE

LOAD = date(2026, 11, 25)


@pytest.fixture(scope="module")
def s3_url():
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",  # noqa: S106 - moto
    ).create_bucket(Bucket="kznews-lake")
    options = {"key": "test", "secret": "test", "endpoint_url": endpoint,
               "client_kwargs": {"region_name": "us-east-1"}}
    yield "s3://kznews-lake/test", json.dumps(options)
    server.stop()


@pytest.fixture
def source(tmp_path):
    folder = tmp_path / "pages"
    folder.mkdir()
    for name in ("page_13178.html", "page_13178.cp1251.html", "wp_category_economy.html"):
        (folder / name).write_bytes((SITE / name).read_bytes())
    (folder / "page_13178.cp1251.html.json").write_text(
        json.dumps({"url": "http://old.exclusive.kz/expertiza/smart/13178"})
    )
    return folder


def _digest(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.suffix == ".parquet"}


def _workers(tmp_path, url, options):
    return [load_settings(data_dir=tmp_path / f"worker{i}", remote_url=url,
                          remote_options=options) for i in range(3)]


def _exchange_through(url, options, tmp_path, source):
    land_worker, extract_worker, build_worker = _workers(tmp_path, url, options)
    landed = land_stage(source, LOAD, land_worker)
    assert landed["remote"]["files"] == 1
    # the extract worker has no landing of its own: it pulls it from the bucket
    extracted = extract_stage(LOAD, extract_worker)
    assert extracted["pages_in"] == 3
    assert len(extracted["remote"]) == len(EXTRACTED_TABLES)
    # the build worker pulls every extracted partition it lacks, byte for byte
    store = ObjectStore(url, json.loads(options) if options else None)
    partition = f"load_date={LOAD.isoformat()}"
    for table in EXTRACTED_TABLES:
        out = store.pull_table(f"extracted/{table}", build_worker.path(build_worker.data_dir))
        assert out == {"pulled": 1, "up_to_date": 0}
        mine = build_worker.extracted_dir / table / partition
        theirs = extract_worker.extracted_dir / table / partition
        assert _digest(mine) == _digest(theirs)
        assert (mine / MANIFEST).exists()
    # a second pull finds everything up to date
    again = store.pull_table("extracted/pages", build_worker.path(build_worker.data_dir))
    assert again == {"pulled": 0, "up_to_date": 1}


def test_stages_exchange_partitions_through_s3(tmp_path, s3_url, source):
    url, options = s3_url
    _exchange_through(url, options, tmp_path, source)


def test_stages_exchange_partitions_through_a_file_url(tmp_path, source):
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    _exchange_through(bucket.as_uri(), "", tmp_path, source)


def test_repush_replaces_files_and_drops_stale_ones(tmp_path, s3_url):
    url, options = s3_url
    store = ObjectStore(url + "/repush", json.loads(options))
    part = tmp_path / "p"
    part.mkdir()
    (part / "part-00000.parquet").write_bytes(b"one")
    (part / "part-00001.parquet").write_bytes(b"two")
    store.push_partition(part, "t/load_date=2026-01-01")
    (part / "part-00001.parquet").unlink()
    (part / "part-00000.parquet").write_bytes(b"three")
    out = store.push_partition(part, "t/load_date=2026-01-01")
    assert out["removed"] == 1
    local = tmp_path / "local" / "t" / "load_date=2026-01-01"
    store.pull_partition("t/load_date=2026-01-01", local)
    assert sorted(p.name for p in local.iterdir()) == [MANIFEST, "part-00000.parquet"]
    assert (local / "part-00000.parquet").read_bytes() == b"three"
    # nothing staged beside the partitions, where a reader's <table>/*/*.parquet glob looks
    assert [p.name for p in local.parent.iterdir()] == ["load_date=2026-01-01"]


def test_a_pull_restores_files_lost_beside_a_matching_manifest(tmp_path) -> None:
    """The local manifest says the partition is here; a file it lists is gone (deleted by
    hand, a disk cleaned up): the pull downloads the partition again."""
    store = ObjectStore((tmp_path / "bucket").as_uri())
    part = tmp_path / "p"
    part.mkdir()
    (part / "part-0.parquet").write_bytes(b"landed")
    store.push_partition(part, "raw_pages/load_date=2026-01-01")
    local = tmp_path / "local" / "raw_pages" / "load_date=2026-01-01"
    assert store.pull_partition("raw_pages/load_date=2026-01-01", local)["skipped"] is False
    assert store.pull_partition("raw_pages/load_date=2026-01-01", local)["skipped"] is True
    (local / "part-0.parquet").unlink()
    assert store.pull_partition("raw_pages/load_date=2026-01-01", local)["skipped"] is False
    assert (local / "part-0.parquet").read_bytes() == b"landed"


def test_the_extractions_landing_marker_travels_with_its_partition(tmp_path) -> None:
    """Which landing a date was extracted from (a hidden file a quiet night's catch-up
    reads) survives a push and a pull; other hidden files (a writer's temporaries) stay."""
    from kznews.schema import LANDING_MARKER

    store = ObjectStore((tmp_path / "bucket").as_uri())
    part = tmp_path / "pages" / "load_date=2026-01-01"
    part.mkdir(parents=True)
    (part / "part-00000.parquet").write_bytes(b"pages")
    (part / LANDING_MARKER).write_text("token-1")
    (part / ".part-00001.parquet.tmp").write_bytes(b"half written")
    store.push_partition(part, "extracted/pages/load_date=2026-01-01")
    local = tmp_path / "local" / "extracted" / "pages" / "load_date=2026-01-01"
    store.pull_partition("extracted/pages/load_date=2026-01-01", local)
    assert (local / LANDING_MARKER).read_text() == "token-1"
    assert not (local / ".part-00001.parquet.tmp").exists()


@pytest.mark.parametrize("rel", ["../escape", "/abs/path", "a/../../b", "x/\x00y", ""])
def test_partition_paths_cannot_escape_the_store(tmp_path, rel):
    store = ObjectStore((tmp_path / "bucket").as_uri())
    with pytest.raises(ValueError, match="unsafe"):
        store.push_partition(tmp_path, rel)


def test_a_reused_landing_reaches_the_store_it_missed(tmp_path) -> None:
    """A land task retried after its upload failed reuses the local partition: the store
    must get it then (the other machines' extraction pulls it from there)."""
    from kznews.acquire.warc import read_warc
    from kznews.land import land_records
    from kznews.pipeline import share_landing
    from tests.conftest import SAMPLE

    bucket = tmp_path / "bucket"
    bucket.mkdir()
    settings = load_settings(data_dir=tmp_path / "data", remote_url=bucket.as_uri())
    day = date(2026, 11, 25)
    land_records(list(read_warc(SAMPLE / "site.warc.gz"))[:20], settings.raw_dir, day)
    store = ObjectStore(bucket.as_uri())
    assert not store.has_partition("raw_pages/load_date=2026-11-25")
    assert share_landing(day, settings) is not None
    assert store.has_partition("raw_pages/load_date=2026-11-25")
    assert share_landing(day, settings) is None  # already there: nothing pushed again
    assert share_landing(day, load_settings(data_dir=tmp_path / "data")) is None  # no store


def test_a_reused_landing_is_finished_before_it_is_shared(tmp_path) -> None:
    """A crawl task killed between its landing's two renames, then retried: the retry reuses
    the landing, finishes its quarantine first and pushes the finished partition."""
    from kznews.acquire.warc import read_warc
    from kznews.land import QUARANTINE_NAME, land_records, load_token, partition_dir
    from kznews.pipeline import reuse_landing_stage
    from tests.conftest import SAMPLE

    bucket = tmp_path / "bucket"
    bucket.mkdir()
    settings = load_settings(data_dir=tmp_path / "data", remote_url=bucket.as_uri())
    day = date(2026, 11, 25)
    records = list(read_warc(SAMPLE / "site.warc.gz"))[:20]
    land_records(records + records[:2], settings.raw_dir, day)
    part = partition_dir(settings.raw_dir, day)
    token = load_token(part / "part-0.parquet")
    (part / QUARANTINE_NAME).rename(part / f".{QUARANTINE_NAME}.{token}.tmp")
    result = reuse_landing_stage(day, settings)
    assert (result["rows"], result["reused"]) == (20, True)
    assert result["recovered"][0].startswith("finished the quarantine")
    assert result["remote"]["files"] == 2  # the data and its quarantine
    pulled = tmp_path / "other" / "load_date=2026-11-25"
    ObjectStore(bucket.as_uri()).pull_partition("raw_pages/load_date=2026-11-25", pulled)
    assert pq.read_table(pulled / QUARANTINE_NAME).num_rows == 2
    again = reuse_landing_stage(day, settings)
    assert "recovered" not in again and "remote" not in again


def test_a_reused_landing_newer_than_the_stores_is_pushed_and_a_stale_one_is_not(
    tmp_path, caplog
) -> None:
    """Worker B merged a crawl into the store's version of the date and was killed before
    its upload (here: between its landing's renames): its retry reuses the landing, which
    is a later version of the store's, so it is pushed. Worker C holds a copy of a version
    the store has moved on from: reusing it pushes nothing over the store's."""
    import shutil

    from kznews.acquire.warc import read_warc
    from kznews.land import QUARANTINE_NAME, land_records, load_token, partition_dir
    from kznews.pipeline import reuse_landing_stage
    from tests.conftest import SAMPLE

    bucket = tmp_path / "bucket"
    bucket.mkdir()
    store = ObjectStore(bucket.as_uri())
    rel = "raw_pages/load_date=2026-11-25"
    day = date(2026, 11, 25)
    records = list(read_warc(SAMPLE / "site.warc.gz"))[:20]
    b = load_settings(data_dir=tmp_path / "b", remote_url=bucket.as_uri())
    part = partition_dir(b.raw_dir, day)
    land_records(records[:10], b.raw_dir, day)
    assert store.compare(part, rel) == "absent"
    store.push_partition(part, rel, record_locally=True)  # as land_stage does
    assert store.compare(part, rel) == "same"
    c_part = tmp_path / "c" / "data" / "raw_pages" / "load_date=2026-11-25"
    shutil.copytree(part, c_part)  # C synced with this version
    land_records(records[10:] + records[10:12], b.raw_dir, day, keep_existing=True)
    token = load_token(part / "part-0.parquet")  # killed between the renames: see test_land
    (part / QUARANTINE_NAME).rename(part / f".{QUARANTINE_NAME}.{token}.tmp")
    result = reuse_landing_stage(day, b)
    assert result["recovered"] and result["remote"]["files"] == 2
    assert store.compare(part, rel) == "same"
    pulled = tmp_path / "other" / "load_date=2026-11-25"
    store.pull_partition(rel, pulled)
    assert pq.read_metadata(pulled / "part-0.parquet").num_rows == 20
    assert pq.read_table(pulled / QUARANTINE_NAME).num_rows == 2

    c = load_settings(data_dir=tmp_path / "c" / "data", remote_url=bucket.as_uri())
    assert store.compare(c_part, rel) == "other"
    with caplog.at_level("WARNING", logger="kznews.pipeline"):
        stale = reuse_landing_stage(day, c)
    assert "remote" not in stale and stale["rows"] == 10
    assert "holds another version" in caplog.text
    assert store.compare(part, rel) == "same"  # the store still has B's version


def test_a_copy_pushed_before_manifests_were_recorded_is_the_same(tmp_path, caplog) -> None:
    """Landings pushed by an earlier version have no local manifest: a copy whose files are
    the bucket's is still "same" (no warning, no push, no download for a crawl's merge)."""
    from kznews.acquire.warc import read_warc
    from kznews.land import land_records, partition_dir
    from kznews.pipeline import share_landing
    from tests.conftest import SAMPLE

    bucket = tmp_path / "bucket"
    bucket.mkdir()
    store = ObjectStore(bucket.as_uri())
    settings = load_settings(data_dir=tmp_path / "data", remote_url=bucket.as_uri())
    day, rel = date(2026, 11, 25), "raw_pages/load_date=2026-11-25"
    land_records(list(read_warc(SAMPLE / "site.warc.gz"))[:5], settings.raw_dir, day)
    part = partition_dir(settings.raw_dir, day)
    store.push_partition(part, rel)  # as before: nothing recorded locally
    assert store.compare(part, rel) == "same"
    with caplog.at_level("WARNING", logger="kznews.pipeline"):
        assert share_landing(day, settings) is None
    assert "another version" not in caplog.text
    land_records(list(read_warc(SAMPLE / "site.warc.gz"))[5:8], settings.raw_dir, day)
    assert store.compare(part, rel) == "other"  # changed, and never synced: cannot order
    assert store.compare(tmp_path / "elsewhere" / "load_date=2026-11-25", rel) == "other"
