"""The prompt analyzer: rules first, the learned model where they are unsure, one calibrated answer.

`Analyzer.analyze` is a pure, deterministic function of the messages (no I/O; the model is loaded once
in the constructor). Per label, the answer is softmax(model logits / temperature + rule weight x rule
votes), both calibrated on held-out training rows: where the rules have no keyword the model decides,
where they vote they shift it, and without a model the rules answer alone. The last user turn decides;
earlier user turns and the system prompt add their evidence with a smaller weight (`context_weight`),
so a terse follow-up ("yes, order 4411") keeps the conversation's intent.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import TypeVar

from router_service.analyzer import complexity, layout
from router_service.analyzer.analysis import Analysis
from router_service.analyzer.features import extract_features, structure
from router_service.analyzer.llm import LLMClassifier, merge, unsure_labels
from router_service.analyzer.model import LinearModel, load_model
from router_service.analyzer.rulebook import RuleBook, shipped_rule_tables, with_structure
from router_service.analyzer.scorer import RULE_LOGIT, WindowScorer
from router_service.analyzer.settings import AnalyzerSettings
from router_service.analyzer.text import window
from router_service.domain import ChatMessage, Domain, Intent, Language, Role

# Without a model, the intent of a prompt without any intent keyword is GENERAL.
_GENERAL_PRIOR = 1.0
_SYSTEM_CONTEXT_CHARS = 512
# Below this many words a turn leans on its conversation (see `_with_context`).
_TERSE_WORDS = 12
_CUE = layout.CUE_COMPLEXITY
_SHORT_TURN_CHARS = 64
_DOMAIN_CODES = {d.name.lower(): d for d in layout.DOMAINS}
_INTENT_CODES = {i.name.lower(): i for i in layout.INTENTS}
_LANGUAGE_RULE_FIELDS = {code: layout.CUE_FIELDS + i for i, code in enumerate(layout.LANGUAGE_CODES)}

L = TypeVar("L", Domain, Intent, Language)


class Analyzer:
    """Analyse chat messages into features, language, complexity, domain and intent, each with a confidence."""

    def __init__(
        self,
        settings: AnalyzerSettings | None = None,
        *,
        llm_classifier: LLMClassifier | None = None,
        model: LinearModel | None = None,
    ) -> None:
        """Load the rule tables and the model (`model` overrides the settings' file, e.g. in training)."""
        self.settings = settings or AnalyzerSettings()
        self.rules = RuleBook([*shipped_rule_tables(), *self.settings.rules])
        self.model: LinearModel | None = None
        if self.settings.use_model:
            self.model = model if model is not None else load_model(self.settings.model_path)
        self._llm = llm_classifier
        self._sources: tuple[str, ...] = ("rules", "model") if self.model is not None else ("rules",)

        # Classes per label (the model's order when there is a model) and where their rule votes are
        # in the votes vector: cue fields (domain, intent, complexity) then stopword counts.
        def classes(name: str, codes: dict[str, L], default: Sequence[str]) -> tuple[list[str], list[L]]:
            head = self.model.head(name) if self.model is not None else None
            names = list(head.classes) if head is not None else list(default)
            return names, [codes[c] for c in names]

        domain_names, self._domains = classes("domain", _DOMAIN_CODES, list(_DOMAIN_CODES))
        intent_names, self._intents = classes("intent", _INTENT_CODES, list(_INTENT_CODES))
        lang_names, self._langs = classes("lang", layout.LANGUAGE_CODES, ("en", "es"))
        head_rules: dict[str, Sequence[int]] = {
            "domain": [layout.CUE_DOMAIN + list(_DOMAIN_CODES).index(c) for c in domain_names],
            "intent": [layout.CUE_INTENT + list(_INTENT_CODES).index(c) for c in intent_names],
            "lang": [_LANGUAGE_RULE_FIELDS[c] for c in lang_names],
        }
        self._head_rules = head_rules
        self._scorer = WindowScorer(self.model, self.rules, head_rules)
        slices = self._scorer.head_slices
        self._domain_slice = slices.get("domain", (0, 0))
        self._intent_slice = slices.get("intent", (0, 0))
        self._lang_slice = slices.get("lang", (0, 0))

    def analyze(self, messages: Sequence[ChatMessage]) -> Analysis:
        """Analyse a conversation; the last user turn weighs most."""
        features = extract_features(messages)
        last = _last_user_index(messages)
        turn = messages[last].content if last >= 0 else ""
        settings = self.settings
        win = window(turn, settings.window_head_chars, settings.window_tail_chars)
        scan = self._scorer.scan(win, shape=True, region=True)
        fields, cues, word_hits = scan.fields, scan.cues, scan.word_hits
        if win is turn and len(messages) == 1:  # the features already describe exactly this text
            shape_counts = (features.code_blocks, features.code_lines, features.math_expressions)
        else:
            shape_counts = structure(win)
        cues = with_structure(cues, *shape_counts)
        votes: tuple[float, ...] = cues + self._scorer.stopwords(fields)
        # Whether the turn has letters at all ("12345" and "🙏" have none): checked per character only
        # on short turns, turns without a known word and turns of numbers, where it is cheap or needed.
        script = "latin"
        if len(win) <= _SHORT_TURN_CHARS or not word_hits or scan.all_digits:
            script = _script(win)

        evidence = _evidence(scan.tokens, scan.distinct, cues, win, len(turn), shape_counts)
        context = self._context(messages, last) if len(messages) > 1 else ""
        context_score: float | None = None
        if context:
            logits, votes, word_hits, context_score = self._with_context(fields, votes, word_hits, scan.tokens, context)
        elif self.model is not None:
            logits = self._scorer.logits(fields, votes)
        else:
            logits = []
        language, language_conf = self._language(logits, votes, win, word_hits, script)
        if script == "none" or not (word_hits or any(cues) or self.model is not None):
            # Nothing to go on: no letters (empty, emoji, punctuation), or unknown words and no model.
            domain, domain_conf, intent, intent_conf = Domain.UNKNOWN, 0.0, Intent.GENERAL, 0.5
        elif self.model is not None:
            domain, domain_conf = _decide(logits, self._domain_slice, self._domains)
            intent, intent_conf = _decide(logits, self._intent_slice, self._intents)
        else:
            domain, domain_conf = self._rules_only(votes, "domain", self._domains, Domain.UNKNOWN)
            intent, intent_conf = self._rules_only(votes, "intent", self._intents, Intent.GENERAL)
        tier, tier_score, tier_conf = complexity.assess(evidence, context_score)
        return Analysis(
            features, language, language_conf, tier, tier_score, tier_conf,
            domain, domain_conf, intent, intent_conf, self._sources,
        )  # fmt: skip

    def _with_context(
        self, fields: tuple[int, ...], votes: tuple[float, ...], word_hits: int, words: int, context: str
    ) -> tuple[list[float], tuple[float, ...], int, float | None]:
        """Add the context's evidence: (logits, votes, word hits, complexity cue score of the context).

        The context counts `context_weight` as much as the turn; a terse follow-up ("yes, it's 4411")
        says little by itself, so below _TERSE_WORDS words its weight rises towards the turn's.
        """
        weight = self.settings.context_weight
        if words < _TERSE_WORDS:
            weight += (1.0 - weight) * (_TERSE_WORDS - words) / _TERSE_WORDS
        ctx = self._scorer.scan(context, shape=False, region=False)
        ctx_fields, ctx_cues = ctx.fields, ctx.cues
        ctx_votes = ctx_cues + self._scorer.stopwords(ctx_fields)
        merged = tuple(v + weight * c for v, c in zip(votes, ctx_votes, strict=True))
        logits: list[float] = []
        if self.model is not None:
            own = self._scorer.logits(fields, votes)
            extra = self._scorer.context_logits(ctx_fields, ctx_votes, weight)
            logits = [a + b for a, b in zip(own, extra, strict=True)]
        ctx_evidence = _evidence(ctx.tokens, ctx.distinct, ctx_cues, context, len(context), (0, 0, 0))
        return logits, merged, word_hits + ctx.word_hits, complexity.cue_score(ctx_evidence)

    def _rules_only(self, votes: Sequence[float], name: str, members: list[L], unknown: L) -> tuple[L, float]:
        rule_fields = self._head_rules[name]
        if not any(votes[r] for r in rule_fields):
            return unknown, 0.5 if unknown is Intent.GENERAL else 0.0
        logits = [RULE_LOGIT * votes[r] + (_GENERAL_PRIOR if m is Intent.GENERAL else 0.0)
                  for r, m in zip(rule_fields, members, strict=True)]  # fmt: skip
        return _decide(logits, (0, len(logits)), members)

    async def analyze_with_llm(self, messages: Sequence[ChatMessage]) -> Analysis:
        """`analyze`, then ask the LLM classifier (if configured and enabled) about unsure labels.

        A failing or slow classifier never fails the request: the local analysis is returned.
        """
        analysis = self.analyze(messages)
        llm = self.settings.llm
        if self._llm is None or not llm.enabled:
            return analysis
        unsure = unsure_labels(analysis, llm.threshold)
        if not unsure:
            return analysis
        last = _last_user_index(messages)
        text = window(messages[last].content) if last >= 0 else ""
        try:
            async with asyncio.timeout(llm.timeout_s):
                labels = await self._llm.classify(text)
        except Exception:  # any classifier failure falls back to the local answer
            return analysis
        return merge(analysis, labels, unsure, llm.confidence)

    def _context(self, messages: Sequence[ChatMessage], last: int) -> str:
        """Earlier user turns, most recent first, and the system prompt's start, within `context_chars`.

        Assistant turns are left out: they are model output, and their wording ("sorry to hear that,
        could you...") describes the assistant, not what the user wants.
        """
        budget = self.settings.context_chars
        if budget <= 0 or self.settings.context_weight <= 0:
            return ""
        parts: list[str] = []
        for i in range(len(messages) - 1, -1, -1):
            if budget <= 0:
                break
            m = messages[i]
            if i == last or m.role == Role.ASSISTANT:
                continue
            # The system prompt states its purpose first; a turn's latest words are at its end.
            system = m.role == Role.SYSTEM
            text = m.content[: min(budget, _SYSTEM_CONTEXT_CHARS)] if system else m.content[-budget:]
            parts.append(text)
            budget -= len(text)
        return "\n".join(parts)

    def _language(
        self, logits: list[float], votes: Sequence[float], win: str, word_hits: int, script: str
    ) -> tuple[Language, float]:
        if script == "none":  # emoji, digits or punctuation only
            return Language.UNKNOWN, 0.0
        stop = votes[layout.CUE_FIELDS :]
        # Cheap gate first: Latin-script text has few multi-byte characters, so only text whose UTF-8
        # form is much longer than its characters gets the per-character script check.
        head = win[:256]
        if not head.isascii() and len(head.encode("utf-8", "surrogatepass")) > 1.5 * len(head):
            script = _script(win)
        if script == "other" and max(stop) < 2:
            return Language.OTHER, 0.7
        # A language without a learned model wins when its stopwords outnumber those of the others.
        best_other = max(stop[2:])
        if best_other >= 2 and best_other > max(stop[0], stop[1]):
            index = 2 + list(stop[2:]).index(best_other)
            return layout.RULE_LANGUAGES[index], best_other / (sum(stop) + 1.0)
        if self.model is not None:
            # Without a known word this rests on the model's prior and the text's shape: a best guess,
            # with the modest confidence its calibration gives it.
            return _decide(logits, self._lang_slice, self._langs)
        return self._rules_only(votes, "lang", self._langs, Language.UNKNOWN)


def _last_user_index(messages: Sequence[ChatMessage]) -> int:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].role == Role.USER:
            return i
    # No user turn (a system-only prompt): the last message is the request.
    return len(messages) - 1


