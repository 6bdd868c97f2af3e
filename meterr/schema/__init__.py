"""The GraphQL door: Strawberry types and operations over the shared resolvers."""

from __future__ import annotations

from meterr.schema.schema import build_schema
from meterr.schema.view import MeterrGraphQL

__all__ = ["MeterrGraphQL", "build_schema"]
