"""The response cache through the server: exact and semantic hits, stream replay, opt-out, tenant
isolation, failed streams never stored, hits in the ledger with the cost they avoided."""

from __future__ import annotations

import grpc
import pytest
from llmrouter.v1 import router_pb2 as pb
from llmrouter.v1 import router_pb2_grpc as pb_grpc

from router_service.server.app import RunningServer
from tests.conftest import ServerFactory, make_config, user
from tests.providers.wire_server import Reply, WireServer


async def cached_server(server_factory: ServerFactory, **cache: object) -> RunningServer:
    running: RunningServer = await server_factory(make_config(cache={"enabled": True, **cache}))
    return running


async def stub_for(running: RunningServer) -> tuple[grpc.aio.Channel, pb_grpc.RouterServiceAsyncStub]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    return channel, pb_grpc.RouterServiceStub(channel)


async def test_off_by_default(stub: pb_grpc.RouterServiceAsyncStub) -> None:
    for _ in range(2):
        done = await stub.Complete(pb.CompleteRequest(messages=user("what are your hours?")))
        assert done.summary.cache.result == pb.CACHE_RESULT_UNSPECIFIED
    assert (await stub.CostReport(pb.CostReportRequest())).totals.cache_hits == 0


async def test_exact_hit_keeps_the_answer_costs_nothing_and_is_accounted(server_factory: ServerFactory) -> None:
    running = await cached_server(server_factory)
    channel, stub = await stub_for(running)
    async with channel:
        first = await stub.Complete(pb.CompleteRequest(messages=user("What are your hours?")))
        assert first.summary.cache.result == pb.CACHE_RESULT_MISS and first.summary.cost_nano_usd > 0
        # Insignificant whitespace and a default parameter value still hit the same entry.
        again = await stub.Complete(
            pb.CompleteRequest(messages=user("  What are   your hours? "), params=pb.GenerationParams(temperature=1.0))
        )
        assert again.summary.cache.result == pb.CACHE_RESULT_HIT_EXACT
        assert again.text == first.text and again.summary.model == first.summary.model
        assert again.summary.usage == first.summary.usage
        assert again.summary.cost_nano_usd == 0
        assert again.summary.cache.saved_cost_nano_usd == first.summary.cost_nano_usd
        totals = (await stub.CostReport(pb.CostReportRequest())).totals
        assert totals.requests == 2 and totals.cache_hits == 1
        assert totals.cost_nano_usd == first.summary.cost_nano_usd
        assert totals.cache_saved_nano_usd == first.summary.cost_nano_usd


async def test_stream_is_served_from_cache_as_deltas(server_factory: ServerFactory) -> None:
    running = await cached_server(server_factory)
    channel, stub = await stub_for(running)
    async with channel:
        first = [e async for e in stub.StreamComplete(pb.CompleteRequest(messages=user("¿cuánto cuesta el plan pro?")))]
        text = "".join(e.delta.text for e in first if e.HasField("delta"))
        assert first[-1].summary.cache.result == pb.CACHE_RESULT_MISS
        replay = [
            e async for e in stub.StreamComplete(pb.CompleteRequest(messages=user("¿cuánto cuesta el plan pro?")))
        ]
        kinds = [e.WhichOneof("event") for e in replay]
        assert kinds[0] == "decision" and kinds[-1] == "summary" and kinds.count("delta") >= 2
        assert "".join(e.delta.text for e in replay if e.HasField("delta")) == text
        assert replay[1].delta.model == first[-1].summary.model
        summary = replay[-1].summary
        assert summary.cache.result == pb.CACHE_RESULT_HIT_EXACT and summary.cost_nano_usd == 0


async def test_opt_out_and_tenant_isolation(server_factory: ServerFactory) -> None:
    running = await cached_server(server_factory)
    channel, stub = await stub_for(running)
    async with channel:
        acme = [("x-tenant-id", "acme")]
        await stub.Complete(pb.CompleteRequest(messages=user("hours?")), metadata=acme)
        other = await stub.Complete(pb.CompleteRequest(messages=user("hours?")), metadata=[("x-tenant-id", "globex")])
        assert other.summary.cache.result == pb.CACHE_RESULT_MISS, "never shared across tenants by default"
        skip = await stub.Complete(
            pb.CompleteRequest(messages=user("hours?"), cache=pb.CacheControl(no_lookup=True)), metadata=acme
        )
        assert skip.summary.cache.result == pb.CACHE_RESULT_BYPASS and skip.summary.cost_nano_usd > 0
        await stub.Complete(
            pb.CompleteRequest(messages=user("prices?"), cache=pb.CacheControl(no_store=True)), metadata=acme
        )
        miss = await stub.Complete(pb.CompleteRequest(messages=user("prices?")), metadata=acme)
        assert miss.summary.cache.result == pb.CACHE_RESULT_MISS, "no_store kept it out"
        hit = await stub.Complete(pb.CompleteRequest(messages=user("hours?")), metadata=acme)
        assert hit.summary.cache.result == pb.CACHE_RESULT_HIT_EXACT


async def test_semantic_hit_reports_similarity(server_factory: ServerFactory) -> None:
    running = await cached_server(server_factory, semantic={"enabled": True})
    channel, stub = await stub_for(running)
    async with channel:
        await stub.Complete(pb.CompleteRequest(messages=user("How do I reset my password?")))
        hit = await stub.Complete(pb.CompleteRequest(messages=user("how can I reset my password")))
        assert hit.summary.cache.result == pb.CACHE_RESULT_HIT_SEMANTIC
        assert 0.55 <= hit.summary.cache.similarity < 1.0
        near = await stub.Complete(pb.CompleteRequest(messages=user("How do I reset my router?")))
        assert near.summary.cache.result == pb.CACHE_RESULT_MISS


async def test_a_stream_cut_midway_is_never_stored(server_factory: ServerFactory) -> None:
    async with WireServer() as upstream:
        chat = "/v1/chat/completions"
        upstream.add("POST", chat, Reply.sse_file("openai/stream.sse", cut_after=3), Reply.file("openai/response.json"))
        config = make_config(
            cache={"enabled": True},
            providers={"up": {"kind": "openai", "base_url": upstream.base_url + "/v1", "api_key_env": ["K"]}},
            catalog={
                "models": [
                    {
                        "provider": "up",
                        "model": "m",
                        "tier": "fast",
                        "input_per_mtok": "0.1",
                        "output_per_mtok": "0.2",
                        "context_window": 128000,
                        "max_output_tokens": 4096,
                        "capabilities": {"streaming": True},
                        "quality": {"overall": 0.8},
                        "latency_prior_ms": 300,
                    }
                ]
            },
        )
        running = await server_factory(config, {"K": "k"})
        channel, stub = await stub_for(running)
        async with channel:
            with pytest.raises(grpc.aio.AioRpcError):
                async for _ in stub.StreamComplete(pb.CompleteRequest(messages=user("hi"))):
                    pass
            done = await stub.Complete(pb.CompleteRequest(messages=user("hi")))
            assert done.summary.cache.result == pb.CACHE_RESULT_MISS
            again = await stub.Complete(pb.CompleteRequest(messages=user("hi")))
            assert again.summary.cache.result == pb.CACHE_RESULT_HIT_EXACT
