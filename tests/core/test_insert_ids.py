"""``insert_returning_ids``: one multi-row insert, and each row's id in the rows' order, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app.core.bulk import insert_returning_ids
from app.core.db import Database
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
