"""GET /metrics: Prometheus series of requests, ingestion and live feeds."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import KeyFactory, bearer


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_requests_by_route_template_and_events_by_pricing(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    before = samples((await client.get("/metrics")).text)
    event = {"provider": "openai", "model": "gpt-4o", "input_tokens": 10}
    await client.post("/v1/track", headers=bearer(key), json=event)
    await client.post("/v1/track", headers=bearer(key), json={**event, "model": "in-house"})
    await client.get("/v1/budgets/bud_missing", headers=bearer(key))
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = samples(response.text)

    def grew(name: str, **labels: str) -> float:
        key_ = (name, frozenset(labels.items()))
        return after.get(key_, 0) - before.get(key_, 0)

    assert grew("meterr_http_requests_total", route="/v1/track", method="POST", status="201") == 2
    assert (
        grew(
            "meterr_http_requests_total",
            route="/v1/budgets/{budget_id}",
            method="GET",
            status="404",
        )
        == 1
    )
    assert grew("meterr_events_ingested_total", pricing_status="priced") == 1
    assert grew("meterr_events_ingested_total", pricing_status="unpriced") == 1
    assert ("meterr_live_subscriptions", frozenset()) in after
    assert ("meterr_store_transactions_retried_total", frozenset()) in after
    assert grew("meterr_store_transactions_retried_total") == 0, "no writer competed"
    assert grew("meterr_http_request_duration_seconds_count", route="/v1/track") == 2
    assert grew("meterr_ingest_duration_seconds_count") == 2


async def test_made_up_paths_and_methods_share_one_series(client: httpx.AsyncClient) -> None:
    await client.get("/v1/made-up/warm-up")
    await client.request("BREW", "/v1/made-up")
    before = samples((await client.get("/metrics")).text)
    for n in range(20):
        assert (await client.get(f"/v1/made-up-{n}/x")).status_code in (401, 404)
        assert (await client.get(f"/nowhere/{n}")).status_code == 404
        await client.request("BREW", f"/v1/made-up-{n}")
    after = samples((await client.get("/metrics")).text)
    assert set(after) - set(before) == set()
    unmatched = (
        "meterr_http_requests_total",
        frozenset({("route", "unmatched"), ("method", "GET"), ("status", "404")}),
    )
    assert after[unmatched] - before[unmatched] >= 20
    assert not any(dict(labels).get("method") == "BREW" for _, labels in after)
