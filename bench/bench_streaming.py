"""Streaming overhead of the provider layer.

A local upstream (the tests' wire server, in its own process so it does not share the client's event
loop) streams an OpenAI-format chat completion of 200 content chunks. Each client reads it many times at
concurrency 1 and 64 and prints time to first delta (TTFD) and total time (p50 / p99) and deltas per
second:

- `httpx`: httpx + httpx-sse directly, parsing each chunk's JSON: the floor.
- `adapter`: `OpenAICompatibleAdapter.stream()`: the same plus error mapping, deadlines and usage.
- `grpc`: the router (its own process) relaying the same upstream stream through `StreamComplete`
  (chunks that arrive while a gRPC write is under way ride in the next message, so deltas counts the
  upstream chunks relayed),
  read with the generated stubs; the router's own CPU per delta is printed too (its deltas per
  CPU-second is the per-process relay capacity).

Clients are entries of `CLIENTS` (an async factory returning a one-stream coroutine function), so an
end-to-end gRPC client can be added as one more entry with its own command-line address.

    .venv/bin/python bench/bench_streaming.py [--streams 200] [--concurrency 1 64] [--event-delay-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from httpx_sse import aconnect_sse

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for tests.providers.wire_server, the upstream

from router_service.config import ProviderSettings  # noqa: E402
from router_service.domain import ChatMessage, Role  # noqa: E402
from router_service.providers.base import ProviderRequest, TextChunk  # noqa: E402
from router_service.providers.openai import OpenAICompatibleAdapter  # noqa: E402
from router_service.providers.registry import make_http_client  # noqa: E402
from tests.providers.wire_server import Reply, WireServer  # noqa: E402

CHUNKS = 200
MODEL = "gpt-4o-mini"
PATH = "/v1/chat/completions"


def openai_events(chunks: int) -> list[bytes]:
    """An OpenAI chat.completion.chunk stream: role chunk, `chunks` deltas, finish, usage, [DONE]."""
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1769092764, "model": MODEL}

    def event(choices: list[object], usage: object = None) -> bytes:
        return b"data: " + json.dumps({**base, "choices": choices, "usage": usage}).encode() + b"\n\n"

    def choice(delta: object, finish: str | None = None) -> list[object]:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

    usage = {"prompt_tokens": 12, "completion_tokens": chunks, "total_tokens": 12 + chunks}
    return [
        event(choice({"role": "assistant", "content": "", "refusal": None})),
        *(event(choice({"content": f" tok{i}"})) for i in range(chunks)),
        event(choice({}, "stop")),
        event([], usage),
        b"data: [DONE]\n\n",
    ]


def _serve(conn: Connection, chunks: int, event_delay: float) -> None:
    async def main() -> None:
        async with WireServer() as server:
            server.add("POST", PATH, Reply.sse(openai_events(chunks), event_delay=event_delay))
            conn.send(server.base_url)
            # Recorded requests would grow without bound over a long run.
            while True:
                server.requests.clear()
                await asyncio.sleep(1)

    asyncio.run(main())


@dataclass(frozen=True)
class Sample:
    ttfd: float
    total: float
    deltas: int


OneStream = Callable[[], Awaitable[Sample]]


def _request_body() -> dict[str, object]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Count."}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def _settings() -> ProviderSettings:
    return ProviderSettings(kind="openai", max_connections=256)


@contextlib.asynccontextmanager
async def httpx_client(base_url: str) -> AsyncIterator[OneStream]:
    client = make_http_client(_settings(), base_url + "/v1")
    body = _request_body()

    async def one() -> Sample:
        start = time.perf_counter()
        first, deltas = 0.0, 0
        async with aconnect_sse(client, "POST", "/chat/completions", json=body) as source:
            async for sse in source.aiter_sse():
                if sse.data == "[DONE]":
                    continue  # read to the end, as the adapter does, so the connection is reused
                for choice in json.loads(sse.data)["choices"]:
                    if choice["delta"].get("content"):
                        deltas += 1
                        first = first or time.perf_counter()
        return Sample(first - start, time.perf_counter() - start, deltas)

    try:
        yield one
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def adapter_client(base_url: str) -> AsyncIterator[OneStream]:
    settings = _settings()
    adapter = OpenAICompatibleAdapter(
        "bench", settings, base_url + "/v1", None, make_http_client(settings, base_url + "/v1")
    )
    request = ProviderRequest(MODEL, (ChatMessage(Role.USER, "Count."),), timeout=60.0)

    async def one() -> Sample:
        start = time.perf_counter()
        first, deltas = 0.0, 0
        async for event in adapter.stream(request):
            if isinstance(event, TextChunk):
                deltas += 1
                first = first or time.perf_counter()
        return Sample(first - start, time.perf_counter() - start, deltas)

    try:
        yield one
    finally:
        await adapter.aclose()


# Processes whose CPU is measured beside the client's (the router for the grpc client).
SERVER_PIDS: dict[str, int] = {}


def _process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def grpc_client(base_url: str) -> AsyncIterator[OneStream]:
    import grpc
    from llmrouter.v1 import router_pb2 as pb
    from llmrouter.v1 import router_pb2_grpc as pb_grpc

    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "router.yaml"
        config.write_text(
            "server: {log_level: WARNING}\n"
            f"providers: {{bench: {{kind: openai, base_url: '{base_url}/v1', api_key_env: [BENCH_KEY]}}}}\n"
            "catalog: {models: [{provider: bench, model: " + MODEL + ", tier: fast, input_per_mtok: '0.15',"
            " output_per_mtok: '0.6', context_window: 128000, max_output_tokens: 16384,"
            " capabilities: {streaming: true}, quality: {overall: 0.8}, latency_prior_ms: 300}]}\n"
            "executor: {probe_idle_s: 0}\n"
        )
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
        router = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "router_service.cli.main",
            "serve",
            "--config",
            str(config),
            "--listen",
            f"127.0.0.1:{port}",
            env={**env, "BENCH_KEY": "bench"},
            cwd=REPO,
        )
        SERVER_PIDS["grpc"] = router.pid
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        try:
            await asyncio.wait_for(channel.channel_ready(), 20)
            stub = pb_grpc.RouterServiceStub(channel)
            request = pb.CompleteRequest(
                messages=[pb.Message(role=pb.ROLE_USER, content="Count.")],
                preferences=pb.RoutingPreferences(force_model=pb.ModelRef(provider="bench", model=MODEL)),
            )

            async def one() -> Sample:
                start = time.perf_counter()
                first, deltas = 0.0, 0
                async for event in stub.StreamComplete(request, timeout=60):
                    if event.HasField("delta"):
                        # The router may carry several upstream chunks in one message when they arrive
                        # faster than it writes: count the upstream chunks (" tok<i>") relayed.
                        deltas += event.delta.text.count(" tok")
                        first = first or time.perf_counter()
                return Sample(first - start, time.perf_counter() - start, deltas)

            yield one
        finally:
            await channel.close()
            router.terminate()
            await router.wait()


CLIENTS: dict[str, Callable[[str], contextlib.AbstractAsyncContextManager[OneStream]]] = {
    "httpx": httpx_client,
    "adapter": adapter_client,
    "grpc": grpc_client,
}


async def run(one: OneStream, streams: int, concurrency: int) -> tuple[list[Sample], float, float]:
    """Samples, wall seconds and this process's CPU seconds for `streams` streams."""
    await asyncio.gather(*(one() for _ in range(concurrency)))  # warm the pool: connections, imports
    samples: list[Sample] = []
    remaining = streams

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            samples.append(await one())

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples, time.perf_counter() - started, time.process_time() - cpu


