"""Escalation lateness: clocks breaching in real time, fired by the real scanner, on SQLite and on PostgreSQL.

"Simulated-then-real": each ticket's history (one ``created`` event) is simulated, timed so that its
``first_response`` clock breaches at ``start + offset``, offsets spread evenly over a window of REAL time
that opens a few seconds after setup. Setup seeds tickets and events directly (executemany on SQLite,
COPY on PostgreSQL), then runs the real projection (``project_many``) once over every ticket, which writes
the clock rows and their ``next_action_at`` (timed and reported apart). Then the worker's escalation job
(``app.escalations.jobs.scan``) runs in a loop until every level fired or the window plus 60 s passed, in
one process or ``--workers K`` processes on the same database. When a scan finds nothing it sleeps
``--interval`` (0.2 s). (The real worker sleeps at most until the next clock's ``next_action_at``, its
wake hint, whatever SLA_WORKER_INTERVAL_SECONDS says; a fixed short poll stands in for that here.)

Lateness of a level = ``fired_levels.fired_at`` (the instant the scan batch took) minus the level's instant
(breach = one second past ``due_at``); also shown: lateness at commit (when the level became visible).
The calendar engine counts whole seconds (it floors instants), so level instants are whole seconds and
about clocks/window levels come due together at each second; the baseline's rows come due the same way.
Throughput = levels fired per second of the run; "capacity" = levels per second of busy scanning.

Baseline, same run, same database: a claim-only job (claims due rows of a bare table and sets
``next_action_at = NULL``, no projection) under the same arrival rate (clocks per second of window) over a
``--baseline-window`` (default min(window, 30 s)). ``vs_claim_only_p99`` = the worse of the two databases'
ratios of escalation p99 to claim-only p99.

    .venv/bin/python bench/escalations.py [--clocks 20000] [--window 120] [--workers 1] [--postgres-url URL]
    .venv/bin/python bench/escalations.py --clocks 100000 --window 3600   # the issue's full scenario

Without --postgres-url a throwaway server is started with scripts/pg.sh (port SLA_BENCH_PG_PORT, 54367).
Goal: p50 <= 1 s, p99 <= 2 s. Last line:
clocks=N window_s=N sqlite_p50_s=N sqlite_p99_s=N sqlite_per_s=N postgres_p50_s=N postgres_p99_s=N
postgres_per_s=N vs_claim_only_p99=R
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/calendar.py would shadow the standard library's calendar module: drop this folder from the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, func, select, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.clocks import projection
from app.clocks.context import reset_caches
from app.clocks.models import ClockRow
from app.core.clock import system_now
from app.core.db import Database, UTCDateTime, build_engine
from app.core.schema import upgrade
from app.escalations.jobs import BATCH, scan
from app.escalations.models import FiredLevelRow
from app.policies.spec import parse_policy, policy_fingerprint
from app.tickets.events import NormalizedEvent
from app.tickets.models import TicketRow
from app.webhooks.models import OutboxEventRow
from bench._harness import postgres as harness_postgres

TARGET_S = 3600
INTERVAL_S = 0.2
SETUP_BATCH = 500
POLICY = {
    "kind": "policy",
    "name": "bench-escalations",
    "calendar": "24x7",
    "targets": [{"first_response": {"target": "1h"}}],
    "escalations": [{"metric": "first_response", "at": "breach", "actions": [{"webhook": "sla.breached"}]}],
}
# Projection rate assumed when planning how far ahead the window opens (tickets/s); too low only wastes time,
# too high is caught: the scanner's clock is then shifted back by the overrun (reported as skew).
ASSUMED_SETUP_RATE = 300

CLAIMS = Table(
    "bench_claims",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("next_action_at", UTCDateTime(), index=True),
    Column("claimed_at", UTCDateTime()),
)


# ---------------------------------------------------------------- seeding


def _sqlite_ts(value: datetime) -> str:
    """How SQLAlchemy stores a UTC instant on SQLite (naive, always with microseconds)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _raw(db: Database, fn: Callable[[Any, bool], None]) -> None:
    raw = db.engine.raw_connection()
    try:
        fn(raw.cursor(), db.is_sqlite)
        raw.commit()
    finally:
        raw.close()


