"""A polite, bounded, incremental crawler for exclusive.kz (old and current site).

- Start URLs from ``Settings.start_urls``; follows only discovery links (pagers, listing items,
  rubric and category links: :mod:`kznews.acquire.discover`), only to ``allowed_hosts``.
- robots.txt per host (and its Crawl-delay); a per-host delay and concurrency cap; a clear
  User-Agent. Retries with exponential backoff and jitter on timeouts, transport errors, 5xx
  and 429 (honouring Retry-After), bounded in count and in total time per URL. A 429, or
  a 503 with Retry-After, pauses every request to that host for the time it asks; a host
  asking for longer than the retry budget gets no more requests this run (its URLs stay
  pending for the next).
- Redirects are followed by hand, each hop checked again (allowlist, robots, address): hosts
  resolving to private, loopback or link-local addresses are refused unless their network is
  in ``allowed_private_networks``. Connections go only to the addresses that check saw
  (:class:`PinnedBackend`): a name that resolves to a public address when checked and to a
  private one when connecting (DNS rebinding) reaches nothing private. Body size, redirect
  count and pages per run are capped.
- Hostile responses stay bounded: the body cap applies to the *decoded* bytes (gzip/deflate
  are decoded here, step by step with an output limit, so a compression bomb stops at the
  cap instead of being inflated in memory); other content codings are refused; a response
  must arrive whole within ``request_deadline_s`` (a slow drip that keeps every read under
  ``request_timeout_s`` still ends there).
- Incremental: listing heads (start URLs, rubric and category menus) are always re-fetched,
  and each pager is walked only until a page lists nothing unseen (``crawl_listing_depth``
  "new"; "all" walks every page: :func:`kznews.acquire.policy.follow_pager`), so a night
  costs what is new, not the size of the archive. A page's place in its pager is its final
  URL (after redirects). A fetch that fails in a way that may pass (5xx, 429, timeout,
  transport error), or a page left for ``max_pages``, stays *pending* in the state: the next
  run fetches it first, and a pending listing page counts as unseen there (its pager link is
  followed), so the new articles it listed are not lost when the page before it shows
  nothing new the next night. Known articles are asked for with
  ``If-None-Match`` / ``If-Modified-Since``; a 200 whose content hash equals the stored one
  is not emitted again. What is emitted is written to a WARC file, which is the run's output
  and can be replayed offline with ``open_source(<warc>)``.

Fetching never parses beyond link discovery.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpcore
import httpx

from kznews.acquire import policy
from kznews.acquire.base import CRAWL_SOURCE_PREFIX, RawRecord
from kznews.acquire.discover import discover
from kznews.acquire.state import CrawlState, StateLock
from kznews.acquire.warc import WarcSink, read_warc
from kznews.config import Settings

log = logging.getLogger(__name__)
_DROP_HEADERS = {"content-encoding", "transfer-encoding", "content-length", "connection"}
_REDIRECTS = (301, 302, 303, 307, 308)
_ROBOTS_REDIRECTS = 5
#: Content codings the crawler asks for and decodes itself (with a bounded output).
_ACCEPT_ENCODING = "gzip, deflate"
_MAX_CODINGS = 2


class _BodyTooLarge(Exception):
    pass


class _BoundedDecoder:
    """Decode a ``Content-Encoding`` chain incrementally, never producing more than ``cap``
    bytes at any stage. zlib is asked for at most ``cap - produced + 1`` bytes per call (the
    rest of the input waits in ``unconsumed_tail``), so a gzip bomb costs ``cap`` bytes of
    memory, not its inflated size."""

    def __init__(self, content_encoding: str, cap: int) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        bad = [c for c in codings if c not in ("gzip", "x-gzip", "deflate")]
        if bad or len(codings) > _MAX_CODINGS:
            raise _Failure(f"unsupported_content_encoding: {content_encoding[:60]}")
        self.cap = cap
        # Decoded in reverse order of application (RFC 9110 8.4).
        self._stages = [_ZStage(c) for c in reversed(codings)]
        self.total = 0

    def feed(self, data: bytes) -> bytes:
        for stage in self._stages:
            data = stage.feed(data, self.cap)
        return self._count(data)

    def flush(self) -> bytes:
        data = b""
        for stage in self._stages:
            data = stage.feed(data, self.cap) + stage.flush(self.cap)
        return self._count(data)

    def _count(self, data: bytes) -> bytes:
        self.total += len(data)
        if self.total > self.cap:
            raise _BodyTooLarge
        return data


class _ZStage:
    def __init__(self, coding: str) -> None:
        self.coding = coding
        self.produced = 0
        self._first = True
        # gzip: gzip header expected (wbits 16+); deflate: zlib-wrapped, raw as a fallback.
        self._d = zlib.decompressobj(31 if coding != "deflate" else 15)

    def feed(self, data: bytes, cap: int) -> bytes:
        if not data:
            return b""
        try:
            if self._first and self.coding == "deflate":
                self._first = False
                try:
                    return self._inflate(data, cap)
                except zlib.error:
                    self._d = zlib.decompressobj(-15)  # raw deflate, as some servers send
                    self.produced = 0
            return self._inflate(data, cap)
        except zlib.error as exc:
            raise _Failure(f"bad_content_encoding: {self.coding}") from exc

    def _inflate(self, data: bytes, cap: int) -> bytes:
        out: list[bytes] = []
        while data:
            chunk = self._d.decompress(data, cap - self.produced + 1)
            self.produced += len(chunk)
            if self.produced > cap:
                raise _BodyTooLarge
            out.append(chunk)
            data = self._d.unconsumed_tail
            if self._d.eof:
                break  # trailing bytes after the stream: ignored, as browsers do
        return b"".join(out)

    def flush(self, cap: int) -> bytes:
        try:
            tail = self._d.flush()
        except zlib.error as exc:
            raise _Failure(f"bad_content_encoding: {self.coding}") from exc
        self.produced += len(tail)
        if self.produced > cap:
            raise _BodyTooLarge
        return tail


@dataclass
class CrawlReport:
    """Counts of one run. ``fetched``: 200 responses; ``not_modified``: 304s; ``unchanged``:
    200s whose content hash was already known; ``new``/``changed``: emitted records."""

    started_at: str = ""
    finished_at: str = ""
    requests: int = 0
    fetched: int = 0
    not_modified: int = 0
    unchanged: int = 0
    new: int = 0
    changed: int = 0
    failed: int = 0
    refused: int = 0
    robots_disallowed: int = 0
    retries: int = 0
    # 429s (and 503s with Retry-After) that paused every request to their host
    host_pauses: int = 0
    # hosts whose Retry-After ran past the retry budget: not asked again this run (their
    # URLs are left pending for the next run); host -> the seconds it asked for
    hosts_closed: dict[str, float] = field(default_factory=dict)
    listings_fetched: int = 0
    articles_fetched: int = 0
    emitted: int = 0
    # pager links left alone because the page showing them listed nothing unseen (counted
    # once per page showing them)
    pager_links_skipped: int = 0
    page_limit_reached: bool = False
    time_budget_reached: bool = False  # crawl_time_budget_s ran out: the rest is pending
    warc_path: str | None = None
    state_path: str | None = None
    failures: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        out = asdict(self)
        out["failures"] = self.failures[:50]
        return out


class CrawlUnreachable(RuntimeError):
    """A crawl got no page from any host: every request failed (the site down, DNS, a
    firewall). Raised before anything is landed, so the task's retries apply and no empty
    landing is left to be reused; ``report`` is the crawl's :class:`CrawlReport`."""

    def __init__(self, report: CrawlReport) -> None:
        reasons = Counter(str(f.get("reason")) for f in report.failures)
        shown = ", ".join(f"{r} x{n}" for r, n in reasons.most_common())
        super().__init__(
            f"the crawl got no page from any host: {report.failed} request(s) failed "
            f"({shown or 'no reason recorded'}); nothing was landed"
        )
        self.report = report


