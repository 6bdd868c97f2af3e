"""Budgets through either door: created, read, changed (a scope given as null is cleared, fields
left out stay), deleted, and refused with the same code naming the same fields."""

from __future__ import annotations

import secrets
from datetime import timedelta

import httpx
import pytest

from meterr.auth import Role
from tests.conftest import SUITE_NOW, KeyFactory, bearer
from tests.support.budgets import DOCUMENTED
from tests.support.doors import Door
from tests.support.events import event


async def test_the_documented_budget_reads_back_with_its_spend(
    client: httpx.AsyncClient, door: Door, make_key: KeyFactory
) -> None:
    key = await make_key()
    await client.post("/v1/track", headers=bearer(key), json=event(input_tokens=2500))
    created = (await door.create_budget(key, DOCUMENTED)).value()
    assert created["id"].startswith("bud_")
    assert {field: created[field] for field in DOCUMENTED} == DOCUMENTED
    assert (created["current"], created["remaining"], created["percent"]) == (2500, 7500, 25.0)
    month = SUITE_NOW.date().replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    assert created["period_start"] == f"{month.isoformat()}T00:00:00Z"
    assert created["period_end"] == f"{next_month.isoformat()}T00:00:00Z"

    assert (await door.budget(key, created["id"])).value() == created
    assert [budget["id"] for budget in (await door.budgets(key)).value()] == [created["id"]]


async def test_a_scope_given_as_null_is_cleared(door: Door, make_key: KeyFactory) -> None:
    key = await make_key()
    budget = (await door.create_budget(key, DOCUMENTED)).value()
    assert budget["team_id"] == "team_123"
    changed = (await door.update_budget(key, budget["id"], {"team_id": None})).value()
    assert changed["team_id"] is None
    read = (await door.budget(key, budget["id"])).value()
    assert read["team_id"] is None
    assert (read["name"], read["limit"]) == (DOCUMENTED["name"], DOCUMENTED["limit"])


async def test_fields_left_out_of_changes_stay_and_a_null_name_is_refused(
    door: Door, make_key: KeyFactory
) -> None:
    key = await make_key()
    budget = (await door.create_budget(key, DOCUMENTED)).value()
    changes = {"user_id": "u1", "team_id": None}
    changed = (await door.update_budget(key, budget["id"], changes)).value()
    assert (changed["user_id"], changed["team_id"]) == ("u1", None)
    assert changed["thresholds"] == budget["thresholds"]

    refused = await door.update_budget(key, budget["id"], {"name": None})
    assert (refused.code, refused.fields) == ("invalid_input", {"name"})

    smaller = (await door.update_budget(key, budget["id"], {"limit": 500})).value()
    assert (smaller["limit"], smaller["name"]) == (500, DOCUMENTED["name"])


async def test_a_field_budgets_do_not_have_is_refused_naming_it_and_nothing_changes(
    door: Door, make_key: KeyFactory
) -> None:
    key = await make_key()
    budget = (await door.create_budget(key, DOCUMENTED)).value()
    refused = await door.update_budget(key, budget["id"], {"limit": 500, "owner": "kim"})
    assert (refused.code, refused.fields) == ("invalid_input", {"owner"})
    assert (await door.budget(key, budget["id"])).value()["limit"] == DOCUMENTED["limit"]


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        pytest.param({"user_id": "u1"}, {"team_id", "user_id"}, id="two-scopes"),
        pytest.param({"limit": -5}, {"limit"}, id="negative-limit"),
        pytest.param({"timezone": "Mars/Olympus"}, {"timezone"}, id="unknown-zone"),
        pytest.param({"thresholds": [50, 50]}, {"thresholds"}, id="repeated-threshold"),
        pytest.param({"thresholds": [0]}, {"thresholds[0]"}, id="zero-threshold"),
    ],
)
async def test_a_bad_budget_is_refused_naming_the_field_and_nothing_is_stored(
    door: Door, make_key: KeyFactory, changes: dict[str, object], fields: set[str]
) -> None:
    key = await make_key()
    refused = await door.create_budget(key, {**DOCUMENTED, **changes})
    assert (refused.code, refused.fields) == ("invalid_input", fields)
    assert (await door.budgets(key)).value() == []


async def test_only_admins_manage_budgets_and_a_missing_budget_is_not_found(
    door: Door, make_key: KeyFactory
) -> None:
    org = f"door-budgets-{secrets.token_hex(4)}"
    key = await make_key(org=org)
    reader = await make_key(org=org, role=Role.READ)
    assert (await door.create_budget(reader, DOCUMENTED)).code == "forbidden"
    budget = (await door.create_budget(key, DOCUMENTED)).value()
    assert (await door.update_budget(reader, budget["id"], {"limit": 1})).code == "forbidden"
    # A key without the role is refused before the values it sent are judged.
    assert (await door.create_budget(reader, {**DOCUMENTED, "limit": -1})).code == "forbidden"
    assert (await door.update_budget(reader, budget["id"], {"name": None})).code == "forbidden"
    assert (await door.budget(key, "bud_nope")).code == "not_found"
    stranger = await make_key()
    assert (await door.budget(stranger, budget["id"])).code == "not_found"

    assert (await door.delete_budget(key, budget["id"])).value() == budget["id"]
    assert (await door.budget(key, budget["id"])).code == "not_found"
    assert (await door.delete_budget(key, budget["id"])).code == "not_found"
