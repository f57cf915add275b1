"""Scenario tests: starting, stopping, pausing, measuring one clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from app.clocks import ClockState, ClockStatus, instant_at_elapsed
from tests.clocks.factories import CALENDARS, MONDAY, comment, created, field, only, policy, run, status, t


def test_first_response_stops_on_public_agent_comment() -> None:
    states = run(policy(), [created(), comment(at=t(minutes=20), id="e1")], now=t(hours=2))

    clock = only(states, "first_response")
    assert clock.state is ClockStatus.stopped
    assert (clock.met, clock.breached, clock.elapsed_seconds) == (True, False, 1200)
    assert clock.stopped_at == t(minutes=20)
    assert clock.due_at is None


def test_internal_note_and_customer_comment_do_not_count_as_first_response() -> None:
    events = [
        created(),
        comment(at=t(minutes=5), id="e1", public=False),
        comment(at=t(minutes=10), id="e2", role="customer"),
        comment(at=t(minutes=15), id="e3", public=None),
    ]
    clock = only(run(policy(), events, now=t(minutes=30)), "first_response")

    assert clock.state is ClockStatus.running
    assert clock.elapsed_seconds == 1800
    assert clock.due_at == t(hours=1)


def test_first_response_can_stop_on_a_configured_status() -> None:
    spec = policy(metrics={"first_response": {"stop": ["status:In Progress"]}})
    events = [created(), status(at=t(minutes=7), id="e1", to="in progress", category="open")]

    clock = only(run(spec, events, now=t(hours=1)), "first_response")

    assert clock.state is ClockStatus.stopped
    assert clock.elapsed_seconds == 420


def test_pause_while_waiting_and_resume() -> None:
    events = [
        created(),
        status(at=t(hours=1), id="e1", to="Waiting for customer", category="waiting"),
        status(at=t(hours=3), id="e2", to="Open", category="open"),
    ]
    spec = policy()

    paused = only(run(spec, events[:2], now=t(hours=2)), "resolution")
    assert paused.state is ClockStatus.paused
    assert paused.paused_reason == "status_category:waiting"
    assert paused.elapsed_seconds == 3600
    assert paused.due_at is None

    resumed = only(run(spec, events, now=t(hours=5)), "resolution")
    assert resumed.state is ClockStatus.running
    assert resumed.elapsed_seconds == 3 * 3600
    assert resumed.due_at == t(hours=10)  # 8h of work plus the 2h pause
    assert [(s.kind, s.reason) for s in resumed.timeline] == [
        ("running", None),
        ("paused", "status_category:waiting"),
        ("running", None),
    ]


def test_pause_by_status_name_reports_the_status() -> None:
    spec = policy(metrics={"resolution": {"pause_when": {"status": ["Pending"]}}})
    events = [created(), status(at=t(hours=1), id="e1", to="pending", category="open")]

    clock = only(run(spec, events, now=t(hours=2)), "resolution")

    assert clock.paused_reason == "status:pending"


def test_pause_spanning_a_weekend_on_office_hours() -> None:
    friday = datetime(2025, 1, 10, 16, 0, tzinfo=UTC)
    monday = datetime(2025, 1, 13, 10, 0, tzinfo=UTC)
    spec = policy(calendar="office")
    events = [
        created(at=friday),
        status(at=t(minutes=30, start=friday), id="e1", to="Waiting", category="waiting"),
        status(at=monday, id="e2", to="Open", category="open"),
    ]

    clock = only(run(spec, events, now=t(hours=1, start=monday)), "resolution")

    assert clock.elapsed_seconds == 90 * 60  # 30m on Friday, 1h on Monday; the weekend is closed and paused anyway
    assert clock.calendar == "office"
    # 6h30m still to go from Monday 11:00: the rest of Monday (6h), then 30m on Tuesday.
    assert clock.due_at == datetime(2025, 1, 14, 9, 30, tzinfo=UTC)


def test_outside_hours_is_not_a_pause() -> None:
    saturday = datetime(2025, 1, 11, 10, 0, tzinfo=UTC)
    clock = only(run(policy(calendar="office"), [created(at=saturday)], now=t(hours=3, start=saturday)), "resolution")

    assert clock.state is ClockStatus.running
    assert clock.paused_reason is None
    assert clock.elapsed_seconds == 0
    assert clock.due_at == datetime(2025, 1, 14, 9, 0, tzinfo=UTC)  # Monday's 8h end at closing: due at next opening


def test_target_runs_out_at_closing_so_due_is_next_opening() -> None:
    spec = policy(calendar="office", targets=[{"resolution": {"target": "8h"}}])

    clock = only(run(spec, [created()], now=t(hours=1)), "resolution")

    assert clock.due_at == datetime(2025, 1, 7, 9, 0, tzinfo=UTC)


def test_limit_beyond_target_gives_over_target_then_breach() -> None:
    spec = policy(targets=[{"first_response": {"target": "15m", "limit": "30m"}}])

    running = only(run(spec, [created()], now=t(minutes=20)), "first_response")
    assert (running.over_target, running.breached) == (True, False)
    assert (running.target_at, running.due_at) == (t(minutes=15), t(minutes=30))
    assert (running.remaining_seconds, running.percent) == (600, 66.67)

    met_late_for_target = only(
        run(spec, [created(), comment(at=t(minutes=20), id="e1")], now=t(hours=1)), "first_response"
    )
    assert (met_late_for_target.met, met_late_for_target.over_target) == (True, True)

    breached = only(run(spec, [created(), comment(at=t(minutes=40), id="e1")], now=t(hours=1)), "first_response")
    assert (breached.met, breached.breached, breached.over_target) == (False, True, False)
    assert breached.breached_at == t(minutes=30) + timedelta(seconds=1)  # the first second over the 30-minute limit
    assert breached.remaining_seconds == -600


def test_stopping_exactly_at_the_limit_is_met() -> None:
    clock = only(run(policy(), [created(), comment(at=t(hours=1), id="e1")], now=t(hours=2)), "first_response")

    assert (clock.met, clock.breached, clock.breached_at) == (True, False, None)


def test_running_breached_clock_keeps_counting() -> None:
    clock = only(run(policy(), [created()], now=t(hours=3)), "first_response")

    assert clock.breached
    assert clock.remaining_seconds == -2 * 3600
    assert clock.due_at == t(hours=1)
    assert clock.breached_at == t(hours=1) + timedelta(seconds=1)  # the first second over the limit
    assert clock.percent == 300.0


def test_warn_at_by_percent_and_by_time_remaining() -> None:
    spec = policy(
        targets=[{"first_response": {"target": "1h", "warn": "80%"}, "resolution": {"target": "2h", "warn": "30m"}}]
    )
    states = run(spec, [created()], now=t(minutes=10))

    assert only(states, "first_response").warn_at == t(minutes=48)
    assert only(states, "resolution").warn_at == t(hours=1, minutes=30)


def test_warn_at_is_none_while_paused_before_reaching_it() -> None:
    spec = policy(targets=[{"resolution": {"target": "2h", "warn": "50%"}}])
    events = [created(), status(at=t(minutes=10), id="e1", to="Waiting", category="waiting")]

    assert only(run(spec, events, now=t(hours=5)), "resolution").warn_at is None


def test_instant_at_elapsed_for_escalation_levels() -> None:
    events = [
        created(),
        status(at=t(hours=1), id="e1", to="Waiting", category="waiting"),
        status(at=t(hours=2), id="e2", to="Open", category="open"),
    ]
    clock = only(run(policy(), events, now=t(hours=3)), "resolution")

    assert instant_at_elapsed(clock, CALENDARS, 1800) == t(minutes=30)
    assert instant_at_elapsed(clock, CALENDARS, 6 * 3600) == t(hours=7)
    assert instant_at_elapsed(clock, CALENDARS, clock.limit_seconds) == clock.due_at


def test_clock_state_serialises_to_json_with_utc_instants() -> None:
    data = only(run(policy(), [created()], now=t(minutes=1)), "resolution").as_dict()

    assert data["started_at"] == "2025-01-06T09:00:00Z"
    assert data["state"] == "running"
    assert data["timeline"][0] == {
        "start": "2025-01-06T09:00:00Z",
        "end": None,
        "kind": "running",
        "reason": None,
        "calendar": "24x7",
        "timezone": None,
    }
    assert (data["exempt"], data["exemption_reason"]) == (False, None)
    # An instant given in another offset is held, and written, in UTC.
    paris = timezone(timedelta(hours=1))
    moved = ClockState.model_validate({**data, "started_at": datetime(2025, 1, 6, 10, 0, tzinfo=paris)})
    assert moved.as_dict()["started_at"] == "2025-01-06T09:00:00Z"
    assert moved.started_at.tzinfo is UTC


def test_no_events_no_clocks() -> None:
    assert run(policy(), [], now=MONDAY) == []


def test_only_metrics_with_targets_get_clocks() -> None:
    states = run(policy(), [created(), comment(at=t(minutes=1), id="e1", role="customer")], now=t(hours=1))

    assert {s.metric for s in states} == {"first_response", "resolution"}


def test_pause_on_a_field_value_and_stop_on_assignment() -> None:
    spec = policy(
        metrics={
            "resolution": {"pause_when": {"fields": {"blocked": True}}},
            "first_response": {"stop": ["assigned"]},
        }
    )
    events = [
        created(),
        field(at=t(minutes=10), id="e1", name="blocked", value=True),
        field(at=t(minutes=25), id="e2", name="assignee", value="ana"),
    ]
    states = run(spec, events, now=t(hours=1))

    assert only(states, "first_response").stopped_at == t(minutes=25)
    resolution = only(states, "resolution")
    assert (resolution.paused_reason, resolution.elapsed_seconds) == ("field:blocked", 600)
