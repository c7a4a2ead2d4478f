"""File paths derived from URLs, page content or bucket listings cannot leave the data folder.

Where outside text could become part of a path:

* landing / extraction: page URLs (from a sidecar, a canonical link or a WARC) are data only;
  partition folders are named from the load *date* (a ``date`` object), files from constants;
* the crawler: WARC and report names are a timestamp and a random id, never a URL;
* object storage (``kznews.storage``): partition names from a bucket listing and file names
  from a pushed ``_MANIFEST.json`` go through ``_safe_rel`` and are reduced to a basename.

The tests feed ``../``, absolute paths, NUL bytes and very long names to each.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import date
from pathlib import Path

import pytest

from kznews.acquire import open_source
from kznews.config import load_settings
from kznews.extract.batch import extract_partition
from kznews.land import land_records
from kznews.storage import ObjectStore, _safe_rel

HOSTILE_URLS = [
    "http://www.old.exclusive.kz/../../../../etc/passwd",
    "http://www.old.exclusive.kz/%2e%2e/%2e%2e/etc/passwd",
    "/etc/passwd",
    "file:///etc/passwd",
    "../../outside.html",
    "http://exclusive.kz/a\x00b/c/",
    "http://exclusive.kz/" + "x" * 5000 + "/",
    "C:\\Windows\\system32\\x",
]


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def test_landing_and_extraction_write_only_date_and_table_paths(tmp_path: Path) -> None:
    pages = tmp_path / "in"
    pages.mkdir()
    body = b"<html><head><title>t</title></head><body><h1>x</h1></body></html>"
    for i, url in enumerate(HOSTILE_URLS):
        (pages / f"p{i}.html").write_bytes(body)
        (pages / f"p{i}.html.json").write_text(json.dumps({"url": url}))
    (pages / "canon.html").write_bytes(
        b'<html><head><link rel="canonical" href="../../../../tmp/evil"></head></html>'
    )
    home = tmp_path / "home"
    settings = load_settings(data_dir=home / "data", warehouse_dir=home / "wh")
    before = {q for q in _tree(tmp_path) if not q.startswith("home")}
    land_records(open_source(pages, settings), settings.raw_dir, date(2026, 11, 25))
    extract_partition(settings, date(2026, 11, 25), workers=1)
    # nothing written beside the data folder
    assert {q for q in _tree(tmp_path) if not q.startswith("home")} == before
    for rel in _tree(home / "data"):
        parts = rel.split("/")
        assert parts[0] in ("raw_pages", "extracted"), rel
        assert all(p == "load_date=2026-11-25" for p in parts if p.startswith("load_date")), rel
        assert ".." not in parts and "\x00" not in rel and len(rel) < 200, rel


@pytest.mark.parametrize(
    "rel",
    ["../x", "a/../../x", "/etc/passwd", "a/\x00/b", "", ".", "a\\..\\..\\x", "//server/share"],
)
def test_safe_rel_refuses_escapes(rel: str) -> None:
    with pytest.raises(ValueError):
        _safe_rel(rel)


def test_safe_rel_keeps_plain_keys() -> None:
    key = "extracted/pages/load_date=2026-11-25"
    assert _safe_rel(key) == key
    assert _safe_rel("./a//b/") == "a/b"


def test_pull_with_a_hostile_manifest_writes_only_inside_the_partition(tmp_path: Path) -> None:
    bucket = tmp_path / "bucket"
    store = ObjectStore(bucket.as_uri())
    local = tmp_path / "cache" / "extracted" / "pages" / "load_date=2026-11-25"
    src = tmp_path / "src"
    src.mkdir()
    (src / "part-0.parquet").write_bytes(b"PAR1")
    store.push_partition(src, "extracted/pages/load_date=2026-11-25")
    prefix = bucket / "extracted/pages/load_date=2026-11-25"
    # An attacker who can write to the bucket names files outside the partition.
    names = ["../../../../escaped.parquet", "/tmp/abs.parquet", "sub/../../x.parquet"]
    files = {}
    for name in names:
        blob = prefix / Path(name).name
        blob.write_bytes(b"PAR1")
        files[name] = {"sha256": hashlib.sha256(b"PAR1").hexdigest(), "size": 4}
    (prefix / "_MANIFEST.json").write_text(json.dumps({"push_id": "x", "files": files}))
    before = {q for q in _tree(tmp_path) if not q.startswith("cache")}
    with contextlib.suppress(ValueError, OSError):  # refusing is fine; writing outside is not
        store.pull_partition("extracted/pages/load_date=2026-11-25", local)
    assert {q for q in _tree(tmp_path) if not q.startswith("cache")} == before
    assert not Path("/tmp/abs.parquet").exists()
    for q in (tmp_path / "cache").rglob("*"):
        assert q == local or local in q.parents or q in local.parents, q


@pytest.mark.parametrize("rel", ["extracted/../../../etc", "/abs", "a\x00b"])
def test_store_keys_refuse_escapes(tmp_path: Path, rel: str) -> None:
    store = ObjectStore((tmp_path / "bucket").as_uri())
    with pytest.raises(ValueError):
        store.pull_partition(rel, tmp_path / "local")
    with pytest.raises(ValueError):
        store.push_partition(tmp_path, rel)


def test_crawler_output_names_never_come_from_urls(tmp_path: Path) -> None:
    from kznews.acquire.crawl import Crawler

    settings = load_settings(home=tmp_path, data_dir=tmp_path / "data")
    crawler = Crawler(settings, start_urls=("http://exclusive.kz/../../../../etc/passwd",))
    assert crawler.warc_path.parent == settings.path(settings.data_dir) / "warc"
    assert crawler.warc_path.name.startswith("crawl-") and ".." not in crawler.warc_path.name
