"""Fault injection through the real server: local upstreams speaking the OpenAI / Anthropic wire formats
fail on command (429 + Retry-After, 500, 529, connect refused, slow first byte, stream cut, malformed
JSON); fallback, breakers, deployments, queues, hedging and the ledger are checked end to end."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from llmrouter.v1 import router_pb2 as pb
from llmrouter.v1 import router_pb2_grpc as pb_grpc

from router_service.server.app import RunningServer, provider_service
from tests.conftest import ServerFactory, make_config, user
from tests.helpers import error_infos
from tests.providers.wire_server import Reply, WireServer, split_sse, wire_file

CHAT = "/v1/chat/completions"
OPENAI_USAGE = (2006, 9, 1920)  # prompt, completion, cached tokens in openai/response.json


def model_entry(provider: str, model: str, price: str) -> dict[str, Any]:
    return {
        "provider": provider,
        "model": model,
        "tier": "fast",
        "input_per_mtok": price,
        "output_per_mtok": price,
        "context_window": 128000,
        "max_output_tokens": 4096,
        "capabilities": {"streaming": True},
        "quality": {"overall": 0.8},
        "latency_prior_ms": 500,
    }


def endpoint(base_url: str, kind: str = "openai", **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "base_url": base_url, "api_key_env": ["FAKE_UPSTREAM_KEY"], **extra}


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture
async def upstreams() -> AsyncIterator[tuple[WireServer, WireServer]]:
    async with WireServer() as alpha, WireServer() as beta:
        for server in (alpha, beta):
            server.add("POST", CHAT, Reply.file("openai/response.json"))
            server.add("GET", "/v1/models", Reply.file("openai/models.json"))
        yield alpha, beta


async def start(server_factory: ServerFactory, alpha_url: str, beta_url: str, **extra: Any) -> RunningServer:
    """alpha/a (cheapest) then beta/b, planned cheapest first."""
    executor = {"probe_idle_s": 0, "seed": 7, **extra.pop("executor", {})}
    config = make_config(
        providers={"alpha": endpoint(alpha_url), "beta": endpoint(beta_url), **extra.pop("providers", {})},
        catalog={
            "models": [model_entry("alpha", "a", "0.1"), model_entry("beta", "b", "0.2"), *extra.pop("models", [])]
        },
        routing={"default_strategy": "cheapest_first", **extra.pop("routing", {})},
        executor=executor,
        **extra,
    )
    running: RunningServer = await server_factory(config, {"FAKE_UPSTREAM_KEY": "k-" + "x" * 20})
    return running


async def complete(running: RunningServer, **kw: Any) -> pb.CompleteResponse:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = pb_grpc.RouterServiceStub(channel)
        prefs = pb.RoutingPreferences(**{"allowed_providers": ["alpha", "beta"], **kw.pop("prefs", {})})
        timeout = kw.pop("timeout", 10)
        return await stub.Complete(pb.CompleteRequest(messages=user("hello"), preferences=prefs, **kw), timeout=timeout)


async def report(running: RunningServer) -> pb.CostReportResponse:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        return await pb_grpc.RouterServiceStub(channel).CostReport(pb.CostReportRequest())


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (Reply.file("openai/error_429.json", headers_file="openai/headers_429.txt"), pb.ERROR_KIND_RATE_LIMITED),
        (Reply.json({"error": {"message": "boom", "type": "server_error"}}, status=500), pb.ERROR_KIND_UNAVAILABLE),
        (Reply.json(b'{"id": "x", "choices": [', status=200), pb.ERROR_KIND_PROTOCOL),
    ],
    ids=["429", "500", "malformed"],
)
async def test_retryable_failure_falls_back(
    server_factory: ServerFactory, upstreams: tuple[WireServer, WireServer], failure: Reply, kind: int
) -> None:
    alpha, beta = upstreams
    alpha.add("POST", CHAT, failure)
    running = await start(server_factory, alpha.base_url + "/v1", beta.base_url + "/v1")
    done = await complete(running)
    assert done.summary.model.provider == "beta"
    assert [a.model.provider for a in done.summary.attempts] == ["alpha", "beta"]
    assert done.summary.attempts[0].error_kind == kind
    assert (
        done.summary.usage.input_tokens,
        done.summary.usage.output_tokens,
        done.summary.usage.cached_input_tokens,
    ) == OPENAI_USAGE
    totals = (await report(running)).totals
    assert totals.requests == 1 and totals.input_tokens == OPENAI_USAGE[0] and totals.output_tokens == OPENAI_USAGE[1]


async def test_429_retry_after_cools_the_deployment_down(
    server_factory: ServerFactory, upstreams: tuple[WireServer, WireServer]
) -> None:
    alpha, beta = upstreams
    alpha.add(
        "POST",
        CHAT,
        Reply.file("openai/error_429.json", headers_file="openai/headers_429.txt"),
        Reply.file("openai/response.json"),
    )
    running = await start(server_factory, alpha.base_url + "/v1", beta.base_url + "/v1")
    await complete(running)
    second = await complete(running)
    # During the 1 s Retry-After alpha is left out: the second request goes straight to beta.
    assert [a.model.provider for a in second.summary.attempts] == ["beta"]
    assert len([r for r in alpha.requests if r.path == CHAT]) == 1
    await asyncio.sleep(1.1)
    third = await complete(running)
    assert third.summary.model.provider == "alpha"


async def test_anthropic_529_and_connect_refused_fall_back(
    server_factory: ServerFactory, upstreams: tuple[WireServer, WireServer]
) -> None:
    _, beta = upstreams
    async with WireServer() as claude:
        claude.add("POST", "/v1/messages", Reply.file("anthropic/error_529_overloaded.json", status=529))
        running = await start(
            server_factory,
            closed_port_url(),
            beta.base_url + "/v1",
            providers={"claude": endpoint(claude.base_url, kind="anthropic")},
            models=[model_entry("claude", "c", "0.05")],
        )
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = pb_grpc.RouterServiceStub(channel)
            prefs = pb.RoutingPreferences(allowed_providers=["claude", "alpha", "beta"])
            done = await stub.Complete(pb.CompleteRequest(messages=user("hi"), preferences=prefs), timeout=10)
    kinds = [(a.model.provider, a.error_kind) for a in done.summary.attempts]
    assert kinds == [
        ("claude", pb.ERROR_KIND_OVERLOADED),
        ("alpha", pb.ERROR_KIND_UNAVAILABLE),
        ("beta", pb.ERROR_KIND_UNSPECIFIED),
    ]


async def test_every_candidate_failing_is_unavailable_with_attempts(
    server_factory: ServerFactory, upstreams: tuple[WireServer, WireServer]
) -> None:
    alpha, beta = upstreams
    for server in (alpha, beta):
        server.add("POST", CHAT, Reply.json({"error": {"message": "down", "type": "server_error"}}, status=503))
    running = await start(
        server_factory, alpha.base_url + "/v1", beta.base_url + "/v1", executor={"retry": {"rounds": 1}}
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await complete(running, request_id="doomed")
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert [i.domain for i in error_infos(caught.value)] == ["alpha", "beta"]
    totals = (await report(running)).totals
    assert totals.requests == 1 and totals.errors == 1 and totals.cost_nano_usd == 0


async def test_bad_request_stops_at_once(
    server_factory: ServerFactory, upstreams: tuple[WireServer, WireServer]
) -> None:
    alpha, beta = upstreams
    alpha.add("POST", CHAT, Reply.file("openai/error_400_context_length.json", status=400))
    running = await start(server_factory, alpha.base_url + "/v1", beta.base_url + "/v1")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await complete(running)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert not [r for r in beta.requests if r.path == CHAT], "a request-caused error must not be retried elsewhere"


async def test_retry_round_with_backoff_when_time_allows(
    server_factory: ServerFactory, upstreams: tuple[WireServer, WireServer]
) -> None:
    alpha, beta = upstreams
    alpha.add("POST", CHAT, Reply.json({"error": {"message": "blip"}}, status=502), Reply.file("openai/response.json"))
    beta.add("POST", CHAT, Reply.json({"error": {"message": "blip"}}, status=502))
    running = await start(server_factory, alpha.base_url + "/v1", beta.base_url + "/v1")
    done = await complete(running)
    assert [(a.model.provider, a.error_kind) for a in done.summary.attempts] == [
        ("alpha", pb.ERROR_KIND_UNAVAILABLE),
        ("beta", pb.ERROR_KIND_UNAVAILABLE),
        ("alpha", pb.ERROR_KIND_UNSPECIFIED),
    ]


async def test_slow_first_byte_past_the_deadline(
    server_factory: ServerFactory, upstreams: tuple[WireServer, WireServer]
) -> None:
    alpha, beta = upstreams
    for server in (alpha, beta):
        server.add(
            "POST",
            CHAT,
            Reply(200, [("content-type", "application/json")], wire_file("openai/response.json"), first_byte_delay=5),
        )
    running = await start(server_factory, alpha.base_url + "/v1", beta.base_url + "/v1")
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await complete(running, timeout=0.5)
    elapsed = time.monotonic() - started
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert elapsed < 0.5 + 0.05, elapsed
    request = await alpha.next_request()
    await asyncio.wait_for(request.client_closed.wait(), 2)  # the upstream call was cancelled


async def test_stream_cut_after_first_delta_ends_with_error_and_charges(
    server_factory: ServerFactory, upstreams: tuple[WireServer, WireServer]
) -> None:
    alpha, beta = upstreams
    alpha.add("POST", CHAT, Reply.sse_file("openai/stream.sse", cut_after=3))
    running = await start(server_factory, alpha.base_url + "/v1", beta.base_url + "/v1")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = pb_grpc.RouterServiceStub(channel)
        prefs = pb.RoutingPreferences(allowed_providers=["alpha", "beta"])
        kinds = []
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for event in stub.StreamComplete(pb.CompleteRequest(messages=user("hi"), preferences=prefs)):
                kinds.append(event.WhichOneof("event"))
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "summary" not in kinds and "delta" in kinds
        assert not [r for r in beta.requests if r.path == CHAT], "no silent splice with another model"
        totals = (await stub.CostReport(pb.CostReportRequest())).totals
        assert totals.requests == 1 and totals.errors == 1 and totals.output_tokens > 0


async def test_stream_failure_before_first_delta_falls_back(
    server_factory: ServerFactory, upstreams: tuple[WireServer, WireServer]
) -> None:
    alpha, beta = upstreams
    alpha.add("POST", CHAT, Reply.json({"error": {"message": "down"}}, status=500))
    beta.add("POST", CHAT, Reply.sse_file("openai/stream.sse"))
    running = await start(server_factory, alpha.base_url + "/v1", beta.base_url + "/v1")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = pb_grpc.RouterServiceStub(channel)
        prefs = pb.RoutingPreferences(allowed_providers=["alpha", "beta"])
        events = [e async for e in stub.StreamComplete(pb.CompleteRequest(messages=user("hi"), preferences=prefs))]
    deltas = [e.delta for e in events if e.WhichOneof("event") == "delta"]
    assert deltas[0].model.provider == "beta"
    summary = events[-1].summary
    assert (summary.usage.input_tokens, summary.usage.output_tokens) == OPENAI_USAGE[:2]
    assert [a.model.provider for a in summary.attempts] == ["alpha", "beta"]


async def test_client_cancel_closes_the_upstream_connection(
    server_factory: ServerFactory, upstreams: tuple[WireServer, WireServer]
) -> None:
    alpha, beta = upstreams
    alpha.add("POST", CHAT, Reply.sse_file("openai/stream.sse", stall_after=2))
    running = await start(server_factory, alpha.base_url + "/v1", beta.base_url + "/v1")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = pb_grpc.RouterServiceStub(channel)
        prefs = pb.RoutingPreferences(allowed_providers=["alpha", "beta"])
        call = stub.StreamComplete(pb.CompleteRequest(messages=user("hi"), preferences=prefs, request_id="gone"))
        async for event in call:
            if event.WhichOneof("event") == "delta":
                break
        call.cancel()
        upstream = await alpha.next_request()
        await asyncio.wait_for(upstream.client_closed.wait(), 2)
        for _ in range(100):
            if running.app.pipeline.ledger.has("gone"):
                break
            await asyncio.sleep(0.01)
        totals = (await stub.CostReport(pb.CostReportRequest())).totals
        assert totals.requests == 1 and totals.errors == 1


async def test_breaker_opens_then_half_open_probe_closes_it(
    server_factory: ServerFactory, upstreams: tuple[WireServer, WireServer]
) -> None:
    alpha, beta = upstreams
    alpha.add(
        "POST", CHAT, *[Reply.json({"error": {"message": "x"}}, status=500)] * 3, Reply.file("openai/response.json")
    )
    running = await start(
        server_factory,
        alpha.base_url + "/v1",
        beta.base_url + "/v1",
        executor={"breaker": {"consecutive_failures": 3, "open_s": 0.5}, "retry": {"rounds": 1}},
    )
    health_name = provider_service("alpha")
    for _ in range(3):
        await complete(running)
    assert running.app.pool.deployments(next(e.ref for e in running.app.catalog.entries if e.ref.provider == "alpha"))
    calls_when_open = len([r for r in alpha.requests if r.path == CHAT])
    done = await complete(running)
    assert [a.model.provider for a in done.summary.attempts] == ["beta"], "an open breaker is left out of plans"
    assert len([r for r in alpha.requests if r.path == CHAT]) == calls_when_open
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        models = await pb_grpc.RouterServiceStub(channel).ListModels(pb.ListModelsRequest(provider="alpha"))
        assert models.models[0].deployments[0].breaker == pb.BREAKER_STATE_OPEN and not models.models[0].available
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        status = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=health_name))
        assert status.status == health_pb2.HealthCheckResponse.NOT_SERVING
        await asyncio.sleep(0.6)
        done = await complete(running)
        assert done.summary.model.provider == "alpha", "the half-open probe succeeded"
        status = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=health_name))
        assert status.status == health_pb2.HealthCheckResponse.SERVING


async def test_deployments_fail_over_before_the_next_model(
    server_factory: ServerFactory, upstreams: tuple[WireServer, WireServer]
) -> None:
    alpha, beta = upstreams
    async with WireServer() as alpha2:
        alpha2.add("POST", CHAT, Reply.file("openai/response.json"))
        alpha.add("POST", CHAT, Reply.json({"error": {"message": "x"}}, status=500))
        running = await start(
            server_factory,
            alpha.base_url + "/v1",
            beta.base_url + "/v1",
            providers={"alpha-eu": endpoint(alpha2.base_url + "/v1")},
            executor={
                "balancing": "weighted",
                "deployments": {
                    "alpha/a": [
                        {"provider": "alpha", "weight": 1000},
                        {"provider": "alpha-eu", "model": "a-eu", "weight": 1},
                    ]
                },
            },
        )
        done = await complete(running)
        assert [(a.model.model, a.deployment) for a in done.summary.attempts] == [("a", "alpha"), ("a", "alpha-eu")]
        assert alpha2.requests[0].json()["model"] == "a-eu"
        assert not [r for r in beta.requests if r.path == CHAT]


async def test_weighted_balancing_spreads_by_weight(
    server_factory: ServerFactory, upstreams: tuple[WireServer, WireServer]
) -> None:
    alpha, beta = upstreams
    async with WireServer() as alpha2:
        alpha2.add("POST", CHAT, Reply.file("openai/response.json"))
        running = await start(
            server_factory,
            alpha.base_url + "/v1",
            beta.base_url + "/v1",
            providers={"alpha-eu": endpoint(alpha2.base_url + "/v1")},
            executor={
                "balancing": "weighted",
                "deployments": {"alpha/a": [{"provider": "alpha", "weight": 3}, {"provider": "alpha-eu", "weight": 1}]},
            },
        )
        await asyncio.gather(*(complete(running) for _ in range(80)))
        first = len([r for r in alpha.requests if r.path == CHAT])
        second = len(alpha2.requests)
        assert first + second == 80
        assert 45 <= first <= 75, (first, second)


async def test_full_queue_is_resource_exhausted_at_once(
    server_factory: ServerFactory, upstreams: tuple[WireServer, WireServer]
) -> None:
    alpha, beta = upstreams
    slow = Reply(200, [("content-type", "application/json")], wire_file("openai/response.json"), first_byte_delay=0.5)
    alpha.add("POST", CHAT, slow)
    running = await start(
        server_factory, alpha.base_url + "/v1", beta.base_url + "/v1", executor={"max_concurrency": 1, "max_queue": 1}
    )
    prefs = {"allowed_providers": ["alpha"]}
    first = asyncio.create_task(complete(running, prefs=prefs))
    second = asyncio.create_task(complete(running, prefs=prefs))
    await alpha.next_request()
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await complete(running, prefs=prefs)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert time.monotonic() - started < 0.3, "a full queue answers at once"
    assert (await first).summary.model.provider == "alpha"
    assert (await second).summary.model.provider == "alpha"


async def test_hedging_races_a_second_candidate(
    server_factory: ServerFactory, upstreams: tuple[WireServer, WireServer]
) -> None:
    alpha, beta = upstreams
    alpha.add(
        "POST",
        CHAT,
        Reply(200, [("content-type", "application/json")], wire_file("openai/response.json"), first_byte_delay=3),
    )
    running = await start(
        server_factory, alpha.base_url + "/v1", beta.base_url + "/v1", executor={"hedging": {"min_delay_s": 0.2}}
    )
    started = time.monotonic()
    done = await complete(running, prefs={"latency_sensitive": True})
    assert time.monotonic() - started < 1.5
    assert done.summary.model.provider == "beta"
    kinds = {a.model.provider: a.error_kind for a in done.summary.attempts}
    assert kinds == {"alpha": pb.ERROR_KIND_CANCELLED, "beta": pb.ERROR_KIND_UNSPECIFIED}
    # Both attempts are accounted: the loser's prompt tokens (estimated) plus the winner's usage.
    assert done.summary.usage.input_tokens > OPENAI_USAGE[0]
    upstream = await alpha.next_request()
    await asyncio.wait_for(upstream.client_closed.wait(), 2)


def test_stream_file_has_events() -> None:
    assert len(split_sse(wire_file("openai/stream.sse"))) > 3
    assert json.loads(wire_file("openai/response.json"))["usage"]["prompt_tokens"] == OPENAI_USAGE[0]


async def test_failed_request_retried_under_its_id_is_one_entry(
    server_factory: ServerFactory, upstreams: tuple[WireServer, WireServer], tmp_path: Path
) -> None:
    alpha, beta = upstreams
    down = Reply.json({"error": {"message": "down"}}, status=503)
    alpha.add("POST", CHAT, down, Reply.file("openai/response.json"))
    beta.add("POST", CHAT, down, Reply.file("openai/response.json"))
    journal = tmp_path / "ledger.jsonl"
    running = await start(server_factory, alpha.base_url + "/v1", beta.base_url + "/v1",
                          executor={"retry": {"rounds": 1}}, ledger={"journal_path": str(journal)})
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await complete(running, request_id="retry-me")
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    done = await complete(running, request_id="retry-me")
    assert done.summary.model.provider == "alpha"
    totals = (await report(running)).totals
    assert (totals.requests, totals.errors) == (1, 0)
    assert totals.input_tokens == OPENAI_USAGE[0]
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await complete(running, request_id="retry-me")
    assert again.value.code() == grpc.StatusCode.ALREADY_EXISTS
    await running.stop(0)
    replayed = await start(server_factory, alpha.base_url + "/v1", beta.base_url + "/v1",
                           ledger={"journal_path": str(journal)})
    after = (await report(replayed)).totals
    assert (after.requests, after.errors, after.cost_nano_usd) == (1, 0, totals.cost_nano_usd)
