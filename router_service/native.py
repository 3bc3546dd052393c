"""The compiled hot loops (the `llm_router_native` extension, built from `native/`), when present.

The analyzer's token scan and the planner's cost and balanced-ranking arithmetic each have a pure-Python
reference in their own module; the compiled versions give identical results (the tests compare them on
generated inputs) in a fraction of the time. The router works without the extension, only slower:
`scripts/install` builds it when a Rust toolchain is present, and `LLM_ROUTER_NATIVE=0` turns it off.
A build whose interface does not match this code is not used (a stale extension next to newer Python).
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import llm_router_native as _compiled

INTERFACE = 1
ENV = "LLM_ROUTER_NATIVE"


def _load() -> tuple[ModuleType | None, str]:
    if os.environ.get(ENV, "").strip().lower() in {"0", "off", "false", "no"}:
        return None, f"pure Python ({ENV}=0)"
    try:
        import llm_router_native
    except ImportError:
        return None, "pure Python (llm_router_native is not installed; scripts/install builds it with cargo)"
    found = getattr(llm_router_native, "INTERFACE", None)
    if found != INTERFACE:
        return None, f"pure Python (llm_router_native has interface {found}, this router needs {INTERFACE}: rebuild it)"
    return llm_router_native, "compiled (llm_router_native)"


NATIVE, DESCRIPTION = _load()
# The compiled classes, or None where the pure-Python reference serves.
TokenScanner: type[_compiled.TokenScanner] | None = NATIVE.TokenScanner if NATIVE else None
TierRanker: type[_compiled.TierRanker] | None = NATIVE.TierRanker if NATIVE else None
PriceTable: type[_compiled.PriceTable] | None = NATIVE.PriceTable if NATIVE else None
