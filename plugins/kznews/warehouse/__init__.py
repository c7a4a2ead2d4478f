"""The dbt warehouse: extracted Parquet -> DuckDB build file (``build``)."""

from kznews.warehouse.runner import (
    MARTS,
    MARTS_SCHEMA,
    WarehouseBuildError,
    build,
    mart_row_counts,
    run_build,
)

__all__ = [
    "MARTS",
    "MARTS_SCHEMA",
    "WarehouseBuildError",
    "build",
    "mart_row_counts",
    "run_build",
]
