"""Says, in a result's `extensions.answeredFrom`, where its cost and usage figures came from."""

from __future__ import annotations

from typing import Any

from strawberry.extensions import SchemaExtension

from meterr.schema.context import GraphQLContext

__all__ = ["AnswerSourceExtension"]


class AnswerSourceExtension(SchemaExtension):
    """`{"source": "rollups"}`, or `{"source": "events", "reasons": [...]}` when the raw
    events answered a question no rollup could (REST says the same in X-Meterr-Source)."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        if not isinstance(context, GraphQLContext) or context.authenticated is None:
            return {}
        summary = context.authenticated.answers.summary()
        return {"answeredFrom": summary} if summary is not None else {}
