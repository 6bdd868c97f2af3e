"""Webhooks through GraphQL: the same endpoints, rules and deliveries as through REST."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from meterr.auth import Role
from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.domain import DeliveryStatus, NotificationType
from meterr.store import Store
from tests.conftest import KeyFactory, bearer, eventually
from tests.support.apps import meterr
from tests.support.graphql import data_of, error_of
from tests.support.webhooks import (
    CREATE_WEBHOOK,
    ENDPOINT_FIELDS,
    Receiver,
    deliveries,
    exceed,
    subscribe,
    webhook_settings,
)

DELIVERY_FIELDS = """
    id webhookId eventId event status attemptCount nextAttemptAt createdAt deliveredAt
    attempts { at statusCode error durationMs } payload
"""
DELIVERIES = f"""
query D($hook: ID!, $first: Int, $after: String) {{
  webhookDeliveries(webhookId: $hook, first: $first, after: $after) {{
    nodes {{ {DELIVERY_FIELDS} }}
    edges {{ cursor node {{ id }} }}
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
  }}
}}
"""
UNUSED_PORT_URL = "http://127.0.0.1:9/hook"


async def create_gql(http: httpx.AsyncClient, key: str, **webhook: Any) -> dict[str, Any]:
    created: dict[str, Any] = (await data_of(http, key, CREATE_WEBHOOK, {"input": webhook}))[
        "createWebhook"
    ]
    return created


async def deliveries_page(
    http: httpx.AsyncClient, key: str, webhook_id: str, **paging: Any
) -> dict[str, Any]:
    page: dict[str, Any] = (await data_of(http, key, DELIVERIES, {"hook": webhook_id, **paging}))[
        "webhookDeliveries"
    ]
    assert [edge["node"]["id"] for edge in page["edges"]] == [d["id"] for d in page["nodes"]]
    return page


async def deliveries_gql(
    http: httpx.AsyncClient, key: str, webhook_id: str, **paging: Any
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await deliveries_page(http, key, webhook_id, **paging))["nodes"]
    return found


def same_instant(graphql_value: str | None, rest_value: str | None) -> bool:
    if graphql_value is None or rest_value is None:
        return graphql_value == rest_value
    return datetime.fromisoformat(graphql_value) == datetime.fromisoformat(rest_value)


def delivery_as_rest(delivery: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL delivery in REST's field names, its instants left out to compare apart."""
    return {
        "id": delivery["id"],
        "webhook_id": delivery["webhookId"],
        "event_id": delivery["eventId"],
        "event": NotificationType[delivery["event"]].value,
        "status": DeliveryStatus[delivery["status"]].value,
        "attempt_count": delivery["attemptCount"],
        "attempts": [
            {"status_code": a["statusCode"], "error": a["error"], "duration_ms": a["durationMs"]}
            for a in delivery["attempts"]
        ],
        "payload": delivery["payload"],
    }


def rest_without_instants(delivery: dict[str, Any]) -> dict[str, Any]:
    instants = {"next_attempt_at", "created_at", "delivered_at"}
    shaped = {name: value for name, value in delivery.items() if name not in instants}
    shaped["attempts"] = [
        {name: value for name, value in attempt.items() if name != "at"}
        for attempt in delivery["attempts"]
    ]
    return shaped


