"""How an execution can end without an answer."""

from __future__ import annotations

from router_service.providers.errors import ProviderError


class ExecutionError(Exception):
    """Base of executor outcomes that are not an answer."""


class AllCandidatesFailed(ExecutionError):
    """Every candidate failed with a retryable (or provider-side) error: UNAVAILABLE."""

    def __init__(self, errors: list[ProviderError]) -> None:
        super().__init__("; ".join(str(e) for e in errors) or "no candidate could be tried")
        self.errors = errors


class RequestRejected(ExecutionError):
    """A provider rejected the request itself (bad request, context too long): trying others cannot help."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(str(error))
        self.error = error


class DeadlineExceeded(ExecutionError):
    """The caller's deadline passed before an answer."""


class StreamInterrupted(ExecutionError):
    """A stream failed after its first delta: it must end with an error, never be spliced."""

    def __init__(self, error: ProviderError, deltas: int) -> None:
        super().__init__(f"stream interrupted after {deltas} deltas: {error}")
        self.error = error
        self.deltas = deltas


class Overloaded(ExecutionError):
    """Every candidate deployment is at its concurrency limit with a full queue: RESOURCE_EXHAUSTED."""
