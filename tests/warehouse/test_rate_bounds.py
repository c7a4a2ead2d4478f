"""The plausible range of each exchange rate is written three times: the quality gate's
checks (``kznews.quality.specs.RATE_BOUNDS``), the dbt macro that leaves implausible rates
out of ``fct_exchange_rates`` (``macros/rates.sql``) and that mart's check constraint
(constraint expressions are not templated). They must say the same thing."""

from __future__ import annotations

import re
from pathlib import Path

from kznews.quality.specs import RATE_BOUNDS

DBT = Path(__file__).resolve().parents[2] / "dbt_project"
_WHEN = re.compile(r"when '([A-Z]{3})' then [^\n]*?between ([\d.]+) and ([\d.]+)")


def _bounds(text: str) -> dict[str, tuple[float, float]]:
    return {cur: (float(lo), float(hi)) for cur, lo, hi in _WHEN.findall(text)}


def test_macro_constraint_and_gate_share_the_rate_bounds() -> None:
    macro = _bounds((DBT / "macros" / "rates.sql").read_text(encoding="utf-8"))
    marts = (DBT / "models" / "marts" / "_marts__models.yml").read_text(encoding="utf-8")
    constraint = _bounds(marts)
    assert macro == RATE_BOUNDS
    assert constraint == RATE_BOUNDS


def test_the_pattern_reads_both_spellings() -> None:
    """The test above cannot pass on an empty parse: both forms of the line are read."""
    assert _bounds("when 'USD' then {{ rate }} between 100 and 1000") == {"USD": (100, 1000)}
    assert _bounds("when 'EUR' then rate between 1.5 and 20") == {"EUR": (1.5, 20)}
