"""The cells an organization's raw events make: what `rollups rebuild` writes and compares."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from meterr.store.aggregates import TOTAL_FIELDS
from meterr.store.documents import Document
from meterr.store.metadata_keys import KeyState, MetadataKeys
from meterr.store.rollup_cells import (
    FAMILIES,
    METADATA_DIMS,
    cell_identity,
    cell_key,
    grains_of,
    metadata_family,
    period_start,
)

__all__ = ["expected_cells"]


async def expected_cells(
    org_id: str, events: AsyncCollection[Document], metadata: MetadataKeys | None
) -> dict[str, Document]:
    """Every cell of the organization's events, by id: the families' cells, and those of
    the metadata keys `metadata` rolls up (made from the events that carry a value)."""
    expected: dict[str, Document] = {}
    dims = sorted({field for fields in FAMILIES.values() for field in fields})
    pipeline: list[Document] = [{"$match": {"org_id": org_id}}, {"$group": _group(dims)}]
    async for row in await events.aggregate(pipeline):
        ident = row["_id"]
        for family, fields in FAMILIES.items():
            _add(expected, org_id, family, ident["hour"], [ident.get(f) for f in fields], row)
    rolled = [
        key
        for key, state in (metadata.states if metadata else {}).items()
        if state is KeyState.ROLLED
    ]
    for key in rolled:
        field = f"metadata.{key}"
        pipeline = [
            {"$match": {"org_id": org_id}},
            {"$match": {field: {"$ne": None}}},
            {"$group": _group(METADATA_DIMS, value=field)},
        ]
        async for row in await events.aggregate(pipeline):
            ident = row["_id"]
            values = [*(ident.get(d) for d in METADATA_DIMS), ident["v"]]
            _add(expected, org_id, metadata_family(key), ident["hour"], values, row)
    return expected


def _group(dims: Sequence[str], value: str | None = None) -> Document:
    ident: dict[str, Any] = {"hour": "$hour", **{name: f"${name}" for name in dims}}
    if value is not None:
        ident["v"] = f"${value}"
    group: Document = {"_id": ident}
    group.update({field: {"$sum": f"${field}"} for field in TOTAL_FIELDS})
    return group


def _add(
    expected: dict[str, Document],
    org_id: str,
    family: str,
    hour: datetime,
    dims: Sequence[Any],
    row: Document,
) -> None:
    for grain in grains_of(family):
        start = period_start(hour, grain)
        cell_id = cell_key(org_id, family, grain, start, dims)
        cell = expected.setdefault(
            cell_id,
            {
                "_id": cell_id,
                **cell_identity(org_id, family, grain, start, dims),
                **dict.fromkeys(TOTAL_FIELDS, 0),
            },
        )
        for field in TOTAL_FIELDS:
            cell[field] += int(row[field] or 0)
