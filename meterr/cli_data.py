"""The `meterr` commands about data: prices, rollups, forecasts, import and export."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from meterr import sdk
from meterr.cli_support import (
    data_dir_option,
    existing_organization,
    progress,
    remote_options,
    run,
    settings_for,
    store_or_server,
)
from meterr.domain import UsageFilter
from meterr.resolvers import (
    MAX_PAGE,
    Backtest,
    CostGroup,
    RequestContext,
    TimeRange,
    cost_groups,
    event_json,
    forecast_backtest,
    import_usage,
    list_events,
    parse_group_by,
    parse_time_range,
    rebuild_rollups,
)
from meterr.sdk import AsyncClient, InvalidRequestError
from meterr.store import open_store
from meterr.usage_files import (
    COST_GROUP_COLUMNS,
    CSV_COLUMNS,
    BatchRefused,
    LoadReport,
    file_format,
    load_in_batches,
    read_usage_file,
    write_rows,
)
from meterr.wire import exact_usd, usd

__all__ = ["export_command", "forecast", "import_command", "rollups"]


@click.group()
def rollups() -> None:
    """Hourly rollups: rebuilt from the raw events, with the drift reported."""


@rollups.command("rebuild")
@click.option("--org", "org_name", default=None, help="Only this organization.")
@data_dir_option
def rollups_rebuild(org_name: str | None, data_dir: Path | None) -> None:
    """Recompute rollups from the raw events and say whether they agreed."""

    async def work() -> bool:
        async with open_store(settings_for(data_dir)) as store:
            org_id = None
            if org_name is not None:
                org_id = (await existing_organization(store, org_name)).id
            reports = await rebuild_rollups(store, org_id)
        for report in reports:
            verdict = "agreed" if report.agreed else f"{report.differing} rollups differed"
            click.echo(f"{report.org_id}: {report.rollups} rollups rebuilt, {verdict}")
        return all(report.agreed for report in reports)

    if not run(work):
        raise SystemExit(1)


@click.group()
def forecast() -> None:
    """Cost forecasts: how far to trust them."""


@forecast.command("backtest")
@click.option("--org", "org_name", default=None, help="On the store: the organization.")
@click.option("--days", type=int, default=30, show_default=True, help="Past days to replay.")
@remote_options
@data_dir_option
def forecast_backtest_command(
    org_name: str | None, days: int, url: str | None, api_key: str | None, data_dir: Path | None
) -> None:
    """Forecast each of the last days from the days before it, and say how it did."""

    async def work() -> Backtest | sdk.Backtest:
        async with store_or_server(settings_for(data_dir), org_name, url, api_key) as target:
            if isinstance(target, AsyncClient):
                return await target.backtest(days)
            return await forecast_backtest(target, days=days)

    report = run(work)

    def percent(value: float | None) -> str:
        return "n/a" if value is None else f"{value * 100:.1f}%"

    click.echo(f"days replayed: {report.days}")
    click.echo(f"MAPE: {percent(report.mape)}")
    click.echo(f"bias: {percent(report.bias)}")
    click.echo(f"inside the 80% interval: {percent(report.coverage80)}")
    click.echo(f"inside the 95% interval: {percent(report.coverage95)}")


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_name", default=None, help="On the store: the organization.")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default=None,
    help="Default: csv for a .csv file, else JSON Lines.",
)  # fmt: skip
@remote_options
@data_dir_option
def import_command(
    path: Path,
    org_name: str | None,
    fmt: str | None,
    url: str | None,
    api_key: str | None,
    data_dir: Path | None,
) -> None:
    """Import usage events from a CSV or JSON Lines file (one event per line, the fields of
    POST /v1/track), into the store (--org) or through a running server (--url, --api-key).
    Good lines are stored; every refused line is listed with why."""
    settings = settings_for(data_dir)
    rows, unreadable = read_usage_file(path, file_format(path, fmt))

    async def work() -> LoadReport:
        with progress(len(rows), "importing") as advance:
            async with store_or_server(settings, org_name, url, api_key) as target:
                if not isinstance(target, AsyncClient):
                    return await import_usage(target, rows, progress=advance)

                async def send(events: list[Any]) -> list[bool]:
                    try:
                        answer = await target.request(
                            "POST", "/track", repeatable=True, json={"events": events}
                        )
                    except InvalidRequestError as exc:
                        raise BatchRefused(dict(exc.details.get("fields") or {})) from exc
                    return [bool(event["replayed"]) for event in answer["events"]]

                return await load_in_batches(rows, send, advance)

    report = run(work)
    refused = {**unreadable, **{line: _reasons(why) for line, why in report.rejected.items()}}
    click.echo(f"stored {report.stored}, already stored {report.replayed}, refused {len(refused)}")
    for line in sorted(refused):
        click.echo(f"line {line}: {refused[line]}")
    if refused:
        raise SystemExit(1)


def _reasons(fields: dict[str, str]) -> str:
    return "; ".join(f"{name}: {why}" for name, why in fields.items())


@click.command("export")
@click.option("--org", "org_name", default=None, help="On the store: the organization.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="jsonl")
@click.option("--from", "start_date", default=None, help="YYYY-MM-DD (default: a month back).")
@click.option("--to", "end_date", default=None, help="YYYY-MM-DD, inclusive (default: today).")
@click.option(
    "--group-by", default=None,
    help="Export cost groups instead of events: provider, model, team, user, endpoint, day, "
    "week, month, or two joined by a comma.",
)  # fmt: skip
@click.option("--tz", default=None, help="IANA time zone of the days (default UTC).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@remote_options
@data_dir_option
def export_command(
    org_name: str | None,
    fmt: str,
    start_date: str | None,
    end_date: str | None,
    group_by: str | None,
    tz: str | None,
    output: Path | None,
    url: str | None,
    api_key: str | None,
    data_dir: Path | None,
) -> None:
    """Export usage events for a range, newest first, or with --group-by its costs per
    group, from the store (--org) or through a running server (--url, --api-key)."""
    query = {"start_date": start_date, "end_date": end_date, "tz": tz}

    async def work() -> list[dict[str, Any]]:
        async with store_or_server(settings_for(data_dir), org_name, url, api_key) as target:
            if isinstance(target, AsyncClient):
                if group_by is not None:
                    answer = await target.request("GET", "/costs", params=_params(query, group_by))
                    return [{"group": key, **group} for key, group in answer.items()]
                return await _remote_events(target, query)
            time_range = parse_time_range(start_date, end_date, tz, now=target.now())
            if group_by is not None:
                groups = await cost_groups(
                    target, time_range, parse_group_by(group_by), UsageFilter()
                )
                return [_cost_group_row(group) for group in groups]
            return await _stored_events(target, time_range)

    rows = run(work)
    columns = COST_GROUP_COLUMNS if group_by is not None else CSV_COLUMNS
    if output is None:
        count = write_rows(rows, columns, fmt, sys.stdout)
    else:
        with output.open("w", encoding="utf-8", newline="") as handle:
            count = write_rows(rows, columns, fmt, handle)
    click.echo(f"exported {count} {'groups' if group_by is not None else 'events'}", err=True)


def _params(query: dict[str, Any], group_by: str | None = None) -> dict[str, Any]:
    given = {**query, "group_by": group_by}
    return {name: value for name, value in given.items() if value is not None}


def _cost_group_row(group: CostGroup) -> dict[str, Any]:
    """A group as GET /v1/costs shows it: total in USD (and exactly), a team's name and
    whether deleted."""
    row: dict[str, Any] = {"group": group.key, "total": usd(group.totals.cost)}
    row["total_exact"] = exact_usd(group.totals.cost)
    row["tokens"] = group.totals.tokens
    if group.name is not None:
        row.update(name=group.name, deleted=group.deleted)
    return row


async def _remote_events(client: AsyncClient, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Events in their JSON form exactly as the server sent them, page after page."""
    params = {**_params(query), "limit": MAX_PAGE}
    events: list[dict[str, Any]] = []
    while True:
        page = await client.request("GET", "/usage/history", params=params)
        events += page["events"]
        if page["next_cursor"] is None:
            return events
        params["cursor"] = page["next_cursor"]


async def _stored_events(ctx: RequestContext, time_range: TimeRange) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await list_events(ctx, time_range, UsageFilter(), limit=MAX_PAGE, cursor=cursor)
        events += [event_json(event) for event in page.events]
        cursor = page.next_cursor
        if cursor is None:
            return events
