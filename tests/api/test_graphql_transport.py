"""The GraphQL door held to GraphQL-over-HTTP and to its limits, over real HTTP and real
websockets: malformed requests, ambiguous or oversized documents and spent hours are refused
with extensions.code, nothing they asked for is stored, and the connection goes on serving."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from meterr.auth import Tier, hash_key
from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.store import Store
from tests.conftest import KeyFactory, bearer
from tests.support.processes import local_port

JsonObject = dict[str, Any]

PRICES = "{ prices { model } }"
TRACK = 'trackUsage(input: {provider: "openai", model: "gpt-4", inputTokens: 10}) { replayed }'
TRANSPORT_WS, LEGACY_WS = "graphql-transport-ws", "graphql-ws"
WAIT = 10.0


@pytest.fixture
async def key(make_key: KeyFactory) -> str:
    return await make_key()


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    """One keep-alive connection: each request after an error goes over the same one."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=server, limits=limits, timeout=60) as client:
        yield client


async def still_serving(http: httpx.AsyncClient, key: str, refused: httpx.Response) -> None:
    """The next request goes over the connection of the refused one, and is answered."""
    after = await http.post("/graphql", headers=bearer(key), json={"query": PRICES})
    assert after.status_code == 200, after.text
    assert after.json()["data"]["prices"]
    assert local_port(after) == local_port(refused), "the server dropped the connection"


async def stored_requests(http: httpx.AsyncClient, key: str) -> int:
    response = await http.get("/v1/usage", headers=bearer(key))
    assert response.status_code == 200, response.text
    requests: int = response.json()["requests"]
    return requests


def only_error(response: httpx.Response, status: int, code: str) -> JsonObject:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == code, body
    assert error["message"]
    details: JsonObject = error["extensions"].get("details") or {}
    return details


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("request_args", "status", "code"),
    [
        pytest.param({"json": [{"query": PRICES}]}, 400, "invalid_input", id="batch-array"),
        pytest.param(
            {"json": {"query": PRICES, "variables": [1]}}, 400, "invalid_input", id="variables-list"
        ),
        pytest.param(
            {"json": {"query": PRICES, "variables": "{}"}},
            400,
            "invalid_input",
            id="variables-string",
        ),
        pytest.param({"json": {"query": 1}}, 400, "invalid_input", id="query-number"),
        pytest.param({"json": {"variables": {}}}, 400, "invalid_input", id="query-missing"),
        pytest.param({"json": "{ prices { model } }"}, 400, "invalid_input", id="body-a-string"),
        pytest.param({"content": b"", "headers": JSON}, 400, "invalid_input", id="empty-body"),
        pytest.param({"data": {"query": PRICES}}, 415, "unsupported_media_type", id="form"),
        pytest.param(
            {"content": json.dumps({"query": PRICES}), "headers": {"content-type": "text/plain"}},
            415,
            "unsupported_media_type",
            id="text-plain",
        ),
        pytest.param(
            {"json": {"query": PRICES, "operationName": 3}},
            400,
            "invalid_input",
            id="operation-name-number",
        ),
        pytest.param(
            {"json": {"query": PRICES, "extensions": [1]}},
            400,
            "invalid_input",
            id="extensions-list",
        ),
        pytest.param(
            {"content": b"[" * 100_000 + b"]" * 100_000, "headers": JSON},
            400,
            "invalid_input",
            id="deep-json",
        ),
        pytest.param(
            {
                "content": b'{"query": "{ prices { model } }", "variables": {"n": NaN}}',
                "headers": JSON,
            },
            400,
            "invalid_input",
            id="nan",
        ),
        pytest.param(
            {"content": b'{"query": "{ pr', "headers": JSON},
            400,
            "invalid_input",
            id="truncated-json",
        ),
    ],
)
async def test_malformed_requests_are_refused_with_their_status_and_code(
    http: httpx.AsyncClient, key: str, request_args: JsonObject, status: int, code: str
) -> None:
    headers = {**bearer(key), **request_args.pop("headers", {})}
    refused = await http.post("/graphql", headers=headers, **request_args)
    only_error(refused, status, code)
    await still_serving(http, key, refused)


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"query": PRICES, "variables": "[1"}, id="variables-not-json"),
        pytest.param({"query": PRICES, "variables": "[1]"}, id="variables-list"),
        pytest.param({"variables": "{}"}, id="query-missing"),
    ],
)
async def test_malformed_get_requests_are_refused_with_400(
    http: httpx.AsyncClient, key: str, params: dict[str, str]
) -> None:
    refused = await http.get("/graphql", headers=bearer(key), params=params)
    only_error(refused, 400, "invalid_input")
    await still_serving(http, key, refused)


