"""Validated inputs shared by both doors: one model per kind of request body."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from meterr.domain import SCOPE_FIELDS, BudgetAction, BudgetPeriod, BudgetUnit
from meterr.errors import InvalidInput
from meterr.strict_json import metadata_problem

__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_ESTIMATED_COST",
    "MAX_METADATA_BYTES",
    "MAX_TOKENS",
    "BudgetInput",
    "CallScopeInput",
    "PriceOverrideInput",
    "RepriceInput",
    "ReservationInput",
    "TrackBatchInput",
    "TrackEventInput",
    "fields_refused",
    "invalid_input_from",
    "parse_rfc3339",
    "validate_model",
    "within_bounds",
    "zone_named",
]

MAX_TOKENS = 1_000_000_000
MAX_METADATA_BYTES = 16 * 1024
MAX_ESTIMATED_COST = Decimal(10**9)  # USD a single call may be expected to cost
# Spend is kept in nano-dollars, 64-bit integers: a billion dollars leaves room for the sums.
MAX_USD_LIMIT = 10**9

M = TypeVar("M", bound=BaseModel)

TokenCount = Annotated[StrictInt, Field(ge=0, le=MAX_TOKENS)]
Identifier = Annotated[str, Field(min_length=1, max_length=256)]
UsdPerMillion = Annotated[Decimal, Field(ge=0, le=1_000_000, decimal_places=9, allow_inf_nan=False)]


# The instants Meterr accepts anywhere: wide enough for any usage and any price, narrow
# enough that a period around them (a day before, a year after) is still a datetime.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def within_bounds(moment: datetime, *, field: str) -> datetime:
    """The instant, if it lies in [EARLIEST, LATEST)."""
    if not EARLIEST <= moment < LATEST:
        raise ValueError(
            f"{field} must lie between {EARLIEST.year} and {LATEST.year - 1}, "
            f"not {moment.isoformat()}"
        )
    return moment


def parse_rfc3339(value: object, *, field: str) -> datetime:
    """An RFC 3339 instant with an explicit offset, converted to UTC."""
    if not isinstance(value, str):
        raise ValueError(f"{field} must be an RFC 3339 string such as 2025-08-01T12:00:00Z")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{field} '{value}' is not an RFC 3339 time such as 2025-08-01T12:00:00Z"
        ) from None
    if parsed.tzinfo is None or "T" not in value.upper():
        raise ValueError(f"{field} '{value}' must include a time and a UTC offset (e.g. Z)")
    try:
        return within_bounds(parsed.astimezone(UTC), field=field)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first representable instant
        raise ValueError(
            f"{field} must lie between {EARLIEST.year} and {LATEST.year - 1}, not {value}"
        ) from None


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone of that name. Only names of zones: a folder of the database
    (`America`, `Etc`) or a path is not one."""
    if name not in _zone_names():
        raise ValueError(f"unknown time zone '{name}': use an IANA name such as Europe/Paris")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone '{name}': use an IANA name such as Europe/Paris"
        ) from None


def fields_refused(model: BaseModel, summary: str, reasons: Mapping[str, str]) -> ValidationError:
    """A rule across a model's fields broken, as the error a field's own rule gives: raised in
    a model validator, it names each field at fault with its reason, and `summary` becomes
    the refusal's message (see `invalid_input_from`)."""
    return ValidationError.from_exception_data(
        type(model).__name__,
        [
            InitErrorDetails(
                type=PydanticCustomError("fields_refused", reason, {"summary": summary}),
                loc=(name,),
                input=getattr(model, name),
            )
            for name, reason in reasons.items()
        ],
    )


class TrackEventInput(BaseModel):
    """One usage event as a client reports it."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    provider: Annotated[str, Field(min_length=1, max_length=64)]
    model: Annotated[str, Field(min_length=1, max_length=256)]
    input_tokens: TokenCount
    output_tokens: TokenCount = 0
    cached_input_tokens: TokenCount = 0
    cache_write_tokens: TokenCount = 0
    reasoning_tokens: TokenCount = 0
    endpoint: Annotated[str, Field(max_length=1024)] | None = None
    metadata: dict[str, Any] | None = None
    timestamp: datetime | None = None
    team_id: Identifier | None = None
    user_id: Identifier | None = None
    event_id: Identifier | None = None
    reservation_id: Identifier | None = None

    @field_validator("timestamp", mode="before")
    @classmethod
    def _timestamp_is_rfc3339(cls, value: object) -> datetime | None:
        if value is None:
            return None
        return parse_rfc3339(value, field="timestamp")

    @field_validator("metadata")
    @classmethod
    def _metadata_is_storable(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            # The shape first: the size is measured by encoding, which must not meet a value
            # it cannot encode or nesting deeper than it follows.
            if (problem := metadata_problem(value)) is not None:
                path, reason = problem
                raise ValueError(f"{path}: {reason}")
            size = len(json.dumps(value, separators=(",", ":")).encode())
            if size > MAX_METADATA_BYTES:
                raise ValueError(f"metadata is {size} bytes; at most {MAX_METADATA_BYTES} allowed")
        return value


class TrackBatchInput(BaseModel):
    """Several events in one request (at most max_batch_events, 1,000 unless configured):
    stored all or none."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    events: Annotated[list[TrackEventInput], Field(min_length=1)]


