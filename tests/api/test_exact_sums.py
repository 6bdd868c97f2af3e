"""Exactness: many sub-cent events sum to the same exact total, through either door, whether a
range is answered from rollups or from raw events; GraphQL also shows the exact decimals
(command-r7b: 0.0375 input, 0.15 output USD per 1M tokens)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import httpx

from tests.conftest import KeyFactory, json_usd
from tests.support.amounts import MICRO, NANO, nano_round, zero_point
from tests.support.doors import Door, costs_through
from tests.support.graphql import EVENTS, USAGE, costs_gql, data_of, track_batch_gql

JsonObject = dict[str, Any]

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
    door: Door, make_key: KeyFactory
) -> None:
    key = await make_key()
    events = r7b_events()
    tracked = (await door.track_batch(key, events)).value()
    exact = r7b_exact_total(events)
    # Each event costs a fraction of a cent; per-event rounding to six decimals would drift.
    assert all(0 < event["cost"] < 0.001 for event in tracked)
    assert sum(Decimal(str(e["cost"])) for e in tracked) != exact.quantize(MICRO)

    aligned = await costs_through(
        door,
        key,
        start_date="2025-05-10T10:00:00Z",
        end_date="2025-05-10T13:00:00Z",
        group_by="model",
    )
    unaligned = await costs_through(
        door,
        key,
        start_date="2025-05-10T09:59:59.999Z",
        end_date="2025-05-10T12:59:59.5Z",
        group_by="model",
    )
    by_date = await costs_through(
        door, key, start_date="2025-05-10", end_date="2025-05-10", group_by="model"
    )
    tokens = sum(e["input_tokens"] + e["output_tokens"] for e in events)
    expected = {"command-r7b": {"total": json_usd(exact), "tokens": tokens}}
    assert aligned == expected
    assert unaligned == expected
    assert by_date == expected

    # Grouped by user, the rollup and raw answers agree group by group.
    by_user_aligned = await costs_through(
        door,
        key,
        start_date="2025-05-10T10:00:00Z",
        end_date="2025-05-10T13:00:00Z",
        group_by="user",
    )
    by_user_raw = await costs_through(
        door,
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
    hourly_aligned = await door.history(
        key, start_date="2025-05-10T10:00:00Z", end_date="2025-05-10T13:00:00Z", interval="hour"
    )
    hourly_raw = await door.history(
        key, start_date="2025-05-10T09:59:59.5Z", end_date="2025-05-10T12:59:59.5Z", interval="hour"
    )
    aligned_points = hourly_aligned.value()
    assert [point["requests"] for point in aligned_points] == [13, 12, 12]
    assert hourly_raw.value() == [zero_point("2025-05-10T09:00:00Z"), *aligned_points]
    for hour, point in zip((10, 11, 12), aligned_points, strict=True):
        mine = [e for e in events if e["timestamp"].startswith(f"2025-05-10T{hour}:")]
        assert point["cost"] == json_usd(r7b_exact_total(mine))


async def test_sum_of_exact_event_costs_equals_total_exact_on_rollups_and_raw_events(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    bodies: list[dict[str, Any]] = [
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
    exact = sum((Decimal(n["costBreakdown"]["total"]["amount"]) for n in nodes), Decimal(0))
    assert exact == sum((Decimal(n["cost"]["amount"]) for n in nodes), Decimal(0))
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
    assert sum(Decimal(str(n["cost"]["value"])) for n in nodes) != exact.quantize(MICRO)

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
            assert Decimal(groups[0]["total"]["amount"]) == exact, (start, end, group_by)
            assert groups[0]["total"]["value"] == json_usd(exact)
            assert groups[0]["requests"] == 37
        usage = await data_of(client, key, USAGE, {"start": start, "end": end})
        assert Decimal(usage["usage"]["totals"]["total"]["amount"]) == exact
