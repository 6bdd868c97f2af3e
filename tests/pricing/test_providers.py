"""Provider names from SDKs and gateways map onto canonical ids."""

from __future__ import annotations

import pytest

from meterr.pricing import KNOWN_PROVIDERS, normalize_provider


def test_known_providers_are_the_six_canonical_ids() -> None:
    assert KNOWN_PROVIDERS == ("openai", "anthropic", "google", "azure", "mistral", "cohere")


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        (" OpenAI ", "openai"),
        ("Anthropic", "anthropic"),
        ("gemini", "google"),
        ("google_ai", "google"),
        ("google-ai", "google"),
        ("googleai", "google"),
        ("vertex_ai", "google"),
        ("Vertex", "google"),
        ("vertexai", "google"),
        ("google_vertex", "google"),
        ("gemini_api", "google"),
        ("azure_openai", "azure"),
        ("azure-openai", "azure"),
        ("AzureOpenAI", "azure"),
        ("azure_ai", "azure"),
        ("mistralai", "mistral"),
        ("mistral_ai", "mistral"),
        ("cohere_chat", "cohere"),
    ],
)
def test_aliases_normalize_to_canonical_provider(name: str, canonical: str) -> None:
    assert normalize_provider(name) == canonical


def test_unknown_provider_is_kept_stripped_and_lowercased() -> None:
    assert normalize_provider("  Groq ") == "groq"


def test_claude_is_not_a_provider_alias() -> None:
    assert normalize_provider("claude") == "claude"
