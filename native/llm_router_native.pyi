"""Compiled hot loops of llm-router (see native/src); pure-Python references live in router_service."""

INTERFACE: int
SOURCE_DIGEST: str

class TokenScanner:
    def __init__(
        self,
        vectors: dict[bytes, tuple[int, ...]],
        n_fields: int,
        cues: dict[bytes, tuple[tuple[int, ...], list[tuple[bytes, tuple[int, ...]]]]],
        n_cues: int,
        head: int,
        tail: int,
    ) -> None: ...
    def scan(
        self, data: bytes, shape: bool, region: bool
    ) -> tuple[int, int, int, tuple[int, ...], tuple[int, ...], bool]: ...
    def tokens(self, data: bytes) -> list[bytes]: ...

class TierRanker:
    def __init__(
        self, by_tier: list[int], groups: list[tuple[int, int, int]], quality: list[float], latency: list[float]
    ) -> None: ...
    def rank(
        self, costs: list[int], wq: float, wl: float, wc: float, preferred: int
    ) -> tuple[list[int], list[float], list[float], float, int]: ...
    def __len__(self) -> int: ...

class PriceTable:
    def __init__(self, prices: list[tuple[int, int]], unit: int) -> None: ...
    def costs(self, prompt_tokens: int, output_tokens: int) -> list[int]: ...
    def __len__(self) -> int: ...
