"""The clock engine: a ticket's clocks as a pure function of policy, calendars, events and now.

Rules (trigger vocabulary in ``app.policies.conditions``):

- Only metrics some target row sets get clocks. A metric's *start* trigger arms
  it and its *stop* trigger disarms it; while armed and a target row matches,
  a cycle runs. So ``next_response`` repeats: each customer comment while no
  cycle runs starts the next one.
- Reopening (leaving resolved/closed) brings back a clock that was stopped
  while the ticket was resolved/closed: ``resume`` continues the same cycle
  (the resolved stretch is a gap in its timeline), ``new_cycle`` starts cycle+1.
  A clock stopped otherwise (a first reply) stays stopped.
- ``cancelled_reason``: ``reset`` (a reset trigger; cycle+1 starts at once),
  ``priority_changed``/``tier_changed`` (``on_priority_change: restart``; cycle+1
  starts at once), ``no_target`` (no row matches any more), ``policy_unmatched``
  (the ticket left the policy's match), ``deleted`` (terminal). After
  ``no_target``/``policy_unmatched``, matching again starts a fresh cycle: time
  spent untracked is never charged.
- With ``on_priority_change: keep`` a new row's target applies to the time
  already elapsed, so ``breached_at`` may lie before the change.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from app.clocks.measure import measured_state
from app.clocks.replay import Position, apply_event, event_position, fired_triggers, fires, ordered_events
from app.clocks.resolver import BusinessCalendarLike, CalendarResolver, ZonedCalendarFactory
from app.clocks.state import ClockState, ClockStatus, ExclusionWindow, Span
from app.policies.conditions import MetricSpec
from app.policies.matching import select_target, ticket_matches, value_matches
from app.policies.spec import PolicySpec, TargetSpec
from app.tickets.events import EventType, NormalizedEvent, StatusCategory, TicketSnapshot

_DONE = (StatusCategory.resolved, StatusCategory.closed)


def evaluate(
    policy: PolicySpec,
    calendars: Mapping[str, BusinessCalendarLike],
    events: Sequence[NormalizedEvent],
    now: dt.datetime,
    *,
    exclusions: Sequence[ExclusionWindow] = (),
    ticket_timezone_calendar: ZonedCalendarFactory | None = None,
) -> list[ClockState]:
    """Every clock of one ticket under ``policy`` as of ``now``, replayed from its events in any delivery order.

    All given events are applied (choosing the events known at an instant is the
    caller's job); should one lie after ``now``, the clocks are read as of that
    event instead, so no number ever runs backwards.
    """
    ordered = ordered_events(events)
    if not ordered:
        return []
    fold = ClockFold(policy, ordered[0].source, exclusions)
    fold.feed(ordered)
    return fold.states(now, CalendarResolver(calendars, ticket_timezone_calendar))


@dataclass
class Cycle:
    """One cycle of one metric while it is being replayed."""

    number: int
    started_at: dt.datetime
    target: TargetSpec
    calendar: str
    priority: str | None = None
    tier: str | None = None
    timezone: str | None = None
    spans: list[Span] = field(default_factory=list)
    stopped_at: dt.datetime | None = None
    cancelled_reason: str | None = None
    stopped_while_done: bool = False

    @property
    def active(self) -> bool:
        return self.stopped_at is None

    def move(self, at: dt.datetime, kind: Literal["running", "paused"], reason: str | None) -> None:
        """Continue as ``kind`` from ``at``, opening a new span only when something about the span changes."""
        wanted = (kind, reason, self.calendar, self.timezone)
        if self.spans and self.spans[-1].end is None:
            if _kind_of(self.spans[-1]) == wanted:
                return
            self._close(at)
        if self.spans and self.spans[-1].end == at and _kind_of(self.spans[-1]) == wanted:
            self.spans[-1] = dataclasses.replace(self.spans[-1], end=None)
        else:
            self.spans.append(Span(start=at, kind=kind, reason=reason, calendar=self.calendar, timezone=self.timezone))

    def end(self, at: dt.datetime, *, cancelled: str | None = None, while_done: bool = False) -> None:
        """Stop (or, with a reason, cancel) the cycle at ``at``."""
        if self.spans and self.spans[-1].end is None:
            self._close(at)
        self.stopped_at, self.cancelled_reason, self.stopped_while_done = at, cancelled, while_done

    def resume(self) -> None:
        """Undo the stop: the same cycle goes on (the next ``move`` opens its span)."""
        self.stopped_at, self.stopped_while_done = None, False

    def _close(self, at: dt.datetime) -> None:
        last = self.spans.pop()
        # Several events at one instant would leave zero-length spans: drop them.
        if last.start < at:
            self.spans.append(dataclasses.replace(last, end=at))

    def state(self, metric: str, policy: str, as_of: dt.datetime, resolve: CalendarResolver) -> ClockState:
        """This cycle as a ``ClockState`` read at ``as_of``."""
        open_span = self.spans[-1] if self.spans and self.spans[-1].end is None else None
        if self.cancelled_reason:
            status = ClockStatus.cancelled
        elif self.stopped_at is not None:
            status = ClockStatus.stopped
        else:
            status = ClockStatus.paused if open_span and open_span.kind == "paused" else ClockStatus.running
        limit = self.target.limit_seconds
        base: dict[str, object] = {
            "metric": metric,
            "cycle": self.number,
            "state": status,
            "paused_reason": open_span.reason if status is ClockStatus.paused and open_span else None,
            "started_at": self.started_at,
            "stopped_at": self.stopped_at,
            "cancelled_reason": self.cancelled_reason,
            "calendar": self.calendar,
            "timezone": self.timezone,
            "priority": self.priority,
            "tier": self.tier,
            "policy": policy,
        }
        warn = self.target.warn
        numbers = measured_state(
            base,
            self.spans,
            limit=limit,
            target=self.target.target,
            warn_elapsed=None if warn is None else warn.elapsed_for(limit),
            until=as_of,
            resolve=resolve,
        )
        return ClockState.model_validate(numbers)


def _kind_of(span: Span) -> tuple[str, str | None, str, str | None]:
    """What makes two spans alike (all but their start and end)."""
    return (span.kind, span.reason, span.calendar, span.timezone)


@dataclass
class MetricRun:
    """A metric's cycles, and whether its start condition holds (``armed``) awaiting its stop."""

    name: str
    spec: MetricSpec
    armed: bool = False
    cycles: list[Cycle] = field(default_factory=list)
    # Cycles started so far (a pruned fold keeps only the last one).
    count: int = 0

    @property
    def current(self) -> Cycle | None:
        return self.cycles[-1] if self.cycles and self.cycles[-1].active else None


class ClockFold:
    """The replay of one ticket's events, one event at a time, as a state that can be kept and resumed.

    ``evaluate`` is this fold run over the whole log. The projection keeps the fold of each ticket
    (``app.clocks.replay_state``) and feeds it only the events that come after it, so an event that
    arrives in order costs the same however long the ticket's history is. ``prune`` drops the
    cycles that can no longer change (every cycle of a metric but its last one); a fold resumed
    after pruning reports only the cycles it kept.

    ``policy`` None: only the ticket snapshot is followed (a ticket no policy tracks yet).
    """

    def __init__(self, policy: PolicySpec | None, source: str, exclusions: Sequence[ExclusionWindow] = ()) -> None:
        self.policy, self.source, self.exclusions = policy, source, exclusions
        self.runs = [MetricRun(name, policy.metrics.get(name)) for name in policy.tracked_metrics()] if policy else []
        self.ticket = TicketSnapshot()
        self.deleted = False
        self.opened_at: dt.datetime | None = None
        # The first event's instant (window edges count after it), the last event's position, and
        # the last window edge applied (edges at an event's instant come after the events there).
        self.first_at: dt.datetime | None = None
        self.position: Position | None = None
        self.edges_done: dt.datetime | None = None
        self._edges = sorted({t.astimezone(dt.UTC) for w in exclusions for t in (w.start, w.end)})
        # Target rows match on tier and priority only.
        self._targets: dict[tuple[str | None, str | None, str], TargetSpec | None] = {}

    def follows(self, event: NormalizedEvent) -> bool:
        """Whether ``event`` comes after every event fed so far (it can be fed without a replay)."""
        return self.position is None or event_position(event) > self.position

    def feed(self, ordered: Sequence[NormalizedEvent]) -> None:
        """Apply events that come after the fold's position, in replay order."""
        for event in ordered:
            if not self.follows(event):
                raise ValueError(f"event {event.id!r} comes before the fold's position")
            if self.first_at is None:
                self.first_at = event.at
            self._edges_until(event.at, inclusive=False)
            self._apply(event)
            self.position = event_position(event)

    def states(self, now: dt.datetime, resolve: CalendarResolver) -> list[ClockState]:
        """The clocks as of ``now`` (or the last event, if later); the fold itself is left as it is."""
        if self.position is None:
            return []
        as_of = max(now.astimezone(dt.UTC), self.position[0])
        view = self
        if self._pending_edges(as_of):
            view = self.copy()
            view._edges_until(as_of, inclusive=True)
        name = view.policy.name if view.policy else ""
        return [cycle.state(run.name, name, as_of, resolve) for run in view.runs for cycle in run.cycles]

    def copy(self) -> ClockFold:
        """An independent fold in the same state (the policy and windows are shared: they never change)."""
        twin = copy.copy(self)
        twin.runs = [
            dataclasses.replace(run, cycles=[dataclasses.replace(c, spans=list(c.spans)) for c in run.cycles])
            for run in self.runs
        ]
        twin._targets = dict(self._targets)
        return twin

    def prune(self) -> None:
        """Forget every cycle but each metric's last: only the last one can still change."""
        for run in self.runs:
            del run.cycles[:-1]

    def _pending_edges(self, until: dt.datetime) -> list[dt.datetime]:
        first, done = self.first_at, self.edges_done
        return [t for t in self._edges if first is not None and first < t <= until and (done is None or t > done)]

    def _edges_until(self, limit: dt.datetime, *, inclusive: bool) -> None:
        # Window edges are moments too: a clock must pause and resume there even when no event happens.
        for edge in self._pending_edges(limit):
            if edge == limit and not inclusive:
                break
            self._reconcile_all(edge)
            self.edges_done = edge

    def _apply(self, event: NormalizedEvent) -> None:
        """Take one event: update the snapshot, fire its triggers, bring every clock in line."""
        before, self.ticket = self.ticket, apply_event(self.ticket, event)
        if event.type is EventType.created and self.opened_at is None:
            self.opened_at = event.at
        if self.deleted or not self.runs:
            self.deleted = self.deleted or event.type is EventType.deleted
            return
        if event.type is EventType.deleted:
            self.deleted = True
            for run in self.runs:
                run.armed = False
                if run.current:
                    run.current.end(event.at, cancelled="deleted")
            return
        fired = fired_triggers(before, self.ticket, event)
        in_policy = self._in_policy()
        for run in self.runs:
            self._advance(run, fired, event.at, in_policy)

    def _reconcile_all(self, at: dt.datetime) -> None:
        """Bring every clock in line with the ticket at ``at`` (an exclusion window opened or closed)."""
        if not self.deleted and self.runs:
            in_policy = self._in_policy()
            for run in self.runs:
                self._reconcile(run, at, in_policy)

    def _in_policy(self) -> bool:
        """Whether the ticket as it stands matches the policy (once per event, for every metric)."""
        assert self.policy is not None
        return ticket_matches(self.policy.match, self.ticket, self.source)

    def _advance(self, run: MetricRun, fired: frozenset[str], at: dt.datetime, in_policy: bool) -> None:
        """Apply one event's triggers to a metric: reopen, reset, start, stop, in that order."""
        spec, last = run.spec, (run.cycles[-1] if run.cycles else None)
        if "reopened" in fired and not run.armed and last is not None and last.stopped_while_done:
            run.armed = True
            if spec.on_reopen == "resume":
                last.resume()
        current = run.current
        if run.armed and current is not None and fires(spec.reset, fired):
            current.end(at, cancelled="reset")
        if not run.armed and fires(spec.start, fired):
            run.armed = True
        self._reconcile(run, at, in_policy)
        # Start before stop: a ticket born resolved (a backfill) gets clocks that start and stop at once,
        # which a reopen can bring back. An armed clock is not restarted by the same event that stops it.
        if run.armed and fires(spec.stop, fired):
            run.armed = False
            if (current := run.current) is not None:
                current.end(at, while_done=self.ticket.status_category in _DONE)

    def _reconcile(self, run: MetricRun, at: dt.datetime, in_policy: bool) -> None:
        """Make the metric's current cycle match the ticket: target row, restart, pause reason, calendar."""
        if not run.armed:
            return
        assert self.policy is not None
        ticket, current = self.ticket, run.current
        target = self._target(run.name) if in_policy else None
        if target is None:
            if current is not None:
                current.end(at, cancelled="no_target" if in_policy else "policy_unmatched")
            return
        if current is not None and run.spec.on_priority_change == "restart":
            changed = next((k for k in ("priority", "tier") if getattr(current, k) != getattr(ticket, k)), None)
            if changed:
                current.end(at, cancelled=f"{changed}_changed")
                current = None
        if current is None:
            run.count += 1
            current = Cycle(run.count, at, target, self.policy.calendar_for(target))
            run.cycles.append(current)
        # With on_priority_change: keep, a new row's target replaces the old one and elapsed time carries over.
        current.target, current.priority, current.tier = target, ticket.priority, ticket.tier
        current.calendar = self.policy.calendar_for(target)
        current.timezone = ticket.timezone if target.timezone == "ticket" else None
        reason = self._pause_reason(run, at)
        current.move(at, "paused" if reason else "running", reason)

    def _target(self, metric: str) -> TargetSpec | None:
        """The metric's target for the ticket's tier and priority (looked up once per pair and metric)."""
        key = (self.ticket.tier, self.ticket.priority, metric)
        if key not in self._targets:
            assert self.policy is not None
            self._targets[key] = select_target(self.policy, self.ticket, metric)
        return self._targets[key]

    def _pause_reason(self, run: MetricRun, at: dt.datetime) -> str | None:
        ticket, rule = self.ticket, run.spec.pause_when
        if ticket.status_category is not None and ticket.status_category in rule.status_category:
            return f"status_category:{ticket.status_category.value}"
        if ticket.status and value_matches(ticket.status, rule.status):
            return f"status:{ticket.status}"
        for name, values in rule.fields.items():
            if value_matches(ticket.fields.get(name), values):
                return f"field:{name}"
        for window in self.exclusions:
            criteria = window.criteria
            if (
                window.start <= at < window.end
                and ticket_matches(criteria, ticket, self.source)
                and (not criteria.metric or value_matches(run.name, criteria.metric))
            ):
                return window.pause_reason
        return None
