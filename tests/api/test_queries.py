"""REST queries: /v1/costs, /v1/usage and /v1/usage/history over seeded events.

Every expected amount is worked out by hand from catalogue prices (USD per 1M tokens):
gpt-4 30/60, gpt-4o 2.50/10 (after 2024-10-02), o1 15/60 (cached 7.50), claude-3-opus 15/75,
gemini-pro 0.50/1.50, gpt-4-turbo 10/30, mistral-large 2/6 (after 2024-09-18),
command-r-plus 2.50/10 (after 2024-08-30), command-r7b 0.0375/0.15.
"""

from __future__ import annotations

import base64
import json
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import httpx
import pytest

from tests.conftest import KeyFactory, bearer, json_usd

JsonObject = dict[str, Any]

NANO = Decimal("0.000000001")
MICRO = Decimal("0.000001")


async def track(client: httpx.AsyncClient, key: str, **body: Any) -> JsonObject:
    response = await client.post("/v1/track", headers=bearer(key), json=body)
    assert response.status_code == 201, response.text
    result: JsonObject = response.json()
    return result


async def track_batch(
    client: httpx.AsyncClient, key: str, events: list[JsonObject]
) -> list[JsonObject]:
    response = await client.post("/v1/track", headers=bearer(key), json={"events": events})
    assert response.status_code == 201, response.text
    tracked: list[JsonObject] = response.json()["events"]
    assert len(tracked) == len(events)
    return tracked


