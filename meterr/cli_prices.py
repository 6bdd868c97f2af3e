"""The `meterr prices` commands: the catalogue, an organization's prices, repricing."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import click

from meterr.cli_support import (
    data_dir_option,
    print_table,
    remote_options,
    run,
    settings_for,
    store_or_server,
)
from meterr.clock import SystemClock
from meterr.config import Settings
from meterr.pricing import (
    catalogue_document,
    load_catalogue,
    nano_to_usd,
    read_litellm,
    update_catalogue,
)
from meterr.resolvers import RepriceInput, import_litellm_prices, list_prices, reprice
from meterr.sdk import AsyncClient

__all__ = ["prices"]

LITELLM_SOURCE = "https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json"
_RepriceLine = tuple[str, str, int, int, Decimal, Decimal]


@click.group()
def prices() -> None:
    """Prices: the catalogue, an organization's own, imports from LiteLLM, repricing."""


@prices.command("reprice")
@click.option("--org", "org_name", default=None, help="On the store: the organization.")
@click.option("--from", "start_date", default=None, help="YYYY-MM-DD or RFC 3339.")
@click.option("--to", "end_date", default=None, help="YYYY-MM-DD (inclusive) or RFC 3339.")
@click.option("--provider", default=None)
@click.option("--model", default=None)
@click.option("--unpriced-only", is_flag=True, help="Only events stored without a price.")
@click.option("--dry-run", is_flag=True, help="Show the difference, change nothing.")
@remote_options
@data_dir_option
def prices_reprice(
    org_name: str | None,
    start_date: str | None,
    end_date: str | None,
    provider: str | None,
    model: str | None,
    unpriced_only: bool,
    dry_run: bool,
    url: str | None,
    api_key: str | None,
    data_dir: Path | None,
) -> None:
    """Reprice stored events with the catalogue and overrides in force now."""
    scope = {
        "start_date": start_date,
        "end_date": end_date,
        "provider": provider,
        "model": model,
        "unpriced_only": unpriced_only,
    }

    async def work() -> tuple[bool, int, list[_RepriceLine]]:
        async with store_or_server(settings_for(data_dir), org_name, url, api_key) as target:
            if isinstance(target, AsyncClient):
                answer = await target.reprice(dry_run=dry_run, **scope)
                return (
                    answer.applied,
                    answer.changed,
                    [
                        (m.provider, m.model, m.events, m.changed, m.old_cost, m.new_cost)
                        for m in answer.models
                    ],
                )
            report = await reprice(target, RepriceInput(**scope, dry_run=dry_run))
            return (
                report.applied,
                report.changed,
                [
                    (
                        line.provider,
                        line.model,
                        line.events,
                        line.changed,
                        nano_to_usd(line.old_cost_nano),
                        nano_to_usd(line.new_cost_nano),
                    )
                    for line in report.lines
                ],
            )

    applied, changed, lines = run(work)
    print_table(
        ("provider", "model", "events", "changed", "old_cost", "new_cost"),
        [(*line[:4], f"{line[4]:.6f}", f"{line[5]:.6f}") for line in lines],
    )
    verb = "repriced" if applied else "would reprice (dry run)"
    click.echo(f"{verb} {changed} events")


@prices.command("list")
@click.option("--org", "org_name", default=None, help="On the store: whose prices.")
@click.option("--provider", default=None)
@remote_options
@data_dir_option
def prices_list(
    org_name: str | None,
    provider: str | None,
    url: str | None,
    api_key: str | None,
    data_dir: Path | None,
) -> None:
    """Prices in force now, the catalogue's and the organization's own, USD per 1M tokens:
    input, output, cached input, cache write."""

    async def work() -> list[tuple[object, ...]]:
        async with store_or_server(settings_for(data_dir), org_name, url, api_key) as target:
            if isinstance(target, AsyncClient):
                return [
                    (
                        p.provider,
                        p.model,
                        p.input,
                        p.output,
                        p.cached_input,
                        p.cache_write,
                        p.origin,
                    )
                    for p in await target.prices(provider)
                ]
            return [
                (
                    price.provider,
                    price.model,
                    price.rates.input,
                    price.rates.output,
                    price.rates.effective_cached_input,
                    price.rates.effective_cache_write,
                    price.origin,
                )
                for price in await list_prices(target, provider=provider)
            ]

    print_table(
        ("provider", "model", "input", "output", "cached_input", "cache_write", "origin"), run(work)
    )


