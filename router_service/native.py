"""The compiled hot loops (the `llm_router_native` extension, built from `native/`), when present.

The analyzer's token scan and the planner's cost and balanced-ranking arithmetic each have a pure-Python
reference in their own module; the compiled versions give identical results (the tests compare them on
generated inputs) in a fraction of the time. The router works without the extension, only slower:
`scripts/install` builds it when a Rust toolchain is present, and `LLM_ROUTER_NATIVE=0` turns it off.
A build that does not match this code is not used: one with another interface number, or, in a source
checkout, one built from other sources than those in `native/` (the build embeds their digest), so an
edited but not rebuilt extension can never serve.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import llm_router_native as _compiled

INTERFACE = 1
ENV = "LLM_ROUTER_NATIVE"
# The crate's sources in a checkout (absent in an installed wheel of the router).
SOURCES = Path(__file__).resolve().parents[1] / "native"
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = (1 << 64) - 1


def source_digest(root: Path) -> str | None:
    """The digest native/build.rs embeds as SOURCE_DIGEST, of the sources under `root` (None without them)."""
    if not (root / "Cargo.toml").is_file():
        return None
    files = ["Cargo.toml", "build.rs", *sorted(f"src/{p.name}" for p in (root / "src").glob("*.rs"))]
    h = _FNV_OFFSET
    for name in files:
        # FNV-1a over "path\0content\0" of each file, as build.rs computes it.
        for byte in name.encode() + b"\0" + (root / name).read_bytes() + b"\0":
            h = ((h ^ byte) * _FNV_PRIME) & _MASK
    return f"{h:016x}"


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
    expected = source_digest(SOURCES)
    if expected is not None and getattr(llm_router_native, "SOURCE_DIGEST", None) != expected:
        return None, f"pure Python (llm_router_native was built from other sources than {SOURCES}: rebuild it)"
    return llm_router_native, "compiled (llm_router_native)"


NATIVE, DESCRIPTION = _load()
# The compiled classes, or None where the pure-Python reference serves.
TokenScanner: type[_compiled.TokenScanner] | None = NATIVE.TokenScanner if NATIVE else None
TierRanker: type[_compiled.TierRanker] | None = NATIVE.TierRanker if NATIVE else None
PriceTable: type[_compiled.PriceTable] | None = NATIVE.PriceTable if NATIVE else None
