"""A local synthetic site on 127.0.0.1 and crawler settings that may reach it (and nothing else)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kznews.config import Settings
from kznews.sitegen import Site
from kznews.sitegen.server import SiteServer, serve_site


@pytest.fixture
def site() -> Site:
    return Site(seed=7, pages=60)


@pytest.fixture
def server(site: Site) -> Iterator[SiteServer]:
    with serve_site(site) as srv:
        yield srv


@pytest.fixture
def settings(tmp_path: Path, server: SiteServer) -> Settings:
    return Settings(
        home=tmp_path,
        per_host_delay_s=0.0,
        per_host_concurrency=4,
        retry_base_delay_s=0.01,
        max_retries=3,
        retry_budget_s=10.0,
        # generous: on a loaded machine a slow answer must not read as a timeout (the
        # timeout test sets its own)
        request_timeout_s=5.0,
        allowed_private_networks=("127.0.0.1/32",),
        host_overrides=server.overrides(),
    )
