"""Bad input gets a clear status naming the field; nothing a caller sends yields UNKNOWN or INTERNAL."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from llmrouter.v1 import router_pb2 as pb
from llmrouter.v1 import router_pb2_grpc as pb_grpc

from tests.conftest import ServerFactory, make_config, user
from tests.helpers import field_violations


async def expect_error(call: object, code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code() == code, caught.value.details()
    return caught.value


BAD_REQUESTS: list[tuple[str, pb.CompleteRequest, str]] = [
    ("no messages", pb.CompleteRequest(), "messages"),
    ("empty user content", pb.CompleteRequest(messages=user("   ")), "messages[0].content"),
    ("role not set", pb.CompleteRequest(messages=[pb.Message(content="hi")]), "messages[0].role"),
    (
        "unknown role value",
        pb.CompleteRequest(messages=[pb.Message(role=99, content="hi")]),  # type: ignore[arg-type]
        "messages[0].role",
    ),
    (
        "last message not from user",
        pb.CompleteRequest(messages=[*user("hi"), pb.Message(role=pb.ROLE_ASSISTANT, content="hello")]),
        "messages[1].role",
    ),
    (
        "temperature out of range",
        pb.CompleteRequest(messages=user("hi"), params=pb.GenerationParams(temperature=3.5)),
        "params.temperature",
    ),
    ("top_p zero", pb.CompleteRequest(messages=user("hi"), params=pb.GenerationParams(top_p=0)), "params.top_p"),
    (
        "max tokens zero",
        pb.CompleteRequest(messages=user("hi"), params=pb.GenerationParams(max_output_tokens=0)),
        "params.max_output_tokens",
    ),
    (
        "too many stops",
        pb.CompleteRequest(messages=user("hi"), params=pb.GenerationParams(stop=["x"] * 9)),
        "params.stop",
    ),
    (
        "unknown strategy",
        pb.CompleteRequest(messages=user("hi"), preferences=pb.RoutingPreferences(strategy=42)),  # type: ignore[arg-type]
        "preferences.strategy",
    ),
    (
        "negative weight",
        pb.CompleteRequest(
            messages=user("hi"), preferences=pb.RoutingPreferences(weights=pb.Weights(cost=-1, quality=1))
        ),
        "preferences.weights.cost",
    ),
    ("bad request id", pb.CompleteRequest(messages=user("hi"), request_id="has space"), "request_id"),
]


@pytest.mark.parametrize(("name", "bad", "field"), BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
async def test_invalid_argument_names_the_field(
    stub: pb_grpc.RouterServiceAsyncStub, name: str, bad: pb.CompleteRequest, field: str
) -> None:
    for call in (
        stub.Complete(bad),
        stub.Route(
            pb.RouteRequest(
                messages=bad.messages, params=bad.params, preferences=bad.preferences, request_id=bad.request_id
            )
        ),
    ):
        error = await expect_error(call, grpc.StatusCode.INVALID_ARGUMENT)
        assert field in field_violations(error), (name, error.details())
    stream_error = await expect_error(_drain(stub.StreamComplete(bad)), grpc.StatusCode.INVALID_ARGUMENT)
    assert field in field_violations(stream_error)


async def _drain(call: grpc.aio.UnaryStreamCall) -> None:  # type: ignore[type-arg]
    async for _ in call:
        pass


async def test_oversized_request(server_factory: ServerFactory) -> None:
    running = await server_factory(make_config(limits={"max_request_bytes": 2048}))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = pb_grpc.RouterServiceStub(channel)
        error = await expect_error(
            stub.Complete(pb.CompleteRequest(messages=user("x" * 3000))), grpc.StatusCode.INVALID_ARGUMENT
        )
        assert field_violations(error) == ["messages"]
        assert "3000 bytes" in (error.details() or "")
        # Past the transport limit gRPC itself refuses the message.
        await expect_error(
            stub.Complete(pb.CompleteRequest(messages=user("x" * 200_000))), grpc.StatusCode.RESOURCE_EXHAUSTED
        )


async def test_unknown_forced_model_is_not_found(stub: pb_grpc.RouterServiceAsyncStub) -> None:
    prefs = pb.RoutingPreferences(force_model=pb.ModelRef(provider="demo", model="no-such-model"))
    error = await expect_error(
        stub.Route(pb.RouteRequest(messages=user("hi"), preferences=prefs)), grpc.StatusCode.NOT_FOUND
    )
    assert "no-such-model" in (error.details() or "")
    prefs = pb.RoutingPreferences(force_model=pb.ModelRef(provider="nobody", model=""))
    await expect_error(stub.Route(pb.RouteRequest(messages=user("hi"), preferences=prefs)), grpc.StatusCode.NOT_FOUND)


async def test_forced_model_is_used(stub: pb_grpc.RouterServiceAsyncStub) -> None:
    prefs = pb.RoutingPreferences(force_model=pb.ModelRef(provider="demo", model="demo-balanced"))
    done = await stub.Complete(pb.CompleteRequest(messages=user("hi"), preferences=prefs))
    assert done.summary.model.model == "demo-balanced"


async def test_deadline_is_honoured_and_accounted(server_factory: ServerFactory) -> None:
    # 50 ms per token: the demo answer takes over a second; the caller waits 300 ms.
    running = await server_factory(make_config(demo={"token_delay_ms": 50}))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = pb_grpc.RouterServiceStub(channel)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await expect_error(
            stub.Complete(pb.CompleteRequest(messages=user("hi"), request_id="slow-1"), timeout=0.3),
            grpc.StatusCode.DEADLINE_EXCEEDED,
        )
        assert loop.time() - started < 0.3 + 0.2
        call = stub.StreamComplete(pb.CompleteRequest(messages=user("hi"), request_id="slow-2"), timeout=0.3)
        await expect_error(_drain(call), grpc.StatusCode.DEADLINE_EXCEEDED)
        await asyncio.sleep(0.1)
        report = await stub.CostReport(pb.CostReportRequest())
        # Exactly one entry each, both errors; the stream's consumed tokens are charged.
        assert report.totals.requests == 2
        assert report.totals.errors == 2
        assert report.totals.output_tokens > 0


async def test_cancelled_stream_is_recorded_once(server_factory: ServerFactory) -> None:
    running = await server_factory(make_config(demo={"token_delay_ms": 20}))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = pb_grpc.RouterServiceStub(channel)
        call = stub.StreamComplete(pb.CompleteRequest(messages=user("hi"), request_id="cancel-me"))
        seen = 0
        async for event in call:
            if event.WhichOneof("event") == "delta":
                seen += 1
                if seen == 3:
                    call.cancel()
                    break
        for _ in range(50):
            if running.app.pipeline.ledger.has("cancel-me"):
                break
            await asyncio.sleep(0.02)
        report = await stub.CostReport(pb.CostReportRequest())
        assert report.totals.requests == 1 and report.totals.errors == 1
        assert 3 <= report.totals.output_tokens < 24
        assert report.totals.cost_nano_usd > 0