async def test_a_query_over_get_is_answered(http: httpx.AsyncClient, key: str) -> None:
    params = {"query": "query Q($p: String) { prices(provider: $p) { provider } }"}
    response = await http.get(
        "/graphql", headers=bearer(key), params={**params, "variables": '{"p": "openai"}'}
    )
    assert response.status_code == 200, response.text
    assert {p["provider"] for p in response.json()["data"]["prices"]} == {"openai"}


async def test_a_mutation_over_get_is_405_with_allow_post_and_stores_nothing(
    http: httpx.AsyncClient, key: str
) -> None:
    refused = await http.get(
        "/graphql", headers=bearer(key), params={"query": f"mutation {{ {TRACK} }}"}
    )
    details = only_error(refused, 405, "method_not_allowed")
    assert refused.headers["Allow"] == "POST"
    assert details["allowed"] == ["POST"]
    assert await stored_requests(http, key) == 0
    await still_serving(http, key, refused)


async def test_a_subscription_over_http_is_refused(http: httpx.AsyncClient, key: str) -> None:
    document = "subscription { usageTracked { id } }"
    refused = await http.post("/graphql", headers=bearer(key), json={"query": document})
    assert only_error(refused, 200, "invalid_input") == {"operation": "subscription"}
    await still_serving(http, key, refused)


async def test_several_operations_without_an_operation_name_run_none_of_them(
    http: httpx.AsyncClient, key: str
) -> None:
    document = f"mutation A {{ {TRACK} }} mutation B {{ a: {TRACK} b: {TRACK} }}"
    refused = await http.post("/graphql", headers=bearer(key), json={"query": document})
    details = only_error(refused, 200, "invalid_input")
    assert details["fields"] == {"operationName": "required"}
    unknown = await http.post(
        "/graphql", headers=bearer(key), json={"query": document, "operationName": "C"}
    )
    assert only_error(unknown, 200, "invalid_input")["fields"] == {"operationName": "unknown"}
    assert await stored_requests(http, key) == 0
    named = await http.post(
        "/graphql", headers=bearer(key), json={"query": document, "operationName": "B"}
    )
    assert set(named.json()["data"]) == {"a", "b"}, named.text
    assert await stored_requests(http, key) == 2
    await still_serving(http, key, refused)


async def test_an_int_variable_past_32_bits_is_invalid_input_not_an_internal_error(
    http: httpx.AsyncClient, key: str
) -> None:
    query = "query Q($n: Int) { events(first: $n) { nodes { id } } }"
    refused = await http.post(
        "/graphql", headers=bearer(key), json={"query": query, "variables": {"n": 2**40}}
    )
    only_error(refused, 200, "invalid_input")
    assert "32-bit" in refused.json()["errors"][0]["message"]
    await still_serving(http, key, refused)


