"""Exact USD amounts and their integer nano-dollar representation."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal

NANO_PER_USD: int = 1_000_000_000

# One nano-dollar: the resolution at which every cost is stored and summed.
NANO_QUANTUM = Decimal("0.000000001")

# Token counts times per-million rates never come near 50 significant digits,
# so arithmetic at this precision is exact.
EXACT_PRECISION = 50


_EXACT_HALF_EVEN = Context(prec=EXACT_PRECISION, rounding=ROUND_HALF_EVEN)


def _context_for(amount: Decimal) -> Context:
    # Digits before the point plus nine after, so quantizing never runs out of precision.
    needed = amount.adjusted() + 11
    if needed <= EXACT_PRECISION:
        return _EXACT_HALF_EVEN
    return Context(prec=needed, rounding=ROUND_HALF_EVEN)


def quantize_usd(amount: Decimal) -> Decimal:
    """Round a USD amount to whole nano-dollars, half to even."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"amount must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite():
        raise ValueError(f"amount must be finite, got {amount}")
    return amount.quantize(NANO_QUANTUM, context=_context_for(amount))


def usd_to_nano(amount: Decimal) -> int:
    """Convert USD to an integer count of nano-dollars, rounding half to even."""
    quantized = quantize_usd(amount)
    return int(quantized.scaleb(9, context=_context_for(quantized)))


def nano_to_usd(nano: int) -> Decimal:
    """Convert an integer count of nano-dollars to an exact USD Decimal."""
    if isinstance(nano, bool) or not isinstance(nano, int):
        raise TypeError(f"nano must be an int, not {type(nano).__name__}")
    # Building from a string keeps every digit: no context rounding applies.
    return Decimal(f"{nano}E-9")
