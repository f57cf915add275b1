"""Writing what a projection derived: tickets' snapshots and clock rows, through Core statements.

The projection touches a few rows per event, thousands of times a second under load; the ORM's
unit of work (attribute history, flush ordering, a statement per changed-column set) cost more
than deriving the clocks. Here a batch of projections is written with one statement per kind of
write: ``UPDATE`` executemanys of the columns that changed in tickets and clocks (one per set of
columns), an ``INSERT … RETURNING id`` for new clocks, a ``DELETE`` for the few that vanished.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.clocks.models import ClockRow
from app.core.db import insert_returning_ids
from app.tickets.models import TicketRow

_CLOCKS = ClockRow.metadata.tables[ClockRow.__tablename__]
_TICKETS = TicketRow.metadata.tables[TicketRow.__tablename__]
# Built once: building and cache-keying a statement costs more than running it for a few rows.
_READ_CLOCKS = select(_CLOCKS).where(_CLOCKS.c.ticket_id.in_(bindparam("ids", expanding=True)))
# Executed with one dict per row: its keys other than ``_id`` become the SET clause.
_UPDATE_CLOCKS = update(_CLOCKS).where(_CLOCKS.c.id == bindparam("_id"))
_DELETE_CLOCKS = delete(_CLOCKS).where(_CLOCKS.c.id.in_(bindparam("ids", expanding=True)))
_UPDATE_TICKETS = update(_TICKETS).where(_TICKETS.c.id == bindparam("_id"))


@dataclass(eq=False)
class ClockRecord:
    """One clock row as the projection sees it: its column values, and its id once stored.

    ``written`` holds the values the database has (None: not stored yet); ``flush_clocks`` writes
    the columns whose ``values`` differ from it.
    """

    values: dict[str, Any]
    id: int | None = None
    written: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def policy_version(self) -> int:
        return int(self.values["policy_version"])

    @property
    def state(self) -> str:
        return str(self.values["state"])

    @property
    def next_action_at(self) -> Any:
        return self.values["next_action_at"]

    @next_action_at.setter
    def next_action_at(self, value: Any) -> None:
        self.values["next_action_at"] = value


def stored_clocks(session: Session, ticket_ids: Sequence[int]) -> dict[int, list[ClockRecord]]:
    """The tickets' stored clock rows, by ticket id."""
    found: dict[int, list[ClockRecord]] = {}
    if not ticket_ids:
        return found
    for row in session.connection().execute(_READ_CLOCKS, {"ids": list(ticket_ids)}):
        values = dict(row._mapping)
        id_ = values.pop("id")
        found.setdefault(values["ticket_id"], []).append(ClockRecord(values, id_, dict(values)))
    return found


def set_snapshot(ticket: TicketRow, values: Mapping[str, Any]) -> dict[str, Any]:
    """Give the loaded ticket its new snapshot without making it dirty; the values that changed, for
    ``write_tickets``."""
    changed = {name: value for name, value in values.items() if getattr(ticket, name) != value}
    for name, value in changed.items():
        set_committed_value(ticket, name, value)
    return changed


def write_tickets(session: Session, changes: Mapping[int, Mapping[str, Any]]) -> None:
    """Store the tickets' changed snapshot columns (ticket id -> column -> value)."""
    _update_changed(session, _UPDATE_TICKETS, changes.items())


def insert_clocks(session: Session, records: Sequence[ClockRecord]) -> None:
    """Store new clock rows and give each record its id, one statement."""
    ids = insert_returning_ids(session, ClockRow, [r.values for r in records])
    for record, id_ in zip(records, ids, strict=True):
        record.id = id_
        record.written = dict(record.values)


def flush_clocks(session: Session, records: Iterable[ClockRecord], deleted: Sequence[int] = ()) -> None:
    """Write the columns that changed since the records were read or inserted, and delete the rows in
    ``deleted``."""
    changes = []
    for record in records:
        if record.id is None or record.written is None or record.values == record.written:
            continue
        written = record.written
        changes.append((record.id, {k: v for k, v in record.values.items() if written.get(k, _ABSENT) != v}))
        record.written = dict(record.values)
    _update_changed(session, _UPDATE_CLOCKS, changes)
    if deleted:
        session.connection().execute(_DELETE_CLOCKS, {"ids": list(deleted)})


_ABSENT = object()


def _update_changed(session: Session, statement: Any, changes: Iterable[tuple[int, Mapping[str, Any]]]) -> None:
    """Run ``statement`` (``UPDATE … WHERE id = :_id``) once per set of changed columns, as an executemany.

    Setting only what changed keeps SQLite from rewriting the entries of indexes whose columns did not
    change (it maintains every index that has a column in the SET clause, whatever the values).
    """
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for id_, values in changes:
        if values:
            groups.setdefault(tuple(sorted(values)), []).append({"_id": id_, **values})
    if not groups:
        return
    connection = session.connection()
    for rows in groups.values():
        connection.execute(statement, rows)
