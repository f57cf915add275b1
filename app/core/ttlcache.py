"""Per-process reuse of values read from a database, for a few seconds.

Hot request paths (inbound webhooks' connection settings, API-key checks) would otherwise spend a
read transaction, and often a thread hop, per request on rows that change a few times a year.
A change made through this process drops the entry at once (``forget``); another process's change
applies once the entry expires. Entries are kept per :class:`Database`, so tests with several
databases in one process never see each other's values.
"""

from __future__ import annotations

import time
import weakref
from typing import Generic, TypeVar

from app.core.db import Database

V = TypeVar("V")


class TtlCache(Generic[V]):
    """``key -> value`` per database, each entry reused for ``seconds`` after it was stored."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: weakref.WeakKeyDictionary[Database, dict[str, tuple[float, V]]] = weakref.WeakKeyDictionary()

    def get(self, db: Database, key: str) -> V | None:
        """The value stored less than ``seconds`` ago, else None (no I/O)."""
        hit = self._entries.get(db, {}).get(key)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def put(self, db: Database, key: str, value: V) -> V:
        if self.seconds > 0:
            self._entries.setdefault(db, {})[key] = (time.monotonic() + self.seconds, value)
        return value

    def forget(self, key: str | None = None) -> None:
        """Drop ``key`` (every key when None) for every database."""
        for entries in list(self._entries.values()):
            if key is None:
                entries.clear()
            else:
                entries.pop(key, None)
