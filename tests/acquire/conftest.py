"""A local synthetic site on 127.0.0.1 and crawler settings that may reach it (and nothing else)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kznews.config import Settings
from kznews.sitegen import Site
from kznews.sitegen.server import SiteServer, serve_site
from tests.local_crawl import local_crawl_settings


@pytest.fixture
def site() -> Site:
    return Site(seed=7, pages=60)


@pytest.fixture
def server(site: Site) -> Iterator[SiteServer]:
    with serve_site(site) as srv:
        yield srv


@pytest.fixture
def settings(tmp_path: Path, server: SiteServer) -> Settings:
    return local_crawl_settings(tmp_path, server.overrides())
