"""The wire form of a cached answer in a shared store: compact JSON with a version field."""

from __future__ import annotations

import json
from typing import Any

from router_service.cache.answer import CachedAnswer
from router_service.domain import FinishReason, ModelRef, Usage

_VERSION = 1


class UndecodableAnswer(ValueError):
    """A stored value is not an answer this version can read (another version wrote it, or it is corrupt)."""


def encode_answer(answer: CachedAnswer) -> bytes:
    u = answer.usage
    return json.dumps(
        {
            "v": _VERSION,
            "text": answer.text,
            "provider": answer.model.provider,
            "model": answer.model.model,
            "usage": [u.input_tokens, u.output_tokens, u.cached_input_tokens, u.cache_write_input_tokens, u.estimated],
            "finish": int(answer.finish_reason),
            "cost": answer.cost_nano_usd,
            "created": answer.created_at,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


def decode_answer(raw: bytes) -> CachedAnswer:
    try:
        data: dict[str, Any] = json.loads(raw)
        if data.get("v") != _VERSION:
            raise UndecodableAnswer(f"version {data.get('v')!r}")
        inp, out, cached, written, estimated = data["usage"]
        return CachedAnswer(
            text=str(data["text"]),
            model=ModelRef(str(data["provider"]), str(data["model"])),
            usage=Usage(int(inp), int(out), int(cached), int(written), bool(estimated)),
            finish_reason=FinishReason(int(data["finish"])),
            cost_nano_usd=int(data["cost"]),
            created_at=float(data["created"]),
        )
    except UndecodableAnswer:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise UndecodableAnswer(str(exc)) from exc
