"""Hypothesis against POST /graphql: documents generated from the schema for every root
field (valid ones, and ones with one violation), and every real query and mutation with
plausible and hostile variables. No answer is a server error or an unexpected error, every
answer holds `data` or `errors` with the error tree's codes, a refused mutation stores
nothing, and afterwards the server still answers its probes and another tenant's requests."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema

from meterr.store import Store
from tests.conftest import KeyFactory, bearer
from tests.fuzz.answers import assert_graphql_answer, assert_still_serving, stored_things
from tests.fuzz.graphql_documents import SCHEMA, Known, RootField, root_fields
from tests.fuzz.hostile import DATES, DECIMALS, JSON_VALUES, TEXT

ROOT_FIELDS = root_fields()
DEADLINE = 10.0  # seconds for one answer: slower is a hang
FUZZED = settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def string_node(value: str) -> graphql.ValueNode:
    return graphql.StringValueNode(value=value)


def literal(value: Any) -> graphql.ValueNode:
    """A JSON value as a GraphQL literal; keys that are no GraphQL names are renamed."""
    if isinstance(value, dict):
        fields = [
            graphql.ObjectFieldNode(
                name=graphql.NameNode(value=key if NAME.fullmatch(key) else f"k{i}"),
                value=literal(item),
            )
            for i, (key, item) in enumerate(value.items())
        ]
        return graphql.ObjectValueNode(fields=tuple(fields))
    if isinstance(value, list):
        return graphql.ListValueNode(values=tuple(literal(item) for item in value))
    if isinstance(value, bool):
        return graphql.BooleanValueNode(value=value)
    if isinstance(value, int):
        return graphql.IntValueNode(value=str(value))
    if isinstance(value, float):
        return graphql.FloatValueNode(value=repr(value))
    if value is None:
        return graphql.NullValueNode()
    return string_node(value)


NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
# Literal arguments of the custom scalars, as documents spell them.
SCALAR_LITERALS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "Decimal": DECIMALS.map(str).map(string_node),
    "Date": DATES.map(string_node),
    "DateTime": DATES.map(string_node),
    "TimeBound": DATES.map(string_node),
    "TimeZone": TEXT.map(string_node),
    "JSON": JSON_VALUES.map(literal),
}


def _violable(field: graphql.GraphQLField) -> bool:
    return any(
        graphql.is_non_null_type(argument.type)
        or graphql.is_specified_scalar_type(graphql.get_named_type(argument.type))
        for argument in field.args.values()
    )


@pytest.fixture(scope="module")
async def fuzzer_key(make_key: KeyFactory) -> str:
    return await make_key()


async def post(http: httpx.AsyncClient, key: str, content: bytes) -> httpx.Response:
    headers = {**bearer(key), "content-type": "application/json"}
    async with asyncio.timeout(DEADLINE):
        return await http.post("/graphql", headers=headers, content=content)


def request_body(document: str, variables: dict[str, Any] | None = None) -> bytes:
    """The request as JSON text: a lone surrogate is escaped, as a client's encoder does."""
    return json.dumps({"query": document, "variables": variables}).encode()


@pytest.fixture(scope="module")
async def known_ids(client: httpx.AsyncClient, fuzzer_key: str) -> Known:
    """Things of the fuzzing tenant that variables sometimes name, so that the operations
    on one thing are fuzzed past their not_found."""
    headers = bearer(fuzzer_key)

    async def created(path: str, body: dict[str, Any]) -> str:
        response = await client.post(f"/v1{path}", headers=headers, json=body)
        assert response.status_code == 201, response.text
        value: str = response.json()["id"]
        return value

    budget = await created("/budgets", {"name": "fuzzed", "limit": 10})
    team = await created("/teams", {"name": "fuzzed"})
    webhook = await created("/webhooks", {"url": "https://93.184.216.34/hook"})
    connection = await created(
        "/providers/connect", {"provider": "openai", "api_key": "sk-fuzzed0000000000"}
    )
    return {
        "id": [budget, team, webhook, connection],
        "budgetId": [budget],
        "teamId": [team],
        "webhookId": [webhook],
        "connectionId": [connection],
    }


@pytest.mark.parametrize("field", ROOT_FIELDS, ids=repr)
@settings(FUZZED, max_examples=4)
@given(data=st.data())
async def test_no_generated_document_answers_a_server_error(
    client: httpx.AsyncClient, fuzzer_key: str, field: RootField, data: st.DataObject
) -> None:
    # Only a field with a required argument, or one of a built-in scalar, has something the
    # negative mode knows how to violate (the schema's own scalars get hostile literals).
    modes = [Mode.POSITIVE, Mode.NEGATIVE] if _violable(field.field) else [Mode.POSITIVE]
    mode = data.draw(st.sampled_from(modes))
    document = data.draw(
        from_schema(SCHEMA, fields=[field.name], custom_scalars=SCALAR_LITERALS, mode=mode)
    )
    response = await post(client, fuzzer_key, request_body(document))
    assert_graphql_answer(response, document)


_REQUESTS: dict[str, st.SearchStrategy[tuple[str, dict[str, Any]]]] = {}


@pytest.mark.parametrize("field", ROOT_FIELDS, ids=repr)
@settings(FUZZED, max_examples=8)
@given(data=st.data())
async def test_no_variables_make_an_operation_answer_a_server_error(
    client: httpx.AsyncClient,
    store: Store,
    fuzzer_key: str,
    known_ids: Known,
    field: RootField,
    data: st.DataObject,
) -> None:
    if field.name not in _REQUESTS:
        _REQUESTS[field.name] = field.requests(known_ids)
    document, variables = data.draw(_REQUESTS[field.name])
    before = await stored_things(store) if field.kind == "mutation" else None
    response = await post(client, fuzzer_key, request_body(document, variables))
    body = assert_graphql_answer(response, f"{document} with {variables!r:.2000}")
    if before is not None and body.get("errors"):
        assert await stored_things(store) == before, f"{document} was refused but stored"


async def test_after_the_fuzzing_the_server_serves_probes_and_other_tenants(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    await assert_still_serving(client, await make_key())
