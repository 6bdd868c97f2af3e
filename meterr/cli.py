"""The `meterr` command: serve, keys, prices, rollups, forecast, import, export."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
import uvicorn

from meterr.app import create_app
from meterr.auth import Principal, Role, Tier
from meterr.config import Settings
from meterr.domain import UsageFilter
from meterr.events import EventBus
from meterr.logs import configure_logging
from meterr.pricing import load_catalogue, nano_to_usd
from meterr.resolvers import (
    BulkReport,
    ModelPrice,
    PriceImport,
    RepriceInput,
    RequestContext,
    Services,
    bootstrap_admin_key,
    create_key,
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
from meterr.store import Store, open_store
from meterr.usage_files import file_format, read_usage_file, write_events

__all__ = ["main"]

T = TypeVar("T")

_data_dir = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Embedded store directory (default ./meterr-data); ignored when MONGODB_URL is set.",
)


def _settings(data_dir: Path | None, **overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)


class _Server(uvicorn.Server):
    """Uvicorn that returns from serve() on SIGINT/SIGTERM instead of re-raising the signal,
    so that the store (and the embedded server) close cleanly after the HTTP server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


def _run(work: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(work())  # type: ignore[arg-type]


@click.group()
@click.version_option(package_name="meterr")
def main() -> None:
    """Meterr: self-hosted AI cost tracking."""


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 8000).")
@_data_dir
def serve(host: str | None, port: int | None, data_dir: Path | None) -> None:
    """Start the service (on the embedded store unless MONGODB_URL is set)."""
    settings = _settings(data_dir, host=host, port=port)

    async def run() -> None:
        async with open_store(settings) as store:
            new = await bootstrap_admin_key(store)
            if new is not None:
                click.echo(
                    f"Created organization '{new.organization.name}' with an admin API key "
                    f"(shown once, keep it):\n\n    {new.key}\n"
                )
            click.echo(f"Meterr listening on http://{settings.host}:{settings.port}")
            config = uvicorn.Config(
                create_app(settings, store=store),
                host=settings.host,
                port=settings.port,
                log_config=None,  # JSON lines, configured below
                lifespan="on",
            )
            configure_logging()
            await _Server(config).serve()

    _run(run)


