"""A ticket's clock fold as stored between projections: JSON out, ``ClockFold`` back in.

The stored state is only valid for the inputs it was folded under: the engine's ``FOLD_FORMAT``,
the policy version and the configuration stamp (calendars, policies, windows, exemptions). The
projection compares them before resuming and replays the ticket's whole log when any differs.
Targets are stored as the index of their target row: the policy version they belong to is immutable.
A cycle's spans are stored as plain arrays: a long-lived clock carries hundreds of them, read and
written on every in-order event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.clocks.evaluate import ClockFold, Cycle
from app.clocks.state import ExclusionWindow, Span
from app.policies.spec import PolicySpec
from app.tickets.events import TicketSnapshot

# Bumped whenever the fold's meaning or this format changes: every stored state is then replayed.
FOLD_FORMAT = 2


def dump(fold: ClockFold) -> dict[str, Any]:
    """The fold as JSON-ready data (prune it first: every cycle kept is written)."""
    assert fold.position is not None
    at, not_created, event_id = fold.position
    return {
        "ticket": fold.ticket.model_dump(mode="json", exclude_defaults=True),
        "deleted": fold.deleted,
        "opened_at": _iso(fold.opened_at),
        "first_at": _iso(fold.first_at),
        "position": [_iso(at), not_created, event_id],
        "edges_done": _iso(fold.edges_done),
        "runs": [
            {
                "name": run.name,
                "armed": run.armed,
                "count": run.count,
                "cycles": [_cycle(fold.policy, run.name, c) for c in run.cycles],
            }
            for run in fold.runs
        ],
    }


def load(policy: PolicySpec | None, source: str, exclusions: list[ExclusionWindow], data: dict[str, Any]) -> ClockFold:
    """The fold ``dump`` wrote, resumed under the same policy and windows."""
    fold = ClockFold(policy, source, exclusions)
    fold.ticket = TicketSnapshot.model_validate(data["ticket"])
    fold.deleted = data["deleted"]
    fold.opened_at = _instant(data["opened_at"])
    fold.first_at = _instant(data["first_at"])
    at, not_created, event_id = data["position"]
    fold.position = (_required(at), not_created, event_id)
    fold.edges_done = _instant(data["edges_done"])
    stored = {run["name"]: run for run in data["runs"]}
    for run in fold.runs:
        saved = stored[run.name]
        run.armed, run.count = saved["armed"], saved["count"]
        assert policy is not None
        run.cycles = [_cycle_from(policy, run.name, c) for c in saved["cycles"]]
    return fold


def _cycle(policy: PolicySpec | None, metric: str, cycle: Cycle) -> dict[str, Any]:
    assert policy is not None
    row = next(i for i, r in enumerate(policy.targets) if r.metric(metric) is cycle.target)
    return {
        "number": cycle.number,
        "started_at": _iso(cycle.started_at),
        "target_row": row,
        "calendar": cycle.calendar,
        "priority": cycle.priority,
        "tier": cycle.tier,
        "timezone": cycle.timezone,
        "spans": [_span(span) for span in cycle.spans],
        "stopped_at": _iso(cycle.stopped_at),
        "cancelled_reason": cycle.cancelled_reason,
        "stopped_while_done": cycle.stopped_while_done,
    }


def _cycle_from(policy: PolicySpec, metric: str, data: dict[str, Any]) -> Cycle:
    target = policy.targets[data["target_row"]].metric(metric)
    assert target is not None
    return Cycle(
        number=data["number"],
        started_at=_required(data["started_at"]),
        target=target,
        calendar=data["calendar"],
        priority=data["priority"],
        tier=data["tier"],
        timezone=data["timezone"],
        spans=[_span_from(span) for span in data["spans"]],
        stopped_at=_instant(data["stopped_at"]),
        cancelled_reason=data["cancelled_reason"],
        stopped_while_done=data["stopped_while_done"],
    )


def _span(span: Span) -> list[Any]:
    return [_micros(span.start), _micros(span.end), span.kind, span.reason, span.calendar, span.timezone]


def _span_from(data: list[Any]) -> Span:
    start, end, kind, reason, calendar, timezone = data
    return Span(_EPOCH + dt.timedelta(microseconds=start), _from_micros(end), kind, reason, calendar, timezone)


# Span instants as whole microseconds since the epoch: exact, and far cheaper than ISO text both ways.
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def _micros(instant: dt.datetime | None) -> int | None:
    return None if instant is None else (instant - _EPOCH) // _MICROSECOND


def _from_micros(micros: int | None) -> dt.datetime | None:
    return None if micros is None else _EPOCH + dt.timedelta(microseconds=micros)


def _iso(instant: dt.datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(dt.UTC).isoformat()


def _instant(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def _required(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)
