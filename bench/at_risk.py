"""At-risk query over 1M open clocks, on SQLite and on PostgreSQL.

Seeds the tables directly (fast paths: executemany on SQLite, COPY on PostgreSQL), then times the
service's own `at_risk(within=30m)` query (what GET /api/v1/sla/at-risk runs) at random instants,
against a primary-key lookup of one clock measured the same way in the same run (the baseline).

    .venv/bin/python bench/at_risk.py [--clocks 1000000] [--postgres-url URL]

Without --postgres-url a throwaway server is started with scripts/pg.sh (as the test command does).
Last line: sqlite_p50_ms=N postgres_p50_ms=N sqlite_vs_pk=R postgres_vs_pk=R
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/calendar.py would shadow the standard library's calendar module: drop this folder from the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.clocks import service as clock_service
from app.clocks.models import ClockRow
from app.core.db import Database, build_engine
from app.core.schema import upgrade
from bench._harness import postgres as harness_postgres

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SPAN = 30 * 86400
DETAIL = json.dumps({"metric": "resolution", "timeline": [{"start": "2026-01-05T09:00:00Z", "kind": "running"}]})


def rows(count: int) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    rng = random.Random(11)
    tickets, clocks = [], []
    for t in range(count // 2):
        tickets.append((t + 1, "bench", f"B-{t}", "{}", T0, False, T0))
        for m, metric in enumerate(("first_response", "resolution")):
            due = T0 + timedelta(seconds=rng.randrange(SPAN))
            state = "running" if rng.random() < 0.8 else "paused"
            clocks.append(
                (
                    2 * t + m + 1,
                    t + 1,
                    1,
                    "bench",
                    1,
                    metric,
                    1,
                    state,
                    False,
                    3600,
                    3600,
                    0,
                    due if state == "running" else None,
                    T0,
                    "24x7",
                    "bench",
                    f"B-{t}",
                    "P2",
                    "gold",
                    T0,
                    DETAIL,
                    False,
                )
            )
    return tickets, clocks


CLOCK_COLUMNS = (
    "id, ticket_id, policy_version_id, policy, policy_version, metric, cycle, state, breached, "
    "target_seconds, limit_seconds, elapsed_seconds, due_at, started_at, calendar, source, ticket_key, "
    "priority, tier, evaluated_at, detail, exempt"
)
TICKET_COLUMNS = "id, source, key, fields, last_event_at, deleted, updated_at"


def seed(db: Database, count: int) -> None:
    tickets, clocks = rows(count)
    version = (
        "INSERT INTO policies (id, name, current_version, created_at) VALUES (1, 'bench', 1, :t); "
        "INSERT INTO policy_versions (id, policy_id, version, spec, fingerprint, published_at, published_by) "
        "VALUES (1, 1, 1, '{}', 'x', :t, 'bench')"
    )
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        if db.is_sqlite:
            for statement in version.split("; "):
                cur.execute(statement.replace(":t", "?"), (T0.replace(tzinfo=None),))
            naive = [tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in r) for r in tickets]
            cur.executemany(f"INSERT INTO tickets ({TICKET_COLUMNS}) VALUES (?,?,?,?,?,?,?)", naive)
            naive = [tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in r) for r in clocks]
            cur.executemany(f"INSERT INTO clocks ({CLOCK_COLUMNS}) VALUES ({','.join('?' * 22)})", naive)
        else:
            for statement in version.split("; "):
                cur.execute(statement.replace(":t", "%s"), (T0,))
            with cur.copy(f"COPY tickets ({TICKET_COLUMNS}) FROM STDIN") as copy:
                for r in tickets:
                    copy.write_row(r)
            with cur.copy(f"COPY clocks ({CLOCK_COLUMNS}) FROM STDIN") as copy:
                for r in clocks:
                    copy.write_row(r)
            cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def timed(fn: object, samples: int) -> float:
    durations = []
    for _ in range(samples):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        durations.append((time.perf_counter() - started) * 1000)
    return statistics.median(durations)


def measure(db: Database, count: int, samples: int = 300) -> tuple[float, float, int]:
    rng = random.Random(5)
    with db.transaction(write=False) as session:
        found = []

        def at_risk() -> None:
            now = T0 + timedelta(seconds=rng.randrange(SPAN - 3600))
            found.append(len(clock_service.at_risk(session, now, timedelta(minutes=30), limit=100)))

        def by_key() -> None:
            session.expunge_all()
            session.get(ClockRow, rng.randrange(1, count))

        timed(at_risk, 20)
        timed(by_key, 20)
        query_ms = timed(at_risk, samples)
        pk_ms = timed(by_key, samples)
    return query_ms, pk_ms, int(statistics.median(found))


def run(name: str, url: str, count: int) -> tuple[float, float]:
    db = Database(build_engine(url))
    upgrade(db.engine)
    started = time.perf_counter()
    seed(db, count)
    seeded = time.perf_counter() - started
    with db.engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM clocks WHERE state IN ('running', 'paused')")).scalar()
    query_ms, pk_ms, rows_returned = measure(db, count)
    print(
        f"{name}: {total} open clocks seeded in {seeded:.0f}s; at-risk(30m) p50 {query_ms:.2f} ms "
        f"({rows_returned} rows), primary-key lookup p50 {pk_ms:.2f} ms"
    )
    db.dispose()
    return query_ms, pk_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clocks", type=int, default=1_000_000)
    parser.add_argument("--postgres-url")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sla-atrisk-"))
    sqlite = run("sqlite", f"sqlite:///{work / 'bench.db'}", args.clocks)
    with harness_postgres(args.postgres_url, "54351") as url:
        postgres = run("postgresql", url, args.clocks)
    print(
        f"sqlite_p50_ms={sqlite[0]:.2f} postgres_p50_ms={postgres[0]:.2f} "
        f"sqlite_vs_pk={sqlite[0] / sqlite[1]:.1f} postgres_vs_pk={postgres[0] / postgres[1]:.1f}"
    )


if __name__ == "__main__":
    main()
