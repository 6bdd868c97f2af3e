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


def test_a_warning_repeated_on_every_request_is_held_back_and_counted() -> None:
    from meterr.logs import RepeatedWarnings

    held_back = RepeatedWarnings(burst=3, window=60.0)

    def record(at: float, message: str = "socket.accept() out of system resource") -> bool:
        entry = logging.LogRecord("asyncio", logging.ERROR, __file__, 1, message, None, None)
        entry.created = at
        return held_back.filter(entry)

    assert [record(1000.0 + i / 1000) for i in range(10_000)] == [True] * 3 + [False] * 9_997
    assert record(1005.0, "another failure"), "other kinds are let through"
    next_window = logging.LogRecord(
        "asyncio", logging.ERROR, __file__, 1, "socket.accept() out of system resource", None, None
    )
    next_window.created = 1060.0
    assert held_back.filter(next_window)
    assert "9997 more like it held back" in next_window.getMessage()
    info = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "GET /", None, None)
    assert all(held_back.filter(info) for _ in range(100)), "access lines are never held back"
