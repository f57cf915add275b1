"""``bulk.insert``: each row's id in the rows' order, and what conflicts leave out, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app.core.bulk import insert, insert_returning_ids
from app.core.db import Database
from app.tickets.models import TicketRow
from app.webhooks.models import OutboxEventRow

AT = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def _rows(tag: str, count: int) -> list[dict[str, object]]:
    return [
        {"type": f"{tag}.{n}", "source": "s", "ticket_key": f"K-{n}", "clock_id": n, "payload": {}, "created_at": AT}
        for n in range(count)
    ]


def test_each_id_belongs_to_the_row_at_its_position(db: Database) -> None:
    with db.transaction() as session:
        first = insert_returning_ids(session, OutboxEventRow, _rows("a", 3))
        ids = insert_returning_ids(session, OutboxEventRow, _rows("b", 250))
        assert insert_returning_ids(session, OutboxEventRow, []) == []
    assert len(set(ids)) == 250
    assert min(ids) > max(first)
    with db.transaction(write=False) as session:
        stored = {id_: type_ for id_, type_ in session.execute(select(OutboxEventRow.id, OutboxEventRow.type))}
    assert [stored[i] for i in ids] == [f"b.{n}" for n in range(250)]
    assert [stored[i] for i in first] == ["a.0", "a.1", "a.2"]


def _ticket(key: str) -> dict[str, object]:
    return {"source": "s", "key": key, "fields": {}, "last_event_at": AT, "deleted": False, "updated_at": AT}


def test_rows_skipped_as_conflicts_return_nothing_and_the_others_their_own_ids(db: Database) -> None:
    with db.transaction() as session:
        (before,) = insert(session, TicketRow, [_ticket("K-1")], ("key", "id"), ignore_conflicts=True)
        # K-1 exists already; K-2 comes twice in the same call.
        rows = [_ticket("K-1"), _ticket("K-2"), _ticket("K-3"), _ticket("K-2")]
        returned = insert(session, TicketRow, rows, ("source", "key", "id"), ignore_conflicts=True)
    with db.transaction(write=False) as session:
        stored = {key: id_ for key, id_ in session.execute(select(TicketRow.key, TicketRow.id))}
    assert before == ("K-1", stored["K-1"])
    assert sorted(returned) == [("s", "K-2", stored["K-2"]), ("s", "K-3", stored["K-3"])]
