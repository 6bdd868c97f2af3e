"""Scalars written in the wire format: a DateTime goes out as every other door writes an
instant, RFC 3339 in UTC with a Z, and a Decimal as an exact string in plain notation. A range's
bound and a time zone are scalars of their own, refused as variables when they cannot be one."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import NewType

from strawberry.schema.types.base_scalars import (
    DateTimeDefinition,
    DecimalDefinition,
    wrap_parser,
)
from strawberry.types.scalar import ScalarDefinition

from meterr import resolvers, wire

__all__ = ["SCALAR_OVERRIDES", "TimeBound", "TimeZone"]

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


def _checked(check: Callable[[str], object]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        check(value)
        return value

    return parse


TimeBound = NewType("TimeBound", str)
TimeZone = NewType("TimeZone", str)

_TIME_BOUND = ScalarDefinition(
    name="TimeBound",
    description="One end of a range: a day, YYYY-MM-DD (whole days in the range's zone, both "
    "ends included), or an RFC 3339 time; from 1970 to 2199.",
    specified_by_url=None,
    serialize=str,
    parse_value=wrap_parser(_checked(resolvers.check_bound), "TimeBound"),
    parse_literal=None,
    origin=TimeBound,
)

_TIME_ZONE = ScalarDefinition(
    name="TimeZone",
    description="An IANA time zone name, such as Europe/Paris or Asia/Kolkata.",
    specified_by_url=None,
    serialize=str,
    parse_value=wrap_parser(_checked(resolvers.zone_named), "TimeZone"),
    parse_literal=None,
    origin=TimeZone,
)

SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {
    datetime: _INSTANT,
    Decimal: _DECIMAL,
    TimeBound: _TIME_BOUND,
    TimeZone: _TIME_ZONE,
}
