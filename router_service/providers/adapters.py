"""The adapter factory for each wire protocol (`kind` in the configuration)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from router_service.config import ProviderKind
from router_service.providers.anthropic import AnthropicAdapter
from router_service.providers.gemini import GeminiAdapter
from router_service.providers.ollama import OllamaAdapter
from router_service.providers.openai import OpenAICompatibleAdapter

if TYPE_CHECKING:
    from router_service.providers.registry import AdapterFactory

# Each adapter class is its own factory: (name, settings, base_url, api_key, client) -> adapter.
FACTORIES: dict[ProviderKind, AdapterFactory] = {
    "openai": OpenAICompatibleAdapter,
    "anthropic": AnthropicAdapter,
    "gemini": GeminiAdapter,
    "ollama": OllamaAdapter,
}
