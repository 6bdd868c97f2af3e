"""Scalars written in the wire format: a DateTime goes out as every other door writes an
instant, RFC 3339 in UTC with a Z."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

from meterr import wire

__all__ = ["SCALAR_OVERRIDES"]

_INSTANT = dataclasses.replace(
    DateTimeDefinition,
    description="An instant: RFC 3339 in UTC with a Z (any offset is accepted as input).",
    serialize=wire.instant,
)

SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {datetime: _INSTANT}
