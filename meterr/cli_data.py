"""The `meterr` commands about data: prices, rollups, forecasts, import and export."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from meterr.cli_support import data_dir_option, operator, remote_options, run, settings_for
from meterr.domain import UsageFilter
from meterr.pricing import load_catalogue, nano_to_usd
from meterr.resolvers import (
    ModelPrice,
    PriceImport,
    RepriceInput,
    event_json,
    forecast_backtest,
    import_litellm_prices,
    import_usage,
    list_events,
    list_prices,
    parse_time_range,
    rebuild_rollups,
    reprice,
)
from meterr.sdk import AsyncClient, InvalidRequestError
from meterr.store import open_store
from meterr.usage_files import (
    BatchRefused,
    LoadReport,
    file_format,
    load_in_batches,
    read_usage_file,
    write_events,
)

__all__ = ["export_command", "forecast", "import_command", "prices", "rollups"]


@click.group()
def prices() -> None:
    """Price catalogue and repricing."""


@prices.command("reprice")
@click.option("--org", "org_name", required=True)
@click.option("--from", "start_date", default=None, help="YYYY-MM-DD or RFC 3339.")
@click.option("--to", "end_date", default=None, help="YYYY-MM-DD (inclusive) or RFC 3339.")
@click.option("--provider", default=None)
@click.option("--model", default=None)
@click.option("--unpriced-only", is_flag=True, help="Only events stored without a price.")
@click.option("--dry-run", is_flag=True, help="Show the difference, change nothing.")
@data_dir_option
def prices_reprice(
    org_name: str,
    start_date: str | None,
    end_date: str | None,
    provider: str | None,
    model: str | None,
    unpriced_only: bool,
    dry_run: bool,
    data_dir: Path | None,
) -> None:
    """Reprice stored events with the catalogue and overrides in force now."""
    settings = settings_for(data_dir)
    body = RepriceInput(
        start_date=start_date,
        end_date=end_date,
        provider=provider,
        model=model,
        unpriced_only=unpriced_only,
        dry_run=dry_run,
    )

    async def work() -> None:
        async with open_store(settings) as store, operator(store, settings, org_name) as ctx:
            report = await reprice(ctx, body)
        click.echo("provider\tmodel\tevents\tchanged\told_cost\tnew_cost")
        for line in report.lines:
            click.echo(
                f"{line.provider}\t{line.model}\t{line.events}\t{line.changed}\t"
                f"{nano_to_usd(line.old_cost_nano):.6f}\t{nano_to_usd(line.new_cost_nano):.6f}"
            )
        verb = "repriced" if report.applied else "would reprice (dry run)"
        click.echo(f"{verb} {report.changed} events")

    run(work)


@click.group()
def rollups() -> None:
    """Hourly rollups."""


@rollups.command("rebuild")
@click.option("--org", "org_name", default=None, help="Only this organization.")
@data_dir_option
def rollups_rebuild(org_name: str | None, data_dir: Path | None) -> None:
    """Recompute rollups from the raw events and say whether they agreed."""

    async def work() -> bool:
        async with open_store(settings_for(data_dir)) as store:
            org_id = None
            if org_name is not None:
                org_id = (await store.organizations.ensure_organization(org_name, None))[0].id
            reports = await rebuild_rollups(store, org_id)
        for report in reports:
            verdict = "agreed" if report.agreed else f"{report.differing} rollups differed"
            click.echo(f"{report.org_id}: {report.rollups} rollups rebuilt, {verdict}")
        return all(report.agreed for report in reports)

    if not run(work):
        raise SystemExit(1)


@click.group()
def forecast() -> None:
    """Cost forecasts."""


@forecast.command("backtest")
@click.option("--org", "org_name", required=True)
@click.option("--days", type=int, default=30, show_default=True, help="Past days to replay.")
@data_dir_option
def forecast_backtest_command(org_name: str, days: int, data_dir: Path | None) -> None:
    """Forecast each of the last days from the days before it, and say how it did."""
    settings = settings_for(data_dir)

    async def work() -> None:
        async with open_store(settings) as store, operator(store, settings, org_name) as ctx:
            report = await forecast_backtest(ctx, days=days)

        def percent(value: float | None) -> str:
            return "n/a" if value is None else f"{value * 100:.1f}%"

        click.echo(f"days replayed: {report.days}")
        click.echo(f"MAPE: {percent(report.mape)}")
        click.echo(f"bias: {percent(report.bias)}")
        click.echo(f"inside the 80% interval: {percent(report.coverage80)}")
        click.echo(f"inside the 95% interval: {percent(report.coverage95)}")

    run(work)


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
        with click.progressbar(length=len(rows), label="importing", file=sys.stderr) as bar:
            if url is not None:
                async with AsyncClient(api_key=api_key, base_url=url) as client:

                    async def send(events: list[Any]) -> list[bool]:
                        try:
                            answer = await client.request("POST", "/track", json={"events": events})
                        except InvalidRequestError as exc:
                            raise BatchRefused(dict(exc.details.get("fields") or {})) from exc
                        return [bool(event["replayed"]) for event in answer["events"]]

                    return await load_in_batches(rows, send, bar.update)
            async with (
                open_store(settings) as store,
                operator(store, settings, _org(org_name)) as ctx,
            ):
                return await import_usage(ctx, rows, progress=bar.update)

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
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@remote_options
@data_dir_option
def export_command(
    org_name: str | None,
    fmt: str,
    start_date: str | None,
    end_date: str | None,
    output: Path | None,
    url: str | None,
    api_key: str | None,
    data_dir: Path | None,
) -> None:
    """Export usage events for a range, newest first, from the store (--org) or through a
    running server (--url, --api-key)."""
    settings = settings_for(data_dir)

    async def work() -> list[dict[str, Any]]:
        if url is not None:
            return await _export_remote(url, api_key, start_date, end_date)
        async with open_store(settings) as store, operator(store, settings, _org(org_name)) as ctx:
            time_range = parse_time_range(start_date, end_date, None)
            events: list[dict[str, Any]] = []
            cursor = None
            while True:
                page = await list_events(ctx, time_range, UsageFilter(), limit=1000, cursor=cursor)
                events += [event_json(event) for event in page.events]
                cursor = page.next_cursor
                if cursor is None:
                    return events

    events = run(work)
    if output is None:
        count = write_events(events, fmt, sys.stdout)
    else:
        with output.open("w", encoding="utf-8", newline="") as handle:
            count = write_events(events, fmt, handle)
    click.echo(f"exported {count} events", err=True)


@prices.command("list")
@click.option("--org", "org_name", required=True, help="Whose prices: the catalogue and its own.")
@click.option("--provider", default=None)
@data_dir_option
def prices_list(org_name: str, provider: str | None, data_dir: Path | None) -> None:
    """Prices in force now, USD per 1M tokens: input, output, cached input, cache write."""
    settings = settings_for(data_dir)

    async def work() -> list[ModelPrice]:
        async with open_store(settings) as store, operator(store, settings, org_name) as ctx:
            return await list_prices(ctx, provider=provider)

    click.echo("provider\tmodel\tinput\toutput\tcached_input\tcache_write\torigin")
    for price in run(work):
        rates = price.rates
        click.echo(
            f"{price.provider}\t{price.model}\t{rates.input}\t{rates.output}\t"
            f"{rates.effective_cached_input}\t{rates.effective_cache_write}\t{price.origin}"
        )


@prices.command("show")
@click.argument("model")
@click.option("--provider", required=True)
def prices_show(model: str, provider: str) -> None:
    """Every catalogue price of a model, oldest first, with its date and source."""
    catalogue = load_catalogue()
    versions = catalogue.history(provider, model)
    if not versions:
        raise click.ClickException(f"The catalogue has no price for {provider} {model}.")
    for price in versions:
        rates = price.rates
        click.echo(
            f"from {price.effective_from.date()}: input {rates.input}, output {rates.output}, "
            f"cached input {rates.effective_cached_input} USD per 1M tokens "
            f"(source: {price.source})"
        )


@prices.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_name", required=True)
@click.option("--dry-run", is_flag=True, help="Say what would be imported, change nothing.")
@data_dir_option
def prices_import(path: Path, org_name: str, dry_run: bool, data_dir: Path | None) -> None:
    """Import a LiteLLM model_prices JSON file as the organization's prices."""
    settings = settings_for(data_dir)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{path} is not JSON: {exc.msg}") from None

    async def work() -> PriceImport:
        async with open_store(settings) as store, operator(store, settings, org_name) as ctx:
            return await import_litellm_prices(ctx, document, dry_run=dry_run)

    report = run(work)
    verb = "would import" if dry_run else "imported"
    click.echo(f"{verb} {len(report.imported)} prices, skipped {len(report.skipped)}")
    for name, why in sorted(report.skipped.items()):
        click.echo(f"skipped {name}: {why}")


def _org(org_name: str | None) -> str:
    if org_name is None:
        raise click.UsageError("Give --org (on the store) or --url and --api-key (a server).")
    return org_name


async def _export_remote(
    url: str, api_key: str | None, start_date: str | None, end_date: str | None
) -> list[dict[str, Any]]:
    params = {"start_date": start_date, "end_date": end_date, "limit": 1000}
    events: list[dict[str, Any]] = []
    async with AsyncClient(api_key=api_key, base_url=url) as client:
        while True:
            page = await client.history(**params)
            events += page["events"]
            if page["next_cursor"] is None:
                return events
            params["cursor"] = page["next_cursor"]
