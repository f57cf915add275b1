"""The one seam through which time enters the service (tests and back-tests inject their own)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Now = Callable[[], datetime]


def system_now() -> datetime:
    """The current instant, UTC-aware."""
    return datetime.now(UTC)