async def run_measured(
    name: str, one: OneStream, streams: int, concurrency: int
) -> tuple[list[Sample], float, float, float]:
    """`run`, plus the CPU seconds the client's server process (if any) used meanwhile."""
    pid = SERVER_PIDS.get(name)
    before = _process_cpu(pid) if pid else 0.0
    samples, wall, cpu = await run(one, streams, concurrency)
    return samples, wall, cpu, (_process_cpu(pid) - before) if pid else 0.0


async def _compare(clients: dict[str, OneStream], args: argparse.Namespace, concurrency: int) -> None:
    """Clients take turns in rounds, so drift in the machine's load does not favour one of them."""
    samples: dict[str, list[Sample]] = {name: [] for name in clients}
    walls, cpus = dict.fromkeys(clients, 0.0), dict.fromkeys(clients, 0.0)
    server_cpus = dict.fromkeys(clients, 0.0)
    rounds = max(1, min(args.rounds, args.streams // concurrency))
    for _ in range(rounds):
        for name, one in clients.items():
            batch, wall, cpu, server_cpu = await run_measured(name, one, args.streams // rounds, concurrency)
            samples[name] += batch
            walls[name] += wall
            cpus[name] += cpu
            server_cpus[name] += server_cpu
    for name, got in samples.items():
        short = sum(1 for s in got if s.deltas != args.chunks)
        if short:
            print(f"{name}: {short} streams lost deltas")
        ttfd, total = [s.ttfd for s in got], [s.total for s in got]
        deltas = sum(s.deltas for s in got)
        print(f"{name:8} {concurrency:4d} {len(got):7d} {_ms(ttfd, 0.5)}  {_ms(ttfd, 0.99)}  "
              f"{_ms(total, 0.5)}  {_ms(total, 0.99)} {deltas / walls[name]:10.0f} "
              f"{cpus[name] / deltas * 1e6:12.1f}")  # fmt: skip
    # CPU per delta is the steadier figure on a shared machine: wall times also measure the neighbours.
    per_delta = {name: cpus[name] / sum(s.deltas for s in got) * 1e6 for name, got in samples.items()}
    print(f"  adapter minus httpx: {per_delta['adapter'] - per_delta['httpx']:+.1f} µs of client CPU per delta")
    if "grpc" in samples:
        relayed = sum(s.deltas for s in samples["grpc"])
        ttfd = {name: sorted(s.ttfd for s in got)[len(got) // 2] for name, got in samples.items()}
        print(
            f"  router: {server_cpus['grpc'] / relayed * 1e6:.1f} µs of router CPU per relayed delta = "
            f"{relayed / server_cpus['grpc']:,.0f} deltas per router CPU-second; "
            f"TTFD p50 through the router minus direct httpx: {(ttfd['grpc'] - ttfd['httpx']) * 1000:+.2f} ms"
        )


def _ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000:8.2f}"


async def main(args: argparse.Namespace) -> None:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child, args.chunks, args.event_delay_ms / 1000), daemon=True)
    server.start()
    base_url = parent.recv()
    try:
        print(f"upstream {base_url}: {args.chunks} content chunks per stream, event delay {args.event_delay_ms} ms")
        print(f"{'client':8} {'conc':>4} {'streams':>7} {'ttfd p50':>9} {'ttfd p99':>9} "
              f"{'total p50':>9} {'total p99':>9} {'deltas/s':>10} {'cpu µs/delta':>12}  (times in ms)")  # fmt: skip
        async with contextlib.AsyncExitStack() as stack:
            clients = {name: await stack.enter_async_context(factory(base_url)) for name, factory in CLIENTS.items()}
            for concurrency in args.concurrency:
                await _compare(clients, args, concurrency)
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=200, help="timed streams per client and concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--rounds", type=int, default=5, help="turns each client takes, interleaved")
    parser.add_argument("--chunks", type=int, default=CHUNKS, help="content chunks per stream")
    parser.add_argument("--event-delay-ms", type=float, default=0.0, help="upstream pause between chunks")
    asyncio.run(main(parser.parse_args()))