class PriceOverrideInput(BaseModel):
    """A negotiated price, USD per million tokens, in force from effective_from on."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    provider: Annotated[str, Field(min_length=1, max_length=64)]
    model: Annotated[str, Field(min_length=1, max_length=256)]
    input: UsdPerMillion
    output: UsdPerMillion
    cached_input: UsdPerMillion | None = None
    cache_write: UsdPerMillion | None = None
    reasoning: UsdPerMillion | None = None
    effective_from: datetime | None = None
    note: Annotated[str, Field(max_length=500)] | None = None
    reprice_unpriced: bool = True

    @field_validator("effective_from", mode="before")
    @classmethod
    def _effective_from(cls, value: object) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str) and len(value) == 10:
            value = f"{value}T00:00:00Z"
        return parse_rfc3339(value, field="effective_from")


class CallScopeInput(BaseModel):
    """Who makes a call and with what: the budgets it falls under follow from it."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    team_id: Identifier | None = None
    user_id: Identifier | None = None
    provider: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    model: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    api_key_id: Identifier | None = None


class ReservationInput(CallScopeInput):
    """A call about to be made: its scope and what it may cost (USD, for USD budgets) or
    use (tokens, for token budgets)."""

    estimated_cost: (
        Annotated[
            Decimal,
            Field(ge=0, le=MAX_ESTIMATED_COST, decimal_places=9, allow_inf_nan=False),
        ]
        | None
    ) = None
    estimated_tokens: Annotated[StrictInt, Field(ge=0, le=MAX_TOKENS)] | None = None
    ttl_seconds: Annotated[StrictInt, Field(ge=1, le=86_400)] = 600

    @model_validator(mode="after")
    def _an_estimate(self) -> Self:
        if self.estimated_cost is None and self.estimated_tokens is None:
            raise fields_refused(
                self,
                "A reservation needs estimated_cost (USD) or estimated_tokens.",
                {"estimated_cost": "required without estimated_tokens"},
            )
        return self


class RepriceInput(BaseModel):
    """Which stored events to price again with the prices in force now."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_date: str | None = None
    end_date: str | None = None
    provider: str | None = None
    model: str | None = None
    unpriced_only: bool = False
    dry_run: bool = True


class BudgetInput(BaseModel):
    """A budget as clients create it; a PATCH is merged into the stored one and checked
    again as a whole, rules across fields (one scope, a limit its unit can hold) included."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=200)]
    limit: Annotated[Decimal, Field(gt=0, le=10**15, decimal_places=9, allow_inf_nan=False)]
    unit: BudgetUnit = BudgetUnit.USD
    period: BudgetPeriod = BudgetPeriod.MONTH
    thresholds: Annotated[
        list[Annotated[StrictInt, Field(ge=1, le=1000)]], Field(max_length=20)
    ] = Field(default_factory=lambda: [50, 80, 100])
    action: BudgetAction = BudgetAction.ALERT
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = "UTC"
    team_id: Identifier | None = None
    user_id: Identifier | None = None
    provider: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    model: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    api_key_id: Identifier | None = None

    @field_validator("thresholds")
    @classmethod
    def _distinct_thresholds(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("thresholds must not repeat")
        return sorted(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone_named(value)
        return value

    @model_validator(mode="after")
    def _one_scope_and_a_limit_in_its_unit(self) -> Self:
        scoped = [name for name in SCOPE_FIELDS if getattr(self, name) is not None]
        if len(scoped) > 1:
            raise fields_refused(
                self,
                f"A budget is scoped by at most one of {', '.join(SCOPE_FIELDS)}; "
                f"this one names {', '.join(scoped)}.",
                dict.fromkeys(scoped, "only one scope field may be given"),
            )
        if self.unit is BudgetUnit.USD and self.limit > MAX_USD_LIMIT:
            raise fields_refused(
                self,
                f"A USD limit is at most {MAX_USD_LIMIT:,} USD.",
                {"limit": f"at most {MAX_USD_LIMIT} USD"},
            )
        if self.unit is BudgetUnit.TOKENS and self.limit != self.limit.to_integral_value():
            raise fields_refused(
                self,
                "A token limit must be a whole number.",
                {"limit": "must be a whole number of tokens"},
            )
        return self


_MESSAGES = {
    "extra_forbidden": "unknown field",
    "missing": "required",
}


def _location(prefix: str, loc: Sequence[int | str]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def invalid_input_from(error: ValidationError, *, prefix: str = "") -> InvalidInput:
    """One InvalidInput naming every offending field; a rule across fields that alone
    refused the input (`fields_refused`) gives its own message."""
    fields: dict[str, str] = {}
    summaries: set[str | None] = set()
    for item in error.errors(include_url=False):
        loc = [part for part in item["loc"] if part not in ("function-after", "function-before")]
        message = _MESSAGES.get(item["type"], item["msg"].removeprefix("Value error, "))
        fields.setdefault(_location(prefix, loc), message)
        summaries.add(item.get("ctx", {}).get("summary"))
    summary = summaries.pop() if len(summaries) == 1 else None
    return InvalidInput(summary or f"Invalid input: {', '.join(fields)}.", {"fields": fields})


def validate_model(model: type[M], data: object, *, prefix: str = "") -> M:
    if not isinstance(data, Mapping):
        raise InvalidInput(
            f"Expected a JSON object{f' at {prefix}' if prefix else ''}.",
            {"fields": {prefix or "body": "must be an object"}},
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_input_from(exc, prefix=prefix) from None
