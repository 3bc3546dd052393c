"""The analyzer's optional LLM stage: ask the cheapest available model to label an unsure prompt.

Off by default (analyzer.llm.enabled). Its call goes through the executor like any other and is
accounted in the ledger as its own entry ("<request id>.classify", rpc "Classify") for the tenant whose
request needed it, so the router's own spending is never invisible.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from router_service.analyzer.llm import LLMLabels
from router_service.catalog import Catalog, ModelEntry
from router_service.domain import ChatMessage, Complexity, Domain, GenerationParams, Intent, Language, ModelRef, Role
from router_service.executor import Call, ExecutionTrace, Executor
from router_service.ledger import Accountant, LedgerEntry, RequestStatus


@dataclass(frozen=True, slots=True)
class ClassifyingFor:
    request_id: str
    tenant: str
    key_id: str


# Set by the pipeline around the analysis of one request.
CLASSIFYING: ContextVar[ClassifyingFor | None] = ContextVar("classifying", default=None)

_PROMPT = (
    "Classify the user's message. Reply with one JSON object and nothing else, with the keys "
    '"domain" (one of: ' + ", ".join(d.name.lower() for d in Domain if d) + "), "
    '"intent" (one of: ' + ", ".join(i.name.lower() for i in Intent if i) + "), "
    '"language" (ISO 639-1 code) and '
    '"complexity" (one of: ' + ", ".join(c.name for c in Complexity) + ")."
)
_LANGUAGES = {
    "en": Language.ENGLISH,
    "es": Language.SPANISH,
    "pt": Language.PORTUGUESE,
    "fr": Language.FRENCH,
    "de": Language.GERMAN,
    "it": Language.ITALIAN,
}
_JSON = re.compile(r"\{.*\}", re.S)


def parse_labels(text: str) -> LLMLabels:
    """The labels a model's reply names; anything it got wrong is left undecided."""
    found = _JSON.search(text)
    if found is None:
        return LLMLabels()
    try:
        data = json.loads(found.group(0))
    except ValueError:
        return LLMLabels()
    if not isinstance(data, dict):
        return LLMLabels()

    def pick(key: str) -> str:
        value = data.get(key)
        return value.strip() if isinstance(value, str) else ""

    domain = pick("domain").upper()
    intent = pick("intent").upper()
    complexity = pick("complexity").upper()
    language = pick("language").lower()[:2]
    return LLMLabels(
        domain=Domain[domain] if domain in Domain.__members__ and domain != "UNKNOWN" else None,
        intent=Intent[intent] if intent in Intent.__members__ and intent != "UNKNOWN" else None,
        language=_LANGUAGES.get(language, Language.OTHER if len(language) == 2 else None),
        complexity=Complexity[complexity] if complexity in Complexity.__members__ else None,
    )


class CheapestModelClassifier:
    def __init__(
        self,
        executor: Executor,
        catalog: Catalog,
        accountant: Accountant,
        available: Callable[[ModelRef], bool],
        timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._executor = executor
        self._catalog = catalog
        self._accountant = accountant
        self._available = available
        self._timeout_s = timeout_s
        self._clock = clock
        self._wall_clock = wall_clock

    def cheapest(self) -> ModelEntry | None:
        usable = [e for e in self._catalog.entries if self._available(e.ref)]
        return min(usable, key=lambda e: (e.prices[0].input + e.prices[0].output, e.ref), default=None)

    async def classify(self, text: str) -> LLMLabels:
        entry = self.cheapest()
        if entry is None:
            return LLMLabels()
        who = CLASSIFYING.get() or ClassifyingFor("", "default", "")
        trace = ExecutionTrace()
        started = self._clock()
        call = Call(
            messages=(ChatMessage(Role.SYSTEM, _PROMPT), ChatMessage(Role.USER, text)),
            params=GenerationParams(max_output_tokens=80, temperature=0.0),
            request_id=f"{who.request_id}.classify",
            deadline=started + self._timeout_s,
        )
        status = RequestStatus.FAILED
        try:
            completion = await self._executor.complete(self._executor.targets([entry]), call, trace)
            status = RequestStatus.OK
            return parse_labels(completion.text)
        finally:
            if trace.attempts:
                self._accountant.record(
                    LedgerEntry(
                        request_id=call.request_id,
                        tenant=who.tenant,
                        timestamp=self._wall_clock(),
                        model=trace.last_model or entry.ref,
                        usage=trace.usage,
                        cost_nano_usd=trace.cost_nano_usd,
                        baseline_cost_nano_usd=trace.cost_nano_usd,
                        latency_s=self._clock() - started,
                        status=status,
                        attempts=tuple(trace.attempts),
                        rpc="Classify",
                        agent="router",
                        key_id=who.key_id,
                    )
                )
