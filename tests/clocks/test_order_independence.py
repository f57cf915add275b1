"""Property: delivery order and duplicates never change a ticket's clocks."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.clocks import ExclusionWindow
from app.tickets.events import NormalizedEvent
from tests.clocks.factories import comment, created, field, policy, priority, run, status, t

SPEC = policy(
    calendar="office",
    targets=[
        {"tier": "gold", "priority": "P1", "first_response": {"target": "15m", "limit": "30m", "calendar": "24x7"}},
        {"priority": "P1", "first_response": {"target": "1h"}, "resolution": {"target": "4h", "warn": "80%"}},
        {
            "priority": ["P2", "P3"],
            "first_response": {"target": "2h"},
            "resolution": {"target": "16h", "warn": "1h"},
            "next_response": {"target": "4h"},
        },
    ],
    metrics={"resolution": {"on_reopen": "new_cycle"}, "next_response": {"on_priority_change": "restart"}},
)
OUTAGE = ExclusionWindow(t(hours=3), t(hours=5), "outage", match={"priority": "P2"})

CATEGORIES = {"Open": "open", "Waiting": "waiting", "Resolved": "resolved", "Closed": "closed"}


def _change(kind: str, choice: str, minute: int, index: int) -> NormalizedEvent:
    at, id = t(minutes=minute), f"e{index:02d}"
    if kind == "comment":
        role, public = {"public": ("agent", True), "internal": ("agent", False), "customer": ("customer", None)}[choice]
        return comment(at=at, id=id, role=role, public=public)
    if kind == "status":
        return status(at=at, id=id, to=choice, category=CATEGORIES[choice])
    if kind == "priority":
        return priority(at=at, id=id, to=choice)
    return field(at=at, id=id, name="tier", value=choice)


CHANGES = st.one_of(
    st.tuples(st.just("comment"), st.sampled_from(["public", "internal", "customer"])),
    st.tuples(st.just("status"), st.sampled_from(sorted(CATEGORIES))),
    st.tuples(st.just("priority"), st.sampled_from(["P1", "P2", "P3", "P4"])),
    st.tuples(st.just("tier"), st.sampled_from(["gold", "standard"])),
)
# Coarse minutes make ties (several events at one instant) common.
HISTORIES = st.lists(st.tuples(CHANGES, st.integers(0, 48).map(lambda q: q * 15)), max_size=12)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[NormalizedEvent], list[NormalizedEvent]]:
    first = created(
        priority=draw(st.sampled_from(["P1", "P2", "P3"])), tier=draw(st.sampled_from(["gold", "standard"]))
    )
    history = [first] + [_change(kind, choice, minute, i) for i, ((kind, choice), minute) in enumerate(draw(HISTORIES))]
    in_order = sorted(history, key=lambda e: (e.at, e.type != "created", e.id))
    shuffled = draw(st.permutations(history))
    repeats = draw(st.lists(st.sampled_from(history), max_size=6))
    mixed = draw(st.permutations([*shuffled, *repeats]))
    return in_order, list(mixed)


def _clocks(events: list[NormalizedEvent]) -> list[dict[str, Any]]:
    return [c.as_dict() for c in run(SPEC, events, now=t(hours=14), exclusions=[OUTAGE])]


@settings(max_examples=150, deadline=None)
@given(deliveries())
def test_any_delivery_order_with_duplicates_gives_the_same_clocks(
    pair: tuple[list[NormalizedEvent], list[NormalizedEvent]],
) -> None:
    in_order, delivered = pair

    assert _clocks(delivered) == _clocks(in_order)


@settings(max_examples=150, deadline=None)
@given(deliveries())
def test_every_clock_keeps_the_design_invariants(pair: tuple[list[NormalizedEvent], list[NormalizedEvent]]) -> None:
    for clock in run(SPEC, pair[1], now=t(hours=14), exclusions=[OUTAGE]):
        assert clock.elapsed_seconds >= 0
        assert clock.remaining_seconds == clock.limit_seconds - clock.elapsed_seconds
        assert clock.breached == (clock.elapsed_seconds > clock.limit_seconds)
        assert (clock.breached_at is not None) == clock.breached
        assert clock.met == (None if clock.state != "stopped" else not clock.breached)
        assert (clock.due_at is not None) == (clock.state == "running")
        spans = clock.timeline
        assert all(a.end is not None and a.end <= b.start for a, b in itertools.pairwise(spans))
        assert all(s.end is None or s.start < s.end for s in spans)
        if clock.state in ("stopped", "cancelled"):
            assert all(s.end is not None for s in spans)
            assert clock.stopped_at is not None
