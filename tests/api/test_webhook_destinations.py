"""Where a webhook may point, through both doors: IPv6 forms that carry a private IPv4 address,
control characters and malformed host names, and ports, when an endpoint is created and again
when a delivery is due."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.store import Store
from tests.conftest import KeyFactory, bearer, eventually
from tests.support.apps import meterr
from tests.support.graphql import data_of, error_of
from tests.support.webhooks import CREATE_WEBHOOK, Receiver, deliveries, exceed, webhook_settings

# Public addresses, named only as destinations: the apps of these tests deliver nothing there.
PUBLIC_V4 = "93.184.215.14"
PUBLIC_NAT64 = "64:ff9b::5db8:d70e"  # the same address behind the well-known NAT64 prefix

EMBEDDED_PRIVATE = [
    "http://[::127.0.0.1]/hook",  # IPv4-compatible
    "http://[::10.0.0.8]/hook",
    "http://[64:ff9b::7f00:1]/hook",  # NAT64, well-known prefix
    "http://[64:ff9b:1::a00:1]/hook",  # NAT64, local-use prefix
    "http://[2002:7f00:1::]/hook",  # 6to4
    "http://[::ffff:0:7f00:1]/hook",  # IPv4-translated
    "http://[::ffff:a9fe:a9fe]/latest/meta-data",  # IPv4-mapped, written in hex
]
MALFORMED_HOSTS = [
    "http://exa\x00mple.com/hook",
    "http://example.com\x01/hook",
    "http://exa\x7fmple.com/hook",
    "http://exa..mple.com/hook",
    "http://.example.com/hook",
    "http://-example.com/hook",
    f"http://{'a' * 64}.example.com/hook",
    "http://" + ".".join(["a" * 60] * 5) + "/hook",  # 304 characters
    "http://exa mple.com/hook",
    "http://[::1/hook",
]
BAD_PORTS = [
    "http://example.com:0/hook",
    "http://example.com:99999/hook",
    "http://example.com:65536/hook",
    "http://example.com:http/hook",
    f"http://{PUBLIC_V4}:8080/hook",
    f"https://{PUBLIC_V4}:22/hook",
]


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server) as client:
        yield client


async def refusals(http: httpx.AsyncClient, key: str, url: str) -> tuple[Any, Any]:
    """The error envelope of REST's answer and GraphQL's error, for one URL."""
    rest = await http.post("/v1/webhooks", headers=bearer(key), json={"url": url})
    assert rest.status_code == 400, (url, rest.status_code, rest.text)
    gql = await error_of(http, key, CREATE_WEBHOOK, {"input": {"url": url}})
    return rest.json()["error"], gql


@pytest.mark.parametrize("url", EMBEDDED_PRIVATE + MALFORMED_HOSTS + BAD_PORTS)
async def test_a_refused_destination_is_invalid_input_naming_url_through_both_doors(
    http: httpx.AsyncClient, make_key: KeyFactory, url: str
) -> None:
    key = await make_key()
    rest, gql = await refusals(http, key, url)
    assert rest["code"] == gql["extensions"]["code"] == "invalid_input"
    assert set(rest["details"]["fields"]) == {"url"}
    assert gql["extensions"]["details"] == rest["details"]
    assert (await http.get("/v1/webhooks", headers=bearer(key))).json()["webhooks"] == []


async def test_the_reasons_say_what_is_wrong(http: httpx.AsyncClient, make_key: KeyFactory) -> None:
    key = await make_key()

    async def reason(url: str) -> str:
        rest, _ = await refusals(http, key, url)
        found: str = rest["details"]["fields"]["url"]
        return found

    assert "non-public" in await reason("http://[64:ff9b::7f00:1]/hook")
    assert "control character" in await reason("http://exa\x00mple.com/hook")
    assert "label" in await reason("http://exa..mple.com/hook")
    assert "253" in await reason("http://" + ".".join(["a" * 60] * 5) + "/hook")
    assert "1 to 65535" in await reason("http://example.com:99999/hook")
    assert "port 8080" in await reason(f"http://{PUBLIC_V4}:8080/hook")


async def test_public_addresses_on_the_usual_ports_are_accepted_in_every_form(
    http: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    for url in (
        f"https://{PUBLIC_V4}/hook",
        f"http://{PUBLIC_V4}:80/hook",
        f"https://{PUBLIC_V4}:443/hook",
        f"https://[{PUBLIC_NAT64}]/hook",
        f"https://[::ffff:{PUBLIC_V4}]/hook",
    ):
        rest = await http.post("/v1/webhooks", headers=bearer(key), json={"url": url})
        assert rest.status_code == 201, (url, rest.text)
    made = await data_of(
        http, key, CREATE_WEBHOOK, {"input": {"url": f"https://[{PUBLIC_NAT64}]/h"}}
    )
    assert made["createWebhook"]["url"] == f"https://[{PUBLIC_NAT64}]/h"


async def test_the_ports_setting_opens_other_ports_and_closes_the_usual_ones(
    settings: Settings, store: Store, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    only_8443 = settings.model_copy(
        update={"webhook_allowed_ports": (8443,), "webhook_dispatch": False}
    )
    async with meterr(only_8443, store, clock) as http:
        opened = await http.post(
            "/v1/webhooks", headers=bearer(key), json={"url": f"https://{PUBLIC_V4}:8443/hook"}
        )
        closed = await http.post(
            "/v1/webhooks", headers=bearer(key), json={"url": f"https://{PUBLIC_V4}/hook"}
        )
    assert opened.status_code == 201, opened.text
    assert closed.status_code == 400
    assert "port 443" in closed.json()["error"]["details"]["fields"]["url"]


async def test_allowing_private_receivers_lets_them_listen_on_any_port(
    settings: Settings,
    store: Store,
    make_key: KeyFactory,
    clock: SettableClock,
    receiver: Receiver,
) -> None:
    key = await make_key()
    async with meterr(webhook_settings(settings, webhook_dispatch=False), store, clock) as http:
        accepted = await http.post("/v1/webhooks", headers=bearer(key), json={"url": receiver.url})
        still_malformed = await http.post(
            "/v1/webhooks", headers=bearer(key), json={"url": "http://127.0.0.1:99999/hook"}
        )
    assert accepted.status_code == 201, accepted.text
    assert still_malformed.status_code == 400


async def test_an_embedded_private_address_is_refused_again_at_delivery_time(
    settings: Settings,
    store: Store,
    make_key: KeyFactory,
    clock: SettableClock,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Should the check ever let these through, the delivery goes to a closed local port
    # (through the proxy httpx reads from the environment) rather than off this machine.
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    for variable in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(variable, raising=False)
    key = await make_key()
    urls = [
        f"http://[::127.0.0.1]:{receiver.port}/hook",
        f"http://[64:ff9b::7f00:1]:{receiver.port}/hook",
        f"http://[2002:7f00:1::]:{receiver.port}/hook",
    ]
    allowed = webhook_settings(settings, webhook_dispatch=False)
    async with meterr(allowed, store, clock) as http:
        hooks = []
        for url in urls:
            made = await http.post(
                "/v1/webhooks", headers=bearer(key), json={"url": url, "events": ["usage.exceeded"]}
            )
            assert made.status_code == 201, made.text
            hooks.append(made.json()["id"])
    strict = webhook_settings(settings, webhook_allow_private=False)
    async with meterr(strict, store, clock) as http:
        await exceed(http, key)

        async def all_attempted() -> bool:
            for hook in hooks:
                found = await deliveries(http, key, hook)
                if not found or found[0]["attempt_count"] < 1:
                    return False
            return True

        await eventually(all_attempted)
        errors = [(await deliveries(http, key, hook))[0]["attempts"][0]["error"] for hook in hooks]
    for error in errors:
        assert error.startswith("refused: "), error
        assert "non-public" in error
    assert receiver.received == []


@pytest.mark.parametrize(
    ("written", "read"),
    [("8443", (8443,)), ("80, 443,8080", (80, 443, 8080)), ("[443, 8443]", (443, 8443))],
)
def test_the_ports_setting_reads_a_comma_separated_or_json_list(
    monkeypatch: pytest.MonkeyPatch, written: str, read: tuple[int, ...]
) -> None:
    monkeypatch.setenv("METERR_WEBHOOK_ALLOWED_PORTS", written)
    assert Settings().webhook_allowed_ports == read
    assert Settings.model_fields["webhook_allowed_ports"].default == (80, 443)


def test_a_port_out_of_range_in_the_setting_stops_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("METERR_WEBHOOK_ALLOWED_PORTS", "443,70000")
    with pytest.raises(ValueError, match="65535"):
        Settings()