def _evidence(
    words: int,
    distinct: int,
    cues: tuple[int, ...],
    text: str,
    full_length: int,
    shape_counts: tuple[int, int, int],
) -> complexity.ComplexityEvidence:
    """What the complexity tier is judged on; `text` is the analysed window of a `full_length` turn."""
    parts = text.count(";") if ";" in text else 0
    if "?" in text:
        parts += max(text.count("?") - 1, 0)
    if ")" in text and "2)" in text:  # enumerated parts: "(1) ... (2) ..." or "1) ... 2) ..."
        parts += sum(f"{n})" in text for n in range(2, 10))
    if full_length > len(text) > 0:
        words = round(words * full_length / len(text))
    code_blocks, code_lines, math_expressions = shape_counts
    code = code_blocks > 0 or code_lines >= 3
    math_ = math_expressions >= 2
    return complexity.ComplexityEvidence(
        words, distinct, cues[_CUE], cues[_CUE + 1], cues[_CUE + 2], cues[_CUE + 3], cues[_CUE + 4], parts, code, math_
    )


def _decide(logits: Sequence[float], span: tuple[int, int], members: Sequence[L]) -> tuple[L, float]:
    """The most likely class of a label whose logits are `logits[span]`, and its softmax probability."""
    z = logits[span[0] : span[1]]
    top = max(z)
    total = 0.0
    for v in z:
        total += math.exp(v - top)
    return members[z.index(top)], 1.0 / total


def _script(text: str) -> str:
    """The script of `text`: "latin", "other" (most letters of its first 256 characters are not Latin), "none"."""
    letters = [ch for ch in text[:256] if ch.isalpha()]
    if not letters:
        return "none"
    latin = sum(ch <= "\u024f" for ch in letters)
    return "latin" if latin * 2 >= len(letters) else "other"
