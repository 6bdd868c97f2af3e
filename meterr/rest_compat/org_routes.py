"""The /v1 routes of teams, invitations and provider connections."""

from __future__ import annotations

from decimal import Decimal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from meterr.errors import MeterrError
from meterr.resolvers import (
    RequestContext,
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
    parse_time_range,
    reconcile,
    remove_member,
    sync_connection,
    update_team,
)
from meterr.rest_compat.endpoint import read_json, v1_endpoint
from meterr.rest_compat.errors import error_response
from meterr.rest_compat.org_shapes import (
    connection_json,
    invitation_json,
    joined_json,
    provider_json,
    reconciliation_json,
    team_json,
)
from meterr.rest_compat.params import decimal_param, int_param, query_param
from meterr.wire import instant

__all__ = ["organization_routes"]


@v1_endpoint
async def teams_create(request: Request, ctx: RequestContext) -> Response:
    view = await create_team(ctx, await read_json(request, 65_536))
    return JSONResponse(team_json(view), status_code=201)


@v1_endpoint
async def teams_list(request: Request, ctx: RequestContext) -> Response:
    views, next_cursor = await list_teams(
        ctx, limit=int_param(request, "limit", 100), cursor=query_param(request, "cursor")
    )
    return JSONResponse({"teams": [team_json(view) for view in views], "next_cursor": next_cursor})


@v1_endpoint
async def team_detail(request: Request, ctx: RequestContext) -> Response:
    team_id = request.path_params["team_id"]
    if request.method == "DELETE":
        await delete_team(ctx, team_id)
        return Response(status_code=204)
    if request.method == "PATCH":
        view = await update_team(ctx, team_id, await read_json(request, 65_536))
    else:
        view = await get_team(ctx, team_id)
    return JSONResponse(team_json(view))


@v1_endpoint
async def team_invite(request: Request, ctx: RequestContext) -> Response:
    new = await invite_member(ctx, request.path_params["team_id"], await read_json(request, 65_536))
    return JSONResponse(invitation_json(new), status_code=201)


@v1_endpoint
async def team_member_remove(request: Request, ctx: RequestContext) -> Response:
    await remove_member(ctx, request.path_params["team_id"], request.path_params["member_id"])
    return Response(status_code=204)


@v1_endpoint
async def providers(_request: Request, ctx: RequestContext) -> Response:
    infos = await list_providers(ctx)
    return JSONResponse({"providers": [provider_json(info) for info in infos]})


@v1_endpoint
async def provider_connect(request: Request, ctx: RequestContext) -> Response:
    connection = await connect_provider(ctx, await read_json(request, 65_536))
    return JSONResponse(connection_json(connection), status_code=201)


@v1_endpoint
async def provider_connection(request: Request, ctx: RequestContext) -> Response:
    connection_id = request.path_params["connection_id"]
    if request.method == "DELETE":
        await disconnect_provider(ctx, connection_id)
        return Response(status_code=204)
    return JSONResponse(connection_json(await get_connection(ctx, connection_id)))


@v1_endpoint
async def provider_sync(request: Request, ctx: RequestContext) -> Response:
    report = await sync_connection(
        ctx, request.path_params["connection_id"], await read_json(request, 65_536)
    )
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


@v1_endpoint
async def provider_reconciliation(request: Request, ctx: RequestContext) -> Response:
    time_range = parse_time_range(
        query_param(request, "start_date"), query_param(request, "end_date"), None, now=ctx.now()
    )
    tolerance = decimal_param(request, "tolerance")
    report = await reconcile(
        ctx,
        request.path_params["connection_id"],
        time_range,
        Decimal(5) if tolerance is None else tolerance,
    )
    return JSONResponse(reconciliation_json(report))


async def invitation_accept(request: Request) -> Response:
    """The invitee has no key yet: the invitation's token is the credential."""
    try:
        joined = await accept_invitation(request.app.state.services, request.path_params["token"])
    except MeterrError as exc:
        return error_response(exc)
    return JSONResponse(joined_json(joined), status_code=201)


def organization_routes() -> list[Route]:
    return [
        Route("/teams", teams_create, methods=["POST"]),
        Route("/teams", teams_list, methods=["GET"], name="teams_list"),
        Route("/teams/{team_id}", team_detail, methods=["GET", "PATCH", "DELETE"]),
        Route("/teams/{team_id}/invite", team_invite, methods=["POST"]),
        Route("/teams/{team_id}/members/{member_id}", team_member_remove, methods=["DELETE"]),
        Route("/invitations/{token}/accept", invitation_accept, methods=["POST"]),
        Route("/providers", providers, methods=["GET"]),
        Route("/providers/connect", provider_connect, methods=["POST"]),
        Route("/providers/{connection_id}", provider_connection, methods=["GET", "DELETE"]),
        Route("/providers/{connection_id}/sync", provider_sync, methods=["POST"]),
        Route(
            "/providers/{connection_id}/reconciliation",
            provider_reconciliation,
            methods=["GET"],
        ),
    ]
