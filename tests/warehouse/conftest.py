"""Session-wide built warehouses (see builds.py)."""

from __future__ import annotations

import pytest

from kznews.warehouse.runner import DbtInvoker

from . import builds


@pytest.fixture(scope="session")
def fixture_wh(tmp_path_factory: pytest.TempPathFactory, forked_dbt: DbtInvoker) -> builds.Built:
    return builds.fixture_warehouse(tmp_path_factory, forked_dbt)


@pytest.fixture(scope="session")
def sample_wh(tmp_path_factory: pytest.TempPathFactory, forked_dbt: DbtInvoker) -> builds.Built:
    return builds.sample_warehouse(tmp_path_factory, forked_dbt)
