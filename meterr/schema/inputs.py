"""GraphQL inputs; they are validated by the same models as REST bodies, in resolvers/."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON
from strawberry.types.base import get_object_definition

__all__ = [
    "PriceOverrideInput",
    "RepriceEventsInput",
    "TrackUsageInput",
    "UsageFilterInput",
    "as_body",
]


@strawberry.input(description="One usage event; token conventions as in POST /v1/track.")
class TrackUsageInput:
    provider: str
    model: str
    input_tokens: int
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    endpoint: str | None = None
    metadata: JSON | None = None
    timestamp: str | None = strawberry.field(default=None, description="RFC 3339")
    team_id: str | None = None
    user_id: str | None = None
    event_id: str | None = None
    reservation_id: str | None = strawberry.field(
        default=None, description="The reservation this call's usage settles."
    )


@strawberry.input
class UsageFilterInput:
    providers: list[str] | None = None
    models: list[str] | None = None
    team_ids: list[str] | None = None
    user_ids: list[str] | None = None


@strawberry.input(description="A negotiated price, USD per 1M tokens.")
class PriceOverrideInput:
    provider: str
    model: str
    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    cache_write: Decimal | None = None
    reasoning: Decimal | None = None
    effective_from: datetime | None = None
    note: str | None = None
    reprice_unpriced: bool = True


@strawberry.input
class RepriceEventsInput:
    start_date: str | None = None
    end_date: str | None = None
    provider: str | None = None
    model: str | None = None
    unpriced_only: bool = False
    dry_run: bool = True


def as_body(value: object) -> dict[str, Any]:
    """An input as the body the shared validation expects. Fields left out are left out; a
    null is kept where the input's default is UNSET (changes, where null clears a field),
    and left out where the default is null (the field takes the validation's default)."""
    body: dict[str, Any] = {}
    for name, field_value in vars(value).items():
        if field_value is UNSET or (field_value is None and _defaults_to_null(value, name)):
            continue
        if isinstance(field_value, datetime):
            field_value = field_value.isoformat()
        body[name] = field_value
    return body


def _defaults_to_null(value: object, name: str) -> bool:
    definition = get_object_definition(value, strict=True)
    field = next(f for f in definition.fields if f.python_name == name)
    return field.default is None
