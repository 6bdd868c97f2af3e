"""What a rollup cell is: the families of dimensions, their grains, a cell's id, and the cells
a set of events adds to. No I/O: the store's rollups, their compaction and their rebuild all
build cells here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from meterr.domain import UsageEvent, UsageFilter
from meterr.store.aggregates import TOTAL_FIELDS
from meterr.store.documents import Document, hour_of

__all__ = [
    "FAMILIES",
    "GRAINS",
    "GRAIN_ORDER",
    "LEADING",
    "METADATA_DIMS",
    "Cells",
    "MetadataOf",
    "add_sums",
    "cell_identity",
    "cell_key",
    "event_cells",
    "family_for",
    "grains_of",
    "leading_values",
    "metadata_family",
    "period_start",
    "spans",
]

FAMILIES: dict[str, tuple[str, ...]] = {
    "base": ("provider", "model"),
    "team": ("team_id", "provider", "model"),
    "source": ("endpoint", "api_key_id", "provider", "model"),
    "user": ("user_id", "team_id", "provider", "model"),
}
# From finest to coarsest. A question reads whole months from month cells, whole days left at
# its edges from day cells and the hours left from hour cells, so a month's question reads one
# cell per combination of values however many events the month holds.
GRAINS: dict[str, tuple[str, ...]] = {
    "base": ("hour", "day", "month"),
    "team": ("hour", "day", "month"),
    "source": ("hour", "month"),
    "user": ("hour", "day", "month"),
}
GRAIN_ORDER = ("hour", "day", "month")
_METADATA_GRAINS = GRAIN_ORDER
# The dimension each family's cells are also indexed by, ahead of their time: a question
# about one team, user or key reads that one's cells only.
LEADING: dict[str, str] = {"team": "team_id", "user": "user_id", "source": "api_key_id"}
# Beside its value, what a metadata key's cells keep: the team family's dimensions, so that
# the events without the key are the team family's totals less the key's cells.
METADATA_DIMS = FAMILIES["team"]
_METADATA = "metadata."

Cells = dict[str, tuple[Document, dict[str, int]]]
# The (key, value) pairs of an event whose metadata cells are kept.
MetadataOf = Callable[[UsageEvent], Iterable[tuple[str, Any]]]


def metadata_family(key: str) -> str:
    """The family of a metadata key's cells (named like the field it groups by)."""
    return f"{_METADATA}{key}"


def grains_of(family: str) -> tuple[str, ...]:
    return _METADATA_GRAINS if family.startswith(_METADATA) else GRAINS[family]


def family_for(fields: Iterable[str], rolled: Callable[[str], bool] | None = None) -> str | None:
    """The smallest family holding every field, or None when only raw events can answer.
    A metadata field `metadata.KEY` is held by its key's family when `rolled(KEY)`."""
    wanted = set(fields)
    keys = {field.removeprefix(_METADATA) for field in wanted if field.startswith(_METADATA)}
    if keys:
        if len(keys) > 1 or rolled is None:
            return None
        (key,) = keys
        family = metadata_family(key)
        return family if rolled(key) and wanted - {family} <= set(METADATA_DIMS) else None
    for name, dims in FAMILIES.items():  # ordered from fewest to most cells
        if wanted <= set(dims):
            return name
    return None


def period_start(moment: datetime, grain: str) -> datetime:
    """The start of the UTC hour, day or month holding `moment`."""
    hour = hour_of(moment)
    if grain == "month":
        return hour.replace(day=1, hour=0)
    return hour.replace(hour=0) if grain == "day" else hour


def _next_period(start: datetime, grain: str) -> datetime:
    if grain == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + (timedelta(days=1) if grain == "day" else timedelta(hours=1))


def spans(
    start: datetime, end: datetime, grains: Sequence[str]
) -> list[tuple[str, datetime, datetime]]:
    """[start, end) (on whole hours) as the fewest periods of `grains` (finest first, "hour"
    among them): whole periods of the coarsest inside, the edges left by finer ones."""
    if start >= end:
        return []
    *finer, grain = grains
    if not finer:
        return [(grain, start, end)]
    first = period_start(start, grain)
    if first < start:
        first = _next_period(first, grain)
    last = period_start(end, grain)
    if first >= last:
        return spans(start, end, finer)
    return [(grain, first, last), *spans(start, first, finer), *spans(last, end, finer)]


def cell_key(org_id: str, family: str, grain: str, start: datetime, dims: Sequence[Any]) -> str:
    # A deterministic _id makes every change an upsert by primary key: the cheapest
    # write the store has, and never two documents for one cell.
    raw = json.dumps([org_id, family, grain, start.isoformat(), *dims], separators=(",", ":"))
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def event_cells(
    events: Iterable[UsageEvent],
    sign: int,
    into: Cells | None = None,
    metadata: MetadataOf | None = None,
) -> Cells:
    """Events merged in memory, per cell: cell id -> (identity, sums); with `sign`=-1,
    what they take away. `metadata` names the keys whose cells an event adds to."""
    merged: dict[tuple[Any, ...], list[int]] = {}

    def add(key: tuple[Any, ...], values: list[int]) -> None:
        sums = merged.get(key)
        if sums is None:
            merged[key] = list(values)
        else:
            for index, value in enumerate(values):
                sums[index] += value

    for event in events:
        values = [sign * value for value in _event_totals(event)]
        starts = {grain: period_start(event.timestamp, grain) for grain in _METADATA_GRAINS}
        for family, fields in FAMILIES.items():
            dims = tuple(getattr(event, field) for field in fields)
            for grain in GRAINS[family]:
                add((event.org_id, family, grain, starts[grain], dims), values)
        if metadata is None:
            continue
        team_dims = tuple(getattr(event, field) for field in METADATA_DIMS)
        for name, value in metadata(event):
            for grain in _METADATA_GRAINS:
                family = metadata_family(name)
                add((event.org_id, family, grain, starts[grain], (*team_dims, value)), values)
    cells: Cells = {} if into is None else into
    for (org_id, family, grain, start, dims), sums in merged.items():
        cell_id = cell_key(org_id, family, grain, start, dims)
        totals = dict(zip(TOTAL_FIELDS, sums, strict=True))
        if cell_id in cells:
            add_sums(cells[cell_id][1], totals)
            continue
        cells[cell_id] = (cell_identity(org_id, family, grain, start, dims), totals)
    return cells


def cell_identity(
    org_id: str, family: str, grain: str, start: datetime, dims: Sequence[Any]
) -> Document:
    """What a cell holds beside its sums: its family, period and dimension values (a
    metadata cell's value under `metadata.KEY`, the field raw events group by)."""
    identity: Document = {"org_id": org_id, "family": family, "grain": grain, "start": start}
    if family.startswith(_METADATA):
        *team_dims, value = dims
        identity.update(zip(METADATA_DIMS, team_dims, strict=True))
        identity["metadata"] = {family.removeprefix(_METADATA): value}
    else:
        identity.update(zip(FAMILIES[family], dims, strict=True))
    return identity


def leading_values(family: str, usage_filter: UsageFilter) -> list[dict[str, str]]:
    """One equality per value the filter asks of the family's leading dimension (each read
    on its own through the leading index), or a single empty one when it asks none."""
    field = LEADING["team"] if family.startswith(_METADATA) else LEADING.get(family)
    values = usage_filter.restrictions().get(field, ()) if field else ()
    return [{field: value} for value in dict.fromkeys(values)] if field and values else [{}]


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
