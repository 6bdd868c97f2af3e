"""Which metadata keys an organization's cost questions may group by from rollups."""

from __future__ import annotations

from dataclasses import dataclass

from meterr.auth import Operation
from meterr.resolvers.context import RequestContext
from meterr.store import (
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_CHARS,
    MAX_METADATA_VALUES,
    KeyState,
)

__all__ = ["METADATA_LIMITS", "LearnedKey", "LearnedKeys", "learned_metadata_keys"]

METADATA_LIMITS = {
    "keys": MAX_METADATA_KEYS,
    "values": MAX_METADATA_VALUES,
    "value_chars": MAX_METADATA_VALUE_CHARS,
}


@dataclass(frozen=True, slots=True)
class LearnedKey:
    """A metadata key seen in the organization's events: `rolled_up` when grouping by it
    reads its rollups; `values` it has shown while rolled up."""

    key: str
    state: KeyState
    rolled_up: bool
    values: int


@dataclass(frozen=True, slots=True)
class LearnedKeys:
    """The keys in the order they were learned; `complete` is false while the rollups do
    not hold the organization's earliest events (until `meterr rollups rebuild`)."""

    keys: list[LearnedKey]
    complete: bool


async def learned_metadata_keys(ctx: RequestContext) -> LearnedKeys:
    ctx.principal.require(Operation.READ)
    keys, counts = await ctx.store.metadata_keys.described(ctx.org_id)
    return LearnedKeys(
        [
            LearnedKey(name, state, keys.rolled(name), counts.get(name, 0))
            for name, state in keys.states.items()
        ],
        keys.complete,
    )
