"""Rate fallbacks, long-context tiers and the token accounting convention."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from meterr.pricing import LongContextTier, Rates, TokenUsage

from .builders import make_price


def test_missing_cache_and_reasoning_rates_fall_back() -> None:
    rates = Rates(input=Decimal("3"), output=Decimal("15"))
    assert rates.effective_cached_input == Decimal("3")
    assert rates.effective_cache_write == Decimal("3")
    assert rates.effective_reasoning == Decimal("15")


def test_explicit_cache_and_reasoning_rates_are_used() -> None:
    rates = Rates(
        input=Decimal("3"),
        output=Decimal("15"),
        cached_input=Decimal("0.30"),
        cache_write=Decimal("3.75"),
        reasoning=Decimal("20"),
    )
    assert rates.effective_cached_input == Decimal("0.30")
    assert rates.effective_cache_write == Decimal("3.75")
    assert rates.effective_reasoning == Decimal("20")


def test_zero_cached_rate_is_not_treated_as_missing() -> None:
    rates = Rates(input=Decimal("1"), output=Decimal("2"), cached_input=Decimal("0"))
    assert rates.effective_cached_input == Decimal("0")


def test_rates_reject_floats_and_negative_values() -> None:
    with pytest.raises(TypeError, match="input"):
        Rates(input=1.5, output=Decimal("2"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cache_write"):
        Rates(input=Decimal("1"), output=Decimal("2"), cache_write=Decimal("-1"))


def test_long_context_tier_applies_only_strictly_above_threshold() -> None:
    long_rates = Rates(input=Decimal("6"), output=Decimal("22.50"))
    price = make_price(long_context=LongContextTier(above_input_tokens=200_000, rates=long_rates))
    assert price.rates_for(200_000) is price.rates
    assert price.rates_for(200_001) is long_rates


def test_price_without_tier_always_uses_base_rates() -> None:
    price = make_price()
    assert price.rates_for(10**9) is price.rates


def test_naive_effective_from_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_price(effective_from=datetime(2024, 1, 1))


def test_unknown_origin_is_rejected() -> None:
    with pytest.raises(ValueError, match="origin"):
        make_price(origin="guess")


def test_valid_usage_has_no_violations() -> None:
    usage = TokenUsage(
        1000, 500, cached_input_tokens=600, cache_write_tokens=400, reasoning_tokens=500
    )
    assert usage.violations() == {}


def test_negative_counts_are_named() -> None:
    problems = TokenUsage(-1, 5, reasoning_tokens=-2).violations()
    assert set(problems) == {"input_tokens", "reasoning_tokens"}
    assert "negative" in problems["input_tokens"]


def test_cache_tokens_exceeding_input_name_both_fields() -> None:
    problems = TokenUsage(100, 0, cached_input_tokens=80, cache_write_tokens=21).violations()
    assert set(problems) == {"cached_input_tokens", "cache_write_tokens"}
    assert "cached_input_tokens" in problems["cached_input_tokens"]
    assert "cache_write_tokens" in problems["cache_write_tokens"]


def test_cache_writes_alone_exceeding_input_name_only_cache_write_tokens() -> None:
    problems = TokenUsage(100, 0, cache_write_tokens=101).violations()
    assert set(problems) == {"cache_write_tokens"}


def test_reasoning_exceeding_output_is_named() -> None:
    problems = TokenUsage(10, 5, reasoning_tokens=6).violations()
    assert set(problems) == {"reasoning_tokens"}
    assert "output_tokens" in problems["reasoning_tokens"]
