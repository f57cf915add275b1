"""IANA time zone names accepted from clients and sources.

A zone is checked where it enters (events, calendars, connections), so an unknown name is a 422
naming the field, never an error later in the board or the clock engine that re-reads hours in it.
"""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator


def known_zone(name: str) -> str:
    """``name`` if it is an IANA zone this installation knows; ``ValueError`` saying so otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: a malformed key (absolute path, "..", NUL); OSError: e.g. a name too long for the file system.
        raise ValueError(f"unknown time zone {name[:100]!r}; use an IANA name such as Europe/Berlin") from None
    return name


def zone_or_none(name: object) -> str | None:
    """``name`` when it is a known zone, else None: for source data, where a bad zone must not fail the event."""
    if not isinstance(name, str):
        return None
    try:
        return known_zone(name)
    except ValueError:
        return None


IanaZone = Annotated[str, AfterValidator(known_zone)]
