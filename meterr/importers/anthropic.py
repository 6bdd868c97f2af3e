"""Anthropic's usage report API: messages usage in daily buckets by model.

GET {base}/v1/organizations/usage_report/messages?starting_at=&ending_at=&bucket_width=1d
    &group_by[]=model&limit=31[&page=]   (x-api-key, anthropic-version: 2023-06-01)
answers {"data": [{"starting_at", "ending_at", "results": [{"uncached_input_tokens",
"cache_creation": {"ephemeral_1h_input_tokens", "ephemeral_5m_input_tokens"},
"cache_read_input_tokens", "output_tokens", "model", ...}]}], "has_more", "next_page"}.
Anthropic counts input without the cached tokens; Meterr's input_tokens adds them back. A
connection's `workspace_ids` option narrows it (`workspace_ids[]=`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import httpx

from meterr.importers.base import ImportedUsage, pages

__all__ = ["read_anthropic_usage"]

_PATH = "/v1/organizations/usage_report/messages"
_VERSION = "2023-06-01"


def _instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def read_anthropic_usage(
    http: httpx.AsyncClient,
    base_url: str,
    api_key: str,
    start: datetime,
    end: datetime,
    options: Mapping[str, Any],
) -> AsyncIterator[ImportedUsage]:
    """Every daily bucket of [start, end), page after page."""
    params: dict[str, Any] = {
        "starting_at": _instant(start),
        "ending_at": _instant(end),
        "bucket_width": "1d",
        "group_by[]": ["model", "context_window"],
        "limit": 31,
    }
    if options.get("workspace_ids"):
        params["workspace_ids[]"] = list(options["workspace_ids"])
    headers = {"x-api-key": api_key, "anthropic-version": _VERSION}
    url = base_url.rstrip("/") + _PATH
    async for page in pages(http, "anthropic", url, params, headers):
        for bucket in page.get("data", []):
            bucket_start = datetime.fromisoformat(bucket["starting_at"])
            bucket_end = datetime.fromisoformat(bucket["ending_at"])
            for row in bucket.get("results", []):
                if not row.get("model"):
                    continue
                creation = row.get("cache_creation") or {}
                written = int(creation.get("ephemeral_1h_input_tokens") or 0) + int(
                    creation.get("ephemeral_5m_input_tokens") or 0
                )
                read = int(row.get("cache_read_input_tokens") or 0)
                uncached = int(row.get("uncached_input_tokens") or 0)
                workspace = row.get("workspace_id")
                window = row.get("context_window")
                yield ImportedUsage(
                    start=bucket_start,
                    end=bucket_end,
                    model=row["model"],
                    input_tokens=uncached + written + read,
                    output_tokens=int(row.get("output_tokens") or 0),
                    cached_input_tokens=read,
                    cache_write_tokens=written,
                    group={
                        **({"workspace_id": workspace} if workspace else {}),
                        **({"context_window": window} if window else {}),
                    },
                    long_context=window not in (None, "0-200k"),
                )
