"""The compiled token scan (native/src/scan.rs) gives exactly what the Python reference gives.

Generated texts mix what the tokenizer treats specially (ASCII punctuation and whitespace, digits,
capitals, "¿", "¡", "’", other non-ASCII letters, lone surrogates) with the rule book's keywords and
phrases and the model's vocabulary, so hits, cue phrases and the cue region are all exercised.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router_service.analyzer import Analyzer
from router_service.analyzer.text import CUE_HEAD_TOKENS, CUE_TAIL_TOKENS, tokenize
from tests.native_support import require_native

_ANALYZER = Analyzer()
_SCORER = _ANALYZER._scorer
_KEYWORDS = sorted(_ANALYZER.rules.index)
_PHRASES = sorted({p.strip().decode() for _, phrases in _ANALYZER.rules.index.values() for p, _ in phrases})
_VOCAB = sorted(_ANALYZER.model.vocab)[:3000] if _ANALYZER.model is not None else []

_pieces = st.one_of(
    st.text(min_size=1, max_size=12),
    st.sampled_from(["¿", "¡", "’", "?", "\n", " ", "\t", "Ñ", "ÉL", "12", "3.5", "#", "'", "--", "\x00", "\ud800"]),
    st.sampled_from([k.decode("utf-8", "surrogatepass") for k in _KEYWORDS]).map(str.upper),
    st.sampled_from([k.decode("utf-8", "surrogatepass") for k in _KEYWORDS]),
    st.sampled_from(_PHRASES or ["x"]),
    st.sampled_from([v.decode("utf-8", "surrogatepass") for v in _VOCAB] or ["x"]),
)
texts = st.lists(_pieces, max_size=2 * (CUE_HEAD_TOKENS + CUE_TAIL_TOKENS)).flatmap(
    lambda parts: st.sampled_from([" ", "", "\n", ", "]).map(lambda sep: sep.join(parts))
)


@pytest.fixture(autouse=True)
def _native() -> None:
    require_native()
    assert _SCORER._native is not None  # otherwise scan() would be the reference compared with itself


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts, st.booleans(), st.booleans())
def test_scan_equals_the_reference(text: str, shape: bool, region: bool) -> None:
    assert _SCORER.scan(text, shape=shape, region=region) == _SCORER.scan_reference(text, shape=shape, region=region)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_tokens_equal_the_reference_tokenizer(text: str) -> None:
    scanner = _SCORER._native
    assert scanner is not None
    assert scanner.tokens(text.encode("utf-8", "surrogatepass")) == tokenize(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "¿Cuál es el precio?¡Hola!",
        "it’s O'Brien's 2nd  order #4411\r\n\x0bnext\x0cline\x1ckept",
        "What is the time complexity of merge sort, and can you prove it? " * 12,  # past the cue region
        "12345 678",
        "🙏🙏",
    ],
)
def test_scan_equals_the_reference_on_edge_cases(text: str) -> None:
    for shape in (False, True):
        for region in (False, True):
            assert _SCORER.scan(text, shape=shape, region=region) == _SCORER.scan_reference(
                text, shape=shape, region=region
            )


def test_the_cue_region_cuts_long_turns() -> None:
    """A keyword in the middle of a long turn counts without the region and not with it."""
    filler = " ".join(["lorem"] * (CUE_HEAD_TOKENS + 5))
    keyword = next(k.decode() for k in _KEYWORDS if k.isalpha() and len(k) > 4)
    text = f"{filler} {keyword} {filler}"
    whole = _SCORER.scan(text, shape=False, region=False)
    cut = _SCORER.scan(text, shape=False, region=True)
    assert sum(whole.cues) > sum(cut.cues)
    assert whole == _SCORER.scan_reference(text, shape=False, region=False)
    assert cut == _SCORER.scan_reference(text, shape=False, region=True)
