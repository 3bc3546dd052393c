"""Surface features of a prompt (PromptFeatures), computed with C-level string methods only.

Counts are over every message of the conversation, because what the router pays for and must fit into a
context window is the whole prompt. Some counts are estimates chosen for speed (a regular expression
per feature would cost more than the rest of the analysis): words are counted from whitespace
separators; a "sentence" is a sentence end (".", "?", "!") or a line break; a code-like line is a
line inside a ``` fence, an indented line or a line ending in ";", "{" or "}"; a math expression is an
operator between numbers ("2+2", "3 * (4"). Texts above FEATURE_WINDOW_CHARS are measured on their first
and last part and those counts are scaled up to the full length, which keeps 1 MB well under budget.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from router_service.analyzer.analysis import PromptFeatures
from router_service.domain import ChatMessage
from router_service.tokens import estimate_prompt_tokens

FEATURE_WINDOW_CHARS = 64 * 1024
_WINDOW_HEAD = 48 * 1024
_WINDOW_TAIL = 16 * 1024

# An operator followed by a number ("+2", "= 4", "*(3"), counted when a digit or ")" precedes it.
# The regex starts with the operator class because the engine scans for a leading character class much
# faster than for a leading lookbehind; the preceding character is checked on the (few) matches.
_MATH = re.compile(r"[-+*/^=×÷<>≤≥%] ?[0-9(]")
# Starting with a literal newline lets the regex engine skip ahead quickly between lines.
_LIST_ITEM = re.compile(r"\n[ \t]*(?:[-*•]|\d{1,3}[.)])[ \t]")
_FENCE = "```"


def _code_lines(text: str) -> int:
    lines = 0
    if "`" in text and _FENCE in text:
        parts = text.split(_FENCE)
        # Odd parts are inside fences; each of their line breaks ends a line of code.
        lines += sum(part.count("\n") for part in parts[1::2])
        text = "\n".join(parts[0::2])
    # Single-character membership tests are memchr-fast; the counts run only when they can match.
    if ";" in text:
        lines += text.count(";\n")
    if "{" in text or "}" in text:
        lines += text.count("{\n") + text.count("}\n")
    if "\n    " in text:
        lines += text.count("\n    ")
    if "\t" in text:
        lines += text.count("\n\t")
    return lines


def _math_expressions(text: str) -> int:
    # Scanning with the regex costs a few µs per kB, so it runs only when an operator other than "-"
    # occurs (one-character tests are memchr-fast). "-" is mostly a hyphen; subtraction alone ("5-3")
    # is not worth a scan of every hyphenated prompt.
    if not (
        "=" in text or "+" in text or "*" in text or "/" in text or "^" in text or "%" in text
        or "<" in text or ">" in text or "×" in text or "÷" in text or "≤" in text or "≥" in text
    ):  # fmt: skip
        return 0
    count = 0
    for m in _MATH.finditer(text):
        i = m.start() - 1
        if i >= 0 and text[i] == " ":
            i -= 1
        if i >= 0 and (text[i] == ")" or "0" <= text[i] <= "9"):
            count += 1
    return count


def _windowed_counts(text: str, questions: int) -> tuple[int, int, int, int, int]:
    """words, sentences, code-like lines, math expressions, list items of one text."""
    text = text.strip()
    if not text:
        return 0, 0, 0, 0, 0
    # Words are estimated from separators (one more than spaces and line breaks): str.split() would
    # cost more than all the other features together. The "+1"s are added after any scaling.
    newlines = text.count("\n")
    words = text.count(" ") + newlines
    # Sentence ends: "." "?" "!" and line breaks (one-character counts; "3.5" counts one too many).
    sentences = text.count(".") + questions + newlines
    if "!" in text:
        sentences += text.count("!")
    lists = len(_LIST_ITEM.findall(text)) if newlines else 0
    if text[0] in "-*•0123456789" and _LIST_ITEM.match("\n" + text[:8]):  # the first line has no "\n"
        lists += 1
    return words, sentences, _code_lines(text), _math_expressions(text), lists


def structure(text: str) -> tuple[int, int, int]:
    """(code blocks, code-like lines, math expressions) of one text, counted as in PromptFeatures."""
    code_blocks = text.count(_FENCE) // 2 if "`" in text else 0
    return code_blocks, _code_lines(text), _math_expressions(text)


def measure(text: str) -> tuple[int, ...]:
    """(words, sentences, questions, code blocks, code lines, math, list items, urls) of one text."""
    questions = text.count("?")
    # Single-character membership tests (memchr) gate the slower substring counts.
    code_blocks = text.count(_FENCE) // 2 if "`" in text else 0
    urls = text.count("://") if "/" in text else 0
    if len(text) <= FEATURE_WINDOW_CHARS:
        words, sentences, code_lines, math, lists = _windowed_counts(text, questions)
    else:
        head, tail = text[:_WINDOW_HEAD], text[-_WINDOW_TAIL:]
        scale = len(text) / (len(head) + len(tail))
        counts = [
            a + b
            for a, b in zip(
                _windowed_counts(head, head.count("?")), _windowed_counts(tail, tail.count("?")), strict=True
            )
        ]
        words, sentences, code_lines, math, lists = (round(c * scale) for c in counts)
    if text and not text.isspace():
        words += 1  # one more word than separators
        sentences += 1  # the last sentence needs no terminator
    return words, sentences, questions, code_blocks, code_lines, math, lists, urls


def extract_features(messages: Sequence[ChatMessage]) -> PromptFeatures:
    """Features of the whole conversation."""
    # A blank line between messages keeps a list or a fence from running across two turns.
    if len(messages) == 1:
        text = messages[0].content
        characters = len(text)
    else:
        text = "\n\n".join(m.content for m in messages)
        characters = len(text) - 2 * (len(messages) - 1) if messages else 0
    words, sentences, questions, code_blocks, code_lines, math, lists, urls = measure(text)
    # Positional arguments in field order: measurably cheaper than keywords on this hot path.
    return PromptFeatures(
        estimate_prompt_tokens(messages), characters, words, sentences, questions, code_blocks, code_lines,
        math, lists, urls, len(messages),
    )  # fmt: skip
