"""A worker process for the concurrency test: loops the escalation scanner and the deliverer.

Usage: python -m tests.escalations.worker_process DATABASE_URL
The delivery lease is shortened so a killed worker's claimed deliveries come back within seconds.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from app.core.clock import system_now
from app.core.db import Database, build_engine
from app.escalations import jobs as escalation_jobs
from app.webhooks import delivery
from app.webhooks import jobs as webhook_jobs


def main(url: str) -> None:
    delivery.LEASE = timedelta(seconds=3)
    db = Database(build_engine(url))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        scanned = escalation_jobs.scan(db, system_now)
        delivered = webhook_jobs.deliveries(db, system_now)
        if scanned or delivered:
            sys.stdout.write(f"scanned={scanned} delivered={delivered}\n")
            sys.stdout.flush()
        else:
            time.sleep(0.05)


if __name__ == "__main__":
    main(sys.argv[1])
