"""Tickets set aside after a failed projection: what went wrong, and when the clocks lane tries again.

One ticket whose projection fails (data the engine or the database cannot take) must not stop the
others: the pipeline projects it on its own, records the error here and goes on. The ticket stays
queued and is retried with a growing delay; the next projection that works clears the record
(an admin's replay, once the cause is fixed, is one).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import exc
from sqlalchemy.orm import Session

from app.core.metrics import PROJECTION_FAILURES
from app.tickets.models import TicketRow

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)


def set_aside(session: Session, ticket: TicketRow, error: Exception, now: datetime) -> None:
    """Record ``error`` on the ticket and queue it for a retry after a delay that doubles each time."""
    ticket.projection_failures = (ticket.projection_failures or 0) + 1
    ticket.projection_error = describe(error)
    delay = min(FIRST_RETRY * 2 ** (ticket.projection_failures - 1), LONGEST_RETRY)
    ticket.projection_retry_at = now + delay
    ticket.replay_requested_at = ticket.replay_requested_at or now
    PROJECTION_FAILURES.inc()
    log.warning(
        "projection of %s/%s failed (%d in a row, next try in %s): %s",
        ticket.source,
        ticket.key,
        ticket.projection_failures,
        delay,
        ticket.projection_error,
    )


def clear(ticket: TicketRow) -> None:
    """The ticket projected: nothing is set aside any more."""
    if ticket.projection_failures or ticket.projection_error is not None or ticket.projection_retry_at is not None:
        ticket.projection_error, ticket.projection_failures, ticket.projection_retry_at = None, 0, None


def describe(error: Exception) -> str:
    """The error's type and message. A database error is described by the driver's own message: the
    statement's parameters (which may hold a webhook secret or customer data) stay out of it."""
    cause: BaseException = error.orig if isinstance(error, exc.StatementError) and error.orig else error
    return f"{type(cause).__name__}: {cause}"[:1000]
