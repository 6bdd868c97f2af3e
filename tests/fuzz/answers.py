"""What the fuzzers hold every answer to: the codes of the error tree, GraphQL answers per
GraphQL-over-HTTP, and a refused request leaving nothing stored."""

from __future__ import annotations

import json
from typing import Any

import httpx

from meterr.errors import MeterrError
from meterr.store import Store
from tests.conftest import bearer

__all__ = [
    "CODES",
    "STORED",
    "assert_envelope",
    "assert_graphql_answer",
    "assert_still_serving",
    "codes_by_status",
    "stored_things",
]


def codes_by_status() -> dict[int, set[str]]:
    """Each status the error tree answers with, and the codes that may come with it."""
    codes: dict[int, set[str]] = {}
    pending: list[type[MeterrError]] = [MeterrError]
    while pending:
        error = pending.pop()
        codes.setdefault(error.status, set()).add(error.code)
        pending.extend(error.__subclasses__())
    return codes


CODES_BY_STATUS = codes_by_status()
CODES = {code for codes in CODES_BY_STATUS.values() for code in codes}

# The collections holding what a request stores (not the counters of requests, nor the
# rollups and sequences the store keeps for itself).
STORED = (
    "organizations",
    "api_keys",
    "usage_events",
    "budgets",
    "reservations",
    "events",
    "teams",
    "team_members",
    "invitations",
    "webhook_endpoints",
    "webhook_deliveries",
    "provider_connections",
    "imported_usage",
    "price_overrides",
    "metadata_keys",
)


async def stored_things(store: Store) -> dict[str, int]:
    """How many documents each collection of stored things holds, across tenants (those
    holding none left out), in one query."""
    first, *others = STORED
    pipeline: list[dict[str, Any]] = [{"$group": {"_id": first, "n": {"$sum": 1}}}]
    pipeline.extend(
        {"$unionWith": {"coll": name, "pipeline": [{"$group": {"_id": name, "n": {"$sum": 1}}}]}}
        for name in others
    )
    counts = await (await store.db[first].aggregate(pipeline)).to_list()
    return {count["_id"]: count["n"] for count in counts}


def assert_graphql_answer(response: httpx.Response, label: str) -> dict[str, Any]:
    """A GraphQL answer: no server error, a JSON object holding `data` or `errors`, each
    error with a message and a code of the error tree, and none of them unexpected."""
    where = f"{label} answered {response.status_code}: {response.text[:500]!r}"
    assert response.status_code < 500, where
    try:
        body = response.json()
    except json.JSONDecodeError as exc:
        raise AssertionError(f"{where}, not JSON") from exc
    assert isinstance(body, dict), where
    assert "data" in body or "errors" in body, where
    errors = body.get("errors")
    if response.status_code != 200:
        assert body.get("data") is None, where
        assert errors, where
    if errors is not None:
        assert isinstance(errors, list), where
        assert errors, where
        for error in errors:
            assert isinstance(error.get("message"), str), where
            assert error["message"], where
            code = (error.get("extensions") or {}).get("code")
            assert code in CODES, where
            assert code != "internal_error", where
    return body


def assert_envelope(response: httpx.Response, label: str) -> None:
    """A /v1 answer: no server error, and a refusal is `{"error": {"code", "message",
    "details"}}` with a code the error tree gives its status."""
    where = f"{label} answered {response.status_code}: {response.text[:500]!r}"
    assert response.status_code < 500, where
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except json.JSONDecodeError as exc:
        raise AssertionError(f"{where}, not JSON") from exc
    assert isinstance(body, dict), where
    assert set(body) == {"error"}, where
    error = body["error"]
    assert isinstance(error, dict), where
    assert set(error) == {"code", "message", "details"}, where
    assert isinstance(error["message"], str), where
    assert error["message"], where
    assert isinstance(error["details"], dict), where
    assert error["code"] in CODES_BY_STATUS.get(response.status_code, set()), where


async def assert_still_serving(http: httpx.AsyncClient, key: str) -> None:
    """The probes answer, and a tenant that took no part stores an event and reads it."""
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get("/readyz")).status_code == 200
    event = {"provider": "openai", "model": "gpt-4o", "input_tokens": 10, "output_tokens": 5}
    tracked = await http.post("/v1/track", headers=bearer(key), json=event)
    assert tracked.status_code == 201, tracked.text
    query = {"query": "{ usage { totals { requests } } }"}
    usage = await http.post("/graphql", headers=bearer(key), json=query)
    assert usage.status_code == 200, usage.text
    assert usage.json()["data"]["usage"]["totals"]["requests"] == 1
