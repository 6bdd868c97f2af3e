"""Prices from a LiteLLM `model_prices_and_context_window.json` file, as an organization's
negotiated prices."""

from __future__ import annotations

from dataclasses import dataclass, field

from meterr.auth import Operation
from meterr.errors import InvalidInput
from meterr.pricing import read_litellm
from meterr.resolvers.context import RequestContext
from meterr.resolvers.inputs import PriceOverrideInput, RepriceInput, validate_model
from meterr.resolvers.prices import reprice, set_price_override

__all__ = ["PriceImport", "import_litellm_prices"]


@dataclass(slots=True)
class PriceImport:
    imported: list[tuple[str, str]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # entry -> why
    repriced: int = 0


async def import_litellm_prices(
    ctx: RequestContext, document: object, *, dry_run: bool = False
) -> PriceImport:
    """Each text model with per-token costs becomes an override (USD per 1M tokens); the
    events left unpriced are priced with them at the end."""
    ctx.principal.require(Operation.MANAGE)
    try:
        prices, skipped = read_litellm(document)
    except ValueError as exc:
        raise InvalidInput(str(exc), {"fields": {"file": "object"}}) from None
    report = PriceImport(skipped=skipped)
    for price in prices:
        body = {
            "provider": price.provider,
            "model": price.model,
            **price.rates,
            "note": "imported from a LiteLLM price file",
            "reprice_unpriced": False,
        }
        try:
            data = validate_model(PriceOverrideInput, body)
            if not dry_run:
                await set_price_override(ctx, data)
        except InvalidInput as exc:
            report.skipped[price.name] = exc.message
            continue
        report.imported.append((data.provider, data.model))
    if report.imported and not dry_run:
        repriced = await reprice(ctx, RepriceInput(unpriced_only=True, dry_run=False))
        report.repriced = repriced.changed
    return report
