"""Reservations through either door: an estimate is held, and a reservation without one is
refused naming estimated_cost."""

from __future__ import annotations

import secrets

from meterr.auth import Role
from tests.conftest import KeyFactory
from tests.support.doors import Door


async def test_an_estimate_in_either_unit_is_held(door: Door, make_key: KeyFactory) -> None:
    key = await make_key()
    for estimate in ({"estimated_cost": "0.25"}, {"estimated_tokens": 500}):
        held = (await door.reserve(key, {"team_id": "team_123", **estimate})).value()
        assert held["allowed"] is True, estimate
        assert held["reservation_id"].startswith("rsv_")


async def test_a_reservation_without_an_estimate_is_refused_naming_estimated_cost(
    door: Door, make_key: KeyFactory
) -> None:
    key = await make_key()
    for body in ({"team_id": "team_123"}, {}, {"estimated_cost": None, "estimated_tokens": None}):
        refused = await door.reserve(key, body)
        assert (refused.code, refused.fields) == ("invalid_input", {"estimated_cost"}), body


async def test_a_key_that_may_not_ingest_is_refused_before_its_reservation_is_judged(
    door: Door, make_key: KeyFactory
) -> None:
    reader = await make_key(org=f"door-holds-{secrets.token_hex(4)}", role=Role.READ)
    assert (await door.reserve(reader, {"team_id": "team_123"})).code == "forbidden"
