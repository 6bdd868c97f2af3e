"""OpenAI's organization usage API: completions usage in daily buckets by model and project.

GET {base}/v1/organization/usage/completions?start_time=&end_time=&bucket_width=1d
    &group_by=model&group_by=project_id&limit=31[&page=]
answers {"data": [{"start_time", "end_time", "results": [{"input_tokens", "output_tokens",
"input_cached_tokens", "num_model_requests", "model", "project_id", ...}]}], "has_more",
"next_page"}; input_tokens includes the cached ones, as in Meterr. A connection's options narrow
it: `project_ids` (repeated `project_ids=`), and `organization` (the OpenAI-Organization header).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from meterr.importers.base import ImportedUsage, pages

__all__ = ["read_openai_usage"]

_PATH = "/v1/organization/usage/completions"


async def read_openai_usage(
    http: httpx.AsyncClient,
    base_url: str,
    api_key: str,
    start: datetime,
    end: datetime,
    options: Mapping[str, Any],
) -> AsyncIterator[ImportedUsage]:
    """Every daily bucket of [start, end), page after page."""
    params: dict[str, Any] = {
        "start_time": int(start.timestamp()),
        "end_time": int(end.timestamp()),
        "bucket_width": "1d",
        "group_by": ["model", "project_id"],
        "limit": 31,
    }
    if options.get("project_ids"):
        params["project_ids"] = list(options["project_ids"])
    headers = {"Authorization": f"Bearer {api_key}"}
    if options.get("organization"):
        headers["OpenAI-Organization"] = str(options["organization"])
    url = base_url.rstrip("/") + _PATH
    async for page in pages(http, "openai", url, params, headers):
        for bucket in page.get("data", []):
            bucket_start = datetime.fromtimestamp(bucket["start_time"], UTC)
            bucket_end = datetime.fromtimestamp(bucket["end_time"], UTC)
            for row in bucket.get("results", []):
                if not row.get("model"):
                    continue
                project = row.get("project_id")
                yield ImportedUsage(
                    start=bucket_start,
                    end=bucket_end,
                    model=row["model"],
                    input_tokens=int(row.get("input_tokens") or 0),
                    output_tokens=int(row.get("output_tokens") or 0),
                    cached_input_tokens=int(row.get("input_cached_tokens") or 0),
                    requests=int(row.get("num_model_requests") or 0),
                    group={"project_id": project} if project else {},
                )
