"""GraphQL refusals: a write key's reads and price changes (forbidden), missing or unknown keys
(HTTP 401), operations that do not validate (invalid_input); and a schema that introspects
without errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from meterr.auth import Role
from tests.conftest import KeyFactory
from tests.support.graphql import data_of, error_of, graphql, track_gql

JsonObject = dict[str, Any]


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
    "query",
    [
        pytest.param("{ costs(groupBy: COLOUR) { key } }", id="unknown-enum"),
        pytest.param("{ costs { key nonsense } }", id="unknown-field"),
        pytest.param("{ costs { key ", id="syntax"),
    ],
)
async def test_malformed_operations_are_invalid_input(
    client: httpx.AsyncClient, make_key: KeyFactory, query: str
) -> None:
    body = await graphql(client, await make_key(), query)
    assert body["errors"]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"invalid_input"}


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


RANGE_QUERY = """
query Range($from: TimeBound, $to: TimeBound, $zone: TimeZone) {
  costs(startDate: $from, endDate: $to, tz: $zone) { key }
}
"""


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        pytest.param({"from": "2025-02-30"}, "from", id="no-such-day"),
        pytest.param({"from": "yesterday"}, "from", id="not-a-day"),
        pytest.param({"to": "1969-12-31"}, "to", id="before-1970"),
        pytest.param({"from": 20250101}, "from", id="a-number"),
        pytest.param({"zone": "Etc"}, "zone", id="zone-folder"),
        pytest.param({"zone": "Mars/Olympus"}, "zone", id="unknown-zone"),
    ],
)
async def test_range_bounds_and_zones_are_typed_and_refused_naming_their_variable(
    client: httpx.AsyncClient, make_key: KeyFactory, variables: dict[str, Any], field: str
) -> None:
    key = await make_key()
    error = await error_of(client, key, RANGE_QUERY, variables)
    assert error["extensions"]["code"] == "invalid_input"
    assert error["extensions"]["details"]["fields"] == {field: "invalid value"}
    kind = "TimeZone" if field == "zone" else "TimeBound"
    assert f"cannot represent a {kind}" in error["message"]


async def test_a_day_an_instant_and_a_zone_are_accepted_as_their_scalars(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    variables = {"from": "2025-01-01", "to": "2025-01-31T23:30:00+05:30", "zone": "Asia/Kolkata"}
    assert await data_of(client, key, RANGE_QUERY, variables) == {"costs": []}
    declared_as_string = RANGE_QUERY.replace("$from: TimeBound", "$from: String")
    error = await error_of(client, key, declared_as_string, {"from": "2025-01-01"})
    assert error["extensions"]["code"] == "invalid_input"
    assert "TimeBound" in error["message"]
