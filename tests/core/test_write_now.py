"""``Database.transaction(wait=False)``: a writing transaction only if the write lock is free at once."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from app.core.db import Database, WriteLockBusy, build_engine
from tests.fakes.write_lock import written_by_another_thread


@pytest.fixture
def sqlite_db(tmp_path: object) -> Database:
    database = Database(build_engine(f"sqlite:///{tmp_path}/t.db"))
    with database.transaction() as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
    return database


def _rows(database: Database) -> list[int]:
    with database.transaction(write=False) as session:
        return [x for (x,) in session.execute(text("SELECT x FROM t ORDER BY x"))]


def test_a_free_lock_gives_a_transaction_that_commits(sqlite_db: Database) -> None:
    with sqlite_db.transaction(wait=False) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
    assert _rows(sqlite_db) == [1]
    with sqlite_db.transaction() as session:  # the lock was given back
        session.execute(text("INSERT INTO t VALUES (2)"))
    assert _rows(sqlite_db) == [1, 2]


def test_another_thread_of_this_process_writing_refuses_at_once(sqlite_db: Database) -> None:
    first = text("INSERT INTO t VALUES (1)")
    with (
        written_by_another_thread(sqlite_db, lambda session: session.execute(first)),
        pytest.raises(WriteLockBusy),
        sqlite_db.transaction(wait=False) as session,
    ):
        session.execute(text("INSERT INTO t VALUES (2)"))
    assert _rows(sqlite_db) == [1]


def test_another_connection_holding_sqlites_lock_refuses_at_once_and_later_writes_wait_again(
    sqlite_db: Database,
) -> None:
    other = sqlite3.connect(str(sqlite_db.engine.url.database), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(WriteLockBusy), sqlite_db.transaction(wait=False) as session:
            session.execute(text("INSERT INTO t VALUES (2)"))
    finally:
        other.execute("INSERT INTO t VALUES (1)")
        other.execute("COMMIT")
        other.close()
    # The refused attempt gave back this process's lock, and the pooled connection waits for locks again.
    with sqlite_db.transaction() as session:
        timeout = session.execute(text("PRAGMA busy_timeout")).scalar()
        session.execute(text("INSERT INTO t VALUES (3)"))
    assert timeout == 30_000
    assert _rows(sqlite_db) == [1, 3]
