"""Cost computation: each token kind at its own rate, exact to the nano-dollar."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterr.pricing import (
    CostBreakdown,
    LongContextTier,
    ModelPrice,
    Rates,
    TokenUsage,
    compute_cost,
)

from .builders import make_price, shipped_price

NOW = datetime(2025, 11, 1, tzinfo=UTC)


def _catalogue_price(provider: str, model: str, at: datetime = NOW) -> ModelPrice:
    return shipped_price(provider, model, at)


def test_gpt4_cost_is_exact() -> None:
    cost = compute_cost(TokenUsage(1500, 500), _catalogue_price("openai", "gpt-4"))
    assert cost.input == Decimal("0.045")
    assert cost.output == Decimal("0.03")
    assert cost.total == Decimal("0.075")


def test_claude_3_opus_cost_is_exact() -> None:
    cost = compute_cost(TokenUsage(2000, 800), _catalogue_price("anthropic", "claude-3-opus"))
    assert cost.input == Decimal("0.03")
    assert cost.output == Decimal("0.06")
    assert cost.total == Decimal("0.09")


def test_each_component_is_billed_at_its_own_rate() -> None:
    rates = Rates(
        input=Decimal("1"),
        output=Decimal("100"),
        cached_input=Decimal("10"),
        cache_write=Decimal("1000"),
        reasoning=Decimal("10000"),
    )
    usage = TokenUsage(
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        cached_input_tokens=200_000,
        cache_write_tokens=300_000,
        reasoning_tokens=400_000,
    )
    cost = compute_cost(usage, make_price(rates=rates))
    assert cost == CostBreakdown(
        input=Decimal("0.5"),  # 500k uncached x $1/M
        cache_read=Decimal("2"),  # 200k x $10/M
        cache_write=Decimal("300"),  # 300k x $1000/M
        output=Decimal("60"),  # 600k visible x $100/M
        reasoning=Decimal("4000"),  # 400k x $10000/M
    )
    assert cost.total == Decimal("4362.5")


def test_missing_rates_fall_back_when_computing() -> None:
    usage = TokenUsage(1_000_000, 1_000_000, 250_000, 250_000, 500_000)
    cost = compute_cost(usage, make_price(rates=Rates(input=Decimal("4"), output=Decimal("8"))))
    assert cost.cache_read == Decimal("1")  # cache reads at the input rate
    assert cost.cache_write == Decimal("1")  # cache writes at the input rate
    assert cost.reasoning == Decimal("4")  # reasoning at the output rate
    assert cost.total == Decimal("12")  # same as pricing everything plainly


def test_openai_cached_tokens_get_the_discount() -> None:
    cost = compute_cost(
        TokenUsage(1_000_000, 0, cached_input_tokens=400_000), _catalogue_price("openai", "gpt-4o")
    )
    assert cost.input == Decimal("1.5")  # 600k x $2.50
    assert cost.cache_read == Decimal("0.5")  # 400k x $1.25


def test_anthropic_cache_write_and_read_rates() -> None:
    usage = TokenUsage(100_000, 0, cached_input_tokens=40_000, cache_write_tokens=50_000)
    cost = compute_cost(usage, _catalogue_price("anthropic", "claude-sonnet-4-5"))
    assert cost.cache_write == Decimal("0.1875")  # 50k x $3.75
    assert cost.cache_read == Decimal("0.012")  # 40k x $0.30
    assert cost.input == Decimal("0.03")  # 10k x $3


@pytest.mark.parametrize(
    ("input_tokens", "expected_input", "expected_output"),
    [
        (200_000, Decimal("0.6"), Decimal("0.015")),  # at the threshold: base $3 / $15
        (200_001, Decimal("1.200006"), Decimal("0.0225")),  # above: $6 / $22.50 for all
    ],
)
def test_sonnet_long_context_tier_switches_above_200k(
    input_tokens: int, expected_input: Decimal, expected_output: Decimal
) -> None:
    cost = compute_cost(
        TokenUsage(input_tokens, 1000), _catalogue_price("anthropic", "claude-sonnet-4")
    )
    assert cost.input == expected_input
    assert cost.output == expected_output


def test_gemini_long_context_tier_uses_tier_cache_rate() -> None:
    usage = TokenUsage(300_000, 0, cached_input_tokens=100_000)
    cost = compute_cost(usage, _catalogue_price("google", "gemini-2.5-pro"))
    assert cost.input == Decimal("0.5")  # 200k x $2.50
    assert cost.cache_read == Decimal("0.0625")  # 100k x $0.625


def test_gemini_25_flash_preview_bills_thinking_at_its_own_rate() -> None:
    usage = TokenUsage(0, 1_000_000, reasoning_tokens=600_000)
    preview = _catalogue_price("google", "gemini-2.5-flash", datetime(2025, 5, 1, tzinfo=UTC))
    ga = _catalogue_price("google", "gemini-2.5-flash")
    assert compute_cost(usage, preview).reasoning == Decimal("2.1")  # $3.50/M
    assert compute_cost(usage, preview).output == Decimal("0.24")  # 400k x $0.60
    assert compute_cost(usage, ga).reasoning == Decimal("1.5")  # billed as output, $2.50/M


def test_sub_nano_rates_round_half_even() -> None:
    price = _catalogue_price("cohere", "command-r7b")  # $0.0375/M = 37.5 nano per token
    assert compute_cost(TokenUsage(1, 0), price).input == Decimal("0.000000038")
    assert compute_cost(TokenUsage(3, 0), price).input == Decimal("0.000000112")
    assert compute_cost(TokenUsage(1_000_000, 0), price).input == Decimal("0.0375")


def test_invalid_usage_is_refused() -> None:
    with pytest.raises(ValueError, match="reasoning_tokens"):
        compute_cost(TokenUsage(10, 5, reasoning_tokens=6), make_price())


def test_breakdown_rejects_amounts_finer_than_a_nano_dollar() -> None:
    with pytest.raises(ValueError, match="cache_read"):
        CostBreakdown(
            input=Decimal("0"),
            cache_read=Decimal("0.0000000001"),
            cache_write=Decimal("0"),
            output=Decimal("0"),
            reasoning=Decimal("0"),
        )


def test_from_nano_requires_exactly_the_five_components() -> None:
    with pytest.raises(ValueError, match="reasoning"):
        CostBreakdown.from_nano({"input": 1, "cache_read": 0, "cache_write": 0, "output": 0})
    with pytest.raises(ValueError, match="extra"):
        CostBreakdown.from_nano(
            {"input": 1, "cache_read": 0, "cache_write": 0, "output": 0, "reasoning": 0, "extra": 1}
        )


_rate = st.decimals(min_value=0, max_value=1000, places=6, allow_nan=False, allow_infinity=False)


@st.composite
def _usages(draw: st.DrawFn) -> TokenUsage:
    input_tokens = draw(st.integers(0, 10**9))
    cached = draw(st.integers(0, input_tokens))
    cache_write = draw(st.integers(0, input_tokens - cached))
    output = draw(st.integers(0, 10**9))
    reasoning = draw(st.integers(0, output))
    return TokenUsage(input_tokens, output, cached, cache_write, reasoning)


@given(
    usage=_usages(),
    rates=st.builds(
        Rates,
        input=_rate,
        output=_rate,
        cached_input=st.none() | _rate,
        cache_write=st.none() | _rate,
        reasoning=st.none() | _rate,
    ),
    threshold=st.none() | st.integers(0, 10**9),
)
def test_breakdown_totals_and_nano_round_trip(
    usage: TokenUsage, rates: Rates, threshold: int | None
) -> None:
    tier = None if threshold is None else LongContextTier(threshold, rates)
    cost = compute_cost(usage, make_price(rates=rates, long_context=tier))
    parts = (cost.input, cost.cache_read, cost.cache_write, cost.output, cost.reasoning)
    assert cost.total == sum(parts, Decimal(0))
    nanos = cost.to_nano()
    assert set(nanos) == {"input", "cache_read", "cache_write", "output", "reasoning"}
    assert CostBreakdown.from_nano(nanos) == cost
    assert cost.total_nano == sum(nanos.values())
    # Rounding each part can only move it by half a nano-dollar.
    exact_input = Decimal(usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens)
    assert abs(cost.input * 10**6 - exact_input * rates.input) <= Decimal("0.0005")