async def get_ok(
    client: httpx.AsyncClient, key: str, path: str, params: dict[str, str | int]
) -> Any:
    response = await client.get(path, headers=bearer(key), params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def costs(client: httpx.AsyncClient, key: str, **params: str) -> JsonObject:
    result: JsonObject = await get_ok(client, key, "/v1/costs", params)
    return result


def nano_round(amount: Decimal) -> Decimal:
    return amount.quantize(NANO, rounding=ROUND_HALF_EVEN)


# --------------------------------------------------------------------------------------
# GET /v1/costs: the documented shape
# --------------------------------------------------------------------------------------


async def test_costs_by_provider_returns_documented_shape_over_inclusive_whole_days(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    day = "2025-08-05T12:00:00Z"
    events = [
        # openai: 30 + 15 + 15 = 60.00 USD, 1,500,000 tokens over two events.
        {"provider": "openai", "model": "gpt-4", "input_tokens": 1_000_000, "output_tokens": 0},
        {"provider": "openai", "model": "gpt-4", "input_tokens": 0, "output_tokens": 500_000},
        # anthropic: 600k * 15 + 290k * 75 = 9 + 21.75 = 30.75
        {
            "provider": "anthropic",
            "model": "claude-3-opus",
            "input_tokens": 600_000,
            "output_tokens": 290_000,
        },
        # google: 500k * 0.50 + 250k * 1.50 = 0.25 + 0.375 = 0.625
        {
            "provider": "google",
            "model": "gemini-pro",
            "input_tokens": 500_000,
            "output_tokens": 250_000,
        },
        # azure bills with the openai table: 1M * 10 + 400k * 30 = 10 + 12 = 22
        {
            "provider": "azure",
            "model": "gpt-4-turbo",
            "input_tokens": 1_000_000,
            "output_tokens": 400_000,
        },
        # mistral: 400k * 2 + 250k * 6 = 0.8 + 1.5 = 2.3
        {
            "provider": "mistral",
            "model": "mistral-large",
            "input_tokens": 400_000,
            "output_tokens": 250_000,
        },
        # cohere: 300k * 2.50 + 150k * 10 = 0.75 + 1.5 = 2.25
        {
            "provider": "cohere",
            "model": "command-r-plus",
            "input_tokens": 300_000,
            "output_tokens": 150_000,
        },
    ]
    await track_batch(client, key, [{**event, "timestamp": day} for event in events])
    # The first and last instants of the range are in; one instant either side is out.
    await track_batch(
        client,
        key,
        [
            {"provider": provider, "model": model, "input_tokens": tokens, "timestamp": moment}
            for provider, model, tokens, moment in [
                ("openai", "gpt-4", 1000, "2025-08-01T00:00:00Z"),
                ("openai", "gpt-4", 1000, "2025-08-14T23:59:59Z"),
                ("openai", "gpt-4", 7, "2025-07-31T23:59:59Z"),
                ("cohere", "command-r-plus", 9, "2025-08-15T00:00:00Z"),
            ]
        ],
    )

    body = await costs(
        client, key, start_date="2025-08-01", end_date="2025-08-14", group_by="provider"
    )

    assert body == {
        "openai": {"total": 60.06, "tokens": 1_502_000},
        "anthropic": {"total": 30.75, "tokens": 890_000},
        "azure": {"total": 22.0, "tokens": 1_400_000},
        "mistral": {"total": 2.3, "tokens": 650_000},
        "cohere": {"total": 2.25, "tokens": 450_000},
        "google": {"total": 0.625, "tokens": 750_000},
    }
    assert list(body) == ["openai", "anthropic", "azure", "mistral", "cohere", "google"]
    assert all(type(group["total"]) is float for group in body.values())
    assert all(type(group["tokens"]) is int for group in body.values())


async def test_costs_default_to_grouping_by_provider(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    await track(
        client,
        key,
        provider="anthropic",
        model="claude-3-opus",
        input_tokens=2000,
        output_tokens=800,
        timestamp="2025-02-10T09:00:00Z",
    )
    body = await costs(client, key, start_date="2025-02-01", end_date="2025-02-28")
    # 2000 * 15 + 800 * 75 per million = 0.03 + 0.06
    assert body == {"anthropic": {"total": 0.09, "tokens": 2800}}


async def test_costs_total_is_rounded_half_even_to_six_decimals(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    # 1 input token of gpt-4 costs 0.00003 USD; 7 tokens of command-r7b cost 0.0000002625,
    # stored as 0.000000262 (half even at the nano-dollar) and shown as 0.0 at six decimals.
    await track(
        client,
        key,
        provider="openai",
        model="gpt-4",
        input_tokens=1,
        timestamp="2025-02-10T09:00:00Z",
    )
    await track(
        client,
        key,
        provider="cohere",
        model="command-r7b",
        input_tokens=7,
        timestamp="2025-02-10T09:00:00Z",
    )
    body = await costs(client, key, start_date="2025-02-10", end_date="2025-02-10")
    assert body == {
        "openai": {"total": 0.00003, "tokens": 1},
        "cohere": {"total": 0.0, "tokens": 7},
    }


# --------------------------------------------------------------------------------------
# GET /v1/costs: every grouping and filter over one seeded organization
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def dimensions_org(client: httpx.AsyncClient, make_key: KeyFactory) -> JsonObject:
    """One organization, two keys (the second bound to team-key), five priced events."""
    org = "dimensions-org"
    key_a = await make_key(org=org)
    key_b = await make_key(org=org, team_id="team-key")
    # e1: gpt-4 1000 * 30 + 500 * 60 = 0.03 + 0.03 = 0.06 (Monday 3 March)
    e1 = await track(
        client,
        key_a,
        provider="openai",
        model="gpt-4",
        input_tokens=1000,
        output_tokens=500,
        team_id="alpha",
        user_id="u1",
        endpoint="/v1/chat/completions",
        metadata={"feature": "chat"},
        timestamp="2025-03-03T10:15:00Z",
    )
    # e2: gpt-4o 2000 * 2.50 + 1000 * 10 = 0.005 + 0.01 = 0.015 (Sunday 9 March);
    # team and user come from metadata.
    await track(
        client,
        key_a,
        provider="openai",
        model="gpt-4o",
        input_tokens=2000,
        output_tokens=1000,
        endpoint="/v1/chat/completions",
        metadata={"feature": "search", "team_id": "beta", "user_id": "u2"},
        timestamp="2025-03-09T23:00:00Z",
    )
    # e3: claude-3-opus 1000 * 15 + 1000 * 75 = 0.015 + 0.075 = 0.09 (Monday 10 March);
    # an explicit team wins over the key's team.
    e3 = await track(
        client,
        key_b,
        provider="anthropic",
        model="claude-3-opus",
        input_tokens=1000,
        output_tokens=1000,
        team_id="alpha",
        user_id="u2",
        endpoint="/v1/messages",
        timestamp="2025-03-10T08:00:00Z",
    )
    # e4: claude-3-opus 100 * 15 = 0.0015 (Tuesday 1 April), team from key_b.
    await track(
        client,
        key_b,
        provider="anthropic",
        model="claude-3-opus",
        input_tokens=100,
        timestamp="2025-04-01T00:00:00Z",
    )
    # e5: gemini-pro 10000 * 0.50 + 2000 * 1.50 = 0.005 + 0.003 = 0.008 (Wednesday 30 April);
    # no team, user or endpoint at all.
    await track(
        client,
        key_a,
        provider="google",
        model="gemini-pro",
        input_tokens=10_000,
        output_tokens=2000,
        timestamp="2025-04-30T23:59:59Z",
    )
    return {
        "key": key_a,
        "key_a_id": e1["api_key_id"],
        "key_b_id": e3["api_key_id"],
    }


EXPECTED_BY_GROUP: dict[str, JsonObject] = {
    "provider": {
        "anthropic": {"total": 0.0915, "tokens": 2100},
        "openai": {"total": 0.075, "tokens": 4500},
        "google": {"total": 0.008, "tokens": 12_000},
    },
    "model": {
        "claude-3-opus": {"total": 0.0915, "tokens": 2100},
        "gpt-4": {"total": 0.06, "tokens": 1500},
        "gpt-4o": {"total": 0.015, "tokens": 3000},
        "gemini-pro": {"total": 0.008, "tokens": 12_000},
    },
    "team": {
        "alpha": {"total": 0.15, "tokens": 3500},
        "beta": {"total": 0.015, "tokens": 3000},
        "(none)": {"total": 0.008, "tokens": 12_000},
        "team-key": {"total": 0.0015, "tokens": 100},
    },
    "user": {
        "u2": {"total": 0.105, "tokens": 5000},
        "u1": {"total": 0.06, "tokens": 1500},
        "(none)": {"total": 0.0095, "tokens": 12_100},
    },
    "endpoint": {
        "/v1/messages": {"total": 0.09, "tokens": 2000},
        "/v1/chat/completions": {"total": 0.075, "tokens": 4500},
        "(none)": {"total": 0.0095, "tokens": 12_100},
    },
    "day": {
        "2025-03-03": {"total": 0.06, "tokens": 1500},
        "2025-03-09": {"total": 0.015, "tokens": 3000},
        "2025-03-10": {"total": 0.09, "tokens": 2000},
        "2025-04-01": {"total": 0.0015, "tokens": 100},
        "2025-04-30": {"total": 0.008, "tokens": 12_000},
    },
    # Weeks are keyed by their Monday; Sunday 9 March belongs to the week of 3 March.
    "week": {
        "2025-03-03": {"total": 0.075, "tokens": 4500},
        "2025-03-10": {"total": 0.09, "tokens": 2000},
        "2025-03-31": {"total": 0.0015, "tokens": 100},
        "2025-04-28": {"total": 0.008, "tokens": 12_000},
    },
    "month": {
        "2025-03": {"total": 0.165, "tokens": 6500},
        "2025-04": {"total": 0.0095, "tokens": 12_100},
    },
    "metadata.feature": {
        "(none)": {"total": 0.0995, "tokens": 14_100},
        "chat": {"total": 0.06, "tokens": 1500},
        "search": {"total": 0.015, "tokens": 3000},
    },
}


@pytest.mark.parametrize("group_by", list(EXPECTED_BY_GROUP))
async def test_costs_group_by_each_dimension(
    client: httpx.AsyncClient, dimensions_org: JsonObject, group_by: str
) -> None:
    body = await costs(
        client,
        dimensions_org["key"],
        start_date="2025-03-01",
        end_date="2025-04-30",
        group_by=group_by,
    )
    assert body == EXPECTED_BY_GROUP[group_by]
    if group_by in ("day", "week", "month"):
        assert list(body) == sorted(body), "time groups come in calendar order"
    else:
        assert list(body) == list(EXPECTED_BY_GROUP[group_by]), "largest cost first"


async def test_costs_group_by_api_key_separates_the_keys_of_one_organization(
    client: httpx.AsyncClient, dimensions_org: JsonObject
) -> None:
    body = await costs(
        client,
        dimensions_org["key"],
        start_date="2025-03-01",
        end_date="2025-04-30",
        group_by="api_key",
    )
    assert body == {
        # e3 + e4
        dimensions_org["key_b_id"]: {"total": 0.0915, "tokens": 2100},
        # e1 + e2 + e5
        dimensions_org["key_a_id"]: {"total": 0.083, "tokens": 16_500},
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param(
            {"provider": "openai"},
            {"openai": {"total": 0.075, "tokens": 4500}},
            id="one-provider",
        ),
        pytest.param(
            {"provider": "OpenAI, google"},
            {
                "openai": {"total": 0.075, "tokens": 4500},
                "google": {"total": 0.008, "tokens": 12_000},
            },
            id="provider-list-normalized",
        ),
        pytest.param(
            {"model": "gpt-4", "group_by": "model"},
            {"gpt-4": {"total": 0.06, "tokens": 1500}},
            id="one-model",
        ),
        pytest.param(
            {"model": "gpt-4o,gemini-pro", "group_by": "model"},
            {
                "gpt-4o": {"total": 0.015, "tokens": 3000},
                "gemini-pro": {"total": 0.008, "tokens": 12_000},
            },
            id="model-list",
        ),
        pytest.param(
            {"team_id": "alpha", "group_by": "model"},
            {
                "claude-3-opus": {"total": 0.09, "tokens": 2000},
                "gpt-4": {"total": 0.06, "tokens": 1500},
            },
            id="team",
        ),
        pytest.param(
            {"team_id": "beta,team-key", "group_by": "team"},
            {
                "beta": {"total": 0.015, "tokens": 3000},
                "team-key": {"total": 0.0015, "tokens": 100},
            },
            id="team-list",
        ),
        pytest.param(
            {"user_id": "u2", "group_by": "model"},
            {
                "claude-3-opus": {"total": 0.09, "tokens": 2000},
                "gpt-4o": {"total": 0.015, "tokens": 3000},
            },
            id="user",
        ),
        pytest.param(
            {"provider": "openai", "user_id": "u1,u2", "group_by": "user"},
            {
                "u1": {"total": 0.06, "tokens": 1500},
                "u2": {"total": 0.015, "tokens": 3000},
            },
            id="filters-combine",
        ),
        pytest.param(
            {"provider": "azure"},
            {},
            id="no-match-is-empty",
        ),
    ],
)
async def test_costs_filters_restrict_the_events_counted(
    client: httpx.AsyncClient,
    dimensions_org: JsonObject,
    params: dict[str, str],
    expected: JsonObject,
) -> None:
    body = await costs(
        client, dimensions_org["key"], start_date="2025-03-01", end_date="2025-04-30", **params
    )
    assert body == expected


async def test_costs_over_rfc3339_instants_include_start_and_exclude_end(
    client: httpx.AsyncClient, dimensions_org: JsonObject
) -> None:
    key = dimensions_org["key"]
    # From e1 (10:15Z on 3 March, given with a +01:00 offset) up to, not including, e3.
    body = await costs(
        client,
        key,
        start_date="2025-03-03T11:15:00+01:00",
        end_date="2025-03-10T08:00:00Z",
        group_by="model",
    )
    assert body == {
        "gpt-4": {"total": 0.06, "tokens": 1500},
        "gpt-4o": {"total": 0.015, "tokens": 3000},
    }
    one_second_later = await costs(
        client,
        key,
        start_date="2025-03-03T10:15:01Z",
        end_date="2025-03-10T08:00:01Z",
        group_by="model",
    )
    assert one_second_later == {
        "claude-3-opus": {"total": 0.09, "tokens": 2000},
        "gpt-4o": {"total": 0.015, "tokens": 3000},
    }


# --------------------------------------------------------------------------------------
# Time zones
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def late_evening_key(client: httpx.AsyncClient, make_key: KeyFactory) -> str:
    """Events near midnight of 1 March 2025 (UTC, Paris and Kolkata)."""
    key = await make_key()
    await track_batch(
        client,
        key,
        [
            # 23:50 in Kolkata (UTC+05:30), still 1 March there: 100 * 30 = 0.003
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 100,
                "timestamp": "2025-03-01T18:20:00Z",
            },
            # 00:10 on 2 March in Kolkata: 200 * 30 = 0.006
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 200,
                "timestamp": "2025-03-01T18:40:00Z",
            },
            # 00:30 on 2 March in Paris (UTC+01:00): 1000 * 30 = 0.03
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 1000,
                "timestamp": "2025-03-01T23:30:00Z",
            },
        ],
    )
    return key


