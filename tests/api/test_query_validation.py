"""Bad query parameters are invalid_input naming the field, through both doors: dates, zones
and ranges of costs, usage and history, intervals, page sizes and cursors; and over REST the
groupings and page sizes its query strings spell."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.conftest import KeyFactory, bearer
from tests.support.doors import Door


@pytest.fixture(scope="module")
async def key(make_key: KeyFactory) -> str:
    return await make_key()


@pytest.mark.parametrize("operation", ["costs", "usage", "history"])
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
    door: Door, key: str, operation: str, params: dict[str, str], field: str
) -> None:
    full = {"start_date": "2025-03-01", "end_date": "2025-03-31", **params}
    answer = await getattr(door, operation)(key, **full)
    assert answer.code == "invalid_input", answer
    assert field in answer.fields, answer


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


@pytest.mark.parametrize("interval", ["minute", "year", "fortnight", "decade"])
async def test_history_unknown_interval_is_invalid_input(
    door: Door, key: str, interval: str
) -> None:
    answer = await door.history(
        key, start_date="2025-06-01", end_date="2025-06-30", interval=interval
    )
    assert (answer.code, answer.fields) == ("invalid_input", {"interval"})


@pytest.mark.parametrize("limit", [0, 1001, -1])
async def test_history_limit_outside_one_to_a_thousand_is_invalid_input(
    door: Door, key: str, limit: int
) -> None:
    answer = await door.events(key, start_date="2025-09-09", end_date="2025-09-09", limit=limit)
    assert (answer.code, answer.fields) == ("invalid_input", {"limit"})


@pytest.mark.parametrize("limit", ["ten", "1.5"])
async def test_history_limit_that_is_not_an_integer_is_invalid_input(
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
        "bm90LWEtY3Vyc29y",
        _b64(b"\xff\xfe"),
        _b64(b"{}"),
        _b64(b"[1]"),
        _b64(json.dumps([5, "evt_1"]).encode()),
        _b64(json.dumps(["yesterday", "evt_1"]).encode()),
        _b64(b"null"),
    ],
)
async def test_history_bad_cursor_is_invalid_input(door: Door, key: str, cursor: str) -> None:
    answer = await door.events(key, start_date="2025-09-09", end_date="2025-09-09", cursor=cursor)
    assert (answer.code, answer.fields) == ("invalid_input", {"cursor"})
