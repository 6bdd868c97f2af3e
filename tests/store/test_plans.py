"""Every read of a working session is planned on an index: the queries of a realistic session
(usage and costs, budgets, teams and their members' keys, webhooks, notifications, provider
connections) are recorded off the wire and each one is explained on the store itself.

The embedded store plans a filter that names a field outside an index as a scan of the whole
collection, where MongoDB would use the index's prefix; a scoped cost question then reads
every organization's documents."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient, monitoring

from meterr.app import create_app
from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.store import Store
from tests.conftest import KeyFactory, bearer, eventually

_READS = {"find", "aggregate", "count", "distinct", "findAndModify"}
# Where usage and cost questions are answered: these grow with every tracked event.
USAGE = {"usage_events", "rollups_hourly", "rollups_pending"}
# What a working session reads, each read explained.
EXPLAINED = {
    "api_keys",
    "budget_periods",
    "budgets",
    "events",
    "invitations",
    "metadata_keys",
    "organizations",
    "provider_connections",
    "reservations",
    "sequences",
    "team_members",
    "teams",
    "webhook_deliveries",
    "webhook_endpoints",
    "webhook_lanes",
    *USAGE,
}
# Keys a driver adds to a command that `explain` does not take.
_SESSION_KEYS = {"lsid", "txnNumber", "autocommit", "startTransaction", "readConcern"}
JUNE = {"start_date": "2026-06-01", "end_date": "2026-06-17"}


class Recorder(monitoring.CommandListener):
    """Every read command sent, with the database it was sent to."""

    def __init__(self) -> None:
        self.reads: list[tuple[str, dict[str, Any]]] = []
        self.recording = False

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.recording and event.command_name in _READS:
            command = {
                key: value
                for key, value in event.command.items()
                if not key.startswith("$") and key not in _SESSION_KEYS
            }
            self.reads.append((event.database_name, command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
async def recorded_store(
    mongodb_url: str, store: Store, recorder: Recorder
) -> AsyncIterator[Store]:
    """The module's database, through a client whose commands are recorded."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        mongodb_url, tz_aware=True, event_listeners=[recorder]
    )
    try:
        yield Store(client, client[store.db.name])
    finally:
        await client.close()


def collection_of(command: dict[str, Any]) -> str:
    for name in _READS:
        if name in command:
            return str(command[name])
    raise AssertionError(command)


def scans(plan: Any) -> list[str]:
    """The collection scans anywhere in an explained plan."""
    found: list[str] = []
    if isinstance(plan, dict):
        if plan.get("stage") == "COLLSCAN":
            found.append(json.dumps(plan.get("filter"), default=str))
        for value in plan.values():
            found += scans(value)
    elif isinstance(plan, list):
        for value in plan:
            found += scans(value)
    return found


def index_keys(plan: Any) -> set[str]:
    """The fields of every index an explained plan scans."""
    keys: set[str] = set()
    if isinstance(plan, dict):
        if plan.get("stage") == "IXSCAN":
            keys |= set(plan.get("keyPattern", {}))
        for value in plan.values():
            keys |= index_keys(value)
    elif isinstance(plan, list):
        for value in plan:
            keys |= index_keys(value)
    return keys


def events(count: int, at: datetime) -> list[dict[str, Any]]:
    return [
        {
            "provider": ["openai", "anthropic"][i % 2],
            "model": ["gpt-4o", "claude-3-haiku"][i % 2],
            "input_tokens": 1000 + i,
            "output_tokens": 10 * i,
            "team_id": f"team_{i % 3}",
            "user_id": f"user_{i % 4}",
            "endpoint": "/chat",
            "metadata": {"feature": f"f{i % 2}"},
            "timestamp": (at - timedelta(hours=5 * i, minutes=i)).isoformat(),
        }
        for i in range(count)
    ]


QUESTIONS: list[dict[str, str]] = [
    {"group_by": group}
    for group in (
        "provider",
        "model",
        "team",
        "user",
        "endpoint",
        "api_key",
        "day",
        "week",
        "month",
        "metadata.feature",
    )
] + [
    {"provider": "openai"},
    {"model": "gpt-4o,claude-3-haiku"},
    {"team_id": "team_1"},
    {"user_id": "user_2"},
    {"team_id": "team_1", "group_by": "day"},
    {"user_id": "user_2", "group_by": "model"},
    {"team_id": "team_0", "group_by": "metadata.feature"},
    {"model": "gpt-4o", "group_by": "metadata.feature"},
    {"tz": "Asia/Kolkata", "group_by": "day"},
    {"tz": "America/New_York", "team_id": "team_2", "group_by": "week"},
]


