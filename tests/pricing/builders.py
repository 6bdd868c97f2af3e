"""Builders for the price objects pricing tests need."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from meterr.pricing import LongContextTier, ModelPrice, Rates, load_catalogue


def make_price(
    provider: str = "openai",
    model: str = "test-model",
    effective_from: datetime = datetime(2024, 1, 1, tzinfo=UTC),
    rates: Rates | None = None,
    long_context: LongContextTier | None = None,
    origin: str = "catalogue",
) -> ModelPrice:
    return ModelPrice(
        provider=provider,
        model=model,
        effective_from=effective_from,
        rates=rates or Rates(input=Decimal("1"), output=Decimal("2")),
        long_context=long_context,
        source="https://example.com/pricing",
        source_date=effective_from.date(),
        origin=origin,
    )


def shipped_price(provider: str, model: str, at: datetime) -> ModelPrice:
    price = load_catalogue().lookup(provider, model, at)
    assert price is not None, f"{provider}/{model} has no price at {at}"
    return price
