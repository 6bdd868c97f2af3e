"""GraphQL inputs, derived from the models that validate REST bodies (resolvers/): the same
fields, defaults and rules."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import strawberry
from strawberry import UNSET
from strawberry.experimental.pydantic import input as derived_input
from strawberry.scalars import JSON
from strawberry.types.base import get_object_definition

from meterr import resolvers

__all__ = [
    "PriceOverrideInput",
    "RepriceEventsInput",
    "TrackUsageInput",
    "UsageFilterInput",
    "as_body",
]


@derived_input(
    model=resolvers.TrackEventInput,
    all_fields=True,
    name="TrackUsageInput",
    description="One usage event; token conventions as in POST /v1/track.",
)
class TrackUsageInput:
    metadata: JSON | None = None


@strawberry.input
class UsageFilterInput:
    providers: list[str] | None = None
    models: list[str] | None = None
    team_ids: list[str] | None = None
    user_ids: list[str] | None = None


@derived_input(
    model=resolvers.PriceOverrideInput,
    all_fields=True,
    name="PriceOverrideInput",
    description="A negotiated price, USD per 1M tokens.",
)
class PriceOverrideInput:
    pass


@derived_input(
    model=resolvers.RepriceInput,
    all_fields=True,
    name="RepriceEventsInput",
    description="Which stored events to price again with the prices in force now.",
)
class RepriceEventsInput:
    pass


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
    if field.default is dataclasses.MISSING and field.default_factory is not dataclasses.MISSING:
        return field.default_factory() is None  # fields derived from a pydantic model
    return field.default is None
