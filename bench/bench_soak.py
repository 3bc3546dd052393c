"""Soak: 200 concurrent callers for 60 s against upstreams that fail 20% and stall 5% of the time,
beside one healthy upstream. Prints success rate, latency, fallbacks, open breakers, the router's own
overhead (client latency minus the upstream attempts' time) and the router's RSS at start and end.

    .venv/bin/python bench/bench_soak.py [--callers 200] [--duration 60]

Targets (issue 8): success 100% while one upstream stays healthy, RSS growth < 20 MB, router p99
overhead < 10 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc
from llmrouter.v1 import router_pb2 as pb
from llmrouter.v1 import router_pb2_grpc as pb_grpc

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_upstream(*args: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([PY, str(REPO / "bench" / "upstream.py"), *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, int(line.split()[1])


def entry(provider: str, price: str) -> str:
    return (
        f"    - {{provider: {provider}, model: m, tier: fast, input_per_mtok: '{price}', output_per_mtok: '{price}',"
        f" context_window: 128000, max_output_tokens: 4096, capabilities: {{streaming: true}},"
        f" quality: {{overall: 0.8}}, latency_prior_ms: 100}}\n"
    )


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] if ordered else 0.0


async def run(args: argparse.Namespace, address: str) -> dict[str, object]:
    latencies: list[float] = []
    overheads: list[float] = []
    client_overheads: list[float] = []
    failures: dict[str, int] = {}
    fallbacks = 0
    done = 0
    stop_at = time.monotonic() + args.duration
    channels = [grpc.aio.insecure_channel(address) for _ in range(4)]
    stubs = [pb_grpc.RouterServiceStub(c) for c in channels]
    prefs = pb.RoutingPreferences(
        strategy=pb.STRATEGY_CHEAPEST_FIRST, allowed_providers=["flaky1", "flaky2", "healthy"]
    )

    interval = args.callers / args.rate
    rng = random.Random(11)

    async def caller(n: int) -> None:
        nonlocal fallbacks, done
        stub = stubs[n % len(stubs)]
        i = 0
        await asyncio.sleep(rng.uniform(0, interval))
        while time.monotonic() < stop_at:
            # Each caller is a user who sends about one request per `interval` (Poisson arrivals).
            next_at = time.monotonic() + rng.expovariate(1 / interval)
            i += 1
            stream = i % 4 == 0
            request = pb.CompleteRequest(
                messages=[pb.Message(role=pb.ROLE_USER, content=f"soak {n} {i}: what are your hours?")],
                preferences=prefs,
            )
            started = time.perf_counter()
            try:
                if stream:
                    summary = None
                    async for event in stub.StreamComplete(request, timeout=15):
                        if event.WhichOneof("event") == "summary":
                            summary = event.summary
                    assert summary is not None
                else:
                    summary = (await stub.Complete(request, timeout=15)).summary
            except grpc.aio.AioRpcError as exc:
                failures[exc.code().name] = failures.get(exc.code().name, 0) + 1
                continue
            elapsed = time.perf_counter() - started
            latencies.append(elapsed)
            upstream = sum(a.latency.ToNanoseconds() for a in summary.attempts) / 1e9
            # The router's own time: its wall time for the request minus the upstream attempts' time.
            overheads.append(max(summary.latency.ToNanoseconds() / 1e9 - upstream, 0.0))
            client_overheads.append(max(elapsed - upstream, 0.0))
            fallbacks += len(summary.attempts) > 1
            done += 1
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    await asyncio.gather(*(caller(n) for n in range(args.callers)))
    async with grpc.aio.insecure_channel(address) as channel:
        models = await pb_grpc.RouterServiceStub(channel).ListModels(pb.ListModelsRequest())
    open_breakers = [
        f"{m.model.provider}/{d.name}"
        for m in models.models
        for d in m.deployments
        if d.breaker != pb.BREAKER_STATE_CLOSED
    ]
    for c in channels:
        await c.close()
    total = done + sum(failures.values())
    return {
        "total": total,
        "ok": done,
        "failures": failures,
        "latencies": latencies,
        "overheads": overheads,
        "client_overheads": client_overheads,
        "fallbacks": fallbacks,
        "open_breakers": open_breakers,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--callers", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=200.0, help="total requests per second across all callers")
    args = parser.parse_args()
    flaky1, p1 = start_upstream("--fail", "0.2", "--stall", "0.05", "--latency-ms", "20", "--seed", "1")
    flaky2, p2 = start_upstream("--fail", "0.2", "--stall", "0.05", "--latency-ms", "20", "--seed", "2")
    healthy, p3 = start_upstream("--latency-ms", "20", "--seed", "3")
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "soak.yaml"
        config.write_text(
            "server:\n  log_level: WARNING\n"
            "providers:\n"
            f"  flaky1: {{kind: openai, base_url: 'http://127.0.0.1:{p1}/v1', api_key_env: [SOAK_KEY]}}\n"
            f"  flaky2: {{kind: openai, base_url: 'http://127.0.0.1:{p2}/v1', api_key_env: [SOAK_KEY]}}\n"
            f"  healthy: {{kind: openai, base_url: 'http://127.0.0.1:{p3}/v1', api_key_env: [SOAK_KEY]}}\n"
            "catalog:\n  models:\n"
            + entry("flaky1", "0.1")
            + entry("flaky2", "0.2")
            + entry("healthy", "0.3")
            + "executor:\n  timeout_s: 1.0\n  probe_idle_s: 0\n"
        )
        env = {**{k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}, "SOAK_KEY": "soak"}
        port = 50000 + os.getpid() % 10000
        router = subprocess.Popen(
            [PY, "-m", "router_service.cli.main", "serve", "--config", str(config), "--listen", f"127.0.0.1:{port}"],
            env=env,
            cwd=REPO,
        )
        try:
            time.sleep(2.0)
            rss_start = rss_mb(router.pid)
            warm: list[float] = []

            def sample_warm() -> None:
                # After the first sixth of the run the bounded tables are filling; a plateau after it means
                # growth is warm-up, not a leak.
                time.sleep(args.duration / 6)
                warm.append(rss_mb(router.pid))

            sampler = threading.Thread(target=sample_warm, daemon=True)
            sampler.start()
            result = asyncio.run(run(args, f"127.0.0.1:{port}"))
            rss_end = rss_mb(router.pid)
        finally:
            router.terminate()
            router.wait(30)
            for proc in (flaky1, flaky2, healthy):
                proc.terminate()
    lat = result["latencies"]
    over = result["overheads"]
    assert isinstance(lat, list) and isinstance(over, list)
    print(
        f"machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}; {args.callers} callers for "
        f"{args.duration:.0f} s at {args.rate:.0f} req/s offered"
    )
    print(f"requests            {result['total']} ({result['ok']} ok, failures {result['failures']})")
    print(f"success rate        {100 * int(result['ok']) / max(int(result['total']), 1):.3f}%")  # type: ignore[call-overload]
    print(f"throughput          {int(result['ok']) / args.duration:.0f} req/s")  # type: ignore[call-overload]
    print(f"latency             p50 {1000 * quantile(lat, 0.5):.1f} ms, p99 {1000 * quantile(lat, 0.99):.1f} ms")
    client = result["client_overheads"]
    assert isinstance(client, list)
    print(
        f"router overhead     p50 {1000 * quantile(over, 0.5):.2f} ms, p99 {1000 * quantile(over, 0.99):.2f} ms "
        f"(router wall time minus upstream attempt time)"
    )
    print(
        f"seen by the client  p50 {1000 * quantile(client, 0.5):.2f} ms, p99 {1000 * quantile(client, 0.99):.2f} ms "
        f"(client latency minus upstream attempt time: adds the client, the network and CPU contention)"
    )
    print(f"fallbacks taken     {result['fallbacks']}")
    print(f"open breakers       {result['open_breakers'] or 'none'} (at the end)")
    growth = rss_end - rss_start
    print(f"router RSS          {rss_start:.1f} MB at start, {rss_end:.1f} MB at end (growth {growth:+.1f} MB)")
    if warm:
        print(f"                    {warm[0]:.1f} MB after {args.duration / 6:.0f} s (growth after that "
              f"{rss_end - warm[0]:+.1f} MB)")
    if over:
        print(f"mean overhead       {1000 * statistics.fmean(over):.2f} ms")


if __name__ == "__main__":
    main()
