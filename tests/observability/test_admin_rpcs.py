"""AdminService on a real router: reload (RPC and SIGHUP), a bad file rejected, drain, and who may call."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf.duration_pb2 import Duration
from grpc_health.v1 import health_pb2, health_pb2_grpc
from llmrouter.v1 import admin_pb2 as apb
from llmrouter.v1 import admin_pb2_grpc
from llmrouter.v1 import router_pb2 as pb

from router_service.config import RouterConfig, load_config
from router_service.observability.admin import AdminGuard, is_loopback_peer
from router_service.observability.reload import plan_reload
from tests.conftest import REPO, user
from tests.observability.conftest import Observed, StartObserved

BASE = """
server: {listen: "127.0.0.1:0", grace_period_s: 2}
demo: {token_delay_ms: 0}
admin: {listen: "127.0.0.1:0"}
"""
KEY = "operator-key-0123456789abcdef"


def write(path: Path, extra: str = "") -> Path:
    path.write_text(BASE + extra)
    return path


async def start_from_file(start: StartObserved, path: Path) -> Observed:
    found: Observed = await start(load_config(path, {}), config_path=path)
    return found


async def read_all(stream: Any) -> list[pb.StreamCompleteResponse]:
    events = []
    while (event := await stream.read()) is not grpc.aio.EOF:
        events.append(event)
    return events


async def models(observed: Observed) -> int:
    return len((await observed.stub.ListModels(pb.ListModelsRequest())).models)


async def test_reload_applies_a_new_generation_and_keeps_the_ledger(
    start_observed: StartObserved, tmp_path: Path
) -> None:
    path = write(tmp_path / "router.yaml")
    observed = await start_from_file(start_observed, path)
    await observed.stub.Complete(pb.CompleteRequest(messages=user("hola")))
    before = await models(observed)
    write(
        path, 'catalog: {remove: ["anthropic/claude-haiku-4-5"]}\nserver: {listen: "127.0.0.1:1", log_level: DEBUG}\n'
    )

    dry = await observed.admin.ReloadConfig(apb.ReloadConfigRequest(dry_run=True))
    assert not dry.applied and dry.generation == 1 and "catalog" in dry.changed
    assert await models(observed) == before

    done = await observed.admin.ReloadConfig(apb.ReloadConfigRequest())
    assert done.applied and done.generation == 2
    assert set(done.changed) == {"catalog", "server"}
    assert list(done.restart_required) == ["server.listen"]
    assert await models(observed) == before - 1
    assert observed.running.app.config.server.listen == "127.0.0.1:0"  # kept as running
    report = await observed.stub.CostReport(pb.CostReportRequest())
    assert report.totals.requests == 1  # the ledger survives the reload
    again = await observed.admin.ReloadConfig(apb.ReloadConfigRequest())
    assert not again.applied and again.generation == 2
    status = (await observed.http.get("/api/status")).json()
    assert status["generation"] == 2


async def test_bad_config_is_rejected_and_the_old_one_kept(start_observed: StartObserved, tmp_path: Path) -> None:
    path = write(tmp_path / "router.yaml")
    observed = await start_from_file(start_observed, path)
    for broken in ("routing: {default_strategy: nonsense}\n", "routing: [unclosed\n"):
        write(path, broken)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await observed.admin.ReloadConfig(apb.ReloadConfigRequest())
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "old one kept" in (refused.value.details() or "")
    assert (await observed.http.get("/api/status")).json()["generation"] == 1
    assert (await observed.stub.Complete(pb.CompleteRequest(messages=user("hola")))).text
    metrics = (await observed.http.get("/metrics")).text
    assert 'llm_router_config_reloads_total{result="rejected"} 2.0' in metrics


async def test_reload_without_a_file_says_so(observed: Observed) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await observed.admin.ReloadConfig(apb.ReloadConfigRequest())
    assert "without a configuration file" in (refused.value.details() or "")


async def test_calls_in_flight_finish_on_the_old_generation(start_observed: StartObserved, tmp_path: Path) -> None:
    path = write(tmp_path / "router.yaml")
    path.write_text(path.read_text().replace("token_delay_ms: 0", "token_delay_ms: 20"))
    observed = await start_from_file(start_observed, path)
    old_app = observed.running.app
    stream = observed.stub.StreamComplete(pb.CompleteRequest(messages=user("write a long story about the sea")))
    first = await stream.read()
    assert first.HasField("decision")
    path.write_text(path.read_text() + 'catalog: {remove: ["anthropic/claude-haiku-4-5"]}\n')
    assert (await observed.admin.ReloadConfig(apb.ReloadConfigRequest())).applied
    assert observed.running.app is not old_app
    events = await read_all(stream)
    assert events[-1].HasField("summary")
    assert (await observed.stub.CostReport(pb.CostReportRequest())).totals.requests == 1


async def test_drain_turns_health_not_serving_and_waits_for_in_flight(
    start_observed: StartObserved, tmp_path: Path
) -> None:
    path = write(tmp_path / "router.yaml")
    path.write_text(path.read_text().replace("token_delay_ms: 0", "token_delay_ms: 15"))
    observed = await start_from_file(start_observed, path)
    health = health_pb2_grpc.HealthStub(observed.channel)
    stream = observed.stub.StreamComplete(pb.CompleteRequest(messages=user("write a long story about the sea")))
    await stream.read()
    drain = asyncio.ensure_future(
        observed.admin.Drain(apb.DrainRequest(timeout=Duration(seconds=20), reject_new_calls=True))
    )
    await asyncio.sleep(0.1)
    assert not drain.done()
    status = await health.Check(health_pb2.HealthCheckRequest())
    assert status.status == health_pb2.HealthCheckResponse.NOT_SERVING
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await observed.stub.Complete(pb.CompleteRequest(messages=user("hola")))
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    events = await read_all(stream)
    assert events[-1].HasField("summary")
    done = await drain
    assert done.drained and done.in_flight == 0
    assert (await observed.http.get("/healthz")).status_code == 503


async def test_admin_key_guards_the_rpcs(start_observed: StartObserved, tmp_path: Path) -> None:
    sha = hashlib.sha256(KEY.encode()).hexdigest()
    path = write(tmp_path / "router.yaml", f"admin: {{listen: '127.0.0.1:0', admin_key_sha256: {sha}}}\n")
    path.write_text(path.read_text().replace('admin: {listen: "127.0.0.1:0"}\n', ""))
    observed = await start_from_file(start_observed, path)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await observed.admin.ReloadConfig(apb.ReloadConfigRequest(dry_run=True))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError):
        await observed.admin.ReloadConfig(apb.ReloadConfigRequest(), metadata=(("authorization", "Bearer wrong"),))
    ok = await observed.admin.ReloadConfig(
        apb.ReloadConfigRequest(dry_run=True), metadata=(("authorization", f"Bearer {KEY}"),)
    )
    assert ok.generation == 1


def test_guard_without_admin_key_uses_admin_caller_keys_then_loopback() -> None:
    assert is_loopback_peer("ipv4:127.0.0.1:5000") and is_loopback_peer("ipv6:[::1]:1")
    assert not is_loopback_peer("ipv4:10.0.0.1:5000")

    class App:
        def __init__(self, config: RouterConfig) -> None:
            from router_service.auth.authenticator import Authenticator

            self.config = config
            self.authenticator = Authenticator(config.auth, config.tenants)

    class Holder:
        def __init__(self, config: RouterConfig) -> None:
            self.app = App(config)

    open_guard = AdminGuard(Holder(RouterConfig()))  # type: ignore[arg-type]
    assert open_guard.refusal("", "ipv4:127.0.0.1:1") is None
    refused = open_guard.refusal("", "ipv4:10.1.2.3:1")
    assert refused is not None and refused[0] == grpc.StatusCode.PERMISSION_DENIED

    def spec(key: str, admin: bool) -> dict[str, object]:
        return {"id": key[:4], "sha256": hashlib.sha256(key.encode()).hexdigest(), "tenant": "t", "admin": admin}

    keyed = RouterConfig.model_validate({"auth": {"keys": [spec("boss-key-1", True), spec("user-key-2", False)]}})
    guard = AdminGuard(Holder(keyed))  # type: ignore[arg-type]
    assert guard.refusal("Bearer boss-key-1", "ipv4:10.1.2.3:1") is None
    refused = guard.refusal("Bearer user-key-2", "ipv4:127.0.0.1:1")
    assert refused is not None and refused[0] == grpc.StatusCode.PERMISSION_DENIED


def test_plan_reload_keeps_restart_only_fields() -> None:
    old = RouterConfig()
    new = RouterConfig.model_validate(
        {
            "server": {"listen": "0.0.0.0:6000", "log_level": "DEBUG"},
            "ledger": {"recent_entries": 5},
            "admin": {"show_prompts": True, "listen": "0.0.0.0:1"},
            "limits": {"max_request_bytes": 64 * 1024 * 1024},
            "routing": {"default_strategy": "cost_optimized"},
        }
    )
    applied, changed, restart = plan_reload(old, new)
    assert set(restart) == {"server.listen", "ledger", "admin.listen", "limits.max_request_bytes"}
    assert set(changed) == {"server", "admin", "routing"}
    assert applied.server.listen == old.server.listen and applied.server.log_level == "DEBUG"
    assert applied.ledger == old.ledger and applied.admin.show_prompts and applied.admin.listen == old.admin.listen
    assert applied.limits == old.limits and applied.routing.default_strategy == "cost_optimized"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
async def test_sighup_reloads_a_running_process(tmp_path: Path) -> None:
    port, admin_port = free_port(), free_port()
    path = tmp_path / "router.yaml"
    text = f"server: {{grace_period_s: 1, log_format: json}}\nadmin: {{listen: '127.0.0.1:{admin_port}'}}\n"
    path.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "router_service.cli.main", "serve", "--config", str(path),
        "--listen", f"127.0.0.1:{port}", cwd=REPO, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{admin_port}") as http:
            for _ in range(200):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            path.write_text(text + "routing: {default_strategy: cost_optimized}\n")
            proc.send_signal(signal.SIGHUP)
            for _ in range(100):
                if (await http.get("/api/status")).json()["generation"] == 2:
                    break
                await asyncio.sleep(0.05)
            status = (await http.get("/api/status")).json()
            assert status["generation"] == 2 and status["default_strategy"] == "cost_optimized"
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            admin = admin_pb2_grpc.AdminServiceStub(channel)
            assert (await admin.ReloadConfig(apb.ReloadConfigRequest(dry_run=True))).generation == 2
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
        events = [line for line in err.decode().splitlines() if '"event"' in line]
        assert any('"event":"config_reloaded"' in line for line in events)
        assert any('"event":"stopped"' in line for line in events)
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
