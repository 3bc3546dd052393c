"""Configuration reload without a restart: load and validate the file again, build a new generation of the
routing components (catalog, providers, planner, executor, authenticator, pipeline) around the same
ledger, budgets and journal, and swap it in atomically. A file that fails is rejected; the old one stays.

What cannot change in a running process (listen address, TLS, ledger storage, admin port, exporters,
log format) is reported as needing a restart and kept at its running value, so the generation in use
always describes the process truthfully.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from router_service.config import ConfigError, RouterConfig
from router_service.observability.generations import AppHolder
from router_service.observability.logs import log_event, set_log_level
from router_service.observability.observer import Observer

if TYPE_CHECKING:
    from router_service.server.composition import RouterApp

log = logging.getLogger(__name__)

# Fields fixed for the life of the process: (section, field); field None means the whole section.
RESTART_ONLY: tuple[tuple[str, str | None], ...] = (
    ("server", "listen"),
    ("server", "reuse_port"),
    ("server", "reflection"),
    ("server", "log_format"),
    ("auth", "tls"),
    ("ledger", None),
    ("admin", "enabled"),
    ("admin", "listen"),
    ("admin", "metrics"),
    ("admin", "max_tenant_labels"),
    ("admin", "tracing"),
)


class ReloadRejected(Exception):
    """The new configuration did not load, validate or build; the running one is kept."""


@dataclass(frozen=True, slots=True)
class ReloadResult:
    applied: bool
    generation: int
    changed: tuple[str, ...]
    restart_required: tuple[str, ...]
    message: str


def plan_reload(old: RouterConfig, new: RouterConfig) -> tuple[RouterConfig, tuple[str, ...], tuple[str, ...]]:
    """The config to apply (new, with restart-only fields kept at their running values), the sections that
    change at run time, and the restart-only fields that changed in the file."""
    restart: list[str] = []
    sections: dict[str, Any] = {}
    for section, name in RESTART_ONLY:
        old_section = getattr(old, section)
        new_section = sections.get(section, getattr(new, section))
        if name is None:
            if old_section != new_section:
                restart.append(section)
                sections[section] = old_section
            continue
        if getattr(old_section, name) != getattr(new_section, name):
            restart.append(f"{section}.{name}")
            sections[section] = new_section.model_copy(update={name: getattr(old_section, name)})
    # The transport's message size limit is set when the server starts; only a smaller limit applies now.
    if new.limits.max_request_bytes > old.limits.max_request_bytes:
        restart.append("limits.max_request_bytes")
        sections["limits"] = new.limits.model_copy(update={"max_request_bytes": old.limits.max_request_bytes})
    applied = new.model_copy(update=sections) if sections else new
    changed = tuple(name for name in type(old).model_fields if getattr(old, name) != getattr(applied, name))
    return applied, changed, tuple(restart)


class Reloader:
    """Serialises reloads and swaps generations; `load` reads the file the process was started with."""

    def __init__(
        self,
        holder: AppHolder,
        load: Callable[[], RouterConfig],
        build: Callable[[RouterConfig, RouterApp], RouterApp],
        observer: Observer,
    ) -> None:
        self._holder = holder
        self._load = load
        self._build = build
        self._observer = observer
        self._lock = asyncio.Lock()
        # Called with each new app before it takes calls (e.g. to attach breaker listeners to its pool).
        self.on_new_generation: list[Callable[[RouterApp], None]] = []

    async def reload(self, dry_run: bool = False) -> ReloadResult:
        async with self._lock:
            try:
                return self._reload(dry_run)
            except ReloadRejected as exc:
                self._count("rejected")
                log_event(
                    "config_rejected",
                    f"configuration reload rejected, keeping generation {self._holder.current.number}: {exc}",
                    logging.ERROR,
                )
                raise

    def _reload(self, dry_run: bool) -> ReloadResult:
        holder = self._holder
        old = holder.app.config
        try:
            new = self._load()
        except ConfigError as exc:
            raise ReloadRejected(str(exc)) from exc
        applied, changed, restart = plan_reload(old, new)
        number = holder.current.number
        if dry_run or not changed:
            verb = "would apply" if dry_run else "nothing to apply"
            message = f"{verb}: {', '.join(changed) or 'no change'}" + _restart_note(restart)
            return ReloadResult(False, number, changed, restart, message)
        try:
            app = self._build(applied, holder.app)
            for listener in self.on_new_generation:
                listener(app)
        except (ConfigError, ValueError, OSError) as exc:
            raise ReloadRejected(f"the new configuration cannot be built: {exc}") from exc
        if applied.server.log_level != old.server.log_level:
            set_log_level(applied.server.log_level)
        self._observer.settings = applied.admin
        generation = holder.swap(app)
        self._count("applied")
        message = f"generation {generation.number} in use; applied: {', '.join(changed)}" + _restart_note(restart)
        log_event(
            "config_reloaded",
            message,
            generation=generation.number,
            changed=list(changed),
            restart_required=list(restart),
        )
        return ReloadResult(True, generation.number, changed, restart, message)

    def _count(self, result: str) -> None:
        metrics = self._observer.metrics
        if metrics is not None:
            metrics.reloads.inc((result,))


def _restart_note(restart: tuple[str, ...]) -> str:
    return f"; needs a restart (kept as running): {', '.join(restart)}" if restart else ""