def _insert(cur: Any, sqlite: bool, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    if sqlite:
        conv = [tuple(_sqlite_ts(v) if isinstance(v, datetime) else v for v in r) for r in rows]
        cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({','.join('?' * len(columns))})", conv)
    else:
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)


def seed_history(db: Database, count: int, start: datetime, window: float, seeded_at: datetime) -> list[datetime]:
    """Policy, tickets and their ``created`` events; returns each ticket's planned breach instant.

    ``created`` keeps its milliseconds; the engine floors it, so the breach falls on a whole second.
    """
    spec = parse_policy(POLICY, [])
    breach = [start + timedelta(milliseconds=round(window * 1000 * (i + 0.5) / count)) for i in range(count)]
    tickets, events = [], []
    template = NormalizedEvent.model_validate(
        {
            "source": "bench",
            "key": "B-0",
            "id": "created",
            "type": "created",
            "at": seeded_at,
            "ticket": {"title": "bench", "status": "Open", "status_category": "open", "priority": "P2", "tier": "gold"},
        }
    ).model_dump(mode="json", by_alias=True, exclude_none=True)
    planned = []
    for i, instant in enumerate(breach):
        created = instant - timedelta(seconds=TARGET_S + 1)  # breach: one second past due_at
        planned.append(created.replace(microsecond=0) + timedelta(seconds=TARGET_S + 1))
        key = f"B-{i}"
        body = {**template, "key": key, "at": created.isoformat().replace("+00:00", "Z")}
        tickets.append((i + 1, "bench", key, "{}", created, False, seeded_at))
        events.append((i + 1, i + 1, "bench", key, "created", "created", created, json.dumps(body), seeded_at))
    NormalizedEvent.model_validate(json.loads(events[-1][7]))  # the stored body is a valid event

    def write(cur: Any, sqlite: bool) -> None:
        p = "?" if sqlite else "%s"
        at = _sqlite_ts(seeded_at) if sqlite else seeded_at
        cur.execute(
            f"INSERT INTO policies (id, name, current_version, created_at) VALUES (1, {p}, 1, {p})", (spec.name, at)
        )
        cur.execute(
            "INSERT INTO policy_versions (id, policy_id, version, spec, fingerprint, published_at, "
            f"published_by) VALUES (1, 1, 1, {p}, {p}, {p}, 'bench')",
            (json.dumps(POLICY), policy_fingerprint(spec), at),
        )
        _insert(
            cur, sqlite, "tickets", ["id", "source", "key", "fields", "last_event_at", "deleted", "updated_at"], tickets
        )
        _insert(
            cur,
            sqlite,
            "ticket_events",
            ["id", "ticket_id", "source", "key", "event_id", "type", "at", "body", "received_at"],
            events,
        )
        if not sqlite:
            cur.execute("ANALYZE")

    _raw(db, write)
    return planned


def project_all(db: Database, count: int, at: datetime) -> None:
    """The real projection over every ticket, in batches, as of ``at`` (before any is due).

    A fixed instant, not the wall clock: a slow setup must not fire levels while projecting.
    """
    for first in range(1, count + 1, SETUP_BATCH):
        with db.transaction() as session:
            query = select(TicketRow).where(TicketRow.id >= first, TicketRow.id < first + SETUP_BATCH)
            projection.project_many(session, list(session.scalars(query)), at)
    if not db.is_sqlite:
        _raw(db, lambda cur, _sqlite: cur.execute("ANALYZE"))


def seed_claims(db: Database, instants: list[datetime]) -> None:
    """The baseline's bare table, one row per instant, each due at its instant."""
    CLAIMS.create(db.engine, checkfirst=True)
    rows = [(i + 1, t, t) for i, t in enumerate(instants)]
    _raw(db, lambda cur, sqlite: _insert(cur, sqlite, "bench_claims", ["id", "due_at", "next_action_at"], rows))


