"""GraphQL inputs; they are validated by the same models as REST bodies, in resolvers/."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.scalars import JSON

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
    """An input as the body the shared validation expects, unset fields left out."""
    body: dict[str, Any] = {}
    for name, field_value in vars(value).items():
        if field_value is None:
            continue
        if isinstance(field_value, datetime):
            field_value = field_value.isoformat()
        body[name] = field_value
    return body
