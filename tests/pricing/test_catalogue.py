"""Catalogue lookups: the price in force at event time, under any reported model name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType

import pytest

from meterr.pricing import Catalogue, ModelPrice, load_catalogue

from .builders import make_price

LATE_2025 = datetime(2025, 11, 1, tzinfo=UTC)


def _input_rate(provider: str, model: str, at: datetime) -> Decimal | None:
    price = load_catalogue().lookup(provider, model, at)
    return None if price is None else price.rates.input


def test_price_in_force_at_event_time_is_used() -> None:
    change = datetime(2024, 10, 2, tzinfo=UTC)
    before = load_catalogue().lookup("openai", "gpt-4o", change - timedelta(microseconds=1))
    after = load_catalogue().lookup("openai", "gpt-4o", change)
    assert before is not None
    assert after is not None
    assert (before.rates.input, before.rates.output) == (Decimal("5.00"), Decimal("15.00"))
    assert (after.rates.input, after.rates.output) == (Decimal("2.50"), Decimal("10.00"))
    assert after.rates.cached_input == Decimal("1.25")


@pytest.mark.parametrize(
    ("day", "rates"),
    [
        (datetime(2024, 3, 1, tzinfo=UTC), ("8.00", "24.00")),
        (datetime(2024, 8, 1, tzinfo=UTC), ("3.00", "9.00")),
        (LATE_2025, ("2.00", "6.00")),
    ],
)
def test_mistral_large_three_price_versions(day: datetime, rates: tuple[str, str]) -> None:
    price = load_catalogue().lookup("mistral", "mistral-large-latest", day)
    assert price is not None
    assert (price.rates.input, price.rates.output) == tuple(Decimal(r) for r in rates)


def test_event_time_in_another_zone_is_compared_in_utc() -> None:
    # 20:00 on Oct 1 at UTC-5 is 01:00 on Oct 2 UTC, after the gpt-4o price cut.
    minus_five = timezone(timedelta(hours=-5))
    assert _input_rate("openai", "gpt-4o", datetime(2024, 10, 1, 20, tzinfo=minus_five)) == Decimal(
        "2.50"
    )
    assert _input_rate("openai", "gpt-4o", datetime(2024, 10, 1, 18, tzinfo=minus_five)) == Decimal(
        "5.00"
    )


def test_gpt4o_snapshot_prices_as_gpt4o() -> None:
    assert load_catalogue().resolve_model("openai", "gpt-4o-2024-08-06") == "gpt-4o"
    assert _input_rate("openai", "gpt-4o-2024-08-06", LATE_2025) == Decimal("2.50")


def test_gpt4o_may_snapshot_keeps_its_launch_price() -> None:
    assert load_catalogue().resolve_model("openai", "gpt-4o-2024-05-13") == "gpt-4o-2024-05-13"
    price = load_catalogue().lookup("openai", "gpt-4o-2024-05-13", LATE_2025)
    assert price is not None
    assert (price.rates.input, price.rates.output) == (Decimal("5.00"), Decimal("15.00"))


@pytest.mark.parametrize(
    ("provider", "reported", "canonical"),
    [
        ("azure", "gpt-35-turbo", "gpt-3.5-turbo"),
        ("azure_openai", "gpt-35-turbo-16k", "gpt-3.5-turbo-16k"),
        ("azure", "gpt-35-turbo-0613", "gpt-3.5-turbo-0613"),
        ("azure", "gpt-4o", "gpt-4o"),
        ("google", "models/gemini-1.5-pro-002", "gemini-1.5-pro"),
        ("gemini", "gemini-1.5-flash-latest", "gemini-1.5-flash"),
        ("vertex_ai", "gemini-2.0-flash-001", "gemini-2.0-flash"),
        ("google", "gemini-1.0-pro", "gemini-pro"),
        ("anthropic", "claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        ("anthropic", "claude-3.5-sonnet", "claude-3-5-sonnet"),
        ("anthropic", "claude-3-5-sonnet@20240620", "claude-3-5-sonnet"),
        ("anthropic", "claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("anthropic", "claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("anthropic", "claude-3-opus-latest", "claude-3-opus"),
        ("anthropic", "anthropic/claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("openai", "openai/gpt-4o", "gpt-4o"),
        ("openai", "GPT-4-0613", "gpt-4"),
        ("openai", "gpt-4-1106-preview", "gpt-4-turbo"),
        ("openai", "gpt-4-turbo-2024-04-09", "gpt-4-turbo"),
        ("openai", "o1-preview-2024-09-12", "o1-preview"),
        ("openai", "gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("mistral", "mistral-large-2411", "mistral-large"),
        ("mistralai", "codestral-latest", "codestral"),
        ("cohere", "command-r-plus-08-2024", "command-r-plus"),
        ("cohere_chat", "command-a-03-2025", "command-a"),
    ],
)
def test_reported_model_names_resolve_to_canonical(
    provider: str, reported: str, canonical: str
) -> None:
    assert load_catalogue().resolve_model(provider, reported) == canonical


def test_other_vendor_route_prefix_is_not_stripped() -> None:
    assert load_catalogue().resolve_model("openai", "openrouter/gpt-4o") is None


def test_azure_is_priced_from_the_openai_table() -> None:
    azure = load_catalogue().lookup("Azure_OpenAI", "gpt-35-turbo", LATE_2025)
    openai = load_catalogue().lookup("openai", "gpt-3.5-turbo", LATE_2025)
    assert azure is not None
    assert azure == openai


def test_unknown_model_is_unpriced() -> None:
    assert load_catalogue().resolve_model("openai", "gpt-imaginary") is None
    assert load_catalogue().lookup("openai", "gpt-imaginary", LATE_2025) is None
    assert load_catalogue().lookup("groq", "llama-3.1-70b", LATE_2025) is None
    assert load_catalogue().history("openai", "gpt-imaginary") == []


def test_event_before_first_price_is_unpriced() -> None:
    launch = datetime(2025, 8, 7, tzinfo=UTC)
    assert load_catalogue().lookup("openai", "gpt-5", launch - timedelta(seconds=1)) is None
    assert load_catalogue().lookup("openai", "gpt-5", launch) is not None


def test_naive_event_time_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        load_catalogue().lookup("openai", "gpt-4o", datetime(2025, 1, 1))


def test_history_is_sorted_oldest_first() -> None:
    history = load_catalogue().history("openai", "gpt-3.5-turbo")
    inputs = [p.rates.input for p in history]
    assert inputs == [Decimal("2.00"), Decimal("1.50"), Decimal("1.00"), Decimal("0.50")]
    assert [p.effective_from for p in history] == sorted(p.effective_from for p in history)


def test_models_and_providers_listings() -> None:
    catalogue = load_catalogue()
    assert catalogue.providers() == ["anthropic", "cohere", "google", "mistral", "openai"]
    assert "gpt-4o" in catalogue.models("azure")
    assert "claude-3-opus" not in catalogue.models("openai")
    assert set(catalogue.models()) >= {"gpt-4o", "claude-3-opus", "command-r7b"}
    assert catalogue.models("groq") == []


def _two_version_catalogue() -> Catalogue:
    return Catalogue(
        [
            make_price(model="m", effective_from=datetime(2024, 6, 1, tzinfo=UTC)),
            make_price(model="m", effective_from=datetime(2024, 1, 1, tzinfo=UTC)),
        ],
        {("openai", "m-alias"): "m"},
    )


def test_catalogue_orders_versions_given_out_of_order() -> None:
    catalogue = _two_version_catalogue()
    price = catalogue.lookup("openai", "m-alias", datetime(2024, 3, 1, tzinfo=UTC))
    assert price is not None
    assert price.effective_from == datetime(2024, 1, 1, tzinfo=UTC)


def test_catalogue_is_immutable() -> None:
    catalogue = _two_version_catalogue()
    with pytest.raises(AttributeError):
        catalogue._history = MappingProxyType({})
    with pytest.raises(AttributeError):
        del catalogue._exact


def test_catalogue_rejects_alias_to_unknown_model() -> None:
    with pytest.raises(ValueError, match="ghost"):
        Catalogue([make_price(model="m")], {("openai", "x"): "ghost"})


def test_catalogue_rejects_two_prices_at_the_same_moment() -> None:
    with pytest.raises(ValueError, match="openai/m"):
        Catalogue([make_price(model="m"), make_price(model="m")])


def test_catalogue_rejects_ambiguous_dotted_spellings() -> None:
    prices: list[ModelPrice] = [make_price(model="x-3.5"), make_price(model="x-3-5")]
    with pytest.raises(ValueError, match="ambiguous"):
        Catalogue(prices)
