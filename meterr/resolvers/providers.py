"""Providers: what Meterr prices for each, and the organization's connections to their own
APIs, whose credentials are sealed at rest and never shown again."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from meterr.auth import Operation
from meterr.domain import ConnectionMode
from meterr.errors import Conflict, NotFound
from meterr.pricing import ModelPrice, normalize_provider
from meterr.resolvers.context import RequestContext
from meterr.resolvers.inputs import fields_refused
from meterr.resolvers.prices import list_prices
from meterr.resolvers.timerange import stored_instant
from meterr.store import Connection, NameTaken

__all__ = [
    "CONNECTABLE",
    "ProviderInfo",
    "connect_provider",
    "disconnect_provider",
    "get_connection",
    "list_providers",
]

# Providers whose own usage APIs Meterr can read.
CONNECTABLE = ("openai", "anthropic")
_MAX_OPTIONS_BYTES = 4096


Identifier = Annotated[str, Field(min_length=1, max_length=128)]


class OpenAIOptions(BaseModel):
    """What narrows an OpenAI import: its projects, and the organization to read (for an
    admin key of several)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    organization: Identifier | None = None
    project_id: Identifier | None = None
    project_ids: Annotated[list[Identifier], Field(max_length=100)] = []

    def stored(self) -> dict[str, Any]:
        projects = sorted({*self.project_ids, *([self.project_id] if self.project_id else [])})
        return {
            **({"organization": self.organization} if self.organization else {}),
            **({"project_ids": projects} if projects else {}),
        }


class AnthropicOptions(BaseModel):
    """What narrows an Anthropic import: its workspaces."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    workspace_id: Identifier | None = None
    workspace_ids: Annotated[list[Identifier], Field(max_length=100)] = []

    def stored(self) -> dict[str, Any]:
        workspaces = sorted(
            {*self.workspace_ids, *([self.workspace_id] if self.workspace_id else [])}
        )
        return {"workspace_ids": workspaces} if workspaces else {}


_OPTIONS: dict[str, type[OpenAIOptions] | type[AnthropicOptions]] = {
    "openai": OpenAIOptions,
    "anthropic": AnthropicOptions,
}
# Each provider's options under the name `options`, so that their errors name
# `options.<field>` as a field of the connection's own would be named.
_NAMED_OPTIONS: dict[str, TypeAdapter[Any]] = {
    "openai": TypeAdapter(dict[str, OpenAIOptions]),
    "anthropic": TypeAdapter(dict[str, AnthropicOptions]),
}


class ConnectionInput(BaseModel):
    """A connection to a provider's usage API: the provider, an admin key of it, and the
    options of that provider that narrow its import."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    provider: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=100)] = "default"
    api_key: Annotated[str, Field(min_length=8, max_length=1000)]
    mode: ConnectionMode = ConnectionMode.IMPORT
    options: dict[str, Any] | None = None  # none: nothing narrows the import

    @field_validator("options")
    @classmethod
    def _small_options(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(json.dumps(value)) > _MAX_OPTIONS_BYTES:
            raise ValueError(f"options may hold at most {_MAX_OPTIONS_BYTES} bytes")
        return value

    @model_validator(mode="after")
    def _a_connectable_provider_and_its_options(self) -> Self:
        provider = self.provider_name()
        if provider not in CONNECTABLE:
            raise fields_refused(
                self,
                f"Meterr cannot read {provider}'s usage API; it can connect to "
                f"{', '.join(CONNECTABLE)}.",
                {"provider": f"one of {', '.join(CONNECTABLE)}"},
            )
        _NAMED_OPTIONS[provider].validate_python({"options": self.options or {}})
        return self

    def provider_name(self) -> str:
        """The provider as Meterr names it."""
        return normalize_provider(self.provider)

    def stored_options(self) -> dict[str, Any]:
        """The provider's options in one form (`project_id` joins `project_ids`)."""
        return _OPTIONS[self.provider_name()].model_validate(self.options or {}).stored()


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """A provider, the prices of its models in force now, and the organization's
    connections to it."""

    name: str
    connectable: bool
    models: list[ModelPrice]
    connections: list[Connection]


async def list_providers(ctx: RequestContext) -> list[ProviderInfo]:
    ctx.principal.require(Operation.READ)
    prices = await list_prices(ctx)
    # Connections hold the whole organization's usage: a team's keys see none of them.
    connections = (
        await ctx.store.connections.of_organization(ctx.org_id) if ctx.team_scope is None else []
    )
    names = sorted({price.provider for price in prices} | {c.provider for c in connections})
    return [
        ProviderInfo(
            name=name,
            connectable=name in CONNECTABLE,
            models=[price for price in prices if price.provider == name],
            connections=[c for c in connections if c.provider == name],
        )
        for name in names
    ]


def _bound_to(org_id: str, connection_id: str) -> str:
    return f"provider-connection:{org_id}:{connection_id}"


async def connect_provider(ctx: RequestContext, data: ConnectionInput) -> Connection:
    """Store a connection; its credential is sealed and only its last four characters are
    ever shown."""
    ctx.principal.require(Operation.MANAGE)
    provider = data.provider_name()
    connection_id = f"conn_{secrets.token_hex(8)}"
    connection = Connection(
        id=connection_id,
        org_id=ctx.org_id,
        provider=provider,
        name=data.name,
        mode=data.mode,
        options=data.stored_options(),
        sealed_credential=ctx.services.sealer.seal(
            data.api_key, _bound_to(ctx.org_id, connection_id)
        ),
        credential_hint=data.api_key[-4:],
        created_at=stored_instant(ctx.now()),
    )
    try:
        # The first scheduled import comes one interval later; POST .../sync imports now.
        interval = timedelta(seconds=ctx.services.settings.provider_sync_interval)
        await ctx.store.connections.insert(
            connection, first_sync_at=connection.created_at + interval
        )
    except NameTaken:
        raise Conflict(
            f"A connection to {provider} named '{data.name}' already exists.",
            {"fields": {"name": "already taken for this provider"}},
        ) from None
    return connection


async def get_connection(ctx: RequestContext, connection_id: str) -> Connection:
    ctx.principal.require(Operation.READ)
    connection = (
        await ctx.store.connections.get(ctx.org_id, connection_id)
        if ctx.team_scope is None
        else None
    )
    if connection is None:
        raise NotFound(f"No provider connection {connection_id}.", {"id": connection_id})
    return connection


async def disconnect_provider(ctx: RequestContext, connection_id: str) -> None:
    """Remove a connection and its stored credential."""
    ctx.principal.require(Operation.MANAGE)
    if not await ctx.store.connections.delete(ctx.org_id, connection_id):
        raise NotFound(f"No provider connection {connection_id}.", {"id": connection_id})


def credential_of(ctx: RequestContext, connection: Connection) -> str:
    """The connection's credential in clear, for a call to the provider."""
    return ctx.services.sealer.open(
        connection.sealed_credential, _bound_to(connection.org_id, connection.id)
    )
