"""What the `meterr` commands share: options, settings, the event loop, an operator context."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from meterr import wire
from meterr.auth import Principal, Role
from meterr.config import Settings
from meterr.errors import MeterrError
from meterr.events import EventBus
from meterr.pricing import load_catalogue
from meterr.resolvers import RequestContext, Services
from meterr.sdk import AsyncClient, MeterrAPIError, MeterrConnectionError
from meterr.store import Organization, Store, open_store

__all__ = [
    "data_dir_option",
    "existing_organization",
    "operator",
    "print_table",
    "progress",
    "remote_options",
    "run",
    "settings_for",
    "store_or_server",
]

T = TypeVar("T")

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Embedded store directory (default ./meterr-data); ignored when MONGODB_URL is set.",
)


def settings_for(data_dir: Path | None, **overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run a command's work; an error the store or the server answers is the command's
    error message (exit code 1), not a traceback."""
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except (MeterrError, MeterrAPIError) as exc:
        raise click.ClickException(_failure(exc.message, exc.code, exc.details)) from None
    except MeterrConnectionError as exc:
        raise click.ClickException(str(exc)) from None


def _failure(message: str, code: str, details: dict[str, Any]) -> str:
    """`message (code)`, each offending field named after it."""
    fields = details.get("fields") or {}
    named = "".join(f"\n  {name}: {why}" for name, why in fields.items())
    return f"{message} ({code}){named}"


async def existing_organization(store: Store, org_name: str) -> Organization:
    """The organization named so; a command never creates one by a mistyped name."""
    org = await store.organizations.organization_named(org_name)
    if org is None:
        raise click.ClickException(
            f"No organization is named {org_name!r}; `meterr keys create --org {org_name}` "
            "creates it."
        )
    return org


@asynccontextmanager
async def operator(
    store: Store, settings: Settings, org_name: str
) -> AsyncIterator[RequestContext]:
    """An admin context for operator commands acting on one organization."""
    org = await existing_organization(store, org_name)
    bus = EventBus(settings.broadcast_url)
    await bus.connect()
    try:
        principal = Principal(org.id, org.name, org.tier, "cli", Role.ADMIN)
        yield RequestContext(
            principal, Services(settings, store, load_catalogue(settings.catalogue), bus)
        )
    finally:
        await bus.disconnect()


def remote_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--url and --api-key: talk to a running server instead of the store."""
    command = click.option(
        "--api-key", envvar="METERR_API_KEY", default=None, help="With --url (METERR_API_KEY)."
    )(command)
    return click.option(
        "--url", default=None, help="A running Meterr server (e.g. http://127.0.0.1:8000)."
    )(command)


@asynccontextmanager
async def store_or_server(
    settings: Settings, org_name: str | None, url: str | None, api_key: str | None
) -> AsyncIterator[RequestContext | AsyncClient]:
    """The organization on the store (`--org`), or a running server (`--url`, `--api-key`),
    where the key says which organization."""
    if url is not None:
        if org_name is not None:
            raise click.UsageError("--org is for the store; on a server the key names the org.")
        try:
            client = AsyncClient(api_key=api_key, base_url=url)
        except ValueError as exc:
            raise click.UsageError(f"{exc} (--api-key)") from None
        async with client:
            yield client
        return
    if org_name is None:
        raise click.UsageError("Give --org (on the store) or --url and --api-key (a server).")
    async with open_store(settings) as store, operator(store, settings, org_name) as ctx:
        yield ctx


def _cell(value: object) -> str:
    """A value as the API writes it: decimals in plain notation ("2.5", never "2.50")."""
    return wire.exact(value) if isinstance(value, Decimal) else str(value)


def print_table(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Rows under their column names: a table drawn for a terminal, tab-separated lines (the
    names first) when the output goes to a pipe or a file, for scripts."""
    cells = [[_cell(value) for value in row] for row in rows]
    if sys.stdout.isatty():
        table = Table(*columns, box=box.SIMPLE_HEAD)
        for row in cells:
            table.add_row(*row)
        Console().print(table)
        return
    click.echo("\t".join(columns))
    for row in cells:
        click.echo("\t".join(row))


@contextmanager
def progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr; the block advances it by calling what it is given."""
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.advance(task, done)
