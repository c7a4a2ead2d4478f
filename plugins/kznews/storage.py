"""Object storage for the landing and extracted Parquet (S3 and friends, through fsspec).

With ``KZNEWS_REMOTE_URL`` set (e.g. ``s3://kznews-lake/prod``; credentials and endpoint the
usual way, or ``KZNEWS_REMOTE_OPTIONS`` as JSON for fsspec), every stage still works on its
local data folder, which becomes a cache, and exchanges partitions through the bucket:

* the landing pushes ``raw_pages/load_date=D/`` when it is complete;
* extraction pulls that partition when it is not on its machine (another worker landed it),
  and pushes each ``<table>/load_date=D/`` it wrote;
* the build pulls the extracted partitions its machine lacks before dbt reads them.

So the tasks of one run may execute on different Celery workers, and a new worker starts from
the bucket. A partition is published by uploading its files under their final keys (a PUT is
atomic per object), then a ``_MANIFEST.json`` listing them with their SHA-256, written last;
files of an earlier push that the new manifest does not list are then deleted. A puller takes
exactly the files a manifest lists, so it never mixes two pushes, and skips partitions whose
manifest matches its local copy. What object stores do not give is a rename: a reader that
lists the prefix *while* a push replaces a partition can see old and new files side by side;
readers that go through the manifest (this module) cannot. See docs/scale-out.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kznews.fsutil import is_file_of_size, write_text_atomic
from kznews.schema import LANDING_MARKER

MANIFEST = "_MANIFEST.json"
STAGING = ".kznews-staging"  # beside the table folders, on the same file system


class ChecksumMismatch(OSError):
    """A downloaded file is not the one the manifest names (a concurrent push)."""


def _partition_files(local_dir: Path) -> list[Path]:
    """The files a push uploads: the folder's own, not hidden ones (but the extraction's
    landing marker, which says what a partition was extracted from), not the manifest."""
    return sorted(p for p in Path(local_dir).iterdir()
                  if p.is_file() and p.name != MANIFEST
                  and (not p.name.startswith(".") or p.name == LANDING_MARKER))


def _listing(files: list[Path]) -> dict[str, dict[str, Any]]:
    return {p.name: {"sha256": _sha256(p), "size": p.stat().st_size} for p in files}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _safe_rel(rel: str) -> str:
    """A relative key below the store root: no absolute paths, no '..', no empty parts."""
    text = rel.replace("\\", "/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if text.startswith("/") or not parts or any(p == ".." or "\x00" in p for p in parts):
        raise ValueError(f"unsafe partition path: {rel!r}")
    return "/".join(parts)


@dataclass
class ObjectStore:
    """A prefix in an fsspec filesystem that partitions are pushed to and pulled from."""

    url: str
    options: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        from fsspec.core import url_to_fs

        self.fs, root = url_to_fs(self.url, **(self.options or {}))
        self.root = root.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Any) -> ObjectStore | None:
        url = getattr(settings, "remote_url", "") or ""
        if not url:
            return None
        raw = getattr(settings, "remote_options", "") or ""
        return cls(url, json.loads(raw) if raw else None)

    def _key(self, rel: str) -> str:
        return f"{self.root}/{_safe_rel(rel)}"

    # --- push ------------------------------------------------------------------------------
    def push_partition(
        self, local_dir: Path, rel: str, record_locally: bool = False
    ) -> dict[str, Any]:
        """Upload the Parquet files of ``local_dir`` as partition ``rel``; manifest last.
        ``record_locally``: also write the manifest into ``local_dir``, as a pull does, so
        the folder says which version of the bucket's it last matched
        (:meth:`compare`)."""
        local_dir = Path(local_dir)
        files = _partition_files(local_dir)
        prefix = self._key(rel)
        old = self._read_manifest(rel)
        listing = _listing(files)
        self.fs.makedirs(prefix, exist_ok=True)  # a no-op on object stores
        for p in files:
            self.fs.put_file(str(p), f"{prefix}/{p.name}")
        manifest = {"push_id": uuid.uuid4().hex, "files": listing}
        with self.fs.open(f"{prefix}/{MANIFEST}", "w") as fh:
            fh.write(json.dumps(manifest, sort_keys=True))
        if record_locally:
            write_text_atomic(local_dir / MANIFEST, json.dumps(manifest, sort_keys=True))
        stale = set((old or {}).get("files", {})) - set(listing)
        for name in sorted(stale):
            self.fs.rm_file(f"{prefix}/{name}")
        return {"partition": rel, "files": len(listing),
                "bytes": sum(v["size"] for v in listing.values()), "removed": len(stale)}

    # --- pull ------------------------------------------------------------------------------
    def _read_manifest(self, rel: str) -> dict[str, Any] | None:
        key = f"{self._key(rel)}/{MANIFEST}"
        if not self.fs.exists(key):
            return None
        with self.fs.open(key, "r") as fh:
            return json.loads(fh.read())

    def manifest(self, rel: str) -> dict[str, Any] | None:
        """The manifest of the pushed partition ``rel`` (``files``: name -> sha256, size);
        None when it was never pushed."""
        return self._read_manifest(rel)

    def has_partition(self, rel: str) -> bool:
        return self._read_manifest(rel) is not None

    def compare(self, local_dir: Path, rel: str) -> str:
        """How ``local_dir`` stands to the bucket's partition ``rel``:

        * ``"absent"``: the bucket has no such partition;
        * ``"same"``: the folder holds exactly the files of the bucket's current version;
        * ``"newer"``: it last matched the bucket's current version (its manifest, written by
          the pull or push that synced it, is the bucket's) and changed since (a load here
          whose upload never happened);
        * ``"other"``: its files differ, and it last matched an older version (the bucket
          moved on) or was never synced (landed before pushes recorded the manifest): the
          two cannot be ordered.
        """
        local_dir = Path(local_dir)
        remote = self._read_manifest(rel)
        if remote is None:
            return "absent"
        files = _partition_files(local_dir) if local_dir.is_dir() else []
        remote_files = remote.get("files", {})
        sizes = {p.name: p.stat().st_size for p in files}
        # hash only what could be equal
        if sizes == {name: meta.get("size") for name, meta in remote_files.items()} and (
            _listing(files) == remote_files
        ):
            return "same"
        try:
            local = json.loads((local_dir / MANIFEST).read_text())
        except (OSError, ValueError):
            return "other"
        return "newer" if local == remote else "other"

    def pull_partition(self, rel: str, local_dir: Path) -> dict[str, Any]:
        """Make ``local_dir`` hold exactly the files of the pushed partition ``rel``.

        Files are downloaded beside the target and swapped in with one rename, so a local
        reader sees the old or the new partition. Skipped when the local manifest matches.
        """
        for attempt in range(3):
            try:
                return self._pull_once(rel, Path(local_dir))
            except ChecksumMismatch:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _pull_once(self, rel: str, local_dir: Path) -> dict[str, Any]:
        manifest = self._read_manifest(rel)
        if manifest is None:
            raise FileNotFoundError(f"no pushed partition {rel} under {self.url}")
        local_manifest = local_dir / MANIFEST
        if (local_manifest.exists() and json.loads(local_manifest.read_text()) == manifest
                and all(is_file_of_size(local_dir / Path(_safe_rel(name)).name, meta["size"])
                        for name, meta in manifest["files"].items())):
            return {"partition": rel, "files": 0, "skipped": True}
        # Staged outside the table folder: readers glob <table>/*/*.parquet and DuckDB's glob
        # matches hidden names, so a pull killed midway must leave nothing beside partitions.
        staging = local_dir.parent.parent / STAGING
        tmp = staging / f"{local_dir.name}.{uuid.uuid4().hex}.pull"
        tmp.mkdir(parents=True)
        try:
            for name, meta in manifest["files"].items():
                target = tmp / Path(_safe_rel(name)).name
                self.fs.get_file(f"{self._key(rel)}/{name}", str(target))
                if _sha256(target) != meta["sha256"]:
                    # a push replaced the file after we read the manifest: start again
                    raise ChecksumMismatch(f"{rel}/{name}: checksum mismatch after download")
            (tmp / MANIFEST).write_text(json.dumps(manifest, sort_keys=True))
            old = staging / f"{local_dir.name}.{uuid.uuid4().hex}.old"
            local_dir.parent.mkdir(parents=True, exist_ok=True)
            if local_dir.exists():
                os.replace(local_dir, old)
            os.replace(tmp, local_dir)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            with contextlib.suppress(OSError):
                staging.rmdir()  # only when empty: another pull may be using it
        return {"partition": rel, "files": len(manifest["files"]), "skipped": False}

    def remove_tree(self, rel: str) -> None:
        """Delete everything under ``rel`` (a finished run's scratch prefix); absent is fine."""
        key = self._key(rel)
        if self.fs.exists(key):
            self.fs.rm(key, recursive=True)

    def partitions(self, table_rel: str) -> list[str]:
        """Pushed partitions (``<table_rel>/load_date=...``) that have a manifest."""
        prefix = self._key(table_rel)
        if not self.fs.exists(prefix):
            return []
        out = []
        for entry in sorted(self.fs.ls(prefix, detail=False)):
            name = entry.rstrip("/").rsplit("/", 1)[-1]
            if name.startswith("load_date=") and self.fs.exists(f"{entry.rstrip('/')}/{MANIFEST}"):
                out.append(f"{table_rel}/{name}")
        return out

    def pull_table(self, table_rel: str, local_root: Path) -> dict[str, int]:
        """Pull every pushed partition of a table that the local cache lacks or has stale."""
        pulled = skipped = 0
        for rel in self.partitions(table_rel):
            out = self.pull_partition(rel, Path(local_root) / rel)
            skipped += out["skipped"]
            pulled += not out["skipped"]
        return {"pulled": pulled, "up_to_date": skipped}
