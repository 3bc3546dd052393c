"""Tokenisation and windowing shared by the analyzer and the trainer, so both see identical features.

Speed matters more than linguistic finesse here (the analyzer runs on every call): tokens are the UTF-8
bytes of the lower-cased text with ASCII punctuation turned into spaces and every digit folded to "0",
split on ASCII whitespace. `bytes.translate` and `bytes.split` run in C, several times faster than a
regular expression, and folding digits makes "order 47104" and "order 99943" the same feature.
"""

from __future__ import annotations

_PUNCTUATION = b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\t\n\r\x0b\x0c"
_UPPER = bytes(range(ord("A"), ord("Z") + 1))
# Punctuation to spaces, digits to "0", ASCII capitals to lower case.
_TABLE = bytes.maketrans(_PUNCTUATION + b"0123456789" + _UPPER, b" " * len(_PUNCTUATION) + b"0" * 10 + _UPPER.lower())
# Inverted Spanish marks are kept as tokens of their own: they are strong evidence of Spanish.
_INVERTED_QUESTION = "¿".encode()
_INVERTED_EXCLAMATION = "¡".encode()
_RIGHT_QUOTE = "’".encode()

# Large prompts are classified on a bounded window of the last user turn: the task statement sits at
# the start of a prompt and the actual question after a pasted document sits at its end, while the
# middle is usually pasted material that only costs time. 2 kB + 1 kB keeps a 1 MB prompt as cheap
# as a 3 kB one and covers every instruction template in the training data.
HEAD_CHARS = 2048
TAIL_CHARS = 1024

# Rules read the instruction region only: the first and last tokens of the turn, so that keywords
# inside a pasted document ("design", "prove") do not count as the user's request.
CUE_HEAD_TOKENS = 40
CUE_TAIL_TOKENS = 24


def window(text: str, head: int = HEAD_CHARS, tail: int = TAIL_CHARS) -> str:
    """The part of `text` that is classified: all of it, or its first `head` and last `tail` characters."""
    if len(text) <= head + tail:
        return text
    return text[:head] + "\n" + text[-tail:]


def tokenize(text: str) -> list[bytes]:
    """Word tokens as UTF-8 bytes: ASCII letters lower-cased, ASCII punctuation removed, digits as "0".

    Only ASCII capitals are folded: `str.lower` would double the cost of tokenising non-ASCII text,
    and capitals outside ASCII ("Él", "Índice") are rare enough in prompts not to matter. Training
    uses this same function, so the model never sees a difference.
    """
    data = text.encode("utf-8", "surrogatepass").translate(_TABLE)
    if b"\xc2" in data:  # both inverted marks start with 0xC2; skip two searches on most prompts
        data = data.replace(_INVERTED_QUESTION, b" \xc2\xbf ").replace(_INVERTED_EXCLAMATION, b" \xc2\xa1 ")
    if b"\xe2" in data:  # one-byte membership tests are memchr-fast; two-byte searches are not
        data = data.replace(_RIGHT_QUOTE, b" ")
    return data.split()


def cue_region(tokens: list[bytes]) -> list[bytes]:
    """The tokens where instructions live: the first and last few of the turn."""
    if len(tokens) <= CUE_HEAD_TOKENS + CUE_TAIL_TOKENS:
        return tokens
    return tokens[:CUE_HEAD_TOKENS] + tokens[-CUE_TAIL_TOKENS:]


def shape_tokens(text: str, n_tokens: int) -> tuple[bytes, ...]:
    """Pseudo-tokens describing the text's shape (length bucket, question mark, line breaks).

    They let the learned model tell a bare question from a pasted paragraph with a question at the end.
    """
    length = b"#len%d" % min(n_tokens.bit_length(), 10)
    if "?" in text:
        return (length, b"#q", b"#nl") if "\n" in text else (length, b"#q")
    return (length, b"#nl") if "\n" in text else (length,)


def model_features(text: str) -> set[bytes]:
    """The learned model's binary features of one text (what training and analysis both use)."""
    win = window(text)
    tokens = tokenize(win)
    features = set(tokens)
    features.update(shape_tokens(win, len(tokens)))
    return features
