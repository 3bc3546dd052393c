"""What metrics, request logs and tracing cost: Route (and Complete) throughput with observability on vs off.

    scripts/install --bench && .venv/bin/python bench/bench_observability.py [--observability both]
        [--duration 5] [--concurrency 16] [--rounds 5] [--targets route,complete]

Each mode runs in its own router process, driven by ghz (bench/bench_grpc.py's machinery); rounds alternate
off/on so drift hits both, and the median round counts. "on" = Prometheus metrics (scraped once a second
while loaded), one JSON log line per accounted request (to a file), and OpenTelemetry spans for every call
(sampled at the configured default ratio, --sample-ratio to change) through a batching processor into an
exporter that drops them (the SDK's full cost is paid, no collector is needed). "off" = the no-op Observer.
Target: under 10% of Route throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contextlib

from bench_grpc import GHZ, PYTHON, REPO, Result, free_port, ghz, wait_port

sys.path.insert(0, str(REPO))
from router_service.observability.settings import TracingSettings


def serve(mode: str, port: int, admin_port: int, parts: set[str], sample_ratio: float) -> None:
    """Child process: a router on `port` with observability `mode` ("on" or "off"); `parts` of "on"."""
    sys.path.insert(0, str(REPO))
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    from router_service.config import RouterConfig
    from router_service.observability.logs import configure_logging
    from router_service.observability.metrics import RouterMetrics
    from router_service.observability.observer import LiveObserver, Observer
    from router_service.observability.tracing import Tracing, new_provider
    from router_service.server.app import start_server

    class DropExporter(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    on = mode == "on"
    metrics, logs, tracing = (on and part in parts for part in ("metrics", "logs", "tracing"))
    config = RouterConfig.model_validate(
        {
            "server": {"listen": f"127.0.0.1:{port}", "log_level": "INFO" if logs else "WARNING", "log_format": "json"},
            "demo": {"token_delay_ms": 0},
            "admin": {
                "enabled": metrics,
                "listen": f"127.0.0.1:{admin_port}",
                "metrics": metrics,
                "request_logs": logs,
            },
        }
    )
    configure_logging(config.server.log_level, config.server.log_format)
    observer: Observer = Observer()
    if on:
        spans = None
        if tracing:
            provider = new_provider("llm-router-bench")
            provider.add_span_processor(BatchSpanProcessor(DropExporter()))
            spans = Tracing(provider, sample_ratio)
        observer = LiveObserver(config.admin, RouterMetrics() if metrics else None, spans)
        time_hooks()

    async def main() -> None:
        running = await start_server(config, {}, observer=observer)
        try:
            await asyncio.Event().wait()
        finally:
            await running.stop(0)

    asyncio.run(main())


HOOK_SECONDS: dict[str, float] = {}


def time_hooks() -> None:
    """Child with observability on: wrap every observer entry point, so the time spent inside them can be
    reported directly (SIGUSR1 prints the running total). A throughput difference between two processes
    on a shared 2-core machine is noisy; this is not. Adds ~0.2 µs per hook, so it is an upper bound."""
    import signal

    from router_service.observability import observer as hooks
    from router_service.observability import tracing

    targets = [
        (hooks._RpcScope, "__enter__"),
        (hooks._RpcScope, "__exit__"),
        (hooks._NullSpan, "__enter__"),
        (hooks._NullSpan, "__exit__"),
        (tracing.ChildSpan, "__enter__"),
        (tracing.ChildSpan, "__exit__"),
        *((hooks.LiveObserver, name) for name in ("rpc", "span", "routed", "request_accounted", "cache_result",
                                                   "cache_stored", "cache_evicted", "breaker_state")),
    ]  # fmt: skip
    clock = time.perf_counter
    for owner, name in targets:
        original = getattr(owner, name)

        key = f"{owner.__name__}.{name}"

        def timed(*args: object, _original: object = original, _key: str = key, **kwargs: object) -> object:
            started = clock()
            try:
                return _original(*args, **kwargs)  # type: ignore[operator]
            finally:
                HOOK_SECONDS[_key] = HOOK_SECONDS.get(_key, 0.0) + clock() - started

        setattr(owner, name, timed)

    def report(*_: object) -> None:
        print(f"HOOKS {sum(HOOK_SECONDS.values()):.9f} {json.dumps(HOOK_SECONDS)}", file=sys.stderr, flush=True)

    signal.signal(signal.SIGUSR1, report)


def hook_seconds(proc: subprocess.Popen[bytes], log: Path) -> tuple[float, dict[str, float]]:
    proc.send_signal(signal.SIGUSR1)
    time.sleep(0.2)
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.startswith("HOOKS ")]
    if not lines:
        return 0.0, {}
    _, total, by_hook = lines[-1].split(" ", 2)
    return float(total), json.loads(by_hook)


def scrape_while(port: int, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--observability", choices=["on", "off", "both"], default="both")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--concurrency", default="16")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--targets", default="route,complete")
    parser.add_argument("--parts", default="metrics,logs,tracing", help="what 'on' includes (for diagnosis)")
    parser.add_argument(
        "--sample-ratio", type=float, default=TracingSettings().sample_ratio, help="trace sampling when tracing is on"
    )
    parser.add_argument("--serve", choices=["on", "off"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--admin-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.admin_port, set(args.parts.split(",")), args.sample_ratio)
        return
    if not GHZ.exists():
        sys.exit("ghz is missing: run scripts/install --bench")
    modes = ["off", "on"] if args.observability == "both" else [args.observability]
    levels = [int(c) for c in args.concurrency.split(",")]
    targets = args.targets.split(",")
    calls = {"route": "llmrouter.v1.RouterService.Route", "complete": "llmrouter.v1.RouterService.Complete"}
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}

    with tempfile.TemporaryDirectory() as tmp:
        protoset = Path(tmp) / "router.protoset"
        subprocess.run(
            [PYTHON, "-m", "grpc_tools.protoc", f"-I{REPO / 'proto'}", "--include_imports",
             f"--descriptor_set_out={protoset}", "llmrouter/v1/router.proto"],
            check=True,
        )  # fmt: skip
        servers: dict[str, tuple[subprocess.Popen[bytes], int, int]] = {}
        try:
            for mode in modes:
                port, admin_port = free_port(), free_port()
                log = (Path(tmp) / f"router-{mode}.log").open("wb")
                proc = subprocess.Popen(
                    [PYTHON, __file__, "--serve", mode, "--port", str(port), "--admin-port", str(admin_port),
                     "--parts", args.parts, "--sample-ratio", str(args.sample_ratio)],
                    env=env, cwd=REPO, stderr=log, stdout=log,
                )  # fmt: skip
                servers[mode] = (proc, port, admin_port)
            for _, port, _ in servers.values():
                wait_port(port)
            extra = ["--protoset", str(protoset)]
            for proc, port, _ in servers.values():  # warm-up: imports, caches, connections
                for target in targets:
                    ghz(target, port, calls[target], 4, 1.0, proc.pid, extra)
            results: dict[tuple[str, str, int], list[Result]] = {}
            hooks: dict[tuple[str, int], list[float]] = {}
            breakdown: dict[str, dict[str, float]] = {}
            for c in levels:
                for target in targets:
                    for _ in range(args.rounds):
                        for mode, (proc, port, admin_port) in servers.items():
                            stop = threading.Event()
                            scraper = threading.Thread(target=scrape_while, args=(admin_port, stop), daemon=True)
                            if mode == "on" and "metrics" in args.parts:
                                scraper.start()
                            log = Path(tmp) / f"router-{mode}.log"
                            before = hook_seconds(proc, log) if mode == "on" else (0.0, {})
                            r = ghz(target, port, calls[target], c, args.duration, proc.pid, extra)
                            stop.set()
                            if mode == "on":
                                served = max(1.0, r.rps * args.duration)
                                after = hook_seconds(proc, log)
                                hooks.setdefault((target, c), []).append(1e6 * (after[0] - before[0]) / served)
                                breakdown[target] = {
                                    k: 1e6 * (v - before[1].get(k, 0.0)) / served for k, v in after[1].items()
                                }
                            results.setdefault((target, mode, c), []).append(r)
                            print(
                                f"{target:9s} {mode:3s} c={c:<3d} {r.rps:8.0f} req/s  p50 {r.p50_ms:6.2f} ms  "
                                f"p99 {r.p99_ms:6.2f} ms  cpu {r.cpu_ms_per_request:6.3f} ms/req  errors {r.errors}",
                                flush=True,
                            )
            log_lines = sum(1 for _ in (Path(tmp) / "router-on.log").open()) if "on" in servers else 0
        finally:
            for proc, _, _ in servers.values():
                proc.terminate()
                proc.wait(10)

    print(f"\nmedian of {args.rounds} rounds, {args.duration:.0f}s each; {os.cpu_count()} cores; "
          f"{time.strftime('%Y-%m-%d')}")  # fmt: skip
    # Three views of the cost: throughput lost; router CPU per call (on a saturated router throughput is
    # inversely proportional to it); and the time measured inside the observer's hooks per call, as a share
    # of the router's CPU per call with observability off (the steadiest on a shared machine).
    print(f"{'target':9s} {'conc':>4s} {'off req/s':>10s} {'on req/s':>10s} {'lost':>7s} "
          f"{'off cpu ms':>10s} {'on cpu ms':>10s} {'cpu +':>7s} {'hooks µs':>9s} {'of off':>8s}")  # fmt: skip
    for c in levels:
        for target in targets:
            off = results.get((target, "off", c))
            on = results.get((target, "on", c))
            off_rps = statistics.median(r.rps for r in off) if off else 0.0
            on_rps = statistics.median(r.rps for r in on) if on else 0.0
            cost = f"{100 * (1 - on_rps / off_rps):6.1f}%" if off and on and off_rps else "-"
            off_cpu = statistics.median(r.cpu_ms_per_request for r in off) if off else 0.0
            on_cpu = statistics.median(r.cpu_ms_per_request for r in on) if on else 0.0
            extra_cpu = f"{100 * (on_cpu / off_cpu - 1):6.1f}%" if off and on and off_cpu else "-"
            in_hooks = statistics.median(hooks[(target, c)]) if (target, c) in hooks else 0.0
            share = f"{100 * in_hooks / (1000 * off_cpu):5.1f}%" if off and off_cpu and in_hooks else "-"
            print(
                f"{target:9s} {c:4d} {off_rps:10.0f} {on_rps:10.0f} {cost:>7s} {off_cpu:10.3f} {on_cpu:10.3f} "
                f"{extra_cpu:>7s} {in_hooks:9.1f} {share:>8s}"
            )
    for target, by_hook in breakdown.items():
        top = sorted(((v, k) for k, v in by_hook.items() if v >= 0.05), reverse=True)
        print(f"{target}: µs per call in " + ", ".join(f"{k} {v:.1f}" for v, k in top))
    if "on" in modes:
        print(f"request log lines written with observability on: {log_lines}")


if __name__ == "__main__":
    main()
