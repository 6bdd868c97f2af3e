"""Browsers on other origins: CORS preflights and responses for /v1 and /graphql when origins
are configured, and the same list checked on GraphQL websockets, against real servers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin, Subprotocol

from meterr.app import create_app
from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.store import Store
from tests.conftest import KeyFactory, api_only, bearer
from tests.servers import serving
from tests.support.events import event

LISTED = "https://dashboard.example.com"
ALSO_LISTED = "http://localhost:5173"
STRANGER = "https://evil.example.net"
EXPOSED = {
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "retry-after",
    "x-request-id",
    "x-meterr-source",
    "x-meterr-source-reason",
}


@pytest.fixture(scope="module")
async def cross_origin_server(
    settings: Settings, store: Store, clock: SettableClock
) -> AsyncIterator[str]:
    """Meterr with two origins listed, behind uvicorn with the websocket protocol `meterr
    serve` uses; answers host:port."""
    listed = api_only(settings).model_copy(update={"cors_origins": (LISTED, ALSO_LISTED)})
    async with serving(create_app(listed, store=store, clock=clock), listed) as url:
        yield url.removeprefix("http://")


@pytest.fixture
async def http(cross_origin_server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://{cross_origin_server}") as client:
        yield client


def preflight(origin: str, method: str, headers: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


def listed_words(value: str) -> set[str]:
    return {word.strip().lower() for word in value.split(",")}


@pytest.mark.parametrize(
    ("path", "method", "asked"),
    [
        ("/v1/track", "POST", "authorization, content-type, idempotency-key"),
        ("/v1/budgets/bud_1", "PATCH", "authorization, content-type"),
        ("/v1/webhooks/whk_1", "DELETE", "authorization"),
        ("/v1/costs", "GET", "authorization, x-request-id"),
        ("/graphql", "POST", "authorization, content-type"),
    ],
)
async def test_a_listed_origin_passes_the_preflight_of_v1_and_graphql(
    http: httpx.AsyncClient, path: str, method: str, asked: str
) -> None:
    for origin in (LISTED, ALSO_LISTED):
        answer = await http.options(path, headers=preflight(origin, method, asked))
        assert answer.status_code == 200, answer.text
        assert answer.headers["access-control-allow-origin"] == origin
        allowed_methods = listed_words(answer.headers["access-control-allow-methods"])
        assert {"get", "post", "patch", "put", "delete"} <= allowed_methods
        allowed_headers = listed_words(answer.headers["access-control-allow-headers"])
        assert listed_words(asked) <= allowed_headers
        assert "origin" in listed_words(answer.headers["vary"])


async def test_responses_to_a_listed_origin_expose_the_headers_clients_act_on(
    http: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    headers = {"Origin": LISTED, **bearer(key)}
    tracked = await http.post("/v1/track", headers=headers, json=event())
    costs = await http.get("/v1/costs", headers=headers)
    refused = await http.get("/v1/costs", headers={"Origin": LISTED})
    graphql = await http.post("/graphql", headers=headers, json={"query": "{ __typename }"})
    for answer in (tracked, costs, refused, graphql):
        assert answer.headers["access-control-allow-origin"] == LISTED
        assert listed_words(answer.headers["access-control-expose-headers"]) == EXPOSED
    assert tracked.status_code == 201
    assert "x-ratelimit-remaining" in costs.headers
    assert "x-meterr-source" in costs.headers
    assert refused.status_code == 401
    assert graphql.json()["data"] == {"__typename": "Query"}


async def test_an_origin_not_listed_is_given_no_allow_origin(http: httpx.AsyncClient) -> None:
    asked = await http.options(
        "/v1/track", headers=preflight(STRANGER, "POST", "authorization, content-type")
    )
    simple = await http.get("/healthz", headers={"Origin": STRANGER})
    assert asked.status_code == 400
    assert "access-control-allow-origin" not in asked.headers
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers


async def test_a_listed_origin_may_not_send_headers_or_methods_beyond_the_list(
    http: httpx.AsyncClient,
) -> None:
    odd_header = await http.options(
        "/v1/track", headers=preflight(LISTED, "POST", "authorization, x-forwarded-for")
    )
    odd_method = await http.options("/v1/track", headers=preflight(LISTED, "TRACE", "accept"))
    assert odd_header.status_code == odd_method.status_code == 400


async def test_without_origins_configured_cross_origin_requests_stay_refused(
    server: str,
) -> None:
    async with httpx.AsyncClient(base_url=server) as http:
        asked = await http.options(
            "/v1/track", headers=preflight(LISTED, "POST", "authorization, content-type")
        )
        simple = await http.get("/healthz", headers={"Origin": LISTED})
    assert asked.status_code == 405
    for answer in (asked, simple):
        assert not [name for name in answer.headers if name.startswith("access-control-")]


async def socket_answer(server: str, key: str, origin: str | None) -> str:
    """Opens a graphql-transport-ws socket with that Origin (none when None) and answers
    the type of the server's reply to connection_init."""
    async with connect(
        f"ws://{server}/graphql",
        subprotocols=[Subprotocol("graphql-transport-ws")],
        origin=Origin(origin) if origin is not None else None,
    ) as socket:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}}
        await socket.send(json.dumps(init))
        async with asyncio.timeout(10):
            reply: str = json.loads(await socket.recv())["type"]
        return reply


