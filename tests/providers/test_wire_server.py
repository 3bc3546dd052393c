"""The wire server itself: byte-exact replay, chunking, cuts, header files and close detection."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.providers.wire_server import Reply, WireServer, read_headers_file, split_lines, split_sse, wire_file

STREAM_FILES = ["openai/stream.sse", "openai/stream_no_usage.sse", "anthropic/stream.sse", "gemini/stream.sse"]


@pytest.mark.parametrize("relative", STREAM_FILES)
def test_sse_split_is_lossless_and_one_event_per_piece(relative: str) -> None:
    data = wire_file(relative)
    events = split_sse(data)
    assert b"".join(events) == data
    terminator = b"\r\n\r\n" if b"\r\n" in data else b"\n\n"
    assert all(event.endswith(terminator) and event.count(terminator) == 1 for event in events)


def test_gemini_stream_file_is_crlf_framed() -> None:
    # The adapters must be tested against what Google really sends; guard against an LF-normalised copy.
    assert b"\r\n\r\n" in wire_file("gemini/stream.sse")
    assert b"\r" not in wire_file("gemini/stream_lf.sse")


def test_ndjson_split_is_lossless() -> None:
    data = wire_file("ollama/stream.ndjson")
    assert b"".join(split_lines(data)) == data
    assert len(split_lines(data)) == 4


def test_headers_file_keeps_status_and_drops_framing() -> None:
    status, headers = read_headers_file("openai/headers_200_stream.txt")
    assert status == 200
    names = [name.lower() for name, _ in headers]
    assert "transfer-encoding" not in names
    assert ("x-ratelimit-remaining-tokens", "197985") in headers


@pytest.mark.parametrize("relative", STREAM_FILES)
async def test_stream_arrives_byte_for_byte(wire: WireServer, relative: str) -> None:
    wire.add("POST", "/s", Reply.sse_file(relative))
    async with httpx.AsyncClient(base_url=wire.base_url) as client, client.stream("POST", "/s") as response:
        received = b"".join([chunk async for chunk in response.aiter_raw()])
    assert received == wire_file(relative)
    assert wire.requests[0].completed


async def test_whole_body_and_headers_file(wire: WireServer) -> None:
    wire.add("POST", "/e", Reply.file("openai/error_429.json", headers_file="openai/headers_429.txt"))
    async with httpx.AsyncClient(base_url=wire.base_url) as client:
        response = await client.post("/e", json={"a": 1})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.content == wire_file("openai/error_429.json")
    assert wire.requests[0].json() == {"a": 1}


async def test_cut_after_closes_without_terminator(wire: WireServer) -> None:
    wire.add("POST", "/s", Reply.sse_file("anthropic/stream.sse", cut_after=2))
    async with httpx.AsyncClient(base_url=wire.base_url) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            async with client.stream("POST", "/s") as response:
                async for _ in response.aiter_raw():
                    pass


async def test_client_close_is_recorded(wire: WireServer) -> None:
    wire.add("POST", "/s", Reply.sse_file("openai/stream.sse", stall_after=1))
    async with httpx.AsyncClient(base_url=wire.base_url) as client:
        async with client.stream("POST", "/s") as response:
            await anext(response.aiter_raw())
        record = wire.requests[0]
        await asyncio.wait_for(record.client_closed.wait(), 2)
    assert not record.completed


async def test_unrouted_request_is_a_404_and_recorded(wire: WireServer) -> None:
    async with httpx.AsyncClient(base_url=wire.base_url) as client:
        response = await client.get("/nowhere?x=1")
    assert response.status_code == 404
    assert (wire.requests[0].path, wire.requests[0].query) == ("/nowhere", "x=1")


async def test_keep_alive_serves_several_requests_on_one_connection(wire: WireServer) -> None:
    wire.add("GET", "/a", Reply.json({"n": 1}), Reply.json({"n": 2}))
    async with httpx.AsyncClient(base_url=wire.base_url) as client:
        first = (await client.get("/a")).json()
        second = (await client.get("/a")).json()
        third = (await client.get("/a")).json()
    assert [first, second, third] == [{"n": 1}, {"n": 2}, {"n": 2}]