async def test_a_thousand_aliased_mutations_are_refused_before_any_runs(
    http: httpx.AsyncClient, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Run serially, each mutation awaited the one before it: a thousand of them overflowed
    the interpreter's stack. Past the token limit (as these are) or the alias limit (as the
    next test's are), none runs, and the refused document is not copied into the log."""
    document = "mutation { " + " ".join(f"m{i}: {TRACK}" for i in range(1000)) + " }"
    refused = await http.post("/graphql", headers=bearer(key), json={"query": document})
    only_error(refused, 200, "invalid_input")
    assert "tokens" in refused.json()["errors"][0]["message"]
    assert await stored_requests(http, key) == 0
    assert all(len(record.getMessage()) < 10_000 for record in caplog.records)
    await still_serving(http, key, refused)


async def test_a_thousand_short_aliased_mutations_are_refused_by_the_alias_limit(
    http: httpx.AsyncClient, key: str
) -> None:
    created = await http.post(
        "/graphql",
        headers=bearer(key),
        json={"query": 'mutation { createTeam(input: {name: "kept"}) { id } }'},
    )
    team = created.json()["data"]["createTeam"]["id"]
    deletions = " ".join(f"m{i}: deleteTeam(id: $t)" for i in range(1000))
    document = f"mutation D($t: ID!) {{ {deletions} }}"
    refused = await http.post(
        "/graphql", headers=bearer(key), json={"query": document, "variables": {"t": team}}
    )
    details = only_error(refused, 200, "invalid_input")
    assert (details["limit"], details["found"]) == ("aliases", 1000)
    teams = await http.post(
        "/graphql", headers=bearer(key), json={"query": "{ teams { nodes { id } } }"}
    )
    assert [t["id"] for t in teams.json()["data"]["teams"]["nodes"]] == [team]
    await still_serving(http, key, refused)


def nested(levels: int) -> str:
    """An introspection query whose fields nest `levels` deep."""
    fields = ["__schema", "types", "fields", "type", *["ofType"] * (levels - 5), "name"]
    return "{ " + " { ".join(fields) + " }" * len(fields)


def fragment_bomb(levels: int) -> str:
    """A few hundred bytes whose fragments, spread twice at each level, select 2**levels
    fields."""
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"query {{ ...F0 }} {fragments} fragment F{levels} on Query {{ prices {{ model }} }}"


@pytest.mark.parametrize(
    ("document", "limit"),
    [
        pytest.param(
            "{ prices { " + " ".join(f"m{i}: model" for i in range(101)) + " } }",
            "aliases",
            id="aliases",
        ),
        pytest.param(
            "{ events { nodes { " + "price { model } " * 300 + "} } }", "fields", id="fields"
        ),
        pytest.param(fragment_bomb(60), "fields", id="fragment-bomb"),
        pytest.param(
            PRICES + " fragment F on Query { " + "prices { model } " * 300 + "}",
            "fields",
            id="unused-fragment",
        ),
        pytest.param(nested(21), "depth", id="depth"),
        pytest.param(
            "{ " + " ".join(f"c{i}: costs(groupBy: USER) {{ key }}" for i in range(11)) + " }",
            "root_fields",
            id="root-fields",
        ),
        pytest.param(
            "{ " + "prices { model } " * 11 + "}", "root_fields", id="repeated-root-field"
        ),
    ],
)
async def test_documents_over_a_limit_are_refused_before_they_run(
    http: httpx.AsyncClient, key: str, document: str, limit: str, settings: Settings
) -> None:
    refused = await http.post("/graphql", headers=bearer(key), json={"query": document})
    details = only_error(refused, 200, "invalid_input")
    assert details["limit"] == limit
    assert details["found"] > details["maximum"] == getattr(settings, f"graphql_max_{limit}")
    await still_serving(http, key, refused)


async def test_the_documented_limits_let_ordinary_documents_through(
    http: httpx.AsyncClient, key: str
) -> None:
    at_the_limits = [
        "{ " + " ".join(f"c{i}: costs(groupBy: MODEL) {{ key }}" for i in range(10)) + " }",
        nested(20),
        # GraphiQL's first question, but for defaultValue, which BudgetInput's fields do
        # not answer (a required field keeping its base class's default of null)
        get_introspection_query().replace("defaultValue", ""),
    ]
    for document in at_the_limits:
        response = await http.post("/graphql", headers=bearer(key), json={"query": document})
        assert response.status_code == 200, response.text
        assert "errors" not in response.json(), response.text


async def test_a_document_over_the_token_limit_is_refused_without_being_parsed_whole(
    http: httpx.AsyncClient, key: str, settings: Settings
) -> None:
    document = "{ " + "prices { model } " * (settings.graphql_max_tokens // 4 + 1) + "}"
    refused = await http.post("/graphql", headers=bearer(key), json={"query": document})
    only_error(refused, 200, "invalid_input")
    assert (
        f"more than {settings.graphql_max_tokens} tokens" in refused.json()["errors"][0]["message"]
    )
    await still_serving(http, key, refused)


async def test_without_a_key_a_large_document_is_401_before_it_is_parsed(
    http: httpx.AsyncClient, key: str
) -> None:
    invitations = " ".join(
        f'a{i}: acceptInvitation(token: "t{i}") {{ apiKey }}' for i in range(18_000)
    )
    document = f"mutation {{ {invitations} }}"
    assert len(document) > 900_000  # under the body limit, far over the token limit
    refused = await http.post("/graphql", json={"query": document})
    assert only_error(refused, 401, "unauthenticated")["reason"] == "missing"
    accept = 'acceptInvitation(token: "x") { apiKey }'
    two = f"mutation {{ a: {accept} b: {accept} }}"
    only_error(await http.post("/graphql", json={"query": two}), 401, "unauthenticated")
    await still_serving(http, key, refused)


async def test_a_lone_surrogate_in_the_document_or_variables_stores_nothing(
    http: httpx.AsyncClient, key: str
) -> None:
    literal = TRACK.replace('"gpt-4"', '"\\udfff"')
    refused = await http.post(
        "/graphql", headers=bearer(key), json={"query": f"mutation {{ {literal} }}"}
    )
    only_error(refused, 200, "invalid_input")
    with_variable = TRACK.replace('"gpt-4"', "$m")
    query = json.dumps(f"mutation T($m: String!) {{ {with_variable} }}")
    body = '{"query": ' + query + ', "variables": {"m": "\\udfff"}}'
    in_variables = await http.post("/graphql", headers={**bearer(key), **JSON}, content=body)
    only_error(in_variables, 400, "invalid_input")
    assert await stored_requests(http, key) == 0
    await still_serving(http, key, in_variables)


async def org_of(store: Store, key: str) -> str:
    principal = await store.organizations.principal_for_key_hash_across_tenants(hash_key(key))
    assert principal is not None
    return principal.org_id


async def spend(store: Store, clock: SettableClock, key: str, requests: int) -> None:
    """Count `requests` against the key's organization this hour, as earlier requests would."""
    window = clock.now().replace(minute=0, second=0, microsecond=0)
    await store.rate_counters.increment(await org_of(store, key), window, requests)


async def test_each_root_field_counts_against_the_hour(
    http: httpx.AsyncClient, make_key: KeyFactory, store: Store, clock: SettableClock
) -> None:
    key = await make_key(tier=Tier.FREE)
    five = "{ " + " ".join(f"p{i}: prices {{ model }}" for i in range(5)) + " }"
    counted = await http.post("/graphql", headers=bearer(key), json={"query": five})
    assert counted.status_code == 200, counted.text
    assert counted.headers["X-RateLimit-Remaining"] == "95"
    refused = await http.post("/graphql", headers=bearer(key), json={"query": "{ prices { "})
    assert refused.json()["errors"], "a document that does not parse still counts once"
    assert refused.headers["X-RateLimit-Remaining"] == "94"
    await spend(store, clock, key, 91)
    three = "mutation { " + " ".join(f"t{i}: {TRACK}" for i in range(3)) + " }"
    stored = await http.post("/graphql", headers=bearer(key), json={"query": three})
    assert stored.headers["X-RateLimit-Remaining"] == "0", stored.text
    over = await http.post(
        "/graphql", headers=bearer(key), json={"query": f"mutation {{ {TRACK} }}"}
    )
    assert only_error(over, 429, "rate_limited")["limit"] == 100
    assert 0 < int(over.headers["Retry-After"]) <= 3600
    clock.advance(timedelta(hours=1))
    assert await stored_requests(http, key) == 3, "the refused mutation stored nothing"


class Socket:
    """A websocket client of either protocol."""

    def __init__(self, socket: ClientConnection, protocol: str) -> None:
        self.socket = socket
        self.protocol = protocol

    async def send(self, message: object) -> None:
        await self.socket.send(message if isinstance(message, str) else json.dumps(message))

    async def receive(self) -> JsonObject:
        async with asyncio.timeout(WAIT):
            while True:
                message: JsonObject = json.loads(await self.socket.recv())
                if message["type"] not in ("ka", "ping", "pong"):
                    return message

    async def run(self, query: str, op_id: str, **payload: object) -> JsonObject:
        """Start an operation; its first answer."""
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.send({"id": op_id, "type": kind, "payload": {"query": query, **payload}})
        message = await self.receive()
        assert message["id"] == op_id, message
        return message

    async def answers(self, op_id: str) -> None:
        """The socket is open and answers: a query's result over graphql-transport-ws, the
        error saying graphql-ws runs subscriptions only over graphql-ws."""
        result = await self.run(PRICES, op_id)
        if self.protocol == LEGACY_WS:
            assert error_payload(result)["extensions"]["details"] == {"operation": "query"}
            return
        assert result["type"] == "next", result
        assert result["payload"]["data"]["prices"], result
        assert (await self.receive())["type"] == "complete"


@contextlib.asynccontextmanager
async def websocket(server: str, key: str, protocol: str) -> AsyncIterator[Socket]:
    url = server.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[Subprotocol(protocol)]) as raw:
        socket = Socket(raw, protocol)
        await socket.send(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}}
        )
        assert (await socket.receive())["type"] == "connection_ack"
        yield socket


