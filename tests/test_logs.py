"""Structured logs and request ids."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from meterr.logs import JsonFormatter
from tests.conftest import KeyFactory, bearer


async def test_every_response_carries_a_request_id_the_caller_may_choose(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    chosen = await client.get("/healthz", headers={"X-Request-Id": "trace-42"})
    assert chosen.headers["x-request-id"] == "trace-42"
    made = await client.get("/v1/costs", headers=bearer(await make_key()))
    assert len(made.headers["x-request-id"]) == 16


async def test_log_lines_are_json_with_the_request_id(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    formatter = JsonFormatter()
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(formatter.format(record))

    handler = Capture()
    logger = logging.getLogger("meterr.test")
    logger.addHandler(handler)
    try:
        logger.warning("outside any request")
    finally:
        logger.removeHandler(handler)
    [line] = lines
    entry = json.loads(line)
    assert entry["message"] == "outside any request"
    assert entry["level"] == "warning"
    assert "request_id" not in entry
