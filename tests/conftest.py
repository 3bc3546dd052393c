"""Shared fixtures: a real router on a loopback port, and stubs bound to it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from llmrouter.v1 import router_pb2 as pb
from llmrouter.v1 import router_pb2_grpc as pb_grpc

from router_service.config import RouterConfig
from router_service.server.app import RunningServer, start_server

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("LLM_ROUTER_SHARED_DATA", REPO.parent / "shared" / "data"))


def make_config(**sections: Any) -> RouterConfig:
    """A config listening on an ephemeral loopback port, demo without delay unless overridden."""
    data: dict[str, Any] = {"server": {"listen": "127.0.0.1:0", "grace_period_s": 2}, "demo": {"token_delay_ms": 0}}
    for name, value in sections.items():
        data[name] = {**data.get(name, {}), **value} if isinstance(value, dict) else value
    return RouterConfig.model_validate(data)


ServerFactory = Callable[..., Any]


@pytest.fixture
async def server_factory() -> AsyncIterator[ServerFactory]:
    started: list[RunningServer] = []

    async def start(config: RouterConfig | None = None, environ: dict[str, str] | None = None) -> RunningServer:
        running = await start_server(config or make_config(), environ or {})
        started.append(running)
        return running

    yield start
    for running in started:
        await running.stop(0)


@pytest.fixture
async def server(server_factory: ServerFactory) -> RunningServer:
    running: RunningServer = await server_factory()
    return running


@pytest.fixture
async def channel(server: RunningServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        yield ch


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> pb_grpc.RouterServiceAsyncStub:
    return pb_grpc.RouterServiceStub(channel)


def user(text: str) -> list[pb.Message]:
    return [pb.Message(role=pb.ROLE_USER, content=text)]


TRIVIAL = "hi"
ANALYTICAL = (
    "Analyze this market strategy and compare it with our three main competitors: evaluate pricing, "
    "distribution and brand positioning, weigh the risks of each option, and recommend a plan for the "
    "next two years with the trade-offs justified."
)
