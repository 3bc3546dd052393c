"""Typed client for the llm-router gRPC service (the generated stubs are in the `llmrouter.v1` package).

    from llmrouter_client import RouterClient, InvalidArgument

    with RouterClient("127.0.0.1:50051", tenant="acme") as client:
        for text in (stream := client.stream("Explain gRPC in one paragraph")):
            print(text, end="")
        print(stream.summary.cost_nano_usd)

`AsyncRouterClient` is the same for asyncio. Failed calls raise RouterError subclasses that carry the
server's google.rpc rich details (field violations, quota failures, retry delay, provider attempts).
"""

from llmrouter.v1 import router_pb2 as pb

from llmrouter_client._common import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_TARGET,
    DEFAULT_TIMEOUT,
    assistant,
    model_ref,
    service_config,
    system,
    user,
)
from llmrouter_client.aio import AsyncCompletionStream, AsyncRouterClient
from llmrouter_client.client import CompletionStream, RouterClient
from llmrouter_client.errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ProviderFailure,
    QuotaExceeded,
    RouterError,
    Unauthenticated,
    Unavailable,
    from_rpc_error,
)

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_TARGET",
    "DEFAULT_TIMEOUT",
    "Aborted",
    "AlreadyExists",
    "AsyncCompletionStream",
    "AsyncRouterClient",
    "Cancelled",
    "CompletionStream",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ProviderFailure",
    "QuotaExceeded",
    "RouterClient",
    "RouterError",
    "Unauthenticated",
    "Unavailable",
    "assistant",
    "from_rpc_error",
    "model_ref",
    "pb",
    "service_config",
    "system",
    "user",
]
