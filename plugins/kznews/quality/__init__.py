"""Great Expectations quality gate between the dbt build and publishing.

``run_gate(settings, load_date)`` validates the landing and extracted partitions of a load
date and the marts of the dbt build file; it raises :class:`QualityGateError` when a critical
expectation fails, so publishing never happens on bad data. ``validate_landing``,
``validate_extraction`` and ``validate_marts`` run one stage each (for separate Airflow tasks)
and ``raise_if_failed`` combines their results. ``accept_inputs`` records an operator's
acceptance of a load date whose input checks fail and cannot be fixed. Checks and
thresholds are in ``specs.py``.

Importing this package is cheap: Great Expectations, pandas and DuckDB load on first use.
"""

from kznews.quality.errors import QualityGateError
from kznews.quality.gate import (
    accept_inputs,
    raise_if_failed,
    run_gate,
    validate_extraction,
    validate_landing,
    validate_marts,
)

__all__ = [
    "QualityGateError",
    "accept_inputs",
    "raise_if_failed",
    "run_gate",
    "validate_extraction",
    "validate_landing",
    "validate_marts",
]