# ---------------------------------------------------------------- the loops


def claim_only(db: Database, now: Callable[[], datetime]) -> int:
    """The baseline job: claim up to a batch of due rows and mark them, nothing else."""
    with db.transaction() as session:
        instant = now()
        due = select(CLAIMS.c.id).where(CLAIMS.c.next_action_at <= instant).order_by(CLAIMS.c.id).limit(BATCH)
        if not db.is_sqlite:
            due = due.with_for_update(skip_locked=True)
        ids = list(session.scalars(due))
        if ids:
            session.execute(update(CLAIMS).where(CLAIMS.c.id.in_(ids)).values(next_action_at=None, claimed_at=instant))
        return len(ids)


def done_count(db: Database, mode: str) -> int:
    """Levels fired (escalate) or rows claimed (claim) so far."""
    with db.transaction(write=False) as session:
        if mode == "escalate":
            return int(session.scalar(select(func.count()).select_from(FiredLevelRow)) or 0)
        return int(
            session.scalar(select(func.count()).select_from(CLAIMS).where(CLAIMS.c.claimed_at.is_not(None))) or 0
        )


def loop(
    db: Database, mode: str, deadline: float, expected: int, skew: float, interval: float, settle: float
) -> dict[str, Any]:
    """Run the job like the worker does until ``expected`` rows are done or ``deadline`` (epoch seconds).

    Completion is counted only once the real time is past ``settle`` (the window's end), so the
    counting query does not slow the scanner while levels are still arriving.
    """
    taken: list[datetime] = []

    def now() -> datetime:
        taken.append(system_now() - timedelta(seconds=skew))
        return taken[-1]

    job = scan if mode == "escalate" else claim_only
    stats: dict[str, Any] = {"scans": 0, "worked": 0, "busy_s": 0.0, "commits": [], "batch_s": []}
    while time.time() < deadline:
        taken.clear()
        started = time.perf_counter()
        done = job(db, now)
        elapsed = time.perf_counter() - started
        stats["scans"] += 1
        if done:
            stats["worked"] += done
            stats["busy_s"] += elapsed
            stats["batch_s"].append(elapsed)
            # The batch's instant (what fired_at / claimed_at record) and when its commit made it visible.
            stats["commits"].append([taken[0].isoformat(), (system_now() - timedelta(seconds=skew)).isoformat()])
            continue
        if time.time() >= settle and done_count(db, mode) >= expected:
            break
        time.sleep(interval)
    return stats


def run_loop(
    url: str, db: Database, mode: str, deadline: float, expected: int, skew: float, settle: float, args: Any
) -> dict[str, Any]:
    """The loop in this process, or in ``--workers`` processes whose figures are merged."""
    if args.workers <= 1:
        return loop(db, mode, deadline, expected, skew, args.interval, settle)
    command = [sys.executable, __file__, "--worker-url", url, "--mode", mode, "--deadline", str(deadline)]
    command += ["--expected", str(expected), "--skew", str(skew), "--interval", str(args.interval)]
    command += ["--settle", str(settle)]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(args.workers)]
    merged: dict[str, Any] = {"scans": 0, "worked": 0, "busy_s": 0.0, "commits": [], "batch_s": []}
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"worker failed with {proc.returncode}")
        stats = json.loads(out.strip().splitlines()[-1])
        for name in ("scans", "worked", "busy_s"):
            merged[name] += stats[name]
        merged["commits"] += stats["commits"]
        merged["batch_s"] += stats["batch_s"]
    return merged


# ---------------------------------------------------------------- figures


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank below), NaN when empty."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def lateness(pairs: list[tuple[datetime, datetime]], commits: list[list[str]]) -> tuple[list[float], list[float]]:
    """Seconds from each level's instant to its recorded time, and to the commit of its batch."""
    visible = {datetime.fromisoformat(a): datetime.fromisoformat(b) for a, b in commits}
    recorded = [(at - due).total_seconds() for due, at in pairs]
    committed = [(visible.get(at, at) - due).total_seconds() for due, at in pairs]
    return recorded, committed


