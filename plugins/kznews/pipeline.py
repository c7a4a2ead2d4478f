"""The stages of the nightly job as plain functions: the CLI and the Airflow DAG call these.

Each stage takes a :class:`~kznews.config.Settings` and the load date it works on, reads what
the previous stage left on disk, and returns a small JSON-serialisable dict (paths and counts),
which is what Airflow passes between tasks. No stage keeps state in memory between calls.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

from kznews.config import Settings, load_settings


def land_stage(source: str | Path, load_date: date, settings: Settings | None = None) -> dict:
    """Acquire raw pages from ``source`` and land them as the ``load_date`` partition."""
    from kznews.acquire import open_source
    from kznews.land import land_records, partition_dir

    settings = settings or load_settings()
    result = land_records(open_source(source, settings), settings.raw_dir, load_date)
    summary = result.summary()
    store = _store(settings)
    if store is not None:
        summary["remote"] = store.push_partition(
            partition_dir(settings.raw_dir, load_date), f"raw_pages/{_partition(load_date)}"
        )
    return summary


def _store(settings: Settings):
    from kznews.storage import ObjectStore

    return ObjectStore.from_settings(settings)


def _partition(load_date: date) -> str:
    return f"load_date={load_date.isoformat()}"


def extract_stage(load_date: date, settings: Settings | None = None) -> dict:
    """Extract the landed pages of ``load_date`` into the extracted Parquet tables."""
    from kznews.extract.batch import extract_partition
    from kznews.land import PART_NAME, partition_dir
    from kznews.schema import EXTRACTED_TABLES

    settings = settings or load_settings()
    store = _store(settings)
    partition = _partition(load_date)
    raw_part = partition_dir(settings.raw_dir, load_date)
    if store is not None and not (raw_part / PART_NAME).exists():
        store.pull_partition(f"raw_pages/{partition}", raw_part)  # landed on another worker
    result = extract_partition(settings, load_date)
    if store is not None:
        result["remote"] = [
            store.push_partition(
                settings.extracted_dir / table / partition, f"extracted/{table}/{partition}"
            )
            for table in EXTRACTED_TABLES
        ]
    return result


def build_stage(
    settings: Settings | None = None, full_refresh: bool = False, load_date: date | None = None
) -> dict:
    """``dbt build`` into the private build file (never the published one)."""
    from kznews.schema import EXTRACTED_TABLES
    from kznews.warehouse import build

    settings = settings or load_settings()
    store = _store(settings)
    pulled = None
    if store is not None:  # dbt reads the local cache: bring it up to date with the bucket
        pulled = {
            table: store.pull_table(f"extracted/{table}", settings.path(settings.data_dir))
            for table in EXTRACTED_TABLES
        }
    result = build(settings, full_refresh=full_refresh, load_date=load_date)
    if pulled is not None:
        result["remote_pulled"] = pulled
    return result


def quality_stage(load_date: date, settings: Settings | None = None) -> dict:
    """Great Expectations gate. Raises :class:`kznews.quality.QualityGateError` on failure."""
    from kznews.quality import run_gate

    return run_gate(settings or load_settings(), load_date)


def publish_stage(settings: Settings | None = None) -> dict:
    """Publish the validated build file atomically as the BI-facing warehouse file."""
    from kznews.publish import publish

    return publish(settings or load_settings())


def run_pipeline(
    source: str | Path,
    load_date: date,
    settings: Settings | None = None,
    full_refresh: bool = False,
) -> dict[str, Any]:
    """Run every stage in order without Airflow; returns a summary with timings."""
    settings = settings or load_settings()
    summary: dict[str, Any] = {"load_date": load_date.isoformat(), "timings_s": {}}

    def timed(name: str, fn, *args, **kwargs):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        summary["timings_s"][name] = round(time.perf_counter() - t0, 3)
        summary[name] = out
        return out

    timed("land", land_stage, source, load_date, settings)
    timed("extract", extract_stage, load_date, settings)
    timed("build", build_stage, settings, full_refresh=full_refresh, load_date=load_date)
    timed("quality", quality_stage, load_date, settings)
    timed("publish", publish_stage, settings)
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """The short report the main job ends with: rows per mart, validation, published file."""
    lines = [f"kznews run for load date {summary.get('load_date')}"]
    land = summary.get("land") or {}
    extract = summary.get("extract") or {}
    lines.append(
        f"  landed pages: {land.get('rows', '?')}  "
        f"(duplicates quarantined: {land.get('duplicates_quarantined', 0)})"
    )
    counts = extract.get("rows", {})
    if counts:
        lines.append("  extracted rows: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    publish = summary.get("publish") or {}
    marts = publish.get("mart_rows") or (summary.get("build") or {}).get("mart_rows") or {}
    if marts:
        lines.append("  rows per mart:")
        for name, n in marts.items():
            lines.append(f"    {name:<24} {n}")
    quality = summary.get("quality") or {}
    if quality:
        lines.append(
            f"  validation: {'PASSED' if quality.get('success') else 'FAILED'}"
            f" ({quality.get('evaluated', '?')} expectations, "
            f"{quality.get('warnings', 0)} warnings)"
        )
        if quality.get("data_docs"):
            lines.append(f"  data docs: {quality['data_docs']}")
    if publish.get("path"):
        lines.append(f"  published warehouse: {publish['path']}")
    timings = summary.get("timings_s") or {}
    if timings:
        lines.append("  stage seconds: " + ", ".join(f"{k}={v}" for k, v in timings.items()))
    return "\n".join(lines)
