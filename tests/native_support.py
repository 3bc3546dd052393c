"""Whether the compiled extension is under test: required when LLM_ROUTER_REQUIRE_NATIVE=1 (scripts/test
sets it, so CI cannot silently test the pure-Python path only), skipped otherwise when it is absent."""

from __future__ import annotations

import os

import pytest

from router_service import native


def require_native() -> None:
    if native.NATIVE is not None:
        return
    if os.environ.get("LLM_ROUTER_REQUIRE_NATIVE") == "1":
        pytest.fail(f"the compiled extension is required here but the router uses {native.DESCRIPTION}")
    pytest.skip(native.DESCRIPTION)
