"""Process entry for `llm-router serve`: configuration, logging, the event loop."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

from router_service.config import ConfigError, load_config
from router_service.server.app import serve


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )


def run_server(config_path: Path | None, listen: str | None) -> int:
    environ = dict(os.environ)
    if listen:
        environ["LLM_ROUTER_LISTEN"] = listen
    try:
        config = load_config(config_path, environ)
    except ConfigError as exc:
        print(f"llm-router: {exc}", file=sys.stderr)
        return 2
    _setup_logging(config.server.log_level)
    try:
        asyncio.run(serve(config))
    except OSError as exc:
        logging.getLogger("llm_router").error("cannot start: %s", exc)
        return 1
    return 0
