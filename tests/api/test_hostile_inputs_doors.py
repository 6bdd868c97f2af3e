"""Hostile inputs through both doors: days out of range in a provider sync, a price file
nested to hurt, forged page cursors and amounts too large to hold are refused with
invalid_input naming the field, over REST and GraphQL, and nothing is stored or fetched."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from meterr.app import create_app
from meterr.clock import Clock
from meterr.config import Settings
from meterr.store import Store
from tests.conftest import KeyFactory, api_only, bearer
from tests.servers import serving
from tests.support.providers import FakeProviders

EVENT = {"provider": "openai", "model": "gpt-4o", "input_tokens": 10, "output_tokens": 5}
HUGE = ["1e999990", "1e1000000"]


@pytest.fixture(scope="module")
async def providers() -> AsyncIterator[FakeProviders]:
    async with FakeProviders().running() as fake:
        yield fake


@pytest.fixture(scope="module")
async def http(
    settings: Settings, store: Store, clock: Clock, providers: FakeProviders
) -> AsyncIterator[httpx.AsyncClient]:
    """One keep-alive connection to Meterr behind a real server, its providers' usage APIs
    the local fake: a dropped connection, or a provider asked anything, shows."""
    served = api_only(settings).model_copy(
        update={"openai_api_base": providers.url, "anthropic_api_base": providers.url}
    )
    limits = httpx.Limits(max_connections=1)
    async with (
        serving(create_app(served, store=store, clock=clock), served) as url,
        httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client,
    ):
        yield client


def refused_over_rest(response: httpx.Response, field: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input", error
    assert field in error["details"]["fields"], error


async def refused_over_graphql(
    http: httpx.AsyncClient,
    key: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    field: str | None,
) -> None:
    response = await http.post(
        "/graphql", headers=bearer(key), json={"query": query, "variables": variables or {}}
    )
    errors = response.json()["errors"]
    assert errors, response.text
    assert all(e["extensions"]["code"] == "invalid_input" for e in errors), errors
    if field is not None:
        # A field of an input is named at its path (input.startDate); each refused value of
        # a variable is an error of its own.
        named = [name for e in errors for name in e["extensions"]["details"]["fields"]]
        assert any(name.rpartition(".")[2].startswith(field) for name in named), errors


async def stored_requests(http: httpx.AsyncClient, key: str) -> int:
    response = await http.get("/v1/usage", headers=bearer(key))
    assert response.status_code == 200, response.text
    return int(response.json()["requests"])


async def overrides(http: httpx.AsyncClient, key: str) -> list[dict[str, Any]]:
    prices = (await http.get("/v1/prices", headers=bearer(key))).json()["prices"]
    return [price for price in prices if price["origin"] == "override"]


SYNC = """
mutation S($id: ID!, $input: SyncInput!) { syncProvider(id: $id, input: $input) { imported } }
"""


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("0001-01-01", "0001-01-02", "start_date"),
        ("1969-12-31", "1970-01-01", "start_date"),
        ("9999-12-30", "9999-12-31", "start_date"),
        ("2025-06-01", "9999-12-31", "end_date"),
        ("0001-01-01T00:00:00+01:00", "2025-06-02", "start_date"),
        ("2025-06-01", "+10000-01-01", "end_date"),
        ("2025-01-01", "2025-12-31", "end_date"),
    ],
    ids=["year-1", "before-1970", "year-9999", "end-9999", "instant-year-1", "year-10000", "span"],
)
async def test_a_provider_sync_over_days_out_of_range_is_refused_through_both_doors(
    http: httpx.AsyncClient,
    make_key: KeyFactory,
    providers: FakeProviders,
    start: str,
    end: str,
    field: str,
) -> None:
    key = await make_key()
    body = {"provider": "openai", "api_key": "admin-key-openai-9876", "mode": "import"}
    connected = await http.post("/v1/providers/connect", headers=bearer(key), json=body)
    assert connected.status_code == 201, connected.text
    connection_id = connected.json()["id"]
    asked = len(providers.requests)

    refused_over_rest(
        await http.post(
            f"/v1/providers/{connection_id}/sync",
            headers=bearer(key),
            json={"start_date": start, "end_date": end},
        ),
        field,
    )
    variables = {"id": connection_id, "input": {"startDate": start, "endDate": end}}
    camel = {"start_date": "startDate", "end_date": "endDate"}[field]
    await refused_over_graphql(http, key, SYNC, variables, field=camel)

    assert len(providers.requests) == asked, "the provider was not asked anything"
    fetched = await http.get(f"/v1/providers/{connection_id}", headers=bearer(key))
    assert fetched.json()["last_sync_at"] is None
    assert await stored_requests(http, key) == 0


async def test_a_price_file_nested_100000_deep_is_refused_through_both_doors(
    http: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    deep = "[" * 100_000 + "]" * 100_000
    headers = {**bearer(key), "Content-Type": "application/json"}
    document = '{"gpt-house": {"mode": "chat", "input_cost_per_token": ' + deep + "}}"
    refused_over_rest(
        await http.post("/v1/prices/import", headers=headers, content=document.encode()), "body"
    )
    refused_over_rest(
        await http.post("/v1/prices/import", headers=headers, content=deep.encode()), "body"
    )
    # Through GraphQL: as the file variable (the body is refused whole), then written in
    # the document itself (the parser stops at its token limit).
    mutation = "mutation I($file: JSON!) { importPrices(file: $file) { repriced } }"
    body = '{"query": "' + mutation + '", "variables": {"file": ' + document + "}}"
    response = await http.post("/graphql", headers=headers, content=body.encode())
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "invalid_input"
    assert error["extensions"]["details"]["fields"] == {"body": "nested too deeply"}
    literal = "mutation { importPrices(file: " + deep + ") { repriced } }"
    await refused_over_graphql(http, key, literal, field=None)
    assert await overrides(http, key) == []


EVENTS_AFTER = "query E($after: String) { events(after: $after) { nodes { id } } }"
NOTIFICATIONS_AFTER = (
    "query N($after: String) { notifications(after: $after) { nodes { __typename } } }"
)


@pytest.mark.parametrize(
    "cursor",
    [
        "éé",
        "²",
        "9" * 40,
        "9" * 5000,
        "-1",
        "!!not a cursor!!",
        base64.urlsafe_b64encode(b"[" * 3000).decode(),
        base64.urlsafe_b64encode(b'["9999-12-31T23:59:59-01:00", "evt"]').decode(),
    ],
    ids=[
        "accents",
        "superscript",
        "40-digits",
        "5000-digits",
        "negative",
        "garbage",
        "deep",
        "9999",
    ],
)
@pytest.mark.parametrize("listing", [EVENTS_AFTER, NOTIFICATIONS_AFTER], ids=["events", "notes"])
async def test_forged_graphql_after_cursors_are_refused_naming_after(
    http: httpx.AsyncClient, make_key: KeyFactory, listing: str, cursor: str
) -> None:
    key = await make_key()
    await refused_over_graphql(http, key, listing, {"after": cursor}, field="after")
    # The connection, and the key, still serve.
    assert await stored_requests(http, key) == 0


# Per kind: REST path, the amount's field, a REST body, the GraphQL mutation, its input.
AMOUNT_MUTATIONS: dict[str, tuple[str, str, dict[str, Any], str, dict[str, Any]]] = {
    "budget": (
        "/v1/budgets",
        "limit",
        {"name": "b", "limit": 10},
        "mutation C($input: BudgetInput!) { createBudget(input: $input) { id } }",
        {"name": "b", "limit": "10"},
    ),
    "reservation": (
        "/v1/budgets/reserve",
        "estimated_cost",
        {"estimated_cost": 1},
        "mutation R($input: ReservationInput!) { reserveBudget(input: $input) { allowed } }",
        {"estimatedCost": "1"},
    ),
    "price-override": (
        "/v1/prices/overrides",
        "input",
        {"provider": "openai", "model": "gpt-4o", "input": 1, "output": 1},
        "mutation P($input: PriceOverrideInput!) { setPriceOverride(input: $input) { model } }",
        {"provider": "openai", "model": "gpt-4o", "input": "1", "output": "1"},
    ),
}


def with_number(body: dict[str, Any], field: str, literal: str) -> bytes:
    """`body` as JSON, with `field` set to the number written `literal`."""
    others = json.dumps({name: value for name, value in body.items() if name != field})
    return f'{{"{field}": {literal}{", " if others != "{}" else ""}{others[1:]}'.encode()


@pytest.mark.parametrize("huge", HUGE)
@pytest.mark.parametrize("kind", list(AMOUNT_MUTATIONS))
async def test_amounts_too_large_to_hold_are_refused_through_both_doors(
    http: httpx.AsyncClient, make_key: KeyFactory, kind: str, huge: str
) -> None:
    key = await make_key()
    witness = {"name": "witness", "limit": 10}
    assert (await http.post("/v1/budgets", headers=bearer(key), json=witness)).status_code == 201
    path, field, body, mutation, graphql_input = AMOUNT_MUTATIONS[kind]
    headers = {**bearer(key), "Content-Type": "application/json"}
    # As a JSON number (read as an infinite float) and as a string (read as a decimal).
    as_number = with_number(body, field, huge)
    refused_over_rest(await http.post(path, headers=headers, content=as_number), field)
    refused_over_rest(await http.post(path, headers=bearer(key), json={**body, field: huge}), field)
    camel = "estimatedCost" if field == "estimated_cost" else field
    variables = {"input": {**graphql_input, camel: huge}}
    await refused_over_graphql(http, key, mutation, variables, field=camel)

    budgets = (await http.get("/v1/budgets", headers=bearer(key))).json()["budgets"]
    assert [(budget["name"], budget["reserved"]) for budget in budgets] == [("witness", 0)]
    assert await overrides(http, key) == []
