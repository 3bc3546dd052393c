"""Typed client for the llm-router gRPC service (stubs are in the `llmrouter.v1` package)."""