def describe(name: str, late: list[float], committed: list[float], run_s: float, stats: dict[str, Any]) -> str:
    """One line of figures; capacity counts completed items (levels or claims) per second of busy scanning."""
    capacity = len(late) / stats["busy_s"] if stats["busy_s"] else float("nan")
    return (
        f"lateness p50 {pct(late, 0.5):.3f}s p99 {pct(late, 0.99):.3f}s max {max(late, default=0):.3f}s "
        f"(at commit p50 {pct(committed, 0.5):.3f}s p99 {pct(committed, 0.99):.3f}s); "
        f"{len(late) / run_s:.0f}/s over {run_s:.0f}s run; {stats['worked']} {name} in {stats['scans']} scans, "
        f"batch p50 {pct(stats['batch_s'], 0.5) * 1000:.0f} ms, capacity {capacity:.0f}/s busy"
    )


def run(name: str, url: str, args: argparse.Namespace) -> dict[str, float]:
    """Seed, project, scan and measure on one database, then the claim-only baseline on the same one."""
    reset_caches()  # both databases start with the same ids: no configuration carried over
    db = Database(build_engine(url))
    upgrade(db.engine)
    count, window = args.clocks, args.window
    began = time.time()
    lead = args.lead if args.lead is not None else 5 + count / ASSUMED_SETUP_RATE
    start = datetime.fromtimestamp(began + lead, UTC)
    seeded_at = system_now()
    breach = seed_history(db, count, start, window, seeded_at)
    seeded = time.time() - began
    projection_began = time.time()
    project_all(db, count, seeded_at)
    projected = time.time() - projection_began
    with db.transaction(write=False) as session:
        scheduled = session.scalar(
            select(func.count()).select_from(ClockRow).where(ClockRow.next_action_at.is_not(None))
        )
        first_action = session.scalar(select(func.min(ClockRow.next_action_at))) or start
    # If setup ran past the planned opening, shift the scanner's clock back by the overrun (3 s margin).
    skew = max(0.0, time.time() + 3 - start.timestamp())
    print(
        f"{name}: setup {count} tickets+events seeded in {seeded:.1f}s, projected in {projected:.1f}s "
        f"({count / projected:.0f}/s); {scheduled} clocks scheduled, first next_action_at "
        f"{(first_action - start).total_seconds():+.1f}s from window open; skew {skew:.1f}s; "
        f"idle interval {args.interval:g}s",
        flush=True,
    )

    deadline = start.timestamp() + skew + window + 60
    loop_began = time.time()
    stats = run_loop(url, db, "escalate", deadline, count, skew, start.timestamp() + skew + window, args)
    # The run: from the window opening (or the loop starting, if later) to the last level fired.
    with db.transaction(write=False) as session:
        pairs = [
            (r.instant, r.fired_at) for r in session.execute(select(FiredLevelRow.instant, FiredLevelRow.fired_at))
        ]
        distinct = session.scalar(
            select(func.count()).select_from(
                select(FiredLevelRow.clock_id, FiredLevelRow.cycle, FiredLevelRow.level_key).distinct().subquery()
            )
        )
        breached_events = session.scalar(
            select(func.count()).select_from(OutboxEventRow).where(OutboxEventRow.type == "sla.breached")
        )
        off_plan = sum(1 for (due, _), planned in zip(sorted(pairs), breach, strict=False) if due != planned)
    opened = max(start.timestamp() + skew, loop_began)
    last = max((at for _, at in pairs), default=start).timestamp() + skew
    run_s = max(last - opened, 1e-9)
    late, committed = lateness(pairs, stats["commits"])
    exact = len(pairs) == count and distinct == count and breached_events == count
    print(
        f"{name}: fired {len(pairs)}/{count} levels ({distinct} distinct, {breached_events} sla.breached events; "
        f"{'exactly once' if exact else 'NOT exactly once'}; {off_plan} level instants off plan); "
        + describe("tickets projected", late, committed, run_s, stats),
        flush=True,
    )

    # Baseline: the claim-only job at the same arrival rate.
    base_window = args.baseline_window if args.baseline_window is not None else min(window, 30.0)
    base_count = max(1, round(count * base_window / window))
    base_start = datetime.fromtimestamp(time.time() + 3, UTC)
    instants = [
        (base_start + timedelta(milliseconds=round(base_window * 1000 * (i + 0.5) / base_count))).replace(microsecond=0)
        for i in range(base_count)
    ]
    seed_claims(db, instants)
    base_began = time.time()
    base_end = base_start.timestamp() + base_window
    base_stats = run_loop(url, db, "claim", base_end + 60, base_count, 0.0, base_end, args)
    with db.transaction(write=False) as session:
        base_pairs = [
            (r.due_at, r.claimed_at)
            for r in session.execute(select(CLAIMS.c.due_at, CLAIMS.c.claimed_at))
            if r.claimed_at is not None
        ]
    base_late, base_committed = lateness(base_pairs, base_stats["commits"])
    base_last = max((at for _, at in base_pairs), default=base_start).timestamp()
    base_run = max(base_last - max(base_start.timestamp(), base_began), 1e-9)
    print(
        f"{name}: claim-only baseline, {len(base_pairs)}/{base_count} rows over {base_window:.0f}s; "
        + describe("rows claimed", base_late, base_committed, base_run, base_stats),
        flush=True,
    )
    db.dispose()
    return {
        "p50": pct(late, 0.5),
        "p99": pct(late, 0.99),
        "per_s": len(pairs) / run_s,
        "base_p99": pct(base_late, 0.99),
        "ok": float(exact),
    }


