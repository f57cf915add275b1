"""Schema version checks and upgrades through Alembic (the only source of the schema)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

_ROOT = Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    """The project's Alembic configuration, independent of the working directory."""
    cfg = Config(str(_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(_ROOT / "migrations"))
    return cfg


@dataclass(frozen=True)
class SchemaStatus:
    current: tuple[str, ...]
    head: tuple[str, ...]

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        heads = ", ".join(self.head)
        if self.up_to_date:
            return f"schema is current (revision {heads})"
        current = ", ".join(self.current) or "none (empty database)"
        return (
            f"database schema is at revision {current} but this version needs {heads}; "
            "run `sla-tracker migrate` (or `sla-tracker serve --migrate`)"
        )


def schema_status(engine: Engine) -> SchemaStatus:
    """The database's Alembic revision(s) next to the code's head revision(s)."""
    heads = tuple(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))
    with engine.connect() as conn:
        current = tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
    return SchemaStatus(current, heads)


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply migrations up to ``revision`` on ``engine``'s database."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
