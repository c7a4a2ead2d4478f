"""Shared by the benchmark scripts: replace one "## Section" of docs/benchmarks.md.

Each script owns its sections and rewrites only them, so benchmarks can be re-run one at a
time without touching the others' figures.
"""

from __future__ import annotations

import re
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_section(section: str, text: str, path: Path = BENCHMARKS) -> Path:
    """Replace the body of ``section`` (a ``## ...`` heading) with ``text``, or append it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    block = f"{section}\n\n{text.strip()}\n\n"
    if pattern.search(doc):
        doc = pattern.sub(lambda _m: block, doc)
    else:
        doc = doc.rstrip() + "\n\n" + block
    path.write_text(doc, encoding="utf-8")
    return path
