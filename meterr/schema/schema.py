"""The schema, assembled in one place."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache

from meterr.schema.answers import AnswerSourceExtension
from meterr.schema.errors import MeterrErrorExtension
from meterr.schema.live import LiveExecutionContext
from meterr.schema.operations import Mutation, Query
from meterr.schema.subscriptions import Subscription

__all__ = ["build_schema"]


class _ParserCache(ParserCache):
    """ParserCache that leaves a syntax error to Strawberry's own parsing step.

    ParserCache raises it from its hook, outside the operation, where MeterrErrorExtension
    never sees it: the error would reach the client without extensions.code.
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        # On a syntax error Strawberry parses again and reports it as a pre-execution error.
        with contextlib.suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        yield


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        execution_context_class=LiveExecutionContext,
        extensions=[
            MeterrErrorExtension,
            AnswerSourceExtension,
            lambda: _ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
        ],
    )
