"""The admin HTTP port of a real router: Prometheus exposition, health, JSON matching CostReport, guards."""

from __future__ import annotations

import asyncio
import hashlib

import grpc
import httpx
import pytest
from llmrouter.v1 import router_pb2 as pb
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import user
from tests.observability.conftest import Observed, StartObserved, observed_config

ADMIN_KEY = "admin-key-for-tests-0123456789"
ADMIN_SHA = hashlib.sha256(ADMIN_KEY.encode()).hexdigest()


async def traffic(observed: Observed, n: int = 3) -> None:
    for i in range(n):
        await observed.stub.Complete(pb.CompleteRequest(messages=user(f"hola {i}, ¿qué tal?")))
        async for _ in observed.stub.StreamComplete(pb.CompleteRequest(messages=user(f"write a haiku {i}"))):
            pass
    await observed.stub.Route(pb.RouteRequest(messages=user("hi")))


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def total(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, lab), v in found.items() if n == name and want <= lab)


async def test_metrics_endpoint_counts_real_traffic(observed: Observed) -> None:
    await traffic(observed)
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await observed.stub.Complete(pb.CompleteRequest())
    response = await observed.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    found = samples(response.text)
    assert total(found, "llm_router_grpc_requests_total", method="Complete", code="OK") == 3
    assert total(found, "llm_router_grpc_requests_total", method="StreamComplete", code="OK") == 3
    assert total(found, "llm_router_grpc_requests_total", method="Route", code="OK") == 1
    assert total(found, "llm_router_grpc_requests_total", method="Complete", code=bad.value.code().name) == 1
    assert total(found, "llm_router_grpc_in_flight_requests") == 0
    assert total(found, "llm_router_grpc_request_duration_seconds_count", method="StreamComplete") == 3
    assert total(found, "llm_router_provider_enabled", provider="demo") == 1
    assert total(found, "llm_router_config_generation") == 1
    assert "request_id" not in response.text and "hola" not in response.text
    observed.ensure_accounted()
    found = samples((await observed.http.get("/metrics")).text)
    assert total(found, "llm_router_requests_total", rpc="StreamComplete", status="ok") == 3
    assert total(found, "llm_router_cost_nano_usd_total", tenant="default") == sum(
        e.cost_nano_usd for e in observed.running.app.pipeline.ledger.recent(100)
    )
    assert total(found, "llm_router_time_to_first_token_seconds_count") in (0, 3)  # 3 once the stream passes TTFT


async def test_healthz_and_unknown_paths_and_methods(observed: Observed) -> None:
    assert (await observed.http.get("/healthz")).text == "ok\n"
    assert (await observed.http.get("/nope")).status_code == 404
    assert (await observed.http.post("/metrics")).status_code == 405
    assert (await observed.http.head("/healthz")).status_code == 200


async def test_report_json_matches_cost_report(observed: Observed) -> None:
    await traffic(observed)
    report = (await observed.http.get("/api/report")).json()
    rpc = await observed.stub.CostReport(pb.CostReportRequest())
    assert report["totals"]["requests"] == rpc.totals.requests == 6
    assert report["totals"]["cost_nano_usd"] == rpc.totals.cost_nano_usd
    assert report["totals"]["baseline_cost_nano_usd"] == rpc.totals.baseline_cost_nano_usd
    assert sum(m["requests"] for m in report["models"]) == 6
    assert sum(h["requests"] for h in report["hourly"]) == 6


async def test_recent_requests_have_no_prompt_text_by_default(observed: Observed) -> None:
    await traffic(observed, 1)
    recent = (await observed.http.get("/api/recent?limit=10")).json()
    assert recent["show_prompts"] is False and len(recent["requests"]) == 2
    assert "hola" not in str(recent) and all("prompt" not in r for r in recent["requests"])
    assert (await observed.http.get("/api/recent?limit=x")).status_code == 400


