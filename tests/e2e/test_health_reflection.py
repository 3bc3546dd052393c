"""Standard gRPC health (Check, Watch, NOT_SERVING on shutdown) and server reflection."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from router_service.server.app import SERVICE_NAME, RunningServer
from tests.conftest import REPO, ServerFactory

TOOLS = REPO / ".tools" / "bin"


@pytest.mark.parametrize("service", ["", SERVICE_NAME])
async def test_health_check_serving(channel: grpc.aio.Channel, service: str) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    response = await health.Check(health_pb2.HealthCheckRequest(service=service))
    assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_health_check_unknown_service(channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_health_watch_turns_not_serving_on_shutdown(server_factory: ServerFactory) -> None:
    running: RunningServer = await server_factory()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        watch = health.Watch(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
        first = await watch.read()
        assert first.status == health_pb2.HealthCheckResponse.SERVING
        stopping = asyncio.create_task(running.stop(1))
        second = await asyncio.wait_for(watch.read(), 2)
        assert second.status == health_pb2.HealthCheckResponse.NOT_SERVING
        await stopping


async def test_reflection_lists_and_describes_the_service(channel: grpc.aio.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    async def ask(request: reflection_pb2.ServerReflectionRequest) -> reflection_pb2.ServerReflectionResponse:
        async for response in stub.ServerReflectionInfo(iter([request])):
            return response
        raise AssertionError("no reflection response")

    listing = await ask(reflection_pb2.ServerReflectionRequest(list_services=""))
    names = {s.name for s in listing.list_services_response.service}
    assert {SERVICE_NAME, "grpc.health.v1.Health"} <= names
    described = await ask(reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE_NAME))
    assert described.file_descriptor_response.file_descriptor_proto


def _tool(name: str) -> str:
    path = TOOLS / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run scripts/install --dev")
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)


async def test_grpcurl_lists_describes_and_calls(server: RunningServer) -> None:
    grpcurl = _tool("grpcurl")
    address = f"127.0.0.1:{server.port}"
    listed = await asyncio.to_thread(_run, grpcurl, "-plaintext", address, "list")
    assert listed.returncode == 0, listed.stderr
    assert SERVICE_NAME in listed.stdout.split()
    described = await asyncio.to_thread(_run, grpcurl, "-plaintext", address, "describe", SERVICE_NAME)
    assert "rpc StreamComplete" in described.stdout
    body = json.dumps({"messages": [{"role": "ROLE_USER", "content": "hola, ¿precio?"}]})
    routed = await asyncio.to_thread(_run, grpcurl, "-plaintext", "-d", body, address, f"{SERVICE_NAME}/Route")
    assert routed.returncode == 0, routed.stderr
    assert json.loads(routed.stdout)["decision"]["selected"]["provider"] == "demo"
    streamed = await asyncio.to_thread(
        _run, grpcurl, "-plaintext", "-d", body, address, f"{SERVICE_NAME}/StreamComplete"
    )
    assert streamed.returncode == 0, streamed.stderr
    assert '"summary"' in streamed.stdout and '"delta"' in streamed.stdout


async def test_grpc_health_probe(server: RunningServer) -> None:
    probe = _tool("grpc-health-probe")
    result = await asyncio.to_thread(_run, probe, f"-addr=127.0.0.1:{server.port}", f"-service={SERVICE_NAME}")
    assert result.returncode == 0, result.stderr
    assert "SERVING" in result.stdout + result.stderr
