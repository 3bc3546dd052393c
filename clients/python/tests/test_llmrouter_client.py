"""The Python client against a real llm-router: every method, sync and asyncio, and the typed errors.

The router is LLM_ROUTER_ADDRESS when set, otherwise `llm-router serve` started here (LLM_ROUTER_BIN, the
`llm-router` next to this Python, or the repository's .venv) on a free loopback port. The tests for
caller keys and rate limits always start their own router with keys configured.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from llmrouter.v1 import router_pb2_grpc as pb_grpc
from llmrouter_client import (
    AlreadyExists,
    AsyncRouterClient,
    DeadlineExceeded,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    RouterClient,
    RouterError,
    Unauthenticated,
    Unavailable,
    pb,
    system,
    user,
)

SECRET = "llmr_client-tests-key"
LIMITED = "llmr_client-tests-limited"


def _find_server() -> str | None:
    if os.environ.get("LLM_ROUTER_BIN"):
        return os.environ["LLM_ROUTER_BIN"]
    beside = Path(sys.executable).with_name("llm-router")
    if beside.exists():
        return str(beside)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / ".venv" / "bin" / "llm-router"
        if candidate.exists():
            return str(candidate)
    return shutil.which("llm-router")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_serving(address: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"llm-router exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if health.Check(health_pb2.HealthCheckRequest(), timeout=0.5).status == \
                        health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.05)
    raise RuntimeError(f"llm-router at {address} never became SERVING:\n{log.read_text()}")


def _serve(config: str) -> Iterator[str]:
    binary = _find_server()
    if binary is None:
        pytest.skip("no llm-router to start: set LLM_ROUTER_ADDRESS or LLM_ROUTER_BIN")
    with tempfile.TemporaryDirectory(prefix="llmrouter-py-test-") as tmp:
        path = Path(tmp) / "router.yaml"
        path.write_text(config)
        log = Path(tmp) / "server.log"
        address = f"127.0.0.1:{_free_port()}"
        # Without provider keys in its environment the router answers with its keyless demo provider only.
        env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
        with log.open("wb") as out:
            proc = subprocess.Popen([binary, "serve", "--config", str(path), "--listen", address],
                                    stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            _wait_serving(address, proc, log)
            yield address
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def router_address() -> Iterator[str]:
    if os.environ.get("LLM_ROUTER_ADDRESS"):
        yield os.environ["LLM_ROUTER_ADDRESS"]
    else:
        yield from _serve("demo:\n  token_delay_ms: 0\n")


@pytest.fixture(scope="module")
def secured_address() -> Iterator[str]:
    """A router with caller keys configured and a demo provider that takes 20 ms a token."""
    def key(key_id: str, secret: str, extra: str) -> str:
        digest = hashlib.sha256(secret.encode()).hexdigest()
        return f"    - id: {key_id}\n      sha256: {digest}\n      tenant: py-secured\n{extra}"

    config = (
        "demo:\n  token_delay_ms: 20\nauth:\n  keys:\n"
        + key("tests", SECRET, '      allowed_models: ["demo/demo-fast", "demo/demo-balanced"]\n')
        + key("limited", LIMITED, "      limits:\n        requests_per_minute: 1\n")
    )
    yield from _serve(config)


@pytest.fixture
def client(router_address: str) -> Iterator[RouterClient]:
    with RouterClient(router_address, timeout=20) as c:
        yield c


def _tenant() -> str:
    return f"py-{uuid.uuid4().hex[:12]}"


# -- sync ------------------------------------------------------------------------------------------------


def test_health_with_grpc_health_client(client: RouterClient) -> None:
    health = health_pb2_grpc.HealthStub(client.channel)
    for service in ("", "llmrouter.v1.RouterService"):
        assert health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status == \
            health_pb2.HealthCheckResponse.SERVING


def test_route(client: RouterClient) -> None:
    res = client.route([system("Be brief."), user("Explain how a hash map handles collisions.")],
                       strategy=pb.STRATEGY_QUALITY_OPTIMIZED, request_id="py-route-1")
    assert res.request_id == "py-route-1"
    assert res.decision.selected.provider == "demo"
    assert res.decision.strategy == pb.STRATEGY_QUALITY_OPTIMIZED
    assert res.decision.analysis.features.words > 0 and res.decision.reason


def test_complete_then_feedback(client: RouterClient) -> None:
    request_id = f"py-complete-{uuid.uuid4().hex}"
    res = client.complete("hello", model="demo/demo-balanced", request_id=request_id, tenant=_tenant())
    assert res.request_id == request_id
    assert res.text.startswith("[demo:demo-balanced]")
    assert res.summary.model.model == "demo-balanced"
    assert res.summary.usage.output_tokens > 0 and len(res.summary.attempts) == 1

    first = client.feedback(request_id, 5, "good")
    assert first.model.model == "demo-balanced" and not first.replaced
    assert client.feedback(request_id, 3).replaced

    with pytest.raises(AlreadyExists):  # a request id never spends twice
        client.complete("hello", request_id=request_id)


def test_stream_to_summary(client: RouterClient) -> None:
    with client.stream("Write a short poem about routers.") as stream:
        deltas = list(stream)
    # The router may carry several upstream chunks in one message when they come faster than it writes.
    assert len(deltas) >= 1 and "".join(deltas) == stream.text
    assert stream.decision is not None and stream.decision.selected.provider == "demo"
    assert stream.model is not None and stream.model.provider == "demo"
    assert stream.request_id
    summary = stream.summary
    assert summary is not None
    assert summary.usage.output_tokens > 0 and summary.finish_reason == pb.FINISH_REASON_STOP
    assert summary.HasField("time_to_first_token")
    assert stream.usage == summary.usage and stream.cost_nano_usd == summary.cost_nano_usd


def test_stream_cancelled_early(client: RouterClient) -> None:
    with client.stream("Tell me a long story.") as stream:
        first = next(stream)
    assert first and stream.summary is None
    assert list(stream) == []  # nothing more after a cancel


def test_cost_report_counts_the_tenants_requests(client: RouterClient) -> None:
    tenant = _tenant()
    client.complete("question one", tenant=tenant)
    client.stream("question two", tenant=tenant).finish()
    report = client.cost_report(tenants=[tenant], group_by=[pb.GROUP_BY_TENANT])
    assert report.totals.requests == 2 and report.totals.output_tokens > 0
    assert [row.tenant for row in report.rows] == [tenant]
    assert report.baseline_model.provider and report.HasField("end_time")


def test_models(client: RouterClient) -> None:
    models = client.models(provider="demo", available_only=True)
    assert sorted(m.model.model for m in models) == ["demo-balanced", "demo-fast", "demo-premium"]
    assert all(m.available and m.pricing.output_nano_usd_per_mtok > 0 for m in models)


def test_invalid_argument_names_the_field(client: RouterClient) -> None:
    with pytest.raises(InvalidArgument) as caught:
        client.complete([])
    error = caught.value
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.fields == ["messages"] and error.field_violations[0].description
    assert isinstance(error, RouterError) and "messages" in str(error)
    with pytest.raises(InvalidArgument) as caught:
        client.route([])
    assert caught.value.fields == ["messages"]
    with pytest.raises(InvalidArgument) as caught:  # a stream's error comes on the first read
        client.stream([]).finish()
    assert caught.value.fields == ["messages"]
    with pytest.raises(InvalidArgument) as caught:
        client.complete("hi", params=pb.GenerationParams(temperature=9))
    assert caught.value.fields == ["params.temperature"]
    with pytest.raises(InvalidArgument) as caught:
        client.route("hi", tenant="not a tenant!")
    assert caught.value.fields == ["metadata x-tenant-id"]


def test_typed_errors(client: RouterClient) -> None:
    with pytest.raises(NotFound):
        client.route("hi", model="demo/no-such-model")
    with pytest.raises(NotFound):
        client.feedback("never-seen", 4)


def test_unreachable_server_is_unavailable_after_retries() -> None:
    with RouterClient(f"127.0.0.1:{_free_port()}", timeout=5, max_attempts=2) as nowhere, \
            pytest.raises(Unavailable) as caught:
        nowhere.models()
    assert caught.value.attempts == []  # a transport failure: no provider was tried


# -- asyncio ---------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_async_every_method(router_address: str) -> None:
    tenant = _tenant()
    async with AsyncRouterClient(router_address, tenant=tenant, timeout=20) as client:
        health = health_pb2_grpc.HealthStub(client.channel)
        assert (await health.Check(health_pb2.HealthCheckRequest())).status == health_pb2.HealthCheckResponse.SERVING
        routed = await client.route("hola, ¿cuál es el precio?")
        assert routed.decision.selected.provider == "demo"
        done = await client.complete("hello", request_id=f"py-async-{uuid.uuid4().hex}")
        assert done.text and done.summary.usage.output_tokens > 0
        async with client.stream("Write a haiku about latency.") as stream:
            deltas = [text async for text in stream]
        assert deltas and "".join(deltas) == stream.text
        assert stream.summary is not None and stream.summary.usage.output_tokens > 0
        report = await client.cost_report(tenants=[tenant], group_by=[pb.GROUP_BY_MODEL])
        assert report.totals.requests == 2
        assert {m.model.model for m in await client.models(provider="demo")} >= {"demo-fast"}
        assert (await client.feedback(done.request_id, 4)).model.provider == "demo"


@pytest.mark.asyncio
async def test_async_typed_errors(router_address: str) -> None:
    async with AsyncRouterClient(router_address, timeout=20) as client:
        with pytest.raises(InvalidArgument) as caught:
            await client.complete([])
        assert caught.value.fields == ["messages"]
        with pytest.raises(InvalidArgument) as caught:
            await client.stream([]).finish()
        assert caught.value.fields == ["messages"]
        with pytest.raises(NotFound):
            await client.route("hi", model="demo/no-such-model")
    async with AsyncRouterClient(f"127.0.0.1:{_free_port()}", timeout=5, max_attempts=2) as nowhere:
        with pytest.raises(Unavailable):
            await nowhere.models()


# -- caller keys, limits and deadlines --------------------------------------------------------------


def test_caller_key_errors(secured_address: str) -> None:
    with RouterClient(secured_address, timeout=20) as anonymous, pytest.raises(Unauthenticated):
        anonymous.route("hi")
    with RouterClient(secured_address, api_key="llmr_wrong", timeout=20) as wrong, pytest.raises(Unauthenticated):
        wrong.route("hi")
    with RouterClient(secured_address, api_key=SECRET, timeout=20) as client:
        assert client.route("hi").decision.selected.provider == "demo"
        with pytest.raises(PermissionDenied):
            client.route("hi", model="demo/demo-premium")


def test_rate_limit_is_quota_exceeded_with_retry_delay(secured_address: str) -> None:
    with RouterClient(secured_address, api_key=LIMITED, timeout=20) as client:
        client.complete("first")
        with pytest.raises(QuotaExceeded) as caught:
            client.complete("second")
    error = caught.value
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.quota_violations and error.quota_violations[0].subject
    assert error.retry_delay is not None and error.retry_delay > 0


# (A deadline of a microsecond is no test: gRPC Python may still deliver a fast answer, so these calls are
# slowed down by the demo provider's delay instead.)


def test_deadline_exceeded(secured_address: str) -> None:
    with RouterClient(secured_address, api_key=SECRET, timeout=0.1) as client, pytest.raises(DeadlineExceeded):
        client.complete("hi", model="demo/demo-fast")  # 24 tokens at 20 ms each


@pytest.mark.asyncio
async def test_async_deadline_exceeded(secured_address: str) -> None:
    async with AsyncRouterClient(secured_address, api_key=SECRET) as client:
        with pytest.raises(DeadlineExceeded):
            await client.complete("hi", model="demo/demo-fast", timeout=0.1)


def test_deadline_covers_the_whole_stream(secured_address: str) -> None:
    with RouterClient(secured_address, api_key=SECRET, timeout=20) as client:
        stream = client.stream("hi", model="demo/demo-fast", timeout=0.25)  # 24 tokens at 20 ms each
        received = []
        with pytest.raises(DeadlineExceeded):
            for text in stream:
                received.append(text)
        assert received, "some text arrived before the deadline"
        assert stream.summary is None


# -- the retry policy (a stand-in server that fails on purpose) ------------------------------------------


class _Flaky(pb_grpc.RouterServiceServicer):
    """Answers ListModels only on the third try; breaks every StreamComplete after its first event."""

    def __init__(self) -> None:
        self.calls = 0

    def ListModels(self, request: pb.ListModelsRequest, context: Any) -> pb.ListModelsResponse:
        self.calls += 1
        if self.calls < 3:
            context.abort(grpc.StatusCode.UNAVAILABLE, "not yet")
        return pb.ListModelsResponse(models=[pb.ModelInfo(model=pb.ModelRef(provider="demo", model="x"))])

    def StreamComplete(self, request: pb.CompleteRequest, context: Any) -> Iterator[pb.StreamCompleteResponse]:
        self.calls += 1
        yield pb.StreamCompleteResponse(request_id="r1", decision=pb.RouteDecision(reason="stand-in"))
        context.abort(grpc.StatusCode.UNAVAILABLE, "broke after the first event")


@pytest.fixture
def flaky() -> Iterator[tuple[_Flaky, str]]:
    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    servicer = _Flaky()  # type: ignore[abstract]  # the other RPCs are not needed
    pb_grpc.add_RouterServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(0)


def test_unavailable_is_retried_up_to_max_attempts(flaky: tuple[_Flaky, str]) -> None:
    servicer, address = flaky
    with RouterClient(address, timeout=10) as client:  # 3 tries by default
        assert [m.model.model for m in client.models()] == ["x"]
    assert servicer.calls == 3
    servicer.calls = 0
    with RouterClient(address, timeout=10, max_attempts=1) as client, pytest.raises(Unavailable):
        client.models()
    assert servicer.calls == 1


def test_a_stream_is_not_retried_after_its_first_event(flaky: tuple[_Flaky, str]) -> None:
    servicer, address = flaky
    with RouterClient(address, timeout=10) as client:
        stream = client.stream("hi")
        with pytest.raises(Unavailable):
            stream.finish()
    assert servicer.calls == 1
    assert stream.decision is not None and stream.decision.reason == "stand-in"
