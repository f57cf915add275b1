"""Alembic is the only source of the schema: the migrated database matches the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from app.core.db import Database
from app.core.schema import schema_status, upgrade
from app.models import metadata


def test_models_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_schema_is_at_head_and_every_model_table_exists(db: Database) -> None:
    assert schema_status(db.engine).up_to_date
    tables = set(inspect(db.engine).get_table_names())
    assert set(metadata.tables) <= tables


def test_empty_database_is_reported_out_of_date_then_upgraded(tmp_path: object) -> None:
    from app.core.db import build_engine

    engine: Engine = build_engine(f"sqlite:///{tmp_path}/fresh.db")
    status = schema_status(engine)
    assert not status.up_to_date
    assert "sla-tracker migrate" in status.describe()
    upgrade(engine)
    assert schema_status(engine).up_to_date
    engine.dispose()
