"""Instants accepted from clients: timezone-aware, and inside the span the calendar engine supports.

Every API model and query parameter that takes an instant uses ``AwareInstant``, so a naive time
or a year such as 9999 is a 422 naming the field, never an error deep inside clock arithmetic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
# The engine computes due instants up to a century past any input; it supports years up to 2699.
LATEST = datetime(2500, 1, 1, tzinfo=UTC)


def supported_instant(value: datetime) -> datetime:
    """``value`` in UTC, or ``ValueError`` saying why it cannot be used."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a UTC offset (e.g. 2025-01-06T09:00:00Z)")
    value = value.astimezone(UTC)
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return value


AwareInstant = Annotated[datetime, AfterValidator(supported_instant)]


def as_utc(value: datetime) -> datetime:
    """An aware ``value`` in UTC (unchanged when it already is)."""
    return value if value.tzinfo is UTC else value.astimezone(UTC)


# An instant held in UTC, so that pydantic's own JSON serialization writes it with a ``Z`` (as
# ``utc_iso`` does) without a Python serializer called for every instant of every dump.
UtcInstant = Annotated[datetime, AfterValidator(as_utc)]


def utc_iso(value: datetime | None) -> str | None:
    """``value`` as UTC ISO-8601 with a ``Z`` (how every instant leaves the service), or None."""
    return None if value is None else as_utc(value).isoformat().replace("+00:00", "Z")
