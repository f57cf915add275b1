"""Replaying a ticket's events: order independence, the evolving snapshot, the triggers each event fires."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError

from app.policies.conditions import trigger_key
from app.tickets.events import SNAPSHOT_FIELDS, AuthorRole, EventType, NormalizedEvent, StatusCategory, TicketSnapshot

_DONE = frozenset({StatusCategory.resolved, StatusCategory.closed})


def ordered_events(events: Iterable[NormalizedEvent]) -> list[NormalizedEvent]:
    """Events without duplicate ids, sorted by (``at``, ``created`` first, id): the same list for any delivery order."""
    chosen: dict[str, NormalizedEvent] = {}
    for event in events:
        known = chosen.get(event.id)
        # Redeliveries normally repeat the event; if they differ, keep a choice that does not depend on arrival order.
        if known is None or _tiebreak(event) < _tiebreak(known):
            chosen[event.id] = event
    return sorted(chosen.values(), key=event_position)


# (at, not a ``created`` event, event id): where an event stands in a ticket's replay order.
Position = tuple[dt.datetime, bool, str]


def event_position(event: NormalizedEvent) -> Position:
    """Where ``event`` stands in a ticket's replay order (the sort key of ``ordered_events``)."""
    return (event.at, event.type is not EventType.created, event.id)


def _tiebreak(event: NormalizedEvent) -> tuple[Any, str]:
    return event.at, json.dumps(event.model_dump(mode="json"), sort_keys=True, default=str)


def replay_snapshot(events: Iterable[NormalizedEvent]) -> TicketSnapshot:
    """The ticket as its events leave it."""
    snapshot = TicketSnapshot()
    for event in ordered_events(events):
        snapshot = apply_event(snapshot, event)
    return snapshot


def apply_event(snapshot: TicketSnapshot, event: NormalizedEvent) -> TicketSnapshot:
    """The ticket after ``event``: its snapshot's explicitly set fields, then the change the event states."""
    data = snapshot.model_dump()
    if event.ticket is not None:
        given = event.ticket.model_dump(exclude_unset=True)
        data.update({k: v for k, v in given.items() if k != "fields"})
        data["fields"] = {**data["fields"], **given.get("fields", {})}
    data.update(_stated_change(event, data["fields"]))
    try:
        return TicketSnapshot.model_validate(data)
    except ValidationError:
        # A value the snapshot cannot hold (e.g. an unmapped status category) must not stop the replay.
        return snapshot


def _stated_change(event: NormalizedEvent, fields: dict[str, Any]) -> dict[str, Any]:
    if event.type is EventType.status_changed:
        change: dict[str, Any] = {}
        if event.to is not None:
            change["status"] = event.to
        if event.to_category is not None:
            change["status_category"] = event.to_category
        return change
    if event.type is EventType.priority_changed:
        return {"priority": event.to}
    if event.type is EventType.assignee_changed:
        return {"assignee": event.to}
    if event.type is EventType.field_changed and event.field:
        if event.field in SNAPSHOT_FIELDS:
            return {event.field: event.value if event.value is not None else event.to}
        return {"fields": {**fields, event.field: event.value if event.value is not None else event.to}}
    return {}


def fired_triggers(before: TicketSnapshot | None, after: TicketSnapshot, event: NormalizedEvent) -> frozenset[str]:
    """The trigger keys (vocabulary in ``app.policies.conditions``) that ``event`` fires on its way before -> after."""
    fired: set[str] = set()
    if event.type is EventType.created:
        fired.add("created")
    if event.type is EventType.comment:
        if event.author_role is AuthorRole.agent:
            fired.add("agent_comment")
            if event.public is True:
                fired.add("agent_public_comment")
        elif event.author_role is AuthorRole.customer:
            fired.add("customer_comment")
    old_status = before.status if before else None
    if after.status and (old_status or "").casefold() != after.status.casefold():
        fired.add(trigger_key(f"status:{after.status}"))
    old_category = before.status_category if before else None
    new_category = after.status_category
    if new_category is not None and new_category != old_category:
        fired.add(f"status_category:{new_category.value}")
        if new_category in _DONE and old_category not in _DONE:
            fired.add("resolved")
        if new_category is StatusCategory.closed:
            fired.add("closed")
        if new_category not in _DONE and old_category in _DONE:
            fired.add("reopened")
    if after.assignee and after.assignee != (before.assignee if before else None):
        fired.add("assigned")
    return frozenset(fired)


def fires(triggers: Sequence[str], fired: frozenset[str]) -> bool:
    """Whether any of a condition's ``triggers`` is among the ``fired`` keys."""
    return any(trigger_key(t) in fired for t in triggers)
