"""Embeddings for the semantic cache: the `Embedder` seam and the offline lexical default.

The default needs nothing fetched or installed beyond numpy: a hashed bag of words plus character
n-grams. It recognises the same question written differently (case, accents, punctuation, typos,
plurals, filler words, word order) and does not recognise a paraphrase in other words ("what are your
hours" vs "when are you open"); a neural model does, at the price of a heavy dependency. Plug one in by
passing any object with `dim` and `embed` to `build_cache`.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from functools import lru_cache
from typing import Protocol

import numpy as np
import numpy.typing as npt

from router_service.cache.text import words_of
from router_service.cache.vocabulary import FILLER_WORDS, FUNCTION_WORDS

Vector = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns a text into an L2-normalised float32 vector of `dim` numbers, deterministically."""

    @property
    def dim(self) -> int: ...

    def embed(self, text: str) -> Vector: ...


# Function words, greetings and courtesy still count (a question made only of them must match itself),
# but little: "what are your hours" and "what are your prices" share three of them and must not look alike.
_STOPWORDS = FUNCTION_WORDS | FILLER_WORDS
_STOPWORD_WEIGHT = 0.25
# Character n-grams catch typos, plurals and inflections ("hour"/"hours", "cancelar"/"cancelo"); they
# weigh less than whole words so a shared stem ("activo"/"desactivo") does not outweigh a changed word.
_NGRAM_SIZES = (3, 4)
_NGRAM_WEIGHT = 0.6


class LexicalEmbedder:
    """Hashed word and character n-gram frequencies (sublinear), signed into `dim` buckets, L2-normalised.

    Signed feature hashing keeps unrelated texts near zero similarity in expectation; `dim` trades the
    spread of that noise (about 1/sqrt(dim)) against memory and scan time per cached entry.
    """

    def __init__(self, dim: int = 128) -> None:
        if dim < 16:
            raise ValueError("dim must be at least 16")
        self._dim = dim
        # A word's buckets never change, and questions reuse a small vocabulary: hashing n-grams is most
        # of the cost of an embedding, so it is done once per word.
        self._word_buckets = lru_cache(maxsize=16_384)(self._buckets)

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, text: str) -> Vector:
        counts = Counter(words_of(text))
        # A text of stopwords only ("thanks", "hola") is all content.
        only_stopwords = all(w in _STOPWORDS for w in counts)
        sums = [0.0] * self._dim
        for word, count in counts.items():
            tf = 1.0 + math.log(count)
            stopword = word in _STOPWORDS and not only_stopwords
            # Words with digits are mostly one-offs (order numbers): not worth a place in the cache.
            features = self._buckets(word, stopword) if any(c.isdigit() for c in word) else None
            word_bucket, word_weight, grams, gram_weight = features or self._word_buckets(word, stopword)
            sums[word_bucket] += tf * word_weight
            for code in grams:
                # A gram's bucket and sign packed in one small int: +(bucket + 1) or -(bucket + 1).
                sums[abs(code) - 1] += tf * gram_weight if code > 0 else -tf * gram_weight
        vector = np.array(sums, dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        if norm > 0.0:
            vector /= norm
        return vector

    def _buckets(self, word: str, stopword: bool) -> tuple[int, float, tuple[int, ...], float]:
        """(word bucket, signed word weight, signed gram codes, gram weight)."""
        bucket, sign = self._bucket("w:" + word)
        if stopword:
            return bucket, sign * _STOPWORD_WEIGHT, (), 0.0
        padded = f"<{word}>"
        grams = [padded[i : i + n] for n in _NGRAM_SIZES for i in range(len(padded) - n + 1)]
        codes = []
        for gram in grams:
            gram_bucket, gram_sign = self._bucket("c:" + gram)
            codes.append(int(gram_sign) * (gram_bucket + 1))
        # Each word's n-grams share one budget, so long words do not drown short ones.
        share = _NGRAM_WEIGHT / math.sqrt(len(grams)) if grams else 0.0
        return bucket, sign, tuple(codes), share

    def _bucket(self, feature: str) -> tuple[int, float]:
        # crc32 rather than hash(): Python salts str hashes per process, and vectors must be comparable
        # across processes and runs.
        h = zlib.crc32(feature.encode("utf-8"))
        return h % self._dim, 1.0 if h & 0x80000000 else -1.0
