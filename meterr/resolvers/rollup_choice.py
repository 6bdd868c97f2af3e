"""Which rollup family and cells answer a usage question, or why only the raw events can."""

from __future__ import annotations

from datetime import timedelta

from meterr.resolvers.context import RequestContext
from meterr.resolvers.timerange import TimeRange
from meterr.store import (
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_CHARS,
    MAX_METADATA_VALUES,
    KeyState,
    family_for,
)

__all__ = ["PARTIAL_HOURS", "ZONE_OFFSET", "coarsest_cells", "rollup_family"]


def coarsest_cells(time_range: TimeRange, *, bucketed: bool, day_buckets: bool) -> str:
    """The coarsest cells that serve the question: totals take any, time buckets no coarser
    than their own."""
    if not bucketed:
        return "month"
    if day_buckets and time_range.zone_offsets_divide(timedelta(days=1)):
        return "day"
    return "hour"


PARTIAL_HOURS = ("partial_hours", "the range holds no whole UTC hour, and no cell is smaller")
ZONE_OFFSET = (
    "zone_offset",
    "the time zone's offset is not a whole number of hours, so its buckets are not whole UTC hours",
)


async def rollup_family(
    ctx: RequestContext, fields: set[str]
) -> tuple[str | None, tuple[str, str] | None]:
    """The rollup family that holds `fields`, or why none does (a reason code and its
    explanation)."""
    keys = [field.removeprefix("metadata.") for field in fields if field.startswith("metadata.")]
    if not keys:
        family = family_for(fields)
        if family is not None:
            return family, None
        return None, ("dimensions", f"no rollup holds {', '.join(sorted(fields))} together")
    learned = await ctx.store.metadata_keys.of(ctx.org_id)
    family = family_for(fields, learned.rolled)
    if family is not None:
        return family, None
    [key] = keys
    state = learned.states.get(key)
    if not learned.complete:
        return None, (
            "metadata_incomplete",
            "this organization's metadata rollups do not hold its earliest events yet "
            "(`meterr rollups rebuild` fills them)",
        )
    if state is KeyState.TOO_MANY_VALUES:
        return None, (
            "metadata_values",
            f"metadata key '{key}' has more than {MAX_METADATA_VALUES} values, "
            "so it is not rolled up",
        )
    if state is KeyState.UNSUITABLE:
        return None, (
            "metadata_unsuitable",
            f"metadata key '{key}' has values other than strings of at most "
            f"{MAX_METADATA_VALUE_CHARS} characters, numbers and booleans, so it is not rolled up",
        )
    if state is None:
        return None, (
            "metadata_keys",
            f"this organization's rollups hold {MAX_METADATA_KEYS} metadata keys already, "
            f"and '{key}' is not one of them",
        )
    others = ", ".join(sorted(field for field in fields if not field.startswith("metadata.")))
    return None, (
        "metadata_filter",
        f"metadata rollups keep team, provider and model only, not {others}",
    )
