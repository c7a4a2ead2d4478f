"""A CI-sized sample of the fuzzer in scripts/fuzz_extract.py (the 100,000-input run is the
script): mutated and random pages through extract_page, zero crashes."""

from __future__ import annotations

import importlib.util

from tests.conftest import ROOT


def _fuzzer():
    path = ROOT / "scripts" / "fuzz_extract.py"
    spec = importlib.util.spec_from_file_location("fuzz_extract", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mutated_pages_never_crash():
    problems = _fuzzer().check_one((20261125, 1500))
    assert problems == []
