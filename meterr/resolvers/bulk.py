"""Bulk loading of usage events from files: every good line stored, every bad one named."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from meterr.errors import InvalidInput
from meterr.resolvers.context import RequestContext
from meterr.resolvers.tracking import track_events

__all__ = ["BulkReport", "import_usage"]

_BATCH = 1000
_FIELD = re.compile(r"^events\[(\d+)\]\.?(.*)$")


@dataclass(slots=True)
class BulkReport:
    stored: int = 0
    replayed: int = 0
    rejected: dict[int, dict[str, str]] = field(default_factory=dict)  # line -> field -> why


async def import_usage(
    ctx: RequestContext,
    rows: Sequence[tuple[int, object]],
    progress: Callable[[int], None] | None = None,
) -> BulkReport:
    """Store (line, event) rows a thousand at a time. A batch that is refused comes back
    with the offending events named; those lines are reported and the rest stored."""
    report = BulkReport()
    for start in range(0, len(rows), _BATCH):
        batch = list(rows[start : start + _BATCH])
        while batch:
            try:
                tracking = await track_events(ctx, [raw for _, raw in batch], batch=True)
            except InvalidInput as exc:
                bad = _offenders(exc, batch)
                if not bad:
                    raise
                for index, reasons in bad.items():
                    report.rejected[batch[index][0]] = reasons
                batch = [row for index, row in enumerate(batch) if index not in bad]
                continue
            report.replayed += sum(item.replayed for item in tracking.events)
            report.stored += sum(not item.replayed for item in tracking.events)
            break
        if progress is not None:
            progress(min(_BATCH, len(rows) - start))
    return report


def _offenders(exc: InvalidInput, batch: Sequence[tuple[int, object]]) -> dict[int, dict[str, str]]:
    """The batch indexes an error names, each with its fields and reasons."""
    bad: dict[int, dict[str, str]] = {}
    for name, reason in (exc.details.get("fields") or {}).items():
        matched = _FIELD.match(str(name))
        if matched and int(matched.group(1)) < len(batch):
            bad.setdefault(int(matched.group(1)), {})[matched.group(2) or "event"] = str(reason)
    return bad
