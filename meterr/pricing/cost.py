"""Cost of one event, split by token kind, exact to the nano-dollar."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow

from meterr.pricing.money import EXACT_PRECISION, nano_to_usd, quantize_usd, usd_to_nano
from meterr.pricing.prices import ModelPrice
from meterr.pricing.usage import TokenUsage

_TOKENS_PER_RATE_UNIT = 1_000_000
_COMPONENTS = ("input", "cache_read", "cache_write", "output", "reasoning")


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """USD cost per token kind, each already rounded to whole nano-dollars."""

    input: Decimal
    cache_read: Decimal
    cache_write: Decimal
    output: Decimal
    reasoning: Decimal

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, Decimal):
                raise TypeError(f"{field.name} must be a Decimal, not {type(value).__name__}")
            # Components are summed and stored as nano-dollars; finer digits would be lost.
            if not value.is_finite() or quantize_usd(value) != value:
                raise ValueError(f"{field.name} must be a whole number of nano-dollars: {value}")

    @property
    def total(self) -> Decimal:
        """Exact sum of the components."""
        return self.input + self.cache_read + self.cache_write + self.output + self.reasoning

    @property
    def total_nano(self) -> int:
        """The total as an integer count of nano-dollars."""
        return usd_to_nano(self.total)

    def to_nano(self) -> dict[str, int]:
        """Components as integer nano-dollars, keyed by component name."""
        return {name: usd_to_nano(getattr(self, name)) for name in _COMPONENTS}

    @classmethod
    def from_nano(cls, nano: Mapping[str, int]) -> CostBreakdown:
        """Rebuild a breakdown from to_nano() output."""
        missing = [name for name in _COMPONENTS if name not in nano]
        unknown = sorted(set(nano) - set(_COMPONENTS))
        if missing or unknown:
            raise ValueError(f"nano breakdown: missing keys {missing}, unknown keys {unknown}")
        return cls(**{name: nano_to_usd(nano[name]) for name in _COMPONENTS})


# Trapping Inexact turns any loss of digits into an error instead of a wrong bill.
_EXACT = Context(prec=EXACT_PRECISION, traps=[Inexact, InvalidOperation, Overflow, DivisionByZero])


def _component(tokens: int, rate_per_million: Decimal) -> Decimal:
    amount = _EXACT.divide(
        _EXACT.multiply(Decimal(tokens), rate_per_million), _TOKENS_PER_RATE_UNIT
    )
    return quantize_usd(amount)


def compute_cost(
    usage: TokenUsage, price: ModelPrice, *, prompt_tokens: int | None = None
) -> CostBreakdown:
    """Price one event; the long-context tier applies when the prompt is long enough.
    `prompt_tokens` is the prompt size that picks the tier when it is not input_tokens
    (usage summed over many calls)."""
    problems = usage.violations()
    if problems:
        raise ValueError("invalid token usage: " + "; ".join(problems.values()))
    rates = price.rates_for(usage.input_tokens if prompt_tokens is None else prompt_tokens)
    uncached = usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens
    visible_output = usage.output_tokens - usage.reasoning_tokens
    return CostBreakdown(
        input=_component(uncached, rates.input),
        cache_read=_component(usage.cached_input_tokens, rates.effective_cached_input),
        cache_write=_component(usage.cache_write_tokens, rates.effective_cache_write),
        output=_component(visible_output, rates.output),
        reasoning=_component(usage.reasoning_tokens, rates.effective_reasoning),
    )
