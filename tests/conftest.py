"""Shared fixtures: paths to files bundled in the repository (no network, nothing outside)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SITE = FIXTURES / "site"
SAMPLE = ROOT / "sample"
SEED_URL = "http://www.old.exclusive.kz/expertiza/smart/13178/"


@pytest.fixture(scope="session")
def gold() -> dict:
    return json.loads((SITE / "page_13178.gold.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def seed_html() -> bytes:
    return (SITE / "page_13178.html").read_bytes()


@pytest.fixture(scope="session")
def seed_html_cp1251() -> bytes:
    return (SITE / "page_13178.cp1251.html").read_bytes()
