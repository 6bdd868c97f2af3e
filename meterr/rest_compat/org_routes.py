"""The /v1 operations of teams, invitations and provider connections."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from meterr.errors import MeterrError
from meterr.resolvers import (
    ConnectionInput,
    InvitationInput,
    KeyOperation,
    PageQuery,
    ReconcileQuery,
    SyncInput,
    TeamInput,
    accept_invitation,
    connect_provider,
    create_team,
    delete_team,
    disconnect_provider,
    get_connection,
    get_team,
    invite_member,
    list_providers,
    list_teams,
    reconcile,
    remove_member,
    sync_connection,
    update_team,
)
from meterr.rest_compat import answers
from meterr.rest_compat.contract import Call, Operation, Patch
from meterr.rest_compat.errors import error_response
from meterr.rest_compat.org_shapes import (
    connection_json,
    invitation_json,
    joined_json,
    provider_json,
    reconciliation_json,
    team_json,
)
from meterr.wire import instant

__all__ = ["ORGANIZATION_OPERATIONS"]


async def teams_create(call: Call) -> Response:
    view = await create_team(call.ctx, await call.body(TeamInput))
    return JSONResponse(team_json(view), status_code=201)


async def teams_list(call: Call) -> Response:
    query: PageQuery = call.query
    views, next_cursor = await list_teams(call.ctx, limit=query.limit, cursor=query.cursor)
    return JSONResponse({"teams": [team_json(view) for view in views], "next_cursor": next_cursor})


async def team_get(call: Call) -> Response:
    return JSONResponse(team_json(await get_team(call.ctx, call.path("team_id"))))


async def team_update(call: Call) -> Response:
    view = await update_team(call.ctx, call.path("team_id"), await call.changes(TeamInput))
    return JSONResponse(team_json(view))


async def team_delete(call: Call) -> Response:
    await delete_team(call.ctx, call.path("team_id"))
    return Response(status_code=204)


async def team_invite(call: Call) -> Response:
    new = await invite_member(call.ctx, call.path("team_id"), await call.body(InvitationInput))
    return JSONResponse(invitation_json(new), status_code=201)


async def team_member_remove(call: Call) -> Response:
    await remove_member(call.ctx, call.path("team_id"), call.path("member_id"))
    return Response(status_code=204)


async def providers(call: Call) -> Response:
    infos = await list_providers(call.ctx)
    return JSONResponse({"providers": [provider_json(info) for info in infos]})


async def provider_connect(call: Call) -> Response:
    connection = await connect_provider(call.ctx, await call.body(ConnectionInput))
    return JSONResponse(connection_json(connection), status_code=201)


async def provider_connection(call: Call) -> Response:
    return JSONResponse(connection_json(await get_connection(call.ctx, call.path("connection_id"))))


async def provider_disconnect(call: Call) -> Response:
    await disconnect_provider(call.ctx, call.path("connection_id"))
    return Response(status_code=204)


async def provider_sync(call: Call) -> Response:
    report = await sync_connection(call.ctx, call.path("connection_id"), await call.body(SyncInput))
    return JSONResponse(
        {
            "connection": connection_json(report.connection),
            "start": instant(report.start),
            "end": instant(report.end),
            "rows": report.rows,
            "imported": report.imported,
            "already_imported": report.already_imported,
            "open_buckets": report.open_buckets,
        }
    )


async def provider_reconciliation(call: Call) -> Response:
    query: ReconcileQuery = call.query
    report = await reconcile(
        call.ctx,
        call.path("connection_id"),
        query.time_range(now=call.ctx.now()),
        query.tolerance,
    )
    return JSONResponse(reconciliation_json(report))


async def invitation_accept(request: Request) -> Response:
    """The invitee has no key yet: the invitation's token is the credential."""
    try:
        joined = await accept_invitation(request.app.state.services, request.path_params["token"])
    except MeterrError as exc:
        return error_response(exc)
    return JSONResponse(joined_json(joined), status_code=201)


ORGANIZATION_OPERATIONS = [
    Operation(
        method="POST",
        path="/teams",
        summary="Create a team",
        tag="Teams",
        handler=teams_create,
        body=TeamInput,
        answers={201: answers.TeamAnswer},
        errors=(409,),
        requires=KeyOperation.MANAGE,
    ),
    Operation(
        method="GET",
        path="/teams",
        summary="The teams, with their members and their spend this month",
        tag="Teams",
        handler=teams_list,
        query=PageQuery,
        answers={200: answers.TeamsAnswer},
    ),
    Operation(
        method="GET",
        path="/teams/{team_id}",
        summary="One team",
        tag="Teams",
        handler=team_get,
        answers={200: answers.TeamAnswer},
    ),
    Operation(
        method="PATCH",
        path="/teams/{team_id}",
        summary="Rename a team or change its description",
        tag="Teams",
        handler=team_update,
        body=Patch(TeamInput),
        answers={200: answers.TeamAnswer},
        errors=(409,),
        requires=KeyOperation.MANAGE,
    ),
    Operation(
        method="DELETE",
        path="/teams/{team_id}",
        summary="Delete a team (its usage stays)",
        tag="Teams",
        handler=team_delete,
        answers={204: None},
    ),
    Operation(
        method="POST",
        path="/teams/{team_id}/invite",
        summary="Invite a member by email; the answer carries the single-use token",
        tag="Teams",
        handler=team_invite,
        body=InvitationInput,
        answers={201: answers.InvitationAnswer},
        errors=(409,),
        requires=KeyOperation.INVITE,
    ),
    Operation(
        method="DELETE",
        path="/teams/{team_id}/members/{member_id}",
        summary="Remove a member; their key stops at once",
        tag="Teams",
        handler=team_member_remove,
        answers={204: None},
    ),
    Operation(
        method="POST",
        path="/invitations/{token}/accept",
        summary="Join a team: the invitation's token is the credential; answers an API key",
        tag="Teams",
        open_handler=invitation_accept,
        answers={201: answers.JoinedAnswer},
        errors=(404, 409, 410, 429),
    ),
    Operation(
        method="GET",
        path="/providers",
        summary="Each provider, its connections and its models' prices",
        tag="Providers",
        handler=providers,
        answers={200: answers.ProvidersAnswer},
    ),
    Operation(
        method="POST",
        path="/providers/connect",
        summary="Connect a provider's usage API with an admin key",
        tag="Providers",
        handler=provider_connect,
        body=ConnectionInput,
        answers={201: answers.ConnectionAnswer},
        errors=(409,),
        requires=KeyOperation.MANAGE,
    ),
    Operation(
        method="GET",
        path="/providers/{connection_id}",
        summary="One provider connection",
        tag="Providers",
        handler=provider_connection,
        answers={200: answers.ConnectionAnswer},
    ),
    Operation(
        method="DELETE",
        path="/providers/{connection_id}",
        summary="Remove a provider connection",
        tag="Providers",
        handler=provider_disconnect,
        answers={204: None},
    ),
    Operation(
        method="POST",
        path="/providers/{connection_id}/sync",
        summary="Read the provider's usage for a range of days",
        tag="Providers",
        handler=provider_sync,
        body=SyncInput,
        answers={200: answers.SyncAnswer},
        errors=(502,),
        requires=KeyOperation.MANAGE,
    ),
    Operation(
        method="GET",
        path="/providers/{connection_id}/reconciliation",
        summary="Tracked beside reported usage per day and model, days past the tolerance flagged",
        tag="Providers",
        handler=provider_reconciliation,
        query=ReconcileQuery,
        answers={200: answers.ReconciliationAnswer},
    ),
]
