"""Grouping by a metadata key reads its rollups: learned from the keys events carry, equal to
the raw events under every filter, through concurrent writers, repricing, retraction and a
rebuild, and answered from the raw events (saying so) past the bounds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.resolvers import rebuild_rollups
from meterr.store import MAX_METADATA_KEYS, MAX_METADATA_VALUES, Store
from tests.conftest import KeyFactory, bearer
from tests.support.apps import instances
from tests.support.orgs import org_id_of_key

# The rollups answer this. The same question, filtered on every user the events name (which
# no metadata rollup keeps), only the raw events can.
ROLLED = {"start_date": "2025-03-01T00:00:00Z", "end_date": "2025-04-01T00:00:00Z"}
RAW = {**ROLLED, "user_id": ",".join(f"user-{i}" for i in range(5))}
_START = datetime(2025, 3, 1, 1, tzinfo=UTC)


def _event(i: int, **extra: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"feature": ["chat", "search", "summarize"][i % 3]}
    if i % 4 == 0:
        metadata["tier"] = [1, 2.5, True][i % 3]
    if i % 5 == 0:
        del metadata["feature"]  # no value: counted under "(none)"
    elif i % 7 == 0:
        metadata["feature"] = None
    return {
        "provider": ["openai", "anthropic", "google"][i % 3],
        "model": ["gpt-4o", "claude-3-5-sonnet", "gemini-1.5-pro", "house-model"][i % 4],
        "input_tokens": 1000 + i,
        "output_tokens": 10 * i,
        "team_id": f"team-{i % 3}",
        "user_id": f"user-{i % 5}",
        "metadata": metadata,
        "timestamp": (_START + timedelta(hours=5 * i, minutes=i % 60)).isoformat(),
        **extra,
    }


async def _costs(
    client: httpx.AsyncClient, key: str, span: dict[str, str], **params: str
) -> httpx.Response:
    response = await client.get("/v1/costs", headers=bearer(key), params={**span, **params})
    assert response.status_code == 200, response.text
    return response


async def _agree(client: httpx.AsyncClient, key: str, group_by: str, **filters: str) -> None:
    """The rollups' answer equals the raw events' answer, and each says where it came from."""
    rolled = await _costs(client, key, ROLLED, group_by=group_by, **filters)
    raw = await _costs(client, key, RAW, group_by=group_by, **filters)
    assert rolled.headers["X-Meterr-Source"] == "rollups", rolled.headers.get(
        "X-Meterr-Source-Reason"
    )
    assert raw.headers["X-Meterr-Source"] == "events"
    assert rolled.json() == raw.json(), (group_by, filters)


async def test_metadata_groups_from_rollups_equal_the_raw_events_under_every_filter(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    tracked = await client.post(
        "/v1/track", headers=bearer(key), json={"events": [_event(i) for i in range(120)]}
    )
    assert tracked.status_code == 201, tracked.text
    by_feature = (await _costs(client, key, ROLLED, group_by="metadata.feature")).json()
    assert set(by_feature) == {"chat", "search", "summarize", "(none)"}
    by_tier = (await _costs(client, key, ROLLED, group_by="metadata.tier")).json()
    assert set(by_tier) == {"1", "2.5", "True", "(none)"}
    for group_by in ("metadata.feature", "metadata.tier", "metadata.never_seen"):
        await _agree(client, key, group_by)
        await _agree(client, key, group_by, team_id="team-1")
        await _agree(client, key, group_by, provider="anthropic,google")
        await _agree(client, key, group_by, model="gpt-4o", team_id="team-0,team-2")

    # The learned keys are listed, through both doors.
    listed = (await client.get("/v1/metadata/keys", headers=bearer(key))).json()
    assert listed["complete"] is True
    assert listed["keys"] == [  # in the order the events showed them: true is not 1
        {"key": "tier", "state": "rolled", "rolled_up": True, "values": 3},
        {"key": "feature", "state": "rolled", "rolled_up": True, "values": 3},
    ]
    keys_query = "{ metadataKeys { key state rolledUp values } }"
    answer = await client.post("/graphql", headers=bearer(key), json={"query": keys_query})
    assert [k["key"] for k in answer.json()["data"]["metadataKeys"]] == ["tier", "feature"]

    # GraphQL says where its figures came from in the result's extensions.
    query = """query { costs(startDate: "2025-03-01T00:00:00Z", endDate: "2025-04-01T00:00:00Z",
        groupBy: METADATA, metadataKey: "feature") { key } }"""
    answer = await client.post("/graphql", headers=bearer(key), json={"query": query})
    assert answer.json()["extensions"]["answeredFrom"] == {"source": "rollups"}


async def test_metadata_cells_follow_concurrent_writers_repricing_and_retraction(
    settings: Settings, mongodb_url: str, store: Store, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    # Sixty requests at once of one organization: they wait their turn rather than be refused.
    patient = settings.model_copy(update={"organization_queue_seconds": 120})
    async with instances(patient, mongodb_url, store, 2, clock) as clients:
        # Two instances learn new keys and values at once.
        posts = [
            clients[i % 2].post(
                "/v1/track",
                headers=bearer(key),
                json=_event(i, metadata={"feature": f"f{i % 9}", f"key{i % 6}": f"v{i % 4}"}),
            )
            for i in range(60)
        ]
        statuses = [answer.status_code for answer in await asyncio.gather(*posts)]
        assert statuses == [201] * 60, statuses
        for name in ("feature", "key0", "key5"):
            await _agree(clients[0], key, f"metadata.{name}")
        learned = await store.metadata_keys.of(await org_id_of_key(store, key))
        assert set(learned.states) == {"feature", *(f"key{i}" for i in range(6))}

        # Repricing the house model moves its cost in every metadata cell.
        before = (await _costs(clients[0], key, ROLLED, group_by="metadata.feature")).json()
        override = {"provider": "openai", "model": "house-model", "input": "2.5", "output": "10"}
        priced = await clients[1].post("/v1/prices/overrides", headers=bearer(key), json=override)
        assert priced.status_code == 201, priced.text
        after = (await _costs(clients[0], key, ROLLED, group_by="metadata.feature")).json()
        assert after != before
        await _agree(clients[1], key, "metadata.feature")

        # A batch refused for a conflicting replay takes its other events' cells away again.
        first = _event(500, event_id="evt-conflict")
        assert (await clients[0].post("/v1/track", headers=bearer(key), json=first)).is_success
        clashing = {**first, "input_tokens": 1}
        refused = await clients[1].post(
            "/v1/track",
            headers=bearer(key),
            json={"events": [_event(501, metadata={"feature": "retracted"}), clashing]},
        )
        assert refused.status_code == 409, refused.text
        await _agree(clients[0], key, "metadata.feature")
        final = (await _costs(clients[0], key, ROLLED, group_by="metadata.feature")).json()
        assert "retracted" not in final


async def test_keys_past_their_bounds_are_answered_from_raw_events_which_say_why(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    many_keys = {f"k{n:02d}": "x" for n in range(MAX_METADATA_KEYS + 1)}
    events = [
        _event(
            i,
            metadata={"request_id": f"req-{i}", "blob": {"nested": i % 2}, **many_keys},
            timestamp=(_START + timedelta(minutes=i)).isoformat(),
        )
        for i in range(MAX_METADATA_VALUES + 1)
    ]
    for start in range(0, len(events), 500):
        batch = {"events": events[start : start + 500]}
        assert (await client.post("/v1/track", headers=bearer(key), json=batch)).is_success

    async def raw_reason(group_by: str) -> str:
        response = await _costs(client, key, ROLLED, group_by=group_by)
        assert response.headers["X-Meterr-Source"] == "events"
        assert sum(group["tokens"] for group in response.json().values()) == sum(
            event["input_tokens"] + event["output_tokens"] for event in events
        )
        return response.headers["X-Meterr-Source-Reason"]

    assert f"more than {MAX_METADATA_VALUES} values" in await raw_reason("metadata.request_id")
    assert "other than strings" in await raw_reason("metadata.blob")
    assert f"hold {MAX_METADATA_KEYS} metadata keys already" in await raw_reason("metadata.k19")
    states = {
        k["key"]: (k["state"], k["rolled_up"])
        for k in (await client.get("/v1/metadata/keys", headers=bearer(key))).json()["keys"]
    }
    assert states["request_id"] == ("too_many_values", False)
    assert states["blob"] == ("unsuitable", False)
    assert states["k00"] == ("rolled", True)
    assert "k19" not in states
    # A key learned before the bound was reached still reads its rollups.
    rolled = await _costs(client, key, ROLLED, group_by="metadata.k00")
    assert rolled.headers["X-Meterr-Source"] == "rollups"

    metrics = (await client.get("/metrics")).text
    assert 'meterr_usage_answers_total{reason="metadata_values",source="events"}' in metrics
    assert 'meterr_usage_answers_total{reason="",source="rollups"}' in metrics


async def test_an_organization_older_than_its_metadata_rollups_reads_raw_events_until_rebuilt(
    client: httpx.AsyncClient, make_key: KeyFactory, store: Store
) -> None:
    key = await make_key()
    org_id = await org_id_of_key(store, key)
    await client.post(
        "/v1/track", headers=bearer(key), json={"events": [_event(i) for i in range(30)]}
    )
    # As if its events predated the learning of keys: no record of them.
    await store.rollups.compact_all_across_tenants()
    await store.metadata_keys.collection.delete_many({"org_id": org_id})
    await store.rollups.collection.delete_many(
        {"org_id": org_id, "family": {"$regex": "^metadata"}}
    )
    await client.post(
        "/v1/track", headers=bearer(key), json={"events": [_event(i) for i in range(30, 60)]}
    )

    response = await _costs(client, key, ROLLED, group_by="metadata.feature")
    assert response.headers["X-Meterr-Source"] == "events"
    assert "rollups rebuild" in response.headers["X-Meterr-Source-Reason"]

    [report] = await rebuild_rollups(store, org_id)
    assert not report.agreed  # the cells of the first 30 events were missing
    await _agree(client, key, "metadata.feature", team_id="team-2")
    [again] = await rebuild_rollups(store, org_id)
    assert again.agreed
