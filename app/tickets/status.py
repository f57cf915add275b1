"""A ticket's SLA status as of an instant: replayed fresh from the log through the pure engine."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.clocks import projection
from app.clocks.context import Context
from app.exclusions import service as exclusion_service
from app.policies import service as policy_service
from app.tickets.models import TicketRow
from app.tickets.schemas import TicketOut, TicketStatusOut


def ticket_status(session: Session, ticket: TicketRow, at: datetime) -> TicketStatusOut:
    """Snapshot and clocks from the events that happened at or before ``at``."""
    events = projection.ticket_events(session, ticket, until=at)
    snapshot = projection.replay_snapshot(events)
    ctx = Context.load(session)
    policy = None
    if ticket.policy_version_id is not None:
        policy = policy_service.version_by_id(session, ticket.policy_version_id)
    clocks = projection.derive(session, ticket, policy, events, ctx, at) if policy else []
    clock_views = [{**clock.as_dict(), "policy_version": policy.version if policy else None} for clock in clocks]
    created = [e.at for e in events if e.type.value == "created"]
    return TicketStatusOut(
        ticket=TicketOut(
            source=ticket.source,
            key=ticket.key,
            **snapshot.model_dump(
                include={
                    "title",
                    "status",
                    "priority",
                    "tier",
                    "assignee",
                    "project",
                    "type",
                    "timezone",
                    "url",
                    "fields",
                }
            ),
            status_category=snapshot.status_category.value if snapshot.status_category else None,
            opened_at=min(created) if created else None,
            deleted=any(e.type.value == "deleted" for e in events),
        ),
        as_of=at,
        policy=policy.name if policy else None,
        policy_version=policy.version if policy else None,
        clocks=clock_views,
        exemptions=[
            {
                "metric": row.metric,
                "cycle": row.cycle,
                "reason": row.reason,
                "author": row.author,
                "created_at": row.created_at.isoformat(),
            }
            for row in exclusion_service.list_exemptions(session, ticket.id)
        ],
    )