async def socket_refusal(server: str, origin: str) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            f"ws://{server}/graphql",
            subprotocols=[Subprotocol("graphql-transport-ws")],
            origin=Origin(origin),
        ):
            pass
    status: int = refused.value.response.status_code
    return status


async def test_sockets_from_listed_origins_their_own_host_or_no_browser_are_accepted(
    cross_origin_server: str, make_key: KeyFactory
) -> None:
    key = await make_key()
    own = f"http://{cross_origin_server}"
    for origin in (LISTED, ALSO_LISTED, own, None):
        assert await socket_answer(cross_origin_server, key, origin) == "connection_ack", origin


async def test_a_browser_socket_from_an_origin_not_listed_is_refused_before_the_handshake(
    cross_origin_server: str,
) -> None:
    for origin in (STRANGER, "null", "http://dashboard.example.com", "https://localhost:5173"):
        assert await socket_refusal(cross_origin_server, origin) == 403, origin


async def test_without_origins_configured_only_the_services_own_pages_open_sockets(
    server: str, make_key: KeyFactory
) -> None:
    key = await make_key()
    host = server.removeprefix("http://")
    assert await socket_refusal(host, LISTED) == 403
    assert await socket_answer(host, key, f"http://{host}") == "connection_ack"
    assert await socket_answer(host, key, None) == "connection_ack"


@pytest.mark.parametrize(
    "written",
    [
        f"{LISTED},{ALSO_LISTED}",
        f" {LISTED} , {ALSO_LISTED} ",
        json.dumps([LISTED, ALSO_LISTED]),
        f"HTTPS://Dashboard.Example.com:443,{ALSO_LISTED}",  # as browsers send it
    ],
)
def test_the_origins_setting_reads_a_comma_separated_or_json_list(
    monkeypatch: pytest.MonkeyPatch, written: str
) -> None:
    monkeypatch.setenv("METERR_CORS_ORIGINS", written)
    assert Settings().cors_origins == (LISTED, ALSO_LISTED)
    monkeypatch.delenv("METERR_CORS_ORIGINS")
    assert Settings().cors_origins == ()


@pytest.mark.parametrize(
    "written",
    [f"{LISTED}/", f"{LISTED}/app", "dashboard.example.com", "ftp://x.example", "null"],
)
def test_an_origin_browsers_would_never_send_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, written: str
) -> None:
    monkeypatch.setenv("METERR_CORS_ORIGINS", written)
    with pytest.raises(ValueError, match="not an origin"):
        Settings()