@main.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@click.option("--org", "org_name", required=True, help="Organization name; created if new.")
@click.option("--tier", type=click.Choice([t.value for t in Tier]), default=None)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.ADMIN.value)
@click.option("--team", "team_id", default=None, help="Default team of the key's events.")
@click.option("--name", default=None, help="A label for the key.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_data_dir
def keys_create(
    org_name: str,
    tier: str | None,
    role: str,
    team_id: str | None,
    name: str | None,
    as_json: bool,
    data_dir: Path | None,
) -> None:
    """Create a key (and the organization when it does not exist); the key is shown once."""
    settings = _settings(data_dir)

    async def run() -> None:
        async with open_store(settings) as store:
            new = await create_key(
                store,
                org_name=org_name,
                tier=Tier(tier) if tier else None,
                role=Role(role),
                team_id=team_id,
                name=name,
            )
        info = {
            "key": new.key,
            "key_id": new.record.id,
            "org_id": new.organization.id,
            "org": new.organization.name,
            "tier": new.organization.tier.value,
            "role": new.record.role.value,
            "team_id": new.record.team_id,
            "organization_created": new.organization_created,
        }
        if as_json:
            click.echo(json.dumps(info))
        else:
            click.echo(new.key)
            click.echo(
                f"org {info['org']} ({info['org_id']}, {info['tier']}), role {info['role']}, "
                f"key id {info['key_id']}",
                err=True,
            )

    _run(run)


@keys.command("list")
@click.option("--org", "org_name", required=True)
@_data_dir
def keys_list(org_name: str, data_dir: Path | None) -> None:
    """List an organization's keys (prefixes only)."""

    async def run() -> None:
        async with open_store(_settings(data_dir)) as store:
            org, _ = await store.organizations.ensure_organization(org_name, None)
            for record in await store.organizations.list_keys(org.id):
                state = "revoked" if record.revoked_at else "active"
                click.echo(f"{record.id}\t{record.display_prefix}…\t{record.role}\t{state}")

    _run(run)


@keys.command("revoke")
@click.option("--org", "org_name", required=True)
@click.argument("key_id")
@_data_dir
def keys_revoke(org_name: str, key_id: str, data_dir: Path | None) -> None:
    """Revoke a key by its id."""

    async def run() -> None:
        async with open_store(_settings(data_dir)) as store:
            org, _ = await store.organizations.ensure_organization(org_name, None)
            if await store.organizations.revoke_key(org.id, key_id) is None:
                raise click.ClickException(f"No key {key_id} in organization {org_name}.")
            click.echo(f"revoked {key_id}")

    _run(run)


@asynccontextmanager
async def _operator(
    store: Store, settings: Settings, org_name: str
) -> AsyncIterator[RequestContext]:
    """An admin context for operator commands acting on one organization."""
    org, _ = await store.organizations.ensure_organization(org_name, None)
    bus = EventBus(settings.broadcast_url)
    await bus.connect()
    try:
        principal = Principal(org.id, org.name, org.tier, "cli", Role.ADMIN)
        yield RequestContext(principal, Services(settings, store, load_catalogue(), bus))
    finally:
        await bus.disconnect()


@main.group()
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
@_data_dir
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
    settings = _settings(data_dir)
    body = RepriceInput(
        start_date=start_date,
        end_date=end_date,
        provider=provider,
        model=model,
        unpriced_only=unpriced_only,
        dry_run=dry_run,
    )

    async def run() -> None:
        async with open_store(settings) as store, _operator(store, settings, org_name) as ctx:
            report = await reprice(ctx, body)
        click.echo("provider\tmodel\tevents\tchanged\told_cost\tnew_cost")
        for line in report.lines:
            click.echo(
                f"{line.provider}\t{line.model}\t{line.events}\t{line.changed}\t"
                f"{nano_to_usd(line.old_cost_nano):.6f}\t{nano_to_usd(line.new_cost_nano):.6f}"
            )
        verb = "repriced" if report.applied else "would reprice (dry run)"
        click.echo(f"{verb} {report.changed} events")

    _run(run)


@main.group()
def rollups() -> None:
    """Hourly rollups."""


@rollups.command("rebuild")
@click.option("--org", "org_name", default=None, help="Only this organization.")
@_data_dir
def rollups_rebuild(org_name: str | None, data_dir: Path | None) -> None:
    """Recompute rollups from the raw events and say whether they agreed."""

    async def run() -> bool:
        async with open_store(_settings(data_dir)) as store:
            org_id = None
            if org_name is not None:
                org_id = (await store.organizations.ensure_organization(org_name, None))[0].id
            reports = await rebuild_rollups(store, org_id)
        for report in reports:
            verdict = "agreed" if report.agreed else f"{report.differing} rollups differed"
            click.echo(f"{report.org_id}: {report.rollups} rollups rebuilt, {verdict}")
        return all(report.agreed for report in reports)

    if not _run(run):
        raise SystemExit(1)


@main.group()
def forecast() -> None:
    """Cost forecasts."""


@forecast.command("backtest")
@click.option("--org", "org_name", required=True)
@click.option("--days", type=int, default=30, show_default=True, help="Past days to replay.")
@_data_dir
def forecast_backtest_command(org_name: str, days: int, data_dir: Path | None) -> None:
    """Forecast each of the last days from the days before it, and say how it did."""
    settings = _settings(data_dir)

    async def run() -> None:
        async with open_store(settings) as store, _operator(store, settings, org_name) as ctx:
            report = await forecast_backtest(ctx, days=days)

        def percent(value: float | None) -> str:
            return "n/a" if value is None else f"{value * 100:.1f}%"

        click.echo(f"days replayed: {report.days}")
        click.echo(f"MAPE: {percent(report.mape)}")
        click.echo(f"bias: {percent(report.bias)}")
        click.echo(f"inside the 80% interval: {percent(report.coverage80)}")
        click.echo(f"inside the 95% interval: {percent(report.coverage95)}")

    _run(run)


@main.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_name", required=True)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default=None,
    help="Default: csv for a .csv file, else JSON Lines.",
)  # fmt: skip
@_data_dir
def import_command(path: Path, org_name: str, fmt: str | None, data_dir: Path | None) -> None:
    """Import usage events from a CSV or JSON Lines file (one event per line, the fields of
    POST /v1/track). Good lines are stored; every refused line is listed with why."""
    settings = _settings(data_dir)
    rows, unreadable = read_usage_file(path, file_format(path, fmt))

    async def run() -> BulkReport:
        async with open_store(settings) as store, _operator(store, settings, org_name) as ctx:
            with click.progressbar(length=len(rows), label="importing", file=sys.stderr) as bar:
                return await import_usage(ctx, rows, progress=bar.update)

    report = _run(run)
    refused = {**unreadable, **{line: _reasons(why) for line, why in report.rejected.items()}}
    click.echo(f"stored {report.stored}, already stored {report.replayed}, refused {len(refused)}")
    for line in sorted(refused):
        click.echo(f"line {line}: {refused[line]}")
    if refused:
        raise SystemExit(1)


