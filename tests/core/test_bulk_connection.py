"""``bulk`` statements run inside the session's current transaction, on both databases.

``bulk`` keeps each transaction's driver connection from the moment it begins (instead of asking the
session for it on every statement); these tests fail if a statement ever ran on the connection of a
transaction that had already ended, or outside a savepoint it was issued in.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from app.core.bulk import insert, select_all, select_in
from app.core.db import Database
from app.webhooks.models import OutboxEventRow

AT = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def _event(tag: str) -> dict[str, object]:
    return {"type": tag, "source": "s", "ticket_key": "K-1", "clock_id": None, "payload": {}, "created_at": AT}


def _stored(db: Database) -> list[str]:
    with db.transaction(write=False) as session:
        return sorted(session.scalars(select(OutboxEventRow.type)))


def test_a_rolled_back_transaction_after_a_committed_one_in_the_same_session_leaves_nothing(db: Database) -> None:
    session = db.session()
    try:
        insert(session, OutboxEventRow, [_event("first")])
        session.commit()
        # A new transaction of the same session: its statements must not reuse the ended one's connection.
        insert(session, OutboxEventRow, [_event("second")])
        assert [t for (t,) in select_in(session, OutboxEventRow, ("type",), ("type",), (), ["second"])] == ["second"]
        session.rollback()
    finally:
        session.close()
    assert _stored(db) == ["first"]


def test_a_rolled_back_savepoint_takes_its_rows_and_the_outer_transaction_goes_on(db: Database) -> None:
    with db.transaction() as session:
        insert(session, OutboxEventRow, [_event("outer")])
        savepoint = session.begin_nested()
        insert(session, OutboxEventRow, [_event("inner")])
        savepoint.rollback()
        insert(session, OutboxEventRow, [_event("after")])
    assert _stored(db) == ["after", "outer"]


def test_statements_after_a_session_was_closed_run_in_a_new_transaction(db: Database) -> None:
    session = db.session()
    insert(session, OutboxEventRow, [_event("dropped")])
    session.close()  # rolls back
    insert(session, OutboxEventRow, [_event("kept")])
    session.commit()
    session.close()
    assert _stored(db) == ["kept"]


def test_select_all_reads_like_sqlalchemy_with_its_literals_written_in(db: Database) -> None:
    later = datetime(2025, 1, 7, 18, 30, tzinfo=UTC)
    with db.transaction() as session:
        rows = [{**_event("a"), "payload": {"n": [1, 2]}}, {**_event("b"), "created_at": later}]
        insert(session, OutboxEventRow, rows)
    statement = select(
        func.count(OutboxEventRow.id),
        func.max(OutboxEventRow.created_at),
        func.coalesce(func.sum(OutboxEventRow.clock_id), 7),
    )
    payloads = select(OutboxEventRow.type, OutboxEventRow.payload).order_by(OutboxEventRow.type)
    with db.transaction(write=False) as session:
        assert select_all(session, statement) == [tuple(session.execute(statement).one())] == [(2, later, 7)]
        assert select_all(session, payloads) == [("a", {"n": [1, 2]}), ("b", {})]
