"""The admin port's routes: Prometheus exposition, health, the dashboard page and its JSON endpoints.

The JSON is drawn from the same sources as CostReport (`ledger.report`, `ledger.recent`) and the metrics
(the observer), so the page and the RPC always agree. Prompt text appears only with `show_prompts`.
"""

from __future__ import annotations

import asyncio
import json
import time
from importlib import resources
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from router_service.domain import ErrorKind
from router_service.ledger import Dimension, LedgerEntry, ReportQuery, ReportRow
from router_service.observability.admin_http import Request, Response, Route, text
from router_service.observability.generations import AppHolder
from router_service.observability.observer import PREVIEW_LIMIT, Observer

MAX_RECENT = 500


def _json(data: object) -> Response:
    return Response(200, json.dumps(data, separators=(",", ":")).encode(), "application/json")


def _row(row: ReportRow) -> dict[str, Any]:
    key = row.key
    return {
        "provider": key.provider,
        "model": key.model,
        "tenant": key.tenant,
        "bucket_start": key.bucket_start,
        "requests": row.requests,
        "errors": row.errors,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "cached_input_tokens": row.cached_input_tokens,
        "cost_nano_usd": row.cost_nano_usd,
        "baseline_cost_nano_usd": row.baseline_cost_nano_usd,
        "savings_nano_usd": row.savings_nano_usd,
        "savings_percent": round(row.savings_percent, 3),
        "cache_hits": row.cache_hits,
        "cache_saved_nano_usd": row.cache_saved_nano_usd,
        "latency_p50_s": row.latency_p50_s,
        "latency_p95_s": row.latency_p95_s,
        "latency_p99_s": row.latency_p99_s,
    }


class DashboardRoutes:
    def __init__(self, holder: AppHolder, observer: Observer, started_at: float | None = None) -> None:
        self._holder = holder
        self._observer = observer
        self._started_at = started_at or time.time()
        self._page = resources.files(__package__).joinpath("dashboard.html").read_bytes()

    def routes(self) -> dict[str, Route]:
        return {
            "/": self.page,
            "/healthz": self.healthz,
            "/metrics": self.metrics,
            "/api/report": self.report,
            "/api/recent": self.recent,
            "/api/providers": self.providers,
            "/api/status": self.status,
        }

    async def page(self, request: Request) -> Response:
        return Response(200, self._page, "text/html; charset=utf-8")

    async def healthz(self, request: Request) -> Response:
        if self._holder.draining:
            return text(503, "draining")
        return text(200, "ok")

    async def metrics(self, request: Request) -> Response:
        metrics = self._observer.metrics
        if metrics is None:
            return text(404, "metrics are off (admin.metrics: false)")
        # Rendering walks every series; off the event loop so a large scrape never stalls calls.
        body = await asyncio.to_thread(generate_latest, metrics.registry)
        return Response(200, body, CONTENT_TYPE_LATEST)

    async def report(self, request: Request) -> Response:
        """Totals (as CostReport with no filter), hourly series, and rows by model and by tenant."""
        ledger = self._holder.app.pipeline.ledger
        try:
            hours = float(request.param("hours", "0"))
        except ValueError:
            return text(400, "hours must be a number")
        start = time.time() - hours * 3600 if hours > 0 else None

        def run() -> dict[str, Any]:
            totals = ledger.report(ReportQuery(start=start))
            hourly = ledger.report(ReportQuery(start=start, group_by=(Dimension.HOUR,)))
            models = ledger.report(ReportQuery(start=start, group_by=(Dimension.MODEL,)))
            tenants = ledger.report(ReportQuery(start=start, group_by=(Dimension.TENANT,)))
            return {
                "start": totals.start,
                "end": totals.end,
                "totals": _row(totals.totals),
                "hourly": sorted((_row(r) for r in hourly.rows), key=lambda r: r["bucket_start"] or 0),
                "models": [_row(r) for r in models.rows],
                "tenants": [_row(r) for r in tenants.rows[:50]],
            }

        data = await asyncio.to_thread(run)
        baseline = self._holder.app.pipeline.baseline
        data["baseline_model"] = str(baseline) if baseline is not None else ""
        return _json(data)

    async def recent(self, request: Request) -> Response:
        try:
            limit = max(1, min(MAX_RECENT, int(request.param("limit", "50"))))
        except ValueError:
            return text(400, "limit must be an integer")
        entries = self._holder.app.pipeline.ledger.recent(limit)
        texts = self._observer.request_texts() if self._observer.settings.show_prompts else {}
        out = []
        for entry in reversed(entries):
            item = _entry(entry)
            found = texts.get(entry.request_id)
            if found is not None:
                item["prompt"] = found.prompt[:PREVIEW_LIMIT]
            out.append(item)
        return _json({"show_prompts": self._observer.settings.show_prompts, "requests": out})

    async def providers(self, request: Request) -> Response:
        app = self._holder.app
        health = self._observer.provider_health()
        breakers: dict[str, list[dict[str, str]]] = {}
        for (provider, deployment), state in sorted(self._observer.breaker_states().items()):
            breakers.setdefault(provider, []).append({"deployment": deployment, "state": state})
        names = sorted(set(app.registry.reasons) | set(app.registry.adapters) | set(health))
        out = []
        for name in names:
            stats = health.get(name)
            out.append(
                {
                    "provider": name,
                    "enabled": name in app.registry.adapters,
                    "reason": app.registry.reasons.get(name, "enabled"),
                    "attempts": stats.attempts if stats else 0,
                    "errors": stats.errors if stats else 0,
                    "last_error": stats.last_error if stats else "",
                    "last_error_at": stats.last_error_at if stats else 0,
                    "breakers": breakers.get(name, []),
                }
            )
        return _json({"providers": out})

    async def status(self, request: Request) -> Response:
        holder = self._holder
        return _json(
            {
                "generation": holder.current.number,
                "draining": holder.draining,
                "in_flight": holder.in_flight,
                "started_at": self._started_at,
                "now": time.time(),
                "show_prompts": self._observer.settings.show_prompts,
                "default_strategy": holder.app.config.routing.default_strategy,
            }
        )


def _entry(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "request_id": entry.request_id,
        "timestamp": entry.timestamp,
        "tenant": entry.tenant,
        "rpc": entry.rpc,
        "provider": entry.model.provider,
        "model": entry.model.model,
        "status": entry.status.name.lower(),
        "strategy": entry.strategy,
        "complexity": entry.complexity.name.lower() if entry.complexity is not None else "",
        "domain": entry.domain.name.lower(),
        "attempts": len(entry.attempts),
        "fallbacks": sum(1 for a in entry.attempts[:-1] if a.error_kind != ErrorKind.NONE),
        "input_tokens": entry.usage.input_tokens,
        "output_tokens": entry.usage.output_tokens,
        "cost_nano_usd": entry.cost_nano_usd,
        "baseline_cost_nano_usd": entry.baseline_cost_nano_usd,
        "latency_ms": round(entry.latency_s * 1000, 3),
        "cache_hit": entry.cache_hit,
    }