def error_payload(message: JsonObject) -> JsonObject:
    assert message["type"] == "error", message
    payload = message["payload"]
    error: JsonObject = payload[0] if isinstance(payload, list) else payload
    return error


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_each_websocket_operation_counts_and_a_spent_hour_refuses_it_on_an_open_socket(
    server: str,
    http: httpx.AsyncClient,
    make_key: KeyFactory,
    store: Store,
    clock: SettableClock,
    protocol: str,
) -> None:
    key = await make_key(tier=Tier.FREE)
    async with websocket(server, key, protocol) as socket:  # the connection counts once
        kind = "subscribe" if protocol == TRANSPORT_WS else "start"
        for i in range(3):
            subscription = {"query": "subscription { usageTracked { id } }"}
            await socket.send({"id": f"s{i}", "type": kind, "payload": subscription})
        await socket.answers("two")  # answered after the subscriptions started, and counted
        counted = await http.post("/graphql", headers=bearer(key), json={"query": PRICES})
        assert counted.headers["X-RateLimit-Remaining"] == str(100 - 1 - 3 - 1 - 1)
        await spend(store, clock, key, 100)
        refused = error_payload(await socket.run(f"mutation {{ {TRACK} }}", "late"))
        assert refused["extensions"]["code"] == "rate_limited"
        assert refused["extensions"]["retry_after"] > 0
        again = error_payload(await socket.run("subscription { usageTracked { id } }", "later"))
        assert again["extensions"]["code"] == "rate_limited", "the socket stays open"
    clock.advance(timedelta(hours=1))
    assert await stored_requests(http, key) == 0


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_websocket_documents_are_held_to_the_same_limits(
    server: str, key: str, protocol: str
) -> None:
    async with websocket(server, key, protocol) as socket:
        eleven = "{ " + " ".join(f"c{i}: costs {{ key }}" for i in range(11)) + " }"
        refused = error_payload(await socket.run(eleven, "wide"))
        assert refused["extensions"]["code"] == "invalid_input"
        assert refused["extensions"]["details"]["limit"] == "root_fields"
        two = error_payload(await socket.run(f"query A {PRICES} query B {PRICES}", "two"))
        assert two["extensions"]["details"]["fields"] == {"operationName": "required"}
        broken = error_payload(await socket.run("{ prices { model ", "broken"))
        assert broken["extensions"]["code"] == "invalid_input"
        assert broken["message"].startswith("Syntax Error")
        await socket.answers("after")


