"""Authentication, roles, tenant isolation and hourly rate limits, through both doors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from pymongo import AsyncMongoClient

from meterr.app import create_app
from meterr.auth import Role, Tier, hash_key
from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.logs import JsonFormatter
from meterr.store import Store
from tests.conftest import KeyFactory, bearer

EVENT = {"provider": "openai", "model": "gpt-4", "input_tokens": 10, "output_tokens": 5}
COSTS_QUERY = "{ costs(groupBy: PROVIDER) { key total { value } tokens } }"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "malformed"),
        ({"Authorization": "Bearer"}, "malformed"),
        ({"Authorization": "Bearer not-a-meterr-key"}, "malformed"),
        ({"Authorization": "Bearer mtr_abcdefgh_" + "x" * 43}, "unknown"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/usage", "/v1/costs", "/v1/prices"])
async def test_requests_without_a_valid_key_are_refused_with_401(
    client: httpx.AsyncClient, headers: dict[str, str], reason: str, path: str
) -> None:
    response = await client.get(path, headers=headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "unauthenticated"
    assert error["details"]["reason"] == reason


async def test_graphql_without_a_key_is_refused_with_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": COSTS_QUERY})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "unauthenticated"


async def test_revoked_key_is_refused(
    client: httpx.AsyncClient, make_key: KeyFactory, store: Store, clock: SettableClock
) -> None:
    key = await make_key()
    assert (await client.get("/v1/usage", headers=bearer(key))).status_code == 200
    principal = await store.organizations.principal_for_key_hash_across_tenants(hash_key(key))
    assert principal is not None
    await store.organizations.revoke_key(principal.org_id, principal.key_id, clock.now())
    response = await client.get("/v1/usage", headers=bearer(key))
    assert response.status_code == 401


async def test_write_key_may_ingest_but_not_read(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key(role=Role.WRITE)
    assert (await client.post("/v1/track", headers=bearer(key), json=EVENT)).status_code == 201
    response = await client.get("/v1/costs", headers=bearer(key))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    graphql = await client.post("/graphql", headers=bearer(key), json={"query": COSTS_QUERY})
    assert graphql.json()["errors"][0]["extensions"]["code"] == "forbidden"


async def test_read_key_may_read_but_not_ingest_or_manage(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key(role=Role.READ)
    assert (await client.get("/v1/costs", headers=bearer(key))).status_code == 200
    tracked = await client.post("/v1/track", headers=bearer(key), json=EVENT)
    assert tracked.status_code == 403
    override = await client.post(
        "/v1/prices/overrides",
        headers=bearer(key),
        json={"provider": "openai", "model": "gpt-4", "input": "1", "output": "2"},
    )
    assert override.status_code == 403
    litellm = {"m": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-6}}
    imported = await client.post("/v1/prices/import", headers=bearer(key), json=litellm)
    assert imported.status_code == 403
    assert (await client.get("/v1/usage/history", headers=bearer(key))).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("POST", "/v1/budgets", "{", id="create-unreadable"),
        pytest.param("POST", "/v1/budgets", '{"limit": -1}', id="create-invalid"),
        pytest.param("PATCH", "/v1/budgets/bud_any", '{"owner": "kim"}', id="change-unknown"),
        pytest.param("PATCH", "/v1/budgets/bud_any", "[]", id="change-not-an-object"),
        pytest.param("POST", "/v1/teams", '{"name": ""}', id="team-invalid"),
        pytest.param("PATCH", "/v1/teams/team_any", '{"owner": "kim"}', id="team-unknown"),
        pytest.param("POST", "/v1/webhooks", "{}", id="webhook-invalid"),
        pytest.param("POST", "/v1/providers/connect", "{}", id="connection-invalid"),
    ],
)
async def test_a_key_without_the_role_is_refused_before_its_body_is_read(
    client: httpx.AsyncClient, make_key: KeyFactory, method: str, path: str, body: str
) -> None:
    reader = await make_key(role=Role.READ)
    headers = {**bearer(reader), "content-type": "application/json"}
    response = await client.request(method, path, headers=headers, content=body)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"


async def test_another_organizations_event_does_not_exist(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    owner, stranger = await make_key(), await make_key()
    created = await client.post("/v1/track", headers=bearer(owner), json=EVENT)
    event_id = created.json()["id"]
    mine = await client.get(f"/v1/usage/events/{event_id}", headers=bearer(owner))
    assert mine.status_code == 200
    assert mine.json()["id"] == event_id
    theirs = await client.get(f"/v1/usage/events/{event_id}", headers=bearer(stranger))
    assert theirs.status_code == 404
    assert theirs.json()["error"]["code"] == "not_found"
    assert (await client.get("/v1/costs", headers=bearer(stranger))).json() == {}


async def test_the_same_event_id_in_two_organizations_is_two_events(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    first, second = await make_key(), await make_key()
    body = {**EVENT, "event_id": "shared-id"}
    assert (await client.post("/v1/track", headers=bearer(first), json=body)).status_code == 201
    other = await client.post("/v1/track", headers=bearer(second), json={**body, "model": "x"})
    assert other.status_code == 201


async def test_every_v1_response_carries_rate_limit_headers(
    client: httpx.AsyncClient, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key(tier=Tier.PRO)
    first = await client.get("/v1/usage", headers=bearer(key))
    second = await client.post("/v1/track", headers=bearer(key), json={"provider": "openai"})
    assert second.status_code == 400
    for response, remaining in ((first, 999), (second, 998)):
        assert response.headers["X-RateLimit-Limit"] == "1000"
        assert int(response.headers["X-RateLimit-Remaining"]) == remaining
        reset = int(response.headers["X-RateLimit-Reset"])
        now = clock.now().timestamp()
        assert now < reset <= now + 3600
        assert reset % 3600 == 0


async def test_enterprise_tier_is_unlimited(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key(tier=Tier.ENTERPRISE)
    response = await client.get("/v1/usage", headers=bearer(key))
    assert response.headers["X-RateLimit-Limit"] == "unlimited"
    assert response.headers["X-RateLimit-Remaining"] == "unlimited"


async def test_free_tier_gets_429_after_100_requests_counting_graphql_and_batches(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key(tier=Tier.FREE)
    batch = {"events": [EVENT] * 50}
    assert (await client.post("/v1/track", headers=bearer(key), json=batch)).status_code == 201
    graphql = await client.post("/graphql", headers=bearer(key), json={"query": COSTS_QUERY})
    assert graphql.status_code == 200
    assert graphql.headers["X-RateLimit-Remaining"] == "98"
    responses = await asyncio.gather(
        *(client.get("/v1/usage", headers=bearer(key)) for _ in range(98))
    )
    assert all(r.status_code == 200 for r in responses)
    refused = await client.get("/v1/usage", headers=bearer(key))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    refused_graphql = await client.post(
        "/graphql", headers=bearer(key), json={"query": COSTS_QUERY}
    )
    assert refused_graphql.status_code == 429
    assert refused_graphql.json()["errors"][0]["extensions"]["code"] == "rate_limited"


async def test_rate_limit_is_shared_by_instances_on_one_store(
    settings: Settings, store: Store, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key(tier=Tier.FREE)
    apps = [create_app(settings, store=store, clock=clock) for _ in range(2)]
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://m.test")
            for app in apps
        ]
        statuses = [
            (await clients[i % 2].get("/v1/usage", headers=bearer(key))).status_code
            for i in range(101)
        ]
        for http in clients:
            await http.aclose()
    assert statuses[:100] == [200] * 100
    assert statuses[100] == 429


async def test_unknown_routes_and_methods_use_the_error_envelope(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = await client.delete("/v1/track")
    assert wrong_method.status_code == 405
    assert set(wrong_method.json()["error"]) == {"code", "message", "details"}


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["store"] == "reachable"


async def test_unexpected_failures_answer_500_with_a_request_id_and_no_internals(
    settings: Settings,
    mongodb_url: str,
    make_key: KeyFactory,
    caplog: pytest.LogCaptureFixture,
    clock: SettableClock,
) -> None:
    key = await make_key()
    mongo: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongodb_url, tz_aware=True)
    broken = Store(mongo, mongo["meterr_broken"])
    await mongo.close()  # every store call now fails in an unforeseen way
    app = create_app(settings, store=broken, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://m.test") as http:
            response = await http.get(
                "/v1/usage", headers={**bearer(key), "X-Request-Id": "incident-7"}
            )
    assert response.status_code == 500
    assert response.headers["X-Request-Id"] == "incident-7"
    [logged] = [r for r in caplog.records if r.getMessage().startswith("unhandled error")]
    line = json.loads(JsonFormatter().format(logged))
    assert (line["request_id"], line["level"]) == ("incident-7", "error")
    assert "Traceback" in line["exception"], "the log has what the answer must not"
    error = response.json()["error"]
    assert error["code"] == "internal_error"
    assert error["details"]["request_id"] == response.headers["X-Request-Id"]
    assert "Traceback" not in response.text
    assert "AsyncMongoClient" not in response.text


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
@pytest.mark.parametrize("keyed", [True, False], ids=["with-key", "without-key"])
async def test_graphql_refuses_bodies_over_the_limit(
    client: httpx.AsyncClient, make_key: KeyFactory, declared: bool, keyed: bool
) -> None:
    key = await make_key()
    padding = " " * 1_100_000
    raw = json.dumps({"query": COSTS_QUERY + padding}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), 65_536):
            yield raw[start : start + 65_536]

    headers = {"Content-Type": "application/json", **(bearer(key) if keyed else {})}
    response = await client.post("/graphql", headers=headers, content=raw if declared else chunks())
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "payload_too_large"


async def test_graphql_reads_a_chunked_body_within_the_limit(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    raw = json.dumps({"query": COSTS_QUERY}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        yield raw[:10]
        yield raw[10:]

    headers = {**bearer(key), "Content-Type": "application/json"}
    response = await client.post("/graphql", headers=headers, content=chunks())
    assert response.status_code == 200, response.text
    assert response.json()["data"]["costs"] == []


async def test_graphiql_page_opens_in_a_browser_without_a_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
    query = await client.get(
        "/graphql", params={"query": COSTS_QUERY}, headers={"Accept": "text/html"}
    )
    assert query.status_code == 401
