"""The crawler refuses names that *resolve* to private, loopback or link-local addresses.

tests/acquire/test_crawl.py covers other hosts, redirects to IP literals (10.x, 169.254.x)
and loopback unless allowed. Here allowed host names are answered by a fake resolver (the
real ``getaddrinfo`` path of the crawler is used, only DNS is replaced), as a DNS-rebinding or
split-horizon name would be: a redirect to them is refused before any connection is made.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from kznews.acquire.crawl import run_crawl
from kznews.config import Settings
from kznews.sitegen import Site
from kznews.sitegen.server import Fault, SiteServer, serve_site

FAKE_DNS = {
    "intranet.exclusive.kz": ["10.0.0.5"],
    "router.exclusive.kz": ["192.168.1.1"],
    "metadata.exclusive.kz": ["169.254.169.254"],
    "v6.exclusive.kz": ["fd00::1"],
    "mapped.exclusive.kz": ["::ffff:127.0.0.1"],
    "zero.exclusive.kz": ["0.0.0.0"],  # noqa: S104 - an address to refuse, not to bind
    "cgnat.exclusive.kz": ["100.64.0.1"],
    "mixed.exclusive.kz": ["93.184.216.34", "10.0.0.7"],  # one public, one private answer
}
LISTINGS = [
    "http://www.old.exclusive.kz/expertiza/smart/?PAGEN_1=1",
    "http://www.old.exclusive.kz/expertiza/finance/?PAGEN_1=1",
    "http://www.old.exclusive.kz/biznes/kompanii/?PAGEN_1=1",
    "http://www.old.exclusive.kz/interview/persona/?PAGEN_1=1",
    "http://www.old.exclusive.kz/analitika/ekonomika/?PAGEN_1=1",
    "http://www.old.exclusive.kz/obshchestvo/qogam/?PAGEN_1=1",
    "http://www.old.exclusive.kz/biznes/agro/?PAGEN_1=1",
    "https://exclusive.kz/category/novosti/",
]


@pytest.fixture
def server() -> Iterator[SiteServer]:
    with serve_site(Site(seed=7, pages=60)) as srv:
        yield srv


@pytest.fixture
def fake_dns(monkeypatch) -> list[str]:
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, str) and host in FAKE_DNS:
            asked.append(host)
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port or 80))
                for a in FAKE_DNS[host]
            ]  # fmt: skip
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def _settings(home: Path, server: SiteServer, *extra_hosts: str) -> Settings:
    """Fast crawler settings that may reach the test server (and no other private address)
    and the default hosts plus ``extra_hosts``."""
    return Settings(
        home=home,
        per_host_delay_s=0.0,
        retry_base_delay_s=0.01,
        max_retries=1,
        request_timeout_s=5.0,  # no test here waits for a timeout
        allowed_hosts=(*Settings().allowed_hosts, *extra_hosts),
        allowed_private_networks=("127.0.0.1/32",),  # the test server, and nothing else
        host_overrides=server.overrides(),
    )


def test_names_resolving_to_private_addresses_are_refused(
    tmp_path: Path, server: SiteServer, fake_dns: list[str]
) -> None:
    settings = _settings(tmp_path, server, *FAKE_DNS).replace(per_host_concurrency=4)
    for listing, host in zip(LISTINGS, FAKE_DNS, strict=True):
        server.inject(listing, Fault("redirect", location=f"http://{host}/latest/"))
    report = run_crawl(settings)
    reasons = {f["url"]: f["reason"] for f in report.failures}
    assert {reasons[u] for u in LISTINGS} == {"private_address"}
    assert set(fake_dns) == set(FAKE_DNS)  # each name was really resolved, then refused
    assert {r["host"] for r in server.requests} <= {
        "www.old.exclusive.kz",
        "old.exclusive.kz",
        "exclusive.kz",
    }


def test_a_name_rebound_to_loopback_after_its_check_is_not_reached(
    tmp_path: Path, server: SiteServer, monkeypatch
) -> None:
    """DNS rebinding: the name resolves to a public address when the crawler checks it and
    to loopback (the test server) on every later lookup. Connections go to the checked
    address only (PinnedBackend), so the server never sees a request for that name."""
    host = "rebind.exclusive.kz"
    answers: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(name, port, *args, **kwargs):
        if (name.decode() if isinstance(name, bytes) else name) != host:  # anyio asks in bytes
            return real(name, port, *args, **kwargs)
        answer = "93.184.216.34" if not answers else "127.0.0.1"  # public first, then not
        answers.append(answer)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port or 80))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    settings = _settings(tmp_path, server, host).replace(max_retries=0)
    server.inject(LISTINGS[0], Fault("redirect", location=f"http://{host}:{server.port}/x/"))
    report = run_crawl(settings)
    assert answers[:1] == ["93.184.216.34"]  # checked once, and found public
    assert host not in {r["host"] for r in server.requests}
    # its robots.txt could not be fetched either, so nothing of it is crawled (this run:
    # an unreachable robots.txt leaves the URL owed to the next)
    failure = next(f for f in report.failures if f["url"] == LISTINGS[0])
    assert failure["reason"] == "robots_unreachable"


def test_an_httpx_without_the_pool_to_pin_is_refused_loudly(monkeypatch) -> None:
    """The pinning replaces httpx's private connection pool. An httpx that keeps it
    elsewhere must stop the crawl, not quietly connect through its own DNS lookups."""
    import httpx

    from kznews.acquire import crawl

    class Moved(httpx.AsyncHTTPTransport):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._connection_pool = self.__dict__.pop("_pool")

    monkeypatch.setattr(crawl.httpx, "AsyncHTTPTransport", Moved)
    with pytest.raises(RuntimeError, match="DNS pinning"):
        crawl.pinned_transport({}, httpx.Limits())