async def test_a_malformed_graphql_transport_ws_message_closes_with_4400(
    server: str, key: str
) -> None:
    deep = '{"type": "ping", "payload": ' + "[" * 100_000 + "]" * 100_000 + "}"
    surrogate = {
        "id": "s",
        "type": "subscribe",
        "payload": {"query": PRICES, "variables": {"x": "\udfff"}},
    }
    malformed: list[object] = [
        deep,
        json.dumps(surrogate),  # escaped as \udfff: valid JSON syntax, not valid text
        [],
        {"id": 1, "type": "subscribe", "payload": {"query": PRICES}},
        {"id": "q", "type": "subscribe", "payload": {"query": 1}},
        {"id": "q", "type": "subscribe"},
    ]
    for message in malformed:
        async with websocket(server, key, TRANSPORT_WS) as socket:
            await socket.send(message)
            with pytest.raises(ConnectionClosed) as closed:
                await socket.receive()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4400, message


@pytest.mark.parametrize(
    "message",
    [
        {"type": "complete", "id": []},
        {"type": "complete", "id": {"a": 1}},
        {"type": "complete"},
        {"type": ["subscribe"], "id": "q"},
        {"type": {"a": 1}},
        {"type": "x" * 300},
    ],
    ids=[
        "complete-list-id",
        "complete-object-id",
        "complete-no-id",
        "type-list",
        "type-object",
        "type-300-long",
    ],
)
async def test_a_graphql_transport_ws_message_without_a_string_type_or_id_closes_with_4400(
    server: str, key: str, message: JsonObject
) -> None:
    async with websocket(server, key, TRANSPORT_WS) as socket:
        await socket.send(message)
        with pytest.raises(ConnectionClosed) as closed:
            await socket.receive()
        assert closed.value.rcvd is not None, "closed without a close frame"
        assert closed.value.rcvd.code == 4400
        assert len(closed.value.rcvd.reason.encode()) <= 123


