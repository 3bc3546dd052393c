"""The analyzer's optional LLM stage: off by default; when on, an unsure prompt is labelled by the
cheapest available model through a real upstream, and that call is its own ledger entry."""

from __future__ import annotations

import json

import grpc
from llmrouter.v1 import router_pb2 as pb
from llmrouter.v1 import router_pb2_grpc as pb_grpc

from router_service.domain import Complexity, Domain, Intent, Language
from router_service.server.classifier import parse_labels
from tests.conftest import ServerFactory, make_config, user
from tests.providers.wire_server import Reply, WireServer

LABELS = {"domain": "math", "intent": "faq", "language": "es", "complexity": "SIMPLE"}


def answer(text: str) -> Reply:
    body = json.loads((Reply.file("openai/response.json").body).decode())
    body["choices"][0]["message"]["content"] = text
    return Reply.json(body)


def test_parse_labels_tolerates_prose_and_bad_values() -> None:
    labels = parse_labels('Sure! {"domain": "math", "intent": "nonsense", "language": "es", "complexity": "SIMPLE"}')
    assert labels.domain is Domain.MATH and labels.intent is None
    assert labels.language is Language.SPANISH and labels.complexity is Complexity.SIMPLE
    assert parse_labels("no json here").domain is None
    assert parse_labels('{"intent": "FAQ"}').intent is Intent.FAQ


async def test_unsure_prompt_is_labelled_by_the_cheapest_model(server_factory: ServerFactory) -> None:
    async with WireServer() as upstream:
        chat = "/v1/chat/completions"
        upstream.add("POST", chat, answer(json.dumps(LABELS)), Reply.file("openai/response.json"))
        entry = {
            "tier": "fast",
            "context_window": 128000,
            "max_output_tokens": 4096,
            "capabilities": {"streaming": True},
            "quality": {"overall": 0.8},
            "latency_prior_ms": 300,
        }
        config = make_config(
            providers={"shop": {"kind": "openai", "base_url": upstream.base_url + "/v1", "api_key_env": ["K"]}},
            catalog={
                "models": [
                    {"provider": "shop", "model": "tiny", "input_per_mtok": "0.01", "output_per_mtok": "0.02", **entry},
                    {"provider": "shop", "model": "big", "input_per_mtok": "1", "output_per_mtok": "2", **entry},
                ]
            },
            # Every label counts as unsure at this threshold, so the classifier is always asked.
            analyzer={"llm": {"enabled": True, "threshold": 1.0}},
            routing={"default_strategy": "quality_optimized"},
        )
        running = await server_factory(config, {"K": "k"})
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = pb_grpc.RouterServiceStub(channel)
            routed = await stub.Route(pb.RouteRequest(messages=user("zxqv 42")))
            assert "llm" not in routed.decision.analysis.sources, "Route calls no provider"
            assert not upstream.requests

            done = await stub.Complete(
                pb.CompleteRequest(messages=user("zxqv 42"), request_id="r1"), metadata=[("x-tenant-id", "acme")]
            )
            analysis = done.decision.analysis
            assert "llm" in analysis.sources
            assert analysis.domain == pb.DOMAIN_MATH and analysis.intent == pb.INTENT_FAQ
            assert analysis.language == pb.LANGUAGE_SPANISH
            classify = upstream.requests[0].json()
            assert classify["model"] == "tiny" and classify["messages"][0]["role"] == "system"
            assert classify["messages"][1]["content"] == "zxqv 42"

            report = await stub.CostReport(pb.CostReportRequest(group_by=[pb.GROUP_BY_AGENT]))
            by_agent = {r.agent: r for r in report.rows}
            assert by_agent["router"].requests == 1 and by_agent["router"].cost_nano_usd > 0
            assert report.totals.requests == 2
            tenants = await stub.CostReport(pb.CostReportRequest(group_by=[pb.GROUP_BY_TENANT]))
            assert {r.tenant for r in tenants.rows} == {"acme"}
