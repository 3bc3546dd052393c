"""Route and Complete throughput and latency with ghz, beside a trivial grpc.aio echo server in the same run.

    scripts/install --bench && .venv/bin/python bench/bench_grpc.py [--duration 5] [--concurrency 1,16,64]

Each server runs in its own process; ghz runs in another. Prints requests/s, p50/p99 and server CPU time
per request for each (target, concurrency), and Route's throughput as a share of the echo floor.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GHZ = REPO / ".tools" / "bin" / "ghz"
PYTHON = sys.executable
BODY = {"messages": [{"role": "ROLE_USER", "content": "hola, ¿cuál es el precio del plan pro?"}]}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


@dataclass
class Result:
    target: str
    concurrency: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms_per_request: float


def ghz(target: str, port: int, call: str, concurrency: int, duration: float, pid: int, extra: list[str]) -> Result:
    cmd = [
        str(GHZ),
        "--insecure",
        "--format",
        "json",
        "-c",
        str(concurrency),
        "-z",
        f"{duration}s",
        "--connections",
        str(min(concurrency, 4)),
        "--call",
        call,
        "-d",
        json.dumps(BODY),
        *extra,
        f"127.0.0.1:{port}",
    ]
    before = cpu_seconds(pid)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    used = cpu_seconds(pid) - before
    report = json.loads(out)
    lat = {d["percentage"]: d["latency"] / 1e6 for d in report.get("latencyDistribution") or []}
    count = report["count"]
    errors = sum(
        (report.get("statusCodeDistribution") or {}).get(k, 0)
        for k in (report.get("statusCodeDistribution") or {})
        if k not in ("OK", "Canceled")
    )
    return Result(
        target, concurrency, report["rps"], lat.get(50, 0.0), lat.get(99, 0.0), errors, 1000 * used / max(count, 1)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--targets", default="echo,route,complete")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not GHZ.exists():
        sys.exit("ghz is missing: run scripts/install --bench")
    levels = [int(c) for c in args.concurrency.split(",")]
    targets = args.targets.split(",")

    echo_port, router_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.yaml"
        config.write_text("demo:\n  token_delay_ms: 0\nserver:\n  log_level: WARNING\n")
        env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
        echo = subprocess.Popen([PYTHON, str(REPO / "bench" / "echo_server.py"), f"127.0.0.1:{echo_port}"])
        router = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "router_service.cli.main",
                "serve",
                "--config",
                str(config),
                "--listen",
                f"127.0.0.1:{router_port}",
            ],
            env=env,
            cwd=REPO,
        )
        try:
            wait_port(echo_port)
            wait_port(router_port)
            # ghz's own proto parser predates proto3 `optional`: hand it compiled descriptor sets instead.
            protoset = Path(tmp) / "bench.protoset"
            subprocess.run(
                [
                    PYTHON,
                    "-m",
                    "grpc_tools.protoc",
                    f"-I{REPO / 'proto'}",
                    f"-I{REPO / 'bench'}",
                    "--include_imports",
                    f"--descriptor_set_out={protoset}",
                    "echo.proto",
                    "llmrouter/v1/router.proto",
                ],
                check=True,
            )
            echo_args = router_args = ["--protoset", str(protoset)]
            calls = {
                "echo": (echo_port, "bench.v1.EchoService.Echo", echo_args, echo.pid),
                "route": (router_port, "llmrouter.v1.RouterService.Route", router_args, router.pid),
                "complete": (router_port, "llmrouter.v1.RouterService.Complete", router_args, router.pid),
            }
            # Warm up every target once (imports, caches, connection set-up).
            for name in targets:
                port, call, extra, pid = calls[name]
                ghz(name, port, call, 4, 1.0, pid, extra)
            results = []
            for c in levels:
                for name in targets:
                    port, call, extra, pid = calls[name]
                    results.append(ghz(name, port, call, c, args.duration, pid, extra))
                    r = results[-1]
                    print(
                        f"{r.target:9s} c={r.concurrency:<3d} {r.rps:9.0f} req/s  p50 {r.p50_ms:7.2f} ms  "
                        f"p99 {r.p99_ms:7.2f} ms  cpu {r.cpu_ms_per_request:6.3f} ms/req  errors {r.errors}",
                        flush=True,
                    )
        finally:
            for proc in (echo, router):
                proc.terminate()
                proc.wait(10)

    print(
        f"\nmachine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    print(f"{'target':9s} {'conc':>4s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'cpu ms/req':>10s} {'vs echo':>8s}")
    by = {(r.target, r.concurrency): r for r in results}
    for r in results:
        floor = by.get(("echo", r.concurrency))
        ratio = f"{100 * r.rps / floor.rps:6.1f}%" if floor and floor.rps else "-"
        print(
            f"{r.target:9s} {r.concurrency:4d} {r.rps:9.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} "
            f"{r.cpu_ms_per_request:10.3f} {ratio:>8s}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=2))


if __name__ == "__main__":
    main()
