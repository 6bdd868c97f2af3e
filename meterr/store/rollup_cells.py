"""What a rollup cell is: the families of dimensions, their grains, a cell's id, and the cells
a set of events adds to. No I/O: the store's rollups, their compaction and their rebuild all
build cells here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from meterr.domain import UsageEvent, UsageFilter
from meterr.store.aggregates import TOTAL_FIELDS
from meterr.store.documents import Document, hour_of

__all__ = [
    "FAMILIES",
    "GRAINS",
    "LEADING",
    "Cells",
    "add_sums",
    "cell_key",
    "event_cells",
    "family_for",
    "leading_value",
    "period_start",
]

FAMILIES: dict[str, tuple[str, ...]] = {
    "base": ("provider", "model"),
    "team": ("team_id", "provider", "model"),
    "source": ("endpoint", "api_key_id", "provider", "model"),
    "user": ("user_id", "team_id", "provider", "model"),
}
GRAINS: dict[str, tuple[str, ...]] = {
    "base": ("hour", "day"),
    "team": ("hour", "day"),
    "source": ("hour",),
    "user": ("hour",),
}
# The dimension each family's cells are also indexed by, ahead of their time: a question
# about one team, user or key reads that one's cells only.
LEADING: dict[str, str] = {"team": "team_id", "user": "user_id", "source": "api_key_id"}

Cells = dict[str, tuple[Document, dict[str, int]]]


def family_for(fields: Iterable[str]) -> str | None:
    """The smallest family holding every field, or None when only raw events can answer."""
    wanted = set(fields)
    for name, dims in FAMILIES.items():  # ordered from fewest to most cells
        if wanted <= set(dims):
            return name
    return None


def period_start(moment: datetime, grain: str) -> datetime:
    hour = hour_of(moment)
    return hour.replace(hour=0) if grain == "day" else hour


def cell_key(org_id: str, family: str, grain: str, start: datetime, dims: Sequence[Any]) -> str:
    # A deterministic _id makes every change an upsert by primary key: the cheapest
    # write the store has, and never two documents for one cell.
    raw = json.dumps([org_id, family, grain, start.isoformat(), *dims], separators=(",", ":"))
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def event_cells(events: Iterable[UsageEvent], sign: int, into: Cells | None = None) -> Cells:
    """Events merged in memory, per cell: cell id -> (identity, sums); with `sign`=-1,
    what they take away."""
    merged: dict[tuple[Any, ...], list[int]] = {}
    for event in events:
        values = [sign * value for value in _event_totals(event)]
        starts = {grain: period_start(event.timestamp, grain) for grain in ("hour", "day")}
        for family, fields in FAMILIES.items():
            dims = tuple(getattr(event, field) for field in fields)
            for grain in GRAINS[family]:
                key = (event.org_id, family, grain, starts[grain], dims)
                sums = merged.get(key)
                if sums is None:
                    merged[key] = list(values)
                else:
                    for index, value in enumerate(values):
                        sums[index] += value
    cells: Cells = {} if into is None else into
    for (org_id, family, grain, start, dims), sums in merged.items():
        cell_id = cell_key(org_id, family, grain, start, dims)
        totals = dict(zip(TOTAL_FIELDS, sums, strict=True))
        if cell_id in cells:
            add_sums(cells[cell_id][1], totals)
            continue
        identity = {
            "org_id": org_id,
            "family": family,
            "grain": grain,
            "start": start,
            **dict(zip(FAMILIES[family], dims, strict=True)),
        }
        cells[cell_id] = (identity, totals)
    return cells


def leading_value(family: str, usage_filter: UsageFilter) -> dict[str, str]:
    """The family's leading dimension when the filter asks for one value of it."""
    field = LEADING.get(family)
    values = usage_filter.restrictions().get(field, ()) if field else ()
    return {field: values[0]} if field and len(values) == 1 else {}


def _event_totals(event: UsageEvent) -> tuple[int, ...]:
    """What one event adds to a cell, in the order of TOTAL_FIELDS."""
    tokens = event.tokens
    return (
        event.requests,
        tokens.input_tokens,
        tokens.output_tokens,
        tokens.cached_input_tokens,
        tokens.cache_write_tokens,
        tokens.reasoning_tokens,
        event.cost.total_nano if event.cost is not None else 0,
        event.requests if event.cost is None else 0,
    )


def add_sums(sums: dict[str, int], more: dict[str, int]) -> None:
    for field, value in more.items():
        sums[field] += value
