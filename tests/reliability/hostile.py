"""A hostile variant of the synthetic site server (127.0.0.1 only), for crawler tests.

:class:`HostileServer` is :class:`kznews.sitegen.server.SiteServer` with one more hook:
``server.misbehave(url, behaviour)`` makes every request for that URL run ``behaviour(handler)``
instead of the normal page. The behaviours below write raw HTTP so they can lie about
lengths, drip bytes, stream without end or send compression bombs. Every behaviour ends when
the client goes away (a write raises), so no server thread outlives a test by more than that.
"""

from __future__ import annotations

import gzip
import time
import zlib
from collections.abc import Callable
from contextlib import suppress
from functools import cache
from http.server import BaseHTTPRequestHandler

from kznews.sitegen import Site
from kznews.sitegen.server import SiteServer, _split_target

Behaviour = Callable[[BaseHTTPRequestHandler], None]
_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError)


class HostileServer(SiteServer):
    def __init__(self, site: Site) -> None:
        super().__init__(site)
        self.hostile: dict[tuple[str, str], Behaviour] = {}
        base = self.httpd.RequestHandlerClass
        server = self

        class Handler(base):  # type: ignore[misc, valid-type]
            def do_GET(self) -> None:
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                behaviour = server.hostile.get((host, self.path))
                if behaviour is None:
                    super().do_GET()
                    return
                with server._lock:
                    server.requests.append(
                        {"host": host, "path": self.path, "headers": dict(self.headers.items())}
                    )
                with suppress(*_GONE):
                    behaviour(self)
                self.close_connection = True

        self.httpd.RequestHandlerClass = Handler

    def misbehave(self, url: str, behaviour: Behaviour) -> None:
        self.hostile[_split_target(url)] = behaviour

    def count(self, url: str) -> int:
        host, path = _split_target(url)
        return sum(1 for r in self.requests if r["host"] == host and r["path"] == path)


# --- behaviours ---------------------------------------------------------------------------------
def _head(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
    h.send_response(status)
    for k, v in headers.items():
        h.send_header(k, v)
    h.send_header("Connection", "close")  # no keep-alive: the handler closes after this
    h.end_headers()
    h.wfile.flush()


def drip(interval_s: float = 0.05, declared: int = 100_000) -> Behaviour:
    """Headers at once, then a byte every ``interval_s``: each read is quick, the whole is not."""

    def act(h: BaseHTTPRequestHandler) -> None:
        _head(h, 200, {"Content-Type": "text/html", "Content-Length": str(declared)})
        for _ in range(declared):
            h.wfile.write(b" ")
            h.wfile.flush()
            time.sleep(interval_s)

    return act


def lying_length(declared: int = 10**15) -> Behaviour:
    """A Content-Length of a petabyte and a few bytes of body."""

    def act(h: BaseHTTPRequestHandler) -> None:
        _head(h, 200, {"Content-Type": "text/html", "Content-Length": str(declared)})
        h.wfile.write(b"<html>tiny</html>")

    return act


def truncated() -> Behaviour:
    """Promises 10 kB, sends 100 bytes, closes the connection."""

    def act(h: BaseHTTPRequestHandler) -> None:
        _head(h, 200, {"Content-Type": "text/html", "Content-Length": "10000"})
        h.wfile.write(b"x" * 100)

    return act


def chunked(body_chunks, headers: dict[str, str] | None = None) -> Behaviour:
    """A chunked response (no Content-Length) from an iterable of byte strings."""

    def act(h: BaseHTTPRequestHandler) -> None:
        _head(
            h, 200, {"Content-Type": "text/html", "Transfer-Encoding": "chunked", **(headers or {})}
        )
        for part in body_chunks() if callable(body_chunks) else body_chunks:
            if part:
                h.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        h.wfile.write(b"0\r\n\r\n")

    return act


def endless() -> Behaviour:
    """A chunked stream that never ends (64 KiB chunks until the client hangs up)."""

    def parts():
        block = b"<p>" + b"x" * 65_530 + b"</p>"
        while True:
            yield block

    return chunked(parts)


def encoded(body: bytes, coding: str, status: int = 200, ctype: str = "text/html") -> Behaviour:
    """``body`` sent as is, labelled with ``Content-Encoding: coding`` (chunked)."""

    def parts():
        for i in range(0, len(body), 16_384):
            yield body[i : i + 16_384]

    return chunked(parts, {"Content-Encoding": coding, "Content-Type": ctype})


def page(
    body: bytes, ctype: str, status: int = 200, extra: dict[str, str] | None = None
) -> Behaviour:
    def act(h: BaseHTTPRequestHandler) -> None:
        _head(h, status, {"Content-Type": ctype, "Content-Length": str(len(body)), **(extra or {})})
        h.wfile.write(body)

    return act


def redirect(location: str, status: int = 302) -> Behaviour:
    return page(b"", "text/html", status, {"Location": location})


# --- compressed payloads -----------------------------------------------------------------------
def _zeros_compressed(n_mb: int, wbits: int, level: int) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, wbits)
    block = bytes(1 << 20)
    return b"".join([*(c.compress(block) for _ in range(n_mb)), c.flush()])


@cache
def gzip_bomb(n_mb: int = 64) -> bytes:
    """gzip of ``n_mb`` MiB of zeros (~1000:1)."""
    return _zeros_compressed(n_mb, 31, 6)


@cache
def deflate_bomb(n_mb: int = 64, raw: bool = False) -> bytes:
    return _zeros_compressed(n_mb, -15 if raw else 15, 6)


@cache
def double_gzip_bomb(n_mb: int = 256) -> bytes:
    """gzip(gzip(zeros)): a few kB on the wire, ``n_mb`` MiB after two decodings."""
    return gzip.compress(_zeros_compressed(n_mb, 31, 1), 9)


def deflate(body: bytes, raw: bool = False) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15 if raw else 15)
    return c.compress(body) + c.flush()
