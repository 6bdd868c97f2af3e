"""Negotiated overrides win over list prices from their effective date on."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from meterr.pricing import PriceBook, Rates, load_catalogue

from .builders import make_price

DISCOUNT_START = datetime(2025, 1, 1, tzinfo=UTC)
DISCOUNT = Rates(input=Decimal("2.00"), output=Decimal("8.00"))


def _book() -> PriceBook:
    override = make_price(
        provider="openai",
        model="gpt-4o",
        effective_from=DISCOUNT_START,
        rates=DISCOUNT,
        origin="override",
    )
    return PriceBook(load_catalogue(), [override])


def test_override_wins_from_its_effective_date() -> None:
    price = _book().lookup("openai", "gpt-4o", datetime(2025, 3, 1, tzinfo=UTC))
    assert price is not None
    assert price.origin == "override"
    assert price.rates == DISCOUNT


def test_catalogue_price_applies_before_the_override_starts() -> None:
    price = _book().lookup("openai", "gpt-4o", datetime(2024, 12, 31, 23, 59, tzinfo=UTC))
    assert price is not None
    assert price.origin == "catalogue"
    assert price.rates.input == Decimal("2.50")


def test_override_covers_snapshots_and_azure_spellings_of_the_model() -> None:
    book = _book()
    at = datetime(2025, 3, 1, tzinfo=UTC)
    for provider, model in [("openai", "gpt-4o-2024-11-20"), ("azure", "gpt-4o")]:
        price = book.lookup(provider, model, at)
        assert price is not None
        assert price.rates == DISCOUNT, (provider, model)
    # The May snapshot is a separately priced model, so the override does not reach it.
    may = book.lookup("openai", "gpt-4o-2024-05-13", at)
    assert may is not None
    assert may.origin == "catalogue"


def test_latest_applicable_override_wins() -> None:
    later = Rates(input=Decimal("1.00"), output=Decimal("4.00"))
    book = PriceBook(
        load_catalogue(),
        [
            make_price(
                model="gpt-4o",
                effective_from=datetime(2025, 6, 1, tzinfo=UTC),
                rates=later,
                origin="override",
            ),
            make_price(
                model="gpt-4o", effective_from=DISCOUNT_START, rates=DISCOUNT, origin="override"
            ),
        ],
    )
    march = book.lookup("openai", "gpt-4o", datetime(2025, 3, 1, tzinfo=UTC))
    july = book.lookup("openai", "gpt-4o", datetime(2025, 7, 1, tzinfo=UTC))
    assert march is not None
    assert july is not None
    assert march.rates == DISCOUNT
    assert july.rates == later


def test_override_for_a_model_absent_from_the_catalogue() -> None:
    book = PriceBook(load_catalogue())
    key = book.price_key("Azure", " FT:gpt-4o-mini:acme::abc123 ")
    assert key == ("openai", "ft:gpt-4o-mini:acme::abc123")
    fine_tuned = make_price(provider=key[0], model=key[1], rates=DISCOUNT, origin="override")
    book = PriceBook(load_catalogue(), [fine_tuned])
    price = book.lookup("openai", "ft:gpt-4o-mini:acme::abc123", datetime(2025, 1, 1, tzinfo=UTC))
    assert price == fine_tuned
    assert (
        book.lookup("openai", "ft:gpt-4o-mini:acme::abc123", datetime(2023, 1, 1, tzinfo=UTC))
        is None
    )


def test_price_key_uses_the_canonical_model_of_the_price_table() -> None:
    book = PriceBook(load_catalogue())
    assert book.price_key("azure_openai", "gpt-35-turbo") == ("openai", "gpt-3.5-turbo")
    assert book.price_key("gemini", "models/gemini-1.5-pro-002") == ("google", "gemini-1.5-pro")


def test_overrides_must_be_marked_as_overrides() -> None:
    with pytest.raises(ValueError, match="origin"):
        PriceBook(load_catalogue(), [make_price(model="gpt-4o", origin="catalogue")])


def test_two_overrides_at_the_same_moment_are_rejected() -> None:
    twice = [make_price(model="gpt-4o", origin="override")] * 2
    with pytest.raises(ValueError, match="openai/gpt-4o"):
        PriceBook(load_catalogue(), twice)