async def test_costs_by_day_use_utc_days_without_tz(
    client: httpx.AsyncClient, late_evening_key: str
) -> None:
    body = await costs(
        client, late_evening_key, start_date="2025-03-01", end_date="2025-03-02", group_by="day"
    )
    assert body == {"2025-03-01": {"total": 0.039, "tokens": 1300}}


async def test_costs_by_day_put_a_late_utc_event_on_the_next_paris_day(
    client: httpx.AsyncClient, late_evening_key: str
) -> None:
    body = await costs(
        client,
        late_evening_key,
        start_date="2025-03-01",
        end_date="2025-03-02",
        group_by="day",
        tz="Europe/Paris",
    )
    assert body == {
        "2025-03-01": {"total": 0.009, "tokens": 300},
        "2025-03-02": {"total": 0.03, "tokens": 1000},
    }


async def test_costs_by_day_in_paris_agree_over_dates_and_unaligned_instants(
    client: httpx.AsyncClient, late_evening_key: str
) -> None:
    # A range of instants that does not start on a whole hour is answered from raw events.
    body = await costs(
        client,
        late_evening_key,
        start_date="2025-03-01T18:19:59.500Z",
        end_date="2025-03-01T23:30:00.001Z",
        group_by="day",
        tz="Europe/Paris",
    )
    assert body == {
        "2025-03-01": {"total": 0.009, "tokens": 300},
        "2025-03-02": {"total": 0.03, "tokens": 1000},
    }


