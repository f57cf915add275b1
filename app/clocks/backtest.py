"""Back-testing: a draft policy replayed over stored ticket histories, beside the published policies.

The same pure engine as production (back-testing is the same replay with a draft
policy), read-only: nothing is stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clocks.context import Context
from app.clocks.evaluate import evaluate
from app.clocks.replay import replay_snapshot
from app.clocks.state import ClockState
from app.policies import service as policy_service
from app.policies.matching import ticket_matches
from app.policies.spec import PolicySpec
from app.tickets import service as ticket_service
from app.tickets.models import TicketRow


@dataclass
class Tally:
    """Outcomes per metric: met, breached, open, cancelled."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, clocks: Sequence[ClockState]) -> None:
        for clock in clocks:
            outcome = (
                "cancelled"
                if clock.state.value == "cancelled"
                else ("breached" if clock.breached else "met" if clock.met else "open")
            )
            self.counts.setdefault(clock.metric, Counter())[outcome] += 1

    def compliance(self, metric: str) -> float | None:
        c = self.counts.get(metric, Counter())
        judged = c["met"] + c["breached"]
        return round(100.0 * c["met"] / judged, 2) if judged else None


@dataclass
class Backtest:
    tickets: int = 0
    draft: Tally = field(default_factory=Tally)
    current: Tally = field(default_factory=Tally)


def _tickets(session: Session, source: str | None, since: datetime | None, batch: int) -> Iterator[TicketRow]:
    last_id = 0
    while True:
        query = select(TicketRow).where(TicketRow.id > last_id, TicketRow.opened_at.is_not(None))
        if source:
            query = query.where(TicketRow.source == source)
        if since:
            query = query.where(TicketRow.opened_at >= since)
        rows = list(session.scalars(query.order_by(TicketRow.id).limit(batch)))
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        session.expunge_all()  # keeps memory flat however many tickets


def backtest(
    session: Session, draft: PolicySpec, now: datetime, *, source: str | None = None, since: datetime | None = None
) -> Backtest:
    """Replay every ticket the draft matches under the draft and under its current policy."""
    ctx = Context.load(session)
    result = Backtest()
    for ticket in _tickets(session, source, since, batch=500):
        events = [event for _, event in ticket_service.logged_events(session, [ticket.id])[ticket.id]]
        if not ticket_matches(draft.match, replay_snapshot(events), ticket.source):
            continue
        result.tickets += 1
        calendars, zoned = ctx.calendars.compiled, ctx.calendars.zoned
        result.draft.add(
            evaluate(draft, calendars, events, now, exclusions=ctx.exclusions, ticket_timezone_calendar=zoned)
        )
        if ticket.policy_version_id is not None:
            current = policy_service.version_by_id(session, ticket.policy_version_id)
            result.current.add(
                evaluate(
                    current.spec, calendars, events, now, exclusions=ctx.exclusions, ticket_timezone_calendar=zoned
                )
            )
    return result
