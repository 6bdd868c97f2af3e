"""Schemathesis over the app's own /v1/openapi.json, every route and method: requests the
document allows and requests it forbids, with an enterprise admin's key and with none, are
never answered with a server error, every refusal carries the error envelope, and a refused
request stores nothing."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from schemathesis import Case, CheckContext, GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.result import Ok
from starlette.applications import Starlette
from starlette.routing import Mount

from meterr.rest_compat import v1_routes
from meterr.store import Store
from tests.conftest import KeyFactory, bearer
from tests.fuzz.answers import assert_envelope, assert_still_serving, stored_things

# OTLP's protobuf bodies are arbitrary bytes to the fuzzer.
schemathesis.openapi.media_type("application/x-protobuf", st.binary(max_size=512))

# The document as the /v1 routes serve it (the app is driven by the suite's own client: its
# store lives on the test session's event loop).
REST = schemathesis.openapi.from_asgi(
    "/v1/openapi.json", Starlette(routes=[Mount("/v1", routes=v1_routes())])
)
OPERATIONS = [result.ok() for result in REST.get_all_operations() if isinstance(result, Ok)]
DEADLINE = 10.0  # seconds for one answer: slower is a hang
FUZZED = settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
EVENT = {"provider": "openai", "model": "gpt-4o", "input_tokens": 10, "output_tokens": 5}


def error_envelope(_ctx: CheckContext, response: schemathesis.Response, case: Case) -> None:
    """A 4xx is `{"error": {"code", "message", "details"}}`, its code one the error tree
    gives that status."""
    if 400 <= response.status_code < 500:
        assert_envelope(response, case.operation.label)  # type: ignore[arg-type]


CHECKS: list[CheckFunction] = [not_a_server_error, error_envelope]


@pytest.fixture(scope="module")
async def admin_key(make_key: KeyFactory) -> str:
    return await make_key()


@pytest.fixture(scope="module")
async def known_ids(client: httpx.AsyncClient, admin_key: str) -> dict[str, str]:
    """Things of the fuzzing tenant that path parameters sometimes name, so that the
    routes of one thing are fuzzed past their 404."""
    headers = bearer(admin_key)

    async def created(path: str, body: dict[str, Any], field: str = "id") -> str:
        response = await client.post(f"/v1{path}", headers=headers, json=body)
        assert response.status_code == 201, response.text
        value: str = response.json()[field]
        return value

    team_id = await created("/teams", {"name": "fuzzed"})
    return {
        "budget_id": await created("/budgets", {"name": "fuzzed", "limit": 10}),
        "team_id": team_id,
        "webhook_id": await created("/webhooks", {"url": "https://93.184.216.34/hook"}),
        "event_id": await created("/track", {**EVENT, "event_id": "fuzzed"}, "event_id"),
        "connection_id": await created(
            "/providers/connect", {"provider": "openai", "api_key": "sk-fuzzed0000000000"}
        ),
    }


def cases(operation: schemathesis.APIOperation, known: dict[str, str]) -> st.SearchStrategy[Case]:
    """Requests the document allows or forbids; now and then naming a thing that exists."""
    names = {parameter.name for parameter in operation.path_parameters}
    named = {name: value for name, value in known.items() if name in names}
    key = (operation.label, tuple(sorted(named.items())))
    if key not in _CASES:
        _CASES[key] = st.one_of(
            [
                operation.as_strategy(mode, path_parameters=path_parameters)
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
                for path_parameters in ([None, named] if named else [None])
            ]
        ).map(without_dns_lookups)
    return _CASES[key]


_CASES: dict[tuple[str, tuple[tuple[str, str], ...]], st.SearchStrategy[Case]] = {}


def without_dns_lookups(case: Case) -> Case:
    """A webhook URL naming its host by a DNS name is sent with a public address instead:
    the fuzzer sends no query out."""
    if case.operation.path == "/webhooks" and isinstance(case.body, dict):
        url = case.body.get("url")
        if isinstance(url, str) and names_a_host(url):
            case.body["url"] = urlunsplit(urlsplit(url)._replace(netloc="93.184.216.34"))
    return case


def names_a_host(url: str) -> bool:
    """Whether the URL's host is a name to look up (a malformed URL is refused before)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


async def send(http: httpx.AsyncClient, case: Case, headers: dict[str, str]) -> httpx.Response:
    """The case as schemathesis would send it, over the suite's ASGI client."""
    request = case.as_transport_kwargs(base_url=str(http.base_url.join("/v1")), headers=headers)
    body: dict[str, Any] = {}
    if "json" in request:
        body["content"] = json.dumps(request["json"]).encode()
    elif request.get("data") is not None:
        data = request["data"]
        body["content"] = data.encode() if isinstance(data, str) else data
    try:
        outgoing = http.build_request(
            request["method"],
            request["url"],
            params=request.get("params"),
            headers=request["headers"],
            cookies=request.get("cookies") or None,
            **body,
        )
    except httpx.InvalidURL:
        reject()  # a query past 64 KiB, which no HTTP client sends
    async with asyncio.timeout(DEADLINE):
        return await http.send(outgoing)


async def test_the_fuzzed_document_is_the_one_the_app_serves(client: httpx.AsyncClient) -> None:
    served = await client.get("/v1/openapi.json")
    assert served.status_code == 200
    assert served.json() == REST.raw_schema


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
@settings(FUZZED, max_examples=8)
@given(data=st.data())
async def test_no_rest_route_answers_a_server_error(
    client: httpx.AsyncClient,
    store: Store,
    admin_key: str,
    known_ids: dict[str, str],
    operation: schemathesis.APIOperation,
    data: st.DataObject,
) -> None:
    case = data.draw(cases(operation, known_ids))
    writes = operation.method.upper() != "GET"
    before = await stored_things(store) if writes else None
    response = await send(client, case, bearer(admin_key))
    case.validate_response(response, checks=CHECKS)
    if before is not None and response.status_code >= 400:
        assert await stored_things(store) == before, f"{case.operation.label} refused, stored"


@settings(FUZZED, max_examples=60)
@given(case=REST.as_strategy(GenerationMode.POSITIVE))
async def test_without_a_key_every_route_but_the_public_ones_answers_401(
    client: httpx.AsyncClient, case: Case
) -> None:
    response = await send(client, case, {})
    case.validate_response(response, checks=CHECKS)
    public = {"/openapi.json", "/invitations/{token}/accept"}
    if case.operation.path not in public:
        assert response.status_code == 401, f"{case.operation.label}: {response.text[:300]}"
        assert response.json()["error"]["code"] == "unauthenticated"


async def test_after_the_fuzzing_the_server_serves_probes_and_other_tenants(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    await assert_still_serving(client, await make_key())
