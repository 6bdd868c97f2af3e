"""One organization never sees another's events, whatever it asks and through either door
(gpt-4 input at 30 USD per 1M tokens)."""

from __future__ import annotations

from tests.conftest import KeyFactory
from tests.support.doors import Door, costs_through


async def test_queries_never_show_another_organizations_events(
    door: Door, make_key: KeyFactory
) -> None:
    mine = await make_key(team_id="shared-team")
    theirs = await make_key(team_id="shared-team")
    ts = "2025-10-01T12:00:00Z"
    # Mine: gpt-4 1000 * 30 = 0.03. Theirs: the same model plus another provider.
    mine_event = {
        "provider": "openai",
        "model": "gpt-4",
        "input_tokens": 1000,
        "user_id": "same-user",
        "metadata": {"feature": "x"},
        "timestamp": ts,
    }
    (await door.track(mine, mine_event)).value()
    their_events = (
        await door.track_batch(
            theirs,
            [
                {**mine_event, "input_tokens": 50_000},
                {
                    "provider": "anthropic",
                    "model": "claude-3-opus",
                    "input_tokens": 9000,
                    "timestamp": "2025-10-01T12:00:01Z",
                },
            ],
        )
    ).value()
    window = {"start_date": "2025-10-01", "end_date": "2025-10-01"}

    for group_by, key in [
        ("provider", "openai"),
        ("model", "gpt-4"),
        ("team", "shared-team"),
        ("user", "same-user"),
        ("day", "2025-10-01"),
        ("metadata.feature", "x"),
    ]:
        assert await costs_through(door, mine, group_by=group_by, **window) == {
            key: {"total": 0.03, "tokens": 1000}
        }, group_by
    assert await costs_through(door, mine, group_by="model", team_id="shared-team", **window) == {
        "gpt-4": {"total": 0.03, "tokens": 1000}
    }
    unaligned = {"start_date": "2025-10-01T11:59:59.5Z", "end_date": "2025-10-01T12:00:02.5Z"}
    assert await costs_through(door, mine, **unaligned) == {
        "openai": {"total": 0.03, "tokens": 1000}
    }

    usage = (await door.usage(mine, **window)).value()
    assert (usage["requests"], usage["input_tokens"], usage["cost"]) == (1, 1000, 0.03)
    assert list(usage["providers"]) == ["openai"]

    series = (await door.history(mine, interval="day", **window)).value()
    assert [point["requests"] for point in series] == [1]
    monthly = (await door.history(mine, interval="month", **window)).value()
    assert [point["requests"] for point in monthly] == [1]
    events = (await door.events(mine, **window)).value()
    assert [event["input_tokens"] for event in events["events"]] == [1000]

    # Their cursor, pointing past their newest event, shows nothing of theirs to me.
    their_page = (await door.events(theirs, limit=1, **window)).value()
    assert their_page["events"][0]["id"] == their_events[1]["id"]
    through_mine = await door.events(mine, cursor=their_page["next_cursor"], **window)
    assert [event["input_tokens"] for event in through_mine.value()["events"]] == [1000]

    # And they still see only their own two events.
    assert (await door.usage(theirs, **window)).value()["requests"] == 2
