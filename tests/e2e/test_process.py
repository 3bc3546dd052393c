"""The real `llm-router` process: embedded default, graceful shutdown, bad config, the CLI for people."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from llmrouter.v1 import router_pb2 as pb
from llmrouter.v1 import router_pb2_grpc as pb_grpc

from tests.conftest import REPO, user

CLI = [sys.executable, "-m", "router_service.cli.main"]
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env or CLEAN_ENV,
        cwd=REPO,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


class Process:
    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc = proc
        self.port = port
        self.address = f"127.0.0.1:{port}"


async def wait_serving(address: str) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for _ in range(200):
            try:
                r = await health.Check(health_pb2.HealthCheckRequest(), timeout=0.5)
                if r.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"server at {address} never became SERVING")


@pytest.fixture
async def process(tmp_path: Path) -> AsyncIterator[Process]:
    port = free_port()
    config = tmp_path / "router.yaml"
    config.write_text("server:\n  grace_period_s: 5\ndemo:\n  token_delay_ms: 30\n")
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "serve",
        "--config",
        str(config),
        "--listen",
        f"127.0.0.1:{port}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=CLEAN_ENV,
        cwd=REPO,
    )
    running = Process(proc, port)
    try:
        await wait_serving(running.address)
        yield running
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_embedded_default_logs_demo_and_answers(process: Process) -> None:
    async with grpc.aio.insecure_channel(process.address) as channel:
        stub = pb_grpc.RouterServiceStub(channel)
        done = await stub.Complete(pb.CompleteRequest(messages=user("hola")))
        assert done.summary.model.provider == "demo"
    process.proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(process.proc.communicate(), 20)
    log = err.decode()
    assert "demo only" in log and "OPENAI_API_KEY" in log
    assert process.proc.returncode == 0


async def test_sigterm_drains_in_flight_stream_then_exits_zero(process: Process) -> None:
    async with grpc.aio.insecure_channel(process.address) as channel:
        stub = pb_grpc.RouterServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)
        watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
        call = stub.StreamComplete(pb.CompleteRequest(messages=user("hi")))
        first = await call.read()
        assert first.WhichOneof("event") == "decision"
        process.proc.send_signal(signal.SIGTERM)
        assert (await asyncio.wait_for(watch.read(), 5)).status == health_pb2.HealthCheckResponse.NOT_SERVING
        rest = []
        while (event := await call.read()) is not grpc.aio.EOF:
            rest.append(event)
        assert rest[-1].WhichOneof("event") == "summary", "the in-flight stream must finish"
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Route(pb.RouteRequest(messages=user("hi")), timeout=2)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    await asyncio.wait_for(process.proc.wait(), 10)
    assert process.proc.returncode == 0


async def test_cli_route_complete_stream_report_models(process: Process) -> None:
    address = ["--address", process.address]
    code, out, _ = await run_cli("route", "hola, ¿cuál es el precio?", *address)
    assert code == 0 and "demo/" in out and "reason" in out
    code, out, _ = await run_cli("route", "hi", "--strategy", "quality_optimized", "--json", *address)
    assert code == 0 and json.loads(out)["decision"]["strategy"] == "STRATEGY_QUALITY_OPTIMIZED"
    code, out, err = await run_cli("complete", "hello", "--model", "demo/demo-balanced", *address)
    assert code == 0 and out.startswith("[demo:demo-balanced]") and "answered by demo/demo-balanced" in err
    code, out, err = await run_cli("complete", "hello", "--stream", *address)
    assert code == 0 and "[demo:" in out and "cost $" in err
    code, out, _ = await run_cli("cost-report", *address)
    assert code == 0 and "TOTAL" in out and "demo/demo-balanced" in out
    code, out, _ = await run_cli("cost-report", "--format", "csv", "--group-by", "provider", *address)
    lines = out.strip().splitlines()
    assert code == 0 and lines[0].startswith("provider,requests") and lines[-1].startswith("TOTAL,2,")
    code, out, _ = await run_cli("models", "--provider", "demo", *address)
    assert code == 0 and "demo/demo-premium" in out


async def test_cli_errors_print_status_without_traceback(process: Process) -> None:
    code, _, err = await run_cli("route", "hi", "--model", "demo/nope", "--address", process.address)
    assert code == 1 and "NOT_FOUND" in err and "Traceback" not in err
    code, _, err = await run_cli("complete", "hi", "--temperature", "9", "--address", process.address)
    assert code == 1 and "INVALID_ARGUMENT" in err and "params.temperature" in err
    code, _, err = await run_cli("route", "hi", "--address", f"127.0.0.1:{free_port()}", "--timeout", "1")
    assert (code == 1 and "UNAVAILABLE" in err) or "DEADLINE_EXCEEDED" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("server:\n  listen: nowhere\n", "server.listen"),
        ("routing:\n  default_strategy: fastest\n", "routing.default_strategy"),
        ("providers:\n  openai:\n    timeout_s: -1\n", "providers.openai.timeout_s"),
        ("server: [unclosed\n", "not valid YAML"),
        ("demo:\n  unknown_field: 1\n", "demo.unknown_field"),
    ],
)
async def test_bad_config_stops_with_file_field_and_reason(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    code, _, err = await run_cli("serve", "--config", str(path))
    assert code == 2
    assert str(path) in err and expected in err
    assert "Traceback" not in err


async def test_cli_analyze_text_and_eval(tmp_path: Path) -> None:
    code, out, _ = await run_cli("analyze", "hola, ¿cuál es el precio?", "--json")
    assert code == 0 and json.loads(out)["language"]
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"text": "hola", "lang": "es", "complexity": "TRIVIAL"}\n'
                    '{"text": "Write a Python function that reverses a list.", "domain": "coding", "lang": "en"}\n')
    code, out, _ = await run_cli("analyze", "--eval", str(rows), "--json")
    figures = json.loads(out)
    assert code == 0 and figures["lang"]["n"] == 2 and figures["domain"]["n"] == 1
    assert {"accuracy", "macro_f1", "n"} <= set(figures["lang"])
