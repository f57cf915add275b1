"""Shared fixtures: a migrated database (SQLite file, or PostgreSQL when SLA_TEST_DATABASE_URL is set),
a controllable clock, an app client and API keys of each scope.

Tests that use the ``db`` fixture (directly or through ``client``) are marked ``db`` automatically;
the test command runs them a second time against a real PostgreSQL server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from app.auth.service import create_key
from app.clocks.context import reset_caches
from app.core.config import Settings
from app.core.db import Database, build_engine
from app.core.schema import upgrade
from app.main import create_app
from app.models import metadata

TEST_DB_URL = os.environ.get("SLA_TEST_DATABASE_URL")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "db" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


@dataclass
class FakeClock:
    """A settable ``now()``: tests move time explicitly."""

    current: datetime = field(default_factory=lambda: datetime(2025, 1, 6, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current

    def set(self, value: datetime) -> None:
        self.current = value


def _fresh_engine(tmp_root: Path) -> Engine:
    if TEST_DB_URL:
        engine = build_engine(TEST_DB_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        return engine
    return build_engine(f"sqlite:///{tmp_root / 'test.db'}")


@pytest.fixture(scope="session")
def migrated_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = _fresh_engine(tmp_path_factory.mktemp("db"))
    upgrade(engine)
    yield engine
    engine.dispose()


def _wipe(engine: Engine) -> None:
    reset_caches()  # ids restart after a wipe; cached configuration must not outlive it
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def db(migrated_engine: Engine) -> Iterator[Database]:
    """A migrated, empty database; emptied again after the test."""
    _wipe(migrated_engine)
    yield Database(migrated_engine)
    _wipe(migrated_engine)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(env="test", data_dir=tmp_path, access_log=False, session_secret="x" * 40)


@pytest.fixture
def client(db: Database, clock: FakeClock, settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, database=db, now=clock, run_workers=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def make_key(db: Database, scope: str, name: str | None = None) -> str:
    """A fresh API key of ``scope`` (clear text)."""
    with db.transaction() as session:
        _, clear = create_key(session, name=name or f"{scope}-key", scope=scope, now=datetime.now(UTC))
    return clear


@pytest.fixture
def read_headers(db: Database) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(db, 'read')}"}


@pytest.fixture
def write_headers(db: Database) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(db, 'write')}"}


@pytest.fixture
def admin_headers(db: Database) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(db, 'admin')}"}


def count_rows(db: Database, column: Any) -> int:
    """``SELECT count(column)`` in a reading transaction."""
    with db.transaction(write=False) as session:
        return int(session.scalar(select(func.count(column))) or 0)


def project_queued(db: Database, clock: FakeClock) -> int:
    """Run the worker's ``replay-requested`` job until no ticket is queued: webhooks store their events
    and leave the projection to it. Returns how many tickets it projected."""
    from app.clocks import jobs

    total = 0
    while done := jobs.replay_requested(db, clock):
        total += done
    return total