def nothing_answered(report: CrawlReport) -> bool:
    """Whether every request of a crawl failed: no 200, no 304, at least one failure."""
    return report.failed > 0 and report.fetched == 0 and report.not_modified == 0


class _Failure(Exception):
    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass
class _Response:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with DNS answered by the crawler's own checks: a TCP
    connection to ``host`` goes to the addresses :meth:`Crawler._check` resolved and
    accepted for it (``pinned``), never to a second lookup. A host that was not checked is
    refused. TLS still verifies the certificate against the host name (httpcore passes the
    URL's host as ``server_hostname``, not the address)."""

    def __init__(self, pinned: dict[str, list[str]]) -> None:
        self._pinned = pinned
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = self._pinned.get(host.lower().strip("[]"))
        if not addresses:
            raise httpcore.ConnectError(f"{host}: no address checked by the crawler")
        for address in addresses[:-1]:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue  # the next checked address
        return await self._inner.connect_tcp(
            addresses[-1], port, timeout=timeout, local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("the crawler does not use Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def pinned_transport(
    pinned: dict[str, list[str]], limits: httpx.Limits
) -> httpx.AsyncHTTPTransport:
    """httpx's own transport (TLS verification, HTTP/1.1, error mapping) over a connection
    pool whose backend is :class:`PinnedBackend`. httpx takes no network backend, so its
    pool is replaced by an equal one (same TLS context and limits) that has it."""
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    if not isinstance(getattr(transport, "_pool", None), httpcore.AsyncConnectionPool):
        # an httpx release that keeps its pool elsewhere would silently bypass the pinning
        raise RuntimeError(
            f"httpx {httpx.__version__} has no AsyncHTTPTransport._pool to replace; the "
            "crawler's DNS pinning (PinnedBackend) needs the httpx pinned in requirements.txt"
        )
    transport._pool = httpcore.AsyncConnectionPool(  # httpx's private pool: see above
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=PinnedBackend(pinned),
    )
    return transport


class Crawler:
    """One crawl run. Use :func:`run_crawl` or :func:`crawl_records` rather than this directly."""

    def __init__(
        self,
        settings: Settings,
        start_urls: tuple[str, ...] | None = None,
        warc_path: Path | None = None,
        state: CrawlState | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        jitter_seed: int | None = None,
    ) -> None:
        self.s = settings
        self.start_urls = tuple(
            policy.normalize_url(u) for u in (start_urls or settings.start_urls)
        )
        self.allowed_hosts = {h.lower() for h in settings.allowed_hosts}
        self.allowed_nets = policy.parse_networks(settings.allowed_private_networks)
        self.overrides = policy.parse_overrides(settings.host_overrides)
        self.state = state or CrawlState.load(settings.state_dir)
        # What earlier runs fetched, frozen at the start: "unseen" must not change while this
        # run fetches (the home page lists new articles that a rubric page lists again).
        # A listing page whose last fetch failed (or was left for the page limit) is not
        # known: what it listed then was never read. Its kind is asked of the URL now, not
        # read from the row: a state written by an older classifier may call it an article.
        self._known = {
            u
            for u, row in self.state.urls.items()
            if row.sha256 is not None
            and not (row.pending_since and policy.page_kind(u) == "listing")
        }
        # Fetches owed by earlier runs, asked for right after the start URLs.
        self._owed = [row.url for row in self.state.pending()]
        policy.check_listing_depth(settings.crawl_listing_depth)  # fail before any request
        started = datetime.now(UTC).replace(microsecond=0)
        self.report = CrawlReport(started_at=started.isoformat())
        default_warc = (
            settings.path(settings.data_dir)
            / "warc"
            / f"{CRAWL_SOURCE_PREFIX}{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}.warc.gz"
        )
        self.warc_path = Path(warc_path or default_warc)
        self.report.warc_path = str(self.warc_path)
        self.report.state_path = str(self.state.path)
        self._transport = transport
        # Jitter only (not security): a private generator so tests can fix it.
        self._rng = random.Random(jitter_seed)  # noqa: S311
        self._seen: set[str] = set()
        self._scheduled = 0
        self._deadline = time.monotonic() + settings.crawl_time_budget_s
        self._robots: dict[str, policy.Robots] = {}
        self._robots_status: dict[str, int | None] = {}  # origin -> its robots.txt's status
        self._robots_lock: dict[str, asyncio.Lock] = {}
        self._addr_ok: dict[str, str | None] = {}
        # connect host -> the addresses its check accepted (PinnedBackend connects to these)
        self._pinned: dict[str, list[str]] = {}
        self._host_sem: dict[str, asyncio.Semaphore] = {}
        self._host_lock: dict[str, asyncio.Lock] = {}
        self._host_next: dict[str, float] = {}
        self._host_closed: set[str] = set()
        self._host_delay: dict[str, float] = {}
        self._sink: WarcSink | None = None

    # --- public -------------------------------------------------------------------------
    def run(self) -> CrawlReport:
        """Crawl until the frontier is empty or ``max_pages`` is reached (blocking)."""
        with WarcSink(
            self.warc_path, info={"software": "kznews.crawl", "user-agent": self.s.user_agent}
        ) as sink:
            self._sink = sink
            asyncio.run(self._run())
        self.report.finished_at = datetime.now(UTC).replace(microsecond=0).isoformat()
        self.warc_path.with_suffix("").with_suffix(".report.json").write_text(
            json.dumps(self.report.summary(), ensure_ascii=False, indent=1), encoding="utf-8"
        )
        return self.report

    def commit_state(self) -> Path:
        return self.state.save()

    # --- frontier -------------------------------------------------------------------------
    async def _run(self) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        for url in (*self.start_urls, *self._owed):
            self._enqueue(url)
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
        timeout = httpx.Timeout(self.s.request_timeout_s)
        async with httpx.AsyncClient(
            transport=self._transport or pinned_transport(self._pinned, limits),
            timeout=timeout,
            limits=limits,
            follow_redirects=False,
            headers={
                "User-Agent": self.s.user_agent,
                "Accept": "text/html,*/*;q=0.5",
                "Accept-Encoding": _ACCEPT_ENCODING,
            },
            trust_env=False,
        ) as client:
            self._client = client
            n_workers = max(
                1, min(32, self.s.per_host_concurrency * max(1, len(self.allowed_hosts)))
            )
            workers = [asyncio.create_task(self._worker()) for _ in range(n_workers)]
            await self._queue.join()
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    def _enqueue(self, url: str) -> None:
        url = policy.normalize_url(url)
        if url in self._seen:
            return
        if policy.url_refusal(url, self.allowed_hosts):
            self.state.clear_pending(url)  # owed once, now out of bounds (settings changed)
            return  # discovery never leaves the allowlist (not counted: it is not a request)
        if self._scheduled >= self.s.max_pages:
            self.report.page_limit_reached = True
            # owed to the next run (which fetches it first): nothing found is lost for good
            self.state.mark_pending(url, policy.page_kind(url), "page_limit")
            return
        if self._out_of_time(url):
            return
        self._seen.add(url)
        self._scheduled += 1
        self._queue.put_nowait(url)

    async def _worker(self) -> None:
        while True:
            url = await self._queue.get()
            try:
                if not self._out_of_time(url):
                    await self._visit(url)
            except Exception as exc:  # one bad page never stops the crawl
                log.exception("crawl of %s failed", url)
                self._fail(url, f"internal_error: {type(exc).__name__}")
            finally:
                self._queue.task_done()

    def _out_of_time(self, url: str) -> bool:
        """Past ``crawl_time_budget_s``: leave ``url`` pending for the next run (which asks
        for it first) instead of fetching it."""
        if time.monotonic() < self._deadline:
            return False
        self.report.time_budget_reached = True
        self.state.mark_pending(url, policy.page_kind(url), "time_budget")
        return True

    def _fail(self, url: str, reason: str, status: int | None = None) -> None:
        if policy.retry_next_run(reason, status):
            self.state.mark_pending(url, policy.page_kind(url), reason)
        else:
            self.state.clear_pending(url)  # would fail the same way again: not owed
        if reason in (
            "host_not_allowed",
            "private_address",
            "bad_scheme",
            "no_address",
            "credentials_in_url",
        ):
            self.report.refused += 1
        elif reason == "robots_disallowed":
            self.report.robots_disallowed += 1
        else:
            self.report.failed += 1
        if len(self.report.failures) < 1000:
            self.report.failures.append({"url": url, "reason": reason, "status": status})

    async def _visit(self, url: str) -> None:
        kind = policy.page_kind(url)
        prev = self.state.get(url)
        conditional = prev.validators() if (prev is not None and kind == "article") else {}
        try:
            resp = await self._fetch(url, conditional)
        except _Failure as f:
            self._fail(url, f.reason, f.status)
            return
        now = datetime.now(UTC)
        if resp.status == 304:
            self.report.not_modified += 1
            self.state.update(url, kind, 304, resp.headers, None, now)
            return
        if not 200 <= resp.status < 300:
            self._fail(url, f"http_{resp.status}", resp.status)
            return
        self.report.fetched += 1
        if kind == "listing":
            self.report.listings_fetched += 1
        else:
            self.report.articles_fetched += 1
        ctype = next((v for k, v in resp.headers.items() if k.lower() == "content-type"), "")
        # After redirects the page is its final URL (links resolve against it, and its pager
        # position is read from it); it is not fetched again under that name this run.
        final = policy.normalize_url(resp.url)
        self._seen.add(final)
        if "html" in ctype.lower() or not ctype:
            self._follow(final, resp)
        sha = hashlib.sha256(resp.body).hexdigest()
        known = prev is not None and prev.sha256 is not None
        if not self.state.update(url, kind, resp.status, resp.headers, sha, now):
            self.report.unchanged += 1
            return
        if known:
            self.report.changed += 1
        else:
            self.report.new += 1
        record = RawRecord(
            url=url,
            body=resp.body,
            status=resp.status,
            headers=resp.headers,
            final_url=resp.url,
            fetched_at=now.replace(microsecond=0),
            source="crawl",
        )
        if self._sink is not None:
            self._sink.write(record)
            self.report.emitted += 1

    def _follow(self, url: str, resp: _Response) -> None:
        """Enqueue what the page at ``url`` (its final, normalized URL) links to."""
        links = discover(resp.body, resp.url)
        had_new = any(item not in self._known for item in links.item)
        for link in links.item + links.nav:
            self._enqueue(link)
        for link in links.pager:
            if policy.follow_pager(
                url, link, link in self._known, had_new, self.s.crawl_listing_depth
            ):
                self._enqueue(link)
            else:
                self.report.pager_links_skipped += 1

    # --- one URL: hops, checks, retries ------------------------------------------------------
    async def _fetch(self, url: str, conditional: dict[str, str]) -> _Response:
        current = url
        for hop in range(self.s.max_redirects + 1):
            await self._check(current)
            resp = await self._with_retries(current, conditional if hop == 0 else {})
            location = resp.headers.get("location") or resp.headers.get("Location")
            if resp.status in _REDIRECTS and location:
                current = policy.normalize_url(urljoin(current, location))
                continue
            return resp
        raise _Failure("too_many_redirects")

    async def _check(self, url: str) -> None:
        host = await self._check_address(url)
        self._refuse_if_closed(host)
        rp = await self._robots_for(url)
        self._refuse_if_closed(host)  # closed while its robots.txt was asked for
        if not rp.can_fetch(self.s.user_agent, url):
            p = urlsplit(url)
            status = self._robots_status.get(f"{p.scheme}://{p.netloc}")
            if policy.robots_unreachable(status):
                # disallowed for now, not for good: owed to the next run
                raise _Failure("robots_unreachable", status)
            raise _Failure("robots_disallowed")

    async def _check_address(self, url: str) -> str:
        """Refuse ``url`` by the allowlist, or by the addresses its host resolves to (checked
        once per host; connections then go to those addresses only). Returns the host."""
        refusal = policy.url_refusal(url, self.allowed_hosts)
        if refusal:
            raise _Failure(refusal)
        host = (urlsplit(url).hostname or "").lower()
        if host not in self._addr_ok:
            connect_host, addresses = await self._addresses(url)
            self._addr_ok[host] = policy.address_refusal(addresses, self.allowed_nets)
            if not self._addr_ok[host]:
                self._pinned[connect_host] = addresses
        if self._addr_ok[host]:
            raise _Failure(self._addr_ok[host] or "private_address")
        return host

    def _refuse_if_closed(self, host: str) -> None:
        """Fail at once for a host closed for this run (:meth:`_pause_host`), as a 429: the
        URL stays pending for the next run."""
        if host in self._host_closed:
            raise _Failure("host_closed: its Retry-After runs past this run", 429)

    async def _addresses(self, url: str) -> tuple[str, list[str]]:
        """The host a request for ``url`` connects to (its override target's, if any) and
        the addresses it resolves to now."""
        p = urlsplit(url)
        target = self.overrides.get((p.hostname or "").lower())
        if target:
            p = urlsplit(target)
        host = (p.hostname or "").lower()
        port = p.port or (443 if p.scheme == "https" else 80)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port)
        except OSError:
            return host, []
        return host, sorted({info[4][0] for info in infos})

    async def _robots_for(self, url: str) -> policy.Robots:
        p = urlsplit(url)
        origin = f"{p.scheme}://{p.netloc}"
        lock = self._robots_lock.setdefault(origin, asyncio.Lock())
        async with lock:
            if origin not in self._robots:
                text, status = None, None
                target = origin + "/robots.txt"
                try:
                    # RFC 9309 2.3.1.2: follow at least five redirects (an http -> https
                    # move, another host), each target checked like any URL; a sixth
                    # redirect is left unfollowed, and so "unreachable"
                    for hop in range(_ROBOTS_REDIRECTS + 1):
                        resp = await self._with_retries(target, {}, robots=True)
                        location = resp.headers.get("location") or resp.headers.get("Location")
                        if (resp.status not in _REDIRECTS or not location
                                or hop == _ROBOTS_REDIRECTS):
                            break
                        target = policy.normalize_url(urljoin(target, location))
                        await self._check_address(target)
                    status = resp.status
                    text = resp.body.decode("utf-8", errors="replace")
                except _Failure as f:
                    status = f.status
                rp = policy.robots_parser(text, status)
                self._robots[origin] = rp
                self._robots_status[origin] = status
                delay = rp.crawl_delay(self.s.user_agent) if status == 200 else None
                host = (p.hostname or "").lower()
                self._host_delay[host] = max(self.s.per_host_delay_s, min(float(delay or 0), 30.0))
            return self._robots[origin]

    async def _with_retries(
        self, url: str, conditional: dict[str, str], robots: bool = False
    ) -> _Response:
        t0 = time.monotonic()
        reason, status = "unknown", None
        for attempt in range(self.s.max_retries + 1):
            retry_after = None
            try:
                resp = await self._request(url, conditional, count=not robots)
            except httpx.TimeoutException:
                reason, status = "timeout", None
            except TimeoutError:  # the whole-response deadline (slow drip)
                reason, status = "deadline_exceeded", None
            except httpx.TransportError as exc:
                reason, status = f"transport_error: {type(exc).__name__}", None
            else:
                if not policy.should_retry(resp.status):
                    return resp
                reason, status = f"http_{resp.status}", resp.status
                retry_after = policy.retry_after_seconds(resp.headers.get("retry-after"))
            if retry_after and status in (429, 503):
                self._pause_host(url, retry_after)
            if attempt == self.s.max_retries:
                break
            delay = policy.backoff_delay(attempt, self.s.retry_base_delay_s, self._rng)
            if retry_after is not None:
                delay = max(delay, retry_after)
            if time.monotonic() - t0 + delay > self.s.retry_budget_s:
                reason += " (retry budget exhausted)"
                break
            self.report.retries += 1
            await asyncio.sleep(delay)
        raise _Failure(reason, status)

    async def _request(self, url: str, conditional: dict[str, str], count: bool) -> _Response:
        p = urlsplit(url)
        host = (p.hostname or "").lower()
        target = self.overrides.get(host)
        send_url, headers = url, dict(conditional)
        if target:
            t = urlsplit(target)
            send_url = urlunsplit((t.scheme, t.netloc, p.path or "/", p.query, ""))
            headers["Host"] = p.netloc
        sem = self._host_sem.setdefault(host, asyncio.Semaphore(self.s.per_host_concurrency))
        async with sem:
            await self._polite_wait(host)
            self._refuse_if_closed(host)  # closed while this request waited its turn
            if count:
                self.report.requests += 1
            async with asyncio.timeout(self.s.request_deadline_s):
                return await self._read(url, send_url, headers)

    async def _read(self, url: str, send_url: str, headers: dict[str, str]) -> _Response:
        cap = self.s.max_body_bytes
        async with self._client.stream("GET", send_url, headers=headers) as r:
            declared = r.headers.get("content-length", "").strip()
            if declared.isdigit() and int(declared) > cap:
                raise _Failure("body_too_large", r.status_code)
            decoder = _BoundedDecoder(r.headers.get("content-encoding", ""), cap)
            chunks = []
            try:
                async for raw in r.aiter_raw():  # decoded here, not by httpx (bounded)
                    chunks.append(decoder.feed(raw))
                chunks.append(decoder.flush())
            except _BodyTooLarge:
                raise _Failure("body_too_large", r.status_code) from None
            except _Failure as f:
                f.status = r.status_code
                raise
            kept = {k: v for k, v in r.headers.items() if k.lower() not in _DROP_HEADERS}
            return _Response(url, r.status_code, kept, b"".join(chunks))

    def _pause_host(self, url: str, seconds: float) -> None:
        """A 429, or a 503 with Retry-After, speaks for the whole host: no request to it
        starts before ``seconds`` from now, whichever URL asks next. The failing URL's own
        retry waits at least as long (``_with_retries``). A host asking for longer than
        ``retry_budget_s`` is closed for the rest of the run instead: its URLs fail at once
        as pending, and the next run asks for them first."""
        host = (urlsplit(url).hostname or "").lower()
        if seconds > self.s.retry_budget_s:
            if host not in self._host_closed:
                log.warning("%s asks for a pause of %.0f s, past the retry budget of %.0f s: "
                            "no more requests to it this run", host, seconds,
                            self.s.retry_budget_s)
            self._host_closed.add(host)
            self.report.hosts_closed[host] = max(seconds, self.report.hosts_closed.get(host, 0))
            return
        until = time.monotonic() + min(seconds, self.s.retry_budget_s)
        self._host_next[host] = max(self._host_next.get(host, 0.0), until)
        self.report.host_pauses += 1

    async def _polite_wait(self, host: str) -> None:
        lock = self._host_lock.setdefault(host, asyncio.Lock())
        async with lock:
            delay = self._host_delay.get(host, self.s.per_host_delay_s)
            now = time.monotonic()
            # a host pause (_pause_host) may move the next slot while this one waits
            while (wait := self._host_next.get(host, 0.0) - now) > 0:
                await asyncio.sleep(wait)
                now = time.monotonic()
            self._host_next[host] = now + delay


def run_crawl(
    settings: Settings,
    start_urls: tuple[str, ...] | None = None,
    warc_path: Path | None = None,
    commit: bool = True,
) -> CrawlReport:
    """Crawl, write the WARC, and (by default) save the incremental state; holds the state's
    lock throughout (:class:`~kznews.acquire.state.StateLock`)."""
    with StateLock(settings.state_dir):
        crawler = Crawler(settings, start_urls=start_urls, warc_path=warc_path)
        report = crawler.run()
        if commit:
            crawler.commit_state()
    return report


class CrawlRecords:
    """The records of one crawl from ``start`` (or ``settings.start_urls``): iterating runs
    the crawl, then replays what it emitted from its WARC.

    The incremental state (what was fetched, ETags, hashes) is saved only by :meth:`commit`,
    which the consumer calls once what it made of the records is durable: a landing
    partition renamed into place, say. Having read every record is not enough: a landing
    that fails after its last record but before its file is in place would otherwise leave a
    state that calls every page known, and its retry would fetch nothing.

    The crawl holds the state's lock (:class:`~kznews.acquire.state.StateLock`) from its
    start to :meth:`commit`, or to :meth:`close` when the consumer gives up.
    """

    def __init__(self, start: str | None, settings: Settings) -> None:
        self._start, self._settings = start, settings
        self._crawler: Crawler | None = None
        self._read_all = False
        self._lock = StateLock(settings.state_dir)

    def __iter__(self) -> Iterator[RawRecord]:
        if self._crawler is not None:
            raise RuntimeError("a crawl's records can be read once")
        self._lock.acquire()  # before the state is loaded: CrawlStateBusy if another crawl runs
        self._crawler = Crawler(self._settings, start_urls=(self._start,) if self._start else None)
        report = self._crawler.run()
        log.info("crawl report: %s", json.dumps(report.summary(), ensure_ascii=False))
        if nothing_answered(report):
            raise CrawlUnreachable(report)
        yield from read_warc(report.warc_path or self._crawler.warc_path)
        self._read_all = True

    @property
    def report(self) -> CrawlReport | None:
        """The crawl's counts once it has run (None before)."""
        return self._crawler.report if self._crawler is not None else None

    def commit(self) -> Path:
        """Save the crawl's incremental state; only after every record was read."""
        if self._crawler is None or not self._read_all:
            raise RuntimeError("commit() before every record of the crawl was read")
        try:
            return self._crawler.commit_state()
        finally:
            self._lock.release()

    def close(self) -> None:
        """Give the state's lock back without saving (the landing failed); idempotent."""
        self._lock.release()


def record_landed_fetches(raw_file: Path, settings: Settings) -> int:
    """Bring the crawl state up to what the landing ``raw_file`` holds; returns how many URLs
    it changed (the state is saved only then).

    A land task killed after its partition was renamed into place, before the crawl saved
    its state (:meth:`CrawlRecords.commit`), leaves pages landed that the state does not
    know; its retry reuses the landing instead of crawling again
    (:func:`kznews.pipeline.reuse_landing_stage`), so without this the next night would
    fetch them all again. Only rows a crawl landed count (their ``source`` names a crawl's
    WARC), and only when the state has no later fetch of their URL: a backfill of an old
    date changes nothing. Validators, content hashes and fetch times are taken from the
    landed rows; URLs the killed crawl failed to fetch are not in the landing, so the next
    night finds them as unseen.
    """
    import pyarrow.parquet as pq

    columns = ["url", "status", "headers", "sha256", "fetched_at", "source"]
    rows = pq.read_table(raw_file, columns=columns).to_pylist()
    with StateLock(settings.state_dir):
        return _record_fetches(rows, CrawlState.load(settings.state_dir))


def _record_fetches(rows: list[dict], state: CrawlState) -> int:
    """:func:`record_landed_fetches` on landed ``rows``, under the state's lock."""
    changed = 0
    for row in rows:
        crawled = str(row["source"] or "").startswith(CRAWL_SOURCE_PREFIX)
        if not crawled or row["fetched_at"] is None:
            continue
        known = state.get(row["url"])
        last = known.last_fetched if known is not None else None
        if last is not None and last >= row["fetched_at"]:
            continue
        headers = json.loads(row["headers"] or "{}")
        kind = policy.page_kind(row["url"])
        state.update(row["url"], kind, row["status"], headers, row["sha256"], row["fetched_at"])
        changed += 1
    if changed:
        state.save()
    return changed


def crawl_records(start: str | None, settings: Settings) -> CrawlRecords:
    """The records of a crawl from ``start``; see :class:`CrawlRecords` (call ``commit()``
    once they are landed)."""
    return CrawlRecords(start, settings)
