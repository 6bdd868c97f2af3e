"""Per-million-token rates and dated model price versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

PRICE_ORIGINS = ("catalogue", "override")


def _check_rate(name: str, value: Decimal | None) -> None:
    if value is None:
        return
    # Floats would silently carry binary rounding error into every bill.
    if not isinstance(value, Decimal):
        raise TypeError(f"rate {name!r} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite() or value < 0:
        raise ValueError(f"rate {name!r} must be a finite, non-negative Decimal, got {value}")


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per million tokens for each kind of token an event can bill."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    cache_write: Decimal | None = None
    reasoning: Decimal | None = None

    def __post_init__(self) -> None:
        _check_rate("input", self.input)
        _check_rate("output", self.output)
        _check_rate("cached_input", self.cached_input)
        _check_rate("cache_write", self.cache_write)
        _check_rate("reasoning", self.reasoning)

    @property
    def effective_cached_input(self) -> Decimal:
        """Rate for cache reads; without a discount they cost as much as plain input."""
        return self.input if self.cached_input is None else self.cached_input

    @property
    def effective_cache_write(self) -> Decimal:
        """Rate for cache writes; without a surcharge they cost as much as plain input."""
        return self.input if self.cache_write is None else self.cache_write

    @property
    def effective_reasoning(self) -> Decimal:
        """Rate for reasoning tokens; most providers bill them as ordinary output."""
        return self.output if self.reasoning is None else self.reasoning


@dataclass(frozen=True, slots=True)
class LongContextTier:
    """Rates that replace the base rates for the whole event once the prompt is long."""

    above_input_tokens: int
    rates: Rates

    def __post_init__(self) -> None:
        if isinstance(self.above_input_tokens, bool) or not isinstance(
            self.above_input_tokens, int
        ):
            raise TypeError("above_input_tokens must be an int")
        if self.above_input_tokens < 0:
            raise ValueError(f"above_input_tokens must be >= 0, got {self.above_input_tokens}")


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """One version of a model's list (or negotiated) price, in force from effective_from."""

    provider: str
    model: str
    effective_from: datetime
    rates: Rates
    long_context: LongContextTier | None
    source: str
    source_date: date
    origin: str

    def __post_init__(self) -> None:
        offset = self.effective_from.utcoffset()
        if offset is None:
            raise ValueError(f"{self.provider}/{self.model}: effective_from must be timezone-aware")
        if offset != timedelta(0):
            raise ValueError(f"{self.provider}/{self.model}: effective_from must be in UTC")
        if self.origin not in PRICE_ORIGINS:
            raise ValueError(
                f"{self.provider}/{self.model}: origin must be one of {PRICE_ORIGINS}, "
                f"got {self.origin!r}"
            )
        if not self.provider or not self.model:
            raise ValueError("provider and model must be non-empty")

    def rates_for(self, input_tokens: int) -> Rates:
        """Rates that apply to an event with this many input tokens."""
        tier = self.long_context
        if tier is not None and input_tokens > tier.above_input_tokens:
            return tier.rates
        return self.rates
