"""Settings, read from ``SLA_*`` environment variables (and an optional ``.env`` file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the service; the README's configuration table lists them all."""

    model_config = SettingsConfigDict(env_prefix="SLA_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = Field(
        default="development", description="`production` turns on the safety checks below."
    )
    data_dir: Path = Field(default=Path("data"), description="Where the default SQLite file lives.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default `sqlite:///<data_dir>/sla-tracker.db`. "
        "PostgreSQL: `postgresql+psycopg://user@host/db`.",
    )
    database_password: SecretStr | None = Field(
        default=None, description="Password for the database URL, kept out of the URL and logs."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    access_log: bool = Field(default=True, description="One JSON log line per HTTP request.")
    host: str = Field(default="127.0.0.1", description="API bind address.")
    port: int = Field(default=8000, ge=1, le=65535, description="API bind port.")
    run_workers: bool = Field(
        default=True, description="Run background workers (scanner, deliverer, sync) inside `serve`."
    )
    worker_interval_seconds: float = Field(default=5.0, gt=0, description="Pause between worker passes.")
    session_secret: SecretStr | None = Field(
        default=None, description="Key that signs board session cookies; required in production."
    )
    board_public: bool = Field(
        default=False,
        description="Show the web board (`/`, ticket pages, its data and the live stream) without signing in.",
    )
    board_session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="How long a board sign-in (or wallboard visit) lasts."
    )
    ingest_commit_delay_ms: float = Field(
        default=2.0,
        ge=0,
        le=50,
        description="How long the ingestion writer waits, after taking a request, for others to join its "
        "transaction (group commit). 0: each request is written as soon as the writer takes it.",
    )
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, description="Largest request body accepted.")
    outbox_retention_days: int = Field(
        default=30,
        ge=0,
        description="Days to keep outbound events, their deliveries and attempts (the live stream's replay "
        "and redelivery reach back this far); pending deliveries are always kept. 0 keeps everything.",
    )
    webhook_allowed_networks: str = Field(
        default="",
        description="CIDRs (comma separated) of private networks outbound webhooks may reach.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("only sqlite:// and postgresql+psycopg:// URLs are supported")
        if value and value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @model_validator(mode="after")
    def _safe_in_production(self) -> Settings:
        if self.env == "production" and (
            self.session_secret is None or len(self.session_secret.get_secret_value()) < 32
        ):
            raise ValueError("SLA_SESSION_SECRET must be set (32+ characters) when SLA_ENV=production")
        return self

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'sla-tracker.db').as_posix()}"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings`` instead)."""
    return Settings()
