"""llm-router: a gRPC service that routes LLM requests to the best provider and accounts for their cost."""

__version__ = "0.1.0"