async def test_costs_by_day_follow_a_half_hour_zone(
    client: httpx.AsyncClient, late_evening_key: str
) -> None:
    body = await costs(
        client,
        late_evening_key,
        start_date="2025-03-01",
        end_date="2025-03-02",
        group_by="day",
        tz="Asia/Kolkata",
    )
    assert body == {
        "2025-03-01": {"total": 0.003, "tokens": 100},
        "2025-03-02": {"total": 0.036, "tokens": 1200},
    }


async def test_costs_date_range_is_drawn_in_the_requested_zone(
    client: httpx.AsyncClient, late_evening_key: str
) -> None:
    utc = await costs(client, late_evening_key, start_date="2025-03-02", end_date="2025-03-02")
    assert utc == {}
    paris = await costs(
        client, late_evening_key, start_date="2025-03-02", end_date="2025-03-02", tz="Europe/Paris"
    )
    assert paris == {"openai": {"total": 0.03, "tokens": 1000}}
    kolkata = await costs(
        client, late_evening_key, start_date="2025-03-02", end_date="2025-03-02", tz="Asia/Kolkata"
    )
    assert kolkata == {"openai": {"total": 0.036, "tokens": 1200}}


async def test_costs_by_month_and_week_follow_the_zone(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    # Friday 28 February 2025, 23:30 UTC: Saturday 1 March 05:00 in Kolkata.
    await track(
        client,
        key,
        provider="openai",
        model="gpt-4",
        input_tokens=100,
        timestamp="2025-02-28T23:30:00Z",
    )
    # Sunday 2 March 2025, 23:30 UTC: Monday 3 March 05:00 in Kolkata.
    await track(
        client,
        key,
        provider="openai",
        model="gpt-4",
        input_tokens=200,
        timestamp="2025-03-02T23:30:00Z",
    )
    window = {"start_date": "2025-02-01", "end_date": "2025-03-31"}
    assert await costs(client, key, group_by="month", **window) == {
        "2025-02": {"total": 0.003, "tokens": 100},
        "2025-03": {"total": 0.006, "tokens": 200},
    }
    assert await costs(client, key, group_by="month", tz="Asia/Kolkata", **window) == {
        "2025-03": {"total": 0.009, "tokens": 300},
    }
    assert await costs(client, key, group_by="week", **window) == {
        "2025-02-24": {"total": 0.009, "tokens": 300},
    }
    assert await costs(client, key, group_by="week", tz="Asia/Kolkata", **window) == {
        "2025-02-24": {"total": 0.003, "tokens": 100},
        "2025-03-03": {"total": 0.006, "tokens": 200},
    }


# --------------------------------------------------------------------------------------
# Invalid query parameters
# --------------------------------------------------------------------------------------


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
    client: httpx.AsyncClient,
    make_key: KeyFactory,
    path: str,
    params: dict[str, str],
    field: str,
) -> None:
    key = await make_key()
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
    client: httpx.AsyncClient, make_key: KeyFactory, group_by: str
) -> None:
    key = await make_key()
    response = await client.get(
        "/v1/costs",
        headers=bearer(key),
        params={"start_date": "2025-03-01", "end_date": "2025-03-31", "group_by": group_by},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert set(error["details"]["fields"]) == {"group_by"}


async def test_group_by_accepts_field_name_aliases(
    client: httpx.AsyncClient, dimensions_org: JsonObject
) -> None:
    window = {"start_date": "2025-03-01", "end_date": "2025-04-30"}
    key = dimensions_org["key"]
    assert await costs(client, key, group_by="team_id", **window) == EXPECTED_BY_GROUP["team"]
    assert await costs(client, key, group_by="user_id", **window) == EXPECTED_BY_GROUP["user"]


# --------------------------------------------------------------------------------------
# Exactness: many sub-cent events, rollups against raw events
# --------------------------------------------------------------------------------------

R7B_INPUT = Decimal("0.0375")
R7B_OUTPUT = Decimal("0.15")


def r7b_events() -> list[JsonObject]:
    """37 command-r7b events between 10:00 and 12:59 UTC on 10 May 2025."""
    return [
        {
            "provider": "cohere",
            "model": "command-r7b",
            "input_tokens": 1001 + 37 * i,
            "output_tokens": 333 + 11 * i,
            "timestamp": f"2025-05-10T{10 + i % 3:02d}:{(7 * i) % 60:02d}:{i % 60:02d}Z",
            "user_id": f"user-{i % 4}",
        }
        for i in range(37)
    ]


def r7b_exact_total(events: list[JsonObject]) -> Decimal:
    million = Decimal(1_000_000)
    return sum(
        (
            nano_round(Decimal(e["input_tokens"]) * R7B_INPUT / million)
            + nano_round(Decimal(e["output_tokens"]) * R7B_OUTPUT / million)
            for e in events
        ),
        Decimal(0),
    )


async def test_sub_cent_costs_sum_exactly_over_rollups_and_raw_events(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    events = r7b_events()
    tracked = await track_batch(client, key, events)
    exact = r7b_exact_total(events)
    # Each event costs a fraction of a cent; per-event rounding to six decimals would drift.
    assert all(0 < event["cost"] < 0.001 for event in tracked)
    assert sum(Decimal(str(e["cost"])) for e in tracked) != exact.quantize(MICRO)

    aligned = await costs(
        client,
        key,
        start_date="2025-05-10T10:00:00Z",
        end_date="2025-05-10T13:00:00Z",
        group_by="model",
    )
    unaligned = await costs(
        client,
        key,
        start_date="2025-05-10T09:59:59.999Z",
        end_date="2025-05-10T12:59:59.5Z",
        group_by="model",
    )
    by_date = await costs(
        client, key, start_date="2025-05-10", end_date="2025-05-10", group_by="model"
    )
    tokens = sum(e["input_tokens"] + e["output_tokens"] for e in events)
    expected = {"command-r7b": {"total": json_usd(exact), "tokens": tokens}}
    assert aligned == expected
    assert unaligned == expected
    assert by_date == expected

    # Grouped by user, the rollup and raw answers agree group by group.
    by_user_aligned = await costs(
        client,
        key,
        start_date="2025-05-10T10:00:00Z",
        end_date="2025-05-10T13:00:00Z",
        group_by="user",
    )
    by_user_raw = await costs(
        client,
        key,
        start_date="2025-05-10T09:30:00.5Z",
        end_date="2025-05-10T13:30:00.5Z",
        group_by="user",
    )
    assert by_user_aligned == by_user_raw
    assert set(by_user_aligned) == {"user-0", "user-1", "user-2", "user-3"}
    for user, group in by_user_aligned.items():
        mine = [e for e in events if e["user_id"] == user]
        assert group == {
            "total": json_usd(r7b_exact_total(mine)),
            "tokens": sum(e["input_tokens"] + e["output_tokens"] for e in mine),
        }

    # Hourly series from rollups and from raw events agree point by point.
    hourly_aligned = await get_ok(
        client,
        key,
        "/v1/usage/history",
        {
            "start_date": "2025-05-10T10:00:00Z",
            "end_date": "2025-05-10T13:00:00Z",
            "interval": "hour",
        },
    )
    hourly_raw = await get_ok(
        client,
        key,
        "/v1/usage/history",
        {
            "start_date": "2025-05-10T09:59:59.5Z",
            "end_date": "2025-05-10T12:59:59.5Z",
            "interval": "hour",
        },
    )
    assert [point["requests"] for point in hourly_aligned["series"]] == [13, 12, 12]
    assert hourly_raw["series"] == [zero_point("2025-05-10T09:00:00Z"), *hourly_aligned["series"]]
    for hour, point in zip((10, 11, 12), hourly_aligned["series"], strict=True):
        mine = [e for e in events if e["timestamp"].startswith(f"2025-05-10T{hour}:")]
        assert point["cost"] == json_usd(r7b_exact_total(mine))


# --------------------------------------------------------------------------------------
# GET /v1/usage
# --------------------------------------------------------------------------------------


async def test_usage_reports_totals_with_a_per_provider_breakdown(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    await track_batch(
        client,
        key,
        [
            # o1: 6000 uncached * 15 + 4000 cached * 7.50 + 1000 visible output * 60
            # + 2000 reasoning * 60 = 0.09 + 0.03 + 0.06 + 0.12 = 0.30
            {
                "provider": "openai",
                "model": "o1",
                "input_tokens": 10_000,
                "cached_input_tokens": 4000,
                "output_tokens": 3000,
                "reasoning_tokens": 2000,
                "timestamp": "2025-06-03T08:00:00Z",
            },
            # Unknown model: counted, not priced.
            {
                "provider": "openai",
                "model": "in-house-llm",
                "input_tokens": 500,
                "output_tokens": 50,
                "timestamp": "2025-06-03T09:00:00Z",
            },
            # claude-3-opus: 1000 * 15 + 200 * 75 = 0.015 + 0.015 = 0.03
            {
                "provider": "anthropic",
                "model": "claude-3-opus",
                "input_tokens": 1000,
                "output_tokens": 200,
                "timestamp": "2025-06-30T23:59:59Z",
            },
            # Outside June.
            {
                "provider": "anthropic",
                "model": "claude-3-opus",
                "input_tokens": 1000,
                "timestamp": "2025-07-01T00:00:00Z",
            },
        ],
    )
    body = await get_ok(
        client, key, "/v1/usage", {"start_date": "2025-06-01", "end_date": "2025-06-30"}
    )
    assert body == {
        "start": "2025-06-01T00:00:00Z",
        "end": "2025-07-01T00:00:00Z",
        "requests": 3,
        "input_tokens": 11_500,
        "output_tokens": 3250,
        "cached_input_tokens": 4000,
        "cache_write_tokens": 0,
        "reasoning_tokens": 2000,
        "tokens": 14_750,
        "cost": 0.33,
        "unpriced_requests": 1,
        "providers": {
            "openai": {
                "requests": 2,
                "input_tokens": 10_500,
                "output_tokens": 3050,
                "cached_input_tokens": 4000,
                "cache_write_tokens": 0,
                "reasoning_tokens": 2000,
                "tokens": 13_550,
                "cost": 0.3,
                "unpriced_requests": 1,
            },
            "anthropic": {
                "requests": 1,
                "input_tokens": 1000,
                "output_tokens": 200,
                "cached_input_tokens": 0,
                "cache_write_tokens": 0,
                "reasoning_tokens": 0,
                "tokens": 1200,
                "cost": 0.03,
                "unpriced_requests": 0,
            },
        },
    }
    filtered = await get_ok(
        client,
        key,
        "/v1/usage",
        {"start_date": "2025-06-01", "end_date": "2025-06-30", "provider": "anthropic"},
    )
    assert filtered["requests"] == 1
    assert filtered["cost"] == 0.03
    assert list(filtered["providers"]) == ["anthropic"]


async def test_usage_of_an_empty_period_is_all_zeros(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    body = await get_ok(
        client,
        key,
        "/v1/usage",
        {"start_date": "2025-06-01", "end_date": "2025-06-01", "tz": "Asia/Kolkata"},
    )
    assert body == {
        "start": "2025-05-31T18:30:00Z",
        "end": "2025-06-01T18:30:00Z",
        "requests": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "tokens": 0,
        "cost": 0.0,
        "unpriced_requests": 0,
        "providers": {},
    }


# --------------------------------------------------------------------------------------
# GET /v1/usage/history
# --------------------------------------------------------------------------------------


def zero_point(start: str) -> JsonObject:
    return {
        "start": start,
        "requests": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "tokens": 0,
        "cost": 0.0,
        "unpriced_requests": 0,
    }


def gpt4_point(start: str, requests: int, input_tokens: int) -> JsonObject:
    """gpt-4 input-only usage: 30 USD per million input tokens."""
    return {
        **zero_point(start),
        "requests": requests,
        "input_tokens": input_tokens,
        "tokens": input_tokens,
        "cost": json_usd(Decimal(input_tokens) * 30 / 1_000_000),
    }


@pytest.fixture(scope="module")
async def history_key(client: httpx.AsyncClient, make_key: KeyFactory) -> str:
    key = await make_key()
    await track_batch(
        client,
        key,
        [
            {"provider": "openai", "model": "gpt-4", "input_tokens": tokens, "timestamp": ts}
            for tokens, ts in [
                (100, "2025-06-02T10:05:00Z"),
                (200, "2025-06-02T10:55:00Z"),
                (400, "2025-06-02T13:30:00Z"),
                (800, "2025-06-04T00:00:00Z"),
                (1600, "2025-07-15T12:00:00Z"),
            ]
        ],
    )
    return key


async def history(client: httpx.AsyncClient, key: str, **params: str | int) -> JsonObject:
    result: JsonObject = await get_ok(client, key, "/v1/usage/history", params)
    return result


async def test_history_hourly_series_is_gap_free_with_zero_points(
    client: httpx.AsyncClient, history_key: str
) -> None:
    body = await history(
        client,
        history_key,
        start_date="2025-06-02T10:00:00Z",
        end_date="2025-06-02T14:00:00Z",
        interval="hour",
    )
    assert body["start"] == "2025-06-02T10:00:00Z"
    assert body["end"] == "2025-06-02T14:00:00Z"
    assert body["interval"] == "hour"
    assert body["series"] == [
        gpt4_point("2025-06-02T10:00:00Z", 2, 300),
        zero_point("2025-06-02T11:00:00Z"),
        zero_point("2025-06-02T12:00:00Z"),
        gpt4_point("2025-06-02T13:00:00Z", 1, 400),
    ]


async def test_history_daily_series_is_the_default_interval(
    client: httpx.AsyncClient, history_key: str
) -> None:
    body = await history(client, history_key, start_date="2025-06-01", end_date="2025-06-05")
    assert body["interval"] == "day"
    assert body["series"] == [
        zero_point("2025-06-01T00:00:00Z"),
        gpt4_point("2025-06-02T00:00:00Z", 3, 700),
        zero_point("2025-06-03T00:00:00Z"),
        gpt4_point("2025-06-04T00:00:00Z", 1, 800),
        zero_point("2025-06-05T00:00:00Z"),
    ]


async def test_history_daily_series_starts_at_local_midnight_in_the_zone(
    client: httpx.AsyncClient, history_key: str
) -> None:
    body = await history(
        client,
        history_key,
        start_date="2025-06-03",
        end_date="2025-06-04",
        tz="Asia/Kolkata",
    )
    # 2025-06-04T00:00Z is 05:30 on 4 June in Kolkata.
    assert body["series"] == [
        zero_point("2025-06-02T18:30:00Z"),
        gpt4_point("2025-06-03T18:30:00Z", 1, 800),
    ]


async def test_history_hourly_series_in_a_half_hour_zone_follows_local_hours(
    client: httpx.AsyncClient, history_key: str
) -> None:
    # 15:00 to 20:00 in Kolkata on 2 June; the events fall at 15:35, 16:25 and 19:00 there.
    body = await history(
        client,
        history_key,
        start_date="2025-06-02T15:00:00+05:30",
        end_date="2025-06-02T20:00:00+05:30",
        interval="hour",
        tz="Asia/Kolkata",
    )
    assert body["start"] == "2025-06-02T09:30:00Z"
    assert body["series"] == [
        gpt4_point("2025-06-02T09:30:00Z", 1, 100),
        gpt4_point("2025-06-02T10:30:00Z", 1, 200),
        zero_point("2025-06-02T11:30:00Z"),
        zero_point("2025-06-02T12:30:00Z"),
        gpt4_point("2025-06-02T13:30:00Z", 1, 400),
    ]


async def test_history_hourly_series_spans_a_half_hour_clock_change(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    # Lord Howe Island turns its clocks back from 02:00 (+11:00) to 01:30 (+10:30) on
    # 6 April 2025, at 15:00 UTC: local hour 01 lasts 90 minutes, 14:00 to 15:30 UTC.
    key = await make_key()
    await track_batch(
        client,
        key,
        [
            {"provider": "openai", "model": "gpt-4", "input_tokens": tokens, "timestamp": ts}
            for tokens, ts in [
                (100, "2025-04-05T14:10:00Z"),  # 01:10 +11:00
                (200, "2025-04-05T15:10:00Z"),  # 01:40 +10:30, the second time round
                (400, "2025-04-05T15:40:00Z"),  # 02:10 +10:30
            ]
        ],
    )
    body = await history(
        client,
        key,
        start_date="2025-04-06T00:00:00+11:00",
        end_date="2025-04-06T04:00:00+10:30",
        interval="hour",
        tz="Australia/Lord_Howe",
    )
    assert body["series"] == [
        zero_point("2025-04-05T13:00:00Z"),
        gpt4_point("2025-04-05T14:00:00Z", 2, 300),
        gpt4_point("2025-04-05T15:30:00Z", 1, 400),
        zero_point("2025-04-05T16:30:00Z"),
    ]


async def test_history_weekly_series_is_keyed_by_monday(
    client: httpx.AsyncClient, history_key: str
) -> None:
    body = await history(
        client, history_key, start_date="2025-06-02", end_date="2025-06-22", interval="week"
    )
    assert body["series"] == [
        gpt4_point("2025-06-02T00:00:00Z", 4, 1500),
        zero_point("2025-06-09T00:00:00Z"),
        zero_point("2025-06-16T00:00:00Z"),
    ]


async def test_history_monthly_series_is_gap_free(
    client: httpx.AsyncClient, history_key: str
) -> None:
    body = await history(
        client, history_key, start_date="2025-05-01", end_date="2025-08-31", interval="month"
    )
    assert body["series"] == [
        zero_point("2025-05-01T00:00:00Z"),
        gpt4_point("2025-06-01T00:00:00Z", 4, 1500),
        gpt4_point("2025-07-01T00:00:00Z", 1, 1600),
        zero_point("2025-08-01T00:00:00Z"),
    ]


async def test_history_events_are_newest_first_within_the_range(
    client: httpx.AsyncClient, history_key: str
) -> None:
    body = await history(client, history_key, start_date="2025-06-01", end_date="2025-06-30")
    assert [(e["timestamp"], e["input_tokens"]) for e in body["events"]] == [
        ("2025-06-04T00:00:00Z", 800),
        ("2025-06-02T13:30:00Z", 400),
        ("2025-06-02T10:55:00Z", 200),
        ("2025-06-02T10:05:00Z", 100),
    ]
    assert body["next_cursor"] is None
    first = body["events"][0]
    assert first["provider"] == "openai"
    assert first["model"] == "gpt-4"
    assert first["cost"] == 0.024
    assert first["currency"] == "USD"
    assert first["pricing_status"] == "priced"


async def test_history_includes_events_at_the_first_instant_of_the_range(
    client: httpx.AsyncClient, history_key: str
) -> None:
    # A range of instants that starts exactly on an event (answered from raw events).
    body = await history(
        client,
        history_key,
        start_date="2025-06-02T10:05:00Z",
        end_date="2025-06-02T10:55:00.001Z",
        interval="hour",
    )
    assert body["series"] == [gpt4_point("2025-06-02T10:00:00Z", 2, 300)]
    assert [e["timestamp"] for e in body["events"]] == [
        "2025-06-02T10:55:00Z",
        "2025-06-02T10:05:00Z",
    ]
    # A whole day whose only event falls at its midnight (answered from rollups).
    day = await history(client, history_key, start_date="2025-06-04", end_date="2025-06-04")
    assert day["series"] == [gpt4_point("2025-06-04T00:00:00Z", 1, 800)]
    assert [e["timestamp"] for e in day["events"]] == ["2025-06-04T00:00:00Z"]


@pytest.mark.parametrize("interval", ["minute", "year", "fortnight"])
async def test_history_unknown_interval_is_invalid_input(
    client: httpx.AsyncClient, history_key: str, interval: str
) -> None:
    response = await client.get(
        "/v1/usage/history",
        headers=bearer(history_key),
        params={"start_date": "2025-06-01", "end_date": "2025-06-30", "interval": interval},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert set(error["details"]["fields"]) == {"interval"}


@pytest.fixture(scope="module")
async def paged_key(client: httpx.AsyncClient, make_key: KeyFactory) -> tuple[str, list[str]]:
    """25 events, several sharing a timestamp, in one day; returns the key and event ids."""
    key = await make_key()
    tracked = await track_batch(
        client,
        key,
        [
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 10 + i,
                # Groups of three share a second: ordering must break ties.
                "timestamp": f"2025-09-09T{8 + i // 12:02d}:{(i // 3) % 60:02d}:00Z",
            }
            for i in range(25)
        ],
    )
    return key, [event["id"] for event in tracked]


@pytest.mark.parametrize("limit", [1, 3, 7, 24, 25, 1000])
async def test_history_cursor_walk_yields_every_event_exactly_once(
    client: httpx.AsyncClient, paged_key: tuple[str, list[str]], limit: int
) -> None:
    key, ids = paged_key
    seen: list[JsonObject] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {
            "start_date": "2025-09-09",
            "end_date": "2025-09-09",
            "limit": limit,
        }
        if cursor is not None:
            params["cursor"] = cursor
        body = await history(client, key, **params)
        pages += 1
        assert len(body["events"]) <= limit
        seen.extend(body["events"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert len(body["events"]) == limit
        assert pages <= 25
    assert pages == -(-25 // limit)
    assert sorted(e["id"] for e in seen) == sorted(ids)
    assert len({e["id"] for e in seen}) == 25
    timestamps = [e["timestamp"] for e in seen]
    assert timestamps == sorted(timestamps, reverse=True)


async def test_history_default_page_holds_one_hundred_events(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    await track_batch(
        client,
        key,
        [
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 1,
                "timestamp": f"2025-09-10T10:{i // 60:02d}:{i % 60:02d}Z",
            }
            for i in range(101)
        ],
    )
    body = await history(client, key, start_date="2025-09-10", end_date="2025-09-10")
    assert len(body["events"]) == 100
    assert body["events"][0]["timestamp"] == "2025-09-10T10:01:40Z"
    assert body["next_cursor"] is not None
    rest = await history(
        client, key, start_date="2025-09-10", end_date="2025-09-10", cursor=body["next_cursor"]
    )
    assert [e["timestamp"] for e in rest["events"]] == ["2025-09-10T10:00:00Z"]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", "1.5"])
async def test_history_limit_outside_one_to_a_thousand_is_invalid_input(
    client: httpx.AsyncClient, paged_key: tuple[str, list[str]], limit: str
) -> None:
    key, _ = paged_key
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
    client: httpx.AsyncClient, paged_key: tuple[str, list[str]], cursor: str
) -> None:
    key, _ = paged_key
    response = await client.get(
        "/v1/usage/history",
        headers=bearer(key),
        params={"start_date": "2025-09-09", "end_date": "2025-09-09", "cursor": cursor},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert set(error["details"]["fields"]) == {"cursor"}


# --------------------------------------------------------------------------------------
# Tenant isolation
# --------------------------------------------------------------------------------------


async def test_queries_never_show_another_organizations_events(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    mine = await make_key(team_id="shared-team")
    theirs = await make_key(team_id="shared-team")
    ts = "2025-10-01T12:00:00Z"
    # Mine: gpt-4 1000 * 30 = 0.03. Theirs: the same model plus another provider.
    await track(
        client,
        mine,
        provider="openai",
        model="gpt-4",
        input_tokens=1000,
        user_id="same-user",
        metadata={"feature": "x"},
        timestamp=ts,
    )
    their_events = await track_batch(
        client,
        theirs,
        [
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 50_000,
                "user_id": "same-user",
                "metadata": {"feature": "x"},
                "timestamp": ts,
            },
            {
                "provider": "anthropic",
                "model": "claude-3-opus",
                "input_tokens": 9000,
                "timestamp": "2025-10-01T12:00:01Z",
            },
        ],
    )
    window = {"start_date": "2025-10-01", "end_date": "2025-10-01"}

    for group_by, key in [
        ("provider", "openai"),
        ("model", "gpt-4"),
        ("team", "shared-team"),
        ("user", "same-user"),
        ("day", "2025-10-01"),
        ("metadata.feature", "x"),
    ]:
        assert await costs(client, mine, group_by=group_by, **window) == {
            key: {"total": 0.03, "tokens": 1000}
        }, group_by
    assert await costs(client, mine, group_by="model", team_id="shared-team", **window) == {
        "gpt-4": {"total": 0.03, "tokens": 1000}
    }
    unaligned = {"start_date": "2025-10-01T11:59:59.5Z", "end_date": "2025-10-01T12:00:02.5Z"}
    assert await costs(client, mine, **unaligned) == {"openai": {"total": 0.03, "tokens": 1000}}

    usage = await get_ok(client, mine, "/v1/usage", window)
    assert (usage["requests"], usage["input_tokens"], usage["cost"]) == (1, 1000, 0.03)
    assert list(usage["providers"]) == ["openai"]

    body = await history(client, mine, interval="day", **window)
    assert [point["requests"] for point in body["series"]] == [1]
    assert [event["input_tokens"] for event in body["events"]] == [1000]

    # Their cursor, pointing past their newest event, shows nothing of theirs to me.
    their_page = await history(client, theirs, limit=1, **window)
    assert their_page["events"][0]["id"] == their_events[1]["id"]
    through_mine = await history(client, mine, cursor=their_page["next_cursor"], **window)
    assert [event["input_tokens"] for event in through_mine["events"]] == [1000]
