"""A minimal HTTP/1.1 server on asyncio streams for the admin port: GET and HEAD only, one request per
connection, bounded header size and read time.

Why not aiohttp: the admin port serves five read-only routes to Prometheus and a browser; a small handler
of our own keeps the router free of a second web framework (and its dependency tree) in the process that
holds provider keys, and runs on the router's own event loop.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from router_service.observability.admin import key_matches

log = logging.getLogger(__name__)
MAX_HEADER_BYTES = 16 * 1024
READ_TIMEOUT_S = 10.0
# Connections served at once; more are answered 503 at once, so idle or slow clients cannot pile up.
MAX_CONNECTIONS = 64
# The dashboard runs only its own inline script and talks only to this origin.
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]

    def param(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)


Route = Callable[[Request], Awaitable[Response]]


def text(status: int, message: str) -> Response:
    return Response(status, (message + "\n").encode())


class AdminHttpServer:
    """Routes by exact path. `key_sha256()` returns the admin key hash in force (None: no key needed);
    paths in `open_paths` (health, metrics) never need it."""

    def __init__(
        self,
        routes: Mapping[str, Route],
        key_sha256: Callable[[], str | None] = lambda: None,
        open_paths: frozenset[str] = frozenset({"/healthz", "/metrics"}),
    ) -> None:
        self._routes = routes
        self._key_sha256 = key_sha256
        self._open_paths = open_paths
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._serve, host.strip("[]"), port, limit=MAX_HEADER_BYTES)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if len(self._connections) >= MAX_CONNECTIONS:
            writer.write(_encode(text(HTTPStatus.SERVICE_UNAVAILABLE, "too many connections"), False))
            writer.close()
            return
        if task is not None:
            self._connections.add(task)
        try:
            response, head_only = await self._respond(reader)
            writer.write(_encode(response, head_only))
            await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()

    async def _respond(self, reader: asyncio.StreamReader) -> tuple[Response, bool]:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
        except (asyncio.LimitOverrunError, ValueError):
            return text(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "headers too large"), False
        except (TimeoutError, asyncio.IncompleteReadError):
            return text(HTTPStatus.REQUEST_TIMEOUT, "incomplete request"), False
        request = _parse(head)
        if request is None:
            return text(HTTPStatus.BAD_REQUEST, "bad request"), False
        if request.method not in ("GET", "HEAD"):
            return Response(HTTPStatus.METHOD_NOT_ALLOWED, b"GET only\n", headers={"Allow": "GET, HEAD"}), False
        head_only = request.method == "HEAD"
        route = self._routes.get(request.path)
        if route is None:
            return text(HTTPStatus.NOT_FOUND, "not found"), head_only
        if request.path not in self._open_paths and not self._authorized(request):
            return (
                Response(
                    HTTPStatus.UNAUTHORIZED,
                    b"the admin key is required\n",
                    headers={"WWW-Authenticate": 'Basic realm="llm-router admin", charset="UTF-8"'},
                ),
                head_only,
            )
        try:
            return await route(request), head_only
        except Exception:
            log.exception("admin %s failed", request.path)
            return text(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error"), head_only

    def _authorized(self, request: Request) -> bool:
        expected = self._key_sha256()
        if expected is None:
            return True
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return key_matches(value.strip(), expected)
        if scheme.lower() == "basic":
            # Browsers: any user name, the admin key as the password.
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return False
            return key_matches(decoded.partition(":")[2], expected)
        return False


def _parse(head: bytes) -> Request | None:
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
    except ValueError:
        return None
    if not version.startswith("HTTP/1."):
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            return None
        headers[name.strip().lower()] = value.strip()
    parts = urlsplit(target)
    return Request(method, parts.path or "/", parse_qs(parts.query), headers)


def _encode(response: Response, head_only: bool) -> bytes:
    status = HTTPStatus(response.status)
    headers = {
        "Content-Type": response.content_type,
        "Content-Length": str(len(response.body)),
        "Connection": "close",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        **({"Content-Security-Policy": _CSP} if response.content_type.startswith("text/html") else {}),
        **response.headers,
    }
    head = f"HTTP/1.1 {status.value} {status.phrase}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode("latin-1") + b"\r\n" + (b"" if head_only else response.body)
