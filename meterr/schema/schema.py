"""The schema, assembled in one place."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ValidationCache
from strawberry.types import ExecutionContext

from meterr.schema.answers import AnswerSourceExtension
from meterr.schema.documents import BoundedParser
from meterr.schema.errors import MeterrErrorExtension
from meterr.schema.live import LiveExecutionContext
from meterr.schema.notifications import NOTIFICATION_KINDS
from meterr.schema.operations import Mutation, Query
from meterr.schema.scalars import SCALAR_OVERRIDES
from meterr.schema.subscriptions import Subscription

__all__ = ["build_schema"]


class _Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Logged by MeterrErrorExtension, which logs what was unexpected (with its request
        id) and nothing a client did wrong: Strawberry would log every error, a refused
        document's whole line of source included."""


def build_schema() -> strawberry.Schema:
    return _Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        execution_context_class=LiveExecutionContext,
        scalar_overrides=SCALAR_OVERRIDES,
        types=NOTIFICATION_KINDS,
        extensions=[
            MeterrErrorExtension,
            AnswerSourceExtension,
            BoundedParser,
            lambda: ValidationCache(maxsize=512),
        ],
    )