@prices.command("show")
@click.argument("model")
@click.option("--provider", required=True)
def prices_show(model: str, provider: str) -> None:
    """Every catalogue price of a model, oldest first, with its date and source."""
    catalogue = load_catalogue(Settings().catalogue)
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
@click.option("--org", "org_name", default=None, help="On the store: the organization.")
@click.option(
    "--catalogue", "as_catalogue", is_flag=True,
    help="Update the price catalogue of every organization instead, into --output or the "
    "METERR_CATALOGUE file.",
)  # fmt: skip
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="With --catalogue: the catalogue file to write (default METERR_CATALOGUE).",
)  # fmt: skip
@click.option(
    "--effective-from", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
    help="With --catalogue: YYYY-MM-DD the changed prices take effect (default today, UTC).",
)  # fmt: skip
@click.option(
    "--source", default=LITELLM_SOURCE, show_default=True,
    help="With --catalogue: the https URL the prices come from.",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Say what would be imported, change nothing.")
@remote_options
@data_dir_option
def prices_import(
    path: Path,
    org_name: str | None,
    as_catalogue: bool,
    output: Path | None,
    effective_from: datetime | None,
    source: str,
    dry_run: bool,
    url: str | None,
    api_key: str | None,
    data_dir: Path | None,
) -> None:
    """Import a LiteLLM model_prices JSON file as the organization's prices (events stored
    without a price are priced with them), or with --catalogue as a catalogue update: a
    changed price becomes a new version of its model, in force from --effective-from."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{path} is not JSON: {exc.msg}") from None
    if as_catalogue:
        if org_name is not None or url is not None:
            raise click.UsageError(
                "--catalogue updates every organization's catalogue: no --org or --url."
            )
        _update_catalogue(document, settings_for(data_dir), output, effective_from, source, dry_run)
        return

    async def work() -> tuple[int, dict[str, str]]:
        async with store_or_server(settings_for(data_dir), org_name, url, api_key) as target:
            if isinstance(target, AsyncClient):
                answer = await target.import_prices(document, dry_run=dry_run)
                return len(answer.imported), answer.skipped
            report = await import_litellm_prices(target, document, dry_run=dry_run)
            return len(report.imported), report.skipped

    imported, skipped = run(work)
    verb = "would import" if dry_run else "imported"
    click.echo(f"{verb} {imported} prices, skipped {len(skipped)}")
    for name, why in sorted(skipped.items()):
        click.echo(f"skipped {name}: {why}")


def _update_catalogue(
    document: object,
    settings: Settings,
    output: Path | None,
    effective_from: datetime | None,
    source: str,
    dry_run: bool,
) -> None:
    target = output or settings.catalogue
    if target is None and not dry_run:
        raise click.UsageError("Give --output, or set METERR_CATALOGUE to the file to update.")
    today = SystemClock().now().date()
    try:
        starts = effective_from.date() if effective_from else today
        prices, skipped = read_litellm(document)
        current = catalogue_document(settings.catalogue)
        updated, report = update_catalogue(
            current, prices, effective_from=starts, source=source, today=today
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    skipped.update(report.skipped)
    click.echo(
        f"catalogue {report.version}: {len(report.added)} models added, "
        f"{len(report.changed)} prices changed, {report.unchanged} unchanged, "
        f"{len(skipped)} skipped"
    )
    for name in report.added:
        click.echo(f"added {name}")
    for name in report.changed:
        click.echo(f"changed {name} from {starts.isoformat()}")
    for name, why in sorted(skipped.items()):
        click.echo(f"skipped {name}: {why}")
    if dry_run or target is None:
        click.echo("dry run: nothing written")
        return
    target.write_text(json.dumps(updated, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    click.echo(f"wrote {target}; Meterr prices with it when started with METERR_CATALOGUE={target}")
