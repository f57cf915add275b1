"""Property: resuming a stored fold event by event gives byte-identical clocks to replaying the whole log.

The reference is ``evaluate`` over every event known at the end. The incremental side behaves as the
projection does: each delivered event either follows the stored fold (resume it from its JSON form,
feed the one event, store the clocks it reports, prune) or does not (replay the whole log known so
far and replace every clock); duplicates change nothing.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings

from app.clocks import replay_state
from app.clocks.evaluate import ClockFold
from app.clocks.replay import ordered_events
from app.clocks.resolver import CalendarResolver
from app.tickets.events import NormalizedEvent
from tests.clocks.factories import CALENDARS, comment, created, policy, run, t, zoned
from tests.clocks.test_order_independence import OUTAGE, SPEC, deliveries

NOW = t(hours=14)
PAUSING = policy(
    calendar="office",
    targets=[
        {"priority": "P1", "first_response": {"target": "30m"}, "resolution": {"target": "4h"}},
        {"first_response": {"target": "2h"}, "resolution": {"target": "2d"}, "next_response": {"target": "1h"}},
    ],
    metrics={
        "resolution": {"on_reopen": "resume", "pause_when": {"status_category": ["waiting"]}},
        "first_response": {"reset": ["customer_comment"], "on_priority_change": "restart"},
    },
)


def _incremental(spec: Any, delivered: list[NormalizedEvent]) -> dict[tuple[str, int], dict[str, Any]]:
    resolve = CalendarResolver(CALENDARS, zoned)
    stored: dict[tuple[str, int], dict[str, Any]] = {}
    known: dict[str, NormalizedEvent] = {}
    saved: str | None = None
    for event in delivered:
        if event.id in known:
            continue
        known[event.id] = event
        fold = None if saved is None else replay_state.load(spec, "api", [OUTAGE], json.loads(saved))
        if fold is not None and fold.follows(event):
            fold.feed([event])
        else:
            fold = ClockFold(spec, "api", [OUTAGE])
            fold.feed(ordered_events(known.values()))
            stored.clear()
        for state in fold.states(NOW, resolve):
            stored[(state.metric, state.cycle)] = state.as_dict()
        fold.prune()
        saved = json.dumps(replay_state.dump(fold))
    return stored


def _full(spec: Any, events: list[NormalizedEvent]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(c.metric, c.cycle): c.as_dict() for c in run(spec, events, now=NOW, exclusions=[OUTAGE])}


@settings(max_examples=200, deadline=None)
@given(deliveries())
def test_incremental_fold_equals_full_replay_in_any_delivery_order(
    pair: tuple[list[NormalizedEvent], list[NormalizedEvent]],
) -> None:
    in_order, delivered = pair

    assert _incremental(SPEC, delivered) == _full(SPEC, in_order)
    assert _incremental(SPEC, in_order) == _full(SPEC, in_order)


@settings(max_examples=200, deadline=None)
@given(deliveries())
def test_incremental_fold_equals_full_replay_with_pauses_and_resumed_reopens(
    pair: tuple[list[NormalizedEvent], list[NormalizedEvent]],
) -> None:
    in_order, delivered = pair

    assert _incremental(PAUSING, delivered) == _full(PAUSING, in_order)


def test_a_pruned_fold_keeps_numbering_cycles_after_the_ones_it_forgot() -> None:
    events = [created(priority="P2")]
    for i in range(6):
        events.append(comment(at=t(minutes=10 + 20 * i), id=f"c{i}", role="customer", public=None))
        events.append(comment(at=t(minutes=20 + 20 * i), id=f"a{i}", role="agent", public=True))

    stored = _incremental(SPEC, events)

    assert sorted(cycle for metric, cycle in stored if metric == "next_response") == [1, 2, 3, 4, 5, 6]
    assert stored == _full(SPEC, events)
