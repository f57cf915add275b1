"""Data migrations: 0010 leaves one standing clock per ticket, metric and cycle where older policy
migrations left duplicates (the verdict a clock stopped with, or the open clock); 0011 moves stored
breaches to the first second over the limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clocks.models import ClockRow
from app.core.db import build_engine
from app.core.schema import upgrade
from app.policies.models import PolicyRow, PolicyVersionRow
from app.tickets.models import TicketRow

AT = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def _clock(ticket: TicketRow, version: PolicyVersionRow, metric: str, state: str, **detail: Any) -> ClockRow:
    return ClockRow(
        ticket_id=ticket.id,
        policy_version_id=version.id,
        policy="support",
        policy_version=version.version,
        metric=metric,
        cycle=1,
        state=state,
        breached=False,
        met=state == "stopped" or None,
        target_seconds=3600,
        limit_seconds=3600,
        elapsed_seconds=60,
        started_at=AT,
        calendar="eu",
        source="api",
        ticket_key=ticket.key,
        evaluated_at=AT,
        detail={"state": state, **detail},
    )


def test_duplicates_from_old_migrations_leave_one_standing_clock(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path}/old.db")
    upgrade(engine, "0009_projection_failures")
    with Session(engine) as session, session.begin():
        policy = PolicyRow(name="support", current_version=2, created_at=AT)
        session.add(policy)
        session.flush()
        v1, v2 = (
            PolicyVersionRow(
                policy_id=policy.id, version=n, spec={}, fingerprint=str(n), published_at=AT, published_by="t"
            )
            for n in (1, 2)
        )
        ticket = TicketRow(source="api", key="T-1", fields={}, last_event_at=AT, updated_at=AT)
        session.add_all([v1, v2, ticket])
        session.flush()
        session.add_all(
            [
                # Stopped before the move, then re-judged under v2: the v1 verdict stands.
                _clock(ticket, v1, "first_response", "stopped"),
                _clock(ticket, v2, "first_response", "stopped"),
                # Open at the move: cancelled under v1, open under v2, which stands.
                _clock(ticket, v1, "resolution", "cancelled", cancelled_reason="moved to another policy version"),
                _clock(ticket, v2, "resolution", "running"),
            ]
        )
    upgrade(engine)
    with Session(engine) as session:
        states = {(r.metric, r.policy_version): r.state for r in session.scalars(select(ClockRow))}
    assert states == {
        ("first_response", 1): "stopped",
        ("first_response", 2): "superseded",
        ("resolution", 1): "superseded",
        ("resolution", 2): "running",
    }
    engine.dispose()


def test_stored_breaches_move_to_the_first_second_over_the_limit(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path}/old.db")
    upgrade(engine, "0010_superseded_clocks")
    with Session(engine) as session, session.begin():
        policy = PolicyRow(name="support", current_version=1, created_at=AT)
        session.add(policy)
        session.flush()
        version = PolicyVersionRow(
            policy_id=policy.id, version=1, spec={}, fingerprint="1", published_at=AT, published_by="t"
        )
        ticket = TicketRow(source="api", key="T-1", fields={}, last_event_at=AT, updated_at=AT)
        session.add_all([version, ticket])
        session.flush()
        row = _clock(ticket, version, "first_response", "stopped", breached_at="2025-01-06T09:00:00Z")
        row.breached_at = AT
        session.add(row)
    upgrade(engine)
    with Session(engine) as session:
        stored = session.scalars(select(ClockRow)).one()
    assert stored.breached_at == AT + timedelta(seconds=1)
    assert stored.detail["breached_at"] == "2025-01-06T09:00:01Z"
    engine.dispose()
