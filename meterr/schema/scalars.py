"""Scalars written in the wire format: a DateTime goes out as every other door writes an
instant, RFC 3339 in UTC with a Z, and a Decimal as an exact string in plain notation."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal

from strawberry.schema.types.base_scalars import DateTimeDefinition, DecimalDefinition
from strawberry.types.scalar import ScalarDefinition

from meterr import wire

__all__ = ["SCALAR_OVERRIDES"]

_INSTANT = dataclasses.replace(
    DateTimeDefinition,
    description="An instant: RFC 3339 in UTC with a Z (any offset is accepted as input).",
    serialize=wire.instant,
)

_DECIMAL = dataclasses.replace(
    DecimalDefinition,
    description='An exact decimal number, written as a string in plain notation ("0.0000025", '
    'never "2.5E-6"). As input a string or a JSON number; a string keeps every digit.',
    serialize=wire.exact,
)

SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {datetime: _INSTANT, Decimal: _DECIMAL}
