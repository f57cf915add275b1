"""Moving a policy's open tickets to another of its versions: explicit, serialized, audited.

Only tickets with an open clock move. Their clocks are replayed under the new version by the clocks
lane; a cycle that had finished keeps the version and verdict it stopped with (``app.clocks.projection``).
One migration of a policy at a time: while tickets of the policy still wait for their replay, another
migration would judge them on a version they do not have yet, so it is refused (409) until they are done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.clocks.models import OPEN_STATES, ClockRow
from app.core.errors import Conflict, ValidationProblem
from app.policies import service
from app.policies.models import PolicyRow
from app.tickets.models import TicketRow


@dataclass(frozen=True)
class Migration:
    policy: str
    to_version: int
    tickets: list[tuple[str, str]]


def migrate(
    session: Session,
    name: str,
    *,
    to_version: int | None,
    reason: str,
    allow_downgrade: bool,
    actor: str,
    now: datetime,
) -> Migration:
    """Move the policy's open tickets to ``to_version`` (default: the current one) and audit who moved which."""
    row = session.get(PolicyRow, service.get(session, name).id, with_for_update=True)
    assert row is not None
    versions = {v.version: v.id for v in service.versions(session, row)}
    target = to_version or row.current_version
    if target not in versions:
        raise ValidationProblem.single("to_version", f"policy {name!r} has versions 1..{row.current_version}")
    if target < row.current_version and not allow_downgrade:
        raise ValidationProblem.single(
            "to_version",
            f"version {target} is older than the current version {row.current_version}; "
            "set allow_downgrade: true (with a reason) to move tickets back",
        )
    pending = session.scalar(
        select(func.count())
        .select_from(TicketRow)
        .where(TicketRow.policy_version_id.in_(versions.values()), TicketRow.replay_requested_at.is_not(None))
    )
    if pending:
        raise Conflict(
            f"{pending} ticket(s) of policy {name!r} are still being re-projected (an earlier migration or "
            "configuration change); migrate again once they are done"
        )
    older = [version_id for number, version_id in versions.items() if number != target]
    with_open_clocks = select(ClockRow.ticket_id).where(
        ClockRow.policy_version_id.in_(older), ClockRow.state.in_(OPEN_STATES)
    )
    moving = session.execute(
        select(TicketRow.id, TicketRow.source, TicketRow.key)
        .where(TicketRow.id.in_(with_open_clocks), TicketRow.policy_version_id.in_(older))
        .order_by(TicketRow.id)
    ).all()
    if moving:
        session.execute(
            update(TicketRow)
            .where(TicketRow.id.in_([ticket_id for ticket_id, _, _ in moving]))
            .values(policy_version_id=versions[target], replay_requested_at=now)
        )
    tickets = [(source, key) for _, source, key in moving]
    audit.record(
        session,
        at=now,
        actor=actor,
        action="policy.migrate",
        subject_type="policy",
        subject_id=name,
        detail={
            "to_version": target,
            "from_current_version": row.current_version,
            "downgrade": target < row.current_version,
            "reason": reason,
            "tickets": [{"source": source, "key": key} for source, key in tickets],
        },
    )
    return Migration(name, target, tickets)
