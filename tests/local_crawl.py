"""Crawler settings for tests against a server on 127.0.0.1 (shared by the crawl tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kznews.config import Settings


def local_crawl_settings(home: Path, host_overrides: tuple[str, ...], **changes: Any) -> Settings:
    """Settings whose crawler sends the site's hosts to a local test server: loopback
    allowed, no politeness delay, quick bounded retries. ``changes`` override any field.
    The 5 s read timeout is generous: on a loaded machine a slow answer must not read as a
    timeout (a timeout test sets its own)."""
    fields: dict[str, Any] = {
        "home": home,
        "per_host_delay_s": 0.0,
        "per_host_concurrency": 4,
        "retry_base_delay_s": 0.01,
        "max_retries": 3,
        "retry_budget_s": 10.0,
        "request_timeout_s": 5.0,
        "allowed_private_networks": ("127.0.0.1/32",),
        "host_overrides": host_overrides,
    }
    fields.update(changes)
    return Settings(**fields)