async def test_every_usage_read_of_a_working_session_is_planned_on_an_index(
    settings: Settings,
    recorded_store: Store,
    recorder: Recorder,
    make_key: KeyFactory,
    clock: SettableClock,
) -> None:
    key = await make_key()
    # Webhooks to a closed local port: the dispatcher claims, attempts and reschedules.
    local_hooks = settings.model_copy(update={"webhook_allow_private": True})
    app = create_app(local_hooks, store=recorded_store, clock=clock)
    transport = httpx.ASGITransport(app=app)
    recorder.recording = True
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://m.test") as http,
    ):
        await session(http, key, clock.now())
        await organization_session(http, key)
        answers = [
            await http.get("/v1/costs", headers=bearer(key), params={**JUNE, **question})
            for question in QUESTIONS
        ]
        assert all(answer.status_code == 200 for answer in answers), [
            a.text for a in answers if a.status_code != 200
        ]
    recorder.recording = False

    explained = led = 0
    found: dict[str, list[str]] = {}
    for database, command in recorder.reads:
        if command.get("find") and not command.get("filter"):
            continue  # the compactor's pass over every pending document: all of them is asked
        plan = await recorded_store.client[database].command(
            "explain", command, verbosity="queryPlanner"
        )
        explained += 1
        first = (command.get("pipeline") or [{}])[0].get("$match", {})
        for leading in {"team_id", "user_id", "api_key_id"} & set(first):
            # A question about one team, user or key reads that one's cells only.
            assert leading in index_keys(plan), (command, index_keys(plan))
            led += 1
        if collection_scans := scans(plan):
            found.setdefault(collection_of(command), []).extend(collection_scans)
    aggregated = {str(command.get("aggregate")) for _, command in recorder.reads}
    assert {"usage_events", "rollups_hourly", "rollups_pending"} <= aggregated
    read = {collection_of(command) for _, command in recorder.reads}
    assert not EXPLAINED - read, f"the session reads every collection: {EXPLAINED - read} unread"
    assert explained > 100
    assert led > 10, "scoped questions read their team's, user's or key's cells"
    report = {name: sorted(set(filters))[:3] for name, filters in found.items()}
    assert report == {}, f"reads planned as a scan of the whole collection: {report}"


async def session(http: httpx.AsyncClient, key: str, now: datetime) -> None:
    """A day's work of a team: tracking, questions, budgets, forecasts, listings."""
    headers = bearer(key)
    tracked = await http.post("/v1/track", headers=headers, json={"events": events(200, now)})
    assert tracked.status_code == 201, tracked.text
    one = await http.post("/v1/track", headers=headers, json=events(1, now)[0])
    assert one.status_code == 201, one.text
    instants = {"start_date": (now - timedelta(hours=30, minutes=7)).isoformat(),
                "end_date": now.isoformat()}  # fmt: skip
    for params in (
        {},
        {"team_id": "team_1", "interval": "hour"},
        {"user_id": "user_3", "limit": "5"},
        instants,
        {**instants, "provider": "openai", "interval": "hour"},
    ):
        page = await http.get("/v1/usage/history", headers=headers, params=params)
        assert page.status_code == 200, page.text
        cursor = page.json().get("next_cursor")
        if cursor:
            more = {**params, "cursor": cursor}
            assert (await http.get("/v1/usage/history", headers=headers, params=more)).is_success
    for params in ({}, {"team_id": "team_2"}, {"model": "gpt-4o"}, instants):
        assert (await http.get("/v1/usage", headers=headers, params=params)).is_success
    event_id = one.json()["id"]
    assert (await http.get(f"/v1/usage/events/{event_id}", headers=headers)).is_success
    key_id = tracked.json()["events"][0]["api_key_id"]
    scopes: tuple[dict[str, str], ...] = (
        {}, {"team_id": "team_1"}, {"user_id": "user_2"}, {"provider": "openai"},
        {"model": "gpt-4o"}, {"api_key_id": key_id},
    )  # fmt: skip
    for scope in scopes:
        budget = {"name": f"b{len(scope)}", "limit": 1, "thresholds": [50], **scope}
        created = await http.post("/v1/budgets", headers=headers, json=budget)
        assert created.status_code == 201, created.text
    path = f"/v1/budgets/{created.json()['id']}"
    assert (await http.get(path, headers=headers)).is_success
    assert (await http.patch(path, headers=headers, json={"model": "gpt-4o-mini"})).is_success
    held = {"estimated_cost": 0.01, "team_id": "team_1"}
    assert (await http.post("/v1/budgets/reserve", headers=headers, json=held)).is_success
    assert (await http.get("/v1/budgets", headers=headers)).is_success
    check = {"team_id": "team_1", "estimated_cost": "0.5"}
    assert (await http.get("/v1/budgets/check", headers=headers, params=check)).is_success
    more_events = await http.post("/v1/track", headers=headers, json={"events": events(20, now)})
    assert more_events.is_success
    for params in ({}, {"group_by": "team", "tz": "Europe/Berlin"}, {"team_id": "team_0"}):
        assert (await http.get("/v1/costs/forecast", headers=headers, params=params)).is_success
    assert (await http.get("/v1/costs/forecast/backtest", headers=headers)).is_success
    for path in ("/v1/events", "/v1/teams", "/v1/providers", "/v1/webhooks", "/v1/prices"):
        assert (await http.get(path, headers=headers)).is_success, path
    query = (
        "{ costs(groupBy: TEAM) { key total { value } } usage { totals { total { value } } } "
        "budgets { nodes { id } } }"
    )
    answered = await http.post("/graphql", headers=headers, json={"query": query})
    assert "errors" not in answered.json(), answered.text


