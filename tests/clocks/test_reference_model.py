"""Property: on a 24x7 calendar the engine agrees with a minute-by-minute reference of pause, stop and reopen."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.tickets.events import NormalizedEvent
from tests.clocks.factories import created, only, policy, priority, run, status, t

SPEC = policy(
    targets=[{"priority": "P1", "resolution": {"target": "4h"}}, {"priority": "P2", "resolution": {"target": "8h"}}]
)
CATEGORIES = {"Open": "open", "Waiting": "waiting", "Resolved": "resolved", "Closed": "closed"}
HORIZON_MINUTES = 16 * 60


def _reference_elapsed(changes: list[tuple[int, str]]) -> int:
    """Minutes counted by stepping: running while started, not stopped by resolving, not waiting."""
    category, armed, elapsed = "open", True, 0
    by_minute: dict[int, list[str]] = {}
    for minute, name in changes:
        by_minute.setdefault(minute, []).append(name)
    for minute in range(HORIZON_MINUTES):
        for name in by_minute.get(minute, []):
            new = CATEGORIES[name]
            done_before, done_after = category in ("resolved", "closed"), new in ("resolved", "closed")
            if done_after and not done_before:
                armed = False
            elif done_before and not done_after:
                armed = True
            category = new
        if armed and category != "waiting":
            elapsed += 60
    return elapsed


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 63).map(lambda q: q * 15), st.sampled_from(sorted(CATEGORIES))), max_size=10),
    st.lists(st.tuples(st.integers(1, 63).map(lambda q: q * 15), st.sampled_from(["P1", "P2"])), max_size=3),
)
def test_elapsed_matches_a_stepping_reference(
    status_changes: list[tuple[int, str]], priority_changes: list[tuple[int, str]]
) -> None:
    # One change per minute keeps the reference's order within an instant unambiguous.
    status_changes = sorted(dict(status_changes).items())
    events: list[NormalizedEvent] = [created(priority="P2")]
    events += [
        status(at=t(minutes=m), id=f"s{i:02d}", to=name, category=CATEGORIES[name])
        for i, (m, name) in enumerate(status_changes)
    ]
    events += [priority(at=t(minutes=m), id=f"p{i:02d}", to=p) for i, (m, p) in enumerate(priority_changes)]

    clock = only(run(SPEC, events, now=t(minutes=HORIZON_MINUTES)), "resolution")

    expected = _reference_elapsed(status_changes)
    assert clock.elapsed_seconds == expected
    assert clock.breached == (expected > clock.limit_seconds)
    final_priority = sorted([(0, "", "P2"), *((m, f"p{i:02d}", p) for i, (m, p) in enumerate(priority_changes))])[-1][2]
    if clock.state in ("running", "paused"):  # a stopped clock keeps the target it stopped under
        assert clock.limit_seconds == (4 if final_priority == "P1" else 8) * 3600
