"""`llm-router`: run the server, or call a running one (route, complete, cost-report, models, feedback)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from grpc_status import rpc_status
from llmrouter.v1 import router_pb2 as pb
from llmrouter.v1 import router_pb2_grpc as pb_grpc

from router_service.cli import render
from router_service.domain import ModelRef

DEFAULT_ADDRESS = "localhost:50051"
_GROUPS: dict[str, pb.GroupBy.ValueType] = {
    name.removeprefix("GROUP_BY_").lower(): value for name, value in pb.GroupBy.items() if value
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llm-router", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the router (embedded default: no config, no keys)")
    serve.add_argument(
        "--config",
        type=Path,
        default=os.environ.get("LLM_ROUTER_CONFIG") or None,
        help="YAML configuration file (env LLM_ROUTER_CONFIG)",
    )
    serve.add_argument("--listen", help="HOST:PORT to listen on (env LLM_ROUTER_LISTEN; default 0.0.0.0:50051)")

    def client(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--address", default=os.environ.get("LLM_ROUTER_ADDRESS", DEFAULT_ADDRESS))
        p.add_argument("--json", action="store_true", help="print the response message as JSON")
        p.add_argument("--timeout", type=float, default=120.0, help="deadline in seconds")
        p.add_argument("--tenant", help="tenant id (x-tenant-id metadata)")
        p.add_argument(
            "--api-key", default=os.environ.get("LLM_ROUTER_API_KEY"), help="caller key (env LLM_ROUTER_API_KEY)"
        )
        return p

    for name, help_text in (("route", "show the routing decision only"), ("complete", "route and answer")):
        p = client(name, help_text)
        p.add_argument("text", help="the user message")
        p.add_argument("--system", help="a system prompt")
        p.add_argument("--strategy", choices=[s.removeprefix("STRATEGY_").lower() for s, v in pb.Strategy.items() if v])
        p.add_argument("--model", help="force PROVIDER/MODEL (or PROVIDER/ for any model of it)")
        p.add_argument("--max-tokens", type=int)
        p.add_argument("--temperature", type=float)
        p.add_argument("--request-id")
        if name == "complete":
            p.add_argument("--stream", action="store_true", help="print text as it arrives")
            p.add_argument("--alternatives", action="store_true",
                           help="include every scored alternative in the decision (as route does)")

    report = client("cost-report", "spend, savings and usage from the ledger")
    report.add_argument(
        "--group-by", default="model", help=f"comma-separated: {', '.join(_GROUPS)} (default model; 'none' for totals)"
    )
    report.add_argument("--tenant-filter", action="append", default=[], help="only this tenant (repeatable)")
    report.add_argument("--provider", action="append", default=[], help="only this provider (repeatable)")
    report.add_argument("--format", choices=["table", "csv"], default="table")

    models = client("models", "the model catalog with prices and availability")
    models.add_argument("--provider")
    models.add_argument("--available", action="store_true", help="only models that can be routed to now")

    feedback = client("feedback", "rate an earlier answer 1-5")
    feedback.add_argument("request_id")
    feedback.add_argument("rating", type=int)

    keys = sub.add_parser("keys", help="manage caller keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="print a new caller key once, and the lines for the config")
    create.add_argument("--tenant", required=True)
    create.add_argument("--id", help="a name for the key (default: TENANT-<random>)")
    create.add_argument("--allow", action="append", default=[], help="allowed 'provider/model' pattern (repeatable)")
    create.add_argument("--admin", action="store_true", help="may read every tenant's cost report")

    analyze = sub.add_parser("analyze", help="print the analysis of a text, or evaluate on a JSONL file")
    analyze.add_argument("args", nargs=argparse.REMAINDER)
    train = sub.add_parser("train-analyzer", help="train the analyzer's learned model")
    train.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _messages(args: argparse.Namespace) -> list[pb.Message]:
    out = []
    if args.system:
        out.append(pb.Message(role=pb.ROLE_SYSTEM, content=args.system))
    out.append(pb.Message(role=pb.ROLE_USER, content=args.text))
    return out


def _preferences(args: argparse.Namespace) -> pb.RoutingPreferences:
    prefs = pb.RoutingPreferences()
    if args.strategy:
        prefs.strategy = pb.Strategy.Value("STRATEGY_" + args.strategy.upper())
    if args.model:
        ref = ModelRef.parse(args.model)
        prefs.force_model.CopyFrom(pb.ModelRef(provider=ref.provider, model=ref.model))
    return prefs


def _params(args: argparse.Namespace) -> pb.GenerationParams:
    params = pb.GenerationParams()
    if args.max_tokens is not None:
        params.max_output_tokens = args.max_tokens
    if args.temperature is not None:
        params.temperature = args.temperature
    return params


def _route_request(args: argparse.Namespace) -> pb.RouteRequest:
    return pb.RouteRequest(
        messages=_messages(args), params=_params(args), preferences=_preferences(args), request_id=args.request_id or ""
    )


def _complete_request(args: argparse.Namespace) -> pb.CompleteRequest:
    return pb.CompleteRequest(
        messages=_messages(args), params=_params(args), preferences=_preferences(args),
        request_id=args.request_id or "", include_alternatives=args.alternatives,
    )


@dataclass(frozen=True)
class Call:
    timeout: float
    metadata: list[tuple[str, str]]


def _metadata(args: argparse.Namespace) -> list[tuple[str, str]]:
    md = []
    if args.tenant:
        md.append(("x-tenant-id", args.tenant))
    if args.api_key:
        md.append(("authorization", f"Bearer {args.api_key}"))
    return md


def _print_json(message: Message) -> None:
    print(json_format.MessageToJson(message, indent=2))


async def _run_client(args: argparse.Namespace) -> int:
    async with grpc.aio.insecure_channel(args.address) as channel:
        stub = pb_grpc.RouterServiceStub(channel)
        kw = Call(args.timeout, _metadata(args))
        if args.command == "route":
            route = await stub.Route(_route_request(args), timeout=kw.timeout, metadata=kw.metadata)
            if args.json:
                _print_json(route)
            else:
                print(render.decision(route.decision))
                print(f"request    {route.request_id}")
        elif args.command == "complete" and args.stream:
            await _stream(stub, args, kw)
        elif args.command == "complete":
            done = await stub.Complete(_complete_request(args), timeout=kw.timeout, metadata=kw.metadata)
            if args.json:
                _print_json(done)
            else:
                print(done.text)
                print(f"\n{render.summary(done.summary)}\nrequest {done.request_id}", file=sys.stderr)
        elif args.command == "cost-report":
            await _cost_report(stub, args, kw)
        elif args.command == "models":
            listing = await stub.ListModels(
                pb.ListModelsRequest(provider=args.provider or "", available_only=args.available),
                timeout=kw.timeout,
                metadata=kw.metadata,
            )
            _print_models(listing, args.json)
        elif args.command == "feedback":
            fb = await stub.SubmitFeedback(
                pb.SubmitFeedbackRequest(request_id=args.request_id, rating=args.rating),
                timeout=kw.timeout,
                metadata=kw.metadata,
            )
            if args.json:
                _print_json(fb)
            else:
                print(f"rating recorded for {render.ref(fb.model)}{' (replaced)' if fb.replaced else ''}")
    return 0


async def _stream(stub: pb_grpc.RouterServiceAsyncStub, args: argparse.Namespace, kw: Call) -> None:
    call = stub.StreamComplete(_complete_request(args), timeout=kw.timeout, metadata=kw.metadata)
    async for event in call:
        kind = event.WhichOneof("event")
        if args.json:
            print(json_format.MessageToJson(event, indent=None))
        elif kind == "decision":
            print(f"→ {render.ref(event.decision.selected)}: {event.decision.reason}", file=sys.stderr)
        elif kind == "delta":
            print(event.delta.text, end="", flush=True)
        elif kind == "summary":
            print()
            print(f"\n{render.summary(event.summary)}\nrequest {event.request_id}", file=sys.stderr)


async def _cost_report(stub: pb_grpc.RouterServiceAsyncStub, args: argparse.Namespace, kw: Call) -> None:
    dims: list[pb.GroupBy.ValueType] = []
    for name in (s.strip() for s in args.group_by.split(",") if s.strip() and s.strip() != "none"):
        if name not in _GROUPS:
            raise SystemExit(f"llm-router: unknown --group-by {name!r}; choose from {', '.join(_GROUPS)}")
        dims.append(_GROUPS[name])
    request = pb.CostReportRequest(group_by=dims, tenants=args.tenant_filter, providers=args.provider)
    report = await stub.CostReport(request, timeout=kw.timeout, metadata=kw.metadata)
    if args.json:
        _print_json(report)
        return
    headers = [*(n for n in args.group_by.split(",") if dims), *render.COST_HEADERS]
    rows = [[*render.group_label(r, dims), *render.cost_cells(r)] for r in report.rows]
    total = [*(["TOTAL"] + [""] * (len(dims) - 1) if dims else []), *render.cost_cells(report.totals)]
    if args.format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(headers)
        writer.writerows([*rows, total])
        print(buffer.getvalue(), end="")
        return
    print(render.table(headers, [*rows, total]))
    print(f"\nbaseline model: {render.ref(report.baseline_model)}")


def _print_models(listing: pb.ListModelsResponse, as_json: bool) -> None:
    if as_json:
        _print_json(listing)
        return
    from router_service.catalog.pricing import format_usd

    rows = [
        [
            render.ref(m.model),
            render.enum_name(pb.ModelTier, m.tier, "MODEL_TIER_"),
            format_usd(m.pricing.input_nano_usd_per_mtok),
            format_usd(m.pricing.output_nano_usd_per_mtok),
            f"{m.context_window:,}",
            "yes" if m.available else f"no ({m.unavailable_reason})",
        ]
        for m in listing.models
    ]
    print(render.table(["model", "tier", "in $/Mtok", "out $/Mtok", "context", "available"], rows))


def _print_rpc_error(error: grpc.aio.AioRpcError) -> None:
    code = error.code().name if error.code() else "UNKNOWN"
    print(f"llm-router: {code}: {error.details()}", file=sys.stderr)
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return
    from google.rpc import error_details_pb2

    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(bad):
            for v in bad.field_violations:
                print(f"  field {v.field}: {v.description}", file=sys.stderr)
        elif detail.Unpack(info):
            print(f"  {info.domain}: {info.reason} {info.metadata.get('message', '')}".rstrip(), file=sys.stderr)


def _create_key(args: argparse.Namespace) -> int:
    import secrets

    import yaml

    from router_service.auth import CallerKeySpec, digest, new_key

    key = new_key()
    key_id = args.id or f"{args.tenant}-{secrets.token_hex(3)}"
    spec = CallerKeySpec(
        id=key_id, sha256=digest(key), tenant=args.tenant, allowed_models=tuple(args.allow), admin=args.admin
    )
    entry = spec.model_dump(mode="json", exclude_defaults=True)
    entry["sha256"] = spec.sha256
    print(f"caller key (shown once, store it in your secret manager):\n\n  {key}\n", file=sys.stderr)
    print("add to the router config under auth.keys:\n", file=sys.stderr)
    print(yaml.safe_dump({"auth": {"keys": [entry]}}, sort_keys=False), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # The analyzer commands own their arguments (argparse.REMAINDER would drop a leading option).
    if argv and argv[0] == "analyze":
        from router_service.analyzer.cli import run_analyze

        return int(run_analyze(argv[1:]))
    if argv and argv[0] == "train-analyzer":
        from router_service.analyzer.cli import run_train

        return int(run_train(argv[1:]))
    args = _parser().parse_args(argv)
    if args.command == "serve":
        from router_service.server.main import run_server

        return run_server(args.config, args.listen)
    if args.command == "keys":
        return _create_key(args)
    logging.basicConfig(level=logging.WARNING)
    try:
        return asyncio.run(_run_client(args))
    except grpc.aio.AioRpcError as error:
        _print_rpc_error(error)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
