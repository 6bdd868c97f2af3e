"""Usage import from the providers' own usage APIs, against a local server that answers in
their documented shapes (pagination and errors included)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from meterr.app import create_app
from meterr.clock import Clock, SettableClock
from meterr.config import Settings
from meterr.store import Store
from tests.conftest import KeyFactory, bearer, eventually
from tests.support.exact import inexact
from tests.support.providers import DAY1, DAY2, FakeProviders, openai_bucket


@pytest.fixture
async def providers() -> AsyncIterator[FakeProviders]:
    async with FakeProviders().running() as fake:
        yield fake


@asynccontextmanager
async def meterr(
    settings: Settings, store: Store, base: str, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        settings.model_copy(update={"openai_api_base": base, "anthropic_api_base": base}),
        store=store,
        clock=clock,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://meterr.test") as http:
            yield http


async def connect(
    http: httpx.AsyncClient,
    key: str,
    provider: str,
    mode: str = "import",
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body = {
        "provider": provider,
        "api_key": f"admin-key-{provider}-9876",
        "mode": mode,
        "options": options or {},
    }
    response = await http.post("/v1/providers/connect", headers=bearer(key), json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def sync(http: httpx.AsyncClient, key: str, connection_id: str) -> httpx.Response:
    return await http.post(
        f"/v1/providers/{connection_id}/sync",
        headers=bearer(key),
        json={"start_date": "2025-06-01", "end_date": "2025-06-02"},
    )


JUNE = {"start_date": "2025-06-01", "end_date": "2025-06-02"}


async def test_openai_usage_is_imported_page_by_page_and_counted_once(
    settings: Settings,
    store: Store,
    make_key: KeyFactory,
    providers: FakeProviders,
    clock: SettableClock,
) -> None:
    gpt4o = {
        "model": "gpt-4o-2024-08-06",
        "input_tokens": 1_000_000,
        "input_cached_tokens": 400_000,
        "output_tokens": 100_000,
        "num_model_requests": 120,
        "project_id": "proj_a",
    }
    mini = {
        "model": "gpt-4o-mini",
        "input_tokens": 2_000_000,
        "output_tokens": 0,
        "input_cached_tokens": 0,
        "num_model_requests": 40,
        "project_id": None,
    }
    providers.openai_pages = {
        None: {"object": "page", "data": [openai_bucket(DAY1, [gpt4o, mini])],
               "has_more": True, "next_page": "page_2"},
        "page_2": {"object": "page", "data": [openai_bucket(DAY2, [gpt4o])], "has_more": False,
                   "next_page": None},
    }  # fmt: skip
    key = await make_key()
    async with meterr(settings, store, providers.url, clock) as http:
        connection = await connect(http, key, "openai")
        first = await sync(http, key, connection["id"])
        assert first.status_code == 200, first.text
        report = first.json()
        assert (report["rows"], report["imported"], report["already_imported"]) == (3, 3, 0)
        assert report["connection"]["last_sync_status"] == "ok"

        again = (await sync(http, key, connection["id"])).json()
        assert (again["imported"], again["already_imported"]) == (0, 3)

        costs = await http.get(
            "/v1/costs", headers=bearer(key), params={**JUNE, "group_by": "model"}
        )
        by_model = inexact(costs.json())
        # gpt-4o: 600k uncached at $2.50, 400k cached at $1.25, 100k output at $10 = $3.00 a day
        assert by_model["gpt-4o-2024-08-06"] == {"total": 6.0, "tokens": 2_200_000}
        assert by_model["gpt-4o-mini"] == {"total": 0.3, "tokens": 2_000_000}
        usage = (await http.get("/v1/usage", headers=bearer(key), params=JUNE)).json()
        assert usage["requests"] == 280, "each row counts the provider's own calls (120+40+120)"
    first_call = providers.requests[0]
    assert first_call.headers["authorization"] == "Bearer admin-key-openai-9876"
    assert first_call.query_params["bucket_width"] == "1d"
    assert first_call.query_params.getlist("group_by") == ["model", "project_id"]
    assert first_call.query_params["start_time"] == str(int(DAY1.timestamp()))
    assert providers.requests[1].query_params["page"] == "page_2"


async def test_a_connections_options_narrow_what_is_read(
    settings: Settings,
    store: Store,
    make_key: KeyFactory,
    providers: FakeProviders,
    clock: SettableClock,
) -> None:
    empty = {"data": [], "has_more": False, "next_page": None}
    providers.openai_pages = {None: {"object": "page", **empty}}
    providers.anthropic_pages = {None: empty}
    key = await make_key()
    async with meterr(settings, store, providers.url, clock) as http:
        openai = await connect(
            http, key, "openai", options={"organization": "org-abc", "project_id": "proj_b",
                                          "project_ids": ["proj_a"]},
        )  # fmt: skip
        assert openai["options"] == {"organization": "org-abc", "project_ids": ["proj_a", "proj_b"]}
        anthropic = await connect(http, key, "anthropic", options={"workspace_id": "wrkspc_1"})
        for connection in (openai, anthropic):
            assert (await sync(http, key, connection["id"])).status_code == 200
    openai_call, anthropic_call = providers.requests
    assert openai_call.query_params.getlist("project_ids") == ["proj_a", "proj_b"]
    assert openai_call.headers["openai-organization"] == "org-abc"
    assert anthropic_call.query_params.getlist("workspace_ids[]") == ["wrkspc_1"]


async def test_anthropic_cache_tokens_are_counted_in_meterrs_convention(
    settings: Settings,
    store: Store,
    make_key: KeyFactory,
    providers: FakeProviders,
    clock: SettableClock,
) -> None:
    providers.anthropic_pages = {
        None: {
            "data": [
                {
                    "starting_at": "2025-06-01T00:00:00Z",
                    "ending_at": "2025-06-02T00:00:00Z",
                    "results": [
                        {
                            "uncached_input_tokens": 100_000,
                            "cache_creation": {
                                "ephemeral_1h_input_tokens": 0,
                                "ephemeral_5m_input_tokens": 200_000,
                            },
                            "cache_read_input_tokens": 700_000,
                            "output_tokens": 50_000,
                            "model": "claude-sonnet-4-20250514",
                            "workspace_id": "wrkspc_1",
                            "context_window": "0-200k",
                        },
                        {
                            "uncached_input_tokens": 1_000_000,
                            "cache_read_input_tokens": 0,
                            "output_tokens": 0,
                            "model": "claude-sonnet-4-20250514",
                            "context_window": "200k-1M",
                        },
                    ],
                }
            ],
            "has_more": False,
            "next_page": None,
        }
    }
    key = await make_key()
    async with meterr(settings, store, providers.url, clock) as http:
        connection = await connect(http, key, "anthropic")
        report = (await sync(http, key, connection["id"])).json()
        assert report["imported"] == 2
        page = (await http.get("/v1/usage/history", headers=bearer(key), params=JUNE)).json()
    long_calls = next(e for e in page["events"] if e["metadata"]["context_window"] == "200k-1M")
    assert long_calls["price"]["long_context"] is True
    assert long_calls["cost"] == 6.0, "the provider's context window picks the tier: $6/1M"
    [imported] = [e for e in page["events"] if e["metadata"]["context_window"] == "0-200k"]
    assert imported["price"]["long_context"] is False
    assert (imported["input_tokens"], imported["cached_input_tokens"]) == (1_000_000, 700_000)
    assert imported["cache_write_tokens"] == 200_000
    assert imported["metadata"]["source"] == "import"
    assert imported["metadata"]["workspace_id"] == "wrkspc_1"
    # $3/1M uncached, $0.30 cache reads, $3.75 cache writes, $15 output
    assert imported["cost"] == pytest.approx(0.3 + 0.21 + 0.75 + 0.75)
    request = providers.requests[0]
    assert request.headers["x-api-key"] == "admin-key-anthropic-9876"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.query_params["starting_at"] == "2025-06-01T00:00:00Z"


async def test_a_refusing_provider_fails_the_sync_with_its_own_message(
    settings: Settings,
    store: Store,
    make_key: KeyFactory,
    providers: FakeProviders,
    clock: SettableClock,
) -> None:
    providers.fail = (401, {"error": {"message": "Invalid admin key", "type": "invalid_request"}})
    key = await make_key()
    async with meterr(settings, store, providers.url, clock) as http:
        connection = await connect(http, key, "openai")
        failed = await sync(http, key, connection["id"])
        assert failed.status_code == 502
        error = failed.json()["error"]
        assert error["code"] == "provider_error"
        assert "Invalid admin key" in error["message"]
        shown = (await http.get(f"/v1/providers/{connection['id']}", headers=bearer(key))).json()
    assert shown["last_sync_status"] == "failed"
    assert "Invalid admin key" in shown["last_sync_error"]


async def test_reconcile_mode_keeps_imported_usage_aside(
    settings: Settings,
    store: Store,
    make_key: KeyFactory,
    providers: FakeProviders,
    clock: SettableClock,
) -> None:
    row = {"model": "gpt-4o", "input_tokens": 1000, "output_tokens": 10,
           "input_cached_tokens": 0, "num_model_requests": 3, "project_id": None}  # fmt: skip
    providers.openai_pages = {
        None: {"object": "page", "data": [openai_bucket(DAY1, [row])], "has_more": False}
    }
    key = await make_key()
    async with meterr(settings, store, providers.url, clock) as http:
        connection = await connect(http, key, "openai", mode="reconcile")
        report = (await sync(http, key, connection["id"])).json()
        assert (report["imported"], report["already_imported"]) == (1, 0)
        assert (await sync(http, key, connection["id"])).json()["already_imported"] == 1
        costs = (await http.get("/v1/costs", headers=bearer(key), params=JUNE)).json()
    assert costs == {}, "kept aside: not counted as spend"
    kept = await store.connections.imported.count_documents({"connection_id": connection["id"]})
    assert kept == 1


async def test_an_open_bucket_waits_until_it_is_complete(
    settings: Settings,
    store: Store,
    make_key: KeyFactory,
    providers: FakeProviders,
    clock: SettableClock,
) -> None:
    today = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    row = {"model": "gpt-4o", "input_tokens": 5, "output_tokens": 5, "num_model_requests": 1}
    providers.openai_pages = {
        None: {"object": "page", "data": [openai_bucket(today, [row])], "has_more": False}
    }
    key = await make_key()
    async with meterr(settings, store, providers.url, clock) as http:
        connection = await connect(http, key, "openai")
        day = today.date().isoformat()
        report = await http.post(
            f"/v1/providers/{connection['id']}/sync",
            headers=bearer(key),
            json={"start_date": day, "end_date": day},
        )
    assert (report.json()["imported"], report.json()["open_buckets"]) == (0, 1)


async def test_reconciliation_sets_tracked_beside_reported_and_flags_the_days_that_differ(
    settings: Settings,
    store: Store,
    make_key: KeyFactory,
    providers: FakeProviders,
    clock: SettableClock,
) -> None:
    def row(tokens: int) -> dict[str, Any]:
        return {"model": "gpt-4o-2024-08-06", "input_tokens": tokens, "output_tokens": 0,
                "input_cached_tokens": 0, "num_model_requests": 1}  # fmt: skip

    providers.openai_pages = {
        None: {
            "object": "page",
            "data": [openai_bucket(DAY1, [row(1000)]), openai_bucket(DAY2, [row(5000)])],
            "has_more": False,
        }
    }
    key = await make_key()
    tracked = [
        {"provider": "openai", "model": "gpt-4o", "input_tokens": 990,
         "timestamp": "2025-06-01T10:00:00Z"},
        {"provider": "openai", "model": "gpt-4o", "input_tokens": 2000,
         "timestamp": "2025-06-02T10:00:00Z"},
    ]  # fmt: skip
    async with meterr(settings, store, providers.url, clock) as http:
        await http.post("/v1/track", headers=bearer(key), json={"events": tracked})
        connection = await connect(http, key, "openai", mode="reconcile")
        await sync(http, key, connection["id"])
        response = await http.get(
            f"/v1/providers/{connection['id']}/reconciliation",
            headers=bearer(key),
            params={**JUNE, "tolerance": "5"},
        )
    assert response.status_code == 200, response.text
    report = response.json()
    days = {(d["date"], d["model"]): d for d in report["days"]}
    first, second = days[("2025-06-01", "gpt-4o")], days[("2025-06-02", "gpt-4o")]
    assert (first["tracked"]["tokens"], first["reported"]["tokens"]) == (990, 1000)
    assert first["flagged"] is False, "1% apart: within the tolerance"
    assert (second["tracked"]["tokens"], second["reported"]["tokens"]) == (2000, 5000)
    assert second["difference"] == {"tokens": -3000, "cost": -0.0075}
    assert second["flagged"] is True, "calls nobody tracked"
    assert report["flagged_days"] == 1


async def test_connections_import_on_a_schedule_without_being_asked(
    settings: Settings,
    store: Store,
    make_key: KeyFactory,
    providers: FakeProviders,
    clock: SettableClock,
) -> None:
    row = {"model": "gpt-4o", "input_tokens": 100, "output_tokens": 1, "num_model_requests": 1}
    providers.openai_pages = {
        None: {"object": "page", "data": [openai_bucket(DAY1, [row])], "has_more": False}
    }
    key = await make_key()
    hourly = settings.model_copy(update={"provider_sync_interval": 0.2})
    async with meterr(hourly, store, providers.url, clock) as http:
        connection = await connect(http, key, "openai")
        path = f"/v1/providers/{connection['id']}"

        async def synced() -> bool:
            shown = (await http.get(path, headers=bearer(key))).json()
            return shown["last_sync_status"] == "ok"

        await eventually(synced)
        costs = (await http.get("/v1/costs", headers=bearer(key), params=JUNE)).json()
    assert costs["openai"]["tokens"] == 101
    today = clock.now().date()
    asked = providers.requests[0].query_params["start_time"]
    yesterday = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=1)
    assert asked == str(int(yesterday.timestamp())), "the scheduled import reads the last days"


async def test_graphql_connects_syncs_and_reconciles_like_rest(
    settings: Settings,
    store: Store,
    make_key: KeyFactory,
    providers: FakeProviders,
    clock: SettableClock,
) -> None:
    row = {"model": "gpt-4o", "input_tokens": 400, "output_tokens": 0, "num_model_requests": 2}
    providers.openai_pages = {
        None: {"object": "page", "data": [openai_bucket(DAY1, [row])], "has_more": False}
    }
    key = await make_key()
    async with meterr(settings, store, providers.url, clock) as http:

        async def gql(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
            response = await http.post(
                "/graphql", headers=bearer(key), json={"query": query, "variables": variables}
            )
            body: dict[str, Any] = response.json()
            assert "errors" not in body, body
            data: dict[str, Any] = body["data"]
            return data

        connected = await gql(
            'mutation { connectProvider(input: {provider: "openai", apiKey: "sk-admin-5555", '
            "mode: RECONCILE}) { id apiKeyHint mode } }"
        )
        connection = connected["connectProvider"]
        assert (connection["apiKeyHint"], connection["mode"]) == ("...5555", "RECONCILE")
        synced = await gql(
            'mutation S($id: ID!) { syncProvider(id: $id, input: {startDate: "2025-06-01", '
            'endDate: "2025-06-02"}) { imported connection { lastSyncStatus } } }',
            {"id": connection["id"]},
        )
        assert synced["syncProvider"] == {"imported": 1, "connection": {"lastSyncStatus": "ok"}}
        report = await gql(
            'query R($id: ID!) { reconciliation(connectionId: $id, startDate: "2025-06-01", '
            'endDate: "2025-06-02") { flaggedDays days { model flagged '
            "tracked { tokens } reported { tokens } } } }",
            {"id": connection["id"]},
        )
        listed = await gql("{ providers { name connected connections { id } } }")
        removed = await gql(
            "mutation D($id: ID!) { disconnectProvider(id: $id) }", {"id": connection["id"]}
        )
    assert report["reconciliation"]["days"] == [
        {"model": "gpt-4o", "flagged": True, "tracked": {"tokens": 0}, "reported": {"tokens": 400}}
    ]
    assert report["reconciliation"]["flaggedDays"] == 1
    openai = next(p for p in listed["providers"] if p["name"] == "openai")
    assert openai["connected"] is True
    assert removed["disconnectProvider"] == connection["id"]
