"""Two doors onto one Meterr: the same calls over REST (/v1) and over GraphQL (/graphql), each
answered in one neutral shape, so that a test runs its case through both and asserts the same
numbers and the same error codes."""

from __future__ import annotations

from tests.support.doors.answers import Answer, Door, JsonObject, Query
from tests.support.doors.graphql import GraphQLDoor
from tests.support.doors.rest import RestDoor

__all__ = ["DOORS", "Answer", "Door", "GraphQLDoor", "Query", "RestDoor", "costs_through"]

DOORS: dict[str, type[RestDoor] | type[GraphQLDoor]] = {"rest": RestDoor, "graphql": GraphQLDoor}


async def costs_through(door: Door, key: str, **query: Query) -> JsonObject:
    """The groups a costs query that must succeed answers through `door`."""
    groups: JsonObject = (await door.costs(key, **query)).value()
    return groups
