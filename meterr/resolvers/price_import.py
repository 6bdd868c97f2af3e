"""Prices from a LiteLLM `model_prices_and_context_window.json` file, as an organization's
negotiated prices."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from meterr.auth import Operation
from meterr.errors import InvalidInput
from meterr.resolvers.context import RequestContext
from meterr.resolvers.inputs import PriceOverrideInput, RepriceInput, validate_model
from meterr.resolvers.prices import reprice, set_price_override

__all__ = ["PriceImport", "import_litellm_prices"]

# LiteLLM's provider names that Meterr knows by another.
_PROVIDERS = {
    "vertex_ai-language-models": "google",
    "vertex_ai": "google",
    "gemini": "google",
    "azure_ai": "azure",
    "cohere_chat": "cohere",
    "mistral": "mistral",
    "text-completion-openai": "openai",
}
_MODES = {"chat", "completion", "responses", None}


@dataclass(slots=True)
class PriceImport:
    imported: list[tuple[str, str]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # entry -> why
    repriced: int = 0


def _per_million(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return (Decimal(str(value)) * 1_000_000).normalize()
    except InvalidOperation:
        return None


async def import_litellm_prices(
    ctx: RequestContext, document: object, *, dry_run: bool = False
) -> PriceImport:
    """Each text model with per-token costs becomes an override (USD per 1M tokens); the
    events left unpriced are priced with them at the end."""
    ctx.principal.require(Operation.MANAGE)
    if not isinstance(document, dict):
        raise InvalidInput(
            "A LiteLLM price file is one JSON object of models.", {"fields": {"file": "object"}}
        )
    report = PriceImport()
    for name, entry in document.items():
        if name == "sample_spec" or not isinstance(entry, dict):
            continue
        if entry.get("mode") not in _MODES:
            report.skipped[name] = f"mode {entry.get('mode')} is not a text model"
            continue
        provider = str(entry.get("litellm_provider") or "").strip()
        rates = {
            "input": _per_million(entry.get("input_cost_per_token")),
            "output": _per_million(entry.get("output_cost_per_token")),
            "cached_input": _per_million(entry.get("cache_read_input_token_cost")),
            "cache_write": _per_million(entry.get("cache_creation_input_token_cost")),
        }
        if not provider or rates["input"] is None or rates["output"] is None:
            report.skipped[name] = "no provider or no per-token input and output cost"
            continue
        model = name.split("/", 1)[1] if name.startswith(f"{provider}/") else name
        body = {
            "provider": _PROVIDERS.get(provider, provider),
            "model": model,
            **{key: value for key, value in rates.items() if value is not None},
            "note": "imported from a LiteLLM price file",
            "reprice_unpriced": False,
        }
        try:
            data = validate_model(PriceOverrideInput, body)
            if not dry_run:
                await set_price_override(ctx, data)
        except InvalidInput as exc:
            report.skipped[name] = exc.message
            continue
        report.imported.append((data.provider, data.model))
    if report.imported and not dry_run:
        repriced = await reprice(ctx, RepriceInput(unpriced_only=True, dry_run=False))
        report.repriced = repriced.changed
    return report
