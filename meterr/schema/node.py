"""The interface of the objects `node(id:)` finds again by their id alone."""

from __future__ import annotations

import strawberry

__all__ = ["Node"]


@strawberry.interface(
    description="An object with an id of its own kind (team_, bud_, evt_, whk_, conn_), which "
    "node(id:) finds again."
)
class Node:
    id: strawberry.ID