async def organization_session(http: httpx.AsyncClient, key: str) -> None:
    """Teams, invitations and members' keys, webhooks and their deliveries, notifications,
    provider connections: the organization's other reads, by REST and GraphQL."""
    headers = bearer(key)

    async def ok(method: str, path: str, **kwargs: Any) -> Any:
        response = await http.request(method, path, headers=headers, **kwargs)
        assert response.is_success, (path, response.text)
        return response.json() if response.content else None

    hook = await ok("POST", "/v1/webhooks", json={"url": "http://127.0.0.1:9/joined",
                                                  "events": ["team.member_joined"]})  # fmt: skip
    await ok("POST", "/v1/webhooks", json={"url": "http://127.0.0.1:9/all"})
    teams = [await ok("POST", "/v1/teams", json={"name": f"Plans {i}"}) for i in range(3)]
    team_id = teams[0]["id"]
    invited = await ok("POST", f"/v1/teams/{team_id}/invite", json={"email": "p@x.io"})
    accepted = await http.post(f"/v1/invitations/{invited['token']}/accept")
    assert accepted.status_code == 201, accepted.text
    joined = accepted.json()
    member = bearer(joined["api_key"])
    for path in ("/v1/teams", f"/v1/teams/{team_id}", "/v1/events", "/v1/costs"):
        assert (await http.get(path, headers=member)).is_success, path
    first = await ok("GET", "/v1/teams", params={"limit": 1})
    await ok("GET", "/v1/teams", params={"limit": 1, "cursor": first["next_cursor"]})
    await ok("GET", f"/v1/teams/{team_id}")
    await ok("PATCH", f"/v1/teams/{teams[1]['id']}", json={"description": "renamed"})
    for types in ("team.member_joined", "team.member_joined,usage.exceeded", ""):
        page = await ok("GET", "/v1/events", params={"type": types, "limit": 1})
        if page["next_cursor"]:
            await ok("GET", "/v1/events", params={"type": types, "cursor": page["next_cursor"]})
    await ok("GET", "/v1/webhooks")

    async def attempted() -> bool:
        listed = await ok("GET", f"/v1/webhooks/{hook['id']}/deliveries")
        return any(delivery["attempt_count"] for delivery in listed["deliveries"])

    await eventually(attempted)
    [delivery] = (await ok("GET", f"/v1/webhooks/{hook['id']}/deliveries"))["deliveries"]
    await ok("POST", f"/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/resend")
    await ok("GET", f"/v1/webhooks/{hook['id']}/deliveries", params={"before": delivery["id"]})
    connection = await ok("POST", "/v1/providers/connect",
                          json={"provider": "openai", "api_key": "sk-plans-0000"})  # fmt: skip
    await ok("GET", f"/v1/providers/{connection['id']}")
    query = """query Q($t: ID!, $w: ID!) {
      teams { nodes { id members { email } spendThisMonth { tokens } } }
      team(id: $t) { name members { email } spendThisMonth { total { amount } } }
      webhooks { nodes { id } } webhookDeliveries(webhookId: $w) { nodes { id } }
    }"""
    variables = {"t": team_id, "w": hook["id"]}
    answered = await ok("POST", "/graphql", json={"query": query, "variables": variables})
    assert "errors" not in answered, answered
    await ok("DELETE", f"/v1/teams/{team_id}/members/{joined['member']['id']}")
    assert (await http.get("/v1/costs", headers=member)).status_code == 401, "its key is revoked"
    await ok("DELETE", f"/v1/providers/{connection['id']}")
    await ok("DELETE", f"/v1/teams/{teams[2]['id']}")
    await ok("DELETE", f"/v1/webhooks/{hook['id']}")


def test_the_scan_finder_sees_a_scan_nested_in_a_plan() -> None:
    plan = {"stages": [{"$cursor": {"queryPlanner": {"winningPlan": {"stage": "COLLSCAN"}}}}]}
    assert scans(plan) == ["null"]
    indexed = {"winningPlan": {"stage": "FETCH", "inputStage": {"stage": "IXSCAN"}}}
    assert scans(indexed) == []
