"""The `llm-router` command: serve, and talk to a running server as a person would."""
