"""Nano-dollar conversion: exact, half-even, and lossless both ways."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterr.pricing import NANO_PER_USD, nano_to_usd, usd_to_nano


def test_one_dollar_is_a_billion_nanos() -> None:
    assert NANO_PER_USD == 1_000_000_000
    assert usd_to_nano(Decimal("1")) == 1_000_000_000


def test_nano_to_usd_is_exact() -> None:
    assert nano_to_usd(1500) == Decimal("0.0000015")
    assert nano_to_usd(-7) == Decimal("-0.000000007")
    assert nano_to_usd(10**40) == Decimal(10**31)


@pytest.mark.parametrize(
    ("amount", "nano"),
    [
        ("0.0000000025", 2),  # half rounds to even (down)
        ("0.0000000035", 4),  # half rounds to even (up)
        ("0.00000000251", 3),  # above half rounds up
        ("-0.0000000025", -2),
        ("123456789012345678901234567890.123456789", 123456789012345678901234567890123456789),
    ],
)
def test_usd_to_nano_rounds_half_even_without_losing_digits(amount: str, nano: int) -> None:
    assert usd_to_nano(Decimal(amount)) == nano


def test_usd_to_nano_rejects_floats_and_non_finite() -> None:
    with pytest.raises(TypeError):
        usd_to_nano(0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        usd_to_nano(Decimal("NaN"))
    with pytest.raises(TypeError):
        nano_to_usd(1.5)  # type: ignore[arg-type]


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_nano_round_trip(nano: int) -> None:
    assert usd_to_nano(nano_to_usd(nano)) == nano


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=9, max_value=10**12, min_value=-(10**12)
    )
)
def test_usd_round_trip_at_nano_resolution(amount: Decimal) -> None:
    assert nano_to_usd(usd_to_nano(amount)) == amount
