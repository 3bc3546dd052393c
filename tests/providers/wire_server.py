"""A local HTTP/1.1 server on 127.0.0.1 that replays provider wire files byte for byte.

Stdlib asyncio streams only. It can send a whole body, stream SSE / NDJSON one event per HTTP chunk
(optionally with delays), cut a stream after N events (close, or reset, the socket), stall until the
client goes away, delay the first byte, send any status with the headers of a captured headers file,
and it records every request and whether the client closed the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
    404: "Not Found", 413: "Payload Too Large", 429: "Too Many Requests", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout", 529: "Overloaded",
}  # fmt: skip
# Framing headers are the server's own business; a headers file's copies would contradict the body.
_FRAMING_HEADERS = {"content-length", "transfer-encoding", "connection"}
_SSE_EVENT = re.compile(rb".*?(?:\r\n\r\n|\n\n|\r\r)", re.DOTALL)


def shared_data() -> Path:
    """`$LLM_ROUTER_SHARED_DATA`, else `<repo>/../shared/data`."""
    configured = os.environ.get("LLM_ROUTER_SHARED_DATA")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def wire_file(relative: str) -> bytes:
    return (shared_data() / "wire" / relative).read_bytes()


def split_sse(data: bytes) -> list[bytes]:
    """Events, each with its own terminating blank line; joined they give back `data` exactly."""
    events = _SSE_EVENT.findall(data)
    rest = data[sum(len(e) for e in events) :]
    return events + ([rest] if rest else [])


def split_lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def read_headers_file(relative: str) -> tuple[int, list[tuple[str, str]]]:
    """The status and headers of a captured `headers_*.txt` (`HTTP/1.1 429 ...` then `name: value`)."""
    lines = wire_file(relative).decode().splitlines()
    status = int(lines[0].split()[1])
    headers = []
    for line in lines[1:]:
        if not line.strip():
            break
        name, _, value = line.partition(":")
        if name.strip().lower() not in _FRAMING_HEADERS:
            headers.append((name.strip(), value.strip()))
    return status, headers


@dataclass
class Reply:
    """What the server answers: a whole `body`, or `events` sent one HTTP chunk each."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    events: list[bytes] | None = None
    first_byte_delay: float = 0.0
    event_delay: float = 0.0
    # Close the socket after this many events, without the chunked terminator.
    cut_after: int | None = None
    # With cut_after: reset the connection (RST) instead of closing it (FIN).
    reset: bool = False
    # Stop sending after this many events and hold the connection until the client closes it.
    stall_after: int | None = None

    @classmethod
    def json(cls, body: bytes | Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Reply:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return cls(status, [("content-type", "application/json"), *(headers or [])], raw)

    @classmethod
    def file(cls, relative: str, status: int = 200, headers_file: str | None = None) -> Reply:
        """A JSON file as it is, with the status and headers of `headers_file` when given."""
        headers = [("content-type", "application/json")]
        if headers_file:
            status, headers = read_headers_file(headers_file)
        return cls(status, headers, wire_file(relative))

    @classmethod
    def sse(cls, events: list[bytes], headers: list[tuple[str, str]] | None = None, **options: Any) -> Reply:
        default = [("content-type", "text/event-stream; charset=utf-8")]
        return cls(200, headers or default, events=events, **options)

    @classmethod
    def sse_file(cls, relative: str, headers_file: str | None = None, **options: Any) -> Reply:
        headers = read_headers_file(headers_file)[1] if headers_file else None
        return cls.sse(split_sse(wire_file(relative)), headers, **options)

    @classmethod
    def ndjson_file(cls, relative: str, **options: Any) -> Reply:
        headers = [("content-type", "application/x-ndjson")]
        return cls(200, headers, events=split_lines(wire_file(relative)), **options)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    client_closed: asyncio.Event = field(default_factory=asyncio.Event)
    # Set once the whole reply (body or stream terminator) was written.
    completed: bool = False

    def json(self) -> Any:
        return json.loads(self.body)


class _Connection:
    """A socket with our own read buffer, so bytes read while watching for a close are never lost."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.buffer = bytearray()
        self.eof = False

    async def fill(self) -> None:
        data = await self.reader.read(65536)
        if data:
            self.buffer += data
        else:
            self.eof = True

    async def read_until(self, marker: bytes) -> bytes | None:
        while (end := self.buffer.find(marker)) < 0:
            if self.eof:
                return None
            await self.fill()
        head = bytes(self.buffer[: end + len(marker)])
        del self.buffer[: end + len(marker)]
        return head

    async def read_exactly(self, size: int) -> bytes | None:
        while len(self.buffer) < size:
            if self.eof:
                return None
            await self.fill()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data


class WireServer:
    """Routes by (method, path without query) to queued Replies; the last one of a route repeats."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._routes: dict[tuple[str, str], list[Reply]] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._request_seen = asyncio.Condition()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def add(self, method: str, path: str, *replies: Reply) -> None:
        self._routes[(method.upper(), path)] = list(replies)

    async def start(self) -> WireServer:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, backlog=1024)
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> WireServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def next_request(self, count: int = 1, wait_s: float = 5.0) -> RecordedRequest:
        """Wait until `count` requests have arrived; the last of them."""
        async with asyncio.timeout(wait_s), self._request_seen:
            await self._request_seen.wait_for(lambda: len(self.requests) >= count)
        return self.requests[count - 1]

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._serve(_Connection(reader, writer)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _reply_for(self, method: str, path: str) -> Reply:
        queue = self._routes.get((method, path))
        if not queue:
            return Reply.json({"error": f"wire server: no route for {method} {path}"}, status=404)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    async def _serve(self, conn: _Connection) -> None:
        try:
            while True:
                head = await conn.read_until(b"\r\n\r\n")
                if head is None:
                    return
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                headers = {}
                for line in header_lines:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await conn.read_exactly(int(headers.get("content-length", "0")))
                if body is None:
                    return
                path, _, query = target.partition("?")
                record = RecordedRequest(method, path, query, headers, body)
                async with self._request_seen:
                    self.requests.append(record)
                    self._request_seen.notify_all()
                if not await self._respond(conn, record, self._reply_for(method, path)):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            conn.writer.close()

    async def _watch_close(self, conn: _Connection, record: RecordedRequest) -> None:
        while not conn.eof:
            await conn.fill()
        record.client_closed.set()

    async def _pause(self, seconds: float, record: RecordedRequest) -> bool:
        """Sleep, ending early (False) when the client goes away."""
        if seconds <= 0:
            return not record.client_closed.is_set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(record.client_closed.wait(), seconds)
        return not record.client_closed.is_set()

    async def _respond(self, conn: _Connection, record: RecordedRequest, reply: Reply) -> bool:
        """Send `reply`; True when the connection may carry another request."""
        watcher = asyncio.create_task(self._watch_close(conn, record))
        try:
            if not await self._pause(reply.first_byte_delay, record):
                return False
            writer = conn.writer
            reason = _REASONS.get(reply.status, "Unknown")
            lines = [f"HTTP/1.1 {reply.status} {reason}", *(f"{k}: {v}" for k, v in reply.headers)]
            if reply.events is None:
                lines.append(f"content-length: {len(reply.body)}")
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + reply.body)
                await writer.drain()
                record.completed = True
                return True
            lines.append("transfer-encoding: chunked")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            for index, event in enumerate(reply.events):
                if index == reply.cut_after:
                    await writer.drain()
                    if reply.reset:
                        sock = writer.get_extra_info("socket")
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return False
                if index == reply.stall_after:
                    await writer.drain()
                    await record.client_closed.wait()
                    return False
                if index and not await self._pause(reply.event_delay, record):
                    return False
                if not reply.event_delay:
                    # Let other connections' streams interleave, as a real upstream's would.
                    await asyncio.sleep(0)
                writer.write(b"%x\r\n%s\r\n" % (len(event), event))
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            record.completed = True
            return True
        except ConnectionError:
            record.client_closed.set()
            return False
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
