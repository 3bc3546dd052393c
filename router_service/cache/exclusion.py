"""Models whose answers are never cached, as "provider/model" shell patterns ("ollama/*", "*/gpt-5*")."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

from router_service.domain import ModelRef


class ModelExclusion:
    def __init__(self, patterns: tuple[str, ...]) -> None:
        # Case-insensitive: provider and model ids are lowercase in the catalog, but people write "OpenAI/*".
        self._full = _compile(p.casefold() for p in patterns)
        self._provider = _compile(p.casefold().partition("/")[0] for p in patterns)

    def excludes(self, model: ModelRef) -> bool:
        return self._full is not None and self._full.match(str(model).casefold()) is not None

    def excludes_forced(self, force: ModelRef | None) -> bool:
        """Whether a request forcing this model (or, with an empty model, this provider) may be excluded."""
        if force is None or self._full is None:
            return False
        if force.model:
            return self.excludes(force)
        # A provider-only force may land on any of its models: skip the cache if any pattern could match.
        return self._provider is not None and self._provider.match(force.provider.casefold()) is not None


def _compile(patterns: Iterable[str]) -> re.Pattern[str] | None:
    parts = [fnmatch.translate(p) for p in patterns]
    return re.compile("|".join(parts)) if parts else None
