"""Fixtures for the quality gate tests: a clean load in a temporary project folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from kznews.config import Settings

from . import builders


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path)


@pytest.fixture
def clean(settings: Settings) -> dict[str, list[dict]]:
    return builders.write_clean_load(settings)
