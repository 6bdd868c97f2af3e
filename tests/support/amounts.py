"""Amounts worked out by hand: nano-dollar rounding as Meterr stores costs, and the points of
a usage series."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from tests.conftest import json_usd

__all__ = ["MICRO", "NANO", "gpt4_point", "nano_round", "zero_point"]

NANO = Decimal("0.000000001")
MICRO = Decimal("0.000001")


def nano_round(amount: Decimal) -> Decimal:
    return amount.quantize(NANO, rounding=ROUND_HALF_EVEN)


def zero_point(start: str) -> dict[str, Any]:
    """A point of a REST usage series with no usage."""
    return {
        "start": start,
        "requests": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "tokens": 0,
        "cost": 0.0,
        "unpriced_requests": 0,
    }


def gpt4_point(start: str, requests: int, input_tokens: int) -> dict[str, Any]:
    """gpt-4 input-only usage: 30 USD per million input tokens."""
    return {
        **zero_point(start),
        "requests": requests,
        "input_tokens": input_tokens,
        "tokens": input_tokens,
        "cost": json_usd(Decimal(input_tokens) * 30 / 1_000_000),
    }
