from __future__ import annotations

import httpx

from tests.conftest import KeyFactory, bearer
from tests.support.exact import inexact


async def test_documented_openai_example_is_stored_and_priced(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    response = await client.post(
        "/v1/track",
        headers=bearer(key),
        json={
            "provider": "openai",
            "model": "gpt-4",
            "input_tokens": 1500,
            "output_tokens": 500,
            "endpoint": "/v1/chat/completions",
            "metadata": {"user_id": "user_123", "session": "chat_456"},
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["cost"] == 0.075
    costs = await client.get("/v1/costs", headers=bearer(key), params={"group_by": "provider"})
    assert inexact(costs.json()) == {"openai": {"total": 0.075, "tokens": 2000}}, costs.text
    assert costs.json()["openai"]["total_exact"] == "0.075"
