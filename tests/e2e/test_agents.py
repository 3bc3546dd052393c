"""The agent coordinator through the server: Route and Complete report the agent; with use_agent the
agent's system prompt reaches the provider and its routing preferences apply; without it, nothing does."""

from __future__ import annotations

import grpc
from llmrouter.v1 import router_pb2 as pb
from llmrouter.v1 import router_pb2_grpc as pb_grpc

from tests.conftest import ServerFactory, make_config, user
from tests.providers.wire_server import Reply, WireServer

SALES = "¿Cuánto cuesta el plan pro y tienen descuento anual?"
FAQ = "What are your opening hours on weekends?"


async def test_route_reports_the_agent(stub: pb_grpc.RouterServiceAsyncStub) -> None:
    sales = await stub.Route(pb.RouteRequest(messages=user(SALES)))
    assert sales.decision.agent == "sales"
    general = await stub.Route(pb.RouteRequest(messages=user("Write a haiku about autumn leaves.")))
    assert general.decision.agent == "general"


async def test_use_agent_applies_system_prompt_and_preferences(server_factory: ServerFactory) -> None:
    async with WireServer() as upstream:
        upstream.add("POST", "/v1/chat/completions", Reply.file("openai/response.json"))
        config = make_config(
            providers={"shop": {"kind": "openai", "base_url": upstream.base_url + "/v1", "api_key_env": ["SHOP_KEY"]}},
            catalog={
                "models": [
                    {
                        "provider": "shop",
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
        running = await server_factory(config, {"SHOP_KEY": "k"})
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = pb_grpc.RouterServiceStub(channel)
            plain = await stub.Complete(pb.CompleteRequest(messages=user(FAQ)))
            assert plain.decision.agent == "faq"
            assert plain.decision.strategy == pb.STRATEGY_BALANCED, "without opt-in the agent changes nothing"
            body = upstream.requests[-1].json()
            assert [m["role"] for m in body["messages"]] == ["user"]

            done = await stub.Complete(
                pb.CompleteRequest(messages=user(FAQ), preferences=pb.RoutingPreferences(use_agent=True))
            )
            assert done.decision.agent == "faq"
            assert done.decision.strategy == pb.STRATEGY_COST_OPTIMIZED, "the FAQ agent's strategy applies"
            body = upstream.requests[-1].json()
            assert body["messages"][0]["role"] == "system"
            assert "frequently asked questions" in body["messages"][0]["content"]
            assert body["messages"][-1]["content"] == FAQ

            # The caller's own strategy wins over the agent's.
            mine = await stub.Complete(
                pb.CompleteRequest(
                    messages=user(FAQ),
                    preferences=pb.RoutingPreferences(use_agent=True, strategy=pb.STRATEGY_QUALITY_OPTIMIZED),
                )
            )
            assert mine.decision.strategy == pb.STRATEGY_QUALITY_OPTIMIZED

            report = await stub.CostReport(pb.CostReportRequest(group_by=[pb.GROUP_BY_AGENT]))
            assert {r.agent: r.requests for r in report.rows} == {"faq": 3}
