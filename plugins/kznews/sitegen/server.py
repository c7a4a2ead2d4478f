"""A local HTTP server for the synthetic site, bound to 127.0.0.1, for crawler tests.

It answers for every host of the site at once (``www.old.exclusive.kz``, ``old.exclusive.kz``,
``exclusive.kz``), choosing by the ``Host`` header; a crawler reaches it through a host override
(``Settings.host_overrides``) so that URLs keep their real names. It serves ``robots.txt``,
answers conditional requests with 304 (``ETag`` / ``Last-Modified``), and has fault injection
hooks: ``server.inject(path, Fault(...))`` makes the next request(s) to that path fail with a
status (500, 429 with ``Retry-After``), a delay (client timeout), a redirect or an oversized body.

``python -m kznews.sitegen.server --pages 300 --seed 1 --port 8000`` serves until interrupted.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kznews.sitegen import Site, render_page

DEFAULT_ROBOTS = "User-agent: *\nDisallow: /bitrix/\nDisallow: /search/\nDisallow: /wp-admin/\n"


@dataclass
class Fault:
    """One injected misbehaviour. ``kind``: status, timeout, redirect, oversize, page."""

    kind: str
    status: int = 500
    retry_after: str | None = None
    delay_s: float = 0.0
    location: str = ""
    size: int = 0
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    times: int = 1  # how many requests it affects; 0 = forever


class SiteServer:
    """The running server: ``base_url``, ``requests`` (log), ``inject``, ``robots``, ``stop``."""

    def __init__(self, site: Site, port: int = 0) -> None:
        self.site = site
        self.robots: dict[str, str] = defaultdict(lambda: DEFAULT_ROBOTS)
        self.requests: list[dict] = []
        self._faults: dict[tuple[str, str], list[Fault]] = defaultdict(list)
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> SiteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def inject(self, target: str, fault: Fault) -> None:
        """Inject ``fault`` for ``target``: a full URL or ``host/path?query``."""
        host, path = _split_target(target)
        with self._lock:
            self._faults[(host, path)].append(fault)

    def take_fault(self, host: str, path: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get((host, path))
            if not queue:
                return None
            fault = queue[0]
            if fault.times == 1:
                queue.pop(0)
            elif fault.times > 1:
                fault.times -= 1
            return fault

    def overrides(self) -> tuple[str, ...]:
        """``Settings.host_overrides`` entries that send every site host to this server."""
        hosts = ("www.old.exclusive.kz", "old.exclusive.kz", "exclusive.kz")
        return tuple(f"{h}={self.base_url}" for h in hosts)

    def paths_requested(self, host: str | None = None) -> list[str]:
        return [r["path"] for r in self.requests if host is None or r["host"] == host]


def _split_target(target: str) -> tuple[str, str]:
    if "://" in target:
        target = target.split("://", 1)[1]
    host, _, path = target.partition("/")
    return host, "/" + path


def _handler_for(server: SiteServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            path = self.path
            with server._lock:
                server.requests.append({"host": host, "path": path, "at": time.monotonic(),
                                        "headers": dict(self.headers.items())})
            fault = server.take_fault(host, path)
            if fault is not None and self._fault(fault):
                return
            if path == "/robots.txt":
                self._send(200, server.robots[host].encode(), "text/plain; charset=utf-8")
                return
            scheme = "https" if host == "exclusive.kz" else "http"
            key = server.site.lookup(f"{scheme}://{host}{path}")
            if key is None:
                self._send(404, b"<html><body>Not found</body></html>", "text/html; charset=utf-8")
                return
            page = render_page(server.site, key)
            etag = page.headers["ETag"]
            last_modified = page.headers["Last-Modified"]
            if self._not_modified(etag, last_modified):
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", last_modified)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            for k, v in page.headers.items():
                if k not in ("Content-Length", "Date", "Server"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(page.body)))
            self.end_headers()
            self.wfile.write(page.body)

        def _not_modified(self, etag: str, last_modified: str) -> bool:
            inm = self.headers.get("If-None-Match")
            if inm is not None:
                return etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
            ims = self.headers.get("If-Modified-Since")
            if ims:
                try:
                    return parsedate_to_datetime(ims) >= parsedate_to_datetime(last_modified)
                except (TypeError, ValueError):
                    return False
            return False

        def _fault(self, f: Fault) -> bool:
            """Act out ``f``; True when the response is complete."""
            if f.kind == "timeout":
                time.sleep(f.delay_s)
                return False  # then answer normally (the client has given up by now)
            if f.kind == "status":
                extra = {"Retry-After": f.retry_after} if f.retry_after is not None else {}
                self._send(f.status, b"<html><body>error</body></html>", f.content_type, extra)
                return True
            if f.kind == "redirect":
                self._send(
                    f.status if f.status in (301, 302, 303, 307, 308) else 302,
                    b"",
                    f.content_type,
                    {"Location": f.location},
                )
                return True
            if f.kind == "oversize":
                self._send(200, b"<html>" + b"x" * f.size + b"</html>", f.content_type)
                return True
            if f.kind == "page":
                self._send(f.status, f.body, f.content_type)
                return True
            return False

        def _send(
            self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

    return Handler


@contextmanager
def serve_site(site: Site, port: int = 0) -> Iterator[SiteServer]:
    """Run a :class:`SiteServer` for the duration of a ``with`` block."""
    server = SiteServer(site, port).start()
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kznews.sitegen.server")
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--port", type=int, default=8000)
    args = ap.parse_args(argv)
    with serve_site(Site(seed=args.seed, pages=args.pages), args.port) as srv:
        print(f"serving on {srv.base_url}; host overrides: {','.join(srv.overrides())}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
