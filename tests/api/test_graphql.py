"""GraphQL at POST /graphql: queries, mutations, error codes, and parity with REST.

Expected amounts come from catalogue prices (USD per 1M tokens): gpt-4 30/60,
gpt-4-turbo 10/30, o1 15/60 (cached 7.50), claude-3-opus 15/75 (from 2024-03-04),
gemini-pro 0.50/1.50, mistral-medium 2.70/8.10 (2024), mistral-large 2/6 (2025),
command-r-plus 2.50/10 (2025), command-r7b 0.0375/0.15.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import httpx
import pytest

from meterr.auth import Role
from tests.conftest import KeyFactory, bearer, json_usd
from tests.support.graphql import as_input, camel, data_of, error_of, graphql

JsonObject = dict[str, Any]

MICRO = Decimal("0.000001")
NANO = Decimal("0.000000001")

TOTALS_FIELDS = """
    requests inputTokens outputTokens cachedInputTokens cacheWriteTokens reasoningTokens
    tokens total totalExact unpricedRequests
"""

EVENT_FIELDS = """
    id eventId timestamp provider model endpoint teamId userId apiKeyId metadata
    inputTokens outputTokens cachedInputTokens cacheWriteTokens reasoningTokens
    cost costExact pricingStatus
    costBreakdown { input output cacheRead cacheWrite reasoning total totalExact }
    price { provider model origin input output cachedInput reasoning longContext }
