"""Runs the Python client's own tests (clients/python/tests) as part of the root suite.

They live with the client so that `pytest clients/python/tests` works for the package alone; this module
loads them by path (the root's testpaths is only `tests`) and exposes their tests and fixtures here.
"""

from __future__ import annotations

import importlib.util
import sys

from tests.conftest import REPO

_PATH = REPO / "clients" / "python" / "tests" / "test_llmrouter_client.py"
_NAME = "llmrouter_client_tests"

_spec = importlib.util.spec_from_file_location(_NAME, _PATH)
assert _spec is not None and _spec.loader is not None, _PATH
_suite = importlib.util.module_from_spec(_spec)
sys.modules[_NAME] = _suite
_spec.loader.exec_module(_suite)

globals().update({name: value for name, value in vars(_suite).items() if name.startswith("test_")})
router_address = _suite.router_address
secured_address = _suite.secured_address
client = _suite.client
flaky = _suite.flaky
