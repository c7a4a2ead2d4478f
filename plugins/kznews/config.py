"""All configuration in one place.

`Settings()` holds defaults that work from a clone of the repository. Environment variables
named ``KZNEWS_<FIELD>`` (upper case) override only the fields they set, e.g.
``KZNEWS_DATA_DIR=/srv/kznews/data``. Paths are resolved against ``KZNEWS_HOME``, which
defaults to the project root (the folder holding ``dbt_project/``) or the working directory.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path


def _project_root() -> Path:
    env = os.environ.get("KZNEWS_HOME")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "dbt_project" / "dbt_project.yml").exists():
            return parent
    return Path.cwd().resolve()


def _tuple(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


@dataclass(frozen=True)
class Settings:
    """Pipeline configuration. Paths may be relative; they resolve against ``home``."""

    home: Path = field(default_factory=_project_root)

    # --- storage -------------------------------------------------------------------------
    data_dir: Path = Path("data")
    warehouse_dir: Path = Path("warehouse")
    sample_source: Path = Path("sample")
    dbt_project_dir: Path = Path("dbt_project")
    # Name of the file BI tools open (inside warehouse_dir) and of dbt's private build file.
    published_name: str = "kznews.duckdb"
    build_name: str = "build/kznews_build.duckdb"

    # --- acquisition -----------------------------------------------------------------------
    user_agent: str = "kznews-bot/0.1 (+https://github.com/kznews/kznews; data pipeline)"
    start_urls: tuple[str, ...] = (
        "http://www.old.exclusive.kz/",
        "https://exclusive.kz/",
    )
    allowed_hosts: tuple[str, ...] = (
        "old.exclusive.kz",
        "www.old.exclusive.kz",
        "exclusive.kz",
        "www.exclusive.kz",
    )
    max_pages: int = 100_000
    # Seconds a crawl may spend fetching: past them it asks for nothing more and what it did
    # not reach stays pending for the next run (as with max_pages). Below the land task's
    # 8 h execution_timeout: at the 1 s per-host delay a first crawl of the whole archive
    # takes longer than one night, and a killed crawl would land nothing and save no state.
    crawl_time_budget_s: float = 6 * 3600.0
    # How deep a crawl walks each listing's pager once the listing is known: "new" stops at
    # the first page listing nothing unseen (nightly); "all" walks every page (a re-sweep).
    crawl_listing_depth: str = "new"
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    request_timeout_s: float = 20.0  # per connect / read / write
    # Whole response (headers and body): a server dripping bytes slower than this is cut off.
    request_deadline_s: float = 120.0
    per_host_delay_s: float = 1.0
    per_host_concurrency: int = 2
    max_retries: int = 4
    retry_budget_s: float = 120.0
    retry_base_delay_s: float = 1.0  # exponential backoff base (full jitter)
    # Private, loopback and link-local addresses are refused unless their network is listed
    # here (CIDR), e.g. "127.0.0.1/32" for the local test server.
    allowed_private_networks: tuple[str, ...] = ()
    # "host=http://127.0.0.1:8000": send requests for host there (Host header kept). Tests only.
    host_overrides: tuple[str, ...] = ()

    # --- extraction ------------------------------------------------------------------------
    extract_batch_rows: int = 2_000
    extract_workers: int = 0  # 0 = one per core
    # Shards of the Airflow DAG's mapped extraction (one task each, on any worker); read by
    # the plan task at run time. Default: this machine's cores.
    extract_shards: int = field(default_factory=lambda: os.cpu_count() or 1)
    max_page_bytes: int = 20 * 1024 * 1024  # larger bodies are quarantined, not parsed

    # --- warehouse build -------------------------------------------------------------------
    # "changed": dbt unit tests and `dbt docs generate` run only when the dbt project changed
    # since the last successful build (they do not depend on data); "always": every build.
    dbt_recheck: str = "changed"
    # dbt threads. 0 = by the kind of build: 1 for a full rebuild (a full refresh or the
    # first build of the file: a few large queries that DuckDB already spreads over every
    # core; two at once only add memory), 4 for a nightly incremental build (~24 small
    # nodes; more threads overlap dbt's own per-node Python work with DuckDB's queries).
    # Measured in docs/benchmarks.md.
    dbt_threads: int = 0
    # DuckDB's memory limit for the dbt build, the quality gate and the publish step (above
    # it DuckDB spills to disk): keeps the 100,000-page full run under 2 GB.
    duckdb_memory_limit: str = "1GB"
    # `python -m kznews run` on an incremental night: import dbt (and parse the project)
    # and Great Expectations in helper processes while the pages land and extract, and
    # validate the inputs while dbt builds (kznews.overlap). Full rebuilds run stage after
    # stage (unless the dbt project changes while a night runs). Linux and the duckdb
    # backend only.
    overlap_nightly: bool = True
    # `python -m kznews run` stops itself after this many seconds (0 = no limit; `--timeout`
    # overrides it), as Airflow's execution_timeout stops a task: the run unwinds as on
    # Ctrl-C (the dbt command and the helpers stopped, nothing half-published), exit 124.
    run_timeout_s: float = 0.0

    # --- published warehouse -------------------------------------------------------------
    # "duckdb": one DuckDB file (warehouse/kznews.duckdb) swapped in atomically each night.
    # "ducklake": a DuckLake (catalog in PostgreSQL, data as Parquet under ducklake_data_path)
    # that several writers and readers use at once; see docs/scale-out.md.
    warehouse_backend: str = "duckdb"
    # How the "duckdb" backend writes the new file: "incremental" copies the published file
    # and applies only the changed rows (falls back to "full" when it cannot, e.g. after a
    # schema change); "full" copies every mart into a fresh file. See kznews.publish.
    publish_mode: str = "incremental"
    # Immutable snapshots of the published file for readers over HTTP (bi-share): each
    # publish also links the new file as kznews-<UTC stamp>.duckdb (a hard link: no copy)
    # and names it in kznews.current; the newest this many are kept, 0 makes none.
    published_versions_kept: int = 2
    ducklake_catalog: str = "postgres:dbname=kznews_lake host=127.0.0.1 user=postgres"
    ducklake_data_path: Path = Path("warehouse/lake")

    # --- object storage (optional) ----------------------------------------------------------
    # e.g. s3://kznews-lake/prod: stages exchange landing and extracted partitions through it
    # (kznews.storage); remote_options is a JSON object of fsspec options (endpoint, region).
    remote_url: str = ""
    remote_options: str = ""

    # --- derived paths ---------------------------------------------------------------------
    def path(self, p: Path | str) -> Path:
        p = Path(p)
        return p if p.is_absolute() else (self.home / p)

    @property
    def raw_dir(self) -> Path:
        return self.path(self.data_dir) / "raw_pages"

    @property
    def extracted_dir(self) -> Path:
        return self.path(self.data_dir) / "extracted"

    @property
    def state_dir(self) -> Path:
        return self.path(self.data_dir) / "state"

    @property
    def quality_dir(self) -> Path:
        return self.path(self.data_dir) / "quality"

    @property
    def published_db(self) -> Path:
        return self.path(self.warehouse_dir) / self.published_name

    @property
    def build_db(self) -> Path:
        return self.path(self.warehouse_dir) / self.build_name

    @property
    def dbt_dir(self) -> Path:
        return self.path(self.dbt_project_dir)

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)


def _coerce(kind: object, raw: str) -> object:
    text = str(kind)
    if "tuple" in text:
        return _tuple(raw)
    if "Path" in text:
        return Path(raw)
    if text in ("bool", "<class 'bool'>"):
        value = raw.strip().lower()
        if value not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise ValueError(f"not a boolean (true/false): {raw!r}")
        return value in ("1", "true", "yes", "on")
    if text in ("int", "<class 'int'>"):
        return int(raw)
    if text in ("float", "<class 'float'>"):
        return float(raw)
    return raw


def load_settings(**overrides: object) -> Settings:
    """Defaults, then ``KZNEWS_*`` environment variables, then explicit keyword overrides."""
    values: dict[str, object] = {}
    for f in dataclasses.fields(Settings):
        raw = os.environ.get(f"KZNEWS_{f.name.upper()}")
        if raw is not None and f.name != "home":
            values[f.name] = _coerce(f.type, raw)
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "home" in values:
        values["home"] = Path(str(values["home"])).resolve()
    return Settings(**values)  # type: ignore[arg-type]


_MEMORY_LIMIT = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def memory_limit(settings: Settings) -> str:
    """``settings.duckdb_memory_limit`` checked to be a DuckDB size such as ``1GB`` or
    ``768MiB`` (it reaches DuckDB's configuration and dbt's profile)."""
    value = settings.duckdb_memory_limit.strip()
    if not _MEMORY_LIMIT.fullmatch(value):
        raise ValueError(
            f"duckdb_memory_limit must be a size such as 1GB or 768MiB, not {value!r}"
        )
    return value