def _reasons(fields: dict[str, str]) -> str:
    return "; ".join(f"{name}: {why}" for name, why in fields.items())


@main.command("export")
@click.option("--org", "org_name", required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="jsonl")
@click.option("--from", "start_date", default=None, help="YYYY-MM-DD (default: a month back).")
@click.option("--to", "end_date", default=None, help="YYYY-MM-DD, inclusive (default: today).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@_data_dir
def export_command(
    org_name: str,
    fmt: str,
    start_date: str | None,
    end_date: str | None,
    output: Path | None,
    data_dir: Path | None,
) -> None:
    """Export an organization's usage events for a range, newest first."""
    settings = _settings(data_dir)

    async def run() -> list[dict[str, Any]]:
        async with open_store(settings) as store, _operator(store, settings, org_name) as ctx:
            time_range = parse_time_range(start_date, end_date, None)
            events: list[dict[str, Any]] = []
            cursor = None
            while True:
                page = await list_events(ctx, time_range, UsageFilter(), limit=1000, cursor=cursor)
                events += [event_json(event) for event in page.events]
                cursor = page.next_cursor
                if cursor is None:
                    return events

    events = _run(run)
    if output is None:
        count = write_events(events, fmt, sys.stdout)
    else:
        with output.open("w", encoding="utf-8", newline="") as handle:
            count = write_events(events, fmt, handle)
    click.echo(f"exported {count} events", err=True)


@prices.command("list")
@click.option("--org", "org_name", required=True, help="Whose prices: the catalogue and its own.")
@click.option("--provider", default=None)
@_data_dir
def prices_list(org_name: str, provider: str | None, data_dir: Path | None) -> None:
    """Prices in force now, USD per 1M tokens: input, output, cached input, cache write."""
    settings = _settings(data_dir)

    async def run() -> list[ModelPrice]:
        async with open_store(settings) as store, _operator(store, settings, org_name) as ctx:
            return await list_prices(ctx, provider=provider)

    click.echo("provider\tmodel\tinput\toutput\tcached_input\tcache_write\torigin")
    for price in _run(run):
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
@_data_dir
def prices_import(path: Path, org_name: str, dry_run: bool, data_dir: Path | None) -> None:
    """Import a LiteLLM model_prices JSON file as the organization's prices."""
    settings = _settings(data_dir)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{path} is not JSON: {exc.msg}") from None

    async def run() -> PriceImport:
        async with open_store(settings) as store, _operator(store, settings, org_name) as ctx:
            return await import_litellm_prices(ctx, document, dry_run=dry_run)

    report = _run(run)
    verb = "would import" if dry_run else "imported"
    click.echo(f"{verb} {len(report.imported)} prices, skipped {len(report.skipped)}")
    for name, why in sorted(report.skipped.items()):
        click.echo(f"skipped {name}: {why}")
