"""Settings read once from the environment and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    live_feed_bound: int = Field(
        default=10_000,
        ge=1,
        description="Messages a live subscriber may fall behind before its feed is closed.",
    )
    rollup_interval: float = Field(
        default=2.0,
        gt=0,
        description="Seconds between two foldings of pending rollup increments into the cells.",
    )
