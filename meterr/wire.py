"""The public wire format: how money, instants and days read in every answer Meterr gives,
whichever way it goes out (REST, GraphQL, webhooks, live feeds, the CLI). One rule each:

- USD is a JSON number rounded half-even to six decimals (micro-dollars), taken from the exact
  Decimal, never from a float: $0.0000025 reads 0.000002 everywhere. Where the exact amount
  is wanted, it is a decimal string in plain notation ("0.0000025", never "2.5E-6").
- An instant is RFC 3339 in UTC with a `Z`, to the microsecond the store kept.
- A day is YYYY-MM-DD.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

__all__ = [
    "amount",
    "day",
    "estimated_usd",
    "exact",
    "exact_amount",
    "exact_usd",
    "fraction",
    "instant",
    "usd",
]

_MICRO = Decimal("0.000001")


def usd(value: Decimal) -> float:
    """USD as a JSON number: rounded half-even to six decimals."""
    return float(value.quantize(_MICRO, rounding=ROUND_HALF_EVEN))


def exact(value: Decimal) -> str:
    """A decimal exactly, as a string in plain notation without trailing zeros ("0.00825",
    "1000000"; never "1E+6" nor "0.008250000")."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def estimated_usd(value: float) -> Decimal:
    """A USD estimate (a forecast's float) to the six decimals it is given to: rounded
    half-even from its shortest decimal form, so REST and GraphQL read the same."""
    return Decimal(repr(value)).quantize(_MICRO, rounding=ROUND_HALF_EVEN)


def exact_usd(value: Decimal) -> str:
    """USD exactly, as a decimal string in plain notation."""
    return exact(value)


def amount(value: Decimal | int) -> float | int:
    """An amount in a budget's unit: USD (a Decimal) as `usd`, tokens as they are."""
    return usd(value) if isinstance(value, Decimal) else value


def exact_amount(value: Decimal | int) -> str:
    """An amount in a budget's unit exactly: USD as a decimal string, tokens as digits."""
    return exact(value) if isinstance(value, Decimal) else str(value)


def fraction(value: float | None) -> float | None:
    """A share or a percentage as a fraction (0.085 is 8.5%), to four decimals."""
    return None if value is None else round(value, 4)


def instant(moment: datetime) -> str:
    """RFC 3339 in UTC, with a Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def day(value: date) -> str:
    return value.isoformat()
