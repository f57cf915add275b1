"""Database engine, declarative base and sessions for SQLite and PostgreSQL.

SQLite is tuned for a server: WAL journal (readers never block the writer),
a busy timeout instead of instant ``database is locked`` errors, foreign keys
on, and ``BEGIN IMMEDIATE`` for writing transactions so two writers queue up
at the start instead of failing on a read-to-write lock upgrade.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import DateTime, Engine, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from app.core.checkpoint import WalCheckpointer

# How long a SQLite connection waits for another one's write lock before "database is locked".
BUSY_TIMEOUT_MS = 30_000

# Fixed before the first migration so constraint names are stable on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite has no zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    # On SQLite, one C-level conversion each way instead of the decorator's step chained to SQLAlchemy's
    # own (strftime-like formatting, regex parsing): timestamps are bound on every row of every write.
    # The stored text is the same, ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC.
    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        return sqlite_timestamp_text if dialect.name == "sqlite" else super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        return sqlite_timestamp if dialect.name == "sqlite" else super().result_processor(dialect, coltype)


# The integers a JSON column gives back as integers: orjson reads longer ones as floats, so a value outside
# this range would not survive the round trip (and a stored document holding one no longer validates).
JSON_INT_MIN, JSON_INT_MAX = -(2**63), 2**63 - 1


def json_text(value: Any) -> str:
    """``value`` as JSON text: orjson (several times faster than ``json.dumps``, and JSON columns are
    written on every ingested event), falling back to ``json`` for what orjson refuses (integers
    beyond 64 bits)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def json_value(text: str | bytes) -> Any:
    """Parsed JSON text."""
    return orjson.loads(text)


def sqlite_timestamp_text(value: datetime | None) -> str | None:
    """An aware timestamp as the UTC text SQLite stores (``YYYY-MM-DD HH:MM:SS.ffffff``)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a timezone")
        value = value.astimezone(UTC)
    # Without the "+00:00" that an aware value's isoformat ends with.
    return value.isoformat(" ", "microseconds")[:26]


def sqlite_timestamp(value: str | None) -> datetime | None:
    """The UTC-aware timestamp of SQLite's stored text."""
    return None if value is None else datetime.fromisoformat(value + "+00:00")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook below issue BEGIN, not the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writing session asks for BEGIN IMMEDIATE: it takes the write lock up front instead of
        # failing later when a read would have to upgrade to a write.
        conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', 'DEFERRED')}")


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


def build_engine(url: str, *, password: str | None = None, echo: bool = False) -> Engine:
    """An engine for ``url``; creates the SQLite file's directory when needed."""
    parsed = make_url(url)
    if password is not None:
        parsed = parsed.set(password=password)
    if parsed.get_backend_name() == "sqlite":
        on_file = bool(parsed.database) and parsed.database != ":memory:"
        if on_file:
            Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            echo=echo,
            # Statement parameters carry secrets (webhook signing keys) and customer data: keep them
            # out of every error message and log line, whichever path raises.
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
            pool_size=8,
            # The connection given back last is handed out first: the writer keeps using the connection whose
            # page cache its last transaction left valid. SQLite empties a connection's cache whenever another
            # connection wrote since its last transaction, so taking turns over the pool re-read every page.
            **({"pool_use_lifo": True} if on_file else {}),
            json_serializer=json_text,
            json_deserializer=json_value,
        )
        _tune_sqlite(engine)
        return engine
    return create_engine(
        parsed,
        echo=echo,
        hide_parameters=True,  # as above
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        json_serializer=json_text,
        json_deserializer=json_value,
    )


class FairLock:
    """A lock granted in request order: releasing hands it to the longest waiter.

    ``threading.Lock`` lets the thread that just released it take it straight back; a worker
    looping over short transactions then starved the ingestion writer.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self) -> None:
        with self._guard:
            if not self._held:
                self._held = True
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        turn.acquire()  # released by ``release`` when it is this thread's turn; the lock stays held

    def release(self) -> None:
        with self._guard:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False


class Database:
    """Owns the engine and hands out sessions; ``write`` sessions take SQLite's write lock up front."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer at a time. Queueing this process's writers on a lock is fair and
        # immediate; leaving it to SQLite's busy handler means sleeps with backoff and long tails.
        # (Other processes still wait through busy_timeout.)
        self._write_lock = FairLock() if self.is_sqlite else None
        writer = engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else engine
        # ``info["write"]`` tells code handed a session whether it may write in it (see auth.record_use).
        self._read = sessionmaker(engine, expire_on_commit=False, info={"write": False})
        self._write = sessionmaker(writer, expire_on_commit=False, info={"write": True})
        self._checkpointer: WalCheckpointer | None = None

    def start_background_checkpoints(self) -> WalCheckpointer | None:
        """Move SQLite's WAL checkpoints off the writers' commits into a thread (``app.core.checkpoint``),
        for a long-running process on a database file; None (nothing to do) on PostgreSQL."""
        path = self.engine.url.database
        if not self.is_sqlite or not path or path == ":memory:" or self._checkpointer is not None:
            return self._checkpointer
        event.listen(self.engine, "connect", _no_autocheckpoint)
        self.engine.dispose()  # pooled connections reconnect with the setting
        self._checkpointer = WalCheckpointer(path)
        self._checkpointer.start()
        return self._checkpointer

    def stop_background_checkpoints(self) -> None:
        """Stop the checkpoint thread (after a last checkpoint); connections checkpoint on commit again."""
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is None:
            return
        checkpointer.stop()
        event.remove(self.engine, "connect", _no_autocheckpoint)
        self.engine.dispose()

    def session(self, *, write: bool = True) -> Session:
        """A new session; the caller (request or job boundary) commits."""
        return (self._write if write else self._read)()

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back on error (writers queue in turn)."""
        lock = self._write_lock if write else None
        if lock is not None:
            lock.acquire()
        session = self.session(write=write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            if lock is not None:
                lock.release()

    def dispose(self) -> None:
        self.engine.dispose()


def insert_ignoring_conflicts(session: Session | str, model: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for ``model`` on either database (given a session or the
    dialect's name); execute it with a list of rows.

    Rows go as parameters (not ``.values(rows)``) so the statement compiles once and is cached.
    """
    name = session if isinstance(session, str) else session.get_bind().dialect.name
    dialect = postgresql if name == "postgresql" else sqlite
    return dialect.insert(model).on_conflict_do_nothing()
