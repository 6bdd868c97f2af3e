"""Settings read once from the environment and passed down."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Everything Meterr reads from its environment, frozen after start-up."""

    model_config = SettingsConfigDict(env_prefix="METERR_", frozen=True, extra="ignore")

    mongodb_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MONGODB_URL", "METERR_MONGODB_URL"),
        description="MongoDB server to use; unset starts the embedded store.",
    )
    database: str = "meterr"
    secret_key: str | None = Field(
        default=None,
        description="URL-safe base64 of 32 bytes sealing stored credentials; unset: a key "
        "kept in the data directory (set one shared key for several instances).",
    )
    data_dir: Path = Path("meterr-data")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    broadcast_url: str = "memory://"
    max_body_bytes: int = 1_048_576
    max_batch_events: int = 1000
    key_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a verified API key is trusted before it is looked up again.",
    )
    embedded_start_timeout: float = 30.0
    embedded_restart_delay: float = Field(
        default=0.5,
        gt=0,
        description="Seconds before an embedded store that stopped on its own is started "
        "again; doubled at each failed try.",
    )
    embedded_restart_attempts: int = Field(
        default=8,
        ge=1,
        description="Tries at starting again an embedded store that stopped on its own; "
        "after the last one fails, /healthz answers 503.",
    )
    store_timeout: float = Field(
        default=3.0,
        gt=0,
        description="Seconds a request waits for an unreachable store before it is answered "
        "503 store_unavailable.",
    )
    request_head_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a client has to send a request's line and headers; past it "
        "the request is answered 408 and the connection closed.",
    )
    request_body_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a client has to send a request's body once its headers arrived.",
    )
    max_connections: int | None = Field(
        default=None,
        ge=1,
        description="Open client connections (and requests in progress) past which a new "
        "request is answered 503; unset: the open-file limit less a reserve for the store.",
    )
    cost_feeds_per_organization: int = Field(
        default=10,
        ge=1,
        description="Distinct live cost feeds (costFeed questions) one organization may "
        "follow at once on an instance; any number of subscribers share each.",
    )
    organization_concurrency: int = Field(
        default=8,
        ge=1,
        description="Requests of one organization in progress at once on an instance; more "
        "wait their turn.",
    )
    organization_queue_seconds: float = Field(
        default=5.0,
        ge=0,
        description="Seconds a request waits for its organization's turn before it is "
        "answered 429.",
    )
    shutdown_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds open requests and connections get to finish once Meterr is "
        "asked to stop.",
    )
    live_feed_bound: int = Field(
        default=10_000,
        ge=1,
        description="Messages a live subscriber may fall behind before its feed is closed.",
    )
    webhook_allow_private: bool = Field(
        default=False,
        validation_alias=AliasChoices("WEBHOOK_ALLOW_PRIVATE", "METERR_WEBHOOK_ALLOW_PRIVATE"),
        description="Let webhooks reach private, loopback and link-local addresses.",
    )
    webhook_timeout: float = Field(default=10.0, gt=0, description="Seconds per delivery attempt.")
    webhook_concurrency: int = Field(
        default=8,
        ge=1,
        le=1024,
        description="Endpoints this instance delivers to at once; one organization holds at "
        "most half of them.",
    )
    webhook_dispatch: bool = Field(
        default=True,
        description="Whether this instance delivers webhooks; instances that only answer the "
        "API can leave the deliveries to the others.",
    )
    webhook_retry_base: float = Field(
        default=5.0, gt=0, description="Seconds before the first retry; each retry doubles it."
    )
    webhook_retry_max: float = Field(
        default=4 * 3600.0, gt=0, description="The longest wait between two retries, in seconds."
    )
    webhook_retry_window: float = Field(
        default=26 * 3600.0,
        gt=0,
        description="Seconds after which an undelivered notification is given up.",
    )
    catalogue: Path | None = Field(
        default=None,
        description="A price catalogue file to use instead of the one shipped with Meterr "
        "(written by `meterr prices import --catalogue`).",
    )
    openai_api_base: str = Field(
        default="https://api.openai.com", description="Where OpenAI's usage API answers."
    )
    anthropic_api_base: str = Field(
        default="https://api.anthropic.com", description="Where Anthropic's usage API answers."
    )
    provider_sync_interval: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds between two scheduled usage imports of a provider connection.",
    )
    rollup_interval: float = Field(
        default=2.0,
        gt=0,
        description="Seconds between two foldings of pending rollup increments into the cells.",
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Browser origins (scheme://host[:port]) allowed to call the API and open "
        "GraphQL sockets from another origin, comma-separated or a JSON list; '*' allows any. "
        "None by default.",
    )
    webhook_allowed_ports: Annotated[
        tuple[Annotated[int, Field(ge=1, le=65535)], ...], NoDecode
    ] = Field(
        default=(80, 443),
        description="The ports a webhook URL may name, comma-separated or a JSON list; "
        "lifted by webhook_allow_private.",
    )

    graphql_max_tokens: int = Field(
        default=10_000,
        ge=1,
        description="Lexical tokens (comments included) a GraphQL document may hold; the "
        "parser stops at the first one past it, so a larger document costs no more to refuse.",
    )
    graphql_max_aliases: int = Field(
        default=100, ge=0, description="Aliased fields a GraphQL document may hold."
    )
    graphql_max_fields: int = Field(
        default=500,
        ge=1,
        description="Fields a GraphQL document may select, a fragment's counted each time it "
        "is spread (validating many copies of one field costs time in their square).",
    )
    graphql_max_depth: int = Field(
        default=20, ge=1, description="Levels of fields a GraphQL document may nest."
    )
    graphql_max_root_fields: int = Field(
        default=10,
        ge=1,
        description="Root fields one GraphQL operation may run (each counts against the "
        "hour's request budget).",
    )

    @field_validator("cors_origins", "webhook_allowed_ports", mode="before")
    @classmethod
    def _listed(cls, value: object) -> object:
        """A JSON list, or the simpler comma-separated form an operator types."""
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            return json.loads(value)
        return [item.strip() for item in value.split(",") if item.strip()]

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        """Each origin as browsers send it (lower case, no default port): one written
        otherwise would never match. Anything more than an origin is refused at start."""
        return tuple(_as_browsers_send(origin) for origin in origins)


def _as_browsers_send(origin: str) -> str:
    lowered = origin.strip().lower()
    if lowered == "*":
        return lowered
    refused = ValueError(f"{origin!r} is not an origin such as https://app.example.com")
    try:
        parts = urlsplit(lowered)
        port = parts.port
    except ValueError:
        raise refused from None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    if (
        default is None
        or not parts.hostname
        or "@" in parts.netloc
        or lowered != f"{parts.scheme}://{parts.netloc}"
    ):
        raise refused
    host = parts.netloc.rpartition(":")[0] if port == default else parts.netloc
    return f"{parts.scheme}://{host}"
