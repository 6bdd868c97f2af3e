"""Usage events in files: CSV (a header line, one event per row) or JSON Lines."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "CSV_COLUMNS",
    "BatchRefused",
    "LoadReport",
    "file_format",
    "load_in_batches",
    "read_usage_file",
    "COST_GROUP_COLUMNS",
    "write_rows",
]

CSV_COLUMNS = (
    "event_id",
    "timestamp",
    "provider",
    "model",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "endpoint",
    "team_id",
    "user_id",
    "metadata",
    "cost",
    "cost_exact",
    "pricing_status",
)
COST_GROUP_COLUMNS = ("group", "total", "total_exact", "tokens", "name", "deleted")
_COUNTS = {
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
}
# Read back from an export, but the service's to compute, not the file's to say.
_COMPUTED = {
    "cost",
    "cost_exact",
    "pricing_status",
    "id",
    "api_key_id",
    "currency",
    "cost_breakdown",
    "price",
}


def file_format(path: Path, given: str | None) -> str:
    if given:
        return given
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def _from_csv_row(row: dict[str, str]) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for name, value in row.items():
        if name is None or value is None or value == "" or name in _COMPUTED:
            continue
        if name in _COUNTS:
            event[name] = int(value) if value.strip().lstrip("-").isdigit() else value
        elif name == "metadata":
            event[name] = json.loads(value)
        else:
            event[name] = value
    return event


def read_usage_file(path: Path, fmt: str) -> tuple[list[tuple[int, Any]], dict[int, str]]:
    """(line, event) rows, and the lines that could not be read at all, with why."""
    rows: list[tuple[int, Any]] = []
    unreadable: dict[int, str] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        if fmt == "csv":
            for number, row in enumerate(csv.DictReader(handle), start=2):
                try:
                    rows.append((number, _from_csv_row(row)))
                except json.JSONDecodeError as exc:
                    unreadable[number] = f"metadata is not JSON: {exc.msg}"
        else:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    parsed = json.loads(line)
                except json.JSONDecodeError as exc:
                    unreadable[number] = f"not JSON: {exc.msg}"
                    continue
                if isinstance(parsed, dict):
                    parsed = {k: v for k, v in parsed.items() if k not in _COMPUTED}
                rows.append((number, parsed))
    return rows, unreadable


def _csv_cell(value: Any) -> Any:
    return json.dumps(value, separators=(",", ":")) if isinstance(value, dict | list) else value


def write_rows(
    rows: Iterable[dict[str, Any]], columns: Sequence[str], fmt: str, out: TextIO
) -> int:
    """Write rows in their public JSON form: JSON Lines whole, or CSV with `columns` (an
    object such as metadata as JSON in its cell); answers how many."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({name: _csv_cell(row.get(name)) for name in columns})
            count += 1
        return count
    for row in rows:
        out.write(json.dumps(row, separators=(",", ":")) + "\n")
        count += 1
    return count


class BatchRefused(Exception):
    """A batch refused for some of its events: `fields` as the API names them
    (`events[3].input_tokens`)."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(f"{len(fields)} fields refused")
        self.fields = fields


@dataclass(slots=True)
class LoadReport:
    stored: int = 0
    replayed: int = 0
    rejected: dict[int, dict[str, str]] = field(default_factory=dict)  # line -> field -> why


SendBatch = Callable[[list[Any]], Awaitable[list[bool]]]  # answers each event's "replayed"
_BATCH = 1000
_FIELD = re.compile(r"^events\[(\d+)\]\.?(.*)$")


async def load_in_batches(
    rows: Sequence[tuple[int, Any]],
    send: SendBatch,
    progress: Callable[[int], None] | None = None,
) -> LoadReport:
    """Send (line, event) rows a thousand at a time. A refused batch comes back with the
    offending events named; those lines are reported and the rest sent again."""
    report = LoadReport()
    for start in range(0, len(rows), _BATCH):
        batch = list(rows[start : start + _BATCH])
        while batch:
            try:
                replayed = await send([raw for _, raw in batch])
            except BatchRefused as refused:
                bad = _offenders(refused.fields, len(batch))
                if not bad:
                    raise
                for index, reasons in bad.items():
                    report.rejected[batch[index][0]] = reasons
                batch = [row for index, row in enumerate(batch) if index not in bad]
                continue
            report.replayed += sum(replayed)
            report.stored += len(replayed) - sum(replayed)
            break
        if progress is not None:
            progress(min(_BATCH, len(rows) - start))
    return report


def _offenders(fields: dict[str, str], size: int) -> dict[int, dict[str, str]]:
    bad: dict[int, dict[str, str]] = {}
    for name, reason in fields.items():
        matched = _FIELD.match(str(name))
        if matched and int(matched.group(1)) < size:
            bad.setdefault(int(matched.group(1)), {})[matched.group(2) or "event"] = str(reason)
    return bad
