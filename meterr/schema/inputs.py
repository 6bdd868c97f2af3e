"""GraphQL inputs, derived from the models that validate REST bodies (resolvers/): the same
fields, defaults and rules; and an input as the model its resolver takes."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, TypeVar

import strawberry
from pydantic import BaseModel, Field, create_model
from strawberry import UNSET
from strawberry.experimental.pydantic import input as derived_input
from strawberry.scalars import JSON
from strawberry.types.base import get_object_definition

from meterr import resolvers
from meterr.schema.scalars import TimeBound

__all__ = [
    "PriceOverrideInput",
    "RepriceEventsInput",
    "TrackUsageInput",
    "UsageFilterInput",
    "as_body",
    "changes_given",
    "changes_of",
    "validated",
]

M = TypeVar("M", bound=BaseModel)


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
    start_date: TimeBound | None = None
    end_date: TimeBound | None = None


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


def changes_of(model: type[BaseModel]) -> type[BaseModel]:
    """The fields of `model` as a change names them, to derive a GraphQL input from: each
    optional and unset unless given, so that a null given (which clears a field) is told
    from a field left out."""
    fields: dict[str, Any] = {
        name: (
            _optional(field.annotation),
            Field(default_factory=_unset, description=field.description),
        )
        for name, field in model.model_fields.items()
    }
    return create_model(f"{model.__name__}Changes", **fields)


def _optional(annotation: Any) -> Any:
    return annotation | None


def _unset() -> Any:
    return UNSET


def validated(
    ctx: resolvers.RequestContext, model: type[M], value: object, *, needs: resolvers.KeyOperation
) -> M:
    """An input as the model its resolver takes, validated once. As over REST, a key that
    may not do what the mutation does is refused before its input is judged."""
    ctx.principal.require(needs)
    return resolvers.validate_model(model, as_body(value))


def changes_given(
    ctx: resolvers.RequestContext, model: type[M], value: object, *, needs: resolvers.KeyOperation
) -> resolvers.Changes[M]:
    """An input of changes as its resolver takes them: the fields given, a null included."""
    ctx.principal.require(needs)
    return resolvers.Changes(model, as_body(value))
