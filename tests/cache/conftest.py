"""Builders for cache requests and answers, a settable clock, and a real redis-server on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from router_service.cache import CachedAnswer, CacheRequest
from router_service.domain import ChatMessage, FinishReason, GenerationParams, ModelRef, Role, Usage
from router_service.strategy.plan import RoutingPreferences

SYSTEM = "You are the support assistant of Acme."


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def ask(
    text: str,
    *,
    tenant: str = "acme",
    system: str | None = SYSTEM,
    history: tuple[ChatMessage, ...] = (),
    params: GenerationParams = GenerationParams(),
    preferences: RoutingPreferences | None = None,
    no_lookup: bool = False,
    no_store: bool = False,
) -> CacheRequest:
    messages = ((ChatMessage(Role.SYSTEM, system),) if system is not None else ()) + history
    return CacheRequest(
        tenant=tenant,
        messages=(*messages, ChatMessage(Role.USER, text)),
        params=params,
        preferences=preferences or RoutingPreferences(),
        no_lookup=no_lookup,
        no_store=no_store,
    )


def answer(
    text: str = "We are open 9:00-17:00, Monday to Friday.",
    *,
    model: str = "openai/gpt-5-mini",
    finish: FinishReason = FinishReason.STOP,
    cost: int = 12_345,
) -> CachedAnswer:
    return CachedAnswer(
        text=text,
        model=ModelRef.parse(model),
        usage=Usage(input_tokens=40, output_tokens=12),
        finish_reason=finish,
        cost_nano_usd=cost,
        created_at=1_700_000_000.0,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedisServer:
    """A throwaway redis-server (no persistence) on a loopback port; stop() and start() simulate an outage."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--dir", str(self.workdir), "--maxmemory", "64mb", "--maxmemory-policy", "volatile-lru"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (scripts/install --dev installs it)")
    server = RedisServer(binary, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
