"""Background WAL checkpoints: the service's connections stop checkpointing on commit, the thread
checkpoints what they wrote, and restarts the log once it is long."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from sqlalchemy import Engine, text

from app.core.checkpoint import RESTART_WAIT_MS, WalCheckpointer
from app.core.db import Database, build_engine


def _autocheckpoint(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def _write(engine: Engine, rows: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS t (x TEXT)"))
        for _ in range(rows):
            conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": "y" * 2000})


def test_connections_leave_checkpoints_to_the_thread_while_it_runs(tmp_path: Path) -> None:
    db = Database(build_engine(f"sqlite:///{tmp_path / 'a.db'}"))
    assert _autocheckpoint(db.engine) == 1000
    checkpointer = db.start_background_checkpoints()
    assert checkpointer is not None
    try:
        assert _autocheckpoint(db.engine) == 0
        _write(db.engine, 50)
        busy, pages, done = checkpointer.step()
        assert busy == 0
        assert pages > 0
        assert done == pages
    finally:
        db.stop_background_checkpoints()
    assert _autocheckpoint(db.engine) == 1000
    db.dispose()


def test_a_reader_holding_an_old_snapshot_never_stalls_writers_while_a_restart_is_due(tmp_path: Path) -> None:
    """The restart gives up after RESTART_WAIT_MS instead of making writers wait for the reader."""
    path = tmp_path / "b.db"
    engine = build_engine(f"sqlite:///{path}")
    _write(engine, 1)  # creates the file in WAL mode
    checkpointer = WalCheckpointer(str(path), interval=3600, restart_pages=5)
    checkpointer.start()
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM t").fetchone()  # holds the snapshot before the writes below
        _write(engine, 40)
        answers: list[tuple[int, int, int]] = []
        checkpoint = threading.Thread(target=lambda: answers.append(checkpointer.step()))
        writer = threading.Thread(target=_write, args=(engine, 1))
        checkpoint.start()
        writer.start()
        # Both finish while the reader still holds its snapshot: neither waited for it.
        writer.join(10)
        checkpoint.join(10)
        assert not writer.is_alive()
        assert not checkpoint.is_alive()
        assert reader.in_transaction
        busy, pages, _ = answers[0]
        assert busy == 1
        assert pages >= 5
        assert RESTART_WAIT_MS < 100
        reader.execute("COMMIT")
        # Once the reader is gone the next round restarts the log; the next writer starts it over.
        checkpointer.step()
        _write(engine, 1)
        assert checkpointer.step()[1] < 5
    finally:
        checkpointer.stop()
        reader.close()
        engine.dispose()


def test_nothing_to_do_on_postgresql_or_memory() -> None:
    db = Database(build_engine("sqlite:///:memory:"))
    assert db.start_background_checkpoints() is None
    db.stop_background_checkpoints()