"""


TRACK = f"""
mutation Track($input: TrackUsageInput!, $idempotencyKey: String) {{
  trackUsage(input: $input, idempotencyKey: $idempotencyKey) {{
    replayed
    event {{ {EVENT_FIELDS} }}
  }}
}}
"""

TRACK_BATCH = f"""
mutation TrackBatch($events: [TrackUsageInput!]!) {{
  trackUsageBatch(events: $events) {{ replayed event {{ {EVENT_FIELDS} }} }}
}}
"""

COSTS = """
query Costs($start: String, $end: String, $groupBy: CostDimension!, $metadataKey: String,
            $filter: UsageFilterInput, $tz: String) {
  costs(startDate: $start, endDate: $end, groupBy: $groupBy, metadataKey: $metadataKey,
        filter: $filter, tz: $tz) {
    key total tokens totalExact requests unpricedRequests
  }
}
"""

USAGE = f"""
query Usage($start: String, $end: String, $filter: UsageFilterInput, $tz: String) {{
  usage(startDate: $start, endDate: $end, filter: $filter, tz: $tz) {{
    start end
    totals {{ {TOTALS_FIELDS} }}
    providers {{ key {TOTALS_FIELDS} }}
  }}
}}
"""

HISTORY = f"""
query History($start: String, $end: String, $interval: String!, $tz: String) {{
  usageHistory(startDate: $start, endDate: $end, interval: $interval, tz: $tz) {{
    start {TOTALS_FIELDS}
  }}
}}
"""

EVENTS = f"""
query Events($start: String, $end: String, $first: Int!, $after: String,
             $filter: UsageFilterInput) {{
  events(startDate: $start, endDate: $end, first: $first, after: $after, filter: $filter) {{
    nodes {{ {EVENT_FIELDS} }}
    nextCursor
    hasNextPage
  }}
}}
"""


async def track_gql(client: httpx.AsyncClient, key: str, body: JsonObject) -> JsonObject:
    data = await data_of(client, key, TRACK, {"input": as_input(body)})
    tracked: JsonObject = data["trackUsage"]
    return tracked


async def track_batch_gql(
    client: httpx.AsyncClient, key: str, bodies: list[JsonObject]
) -> list[JsonObject]:
    data = await data_of(client, key, TRACK_BATCH, {"events": [as_input(b) for b in bodies]})
    tracked: list[JsonObject] = data["trackUsageBatch"]
    assert len(tracked) == len(bodies)
    return tracked


async def costs_gql(client: httpx.AsyncClient, key: str, **variables: Any) -> list[JsonObject]:
    data = await data_of(client, key, COSTS, {"groupBy": "PROVIDER", **variables})
    groups: list[JsonObject] = data["costs"]
    return groups


def key_total_tokens(groups: list[JsonObject]) -> list[JsonObject]:
    return [{"key": g["key"], "total": g["total"], "tokens": g["tokens"]} for g in groups]


# --------------------------------------------------------------------------------------
# Query.costs
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def january_key(client: httpx.AsyncClient, make_key: KeyFactory) -> str:
    """Events in January 2024, plus one on 1 February."""
    key = await make_key()
    await track_batch_gql(
        client,
        key,
        [
            # 10000 * 30 + 5000 * 60 = 0.30 + 0.30 = 0.60
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 10_000,
                "output_tokens": 5000,
                "timestamp": "2024-01-15T12:00:00Z",
                "metadata": {"feature": "chat"},
            },
            # 100000 * 2.70 + 20000 * 8.10 = 0.27 + 0.162 = 0.432
            {
                "provider": "mistral",
                "model": "mistral-medium",
                "input_tokens": 100_000,
                "output_tokens": 20_000,
                "timestamp": "2024-01-31T23:59:59Z",
                "metadata": {"feature": "summaries"},
            },
            # claude-3-opus had no price before March 2024: counted, unpriced.
            {
                "provider": "anthropic",
                "model": "claude-3-opus",
                "input_tokens": 1000,
                "output_tokens": 100,
                "timestamp": "2024-01-02T00:00:00Z",
            },
            # Outside January.
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 1000,
                "timestamp": "2024-02-01T00:00:00Z",
            },
        ],
    )
    return key


async def test_costs_by_provider_answers_a_list_of_groups(
    client: httpx.AsyncClient, january_key: str
) -> None:
    data = await data_of(
        client,
        january_key,
        '{ costs(startDate: "2024-01-01", endDate: "2024-01-31", groupBy: PROVIDER) '
        "{ key total tokens } }",
    )
    assert data == {
        "costs": [
            {"key": "openai", "total": 0.6, "tokens": 15_000},
            {"key": "mistral", "total": 0.432, "tokens": 120_000},
            {"key": "anthropic", "total": 0.0, "tokens": 1100},
        ]
    }


async def test_costs_groups_carry_exact_totals_and_unpriced_counts(
    client: httpx.AsyncClient, january_key: str
) -> None:
    groups = await costs_gql(client, january_key, start="2024-01-01", end="2024-01-31")
    by_key = {g["key"]: g for g in groups}
    assert Decimal(by_key["openai"]["totalExact"]) == Decimal("0.6")
    assert Decimal(by_key["mistral"]["totalExact"]) == Decimal("0.432")
    assert Decimal(by_key["anthropic"]["totalExact"]) == 0
    assert [(g["key"], g["requests"], g["unpricedRequests"]) for g in groups] == [
        ("openai", 1, 0),
        ("mistral", 1, 0),
        ("anthropic", 1, 1),
    ]


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        pytest.param(
            {"groupBy": "MODEL"},
            [
                {"key": "gpt-4", "total": 0.6, "tokens": 15_000},
                {"key": "mistral-medium", "total": 0.432, "tokens": 120_000},
                {"key": "claude-3-opus", "total": 0.0, "tokens": 1100},
            ],
            id="model",
        ),
        pytest.param(
            {"groupBy": "METADATA", "metadataKey": "feature"},
            [
                {"key": "chat", "total": 0.6, "tokens": 15_000},
                {"key": "summaries", "total": 0.432, "tokens": 120_000},
                {"key": "(none)", "total": 0.0, "tokens": 1100},
            ],
            id="metadata",
        ),
        pytest.param(
            {"groupBy": "TEAM"},
            [{"key": "(none)", "total": 1.032, "tokens": 136_100}],
            id="team-none",
        ),
        pytest.param(
            {"groupBy": "DAY"},
            [
                {"key": "2024-01-02", "total": 0.0, "tokens": 1100},
                {"key": "2024-01-15", "total": 0.6, "tokens": 15_000},
                {"key": "2024-01-31", "total": 0.432, "tokens": 120_000},
            ],
            id="day-utc",
        ),
        pytest.param(
            # 2024-01-31T23:59:59Z is 1 February in Paris; the Paris range ends at
            # 2024-01-31T23:00:00Z, so that event is outside it.
            {"groupBy": "DAY", "tz": "Europe/Paris"},
            [
                {"key": "2024-01-02", "total": 0.0, "tokens": 1100},
                {"key": "2024-01-15", "total": 0.6, "tokens": 15_000},
            ],
            id="day-paris",
        ),
        pytest.param(
            {"groupBy": "MONTH", "end": "2024-02-29"},
            [
                {"key": "2024-01", "total": 1.032, "tokens": 136_100},
                {"key": "2024-02", "total": 0.03, "tokens": 1000},
            ],
            id="month",
        ),
        pytest.param(
            {"filter": {"providers": ["OpenAI", "anthropic"]}},
            [
                {"key": "openai", "total": 0.6, "tokens": 15_000},
                {"key": "anthropic", "total": 0.0, "tokens": 1100},
            ],
            id="filter-providers",
        ),
        pytest.param(
            {"groupBy": "MODEL", "filter": {"models": ["mistral-medium"]}},
            [{"key": "mistral-medium", "total": 0.432, "tokens": 120_000}],
            id="filter-models",
        ),
    ],
)
async def test_costs_group_and_filter_like_rest(
    client: httpx.AsyncClient,
    january_key: str,
    variables: JsonObject,
    expected: list[JsonObject],
) -> None:
    groups = await costs_gql(
        client, january_key, **{"start": "2024-01-01", "end": "2024-01-31", **variables}
    )
    assert key_total_tokens(groups) == expected


# --------------------------------------------------------------------------------------
# Query.usage, Query.usageHistory, Query.events
# --------------------------------------------------------------------------------------


async def test_usage_query_reports_totals_and_providers(
    client: httpx.AsyncClient, january_key: str
) -> None:
    data = await data_of(client, january_key, USAGE, {"start": "2024-01-01", "end": "2024-01-31"})
    usage = data["usage"]
    assert usage["start"] == "2024-01-01T00:00:00+00:00"
    assert usage["end"] == "2024-02-01T00:00:00+00:00"
    assert usage["totals"] == {
        "requests": 3,
        "inputTokens": 111_000,
        "outputTokens": 25_100,
        "cachedInputTokens": 0,
        "cacheWriteTokens": 0,
        "reasoningTokens": 0,
        "tokens": 136_100,
        "total": 1.032,
        "totalExact": usage["totals"]["totalExact"],
        "unpricedRequests": 1,
    }
    assert Decimal(usage["totals"]["totalExact"]) == Decimal("1.032")
    assert [(p["key"], p["requests"], p["total"]) for p in usage["providers"]] == [
        ("openai", 1, 0.6),
        ("mistral", 1, 0.432),
        ("anthropic", 1, 0.0),
    ]


async def test_usage_history_query_is_gap_free(client: httpx.AsyncClient, january_key: str) -> None:
    data = await data_of(
        client,
        january_key,
        HISTORY,
        {"start": "2024-01-15T10:00:00Z", "end": "2024-01-15T14:00:00Z", "interval": "hour"},
    )
    points = [(p["start"], p["requests"], p["tokens"], p["total"]) for p in data["usageHistory"]]
    assert points == [
        ("2024-01-15T10:00:00+00:00", 0, 0, 0.0),
        ("2024-01-15T11:00:00+00:00", 0, 0, 0.0),
        ("2024-01-15T12:00:00+00:00", 1, 15_000, 0.6),
        ("2024-01-15T13:00:00+00:00", 0, 0, 0.0),
    ]
    monthly = await data_of(
        client,
        january_key,
        HISTORY,
        {"start": "2023-12-01", "end": "2024-02-29", "interval": "month"},
    )
    assert [(p["start"], p["requests"], p["total"]) for p in monthly["usageHistory"]] == [
        ("2023-12-01T00:00:00+00:00", 0, 0.0),
        ("2024-01-01T00:00:00+00:00", 3, 1.032),
        ("2024-02-01T00:00:00+00:00", 1, 0.03),
    ]


async def test_usage_history_rejects_an_unknown_interval(
    client: httpx.AsyncClient, january_key: str
) -> None:
    error = await error_of(
        client, january_key, HISTORY, {"start": "2024-01-01", "interval": "decade"}
    )
    assert error["extensions"]["code"] == "invalid_input"
    assert set(error["extensions"]["details"]["fields"]) == {"interval"}


async def test_events_connection_pages_newest_first_to_the_end(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    tracked = await track_batch_gql(
        client,
        key,
        [
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 100 + i,
                "timestamp": f"2025-04-0{1 + i // 4}T12:00:0{i % 2}Z",
            }
            for i in range(11)
        ],
    )
    ids = {item["event"]["id"] for item in tracked}
    seen: list[JsonObject] = []
    after: str | None = None
    has_next = True
    pages = 0
    while has_next:
        data = await data_of(
            client,
            key,
            EVENTS,
            {"start": "2025-04-01", "end": "2025-04-30", "first": 4, "after": after},
        )
        page = data["events"]
        pages += 1
        seen.extend(page["nodes"])
        has_next = page["hasNextPage"]
        after = page["nextCursor"]
        assert (after is not None) == has_next
        assert len(page["nodes"]) == (4 if has_next else 3)
        assert pages <= 3
    assert pages == 3
    assert {node["id"] for node in seen} == ids
    assert len(seen) == 11
    stamps = [node["timestamp"] for node in seen]
    assert stamps == sorted(stamps, reverse=True)
    assert seen[0]["timestamp"] == "2025-04-03T12:00:01+00:00"


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        pytest.param({"first": 0}, "limit", id="first-zero"),
        pytest.param({"first": 1001}, "limit", id="first-too-big"),
        pytest.param({"first": 10, "after": "bm90LWEtY3Vyc29y"}, "cursor", id="bad-cursor"),
    ],
)
async def test_events_connection_rejects_bad_paging(
    client: httpx.AsyncClient, january_key: str, variables: JsonObject, field: str
) -> None:
    error = await error_of(
        client, january_key, EVENTS, {"start": "2024-01-01", "end": "2024-01-31", **variables}
    )
    assert error["extensions"]["code"] == "invalid_input"
    assert set(error["extensions"]["details"]["fields"]) == {field}


async def test_events_connection_accepts_a_thousand_per_page(
    client: httpx.AsyncClient, january_key: str
) -> None:
    data = await data_of(
        client, january_key, EVENTS, {"start": "2024-01-01", "end": "2024-02-29", "first": 1000}
    )
    assert len(data["events"]["nodes"]) == 4
    assert data["events"]["hasNextPage"] is False
    assert data["events"]["nextCursor"] is None


# --------------------------------------------------------------------------------------
# Exactness: per-event exact costs add up to the exact group totals
# --------------------------------------------------------------------------------------


async def test_sum_of_exact_event_costs_equals_total_exact_on_rollups_and_raw_events(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    bodies = [
        {
            "provider": "cohere",
            "model": "command-r7b",
            "input_tokens": 1001 + 37 * i,
            "output_tokens": 333 + 11 * i,
            "timestamp": f"2025-05-10T{10 + i % 3:02d}:{(7 * i) % 60:02d}:{i % 60:02d}Z",
        }
        for i in range(37)
    ]
    await track_batch_gql(client, key, bodies)
    data = await data_of(
        client, key, EVENTS, {"start": "2025-05-10", "end": "2025-05-10", "first": 100}
    )
    nodes = data["events"]["nodes"]
    assert len(nodes) == 37
    exact = sum((Decimal(n["costBreakdown"]["totalExact"]) for n in nodes), Decimal(0))
    assert exact == sum((Decimal(n["costExact"]) for n in nodes), Decimal(0))
    # Worked independently: each component rounded half even to the nano-dollar.
    million = Decimal(1_000_000)
    expected = sum(
        (
            (Decimal(b["input_tokens"]) * Decimal("0.0375") / million).quantize(
                NANO, rounding=ROUND_HALF_EVEN
            )
            + (Decimal(b["output_tokens"]) * Decimal("0.15") / million).quantize(
                NANO, rounding=ROUND_HALF_EVEN
            )
            for b in bodies
        ),
        Decimal(0),
    )
    assert exact == expected
    # Rounding each event to six decimals first would not give the same total.
    assert sum(Decimal(str(n["cost"])) for n in nodes) != exact.quantize(MICRO)

    ranges = [
        ("2025-05-10T10:00:00Z", "2025-05-10T13:00:00Z"),  # whole hours: rollups
        ("2025-05-10", "2025-05-10"),  # whole days: rollups
        ("2025-05-10T09:59:59.999Z", "2025-05-10T12:59:59.5Z"),  # raw events
        ("2025-05-10T10:00:00.000Z", "2025-05-10T12:59:59.5Z"),  # raw, from the first event
    ]
    for start, end in ranges:
        for group_by in ("PROVIDER", "MODEL", "DAY"):
            groups = await costs_gql(client, key, start=start, end=end, groupBy=group_by)
            assert len(groups) == 1, (start, group_by)
            assert Decimal(groups[0]["totalExact"]) == exact, (start, end, group_by)
            assert groups[0]["total"] == json_usd(exact)
            assert groups[0]["requests"] == 37
        usage = await data_of(client, key, USAGE, {"start": start, "end": end})
        assert Decimal(usage["usage"]["totals"]["totalExact"]) == exact


# --------------------------------------------------------------------------------------
# Mutations
# --------------------------------------------------------------------------------------


async def test_track_usage_prices_and_returns_the_event(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    tracked = await track_gql(
        client,
        key,
        {
            "provider": "OpenAI",
            "model": "gpt-4o",
            "input_tokens": 10_000,
            "cached_input_tokens": 4000,
            "output_tokens": 2000,
            "endpoint": "/v1/chat/completions",
            "metadata": {"user_id": "user_123", "session": "chat_456"},
            "timestamp": "2025-01-20T08:30:00Z",
            "team_id": "growth",
        },
    )
    assert tracked["replayed"] is False
    event = tracked["event"]
    # 6000 * 2.50 + 4000 * 1.25 + 2000 * 10 = 0.015 + 0.005 + 0.02 = 0.04
    assert event["provider"] == "openai"
    assert event["model"] == "gpt-4o"
    assert event["timestamp"] == "2025-01-20T08:30:00+00:00"
    assert (event["teamId"], event["userId"]) == ("growth", "user_123")
    assert event["metadata"] == {"user_id": "user_123", "session": "chat_456"}
    assert event["cost"] == 0.04
    assert Decimal(event["costExact"]) == Decimal("0.04")
    assert event["costBreakdown"] == {
        "input": 0.015,
        "output": 0.02,
        "cacheRead": 0.005,
        "cacheWrite": 0.0,
        "reasoning": 0.0,
        "total": 0.04,
        "totalExact": event["costBreakdown"]["totalExact"],
    }
    assert event["pricingStatus"] == "priced"
    assert event["price"]["origin"] == "catalogue"
    assert (event["price"]["input"], event["price"]["output"]) == ("2.50", "10.00")
    groups = await costs_gql(client, key, start="2025-01-20", end="2025-01-20")
    assert key_total_tokens(groups) == [{"key": "openai", "total": 0.04, "tokens": 12_000}]


async def test_track_usage_with_the_same_idempotency_key_replays(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    body = {
        "provider": "openai",
        "model": "gpt-4",
        "input_tokens": 1000,
        "timestamp": "2025-01-20T08:30:00Z",
    }
    variables = {"input": as_input(body), "idempotencyKey": "req-42"}
    first = (await data_of(client, key, TRACK, variables))["trackUsage"]
    again = (await data_of(client, key, TRACK, variables))["trackUsage"]
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["event"]["id"] == first["event"]["id"]
    assert again["event"]["eventId"] == "req-42"
    groups = await costs_gql(client, key, start="2025-01-20", end="2025-01-20")
    assert key_total_tokens(groups) == [{"key": "openai", "total": 0.03, "tokens": 1000}]


async def test_track_usage_batch_is_all_or_nothing(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    good = {
        "provider": "openai",
        "model": "gpt-4",
        "input_tokens": 1000,
        "timestamp": "2025-01-21T08:00:00Z",
    }
    bad = {**good, "input_tokens": 10, "cached_input_tokens": 20}
    error = await error_of(client, key, TRACK_BATCH, {"events": [as_input(good), as_input(bad)]})
    assert error["extensions"]["code"] == "invalid_input"
    assert set(error["extensions"]["details"]["fields"]) == {"events[1].cached_input_tokens"}
    assert await costs_gql(client, key, start="2025-01-21", end="2025-01-21") == []

    tracked = await track_batch_gql(client, key, [good, {**good, "model": "gpt-4-turbo"}])
    assert [item["event"]["cost"] for item in tracked] == [0.03, 0.01]
    assert [item["replayed"] for item in tracked] == [False, False]


async def test_prices_query_lists_catalogue_prices(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key(role=Role.READ)
    data = await data_of(
        client,
        key,
        '{ prices(provider: "openai") { provider model origin input output cachedInput } }',
    )
    prices = {p["model"]: p for p in data["prices"]}
    assert {p["provider"] for p in data["prices"]} == {"openai"}
    assert prices["gpt-4"] == {
        "provider": "openai",
        "model": "gpt-4",
        "origin": "catalogue",
        "input": "30.00",
        "output": "60.00",
        "cachedInput": "30.00",
    }
    # The latest gpt-4o price is the one in force now.
    assert (prices["gpt-4o"]["input"], prices["gpt-4o"]["output"]) == ("2.50", "10.00")
    assert prices["gpt-4o"]["cachedInput"] == "1.25"


async def test_set_price_override_wins_from_its_date_and_prices_unpriced_events(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    await track_batch_gql(
        client,
        key,
        [
            {
                "provider": "openai",
                "model": "gpt-4",
                "input_tokens": 1000,
                "output_tokens": 1000,
                "timestamp": "2024-12-31T23:00:00Z",
            },
            {
                "provider": "openai",
                "model": "in-house-llm",
                "input_tokens": 1000,
                "output_tokens": 1000,
                "timestamp": "2025-02-01T00:00:00Z",
            },
        ],
    )
    override = await data_of(
        client,
        key,
        """
        mutation {
          setPriceOverride(input: {provider: "openai", model: "in-house-llm", input: "1.5",
                                   output: "4.5", note: "self-hosted"}) {
            provider model origin source input output
          }
        }
        """,
    )
    assert override["setPriceOverride"] == {
        "provider": "openai",
        "model": "in-house-llm",
        "origin": "override",
        "source": "self-hosted",
        "input": "1.5",
        "output": "4.5",
    }
    await data_of(
        client,
        key,
        """
        mutation {
          setPriceOverride(input: {provider: "openai", model: "gpt-4", input: "20",
                                   output: "40", effectiveFrom: "2025-01-01T00:00:00Z"}) {
            origin
          }
        }
        """,
    )
    # gpt-4 before the override keeps the catalogue price: 0.03 + 0.06.
    before = await track_gql(
        client,
        key,
        {
            "provider": "openai",
            "model": "gpt-4",
            "input_tokens": 1000,
            "output_tokens": 1000,
            "timestamp": "2024-12-31T23:30:00Z",
        },
    )
    after = await track_gql(
        client,
        key,
        {
            "provider": "openai",
            "model": "gpt-4",
            "input_tokens": 1000,
            "output_tokens": 1000,
            "timestamp": "2025-01-01T00:00:00Z",
        },
    )
    assert (before["event"]["cost"], before["event"]["price"]["origin"]) == (0.09, "catalogue")
    assert (after["event"]["cost"], after["event"]["price"]["origin"]) == (0.06, "override")

    groups = await costs_gql(client, key, start="2024-12-01", end="2025-02-28", groupBy="MODEL")
    # gpt-4: 0.09 + 0.09 + 0.06; in-house-llm priced by its override: 0.0015 + 0.0045.
    assert key_total_tokens(groups) == [
        {"key": "gpt-4", "total": 0.24, "tokens": 6000},
        {"key": "in-house-llm", "total": 0.006, "tokens": 2000},
    ]
    assert [g["unpricedRequests"] for g in groups] == [0, 0]
    prices = await data_of(
        client, key, '{ prices(provider: "openai") { model origin input output } }'
    )
    listed = {p["model"]: p for p in prices["prices"]}
    assert listed["gpt-4"] == {
        "model": "gpt-4",
        "origin": "override",
        "input": "20",
        "output": "40",
    }


async def test_prices_query_lists_an_override_for_a_model_outside_the_catalogue(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    await data_of(
        client,
        key,
        """
        mutation {
          setPriceOverride(input: {provider: "openai", model: "in-house-llm", input: "1.5",
                                   output: "4.5"}) { origin }
        }
        """,
    )
    prices = await data_of(
        client, key, '{ prices(provider: "openai") { model origin input output } }'
    )
    listed = {p["model"]: p for p in prices["prices"]}
    assert listed["in-house-llm"] == {
        "model": "in-house-llm",
        "origin": "override",
        "input": "1.5",
        "output": "4.5",
    }
    assert listed["gpt-4"]["origin"] == "catalogue"


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


async def test_negative_tokens_are_invalid_input_naming_the_field(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    error = await error_of(
        client,
        key,
        TRACK,
        {"input": {"provider": "openai", "model": "gpt-4", "inputTokens": -5}},
    )
    assert error["extensions"]["code"] == "invalid_input"
    assert set(error["extensions"]["details"]["fields"]) == {"input_tokens"}
    assert error["path"] == ["trackUsage"]


async def test_a_read_key_may_not_track_usage(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key(role=Role.READ)
    error = await error_of(
        client, key, TRACK, {"input": {"provider": "openai", "model": "gpt-4", "inputTokens": 5}}
    )
    assert error["extensions"]["code"] == "forbidden"
    batch = await error_of(
        client,
        key,
        TRACK_BATCH,
        {"events": [{"provider": "openai", "model": "gpt-4", "inputTokens": 5}]},
    )
    assert batch["extensions"]["code"] == "forbidden"


async def test_a_write_key_may_track_but_not_read_or_set_prices(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key(role=Role.WRITE)
    await track_gql(client, key, {"provider": "openai", "model": "gpt-4", "input_tokens": 5})
    for query in (
        '{ costs(startDate: "2025-01-01", endDate: "2025-01-31") { key } }',
        "{ usage { totals { requests } } }",
        "{ events { nodes { id } } }",
        'mutation { setPriceOverride(input: {provider: "openai", model: "gpt-4", '
        'input: "1", output: "2"}) { origin } }',
        "mutation { importPrices(file: {}) { repriced } }",
    ):
        error = await error_of(client, key, query)
        assert error["extensions"]["code"] == "forbidden", query


async def test_a_litellm_price_file_is_imported_through_graphql_as_through_rest(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    await track_gql(
        client, key, {"provider": "mistral", "model": "house-7b", "input_tokens": 10**6}
    )
    file = {
        "mistral/house-7b": {
            "litellm_provider": "mistral",
            "mode": "chat",
            "input_cost_per_token": 2.5e-07,
            "output_cost_per_token": 2.5e-07,
        },
        "mistral-embed": {"litellm_provider": "mistral", "mode": "embedding"},
    }
    mutation = """
    mutation Import($file: JSON!, $dryRun: Boolean!) {
      importPrices(file: $file, dryRun: $dryRun) {
        dryRun imported { provider model } skipped { entry reason } repriced
      }
    }
    """
    dry = await data_of(client, key, mutation, {"file": file, "dryRun": True})
    assert dry["importPrices"] == {
        "dryRun": True,
        "imported": [{"provider": "mistral", "model": "house-7b"}],
        "skipped": [{"entry": "mistral-embed", "reason": "mode embedding is not a text model"}],
        "repriced": 0,
    }
    done = await data_of(client, key, mutation, {"file": file, "dryRun": False})
    assert done["importPrices"]["repriced"] == 1, "the unpriced event is priced by the import"
    costs = await data_of(client, key, "{ costs(groupBy: MODEL) { key total } }")
    assert {"key": "house-7b", "total": 0.25} in costs["costs"]
    refused = await error_of(client, key, "mutation { importPrices(file: [1]) { repriced } }")
    assert refused["extensions"]["code"] == "invalid_input"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, id="wrong-scheme"),
        pytest.param({"Authorization": "Bearer mtr_nope_nope"}, id="unknown-key"),
    ],
)
async def test_unauthenticated_requests_get_http_401(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post(
        "/graphql", headers=headers, json={"query": "{ prices { model } }"}
    )
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["unauthenticated"]


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        pytest.param({"start": "2024-02-30"}, "start_date", id="bad-date"),
        pytest.param({"end": "soon"}, "end_date", id="bad-end"),
        pytest.param({"tz": "Atlantis/Capital"}, "tz", id="unknown-zone"),
        pytest.param({"start": "2024-02-02", "end": "2024-02-01"}, "end_date", id="end-before"),
        pytest.param({"groupBy": "METADATA"}, "group_by", id="metadata-without-key"),
        pytest.param({"groupBy": "METADATA", "metadataKey": "a.b"}, "group_by", id="bad-key"),
        pytest.param({"metadataKey": "feature"}, "metadataKey", id="key-without-metadata"),
    ],
)
async def test_bad_costs_arguments_are_invalid_input_naming_the_field(
    client: httpx.AsyncClient, january_key: str, variables: JsonObject, field: str
) -> None:
    error = await error_of(
        client,
        january_key,
        COSTS,
        {"start": "2024-01-01", "end": "2024-01-31", "groupBy": "PROVIDER", **variables},
    )
    assert error["extensions"]["code"] == "invalid_input"
    assert set(error["extensions"]["details"]["fields"]) == {field}


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("{ costs(groupBy: COLOUR) { key } }", id="unknown-enum"),
        pytest.param("{ costs { key nonsense } }", id="unknown-field"),
        pytest.param("{ costs { key ", id="syntax"),
    ],
)
async def test_malformed_operations_are_invalid_input(
    client: httpx.AsyncClient, january_key: str, query: str
) -> None:
    body = await graphql(client, january_key, query)
    assert body["errors"]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"invalid_input"}


async def test_graphql_queries_never_show_another_organizations_events(
    client: httpx.AsyncClient, make_key: KeyFactory, january_key: str
) -> None:
    other = await make_key()
    await track_gql(
        client,
        other,
        {
            "provider": "openai",
            "model": "gpt-4",
            "input_tokens": 7,
            "timestamp": "2024-01-15T12:00:00Z",
        },
    )
    window = {"start": "2024-01-01", "end": "2024-01-31"}
    assert key_total_tokens(await costs_gql(client, other, **window)) == [
        {"key": "openai", "total": 0.00021, "tokens": 7}
    ]
    usage = await data_of(client, other, USAGE, window)
    assert usage["usage"]["totals"]["requests"] == 1
    events = await data_of(client, other, EVENTS, {**window, "first": 100})
    assert [node["inputTokens"] for node in events["events"]["nodes"]] == [7]
    history = await data_of(client, other, HISTORY, {**window, "interval": "month"})
    assert [p["requests"] for p in history["usageHistory"]] == [1]
    # And the January organization still sees only its own three events.
    mine = await data_of(client, january_key, USAGE, window)
    assert mine["usage"]["totals"]["requests"] == 3


# --------------------------------------------------------------------------------------
# Parity: the same cases through REST and GraphQL
# --------------------------------------------------------------------------------------

PARITY_EVENTS: list[JsonObject] = [
    # 1500 * 30 + 500 * 60 = 0.045 + 0.03 = 0.075
    {
        "provider": "openai",
        "model": "gpt-4",
        "input_tokens": 1500,
        "output_tokens": 500,
        "endpoint": "/v1/chat/completions",
        "metadata": {"user_id": "user_123", "session": "c1"},
        "timestamp": "2025-08-05T10:00:00Z",
        "event_id": "parity-1",
    },
    # 2000 * 15 + 800 * 75 = 0.03 + 0.06 = 0.09
    {
        "provider": "anthropic",
        "model": "claude-3-opus",
        "input_tokens": 2000,
        "output_tokens": 800,
        "endpoint": "/v1/messages",
        "metadata": {"user_id": "user_123", "purpose": "analysis"},
        "timestamp": "2025-08-05T11:00:00Z",
        "event_id": "parity-2",
    },
    # 1200 * 0.50 + 600 * 1.50 = 0.0006 + 0.0009 = 0.0015
    {
        "provider": "google",
        "model": "gemini-pro",
        "input_tokens": 1200,
        "output_tokens": 600,
        "timestamp": "2025-08-06T12:00:00Z",
        "event_id": "parity-3",
    },
    # 1800 * 10 + 700 * 30 = 0.018 + 0.021 = 0.039
    {
        "provider": "azure",
        "model": "gpt-4-turbo",
        "input_tokens": 1800,
        "output_tokens": 700,
        "metadata": {"deployment": "production"},
        "timestamp": "2025-08-07T13:00:00Z",
        "event_id": "parity-4",
    },
    # 900 * 2 + 400 * 6 = 0.0018 + 0.0024 = 0.0042
    {
        "provider": "mistral",
        "model": "mistral-large",
        "input_tokens": 900,
        "output_tokens": 400,
        "team_id": "engineering",
        "timestamp": "2025-08-08T14:00:00Z",
        "event_id": "parity-5",
    },
    # 1100 * 2.50 + 550 * 10 = 0.00275 + 0.0055 = 0.00825
    {
        "provider": "cohere",
        "model": "command-r-plus",
        "input_tokens": 1100,
        "output_tokens": 550,
        "timestamp": "2025-08-09T15:00:00Z",
        "event_id": "parity-6",
    },
    # 6000 * 15 + 4000 * 7.50 + 1000 * 60 + 2000 * 60 = 0.09 + 0.03 + 0.06 + 0.12 = 0.30
    {
        "provider": "openai",
        "model": "o1",
        "input_tokens": 10_000,
        "cached_input_tokens": 4000,
        "output_tokens": 3000,
        "reasoning_tokens": 2000,
        "timestamp": "2025-08-10T16:00:00Z",
        "event_id": "parity-7",
    },
    # 1001 * 0.0375 = 0.0000375375 -> 0.000037538; 333 * 0.15 = 0.00004995
    {
        "provider": "cohere",
        "model": "command-r7b",
        "input_tokens": 1001,
        "output_tokens": 333,
        "timestamp": "2025-08-11T17:00:00Z",
        "event_id": "parity-8",
    },
    # No price: counted, unpriced.
    {
        "provider": "openai",
        "model": "in-house-llm",
        "input_tokens": 500,
        "output_tokens": 50,
        "timestamp": "2025-08-12T18:00:00Z",
        "event_id": "parity-9",
    },
]

PARITY_BY_PROVIDER = {
    "openai": {"total": 0.375, "tokens": 15_550},
    "anthropic": {"total": 0.09, "tokens": 2800},
    "azure": {"total": 0.039, "tokens": 2500},
    "cohere": {"total": 0.008337, "tokens": 2984},
    "mistral": {"total": 0.0042, "tokens": 1300},
    "google": {"total": 0.0015, "tokens": 1800},
}

PARITY_BY_MODEL = {
    "o1": {"total": 0.3, "tokens": 13_000},
    "claude-3-opus": {"total": 0.09, "tokens": 2800},
    "gpt-4": {"total": 0.075, "tokens": 2000},
    "gpt-4-turbo": {"total": 0.039, "tokens": 2500},
    "command-r-plus": {"total": 0.00825, "tokens": 1650},
    "mistral-large": {"total": 0.0042, "tokens": 1300},
    "gemini-pro": {"total": 0.0015, "tokens": 1800},
    "command-r7b": {"total": 0.000087, "tokens": 1334},
    "in-house-llm": {"total": 0.0, "tokens": 550},
}

PARITY_TOTALS = {
    "requests": 9,
    "input_tokens": 20_001,
    "output_tokens": 6933,
    "cached_input_tokens": 4000,
    "cache_write_tokens": 0,
    "reasoning_tokens": 2000,
    "tokens": 26_934,
    "cost": 0.518037,
    "unpriced_requests": 1,
}

REST_EVENT_FIELDS = (
    "event_id",
    "timestamp",
    "provider",
    "model",
    "endpoint",
    "team_id",
    "user_id",
    "metadata",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost",
    "pricing_status",
)


def gql_event_as_rest(event: JsonObject) -> JsonObject:
    shaped = {name: event[camel(name)] for name in REST_EVENT_FIELDS}
    shaped["timestamp"] = shaped["timestamp"].replace("+00:00", "Z")
    return shaped


async def rest_error_code(client: httpx.AsyncClient, key: str, body: Any) -> tuple[str, Any]:
    response = await client.post("/v1/track", headers=bearer(key), json=body)
    error = response.json()["error"]
    return error["code"], error["details"]


async def test_rest_and_graphql_agree_on_the_same_cases(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    rest_key = await make_key()
    gql_key = await make_key()

    # Track: the first six one by one, the rest as a batch, through each door.
    rest_tracked: list[JsonObject] = []
    for body in PARITY_EVENTS[:6]:
        response = await client.post("/v1/track", headers=bearer(rest_key), json=body)
        assert response.status_code == 201, response.text
        rest_tracked.append(response.json())
    response = await client.post(
        "/v1/track", headers=bearer(rest_key), json={"events": PARITY_EVENTS[6:]}
    )
    assert response.status_code == 201, response.text
    rest_tracked.extend(response.json()["events"])
    gql_tracked = [await track_gql(client, gql_key, body) for body in PARITY_EVENTS[:6]]
    gql_tracked.extend(await track_batch_gql(client, gql_key, PARITY_EVENTS[6:]))

    assert [e["replayed"] for e in rest_tracked] == [False] * 9
    assert [e["replayed"] for e in gql_tracked] == [False] * 9
    assert [{name: e[name] for name in REST_EVENT_FIELDS} for e in rest_tracked] == [
        gql_event_as_rest(item["event"]) for item in gql_tracked
    ]
    assert [e["cost"] for e in rest_tracked] == [
        0.075,
        0.09,
        0.0015,
        0.039,
        0.0042,
        0.00825,
        0.3,
        0.000087,
        None,
    ]
    for rest_event, item in zip(rest_tracked, gql_tracked, strict=True):
        gql_breakdown = item["event"]["costBreakdown"]
        if rest_event["cost_breakdown"] is None:
            assert gql_breakdown is None
            continue
        assert rest_event["cost_breakdown"] == {
            "input": gql_breakdown["input"],
            "output": gql_breakdown["output"],
            "cache_read": gql_breakdown["cacheRead"],
            "cache_write": gql_breakdown["cacheWrite"],
            "reasoning": gql_breakdown["reasoning"],
        }

    window = {"start_date": "2025-08-01", "end_date": "2025-08-14"}
    gql_window = {"start": "2025-08-01", "end": "2025-08-14"}

    # Costs by provider and by model.
    for group_by, expected in (("provider", PARITY_BY_PROVIDER), ("model", PARITY_BY_MODEL)):
        rest = await client.get(
            "/v1/costs", headers=bearer(rest_key), params={**window, "group_by": group_by}
        )
        assert rest.status_code == 200, rest.text
        groups = await costs_gql(client, gql_key, groupBy=group_by.upper(), **gql_window)
        as_dict = {g["key"]: {"total": g["total"], "tokens": g["tokens"]} for g in groups}
        assert rest.json() == expected
        assert as_dict == expected
        assert list(rest.json()) == list(as_dict), "the same order"

    # Usage totals.
    rest_usage = await client.get("/v1/usage", headers=bearer(rest_key), params=window)
    assert rest_usage.status_code == 200, rest_usage.text
    gql_usage = (await data_of(client, gql_key, USAGE, gql_window))["usage"]
    rest_totals = {name: rest_usage.json()[name] for name in PARITY_TOTALS}
    gql_totals = {
        name: gql_usage["totals"]["total" if name == "cost" else camel(name)]
        for name in PARITY_TOTALS
    }
    assert rest_totals == PARITY_TOTALS
    assert gql_totals == PARITY_TOTALS
    assert Decimal(gql_usage["totals"]["totalExact"]) == Decimal("0.518037488")
    assert {key: value["cost"] for key, value in rest_usage.json()["providers"].items()} == {
        group["key"]: group["total"] for group in gql_usage["providers"]
    }

    # An invalid event: the same code and the same offending fields.
    for invalid in (
        {"provider": "openai", "model": "gpt-4", "input_tokens": -1},
        {
            "provider": "openai",
            "model": "gpt-4",
            "input_tokens": 10,
            "output_tokens": 5,
            "reasoning_tokens": 6,
        },
        {
            "provider": "openai",
            "model": "gpt-4",
            "input_tokens": 10,
            "timestamp": "2025-08-05 10:00",
        },
        {"provider": "", "model": "gpt-4", "input_tokens": 10},
    ):
        rest_code, rest_details = await rest_error_code(client, rest_key, invalid)
        error = await error_of(client, gql_key, TRACK, {"input": as_input(invalid)})
        assert (rest_code, error["extensions"]["code"]) == ("invalid_input", "invalid_input")
        assert set(rest_details["fields"]) == set(error["extensions"]["details"]["fields"])

    # A replay: the stored event, replayed, counted once.
    replay = PARITY_EVENTS[0]
    rest_again = await client.post("/v1/track", headers=bearer(rest_key), json=replay)
    assert rest_again.status_code == 200, rest_again.text
    gql_again = await track_gql(client, gql_key, replay)
    assert (rest_again.json()["replayed"], gql_again["replayed"]) == (True, True)
    assert rest_again.json()["id"] == rest_tracked[0]["id"]
    assert gql_again["event"]["id"] == gql_tracked[0]["event"]["id"]
    assert rest_again.json()["cost"] == gql_again["event"]["cost"] == 0.075

    # The same event_id with another body: the same conflict code.
    changed = {**replay, "input_tokens": 1501}
    rest_code, _ = await rest_error_code(client, rest_key, changed)
    error = await error_of(client, gql_key, TRACK, {"input": as_input(changed)})
    assert (rest_code, error["extensions"]["code"]) == (
        "idempotency_conflict",
        "idempotency_conflict",
    )

    # Nothing above changed the totals.
    rest_after = await client.get(
        "/v1/costs", headers=bearer(rest_key), params={**window, "group_by": "provider"}
    )
    gql_after = await costs_gql(client, gql_key, **gql_window)
    assert rest_after.json() == PARITY_BY_PROVIDER
    assert {g["key"]: {"total": g["total"], "tokens": g["tokens"]} for g in gql_after} == (
        PARITY_BY_PROVIDER
    )

    # A read key may not track, through either door.
    reader = await make_key(role=Role.READ)
    rest_code, _ = await rest_error_code(client, reader, PARITY_EVENTS[1])
    error = await error_of(client, reader, TRACK, {"input": as_input(PARITY_EVENTS[1])})
    assert (rest_code, error["extensions"]["code"]) == ("forbidden", "forbidden")


async def test_the_whole_schema_introspects_without_errors(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    from graphql import build_client_schema, get_introspection_query

    body = await graphql(client, await make_key(), get_introspection_query())
    assert "errors" not in body, body.get("errors")
    schema = build_client_schema(body["data"])
    budget_input = schema.get_type("BudgetInput")
    assert budget_input is not None
    assert str(budget_input.fields["name"].type) == "String!"  # type: ignore[attr-defined]
