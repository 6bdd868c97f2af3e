"""LiteLLM's `model_prices_and_context_window.json`: its text models' per-token prices, read as
USD per 1M tokens.

The file maps a model name to an entry such as `{"litellm_provider": "openai", "mode": "chat",
"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
"cache_read_input_token_cost": 1.25e-06}`; long-context prices are given as
`input_cost_per_token_above_200k_tokens` and the like.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from meterr.pricing.providers import normalize_provider

__all__ = ["LiteLLMPrice", "read_litellm"]

_MODES = frozenset({"chat", "completion", "responses"})
_RATE_FIELDS = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cached_input": "cache_read_input_token_cost",
    "cache_write": "cache_creation_input_token_cost",
    "reasoning": "output_cost_per_reasoning_token",
}
_TIER_FIELD = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")
# LiteLLM's provider names Meterr knows by another, beyond the usual spellings.
_PROVIDERS = {
    "vertex_ai-language-models": "google",
    "text-completion-openai": "openai",
}


@dataclass(frozen=True, slots=True)
class LiteLLMPrice:
    """One text model's prices, USD per 1M tokens; `long_context` holds the rates above
    `above_input_tokens` when the file gives them."""

    name: str
    provider: str
    model: str
    rates: dict[str, Decimal]
    above_input_tokens: int | None = None
    long_context: dict[str, Decimal] | None = None


def _per_million(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value)) * 1_000_000
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return amount.normalize() if amount else Decimal(0)


def _tier(entry: dict[str, object]) -> tuple[int, dict[str, Decimal]] | None:
    """The first long-context tier the entry prices (input and output above N tokens)."""
    for name in sorted(entry):
        found = _TIER_FIELD.match(name)
        if found is None:
            continue
        suffix = f"_above_{found.group(1)}k_tokens"
        rates = {
            rate: _per_million(entry.get(field + suffix)) for rate, field in _RATE_FIELDS.items()
        }
        if rates["input"] is not None and rates["output"] is not None:
            return int(found.group(1)) * 1000, {k: v for k, v in rates.items() if v is not None}
    return None


def read_litellm(document: object) -> tuple[list[LiteLLMPrice], dict[str, str]]:
    """Every text model with per-token input and output costs, and, by entry name, why each
    other entry was skipped. Raises ValueError when the document is not a JSON object."""
    if not isinstance(document, dict):
        raise ValueError("A LiteLLM price file is one JSON object of models.")
    found: list[LiteLLMPrice] = []
    skipped: dict[str, str] = {}
    for name, entry in document.items():
        if name == "sample_spec" or not isinstance(entry, dict):
            continue
        mode = entry.get("mode")
        if mode is not None and (not isinstance(mode, str) or mode not in _MODES):
            shown = mode if isinstance(mode, str) else json.dumps(mode)
            skipped[name] = f"mode {shown[:40]} is not a text model"
            continue
        provider_field = entry.get("litellm_provider")
        raw_provider = provider_field.strip() if isinstance(provider_field, str) else ""
        rates = {rate: _per_million(entry.get(field)) for rate, field in _RATE_FIELDS.items()}
        if not raw_provider or rates["input"] is None or rates["output"] is None:
            skipped[name] = "no provider or no per-token input and output cost"
            continue
        provider = _PROVIDERS.get(raw_provider, normalize_provider(raw_provider))
        model = name.split("/", 1)[1] if name.startswith(f"{raw_provider}/") else name
        tier = _tier(entry)
        found.append(
            LiteLLMPrice(
                name=name,
                provider=provider,
                model=model,
                rates={k: v for k, v in rates.items() if v is not None},
                above_input_tokens=None if tier is None else tier[0],
                long_context=None if tier is None else tier[1],
            )
        )
    return found, skipped