async def test_an_endpoint_made_through_one_door_is_listed_through_the_other(
    settings: Settings, store: Store, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    async with meterr(webhook_settings(settings), store, clock) as http:
        made_gql = await create_gql(
            http,
            key,
            url=UNUSED_PORT_URL,
            events=["usage.exceeded", "budget.threshold_reached"],
            description="on-call",
        )
        assert made_gql["secret"].startswith("whsec_")
        assert made_gql["events"] == ["budget.threshold_reached", "usage.exceeded"]
        made_rest = await subscribe(http, key, UNUSED_PORT_URL)

        rest_listed = (await http.get("/v1/webhooks", headers=bearer(key))).json()["webhooks"]
        gql_listed = (
            await data_of(http, key, f"{{ webhooks {{ nodes {{ {ENDPOINT_FIELDS} }} }} }}")
        )["webhooks"]["nodes"]
        no_secret = await error_of(http, key, "{ webhooks { nodes { id secret } } }")

    assert sorted(h["id"] for h in rest_listed) == sorted([made_gql["id"], made_rest["id"]])
    assert sorted(h["id"] for h in gql_listed) == sorted(h["id"] for h in rest_listed)
    by_id = {h["id"]: h for h in rest_listed}
    for listed in gql_listed:
        rest = by_id[listed["id"]]
        assert "secret" not in rest
        assert (listed["url"], listed["events"], listed["description"]) == (
            rest["url"],
            rest["events"],
            rest["description"],
        )
        assert same_instant(listed["createdAt"], rest["created_at"])
    assert by_id[made_gql["id"]]["description"] == "on-call"
    assert no_secret["extensions"]["code"] == "invalid_input", "the secret is only at creation"


async def test_a_refused_url_or_event_type_has_the_rest_error_code_and_details(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    for body in (
        {"url": "ftp://example.com/hook"},
        {"url": "http://10.0.0.8/hook"},
        {"url": UNUSED_PORT_URL},
        {"url": "https://example.com/hook", "events": ["usage.exceeded", "x.y"]},
        {"url": ""},
    ):
        rest = await client.post("/v1/webhooks", headers=bearer(key), json=body)
        assert rest.status_code == 400, body
        error = await error_of(client, key, CREATE_WEBHOOK, {"input": body})
        assert error["extensions"]["code"] == rest.json()["error"]["code"] == "invalid_input"
        assert error["extensions"]["details"] == rest.json()["error"]["details"], body
    bad_first = await error_of(client, key, DELIVERIES, {"hook": "whk_none", "first": 0})
    rest_limit = await client.get("/v1/webhooks/whk_none/deliveries?limit=0", headers=bearer(key))
    assert bad_first["extensions"]["code"] == rest_limit.json()["error"]["code"] == "invalid_input"
    assert bad_first["extensions"]["details"] == {"fields": {"first": "1 to 100"}}
    assert list(rest_limit.json()["error"]["details"]["fields"]) == ["limit"]
    assert (await data_of(client, key, "{ webhooks { nodes { id } } }"))["webhooks"]["nodes"] == []


async def test_only_an_admin_key_of_the_organization_manages_its_webhooks(
    settings: Settings, store: Store, make_key: KeyFactory, clock: SettableClock
) -> None:
    org = "graphql-webhook-owners"
    key = await make_key(org=org)
    reader = await make_key(org=org, role=Role.READ)
    stranger = await make_key()
    async with meterr(webhook_settings(settings), store, clock) as http:
        hook = await create_gql(http, key, url=UNUSED_PORT_URL)
        ids = {"hook": hook["id"], "delivery": "dlv_none", "input": {"url": UNUSED_PORT_URL}}
        operations = (
            "{ webhooks { nodes { id } } }",
            CREATE_WEBHOOK,
            "mutation M($hook: ID!) { deleteWebhook(id: $hook) }",
            DELIVERIES,
            "mutation M($hook: ID!, $delivery: ID!) "
            "{ resendWebhookDelivery(webhookId: $hook, deliveryId: $delivery) { id } }",
        )
        for operation in operations:
            variables = {k: v for k, v in ids.items() if f"${k}" in operation}
            refused = await error_of(http, reader, operation, variables)
            assert refused["extensions"]["code"] == "forbidden", operation
        for operation in operations[2:]:
            variables = {k: v for k, v in ids.items() if f"${k}" in operation}
            hidden = await error_of(http, stranger, operation, variables)
            assert hidden["extensions"]["code"] == "not_found", operation
        rest = await http.get("/v1/webhooks", headers=bearer(reader))
        assert rest.json()["error"]["code"] == "forbidden"
        listed = (await data_of(http, key, "{ webhooks { nodes { id } } }"))["webhooks"]["nodes"]
    assert listed == [{"id": hook["id"]}]


async def test_delete_webhook_removes_the_endpoint_from_both_doors(
    settings: Settings, store: Store, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    delete = "mutation D($id: ID!) { deleteWebhook(id: $id) }"
    async with meterr(webhook_settings(settings), store, clock) as http:
        kept = await subscribe(http, key, UNUSED_PORT_URL)
        hook = await create_gql(http, key, url=UNUSED_PORT_URL)
        assert (await data_of(http, key, delete, {"id": hook["id"]})) == {"deleteWebhook": True}
        rest = (await http.get("/v1/webhooks", headers=bearer(key))).json()["webhooks"]
        gql = (await data_of(http, key, "{ webhooks { nodes { id } } }"))["webhooks"]["nodes"]
        again = await error_of(http, key, delete, {"id": hook["id"]})
        rest_again = await http.delete(f"/v1/webhooks/{hook['id']}", headers=bearer(key))
    assert [h["id"] for h in rest] == [h["id"] for h in gql] == [kept["id"]]
    assert again["extensions"]["code"] == rest_again.json()["error"]["code"] == "not_found"


async def test_real_deliveries_are_listed_paged_and_resent_through_graphql(
    settings: Settings, store: Store, make_key: KeyFactory, receiver: Receiver, clock: SettableClock
) -> None:
    key = await make_key()
    async with meterr(webhook_settings(settings), store, clock) as http:
        hook = await create_gql(http, key, url=receiver.url)
        await exceed(http, key)

        async def all_delivered() -> bool:
            found = await deliveries(http, key, hook["id"])
            return [d["status"] for d in found] == ["delivered"] * 4

        await eventually(all_delivered)
        rest = await deliveries(http, key, hook["id"])
        gql = await deliveries_gql(http, key, hook["id"])
        first = await deliveries_page(http, key, hook["id"], first=3)
        rest_page = await http.get(
            f"/v1/webhooks/{hook['id']}/deliveries?limit=3", headers=bearer(key)
        )
        rest_page_before = rest_page.json()["next_before"]
        after = first["pageInfo"]["endCursor"]
        second = await deliveries_page(http, key, hook["id"], first=3, after=after)
        rest_last = await http.get(
            f"/v1/webhooks/{hook['id']}/deliveries?limit=3&before={rest_page_before}",
            headers=bearer(key),
        )

        target = next(d for d in gql if d["event"] == "USAGE_EXCEEDED")
        resend = (
            "mutation R($hook: ID!, $delivery: ID!) { resendWebhookDelivery("
            f"webhookId: $hook, deliveryId: $delivery) {{ {DELIVERY_FIELDS} }} }}"
        )
        resent = (await data_of(http, key, resend, {"hook": hook["id"], "delivery": target["id"]}))[
            "resendWebhookDelivery"
        ]

        async def delivered_twice() -> bool:
            found = await deliveries_gql(http, key, hook["id"])
            again = next(d for d in found if d["id"] == target["id"])
            return again["status"] == "DELIVERED" and again["attemptCount"] == 2

        await eventually(delivered_twice)

    assert [delivery_as_rest(d) for d in gql] == [rest_without_instants(d) for d in rest]
    for graphql_delivery, rest_delivery in zip(gql, rest, strict=True):
        assert graphql_delivery["nextAttemptAt"] is None
        for gql_name, rest_name in (("createdAt", "created_at"), ("deliveredAt", "delivered_at")):
            assert same_instant(graphql_delivery[gql_name], rest_delivery[rest_name])
        assert [a["statusCode"] for a in graphql_delivery["attempts"]] == [204]
    assert sorted(d["event"] for d in gql) == [
        "THRESHOLD_REACHED",
        "THRESHOLD_REACHED",
        "USAGE_EXCEEDED",
        "USAGE_TRACKED",
    ]
    assert sorted(d["payload"]["id"] for d in gql) == sorted(b["id"] for b in receiver.bodies()[:4])

    assert [d["id"] for d in first["nodes"]] == [d["id"] for d in gql[:3]]
    assert first["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": gql[0]["id"],
        "endCursor": gql[2]["id"],
    }
    assert rest_page_before == first["nodes"][-1]["id"]
    assert [d["id"] for d in second["nodes"]] == [gql[3]["id"]]
    assert second["pageInfo"]["hasNextPage"] is False, "the last page says so"
    assert second["pageInfo"]["hasPreviousPage"] is True
    assert rest_last.json()["next_before"] is None, "no empty page after the last"

    assert (resent["id"], resent["status"]) == (target["id"], "PENDING")
    assert resent["nextAttemptAt"] is not None
    assert [body["id"] for body in receiver.bodies()].count(target["payload"]["id"]) == 2
