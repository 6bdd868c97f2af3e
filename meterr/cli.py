"""The `meterr` command: serve, keys, prices, rollups, forecast, import, export."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import click
import uvicorn

from meterr.auth import Role, Tier
from meterr.cli_data import export_command, forecast, import_command, rollups
from meterr.cli_prices import prices
from meterr.cli_support import (
    data_dir_option,
    existing_organization,
    print_table,
    run,
    settings_for,
)
from meterr.clock import SystemClock
from meterr.logs import configure_logging
from meterr.pricing import load_catalogue
from meterr.resolvers import (
    bootstrap_admin_key,
    create_key,
)
from meterr.store import open_store

__all__ = ["main"]


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


@click.group()
@click.version_option(package_name="meterr")
def main() -> None:
    """Meterr: self-hosted AI cost tracking."""


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 8000).")
@data_dir_option
def serve(host: str | None, port: int | None, data_dir: Path | None) -> None:
    """Start the service (on the embedded store unless MONGODB_URL is set)."""
    settings = settings_for(data_dir, host=host, port=port)
    try:
        load_catalogue(settings.catalogue)  # a broken price file stops here, said plainly
    except ValueError as exc:
        raise click.ClickException(f"The price catalogue cannot be used: {exc}") from None

    clock = SystemClock()
    # The service's modules load only for `serve`: the other commands start in half the time.
    from meterr.app import create_app
    from meterr.app.http import server_config

    async def work() -> None:
        async with open_store(settings) as store:
            new = await bootstrap_admin_key(store, now=clock.now())
            if new is not None:
                click.echo(
                    f"Created organization '{new.organization.name}' with an admin API key "
                    f"(shown once, keep it):\n\n    {new.key}\n"
                )
            click.echo(f"Meterr listening on http://{settings.host}:{settings.port}")
            config = server_config(
                create_app(settings, store=store, clock=clock),
                settings,
                log_config=None,  # JSON lines, configured below
                lifespan="on",
            )
            configure_logging()
            await _Server(config).serve()

    run(work)


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
@data_dir_option
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
    settings = settings_for(data_dir)

    async def work() -> None:
        async with open_store(settings) as store:
            new = await create_key(
                store,
                org_name=org_name,
                tier=Tier(tier) if tier else None,
                role=Role(role),
                team_id=team_id,
                name=name,
                now=SystemClock().now(),
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

    run(work)


@keys.command("list")
@click.option("--org", "org_name", required=True)
@data_dir_option
def keys_list(org_name: str, data_dir: Path | None) -> None:
    """List an organization's keys (prefixes only)."""

    async def work() -> list[tuple[str, ...]]:
        async with open_store(settings_for(data_dir)) as store:
            org = await existing_organization(store, org_name)
            return [
                (
                    record.id,
                    f"{record.display_prefix}…",
                    record.role,
                    "revoked" if record.revoked_at else "active",
                )
                for record in await store.organizations.list_keys(org.id)
            ]

    print_table(("id", "prefix", "role", "state"), run(work))


@keys.command("revoke")
@click.option("--org", "org_name", required=True)
@click.argument("key_id")
@data_dir_option
def keys_revoke(org_name: str, key_id: str, data_dir: Path | None) -> None:
    """Revoke a key by its id."""

    async def work() -> None:
        async with open_store(settings_for(data_dir)) as store:
            org = await existing_organization(store, org_name)
            revoked = await store.organizations.revoke_key(org.id, key_id, SystemClock().now())
            if revoked is None:
                raise click.ClickException(f"No key {key_id} in organization {org_name}.")
            click.echo(f"revoked {key_id}")

    run(work)


for command in (prices, rollups, forecast, import_command, export_command):
    main.add_command(command)
