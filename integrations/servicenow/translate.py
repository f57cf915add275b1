"""Pure translation of ServiceNow Table API rows into normalized events.

Everything here works on plain dicts in *value* form (``sysparm_display_value=false``,
``sysparm_exclude_reference_link=true``): every value is a string, references are
sys_ids, dot-walked names such as ``caller_id.user_name`` are keys of the row, and
timestamps are UTC ``YYYY-MM-DD HH:MM:SS``. No I/O, no clock, no local time.

Event ids (the dedupe key with ``(source, key)``):

* ``created-<sys_id>``: the ticket was created (snapshot of its initial state);
* ``chg-<sys_id>-<sys_mod_count>-<what>``: what changed in modification number
  ``sys_mod_count`` (``what`` is ``status``, ``priority``, ``assignee``, ``tier`` or a
  field name). The push path reads the number from the pushed record, the sync path
  from ``sys_audit.record_checkpoint``, so the same change gets the same id either way;
* ``audit-<audit sys_id>``: an audit row without a usable checkpoint (fallback);
* ``journal-<sys_journal_field sys_id>``: a comment or work note (both paths);
* ``deleted-<sys_id>``: the record was deleted (push only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.tickets.events import AuthorRole, EventType, NormalizedEvent, TicketSnapshot
from integrations.servicenow.config import ServiceNowConnection

SN_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
Row = Mapping[str, Any]


def parse_sn_time(value: str | None) -> datetime | None:
    """Parse a value-form timestamp as UTC (``""`` -> None); never consults the local zone."""
    if not value:
        return None
    return datetime.strptime(value, SN_TIME_FORMAT).replace(tzinfo=UTC)


def format_sn_time(moment: datetime) -> str:
    """Format an aware instant as a value-form UTC timestamp (naive input is taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(SN_TIME_FORMAT)


def _text(row: Row, name: str) -> str:
    value = row.get(name)
    if isinstance(value, Mapping):  # tolerate the default {"link", "value"} reference shape
        value = value.get("value")
    return "" if value is None else str(value)


def _required_time(row: Row, *names: str) -> datetime:
    for name in names:
        moment = parse_sn_time(_text(row, name))
        if moment is not None:
            return moment
    raise ValueError(f"row has none of the timestamps {', '.join(names)}")


def ticket_url(conn: ServiceNowConnection, sys_id: str) -> str:
    """The classic UI link to the record."""
    return f"{conn.base_url.rstrip('/')}/nav_to.do?uri={conn.table}.do?sys_id={sys_id}"


def snapshot(conn: ServiceNowConnection, record: Row, overrides: Mapping[str, str] | None = None) -> TicketSnapshot:
    """The ticket snapshot of ``record`` (with ``overrides`` for reconstructed field values)."""
    values = {**{k: _text(record, k) for k in record}, **(overrides or {})}
    mapping = conn.mapping
    state = values.get("state", "")
    tier_raw = values.get(mapping.tier.field, "") if mapping.tier.field else ""
    extra = {name: values.get(name) or None for name in ["assignment_group", "impact", "urgency", *mapping.fields]}
    return TicketSnapshot(
        title=values.get("short_description") or None,
        status=mapping.state_label(conn.table, state) if state else None,
        status_category=mapping.status_category(conn.table, state, values.get(mapping.hold_reason_field, "")),
        priority=mapping.map_priority(values.get("priority", "")),
        tier=mapping.tier.resolve(tier_raw),
        assignee=values.get("assigned_to") or None,
        type=conn.table,
        url=ticket_url(conn, values["sys_id"]),
        fields=extra,
    )


def created_event(conn: ServiceNowConnection, record: Row, initial: Mapping[str, str] | None = None) -> NormalizedEvent:
    """``created`` at ``opened_at`` (falling back to ``sys_created_on``) with the initial snapshot."""
    return NormalizedEvent(
        source=conn.name,
        key=_text(record, "number"),
        id=f"created-{_text(record, 'sys_id')}",
        type=EventType.created,
        at=_required_time(record, "opened_at", "sys_created_on"),
        ticket=snapshot(conn, record, initial),
    )


@dataclass
class Modification:
    """One saved update of a record: which tracked fields changed, and their values around it."""

    at: datetime
    changed: set[str]
    before: dict[str, str]
    after: dict[str, str]
    event_id: Callable[[str], str]
    latest: set[str] = field(default_factory=set)  # fields for which no later change is known


def modification_events(conn: ServiceNowConnection, record: Row, mod: Modification) -> list[NormalizedEvent]:
    """Events for one modification; shared by the push and the audit (sync) paths."""
    mapping = conn.mapping
    key = _text(record, "number")

    def event(what: str, kind: EventType, **extra: Any) -> NormalizedEvent:
        return NormalizedEvent(source=conn.name, key=key, id=mod.event_id(what), type=kind, at=mod.at, **extra)

    events: list[NormalizedEvent] = []
    hold = mapping.hold_reason_field
    if mod.changed & {"state", hold}:
        old_state, new_state = mod.before.get("state", ""), mod.after.get("state", "")
        old_cat = mapping.status_category(conn.table, old_state, mod.before.get(hold, ""))
        new_cat = mapping.status_category(conn.table, new_state, mod.after.get(hold, ""))
        if (old_state, old_cat) != (new_state, new_cat):
            events.append(
                event(
                    "status",
                    EventType.status_changed,
                    to=mapping.state_label(conn.table, new_state),
                    to_category=new_cat,
                    **{"from": mapping.state_label(conn.table, old_state) if old_state else None},
                )
            )
    for name in sorted(mod.changed - {"state", hold}):
        old, new = mod.before.get(name, ""), mod.after.get(name, "")
        if name == "priority":
            if mapping.map_priority(new) and mapping.map_priority(old) != mapping.map_priority(new):
                events.append(
                    event(
                        "priority",
                        EventType.priority_changed,
                        to=mapping.map_priority(new),
                        **{"from": mapping.map_priority(old)},
                    )
                )
        elif name == "assigned_to":
            events.append(event("assignee", EventType.assignee_changed, to=new or None, **{"from": old or None}))
        elif name in conn.tracked_fields():
            events.append(event(name, EventType.field_changed, field=name, value=new or None, **{"from": old or None}))
        if name == conn.tier_base_field() and name in mod.latest and mapping.tier.field:
            tier = mapping.tier.resolve(_text(record, mapping.tier.field))
            events.append(event("tier", EventType.field_changed, field="tier", value=tier))
    return events


def journal_event(conn: ServiceNowConnection, record: Row, row: Row) -> NormalizedEvent:
    """A ``comment`` from a ``sys_journal_field`` row (``comments`` public, ``work_notes`` internal)."""
    author = _text(row, "sys_created_by")
    customer = _text(record, f"{conn.mapping.customer_field}.user_name")
    if author in conn.mapping.system_users:
        role = AuthorRole.system
    elif customer and author == customer:
        role = AuthorRole.customer
    else:
        role = AuthorRole.agent
    return NormalizedEvent(
        source=conn.name,
        key=_text(record, "number"),
        id=f"journal-{_text(row, 'sys_id')}",
        type=EventType.comment,
        at=_required_time(row, "sys_created_on"),
        author=author or None,
        author_role=role,
        public=_text(row, "element") == "comments",
    )


def _checkpoint(row: Row) -> int | None:
    raw = _text(row, "record_checkpoint")
    return int(raw) if raw.isdigit() else None


def _group_audit(rows: Iterable[Row]) -> list[list[Row]]:
    """Audit rows grouped per modification (same checkpoint), oldest first."""
    groups: dict[Any, list[Row]] = {}
    for row in rows:
        number = _checkpoint(row)
        groups.setdefault(("n", number) if number is not None else ("row", _text(row, "sys_id")), []).append(row)

    def order(group: list[Row]) -> tuple[str, int]:
        return (min(_text(r, "sys_created_on") for r in group), _checkpoint(group[0]) or 0)

    return sorted(groups.values(), key=order)


def _id_maker(prefix: str, *, per_field: bool) -> Callable[[str], str]:
    """Ids ``<prefix>-<what>``; an un-checkpointed audit row keeps its own id for its one change."""

    def make(what: str) -> str:
        return f"{prefix}-{what}" if per_field or what == "tier" else prefix

    return make


def push_id_maker(sys_id: str, mod_count: int) -> Callable[[str], str]:
    """Ids for a pushed modification: the same as the audit path's for the same change."""
    return _id_maker(f"chg-{sys_id}-{mod_count}", per_field=True)


def history_events(conn: ServiceNowConnection, record: Row, audit_rows: Iterable[Row]) -> list[NormalizedEvent]:
    """``created`` plus one batch of change events per audited modification of ``record``.

    The initial state is rebuilt by rolling the audit history back from the record's
    current values, so ``created`` carries the state the ticket was created with.
    """
    tracked = set(conn.tracked_fields())
    sys_id = _text(record, "sys_id")
    groups = _group_audit(r for r in audit_rows if _text(r, "fieldname") in tracked)
    initial = {name: _text(record, name) for name in tracked}
    seen: set[str] = set()
    for group in groups:
        for row in group:
            name = _text(row, "fieldname")
            if _checkpoint(row) == 0:  # written with the insert itself: the value it was created with
                initial[name], seen = _text(row, "newvalue"), seen | {name}
            elif name not in seen:
                initial[name], seen = _text(row, "oldvalue"), seen | {name}
    last_group = {_text(row, "fieldname"): index for index, group in enumerate(groups) for row in group}

    events = [created_event(conn, record, initial)]
    state = dict(initial)
    for index, group in enumerate(groups):
        number = _checkpoint(group[0])
        if number == 0:
            continue
        before = dict(state)
        for row in group:
            state[_text(row, "fieldname")] = _text(row, "newvalue")
        prefix = f"chg-{sys_id}-{number}" if number is not None else f"audit-{_text(group[0], 'sys_id')}"
        event_id = _id_maker(prefix, per_field=number is not None)
        changed = {_text(row, "fieldname") for row in group}
        events += modification_events(
            conn,
            record,
            Modification(
                at=min(_required_time(row, "sys_created_on") for row in group),
                changed=changed,
                before=before,
                after=dict(state),
                event_id=event_id,
                latest={name for name in changed if last_group[name] == index},
            ),
        )
    return events
