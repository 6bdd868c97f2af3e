"""Canonical provider ids, their common spellings, and which price table each uses."""

from __future__ import annotations

from types import MappingProxyType

KNOWN_PROVIDERS: tuple[str, ...] = ("openai", "anthropic", "google", "azure", "mistral", "cohere")

# Spellings seen in SDKs, LiteLLM and gateway logs for the same billing account type.
_ALIASES: MappingProxyType[str, str] = MappingProxyType(
    {
        "gemini": "google",
        "google_ai": "google",
        "google-ai": "google",
        "googleai": "google",
        "vertex_ai": "google",
        "vertex": "google",
        "vertexai": "google",
        "google_vertex": "google",
        "gemini_api": "google",
        "azure_openai": "azure",
        "azure-openai": "azure",
        "azureopenai": "azure",
        "azure_ai": "azure",
        "mistralai": "mistral",
        "mistral_ai": "mistral",
        "cohere_chat": "cohere",
    }
)

# Azure OpenAI deployments are billed by their base OpenAI model, so they share its table.
_PRICE_TABLES: MappingProxyType[str, str] = MappingProxyType({"azure": "openai"})


def normalize_provider(name: str) -> str:
    """Return the canonical provider id; unknown providers come back stripped and lowercased."""
    cleaned = name.strip().lower()
    return _ALIASES.get(cleaned, cleaned)


def price_table(provider: str) -> str:
    """Return the provider whose price table prices this provider's usage."""
    canonical = normalize_provider(provider)
    return _PRICE_TABLES.get(canonical, canonical)
