"""Scenario tests: what changes to a ticket do to its clocks (priority, reopen, replies, exclusions, deletion)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.clocks import ClockStatus, ExclusionWindow
from tests.clocks.factories import comment, created, deleted, field, only, policy, priority, run, status, t

MATRIX = [
    {"priority": "P1", "first_response": {"target": "30m"}, "resolution": {"target": "4h"}},
    {"priority": ["P2", "P3"], "first_response": {"target": "1h"}, "resolution": {"target": "8h"}},
]


def test_priority_change_keeps_elapsed_and_swaps_the_target() -> None:
    events = [created(priority="P3"), priority(at=t(hours=2), id="e1", to="P1")]

    clock = only(run(policy(targets=MATRIX), events, now=t(hours=3)), "resolution")

    assert clock.cycle == 1
    assert (clock.priority, clock.target_seconds, clock.elapsed_seconds) == ("P1", 4 * 3600, 3 * 3600)
    assert clock.due_at == t(hours=4)


def test_priority_change_past_the_new_limit_breaches_at_once() -> None:
    events = [created(priority="P3"), priority(at=t(hours=5), id="e1", to="P1")]

    clock = only(run(policy(targets=MATRIX), events, now=t(hours=6)), "resolution")

    assert clock.breached
    assert clock.breached_at == t(hours=4) + timedelta(seconds=1)  # when elapsed time passed the limit now in force


def test_priority_change_restarts_when_the_metric_says_so() -> None:
    spec = policy(targets=MATRIX, metrics={"resolution": {"on_priority_change": "restart"}})
    events = [created(priority="P3"), priority(at=t(hours=2), id="e1", to="P1")]
    states = run(spec, events, now=t(hours=3))

    old, new = only(states, "resolution", 1), only(states, "resolution", 2)
    assert (old.state, old.cancelled_reason, old.elapsed_seconds) == (ClockStatus.cancelled, "priority_changed", 7200)
    assert (new.state, new.started_at, new.elapsed_seconds, new.target_seconds) == (
        ClockStatus.running,
        t(hours=2),
        3600,
        4 * 3600,
    )


def test_tier_change_swaps_the_target_row() -> None:
    targets = [{"tier": "gold", "resolution": {"target": "2h"}}, {"resolution": {"target": "8h"}}]
    events = [created(tier="standard"), field(at=t(hours=1), id="e1", name="tier", value="gold")]

    clock = only(run(policy(targets=targets), events, now=t(hours=1, minutes=30)), "resolution")

    assert (clock.tier, clock.target_seconds, clock.elapsed_seconds) == ("gold", 7200, 5400)


@pytest.mark.parametrize("category", ["resolved", "closed"])
def test_reopen_resumes_the_same_cycle(category: str) -> None:
    events = [
        created(),
        status(at=t(hours=2), id="e1", to="Done", category=category),
        status(at=t(hours=5), id="e2", to="Open", category="open"),
    ]
    stopped = only(run(policy(), events[:2], now=t(hours=3)), "resolution")
    assert (stopped.state, stopped.met, stopped.elapsed_seconds) == (ClockStatus.stopped, True, 7200)

    states = run(policy(), events, now=t(hours=6))
    clock = only(states, "resolution")
    assert clock.state is ClockStatus.running
    assert clock.elapsed_seconds == 3 * 3600  # the 3h while resolved do not count
    assert clock.due_at == t(hours=11)
    assert len([s for s in states if s.metric == "resolution"]) == 1


def test_reopen_starts_a_new_cycle_when_configured() -> None:
    spec = policy(metrics={"resolution": {"on_reopen": "new_cycle"}})
    events = [
        created(),
        status(at=t(hours=2), id="e1", to="Resolved", category="resolved"),
        status(at=t(hours=5), id="e2", to="Open", category="open"),
    ]
    states = run(spec, events, now=t(hours=6))

    first, second = only(states, "resolution", 1), only(states, "resolution", 2)
    assert (first.state, first.met, first.elapsed_seconds) == (ClockStatus.stopped, True, 7200)
    assert (second.state, second.started_at, second.elapsed_seconds) == (ClockStatus.running, t(hours=5), 3600)


def test_reopen_does_not_revive_a_first_response_that_was_answered() -> None:
    events = [
        created(),
        comment(at=t(minutes=10), id="e1"),
        status(at=t(hours=2), id="e2", to="Resolved", category="resolved"),
        status(at=t(hours=3), id="e3", to="Open", category="open"),
    ]
    clock = only(run(policy(), events, now=t(hours=4)), "first_response")

    assert (clock.state, clock.elapsed_seconds) == (ClockStatus.stopped, 600)


def test_next_response_runs_a_cycle_per_customer_message() -> None:
    spec = policy(targets=[{"next_response": {"target": "2h"}}])
    events = [
        created(),
        comment(at=t(hours=1), id="e1", role="customer"),
        comment(at=t(hours=1, minutes=30), id="e2"),
        comment(at=t(hours=3), id="e3", role="customer"),
        comment(at=t(hours=3, minutes=30), id="e4", role="customer"),  # still waiting: same cycle
        comment(at=t(hours=3, minutes=40), id="e5", public=False),  # internal note: not a reply
        comment(at=t(hours=4), id="e6"),
        comment(at=t(hours=6), id="e7", role="customer"),
    ]
    states = run(spec, events, now=t(hours=7))

    assert [(s.cycle, s.state, s.elapsed_seconds) for s in states] == [
        (1, ClockStatus.stopped, 1800),
        (2, ClockStatus.stopped, 3600),
        (3, ClockStatus.running, 3600),
    ]
    assert only(states, "next_response", 3).due_at == t(hours=8)


def test_exclusion_window_pauses_matching_clocks() -> None:
    outage = ExclusionWindow(t(hours=1), t(hours=2), "outage")

    during = only(run(policy(), [created()], now=t(hours=1, minutes=30), exclusions=[outage]), "resolution")
    assert (during.state, during.paused_reason, during.elapsed_seconds) == (
        ClockStatus.paused,
        "exclusion:outage",
        3600,
    )

    after = only(run(policy(), [created()], now=t(hours=3), exclusions=[outage]), "resolution")
    assert (after.state, after.elapsed_seconds) == (ClockStatus.running, 2 * 3600)
    assert after.due_at == t(hours=9)


def test_exclusion_window_leaves_other_tickets_and_metrics_alone() -> None:
    gold_only = ExclusionWindow(t(hours=1), t(hours=2), "outage", match={"tier": "gold"})
    resolution_only = ExclusionWindow(t(hours=1), t(hours=2), "outage", match={"metric": ["resolution"]})
    states = run(policy(), [created(tier="standard")], now=t(hours=3), exclusions=[gold_only, resolution_only])

    assert only(states, "first_response").elapsed_seconds == 3 * 3600
    assert only(states, "resolution").elapsed_seconds == 2 * 3600


def test_exclusion_window_needs_an_order() -> None:
    with pytest.raises(ValueError, match="end after"):
        ExclusionWindow(t(hours=2), t(hours=1), "backwards")


def test_ticket_no_longer_matching_a_target_row_is_cancelled() -> None:
    events = [created(priority="P2"), priority(at=t(hours=1), id="e1", to="P4")]

    clock = only(run(policy(targets=MATRIX), events, now=t(hours=2)), "resolution")

    assert (clock.state, clock.cancelled_reason, clock.stopped_at) == (ClockStatus.cancelled, "no_target", t(hours=1))
    assert clock.met is None
    assert clock.due_at is None


def test_matching_a_target_row_again_starts_a_fresh_cycle() -> None:
    events = [
        created(priority="P2"),
        priority(at=t(hours=1), id="e1", to="P4"),
        priority(at=t(hours=2), id="e2", to="P1"),
    ]
    states = run(policy(targets=MATRIX), events, now=t(hours=3))

    assert only(states, "resolution", 1).state is ClockStatus.cancelled
    fresh = only(states, "resolution", 2)
    assert (fresh.started_at, fresh.elapsed_seconds, fresh.priority) == (t(hours=2), 3600, "P1")


def test_ticket_leaving_the_policy_is_cancelled() -> None:
    spec = policy(match={"project": "SUP"})
    events = [created(project="SUP"), field(at=t(hours=1), id="e1", name="project", value="OPS")]

    clock = only(run(spec, events, now=t(hours=2)), "resolution")

    assert (clock.state, clock.cancelled_reason) == (ClockStatus.cancelled, "policy_unmatched")


def test_deleted_ticket_cancels_every_clock_and_ignores_later_events() -> None:
    events = [
        created(),
        deleted(at=t(minutes=30), id="e1"),
        comment(at=t(minutes=40), id="e2"),
        status(at=t(hours=1), id="e3", to="Open", category="open"),
    ]
    states = run(policy(), events, now=t(hours=2))

    assert [(s.metric, s.state, s.cancelled_reason, s.elapsed_seconds) for s in states] == [
        ("first_response", ClockStatus.cancelled, "deleted", 1800),
        ("resolution", ClockStatus.cancelled, "deleted", 1800),
    ]


def test_evaluate_applies_every_given_event_even_after_now() -> None:
    # Choosing which events were known at an instant is the caller's job; evaluate reads as of the last one.
    events = [created(), comment(at=t(minutes=20), id="e1")]

    clock = only(run(policy(), events, now=t(minutes=10)), "first_response")

    assert (clock.state, clock.elapsed_seconds) == (ClockStatus.stopped, 1200)
    assert only(run(policy(), events[:1], now=t(minutes=10)), "first_response").elapsed_seconds == 600


def test_no_clock_starts_without_its_start_trigger() -> None:
    states = run(policy(), [comment(at=t(minutes=5), id="e1", role="customer")], now=t(hours=1))

    assert states == []


def test_ticket_timezone_rereads_the_calendar_in_the_customers_zone() -> None:
    targets = [{"resolution": {"target": "8h", "calendar": "office", "timezone": "ticket"}}]
    evening_utc = datetime(2025, 1, 6, 17, 30, tzinfo=UTC)  # 12:30 in New York, closed in UTC
    now = t(hours=1, start=evening_utc)

    in_new_york = only(
        run(
            policy(targets=targets),
            [created(at=evening_utc, timezone="America/New_York")],
            now=now,
            timezone_aware=True,
        ),
        "resolution",
    )
    assert (in_new_york.elapsed_seconds, in_new_york.timezone) == (3600, "America/New_York")
    assert in_new_york.timeline[0].timezone == "America/New_York"

    no_zone = only(run(policy(targets=targets), [created(at=evening_utc)], now=now, timezone_aware=True), "resolution")
    assert (no_zone.elapsed_seconds, no_zone.timezone) == (0, None)

    # Zones are checked where events enter; one logged before that rule must still not stop the engine.
    logged = created(at=evening_utc)
    assert logged.ticket is not None
    legacy = logged.model_copy(update={"ticket": logged.ticket.model_copy(update={"timezone": "Mars/Olympus"})})
    bad_zone = only(run(policy(targets=targets), [legacy], now=now, timezone_aware=True), "resolution")
    assert bad_zone.elapsed_seconds == 0  # falls back to the calendar's own zone


def test_reset_trigger_cancels_and_starts_over() -> None:
    spec = policy(metrics={"resolution": {"reset": ["status:Escalated"]}})
    events = [created(), status(at=t(hours=1), id="e1", to="Escalated", category="open")]
    states = run(spec, events, now=t(hours=2))

    assert only(states, "resolution", 1).cancelled_reason == "reset"
    assert only(states, "resolution", 2).elapsed_seconds == 3600


def test_ticket_created_resolved_starts_and_stops_at_once_and_reopen_brings_it_back() -> None:
    events = [
        created(status="Resolved", category="resolved"),
        status(at=t(hours=1), id="e1", to="Open", category="open"),
    ]

    born_resolved = only(run(policy(), events[:1], now=t(minutes=30)), "resolution")
    assert (born_resolved.state, born_resolved.met, born_resolved.elapsed_seconds) == (ClockStatus.stopped, True, 0)

    reopened = only(run(policy(), events, now=t(hours=2)), "resolution")
    assert (reopened.state, reopened.elapsed_seconds) == (ClockStatus.running, 3600)
