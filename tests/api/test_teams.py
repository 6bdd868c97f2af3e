"""Teams, invitations and the keys they give: a member sees and reports only its team."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import httpx
import pytest

from meterr.auth import Role
from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.store import Store
from tests.conftest import KeyFactory, bearer
from tests.support.events import EVENT
from tests.support.exact import inexact
from tests.support.orgs import org_id_named
from tests.support.recording import USAGE_COLLECTIONS, recorded_app
from tests.support.teams import create_team, invite, join


async def test_the_documented_team_is_created_and_listed(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    team = await create_team(client, key, description="Model evaluation")
    assert team["id"].startswith("team_")
    assert (team["name"], team["description"], team["members"]) == (
        "Research",
        "Model evaluation",
        [],
    )
    assert team["spend_this_month"] == {
        "total": 0.0,
        "total_exact": "0",
        "tokens": 0,
        "requests": 0,
    }
    listed = (await client.get("/v1/teams", headers=bearer(key))).json()
    assert [t["id"] for t in listed["teams"]] == [team["id"]]
    assert listed["next_cursor"] is None
    assert (await client.get(f"/v1/teams/{team['id']}", headers=bearer(key))).json() == team


async def test_a_page_of_teams_reads_members_and_spend_once_for_all_its_teams(
    settings: Settings, store: Store, clock: SettableClock, make_key: KeyFactory
) -> None:
    org = f"many-teams-{secrets.token_hex(4)}"
    key = await make_key(org=org)
    org_id = await org_id_named(store, org)
    async with recorded_app(settings, store, clock) as (http, log):
        teams = [await create_team(http, key, f"T{i}") for i in range(6)]
        for i, team in enumerate(teams[:3]):
            await join(http, (await invite(http, key, team["id"], f"m{i}@x.io"))["token"])
        for i, team in enumerate(teams[:4]):
            tracked = await http.post(
                "/v1/track",
                headers=bearer(key),
                json={"events": [{**EVENT, "team_id": team["id"]}] * (i + 1)},
            )
            assert tracked.status_code == 201, tracked.text

        log.recording = True
        small = await http.get("/v1/teams", headers=bearer(key), params={"limit": 2})
        small_reads = (
            log.reads_of(org_id, USAGE_COLLECTIONS),
            log.reads_of(org_id, {"team_members"}),
        )
        log.commands.clear()
        listed = await http.get("/v1/teams", headers=bearer(key))
        log.recording = False

    assert small.status_code == listed.status_code == 200
    by_id = {team["id"]: team for team in listed.json()["teams"]}
    assert list(by_id) == sorted(team["id"] for team in teams)
    assert [len(by_id[team["id"]]["members"]) for team in teams] == [1, 1, 1, 0, 0, 0]
    assert by_id[teams[2]["id"]]["members"][0]["email"] == "m2@x.io"
    spent = [by_id[team["id"]]["spend_this_month"]["tokens"] for team in teams]
    assert spent == [1000, 2000, 3000, 4000, 0, 0]
    assert small.json()["teams"] == [by_id[team["id"]] for team in small.json()["teams"]]
    assert log.reads_of(org_id, {"team_members"}) == 1, "one read for every team's members"
    usage_reads = log.reads_of(org_id, USAGE_COLLECTIONS)
    assert 1 <= usage_reads <= 2, "the cells and the pending increments, once for the page"
    assert (usage_reads, 1) == small_reads, "six teams read no more than two"
    assert log.written() <= {"rate_counters"}, "a GET writes nothing else"


async def test_team_names_are_unique_in_an_organization_only(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key, other = await make_key(), await make_key()
    await create_team(client, key, "Platform")
    taken = await client.post("/v1/teams", headers=bearer(key), json={"name": "platform"})
    assert taken.status_code == 409
    assert taken.json()["error"]["details"]["fields"] == {"name": "already taken"}
    await create_team(client, other, "Platform")
    for body in ({"name": ""}, {"name": "x", "color": "red"}, {}):
        response = await client.post("/v1/teams", headers=bearer(key), json=body)
        assert response.status_code == 400, body


async def test_teams_page_with_a_cursor(client: httpx.AsyncClient, make_key: KeyFactory) -> None:
    key = await make_key()
    made = {(await create_team(client, key, f"T{i}"))["id"] for i in range(5)}
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/teams", headers=bearer(key), params=params)).json()
        seen += [team["id"] for team in page["teams"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5
    assert set(seen) == made


async def test_an_accepted_invitation_gives_a_key_that_reports_and_sees_only_its_team(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    admin = await make_key()
    team = await create_team(client, admin)
    invitation = await invite(client, admin, team["id"], "Ana@Example.com")
    assert (invitation["email"], invitation["role"], invitation["status"]) == (
        "ana@example.com",
        "member",
        "pending",
    )
    assert invitation["token"].startswith("mtrinv_")
    joined = await join(client, invitation["token"])
    member_key = joined["api_key"]
    assert joined["team"] == {"id": team["id"], "name": "Research"}

    own = await client.post("/v1/track", headers=bearer(member_key), json=EVENT)
    assert own.status_code == 201
    assert own.json()["team_id"] == team["id"], "the member's team is the default"
    elsewhere = await client.post(
        "/v1/track", headers=bearer(member_key), json={**EVENT, "team_id": "team_other"}
    )
    assert elsewhere.status_code == 403
    await client.post("/v1/track", headers=bearer(admin), json={**EVENT, "team_id": "team_other"})

    costs = (await client.get("/v1/costs", headers=bearer(member_key))).json()
    assert inexact(costs) == {"openai": {"total": 0.0025, "tokens": 1000}}
    everyone = (await client.get("/v1/costs", headers=bearer(admin))).json()
    assert everyone["openai"]["tokens"] == 2000
    peek = await client.get(
        "/v1/costs", headers=bearer(member_key), params={"team_id": "team_other"}
    )
    assert peek.status_code == 403
    history = (await client.get("/v1/usage/history", headers=bearer(member_key))).json()
    assert {e["team_id"] for e in history["events"]} == {team["id"]}
    assert (await client.get("/v1/teams", headers=bearer(member_key))).json()["teams"][0][
        "id"
    ] == team["id"]

    seen = (await client.get(f"/v1/teams/{team['id']}", headers=bearer(admin))).json()
    assert [m["email"] for m in seen["members"]] == ["ana@example.com"]
    assert seen["spend_this_month"]["tokens"] == 1000
    joined_events = await client.get(
        "/v1/events", headers=bearer(admin), params={"type": "team.member_joined"}
    )
    [event] = joined_events.json()["events"]
    assert event["data"]["email"] == "ana@example.com"


async def test_a_viewer_reads_only_and_a_member_cannot_manage(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    admin = await make_key()
    team = await create_team(client, admin)
    viewer = (
        await join(client, (await invite(client, admin, team["id"], "v@x.io", "viewer"))["token"])
    )["api_key"]
    member = (await join(client, (await invite(client, admin, team["id"], "m@x.io"))["token"]))[
        "api_key"
    ]
    assert (await client.post("/v1/track", headers=bearer(viewer), json=EVENT)).status_code == 403
    assert (await client.get("/v1/costs", headers=bearer(viewer))).status_code == 200
    for key in (viewer, member):
        assert (
            await client.post("/v1/teams", headers=bearer(key), json={"name": "Mine"})
        ).status_code == 403
        assert (
            await client.post(
                f"/v1/teams/{team['id']}/invite", headers=bearer(key), json={"email": "z@x.io"}
            )
        ).status_code == 403


async def test_a_team_admin_invites_members_but_not_admins(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    admin = await make_key()
    team = await create_team(client, admin)
    other = await create_team(client, admin, "Other")
    lead = (
        await join(client, (await invite(client, admin, team["id"], "lead@x.io", "admin"))["token"])
    )["api_key"]
    await invite(client, lead, team["id"], "new@x.io", "member")
    promoted = await client.post(
        f"/v1/teams/{team['id']}/invite",
        headers=bearer(lead),
        json={"email": "boss@x.io", "role": "admin"},
    )
    assert promoted.status_code == 403
    foreign = await client.post(
        f"/v1/teams/{other['id']}/invite", headers=bearer(lead), json={"email": "a@x.io"}
    )
    assert foreign.status_code == 404


async def test_invitation_tokens_are_single_use_replaced_and_expiring(
    client: httpx.AsyncClient, make_key: KeyFactory, store: Store, clock: SettableClock
) -> None:
    admin = await make_key()
    team = await create_team(client, admin)
    first = await invite(client, admin, team["id"], "bo@x.io")
    second = await invite(client, admin, team["id"], "bo@x.io", "viewer")
    replaced = await client.post(f"/v1/invitations/{first['token']}/accept")
    assert replaced.status_code == 404
    assert "replaced" in replaced.json()["error"]["message"]
    await join(client, second["token"])
    again = await client.post(f"/v1/invitations/{second['token']}/accept")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "invitation_used")
    unknown = await client.post("/v1/invitations/mtrinv_nope/accept")
    assert unknown.status_code == 404

    late = await invite(client, admin, team["id"], "late@x.io")
    await store.teams.invitations.update_one(
        {"_id": late["id"]}, {"$set": {"expires_at": clock.now() - timedelta(minutes=1)}}
    )
    expired = await client.post(f"/v1/invitations/{late['token']}/accept")
    assert (expired.status_code, expired.json()["error"]["code"]) == (410, "invitation_expired")
    for email in ("not-an-email", "a@", "@x.io"):
        bad = await client.post(
            f"/v1/teams/{team['id']}/invite", headers=bearer(admin), json={"email": email}
        )
        assert bad.status_code == 400, email
        assert "email" in bad.json()["error"]["details"]["fields"]
    bad_role = await client.post(
        f"/v1/teams/{team['id']}/invite",
        headers=bearer(admin),
        json={"email": "c@x.io", "role": "owner"},
    )
    assert bad_role.status_code == 400


async def test_deleting_a_team_keeps_its_usage_and_revokes_its_members_keys(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    admin = await make_key()
    team = await create_team(client, admin)
    member = (await join(client, (await invite(client, admin, team["id"], "d@x.io"))["token"]))[
        "api_key"
    ]
    await client.post("/v1/track", headers=bearer(member), json=EVENT)
    pending = await invite(client, admin, team["id"], "later@x.io")
    assert (
        await client.delete(f"/v1/teams/{team['id']}", headers=bearer(admin))
    ).status_code == 204
    assert (await client.get(f"/v1/teams/{team['id']}", headers=bearer(admin))).status_code == 404
    assert (await client.get("/v1/costs", headers=bearer(member))).status_code == 401
    lapsed = await client.post(f"/v1/invitations/{pending['token']}/accept")
    assert lapsed.status_code == 404
    by_team = (
        await client.get("/v1/costs", headers=bearer(admin), params={"group_by": "team"})
    ).json()
    assert inexact(by_team[team["id"]]) == {
        "total": 0.0025,
        "tokens": 1000,
        "name": "Research",
        "deleted": True,
    }, "the usage stays, marked deleted"
    await create_team(client, admin, "Research")  # the name is free again


async def test_renaming_and_removing_members(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    admin = await make_key()
    team = await create_team(client, admin)
    await create_team(client, admin, "Taken")
    renamed = await client.patch(
        f"/v1/teams/{team['id']}", headers=bearer(admin), json={"name": "Applied"}
    )
    assert renamed.json()["name"] == "Applied"
    assert renamed.json()["description"] is None
    clash = await client.patch(
        f"/v1/teams/{team['id']}", headers=bearer(admin), json={"name": "Taken"}
    )
    assert clash.status_code == 409
    joined = await join(client, (await invite(client, admin, team["id"], "r@x.io"))["token"])
    member_id = joined["member"]["id"]
    path = f"/v1/teams/{team['id']}/members/{member_id}"
    assert (await client.delete(path, headers=bearer(admin))).status_code == 204
    assert (await client.get("/v1/costs", headers=bearer(joined["api_key"]))).status_code == 401
    assert (await client.delete(path, headers=bearer(admin))).status_code == 404


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_another_organizations_team_does_not_exist(
    client: httpx.AsyncClient, make_key: KeyFactory, method: str
) -> None:
    owner, stranger = await make_key(), await make_key()
    team = await create_team(client, owner)
    response = await client.request(
        method,
        f"/v1/teams/{team['id']}",
        headers=bearer(stranger),
        json={"name": "Mine"} if method == "PATCH" else None,
    )
    assert response.status_code == 404
    invite_response = await client.post(
        f"/v1/teams/{team['id']}/invite", headers=bearer(stranger), json={"email": "e@x.io"}
    )
    assert invite_response.status_code == 404


async def test_a_read_key_lists_teams_but_does_not_create_them(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    org = f"team-roles-{secrets.token_hex(4)}"
    admin = await make_key(org=org)
    reader = await make_key(org=org, role=Role.READ)
    await create_team(client, admin)
    assert len((await client.get("/v1/teams", headers=bearer(reader))).json()["teams"]) == 1
    denied = await client.post("/v1/teams", headers=bearer(reader), json={"name": "X"})
    assert denied.status_code == 403
