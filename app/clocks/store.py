"""Writing what a projection derived: tickets' snapshots and clock rows, a statement per kind of write.

The projection touches a few rows per event, thousands of times a second under load; the ORM's
unit of work (attribute history, flush ordering, a statement per changed-column set) cost more
than deriving the clocks. Here a batch of projections is written with one statement per kind of
write, run on the driver's cursor by ``app.core.bulk`` (ADR 10): ``UPDATE`` executemanys of the
columns that changed in tickets and clocks (one per set of columns), an ``INSERT`` that gives back the new ids
for new clocks, a ``DELETE`` for the few that vanished.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.clocks.models import ClockRow
from app.core import bulk
from app.tickets.models import Ticket, TicketRow

_CLOCKS = ClockRow.metadata.tables[ClockRow.__tablename__]
_COLUMNS = tuple(_CLOCKS.c.keys())
# Built once: building and cache-keying a statement costs more than running it for a few rows.
_DELETE_CLOCKS = delete(_CLOCKS).where(_CLOCKS.c.id.in_(bindparam("ids", expanding=True)))


# Marks a column missing from ``written`` (always counted as changed).
_ABSENT = object()


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
    for row in bulk.select_in(session, ClockRow, _COLUMNS, ("ticket_id",), (), ticket_ids):
        values = dict(zip(_COLUMNS, row, strict=True))
        id_ = values.pop("id")
        found.setdefault(values["ticket_id"], []).append(ClockRecord(values, id_, dict(values)))
    return found


def set_snapshot(ticket: Ticket, values: Mapping[str, Any]) -> dict[str, Any]:
    """Give the loaded ticket its new snapshot (an ORM one without making it dirty); the values that
    changed, for ``write_tickets``."""
    changed = {name: value for name, value in values.items() if getattr(ticket, name) != value}
    assign = set_committed_value if isinstance(ticket, TicketRow) else setattr
    for name, value in changed.items():
        assign(ticket, name, value)
    return changed


def write_tickets(session: Session, changes: Mapping[int, Mapping[str, Any]]) -> None:
    """Store the tickets' changed snapshot columns (ticket id -> column -> value)."""
    bulk.update_by_id(session, TicketRow, changes.items())


def insert_clocks(session: Session, records: Sequence[ClockRecord]) -> None:
    """Store new clock rows and give each record its id, one statement."""
    ids = bulk.insert_returning_ids(session, ClockRow, [r.values for r in records])
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
    bulk.update_by_id(session, ClockRow, changes)
    if deleted:
        session.connection().execute(_DELETE_CLOCKS, {"ids": list(deleted)})
