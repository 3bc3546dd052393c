"""Process entry for `llm-router serve`: configuration, logging, the event loop."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

from router_service.config import ConfigError, load_config
from router_service.observability.logs import configure_logging
from router_service.server.app import serve


def run_server(config_path: Path | None, listen: str | None) -> int:
    environ = dict(os.environ)
    if listen:
        environ["LLM_ROUTER_LISTEN"] = listen
    try:
        config = load_config(config_path, environ)
    except ConfigError as exc:
        print(f"llm-router: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.server.log_level, config.server.log_format)
    try:
        asyncio.run(serve(config, config_path, environ))
    except OSError as exc:
        logging.getLogger("llm_router").error("cannot start: %s", exc)
        return 1
    return 0
