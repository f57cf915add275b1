"""Another thread of this process in the middle of a writing transaction, for tests of what waits for
the write lock and what refuses at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from app.core.db import Database


def _begin(session: Session) -> None:
    session.connection()


@contextmanager
def written_by_another_thread(
    database: Database, work: Callable[[Session], None] = _begin
) -> Iterator[Callable[[], None]]:
    """While the block runs, a thread holds a writing transaction of ``database`` that has done ``work``
    (by default: only begun). Yields the function that lets it commit; the block's end does too."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with database.transaction() as session:
            work(session)
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(10)
        yield release.set
    finally:
        release.set()
        thread.join(10)