async def test_a_second_subscribe_with_a_long_id_closes_with_4409_and_a_reason_that_fits(
    server: str, key: str
) -> None:
    subscribe = {
        "id": "é" * 200,
        "type": "subscribe",
        "payload": {"query": "subscription { usageTracked { id } }"},
    }
    async with websocket(server, key, TRANSPORT_WS) as socket:
        await socket.send(subscribe)
        await socket.answers("running")  # the subscription has started
        await socket.send(subscribe)
        with pytest.raises(ConnectionClosed) as closed:
            await socket.receive()
        assert closed.value.rcvd is not None, "closed without a close frame"
        assert closed.value.rcvd.code == 4409
        assert closed.value.rcvd.reason.startswith("Subscriber for éé")
        assert len(closed.value.rcvd.reason.encode()) <= 123


async def test_graphql_ws_ignores_messages_without_a_type_or_a_string_id(
    server: str, key: str
) -> None:
    async with websocket(server, key, LEGACY_WS) as socket:
        for message in (
            {"id": "x"},
            {"type": ["start"], "id": "x"},
            {"type": "stop"},
            {"type": "stop", "id": []},
            {"type": "stop", "id": {"a": 1}},
            {"type": "start", "id": [], "payload": {"query": PRICES}},
        ):
            await socket.send(message)
        await socket.answers("after")


async def test_graphql_ws_ignores_messages_it_cannot_read_and_refuses_bad_payloads(
    server: str, key: str
) -> None:
    async with websocket(server, key, LEGACY_WS) as socket:
        await socket.send("[" * 100_000 + "]" * 100_000)
        await socket.send([])
        await socket.send({"id": ["x"], "type": "start", "payload": {"query": PRICES}})
        refused = error_payload(await socket.run(1, "bad"))  # type: ignore[arg-type]
        assert refused["extensions"]["code"] == "invalid_input"
        await socket.answers("after")
