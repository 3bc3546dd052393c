# ruff: noqa: E501 (PromQL expressions read best on one line)
"""Builds deploy/grafana/llm-router.json (run after changing metrics or panels; a test checks the names).

.venv/bin/python deploy/grafana/build_dashboard.py
"""

import json
from pathlib import Path

OUT = Path(__file__).with_name("llm-router.json")
DS = {"type": "prometheus", "uid": "${datasource}"}
FAILED = 'status="failed"'
HIT = 'result=~"hit.*"'


class Board:
    """Panels laid out top to bottom on Grafana's 24-column grid."""

    def __init__(self) -> None:
        self.panels: list[dict[str, object]] = []
        self.y = 0

    def panel(
        self, title: str, kind: str, targets: list[tuple[str, str]], w: int, h: int, unit: str = "short", x: int = 0
    ) -> None:
        self.panels.append(
            {
                "id": len(self.panels) + 1,
                "type": kind,
                "title": title,
                "datasource": DS,
                "gridPos": {"x": x, "y": self.y, "w": w, "h": h},
                "targets": [
                    {"refId": chr(65 + i), "datasource": DS, "expr": expr, "legendFormat": legend}
                    for i, (expr, legend) in enumerate(targets)
                ],
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "options": {},
            }
        )

    def row(self, title: str) -> None:
        self.panels.append(
            {
                "id": len(self.panels) + 1,
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1},
                "panels": [],
            }
        )
        self.y += 1


board = Board()
panel, row = board.panel, board.row


def s(metric, extra=""):
    inner = ",".join(x for x in ('job=~"$job"', extra) if x)
    return metric + "{" + inner + "}"


def q(metric, quant, by="le"):
    return f"histogram_quantile({quant}, sum by ({by}) (rate({s(metric)}[5m])))"


row("Overview")
failed = s("llm_router_requests_total", FAILED)
stats = [
    ("Requests / s", f"sum(rate({s('llm_router_requests_total')}[5m]))", "reqps"),
    (
        "Failed requests",
        f"sum(rate({failed}[5m])) / clamp_min(sum(rate({s('llm_router_requests_total')}[5m])), 1e-9)",
        "percentunit",
    ),
    ("Spend (USD / hour)", f"sum(rate({s('llm_router_cost_nano_usd_total')}[1h])) * 3600 / 1e9", "currencyUSD"),
    (
        "Saved vs baseline (24h)",
        f"1 - sum(increase({s('llm_router_cost_nano_usd_total')}[24h])) / clamp_min(sum(increase({s('llm_router_baseline_cost_nano_usd_total')}[24h])), 1)",
        "percentunit",
    ),
    ("Calls in flight", f"sum({s('llm_router_grpc_in_flight_requests')})", "short"),
    ("Providers enabled", f"sum by (provider) ({s('llm_router_provider_enabled')})", "short"),
]
for i, (t, e, u) in enumerate(stats):
    panel(t, "stat", [(e, "{{provider}}" if "provider" in e else t)], 4, 4, u, x=4 * i)
