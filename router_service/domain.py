"""Types shared by several components: chat messages, generation parameters, model references, usage.

Enum values equal the protobuf enum numbers of `llmrouter.v1`, so translating is an int cast; a test
checks that they stay in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple


class Role(IntEnum):
    SYSTEM = 1
    USER = 2
    ASSISTANT = 3


class Complexity(IntEnum):
    TRIVIAL = 1
    SIMPLE = 2
    MEDIUM = 3
    COMPLEX = 4
    EXPERT = 5


class Domain(IntEnum):
    UNKNOWN = 0
    CODING = 1
    MATH = 2
    ANALYSIS = 3
    CREATIVE_WRITING = 4
    EXTRACTION = 5
    SUMMARIZATION = 6
    CLASSIFICATION = 7
    BRAINSTORMING = 8
    CLOSED_QA = 9
    OPEN_QA = 10
    CHIT_CHAT = 11
    TRANSLATION = 12


class Intent(IntEnum):
    UNKNOWN = 0
    SALES = 1
    SUPPORT = 2
    FAQ = 3
    SMALLTALK = 4
    GENERAL = 5


class Language(IntEnum):
    UNKNOWN = 0
    ENGLISH = 1
    SPANISH = 2
    PORTUGUESE = 3
    FRENCH = 4
    GERMAN = 5
    ITALIAN = 6
    OTHER = 7


class ModelTier(IntEnum):
    FAST = 1
    BALANCED = 2
    PREMIUM = 3


class Capability(IntEnum):
    STREAMING = 1
    TOOLS = 2
    VISION = 3
    JSON_MODE = 4
    REASONING = 5
    PROMPT_CACHING = 6


class FinishReason(IntEnum):
    UNKNOWN = 0
    STOP = 1
    LENGTH = 2
    CONTENT_FILTER = 3
    TOOL_CALLS = 4


class ErrorKind(IntEnum):
    NONE = 0
    RATE_LIMITED = 1
    OVERLOADED = 2
    UNAVAILABLE = 3
    TIMEOUT = 4
    BAD_REQUEST = 5
    CONTEXT_LENGTH = 6
    AUTH_FAILED = 7
    NOT_FOUND = 8
    PROTOCOL = 9
    CANCELLED = 10
    QUOTA_EXHAUSTED = 11
    SKIPPED = 12


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class GenerationParams:
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None


class ModelRef(NamedTuple):
    """A provider and one of its models. A named tuple: hashed and compared in C, as it keys hot lookups."""

    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        """Parse "provider/model" (the model part may itself contain slashes)."""
        provider, _, model = text.partition("/")
        return cls(provider.strip(), model.strip())


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_input_tokens: int = 0
    estimated: bool = False

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.cache_write_input_tokens + other.cache_write_input_tokens,
            self.estimated or other.estimated,
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens
