"""Hot-path statements run on the driver's cursor: inserts, executemany updates, keyed reads.

Ingestion writes a handful of rows per event into four tables, a thousand times a second. Through
SQLAlchemy's execution layer (statement cache lookup, per-parameter processors, insertmanyvalues
batching, result rows) half of the writer's time went to SQLAlchemy itself rather than to SQLite
or to the clock math. These helpers keep what SQLAlchemy is good at here — the table definitions
(names, columns, types) — and run plain SQL text on the session's own connection, inside its
transaction, with each column's values converted once by a small per-dialect codec:

- SQLite: timestamps as the same UTC text ``UTCDateTime`` stores, JSON as text; inserts run row by
  row on one prepared statement (faster there than multi-row ``VALUES`` and ``RETURNING``);
- PostgreSQL (psycopg): timezone-aware timestamps and psycopg's ``Json`` wrapper, as the
  SQLAlchemy dialect binds them; inserts are multi-row ``VALUES`` statements (one round trip).

Values read back come out as SQLAlchemy would return them (UTC-aware datetimes, parsed JSON).
See docs/adr/0010-hot-path-statements-on-the-cursor.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any

from psycopg.types.json import Json
from sqlalchemy import JSON, Select, Table, event
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.orm import Session

from app.core.db import Base, UTCDateTime, json_text, json_value, sqlite_timestamp, sqlite_timestamp_text

Convert = Callable[[Any], Any]
# Statements are logged where SQLAlchemy logs its own (``echo``), since they bypass its execution layer.
_ENGINE_LOG = logging.getLogger("sqlalchemy.engine.Engine")


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored; attach a timezone")
    return value.astimezone(UTC)


def _json_parse(value: str | None) -> Any:
    return None if value is None else json_value(value)


@dataclass(frozen=True)
class _Codec:
    """How one dialect's driver takes and gives timestamps and JSON, and how it marks a parameter."""

    placeholder: str
    ts_in: Convert
    ts_out: Convert
    json_in: Convert
    json_out: Convert | None


def _psycopg_json(value: Any) -> Any:
    return Json(value, dumps=json_text)


_CODECS = {
    "sqlite": _Codec("?", sqlite_timestamp_text, sqlite_timestamp, json_text, _json_parse),
    # psycopg parses json columns itself; timestamps come back aware, in the session's zone.
    "postgresql": _Codec("%s", _utc, _utc, _psycopg_json, None),
}


def _kind(table: Table, column: str) -> str:
    return _type_kind(table.c[column].type)


def _type_kind(type_: Any) -> str:
    if isinstance(type_, UTCDateTime):
        return "ts"
    if isinstance(type_, JSON):
        return "json"
    return "plain"


@cache
def _binders(dialect: str, table: Table, columns: tuple[str, ...]) -> tuple[Convert | None, ...]:
    codec = _CODECS[dialect]
    by_kind = {"ts": codec.ts_in, "json": codec.json_in, "plain": None}
    return tuple(by_kind[_kind(table, c)] for c in columns)


def _reader(dialect: str, kind: str) -> Convert | None:
    codec = _CODECS[dialect]
    return {"ts": codec.ts_out, "json": codec.json_out, "plain": None}[kind]


@cache
def _readers(dialect: str, table: Table, columns: tuple[str, ...]) -> tuple[Convert | None, ...]:
    return tuple(_reader(dialect, _kind(table, c)) for c in columns)


_SQLITE = SQLiteDialect()
_PREPARERS = {
    "sqlite": _SQLITE.identifier_preparer,
    "postgresql": PGDialect_psycopg().identifier_preparer,  # type: ignore[no-untyped-call]  # untyped __init__
}


def _names(dialect: str, names: Iterable[str]) -> str:
    """Column names as the dialect writes them (quoted only where needed, as in SQLAlchemy's own SQL)."""
    return ", ".join(_PREPARERS[dialect].quote(name) for name in names)


def _bound(binders: Sequence[Convert | None], values: Sequence[Any]) -> list[Any]:
    return [value if bind is None else bind(value) for bind, value in zip(binders, values, strict=True)]


RowParams = Callable[[Mapping[str, Any]], list[Any]]


@lru_cache(maxsize=1024)
def _row_params(dialect: str, table: Table, columns: tuple[str, ...]) -> RowParams:
    """A function from a row (column -> value) to its ``columns``' parameters: the values taken in one
    ``itemgetter`` call and only the timestamp and JSON ones converted (most columns need nothing, and
    a clock row has thirty)."""
    take = itemgetter(*columns)
    converts = [(i, bind) for i, bind in enumerate(_binders(dialect, table, columns)) if bind is not None]
    if len(columns) == 1:
        bind = converts[0][1] if converts else None
        return lambda row: [take(row) if bind is None else bind(take(row))]

    def params(row: Mapping[str, Any]) -> list[Any]:
        values = list(take(row))
        for i, convert in converts:
            values[i] = convert(values[i])
        return values

    return params


def _decoded(readers: Sequence[Convert | None], row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(value if read is None else read(value) for read, value in zip(readers, row, strict=True))


# session.info key: (the transaction, its driver connection, dialect name), set when it begins.
_HELD = "bulk.connection"


@event.listens_for(Session, "after_begin")
def _hold_connection(session: Session, transaction: Any, connection: Any) -> None:
    # ``Session.connection()`` walks the session's transaction state on every call (~10 µs, and a batch
    # of the ingestion writer runs a dozen statements here): each transaction's connection is kept
    # when it begins. A savepoint begins (SAVEPOINT is sent) on its first statement, so until then
    # the session is asked as before.
    session.info[_HELD] = (transaction, connection.connection, connection.dialect.name)


@event.listens_for(Session, "after_transaction_end")
def _release_connection(session: Session, transaction: Any) -> None:
    held = session.info.get(_HELD)
    if held is None or held[0] is not transaction:
        return
    if transaction.parent is None:
        del session.info[_HELD]
    else:  # a savepoint ended: its enclosing transaction goes on, on the same connection
        session.info[_HELD] = (transaction.parent, *held[1:])


def _held(session: Session) -> tuple[Any, str] | None:
    """The connection and dialect of the session's current transaction, if kept."""
    held = session.info.get(_HELD)
    if held is None or held[0] is not (session.get_nested_transaction() or session.get_transaction()):
        return None
    return held[1], held[2]


def _dialect(session: Session) -> str:
    held = _held(session)
    return str(held[1]) if held is not None else session.get_bind().dialect.name


def _cursor(session: Session) -> Any:
    held = _held(session)
    return (held[0] if held is not None else session.connection().connection).cursor()


def _echo(sql: str, params: Sequence[Any], *, many: bool = False) -> None:
    if _ENGINE_LOG.isEnabledFor(logging.INFO):
        _ENGINE_LOG.info("%s%s", "[bulk executemany] " if many else "[bulk] ", sql)
        _ENGINE_LOG.debug("%r", params)


def _run(session: Session, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    _echo(sql, params)
    cursor = _cursor(session)
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []
    finally:
        cursor.close()


@lru_cache(maxsize=1024)
def _insert_sql(
    dialect: str, table: Table, columns: tuple[str, ...], rows: int, returning: tuple[str, ...], ignore: bool
) -> str:
    mark = _CODECS[dialect].placeholder
    one = "(" + ", ".join([mark] * len(columns)) + ")"
    sql = f"INSERT INTO {_names(dialect, [table.name])} ({_names(dialect, columns)}) VALUES {', '.join([one] * rows)}"
    if ignore:
        sql += " ON CONFLICT DO NOTHING"
    if returning:
        sql += " RETURNING " + _names(dialect, returning)
    return sql


# A statement's parameters stay under both drivers' limits (SQLite: 32,766; PostgreSQL: 65,535).
MAX_PARAMETERS = 30_000


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


def insert(
    session: Session,
    model: type[Base],
    rows: Sequence[Mapping[str, Any]],
    returning: tuple[str, ...] = (),
    *,
    ignore_conflicts: bool = False,
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (dicts with the same keys) into ``model``'s table: multi-row statements on
    PostgreSQL, row by row on SQLite (``_insert_row_by_row``). Returns the ``returning`` columns of
    the rows inserted (rows skipped as conflicts, with ``ignore_conflicts``, return nothing), in no
    defined order.
    """
    if not rows:
        return []
    table = _table(model)
    dialect = _dialect(session)
    columns = tuple(rows[0])
    params = _row_params(dialect, table, columns)
    if dialect == "sqlite":
        return _insert_row_by_row(session, table, columns, params, rows, returning, ignore_conflicts)
    readers = _readers(dialect, table, returning) if returning else ()
    per_statement = max(1, MAX_PARAMETERS // len(columns))
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        sql = _insert_sql(dialect, table, columns, len(chunk), returning, ignore_conflicts)
        values = [p for row in chunk for p in params(row)]
        found += [_decoded(readers, r) for r in _run(session, sql, values)]
    return found


def _insert_row_by_row(
    session: Session,
    table: Table,
    columns: tuple[str, ...],
    row_params: RowParams,
    rows: Sequence[Mapping[str, Any]],
    returning: tuple[str, ...],
    ignore: bool,
) -> list[tuple[Any, ...]]:
    """SQLite: the single-row statement once per row (``executemany`` when nothing comes back).

    SQLite runs a multi-row ``VALUES`` list, and ``RETURNING``, several times slower than the same
    rows one by one on its cached prepared statement (16 clock rows: 0.34 ms as one statement,
    0.13 ms by ``executemany``; 8 events with ``RETURNING``: 0.15 ms, 0.04 ms row by row). What
    ``RETURNING`` would give comes from the row itself, or for the integer primary key (SQLite's
    rowid) from ``lastrowid``; a row skipped as a conflict has a ``rowcount`` of 0.
    """
    rowid = _rowid_column(table)
    unknown = [name for name in returning if name not in columns and name != rowid]
    if unknown:
        raise ValueError(f"cannot return {unknown}: neither given nor {table.name}'s rowid")
    sql = _insert_sql("sqlite", table, columns, 1, (), ignore)
    params = [row_params(row) for row in rows]
    _echo(sql, params, many=True)
    cursor = _cursor(session)
    try:
        if not returning:
            cursor.executemany(sql, params)
            return []
        found: list[tuple[Any, ...]] = []
        for row, values in zip(rows, params, strict=True):
            cursor.execute(sql, values)
            if cursor.rowcount == 1:
                found.append(tuple(cursor.lastrowid if name == rowid else row[name] for name in returning))
        return found
    finally:
        cursor.close()


@cache
def _rowid_column(table: Table) -> str | None:
    """The column that is SQLite's rowid: a single-column INTEGER primary key."""
    keys = list(table.primary_key.columns)
    if len(keys) == 1 and keys[0].type.compile(dialect=_SQLITE) == "INTEGER":
        return keys[0].name
    return None


def insert_returning_ids(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert ``rows`` into ``model``'s table; their new ids, in the rows' order.

    The ids are sorted rather than taken in the order they come back: on PostgreSQL RETURNING's order
    is not defined, but each statement's rows take their ids row after row in VALUES order (one
    ``nextval`` per row) and the statements run in order; on SQLite the rows go in one by one, each
    taking the largest id plus one (this transaction is the only writer). Either way the ids ascend
    with the rows.
    """
    return sorted(id_ for (id_,) in insert(session, model, rows, ("id",)))


@cache
def _update_sql(dialect: str, table: Table, columns: tuple[str, ...]) -> str:
    mark = _CODECS[dialect].placeholder
    sets = ", ".join(f"{_names(dialect, [c])}={mark}" for c in columns)
    return f"UPDATE {_names(dialect, [table.name])} SET {sets} WHERE id = {mark}"


def update_by_id(session: Session, model: type[Base], changes: Iterable[tuple[int, Mapping[str, Any]]]) -> None:
    """Set each row's changed columns (id -> column -> value): one executemany per set of columns, so
    each row's SET clause names only the columns that changed for it."""
    groups: dict[tuple[str, ...], list[tuple[int, Mapping[str, Any]]]] = {}
    for id_, values in changes:
        if values:
            groups.setdefault(tuple(sorted(values)), []).append((id_, values))
    if not groups:
        return
    table = _table(model)
    dialect = _dialect(session)
    cursor = _cursor(session)
    try:
        for columns, rows in groups.items():
            row_params = _row_params(dialect, table, columns)
            params = [(*row_params(values), id_) for id_, values in rows]
            sql = _update_sql(dialect, table, columns)
            _echo(sql, params, many=True)
            cursor.executemany(sql, params)
    finally:
        cursor.close()


@lru_cache(maxsize=1024)
def _select_sql(
    dialect: str,
    table: Table,
    columns: tuple[str, ...],
    key: tuple[str, ...],
    count: int,
    order: tuple[str, ...],
    lock: bool,
) -> str:
    mark = _CODECS[dialect].placeholder
    *fixed, listed = key
    where = [f"{_names(dialect, [c])} = {mark}" for c in fixed]
    where.append(f"{_names(dialect, [listed])} IN ({', '.join([mark] * count)})")
    sql = f"SELECT {_names(dialect, columns)} FROM {_names(dialect, [table.name])} WHERE {' AND '.join(where)}"
    if order:
        sql += " ORDER BY " + _names(dialect, order)
    # SQLite has no row locks (and one writer at a time anyway).
    return sql + " FOR UPDATE" if lock and dialect != "sqlite" else sql


# Keys per statement in ``select_in``, under both drivers' parameter limits.
MAX_KEYS = 10_000


def select_in(
    session: Session,
    model: type[Base],
    columns: tuple[str, ...],
    key: tuple[str, ...],
    fixed: Sequence[Any],
    values: Sequence[Any],
    *,
    order_by: tuple[str, ...] = (),
    lock: bool = False,
) -> list[tuple[Any, ...]]:
    """``columns`` of the rows of ``model``'s table whose last ``key`` column is one of ``values`` and
    whose other ``key`` columns equal ``fixed``, in ``order_by`` order (within each run of
    ``MAX_KEYS`` values); ``lock`` takes their row locks on PostgreSQL (``FOR UPDATE``)."""
    table = _table(model)
    dialect = _dialect(session)
    readers = _readers(dialect, table, columns)
    binders = _binders(dialect, table, key)
    head, bind = _bound(binders[:-1], fixed), binders[-1]
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(values), MAX_KEYS):
        chunk = values[start : start + MAX_KEYS]
        sql = _select_sql(dialect, table, columns, key, len(chunk), order_by, lock)
        params = head + [v if bind is None else bind(v) for v in chunk]
        found += [_decoded(readers, row) for row in _run(session, sql, params)]
    return found


# (dialect, statement) -> its SQL and the readers of its columns.
_COMPILED: dict[tuple[str, Select[Any]], tuple[str, tuple[Convert | None, ...]]] = {}


def select_all(session: Session, statement: Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``statement``, a SELECT without parameters (its literals are written into the SQL),
    read like ``select_in`` reads: for the few fixed queries every transaction of the writer runs,
    where SQLAlchemy's execution layer costs more than the query."""
    dialect = _dialect(session)
    compiled = _COMPILED.get((dialect, statement))
    if compiled is None:
        sql = str(statement.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}))
        readers = tuple(_reader(dialect, _type_kind(column.type)) for column in statement.selected_columns)
        compiled = _COMPILED[(dialect, statement)] = (sql, readers)
    sql, readers = compiled
    return [_decoded(readers, row) for row in _run(session, sql, ())]
