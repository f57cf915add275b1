"""Checkpointing SQLite's write-ahead log from a thread of its own, off the writers' path.

By default SQLite checkpoints inside the commit that pushes the WAL past 1,000 pages: that commit
copies the pages into the database file and fsyncs both files, so under ingestion load an
occasional commit takes many times longer than the others, on the single writer's path.

While the service runs, its connections therefore leave checkpoints to this thread
(``wal_autocheckpoint=0``), which runs a PASSIVE checkpoint (it never blocks writers or readers)
every ``interval`` seconds on its own connection. A passive checkpoint cannot restart the log while
a reader still uses its start, so once the log passes ``restart_pages`` it tries a RESTART
checkpoint. SQLite blocks new writers while a RESTART waits for readers, and it waits through the
connection's busy handler: this connection's busy timeout is therefore short (``RESTART_WAIT_MS``),
so that a reader holding an old snapshot makes the restart give up (to be tried next round) instead
of stalling every writer. The thread takes no lock of this process's.
Other processes (the CLI) keep SQLite's automatic checkpoints.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.25
# 32 MiB of 4 KiB pages.
RESTART_PAGES = 8192
# The longest a RESTART checkpoint may keep writers waiting while readers finish.
RESTART_WAIT_MS = 20


class WalCheckpointer:
    """A daemon thread checkpointing the SQLite database file at ``path``."""

    def __init__(
        self,
        path: str,
        *,
        interval: float = INTERVAL_SECONDS,
        restart_pages: int = RESTART_PAGES,
    ) -> None:
        self.path = path
        self.interval = interval
        self.restart_pages = restart_pages
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: sqlite3.Connection | None = None

    def start(self) -> None:
        self._connection = sqlite3.connect(
            self.path, timeout=RESTART_WAIT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        self._thread = threading.Thread(target=self._run, name="wal-checkpointer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the thread after a last passive checkpoint."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        if self._connection is not None:
            self.step()
            self._connection.close()
            self._connection = None

    def step(self) -> tuple[int, int, int]:
        """One passive checkpoint (and a restart if the log has grown past ``restart_pages``); SQLite's
        answer to the last one: (busy, pages in the log, pages checkpointed)."""
        assert self._connection is not None
        busy, pages, done = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if pages >= self.restart_pages:
            busy, pages, done = self._connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        return int(busy), int(pages), int(done)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.step()
            except sqlite3.Error as exc:  # a locked or busy database: the next round tries again
                log.warning("WAL checkpoint failed: %s", exc)
