"""The mart tests an incremental dbt build leaves to the quality gate (tag ``gx_gate``) are
exactly the gate's own mart checks, so skipping them nightly never skips a check."""

from __future__ import annotations

import yaml

from kznews.config import Settings
from kznews.quality import specs
from kznews.warehouse.runner import GATE_TWIN_TAG


def _name_and_config(test: str | dict) -> tuple[str, dict]:
    if isinstance(test, str):
        return test, {}
    (name, body), = test.items()
    return name, body or {}


def _tagged_tests() -> set[tuple]:
    """(kind, model, column or columns, parent model, parent column) of every tagged test."""
    doc = yaml.safe_load(
        (Settings().dbt_dir / "models" / "marts" / "_marts__models.yml").read_text("utf-8")
    )
    found = set()
    for model in doc["models"]:
        tests = [(None, t) for t in model.get("data_tests", [])]
        tests += [(c["name"], t) for c in model.get("columns", []) for t in c.get("data_tests", [])]
        for column, test in tests:
            name, body = _name_and_config(test)
            if GATE_TWIN_TAG not in (body.get("config") or {}).get("tags", []):
                continue
            args = body.get("arguments") or {}
            if name == "relationships":
                parent = args["to"].removeprefix("ref('").removesuffix("')")
                found.add(("fk", model["name"], column, parent, args["field"]))
            elif name == "unique_combination_of_columns":
                found.add(("key", model["name"], tuple(args["combination_of_columns"])))
            else:
                found.add((name, model["name"], (column,)))
    return found


def _gate_checks() -> set[tuple]:
    out = set()
    for mart, keys in specs.MART_KEYS.items():
        for key in keys:
            if len(key) == 1:  # dbt: unique + not_null on the column
                out |= {("unique", mart, key), ("not_null", mart, key)}
            else:  # dbt: unique_combination_of_columns
                out.add(("key", mart, key))
    for child, ccol, parent, pcol, share in specs.MART_FOREIGN_KEYS:
        assert share == 1.0, "a partial foreign key is not what dbt's relationships checks"
        out.add(("fk", child, ccol, parent, pcol))
    return out


def test_tagged_dbt_tests_are_the_gates_mart_checks() -> None:
    tagged, gate = _tagged_tests(), _gate_checks()
    assert tagged == gate, {"tagged, not in the gate": tagged - gate,
                            "in the gate, not tagged": gate - tagged}
