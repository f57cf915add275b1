"""Which policy a ticket falls under, and which target row gives it its goal for a metric."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from app.policies.conditions import option_value
from app.policies.spec import MatchSpec, PolicySpec, TargetRow, TargetSpec
from app.tickets.events import TicketSnapshot


def value_matches(actual: Any, allowed: Iterable[Any]) -> bool:
    """Whether ``actual`` (or, for a list value such as labels, any item of it) is one of ``allowed``."""
    wanted = _wanted(tuple(allowed))
    if isinstance(actual, list | tuple | set):
        return any(_comparable(v) in wanted for v in actual if v is not None)
    return actual is not None and _comparable(actual) in wanted


@lru_cache(maxsize=4096)
def _wanted(allowed: tuple[Any, ...]) -> frozenset[Any]:
    # A policy's few value lists are matched against every event of every ticket: compared forms once.
    return frozenset(_comparable(v) for v in allowed)


def _comparable(value: Any) -> Any:
    # A ticket's field may hold a Jira option object as the source sent it: compare its value.
    value = option_value(value)
    # Names come from people and from several sources: compare text case-insensitively.
    if isinstance(value, str):
        return value.strip().casefold()
    return value if isinstance(value, int | float | bool) else str(value)


def ticket_matches(match: MatchSpec, ticket: TicketSnapshot, source: str) -> bool:
    """Whether every key of ``match`` holds for the ticket from ``source``."""
    checks: list[tuple[list[Any], Any]] = [
        (match.source, source),
        (match.project, ticket.project),
        (match.type, ticket.type),
        (match.tier, ticket.tier),
        (match.priority, ticket.priority),
    ]
    checks += [(allowed, ticket.fields.get(name)) for name, allowed in match.fields.items()]
    return all(not allowed or value_matches(actual, allowed) for allowed, actual in checks)


def row_matches(row: TargetRow, ticket: TicketSnapshot) -> bool:
    """Whether a target row's tier and priority accept the ticket."""
    return all(
        not allowed or value_matches(actual, allowed)
        for allowed, actual in ((row.tier, ticket.tier), (row.priority, ticket.priority))
    )


def select_policy(policies: Sequence[PolicySpec], ticket: TicketSnapshot, source: str) -> PolicySpec | None:
    """The first policy by (``order``, name) whose match accepts the ticket; an empty match accepts all."""
    for policy in sorted(policies, key=lambda p: (p.order, p.name)):
        if ticket_matches(policy.match, ticket, source):
            return policy
    return None


def select_target(policy: PolicySpec, ticket: TicketSnapshot, metric: str) -> TargetSpec | None:
    """The target of the first row that matches the ticket and sets ``metric``; rows without it are skipped."""
    for row in policy.targets:
        target = row.metric(metric)
        if target is not None and row_matches(row, ticket):
            return target
    return None
