"""The gate's exception, importable without Great Expectations."""

from __future__ import annotations

from typing import Any


class QualityGateError(RuntimeError):
    """A critical expectation failed; ``result`` is the gate's JSON-serialisable result dict.

    The message is the readable summary: each failed expectation, its observed value and a
    few offending rows.
    """

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result
        super().__init__(result.get("summary", "quality gate failed"))

    def __reduce__(self) -> tuple[Any, ...]:  # keeps the dict when pickled (Airflow, processes)
        return (type(self), (self.result,))
