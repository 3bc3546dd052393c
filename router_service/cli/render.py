"""Readable text for the CLI: decisions, costs, model tables."""

from __future__ import annotations

from collections.abc import Sequence

from llmrouter.v1 import router_pb2 as pb

from router_service.catalog.pricing import format_usd


def enum_name(enum: object, value: int, prefix: str) -> str:
    name: str = enum.Name(value)  # type: ignore[attr-defined]
    return name.removeprefix(prefix).lower()


def ref(model: pb.ModelRef) -> str:
    return f"{model.provider}/{model.model}" if model.provider else "-"


def decision(d: pb.RouteDecision) -> str:
    a = d.analysis
    lines = [
        f"model      {ref(d.selected)}",
        f"fallbacks  {', '.join(ref(m) for m in d.fallbacks) or '-'}",
        f"strategy   {enum_name(pb.Strategy, d.strategy, 'STRATEGY_')}",
        f"reason     {d.reason}",
        f"analysis   complexity={enum_name(pb.ComplexityTier, a.complexity, 'COMPLEXITY_TIER_')} "
        f"({a.complexity_score:.2f}) domain={enum_name(pb.Domain, a.domain, 'DOMAIN_')} "
        f"intent={enum_name(pb.Intent, a.intent, 'INTENT_')} "
        f"language={enum_name(pb.Language, a.language, 'LANGUAGE_')} tokens≈{a.features.token_estimate}",
        f"agent      {d.agent or '-'}",
        f"est. cost  {format_usd(d.estimated_cost_nano_usd)} (baseline {ref(d.baseline_model)}: "
        f"{format_usd(d.baseline_cost_nano_usd)})",
    ]
    if d.experiment_arm:
        lines.append(f"experiment {d.experiment_arm}")
    lines += [f"warning    {w}" for w in d.warnings]
    return "\n".join(lines)


def summary(s: pb.CompletionSummary) -> str:
    u = s.usage
    usage = f"{u.input_tokens} in / {u.output_tokens} out"
    if u.cached_input_tokens:
        usage += f" / {u.cached_input_tokens} cached"
    if u.estimated:
        usage += " (estimated)"
    lines = [
        f"answered by {ref(s.model)} · finish {enum_name(pb.FinishReason, s.finish_reason, 'FINISH_REASON_')}"
        f" · {usage} · cost {format_usd(s.cost_nano_usd)} · {s.latency.ToMilliseconds()} ms",
    ]
    if len(s.attempts) > 1:
        for i, att in enumerate(s.attempts, 1):
            outcome = enum_name(pb.ErrorKind, att.error_kind, "ERROR_KIND_") if att.error_kind else "ok"
            lines.append(f"  attempt {i}: {ref(att.model)} {outcome} {att.error_message}".rstrip())
    if s.cache.result in (pb.CACHE_RESULT_HIT_EXACT, pb.CACHE_RESULT_HIT_SEMANTIC):
        lines.append(
            f"  from cache ({enum_name(pb.CacheResult, s.cache.result, 'CACHE_RESULT_')}), "
            f"saved {format_usd(s.cache.saved_cost_nano_usd)}"
        )
    lines += [f"  warning: {w}" for w in s.warnings]
    return "\n".join(lines)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def group_label(row: pb.CostRow, dims: Sequence[int]) -> list[str]:
    cells: list[str] = []
    for dim in dims:
        if dim == pb.GROUP_BY_PROVIDER:
            cells.append(row.provider)
        elif dim == pb.GROUP_BY_MODEL:
            cells.append(f"{row.provider}/{row.model}")
        elif dim == pb.GROUP_BY_TENANT:
            cells.append(row.tenant)
        elif dim == pb.GROUP_BY_AGENT:
            cells.append(row.agent)
        elif dim == pb.GROUP_BY_DOMAIN:
            cells.append(enum_name(pb.Domain, row.domain, "DOMAIN_"))
        elif dim == pb.GROUP_BY_COMPLEXITY:
            cells.append(enum_name(pb.ComplexityTier, row.complexity, "COMPLEXITY_TIER_"))
        elif dim == pb.GROUP_BY_STRATEGY:
            cells.append(enum_name(pb.Strategy, row.strategy, "STRATEGY_"))
        elif dim == pb.GROUP_BY_EXPERIMENT_ARM:
            cells.append(row.experiment_arm)
        else:
            cells.append(row.bucket_start.ToDatetime().strftime("%Y-%m-%d %H:00"))
    return cells


def cost_cells(row: pb.CostRow) -> list[str]:
    return [
        str(row.requests),
        str(row.errors),
        str(row.input_tokens),
        str(row.output_tokens),
        format_usd(row.cost_nano_usd),
        format_usd(row.baseline_cost_nano_usd),
        f"{row.savings_percent:.1f}%",
        str(row.cache_hits),
        f"{row.latency_p50.ToMilliseconds()}",
    ]


COST_HEADERS = ["requests", "errors", "in tok", "out tok", "cost", "baseline", "saved", "cache", "p50 ms"]
