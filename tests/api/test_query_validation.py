"""Bad query parameters of /v1/costs, /v1/usage and /v1/usage/history are invalid_input,
naming the field: dates, zones, ranges, groupings, intervals, page sizes and cursors.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.conftest import KeyFactory, bearer

JsonObject = dict[str, Any]


@pytest.fixture(scope="module")
async def key(make_key: KeyFactory) -> str:
    return await make_key()


@pytest.mark.parametrize("path", ["/v1/costs", "/v1/usage", "/v1/usage/history"])
@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"start_date": "2025-02-30"}, "start_date", id="impossible-date"),
        pytest.param({"start_date": "yesterday"}, "start_date", id="not-a-date"),
        pytest.param({"start_date": "2025-03-01T00:00:00"}, "start_date", id="instant-no-offset"),
        pytest.param({"end_date": "2025-13-01"}, "end_date", id="bad-month"),
        pytest.param({"end_date": "03/31/2025"}, "end_date", id="us-format"),
        pytest.param({"tz": "Mars/Olympus_Mons"}, "tz", id="unknown-zone"),
        pytest.param({"tz": "../../etc/passwd"}, "tz", id="path-as-zone"),
        pytest.param(
            {"start_date": "2025-03-02", "end_date": "2025-03-01"}, "end_date", id="end-before"
        ),
        pytest.param(
            {"start_date": "2025-03-02T10:00:00Z", "end_date": "2025-03-02T09:59:59Z"},
            "end_date",
            id="end-instant-before",
        ),
        pytest.param(
            {"start_date": "2020-01-01", "end_date": "2025-01-01"}, "end_date", id="too-long"
        ),
    ],
)
async def test_bad_range_is_invalid_input_naming_the_field(
    client: httpx.AsyncClient, key: str, path: str, params: dict[str, str], field: str
) -> None:
    full = {"start_date": "2025-03-01", "end_date": "2025-03-31", **params}
    response = await client.get(path, headers=bearer(key), params=full)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert field in error["details"]["fields"], error


@pytest.mark.parametrize(
    "group_by",
    ["colour", "providers", "metadata", "metadata.", "metadata.a.b", "metadata.$where", "hour"],
)
async def test_bad_group_by_is_invalid_input_naming_group_by(
    client: httpx.AsyncClient, key: str, group_by: str
) -> None:
    response = await client.get(
        "/v1/costs",
        headers=bearer(key),
        params={"start_date": "2025-03-01", "end_date": "2025-03-31", "group_by": group_by},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert set(error["details"]["fields"]) == {"group_by"}


@pytest.mark.parametrize("interval", ["minute", "year", "fortnight"])
async def test_history_unknown_interval_is_invalid_input(
    client: httpx.AsyncClient, key: str, interval: str
) -> None:
    response = await client.get(
        "/v1/usage/history",
        headers=bearer(key),
        params={"start_date": "2025-06-01", "end_date": "2025-06-30", "interval": interval},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert set(error["details"]["fields"]) == {"interval"}


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", "1.5"])
async def test_history_limit_outside_one_to_a_thousand_is_invalid_input(
    client: httpx.AsyncClient, key: str, limit: str
) -> None:
    response = await client.get(
        "/v1/usage/history",
        headers=bearer(key),
        params={"start_date": "2025-09-09", "end_date": "2025-09-09", "limit": limit},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert set(error["details"]["fields"]) == {"limit"}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "%%%",
        _b64(b"\xff\xfe"),
        _b64(b"{}"),
        _b64(b"[1]"),
        _b64(json.dumps([5, "evt_1"]).encode()),
        _b64(json.dumps(["yesterday", "evt_1"]).encode()),
        _b64(b"null"),
    ],
)
async def test_history_bad_cursor_is_invalid_input(
    client: httpx.AsyncClient, key: str, cursor: str
) -> None:
    response = await client.get(
        "/v1/usage/history",
        headers=bearer(key),
        params={"start_date": "2025-09-09", "end_date": "2025-09-09", "cursor": cursor},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert set(error["details"]["fields"]) == {"cursor"}
