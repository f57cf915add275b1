"""Alembic environment: runs against the connection handed in by the app, or the configured URL."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from app.core.config import get_settings
from app.core.db import UTCDateTime, build_engine
from app.models import metadata

config = context.config


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations spell our UTC wrapper as the plain column type it stores.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_item=_render_item,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    settings = get_settings()
    password = settings.database_password.get_secret_value() if settings.database_password else None
    engine = build_engine(settings.effective_database_url, password=password)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `sla-tracker migrate`")
run_migrations_online()