def worker_main(args: argparse.Namespace) -> None:
    """One scanner process of ``--workers K``: prints its figures as one JSON line."""
    db = Database(build_engine(args.worker_url))
    stats = loop(db, args.mode, args.deadline, args.expected, args.skew, args.interval, args.settle)
    db.dispose()
    print(json.dumps(stats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clocks", type=int, default=20_000)
    parser.add_argument("--window", type=float, default=120.0, help="seconds of real time the breaches spread over")
    parser.add_argument("--workers", type=int, default=1, help="scanner processes on the same database")
    parser.add_argument("--postgres-url")
    parser.add_argument("--lead", type=float, help="seconds from the start of setup to the window opening")
    parser.add_argument("--baseline-window", type=float)
    parser.add_argument("--interval", type=float, default=INTERVAL_S, help="idle pause between scans (seconds)")
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    # Worker mode (internal): one scanner process of --workers K.
    parser.add_argument("--worker-url", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=("escalate", "claim"), help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--expected", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--skew", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--settle", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    # A plain kill must still reach the ``finally`` blocks that stop the server and remove the files.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.worker_url:
        worker_main(args)
        return

    nan = {"p50": float("nan"), "p99": float("nan"), "per_s": float("nan"), "base_p99": float("nan"), "ok": 1.0}
    sqlite = postgres = nan
    if args.only != "postgres":
        work = Path(tempfile.mkdtemp(prefix="sla-escalations-"))
        try:
            sqlite = run("sqlite", f"sqlite:///{work / 'bench.db'}", args)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if args.only != "sqlite":
        with harness_postgres(args.postgres_url, "54367") as url:
            postgres = run("postgresql", url, args)
    ratios = [r["p99"] / r["base_p99"] for r in (sqlite, postgres) if r["base_p99"] > 0]  # NaN compares False
    if not (sqlite["ok"] and postgres["ok"]):
        print("WARNING: not every level fired exactly once (see above)")
    print(
        f"clocks={args.clocks} window_s={args.window:g} sqlite_p50_s={sqlite['p50']:.3f} "
        f"sqlite_p99_s={sqlite['p99']:.3f} sqlite_per_s={sqlite['per_s']:.0f} postgres_p50_s={postgres['p50']:.3f} "
        f"postgres_p99_s={postgres['p99']:.3f} postgres_per_s={postgres['per_s']:.0f} "
        f"vs_claim_only_p99={max(ratios, default=float('nan')):.1f}"
    )


if __name__ == "__main__":
    main()
