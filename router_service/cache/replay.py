"""Replaying a cached answer as a stream: the text cut into word-sized deltas."""

from __future__ import annotations

import re

# A word with the spaces after it, or the spaces the text starts with.
_WORDISH = re.compile(r"\S+\s*|\s+")


def replay_chunks(text: str, max_chunk_chars: int = 32) -> list[str]:
    """Word-ish chunks whose concatenation is exactly `text`; no chunk is longer than `max_chunk_chars`.

    The cap splits what has no spaces to split at (a long URL, Chinese or Japanese text), so a client
    still sees the answer arrive piece by piece.
    """
    if max_chunk_chars < 1:
        raise ValueError("max_chunk_chars must be at least 1")
    chunks: list[str] = []
    for match in _WORDISH.finditer(text):
        piece = match.group()
        if len(piece) <= max_chunk_chars:
            chunks.append(piece)
        else:
            chunks.extend(piece[i : i + max_chunk_chars] for i in range(0, len(piece), max_chunk_chars))
    return chunks
