"""Caller keys, tenant isolation, budgets and rate limits, refused before any provider is called."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.rpc import error_details_pb2
from llmrouter.v1 import router_pb2 as pb
from llmrouter.v1 import router_pb2_grpc as pb_grpc

from router_service.auth import digest
from router_service.server.app import RunningServer
from tests.conftest import ServerFactory, make_config, user
from tests.helpers import status_of

ACME_KEY = "llmr_acme-test-key-0001"
GLOBEX_KEY = "llmr_globex-test-key-0002"
ADMIN_KEY = "llmr_admin-test-key-0003"


def keyed_config(**extra: object) -> object:
    return make_config(
        auth={
            "keys": [
                {
                    "id": "acme-app",
                    "sha256": digest(ACME_KEY),
                    "tenant": "acme",
                    "allowed_models": ["demo/demo-fast", "demo/demo-balanced"],
                },
                {"id": "globex-app", "sha256": digest(GLOBEX_KEY), "tenant": "globex"},
                {"id": "ops", "sha256": digest(ADMIN_KEY), "tenant": "ops", "admin": True},
            ]
        },
        **extra,
    )


def bearer(key: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {key}")]


async def connect(running: RunningServer) -> tuple[grpc.aio.Channel, pb_grpc.RouterServiceAsyncStub]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    return channel, pb_grpc.RouterServiceStub(channel)


async def test_missing_or_wrong_key_is_unauthenticated(server_factory: ServerFactory) -> None:
    running = await server_factory(keyed_config())
    channel, stub = await connect(running)
    async with channel:
        for metadata in ([], bearer("llmr_wrong"), [("authorization", "Basic abc")]):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.Route(pb.RouteRequest(messages=user("hi")), metadata=metadata)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert ACME_KEY not in (caught.value.details() or "")
        routed = await stub.Route(pb.RouteRequest(messages=user("hi")), metadata=bearer(ACME_KEY))
        assert routed.decision.selected.provider == "demo"
        # Health stays open without a key.
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert health.status == health_pb2.HealthCheckResponse.SERVING


async def test_model_outside_allowance_is_permission_denied(server_factory: ServerFactory) -> None:
    running = await server_factory(keyed_config())
    channel, stub = await connect(running)
    async with channel:
        prefs = pb.RoutingPreferences(force_model=pb.ModelRef(provider="demo", model="demo-premium"))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Complete(pb.CompleteRequest(messages=user("hi"), preferences=prefs), metadata=bearer(ACME_KEY))
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        # Unforced, an expert prompt is planned only on the models the key may use.
        hard = "Design and prove a distributed consensus protocol, derive its bounds, justify every trade-off."
        done = await stub.Complete(pb.CompleteRequest(messages=user(hard)), metadata=bearer(ACME_KEY))
        assert done.summary.model.model in {"demo-fast", "demo-balanced"}
        models = await stub.ListModels(pb.ListModelsRequest(provider="demo"), metadata=bearer(ACME_KEY))
        assert {m.model.model for m in models.models if m.available} == {"demo-fast", "demo-balanced"}


async def test_tenants_see_only_their_own_costs(server_factory: ServerFactory) -> None:
    running = await server_factory(keyed_config())
    channel, stub = await connect(running)
    async with channel:
        acme = await stub.Complete(pb.CompleteRequest(messages=user("hi"), request_id="a1"), metadata=bearer(ACME_KEY))
        await stub.Complete(pb.CompleteRequest(messages=user("hi"), request_id="g1"), metadata=bearer(GLOBEX_KEY))
        mine = await stub.CostReport(pb.CostReportRequest(), metadata=bearer(ACME_KEY))
        assert mine.totals.requests == 1 and mine.totals.cost_nano_usd == acme.summary.cost_nano_usd
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.CostReport(pb.CostReportRequest(tenants=["globex"]), metadata=bearer(ACME_KEY))
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        everyone = await stub.CostReport(
            pb.CostReportRequest(group_by=[pb.GROUP_BY_TENANT]), metadata=bearer(ADMIN_KEY)
        )
        assert {r.tenant for r in everyone.rows} == {"acme", "globex"}
        # Another tenant cannot rate acme's request.
        with pytest.raises(grpc.aio.AioRpcError) as rated:
            await stub.SubmitFeedback(pb.SubmitFeedbackRequest(request_id="a1", rating=1), metadata=bearer(GLOBEX_KEY))
        assert rated.value.code() == grpc.StatusCode.NOT_FOUND


async def test_budget_refuses_before_the_provider_and_shows_in_report(server_factory: ServerFactory) -> None:
    # demo-fast "hi" really costs about 1e4 nano-USD; the planner's estimate is higher, and admission
    # checks spent + estimate, so a 2e5 budget admits a handful of requests and then refuses.
    running = await server_factory(
        make_config(
            tenants={"small": {"limits": {"daily_usd": "0.0002", "soft_threshold": 0.5}}},
            routing={"default_strategy": "cost_optimized"},
        )
    )
    channel, stub = await connect(running)
    async with channel:
        md = [("x-tenant-id", "small")]
        refused = None
        admitted = 0
        while admitted < 100:
            try:
                await stub.Complete(pb.CompleteRequest(messages=user("hi")), metadata=md)
            except grpc.aio.AioRpcError as exc:
                refused = exc
                break
            admitted += 1
        assert refused is not None and refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, "budget never tripped"
        assert admitted >= 1
        quota = error_details_pb2.QuotaFailure()
        assert any(d.Unpack(quota) for d in status_of(refused).details)
        assert quota.violations[0].subject == "tenant:small"
        report = await stub.CostReport(pb.CostReportRequest(tenants=["small"]))
        assert report.totals.requests == admitted, "a refused request spends nothing and writes no entry"
        [day] = [b for b in report.budgets if b.period == pb.BUDGET_PERIOD_DAY]
        assert day.scope == "tenant:small" and day.limit_nano_usd == 200_000
        assert day.spent_nano_usd <= day.limit_nano_usd
        assert day.spent_nano_usd == report.totals.cost_nano_usd
        assert day.state in (pb.BUDGET_STATE_SOFT_LIMIT, pb.BUDGET_STATE_EXHAUSTED)


async def test_streams_count_against_the_budget(server_factory: ServerFactory) -> None:
    running = await server_factory(
        make_config(
            tenants={"small": {"limits": {"daily_usd": "0.0002"}}},
            routing={"default_strategy": "cost_optimized"},
        )
    )
    channel, stub = await connect(running)
    async with channel:
        md = [("x-tenant-id", "small")]
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            for _ in range(100):
                async for _event in stub.StreamComplete(pb.CompleteRequest(messages=user("hi")), metadata=md):
                    pass
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        report = await stub.CostReport(pb.CostReportRequest(tenants=["small"]))
        assert report.totals.cost_nano_usd > 0


async def test_concurrent_requests_cannot_overspend_by_more_than_one_request(server_factory: ServerFactory) -> None:
    limit = 300_000
    running = await server_factory(
        make_config(
            tenants={"busy": {"limits": {"daily_usd": "0.0003"}}},
            routing={"default_strategy": "cost_optimized"},
            demo={"token_delay_ms": 2},
        )
    )
    channel, stub = await connect(running)
    async with channel:
        md = [("x-tenant-id", "busy")]

        async def one() -> int:
            try:
                done = await stub.Complete(pb.CompleteRequest(messages=user("hi")), metadata=md)
                return done.summary.cost_nano_usd
            except grpc.aio.AioRpcError as exc:
                assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                return 0

        costs = await asyncio.gather(*(one() for _ in range(60)))
        spent = sum(costs)
        largest = max(costs)
        assert largest > 0
        assert spent <= limit + largest, (spent, limit)
        report = await stub.CostReport(pb.CostReportRequest(tenants=["busy"]))
        assert report.totals.cost_nano_usd == spent


async def test_rate_limit_gives_retry_info(server_factory: ServerFactory) -> None:
    running = await server_factory(make_config(tenants={"chatty": {"limits": {"requests_per_minute": 3}}}))
    channel, stub = await connect(running)
    async with channel:
        md = [("x-tenant-id", "chatty")]
        for _ in range(3):
            await stub.Complete(pb.CompleteRequest(messages=user("hi")), metadata=md)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Complete(pb.CompleteRequest(messages=user("hi")), metadata=md)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        retry = error_details_pb2.RetryInfo()
        assert any(d.Unpack(retry) for d in status_of(caught.value).details)
        assert 0 < retry.retry_delay.ToNanoseconds() <= 60 * 10**9
        # Other tenants are not limited.
        await stub.Complete(pb.CompleteRequest(messages=user("hi")), metadata=[("x-tenant-id", "quiet")])
