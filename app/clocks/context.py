"""What a projection needs besides the ticket's own events: calendars, active policies, exclusion windows.

Loading and compiling them costs more than projecting a ticket, and they change rarely, so the
loaded context is cached per process and keyed by a *configuration stamp*: one cheap query over
counts and versions that changes whenever a calendar, policy or exclusion window does. Every
process therefore sees a change on its very next projection, without any cross-process signal.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.calendars.models import CalendarRow
from app.calendars.service import CalendarSet, load_set
from app.clocks.resolver import CalendarResolver
from app.clocks.state import ExclusionWindow
from app.exclusions import service as exclusion_service
from app.exclusions.models import ExclusionRow, ExemptionRow
from app.policies import service as policy_service
from app.policies.models import PolicyRow
from app.policies.service import PublishedPolicy

_STAMP = select(
    select(func.count(CalendarRow.id)).scalar_subquery(),
    select(func.max(CalendarRow.updated_at)).scalar_subquery(),
    select(func.count(PolicyRow.id)).scalar_subquery(),
    select(func.coalesce(func.sum(PolicyRow.current_version), 0)).scalar_subquery(),
    select(func.count(PolicyRow.archived_at)).scalar_subquery(),
    select(func.count(ExclusionRow.id)).scalar_subquery(),
    select(func.count(ExclusionRow.revoked_at)).scalar_subquery(),
    select(func.count(ExemptionRow.id)).scalar_subquery(),
)


@dataclass(frozen=True)
class Context:
    """Calendars (compiled), the active policies' current versions, and the exclusion windows."""

    calendars: CalendarSet
    policies: list[PublishedPolicy]
    exclusions: list[ExclusionWindow]
    # The configuration stamp it was loaded at: stored folds are valid only under the same one.
    stamp: str = ""
    # When no exemption exists anywhere, projections skip looking for a ticket's.
    any_exemptions: bool = True

    def resolver(self) -> CalendarResolver:
        """The engine's calendar lookup over this configuration (ticket time zones included)."""
        return CalendarResolver(self.calendars.compiled, self.calendars.zoned)

    @classmethod
    def load(cls, session: Session) -> Context:
        """The current context, from the cache when the configuration has not changed."""
        stamp = tuple(session.execute(_STAMP).one())
        with _LOCK:
            cached = _CACHE.get("context")
            if cached is not None and cached[0] == stamp:
                return cached[1]
        context = cls(
            load_set(session),
            policy_service.active(session),
            exclusion_service.active_windows(session),
            stamp="|".join(str(value) for value in stamp),
            any_exemptions=bool(stamp[-1]),
        )
        with _LOCK:
            _CACHE["context"] = (stamp, context)
        return context


_LOCK = threading.Lock()
_CACHE: dict[str, tuple[tuple[Any, ...], Context]] = {}


def reset_caches() -> None:
    """Forget every per-process cache of configuration (tests that wipe the database call this)."""
    with _LOCK:
        _CACHE.clear()
    policy_service.forget_cached_versions()
