"""Background WAL checkpoints: the service's connections stop checkpointing on commit, the thread
checkpoints what they wrote, and restarts the log once it is long."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from sqlalchemy import Engine, text

from app.core.checkpoint import WalCheckpointer
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


def test_a_long_log_is_restarted_even_when_a_reader_held_it_back(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    engine = build_engine(f"sqlite:///{path}")
    _write(engine, 1)  # creates the file in WAL mode
    checkpointer = WalCheckpointer(str(path), interval=3600, restart_pages=5)
    checkpointer.start()
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    release = threading.Timer(0.3, lambda: reader.execute("COMMIT"))
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM t").fetchone()  # holds the snapshot before the writes below
        _write(engine, 40)
        # A passive checkpoint cannot copy what the reader may still need; the restart waits for it.
        release.start()
        assert checkpointer.step()[1] >= 5
        _write(engine, 1)  # the first writer after a restart starts the log over
        assert checkpointer.step()[1] < 5
    finally:
        release.cancel()
        release.join()
        checkpointer.stop()
        reader.close()
        engine.dispose()


def test_nothing_to_do_on_postgresql_or_memory() -> None:
    db = Database(build_engine("sqlite:///:memory:"))
    assert db.start_background_checkpoints() is None
    db.stop_background_checkpoints()