async def test_providers_and_status(observed: Observed) -> None:
    await traffic(observed, 1)
    observed.ensure_accounted()
    providers = {p["provider"]: p for p in (await observed.http.get("/api/providers")).json()["providers"]}
    assert providers["demo"]["enabled"] and providers["demo"]["attempts"] == 2
    assert providers["openai"]["enabled"] is False and "OPENAI_API_KEY" in providers["openai"]["reason"]
    status = (await observed.http.get("/api/status")).json()
    assert status["generation"] == 1 and status["draining"] is False


async def test_dashboard_page_is_self_contained(observed: Observed) -> None:
    page = await observed.http.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page.text


async def test_admin_key_guards_dashboard_but_not_metrics_or_health(start_observed: StartObserved) -> None:
    observed: Observed = await start_observed(observed_config(admin={"admin_key_sha256": ADMIN_SHA}))
    assert (await observed.http.get("/api/report")).status_code == 401
    assert (await observed.http.get("/")).headers["www-authenticate"].startswith("Basic")
    ok = await observed.http.get("/api/report", headers={"authorization": f"Bearer {ADMIN_KEY}"})
    assert ok.status_code == 200
    basic = await observed.http.get("/", auth=httpx.BasicAuth("ops", ADMIN_KEY))
    assert basic.status_code == 200
    assert (await observed.http.get("/", auth=httpx.BasicAuth("ops", "wrong"))).status_code == 401
    assert (await observed.http.get("/metrics")).status_code == 200
    assert (await observed.http.get("/healthz")).status_code == 200


async def test_oversized_or_garbled_requests_are_refused(observed: Observed) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", observed.admin_port)
    writer.write(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n")
    await writer.drain()
    assert (await reader.readline()).startswith(b"HTTP/1.1 431")
    writer.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", observed.admin_port)
    writer.write(b"NONSENSE\r\n\r\n")
    await writer.drain()
    assert (await reader.readline()).startswith(b"HTTP/1.1 400")
    writer.close()


async def test_admin_port_off_by_config(start_observed: StartObserved) -> None:
    observed: Observed = await start_observed(observed_config(admin={"enabled": False}))
    assert observed.admin_port == 0
    await observed.stub.Complete(pb.CompleteRequest(messages=user("hola")))


async def test_busy_admin_port_does_not_stop_the_router(observed: Observed, start_observed: StartObserved) -> None:
    second: Observed = await start_observed(observed_config(admin={"listen": f"127.0.0.1:{observed.admin_port}"}))
    assert second.admin_port == 0
    done = await second.stub.Complete(pb.CompleteRequest(messages=user("hola")))
    assert done.text


async def test_breaker_transitions_reach_metrics_and_dashboard(observed: Observed) -> None:
    deployment = next(d for d in observed.running.app.pool.all if d.provider == "demo")
    for _ in range(50):
        deployment.breaker.record_failure()
    found = samples((await observed.http.get("/metrics")).text)
    label = f"{deployment.name}/{deployment.model_id}"
    assert total(found, "llm_router_circuit_breaker_state", provider="demo", deployment=label) == 2
    assert total(found, "llm_router_circuit_breaker_transitions_total", deployment=label, state="open") == 1
    providers = {p["provider"]: p for p in (await observed.http.get("/api/providers")).json()["providers"]}
    assert {"deployment": label, "state": "open"} in providers["demo"]["breakers"]


async def test_connection_flood_is_capped(observed: Observed) -> None:
    from router_service.observability.admin_http import MAX_CONNECTIONS

    idle = [await asyncio.open_connection("127.0.0.1", observed.admin_port) for _ in range(MAX_CONNECTIONS)]
    await asyncio.sleep(0.1)
    reader, writer = await asyncio.open_connection("127.0.0.1", observed.admin_port)
    assert (await reader.readline()).startswith(b"HTTP/1.1 503")
    writer.close()
    for _, w in idle:
        w.close()
    await asyncio.sleep(0.1)
    assert (await observed.http.get("/healthz")).status_code == 200
