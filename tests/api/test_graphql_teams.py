"""Teams through GraphQL: the same rules as through REST, invitations accepted without a key
and, raced, once each."""

from __future__ import annotations

import asyncio
import secrets

import httpx

from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.store import Store
from tests.conftest import KeyFactory, bearer
from tests.support.events import EVENT
from tests.support.graphql import data_of, error_of, graphql
from tests.support.orgs import org_id_named
from tests.support.recording import USAGE_COLLECTIONS, recorded_app

TEAM_FIELDS = "id name description members { email role } spendThisMonth { tokens total { value } }"


async def test_a_team_is_created_joined_and_confines_its_members_key(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    admin = await make_key()
    created = await data_of(
        client,
        admin,
        f'mutation {{ createTeam(input: {{name: "Search"}}) {{ {TEAM_FIELDS} }} }}',
    )
    team = created["createTeam"]
    rest = (await client.get(f"/v1/teams/{team['id']}", headers=bearer(admin))).json()
    assert rest["name"] == team["name"] == "Search"

    invited = await data_of(
        client,
        admin,
        'mutation I($team: ID!) { inviteMember(teamId: $team, input: {email: "kim@x.io", '
        "role: VIEWER}) { token role status } }",
        {"team": team["id"]},
    )
    invitation = invited["inviteMember"]
    assert (invitation["role"], invitation["status"]) == ("VIEWER", "PENDING")

    accept = """
    mutation A($token: String!) {
      acceptInvitation(token: $token) { teamId apiKey member { email role } }
    }
    """
    body = await graphql(client, None, accept, {"token": invitation["token"]})
    assert "errors" not in body, body
    joined = body["data"]["acceptInvitation"]
    assert joined["teamId"] == team["id"]
    assert joined["member"] == {"email": "kim@x.io", "role": "VIEWER"}

    viewer = joined["apiKey"]
    listed = await data_of(client, viewer, "{ teams { nodes { id members { email } } } }")
    assert [t["id"] for t in listed["teams"]["nodes"]] == [team["id"]]
    denied = await error_of(client, viewer, 'mutation { createTeam(input: {name: "Mine"}) { id } }')
    assert denied["extensions"]["code"] == "forbidden"
    used = await graphql(client, None, accept, {"token": invitation["token"]})
    assert used["errors"][0]["extensions"]["code"] == "invitation_used"


async def test_other_operations_without_a_key_are_still_refused(
    client: httpx.AsyncClient,
) -> None:
    mixed = (
        'mutation { acceptInvitation(token: "x") { apiKey } createTeam(input: {name: "y"}) { id } }'
    )
    await graphql(client, None, mixed, status=401)
    await graphql(client, None, "{ teams { nodes { id } } }", status=401)


async def test_graphql_refuses_a_taken_name_with_the_rest_code(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    admin = await make_key()
    create = 'mutation { createTeam(input: {name: "Ops"}) { id } }'
    await data_of(client, admin, create)
    error = await error_of(client, admin, create)
    assert error["extensions"]["code"] == "conflict"
    assert error["extensions"]["details"]["fields"] == {"name": "already taken"}


async def test_another_organizations_team_and_connection_do_not_exist_in_graphql(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    owner, stranger = await make_key(), await make_key()
    team = await data_of(client, owner, 'mutation { createTeam(input: {name: "Own"}) { id } }')
    connection = await client.post(
        "/v1/providers/connect",
        headers=bearer(owner),
        json={"provider": "openai", "api_key": "sk-owner-key-0000"},
    )
    ids = {"team": team["createTeam"]["id"], "conn": connection.json()["id"]}
    for query in (
        "query Q($team: ID!) { team(id: $team) { id } }",
        "query Q($conn: ID!) { providerConnection(id: $conn) { id } }",
        'mutation M($team: ID!) { inviteMember(teamId: $team, input: {email: "x@y.io"}) '
        "{ token } }",
        "mutation M($conn: ID!) { disconnectProvider(id: $conn) }",
        'mutation M($team: ID!) { updateTeam(id: $team, changes: {name: "Mine"}) { id } }',
    ):
        variables = {k: v for k, v in ids.items() if f"${k}" in query}
        error = await error_of(client, stranger, query, variables)
        assert error["extensions"]["code"] == "not_found", query


async def test_members_are_removed_and_teams_deleted_through_graphql(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    admin = await make_key()
    team = (await data_of(client, admin, 'mutation { createTeam(input: {name: "Tmp"}) { id } }'))[
        "createTeam"
    ]
    invited = await data_of(
        client,
        admin,
        'mutation I($t: ID!) { inviteMember(teamId: $t, input: {email: "g@x.io"}) { token } }',
        {"t": team["id"]},
    )
    accept = "mutation A($k: String!) { acceptInvitation(token: $k) { apiKey member { id } } }"
    joined = (await graphql(client, None, accept, {"k": invited["inviteMember"]["token"]}))["data"][
        "acceptInvitation"
    ]
    renamed = await data_of(
        client,
        admin,
        'mutation U($t: ID!) { updateTeam(id: $t, changes: {description: "short-lived"}) '
        "{ name description members { email } } }",
        {"t": team["id"]},
    )
    assert renamed["updateTeam"] == {
        "name": "Tmp",
        "description": "short-lived",
        "members": [{"email": "g@x.io"}],
    }
    removed = await data_of(
        client,
        admin,
        "mutation R($t: ID!, $m: ID!) { removeMember(teamId: $t, memberId: $m) }",
        {"t": team["id"], "m": joined["member"]["id"]},
    )
    assert removed["removeMember"] == joined["member"]["id"]
    revoked = await client.get("/v1/costs", headers=bearer(joined["apiKey"]))
    assert revoked.status_code == 401
    deleted = await data_of(
        client, admin, "mutation D($t: ID!) { deleteTeam(id: $t) }", {"t": team["id"]}
    )
    assert deleted["deleteTeam"] == team["id"]
    gone = await error_of(
        client, admin, "query Q($t: ID!) { team(id: $t) { id } }", {"t": team["id"]}
    )
    assert gone["extensions"]["code"] == "not_found"


async def test_members_and_spend_are_read_only_when_selected_and_once_for_all_teams(
    settings: Settings, store: Store, clock: SettableClock, make_key: KeyFactory
) -> None:
    org = f"gql-teams-{secrets.token_hex(4)}"
    key = await make_key(org=org)
    org_id = await org_id_named(store, org)
    create = "mutation C($n: String!) { createTeam(input: {name: $n}) { id } }"
    invite = (
        "mutation I($t: ID!, $e: String!) "
        "{ inviteMember(teamId: $t, input: {email: $e}) { token } }"
    )
    accept = "mutation A($k: String!) { acceptInvitation(token: $k) { apiKey } }"
    async with recorded_app(settings, store, clock) as (http, log):
        ids = [
            (await data_of(http, key, create, {"n": f"G{i}"}))["createTeam"]["id"] for i in range(5)
        ]
        for i, team_id in enumerate(ids[:2]):
            invited = await data_of(http, key, invite, {"t": team_id, "e": f"g{i}@x.io"})
            token = invited["inviteMember"]["token"]
            assert "errors" not in await graphql(http, None, accept, {"k": token})
        events = [{**EVENT, "team_id": team_id} for team_id in ids[1:4]]
        tracked = await http.post("/v1/track", headers=bearer(key), json={"events": events})
        assert tracked.status_code == 201, tracked.text

        log.recording = True
        names = await data_of(http, key, "{ teams { nodes { id name } } }")
        unselected = log.reads_of(org_id, USAGE_COLLECTIONS), log.reads_of(org_id, {"team_members"})
        log.commands.clear()
        full = await data_of(
            http, key, "{ teams { nodes { id members { email } spendThisMonth { tokens } } } }"
        )
        log.recording = False

    assert [node["id"] for node in names["teams"]["nodes"]] == sorted(ids)
    assert unselected == (0, 0), "nothing but the teams is read when nothing else is asked"
    nodes = {node["id"]: node for node in full["teams"]["nodes"]}
    assert [[m["email"] for m in nodes[i]["members"]] for i in ids] == [
        ["g0@x.io"],
        ["g1@x.io"],
        [],
        [],
        [],
    ]
    assert [nodes[i]["spendThisMonth"]["tokens"] for i in ids] == [0, 1000, 1000, 1000, 0]
    assert log.reads_of(org_id, {"team_members"}) == 1, "one read for every team's members"
    assert 1 <= log.reads_of(org_id, USAGE_COLLECTIONS) <= 2, (
        "one usage question for every team's spend"
    )
    assert log.written() <= {"rate_counters"}, "a query writes nothing else"


async def test_racing_graphql_accepts_leave_one_member_and_one_key_per_invitation(
    server: str, make_key: KeyFactory, store: Store
) -> None:
    org = f"gql-racing-{secrets.token_hex(4)}"
    admin = await make_key(org=org)
    org_id = await org_id_named(store, org)
    invite = (
        "mutation I($t: ID!, $e: String!) "
        "{ inviteMember(teamId: $t, input: {email: $e}) { token } }"
    )
    accept = "mutation A($k: String!) { acceptInvitation(token: $k) { apiKey member { id } } }"
    async with httpx.AsyncClient(base_url=server, timeout=60) as http:
        created = await data_of(
            http, admin, 'mutation { createTeam(input: {name: "Racers"}) { id } }'
        )
        team_id = created["createTeam"]["id"]
        tokens = [
            (await data_of(http, admin, invite, {"t": team_id, "e": f"racer{i}@example.com"}))[
                "inviteMember"
            ]["token"]
            for i in range(5)
        ]
        keys_before = await store.organizations.api_keys.count_documents({"org_id": org_id})

        # Twenty accepts of each invitation at once, over as many connections.
        answers = await asyncio.gather(
            *(graphql(http, None, accept, {"k": tokens[i % 5]}) for i in range(100))
        )

        members = await data_of(
            http, admin, "query T($t: ID!) { team(id: $t) { members { email } } }", {"t": team_id}
        )
    joined = [answer["data"]["acceptInvitation"] for answer in answers if not answer.get("errors")]
    refused = [answer["errors"] for answer in answers if answer.get("errors")]
    assert len(joined) == 5
    assert (
        len({entry["apiKey"] for entry in joined}) == len({m["member"]["id"] for m in joined}) == 5
    )
    codes = {error["extensions"]["code"] for errors in refused for error in errors}
    assert codes == {"invitation_used"}
    keys_after = await store.organizations.api_keys.count_documents({"org_id": org_id})
    assert keys_after - keys_before == 5
    assert sorted(member["email"] for member in members["team"]["members"]) == [
        f"racer{i}@example.com" for i in range(5)
    ]