board.y += 4
row("Traffic and latency")
panel(
    "Requests by model and status",
    "timeseries",
    [
        (
            f"sum by (provider, model, status) (rate({s('llm_router_requests_total')}[5m]))",
            "{{provider}}/{{model}} {{status}}",
        )
    ],
    12,
    8,
    "reqps",
)
panel(
    "gRPC calls by method and code",
    "timeseries",
    [(f"sum by (method, code) (rate({s('llm_router_grpc_requests_total')}[5m]))", "{{method}} {{code}}")],
    12,
    8,
    "reqps",
    x=12,
)
board.y += 8
panel(
    "Request latency",
    "timeseries",
    [(q("llm_router_request_duration_seconds_bucket", p), f"p{int(p * 100)}") for p in (0.5, 0.95, 0.99)],
    8,
    8,
    "s",
)
panel(
    "Time to first token p95 by model",
    "timeseries",
    [(q("llm_router_time_to_first_token_seconds_bucket", 0.95, "le, provider, model"), "{{provider}}/{{model}}")],
    8,
    8,
    "s",
    x=8,
)
panel(
    "Router overhead (total minus provider time)",
    "timeseries",
    [
        (q("llm_router_router_overhead_seconds_bucket", p, "le, rpc"), "{{rpc}} p" + str(int(p * 100)))
        for p in (0.5, 0.99)
    ],
    8,
    8,
    "s",
    x=16,
)
board.y += 8
panel(
    "gRPC call duration p95 by method",
    "timeseries",
    [(q("llm_router_grpc_request_duration_seconds_bucket", 0.95, "le, method"), "{{method}}")],
    12,
    8,
    "s",
)
panel(
    "Provider call latency p95 by model",
    "timeseries",
    [(q("llm_router_provider_attempt_duration_seconds_bucket", 0.95, "le, provider, model"), "{{provider}}/{{model}}")],
    12,
    8,
    "s",
    x=12,
)
board.y += 8
row("Cost and tokens")
panel(
    "Spend by model (USD / hour)",
    "timeseries",
    [
        (
            f"sum by (provider, model) (rate({s('llm_router_cost_nano_usd_total')}[1h])) * 3600 / 1e9",
            "{{provider}}/{{model}}",
        )
    ],
    8,
    8,
    "currencyUSD",
)
panel(
    "Spend by tenant (USD / hour)",
    "timeseries",
    [(f"sum by (tenant) (rate({s('llm_router_cost_nano_usd_total')}[1h])) * 3600 / 1e9", "{{tenant}}")],
    8,
    8,
    "currencyUSD",
    x=8,
)
panel(
    "Cost against the baseline model (USD / hour)",
    "timeseries",
    [
        (f"sum(rate({s('llm_router_cost_nano_usd_total')}[1h])) * 3600 / 1e9", "actual"),
        (f"sum(rate({s('llm_router_baseline_cost_nano_usd_total')}[1h])) * 3600 / 1e9", "baseline"),
        (f"sum(rate({s('llm_router_cache_saved_nano_usd_total')}[1h])) * 3600 / 1e9", "saved by cache"),
    ],
    8,
    8,
    "currencyUSD",
    x=16,
)
board.y += 8
panel(
    "Tokens / s by kind",
    "timeseries",
    [(f"sum by (kind) (rate({s('llm_router_tokens_total')}[5m]))", "{{kind}}")],
    12,
    8,
    "short",
)
panel(
    "Tokens / s by tenant",
    "timeseries",
    [(f"sum by (tenant) (rate({s('llm_router_tokens_total')}[5m]))", "{{tenant}}")],
    12,
    8,
    "short",
    x=12,
)
board.y += 8
row("Routing and resilience")
panel(
    "Routing decisions by strategy and complexity",
    "timeseries",
    [
        (
            f"sum by (strategy, complexity) (rate({s('llm_router_routing_decisions_total')}[5m]))",
            "{{strategy}} {{complexity}}",
        )
    ],
    8,
    8,
    "reqps",
)
panel(
    "Selected models (1h)",
    "piechart",
    [(f"sum by (provider, model) (increase({s('llm_router_routing_decisions_total')}[1h]))", "{{provider}}/{{model}}")],
    8,
    8,
    "short",
    x=8,
)
panel(
    "Provider attempts by outcome",
    "timeseries",
    [(f"sum by (provider, outcome) (rate({s('llm_router_provider_attempts_total')}[5m]))", "{{provider}} {{outcome}}")],
    8,
    8,
    "reqps",
    x=16,
)
board.y += 8
panel(
    "Fallbacks and retries",
    "timeseries",
    [
        (
            f"sum by (provider, model, error_kind) (rate({s('llm_router_fallbacks_total')}[5m]))",
            "fallback from {{provider}}/{{model}} ({{error_kind}})",
        ),
        (
            f"sum by (provider, model, error_kind) (rate({s('llm_router_retries_total')}[5m]))",
            "retry {{provider}}/{{model}} ({{error_kind}})",
        ),
    ],
    12,
    8,
    "reqps",
)
panel(
    "Circuit breakers (0 closed, 1 half-open, 2 open)",
    "state-timeline",
    [(f"max by (provider, deployment) ({s('llm_router_circuit_breaker_state')})", "{{provider}} {{deployment}}")],
    12,
    8,
    "short",
    x=12,
)
board.y += 8
panel(
    "Breaker transitions (15m)",
    "timeseries",
    [
        (
            f"sum by (provider, deployment, state) (increase({s('llm_router_circuit_breaker_transitions_total')}[15m]))",
            "{{deployment}} -> {{state}}",
        )
    ],
    8,
    8,
    "short",
)
LOOKED = 'result!="bypass"'
panel(
    "Cache hit ratio and lookups",
    "timeseries",
    [
        (
            f"sum(rate({s('llm_router_cache_lookups_total', HIT)}[5m])) / clamp_min(sum(rate({s('llm_router_cache_lookups_total', LOOKED)}[5m])), 1e-9)",
            "hit ratio",
        ),
        (f"sum by (result) (rate({s('llm_router_cache_lookups_total')}[5m]))", "{{result}} / s"),
    ],
    8,
    8,
    "short",
    x=8,
)
panel(
    "Cache stores and evictions",
    "timeseries",
    [
        (f"sum(rate({s('llm_router_cache_stores_total')}[5m]))", "stores"),
        (f"sum by (reason) (rate({s('llm_router_cache_evictions_total')}[5m]))", "evicted ({{reason}})"),
    ],
    8,
    8,
    "ops",
    x=16,
)
board.y += 8
row("Budgets, ledger and operations")
panel(
    "Budget used (share of limit)",
    "bargauge",
    [
        (
            f"max by (scope, period) ({s('llm_router_budget_spent_nano_usd')} + {s('llm_router_budget_reserved_nano_usd')}) / max by (scope, period) ({s('llm_router_budget_limit_nano_usd')})",
            "{{scope}} {{period}}",
        )
    ],
    8,
    8,
    "percentunit",
)
panel(
    "Budget state (0 ok, 1 soft limit, 2 exhausted)",
    "state-timeline",
    [(f"max by (scope, period) ({s('llm_router_budget_state')})", "{{scope}} {{period}}")],
    8,
    8,
    "short",
    x=8,
)
panel(
    "Ledger memory",
    "timeseries",
    [
        (f"max({s('llm_router_ledger_recent_entries')})", "recent entries"),
        (f"max({s('llm_router_ledger_rollups')})", "rollup rows"),
    ],
    8,
    8,
    "short",
    x=16,
)
board.y += 8
panel(
    "Config generation and reloads",
    "timeseries",
    [
        (f"max by (instance) ({s('llm_router_config_generation')})", "generation {{instance}}"),
        (f"sum by (result) (increase({s('llm_router_config_reloads_total')}[15m]))", "reloads {{result}}"),
    ],
    12,
    8,
    "short",
)
panel("Draining replicas", "timeseries", [(f"sum({s('llm_router_draining')})", "draining")], 12, 8, "short", x=12)
dashboard = {
    "title": "llm-router",
    "uid": "llm-router",
    "tags": ["llm-router", "llm"],
    "timezone": "browser",
    "schemaVersion": 39,
    "version": 1,
    "editable": True,
    "refresh": "30s",
    "time": {"from": "now-6h", "to": "now"},
    "description": "Requests, latency, spend and savings, routing, fallbacks, cache, breakers and budgets of llm-router (scraped from the admin port's /metrics).",
    "templating": {
        "list": [
            {
                "name": "datasource",
                "type": "datasource",
                "query": "prometheus",
                "label": "Prometheus",
                "current": {},
                "hide": 0,
            },
            {
                "name": "job",
                "type": "query",
                "datasource": DS,
                "query": "label_values(llm_router_grpc_requests_total, job)",
                "definition": "label_values(llm_router_grpc_requests_total, job)",
                "includeAll": True,
                "allValue": ".*",
                "multi": True,
                "label": "job",
                "refresh": 2,
                "current": {},
                "hide": 0,
            },
        ]
    },
    "annotations": {"list": []},
    "panels": board.panels,
}
OUT.write_text(json.dumps(dashboard, indent=2) + "\n")
print(len(board.panels))
