"""Benchmark scripts rewrite only their own section of docs/benchmarks.md."""

from __future__ import annotations

import importlib.util

from tests.conftest import ROOT


def _benchdoc():
    spec = importlib.util.spec_from_file_location("benchdoc", ROOT / "scripts" / "benchdoc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_section_replaced_in_place_and_others_kept(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## A\n\nold a\n\n## B\n\nkeep b $1 \\1\n", encoding="utf-8")
    write_section = _benchdoc().write_section
    write_section("## A", "new a with $2 and \\g<0>", doc)
    write_section("## C", "c", doc)
    text = doc.read_text(encoding="utf-8")
    assert text.index("## A") < text.index("## B") < text.index("## C")
    assert "new a with $2 and \\g<0>" in text and "old a" not in text
    assert "keep b $1 \\1" in text
