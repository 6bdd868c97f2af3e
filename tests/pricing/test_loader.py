"""The shipped catalogue file: well-formed, sourced, and validated on load."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from importlib.resources import files
from typing import Any

import pytest

from meterr.pricing import load_catalogue
from meterr.pricing.loader import parse_catalogue

from .builders import shipped_price


def _raw() -> dict[str, Any]:
    text = files("meterr.pricing").joinpath("catalogue.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _valid() -> dict[str, Any]:
    return {
        "version": "2026-01-01",
        "currency": "USD",
        "unit": "per_million_tokens",
        "providers": {
            "openai": {
                "models": {
                    "gpt-4o": {
                        "aliases": ["gpt-4o-latest-alias"],
                        "prices": [
                            {
                                "effective_from": "2024-05-13",
                                "input": "5.00",
                                "output": "15.00",
                                "source": "https://openai.com/index/hello-gpt-4o/",
                                "source_date": "2024-05-13",
                            },
                            {
                                "effective_from": "2024-10-02",
                                "input": "2.50",
                                "output": "10.00",
                                "cached_input": "1.25",
                                "source": "https://openai.com/api/pricing/",
                                "source_date": "2024-10-02",
                            },
                        ],
                    }
                }
            }
        },
    }


def _first_price(data: dict[str, Any], index: int = 0) -> dict[str, Any]:
    price: dict[str, Any] = data["providers"]["openai"]["models"]["gpt-4o"]["prices"][index]
    return price


def test_valid_document_parses() -> None:
    catalogue = parse_catalogue(_valid())
    price = catalogue.lookup("openai", "gpt-4o-latest-alias", datetime(2025, 1, 1, tzinfo=UTC))
    assert price is not None
    assert price.rates.cached_input == Decimal("1.25")
    assert price.effective_from == datetime(2024, 10, 2, tzinfo=UTC)
    assert price.origin == "catalogue"


def test_missing_field_names_model_and_field() -> None:
    data = _valid()
    del _first_price(data, 1)["output"]
    with pytest.raises(ValueError, match=r"openai/gpt-4o prices\[1\].*'output'"):
        parse_catalogue(data)


def test_unknown_field_is_rejected() -> None:
    data = _valid()
    _first_price(data)["cached_inptu"] = "1.00"
    with pytest.raises(ValueError, match=r"openai/gpt-4o prices\[0\].*unknown.*'cached_inptu'"):
        parse_catalogue(data)


def test_non_increasing_effective_from_is_rejected() -> None:
    data = _valid()
    _first_price(data, 1)["effective_from"] = "2024-05-13"
    with pytest.raises(ValueError, match=r"openai/gpt-4o prices\[1\] field 'effective_from'"):
        parse_catalogue(data)


@pytest.mark.parametrize("bad", [2.5, "2,50", "-1", "1e3", "NaN", ""])
def test_prices_must_be_plain_decimal_strings(bad: object) -> None:
    data = _valid()
    _first_price(data)["input"] = bad
    with pytest.raises(ValueError, match=r"openai/gpt-4o prices\[0\] field 'input'"):
        parse_catalogue(data)


def test_source_must_be_an_https_url() -> None:
    data = _valid()
    _first_price(data)["source"] = "openai pricing page"
    with pytest.raises(ValueError, match="field 'source'"):
        parse_catalogue(data)


def test_long_context_tier_is_validated() -> None:
    data = _valid()
    _first_price(data)["long_context"] = {"above_input_tokens": "128k", "input": "1", "output": "2"}
    with pytest.raises(ValueError, match="long_context field 'above_input_tokens'"):
        parse_catalogue(data)


def test_unknown_provider_table_is_rejected() -> None:
    data = _valid()
    data["providers"]["azure"] = data["providers"].pop("openai")
    with pytest.raises(ValueError, match="azure"):
        parse_catalogue(data)


def test_alias_clashing_with_a_model_is_rejected() -> None:
    data = _valid()
    models = data["providers"]["openai"]["models"]
    models["gpt-4o-mini"] = copy.deepcopy(models["gpt-4o"])
    models["gpt-4o-mini"]["aliases"] = ["gpt-4o"]
    with pytest.raises(ValueError, match="gpt-4o"):
        parse_catalogue(data)


def test_wrong_currency_is_rejected() -> None:
    data = _valid()
    data["currency"] = "EUR"
    with pytest.raises(ValueError, match="currency"):
        parse_catalogue(data)


def test_shipped_catalogue_loads_once() -> None:
    assert load_catalogue() is load_catalogue()


def test_every_shipped_price_has_a_source_url_and_date() -> None:
    catalogue = load_catalogue()
    count = 0
    for provider in catalogue.providers():
        for model in catalogue.models(provider):
            for price in catalogue.history(provider, model):
                count += 1
                assert price.source.startswith("https://"), (provider, model)
                assert price.source_date.year >= 2023, (provider, model)
    raw_count = sum(
        len(entry["prices"])
        for body in _raw()["providers"].values()
        for entry in body["models"].values()
    )
    assert count == raw_count > 0


def test_shipped_prices_are_written_as_strings() -> None:
    for body in _raw()["providers"].values():
        for model, entry in body["models"].items():
            for price in entry["prices"]:
                for field in ("input", "output", "cached_input", "cache_write", "reasoning"):
                    if field in price:
                        assert isinstance(price[field], str), (model, field)


def test_required_models_are_covered() -> None:
    required = {
        "openai": "gpt-3.5-turbo gpt-4 gpt-4-32k gpt-4-turbo gpt-4o gpt-4o-2024-05-13 "
        "gpt-4o-mini gpt-4.1 gpt-4.1-mini gpt-4.1-nano o1 o1-mini o3 o3-mini o4-mini "
        "gpt-5 gpt-5-mini gpt-5-nano",
        "anthropic": "claude-3-opus claude-3-sonnet claude-3-haiku claude-3-5-sonnet "
        "claude-3-5-haiku claude-3-7-sonnet claude-sonnet-4 claude-opus-4 claude-opus-4-1 "
        "claude-sonnet-4-5 claude-haiku-4-5 claude-opus-4-5",
        "google": "gemini-pro gemini-1.5-pro gemini-1.5-flash gemini-2.0-flash "
        "gemini-2.0-flash-lite gemini-2.5-pro gemini-2.5-flash gemini-2.5-flash-lite "
        "gemini-3-pro-preview",
        "mistral": "mistral-large mistral-medium mistral-small codestral",
        "cohere": "command-r command-r-plus command-a command-r7b",
    }
    for provider, names in required.items():
        assert set(names.split()) <= set(load_catalogue().models(provider)), provider


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("provider", "model", "day", "input_rate", "output_rate", "cached_rate"),
    [
        ("openai", "gpt-4o-mini", "2025-01-01", "0.15", "0.60", "0.075"),
        ("openai", "o1-mini", "2024-10-01", "3.00", "12.00", "1.50"),
        ("openai", "o3", "2025-05-01", "10.00", "40.00", "2.50"),
        ("openai", "o3", "2025-06-10", "2.00", "8.00", "0.50"),
        ("openai", "o4-mini", "2025-05-01", "1.10", "4.40", "0.275"),
        ("openai", "gpt-5-nano", "2025-09-01", "0.05", "0.40", "0.005"),
        ("anthropic", "claude-3-haiku", "2024-06-01", "0.25", "1.25", "0.025"),
        ("anthropic", "claude-opus-4-5", "2025-11-24", "5.00", "25.00", "0.50"),
        ("google", "gemini-1.5-pro", "2024-09-30", "3.50", "10.50", "0.875"),
        ("google", "gemini-1.5-pro", "2024-10-01", "1.25", "5.00", "0.3125"),
        ("google", "gemini-1.5-flash", "2024-08-12", "0.075", "0.30", "0.01875"),
        ("mistral", "mistral-small", "2025-03-17", "0.10", "0.30", None),
        ("mistral", "codestral", "2025-01-13", "0.30", "0.90", None),
        ("cohere", "command-r", "2024-08-30", "0.15", "0.60", None),
        ("cohere", "command-r7b", "2025-01-01", "0.0375", "0.15", None),
    ],
)
def test_shipped_list_prices(
    provider: str,
    model: str,
    day: str,
    input_rate: str,
    output_rate: str,
    cached_rate: str | None,
) -> None:
    rates = shipped_price(provider, model, _at(day)).rates
    assert rates.input == Decimal(input_rate)
    assert rates.output == Decimal(output_rate)
    assert rates.cached_input == (None if cached_rate is None else Decimal(cached_rate))


def test_anthropic_cache_rates_follow_the_published_multipliers() -> None:
    catalogue = load_catalogue()
    for model in catalogue.models("anthropic"):
        for price in catalogue.history("anthropic", model):
            tiers = [price.rates] + ([price.long_context.rates] if price.long_context else [])
            for rates in tiers:
                assert rates.cache_write == rates.input * Decimal("1.25"), model
                assert rates.cached_input == rates.input * Decimal("0.1"), model


def test_openai_reasoning_is_billed_as_output() -> None:
    catalogue = load_catalogue()
    for model in catalogue.models("openai"):
        for price in catalogue.history("openai", model):
            assert price.rates.reasoning is None, model
