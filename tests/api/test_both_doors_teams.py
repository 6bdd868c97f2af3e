"""Teams through either door: created, changed (a description given as null is cleared, fields
left out stay), and refused with the same code naming the same fields."""

from __future__ import annotations

import secrets

from meterr.auth import Role
from tests.conftest import KeyFactory
from tests.support.doors import Door

SEARCH = {"name": "Search", "description": "Finds what the others index"}


async def test_a_description_given_as_null_is_cleared(door: Door, make_key: KeyFactory) -> None:
    key = await make_key()
    team = (await door.create_team(key, SEARCH)).value()
    assert (team["name"], team["description"]) == (SEARCH["name"], SEARCH["description"])
    changed = (await door.update_team(key, team["id"], {"description": None})).value()
    assert (changed["name"], changed["description"]) == (SEARCH["name"], None)
    assert (await door.team(key, team["id"])).value() == changed


async def test_fields_left_out_of_changes_stay(door: Door, make_key: KeyFactory) -> None:
    key = await make_key()
    team = (await door.create_team(key, SEARCH)).value()
    renamed = (await door.update_team(key, team["id"], {"name": "Retrieval"})).value()
    assert (renamed["name"], renamed["description"]) == ("Retrieval", SEARCH["description"])
    unchanged = (await door.update_team(key, team["id"], {})).value()
    assert unchanged == renamed


async def test_a_null_or_empty_name_is_refused_and_the_team_stays(
    door: Door, make_key: KeyFactory
) -> None:
    key = await make_key()
    team = (await door.create_team(key, SEARCH)).value()
    for name in (None, ""):
        refused = await door.update_team(key, team["id"], {"name": name})
        assert (refused.code, refused.fields) == ("invalid_input", {"name"}), name
    assert (await door.create_team(key, {"name": ""})).fields == {"name"}
    assert (await door.team(key, team["id"])).value() == team


async def test_a_field_teams_do_not_have_is_refused_naming_it_and_nothing_changes(
    door: Door, make_key: KeyFactory
) -> None:
    key = await make_key()
    team = (await door.create_team(key, SEARCH)).value()
    refused = await door.update_team(key, team["id"], {"name": "Retrieval", "owner": "kim"})
    assert (refused.code, refused.fields) == ("invalid_input", {"owner"})
    assert (await door.team(key, team["id"])).value() == team


async def test_a_key_without_the_role_is_refused_before_the_values_it_sent_are_judged(
    door: Door, make_key: KeyFactory
) -> None:
    org = f"door-teams-{secrets.token_hex(4)}"
    key = await make_key(org=org)
    reader = await make_key(org=org, role=Role.READ)
    team = (await door.create_team(key, SEARCH)).value()
    assert (await door.create_team(reader, {"name": ""})).code == "forbidden"
    assert (await door.update_team(reader, team["id"], {"name": None})).code == "forbidden"
    assert (await door.update_team(key, "team_nope", {"name": "X"})).code == "not_found"
