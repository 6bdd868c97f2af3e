"""The schema, assembled in one place."""

from __future__ import annotations

import strawberry
from strawberry.extensions import ParserCache, ValidationCache

from meterr.schema.errors import MeterrErrorExtension
from meterr.schema.operations import Mutation, Query

__all__ = ["build_schema"]


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=[
            MeterrErrorExtension,
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
        ],
    )
