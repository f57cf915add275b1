"""Escalation lateness with the real worker lanes, healthy vs degraded I/O, on SQLite and on PostgreSQL.

The issue's goal: with a hanging webhook receiver and a slow Jira, escalation lateness p99 <= 2 s at 20k
levels in 2 minutes, and within 1.5x of the same run's lateness with healthy receivers.

"Simulated-then-real": each ticket's history (one ``created`` event) is simulated, timed so that its
``first_response`` clock breaches at ``start + offset``, offsets spread evenly over a window of REAL time
that opens after setup. The tickets come from a Jira connection (``jira``, type jira, pointing at a
FakeJira), so the breach level's actions ``[{webhook: sla.breached}, {comment: ...}]`` queue one outbound
delivery (one subscription, to a webhook receiver) and one Jira write-back per level.

Setup, per scenario and database, on a fresh database: the policy and the connection through
``app.apply`` (the connection's first sync is pushed past the run: syncing the fake's issues is not part
of the scenario, the sync lane runs with nothing due), the subscription through ``app.webhooks.service``,
tickets and events seeded directly (executemany on SQLite, COPY on PostgreSQL), then the real projection
(``app.ingestion.flow.reproject``) once over every ticket as of a fixed instant before any is due, which
writes the clock rows and their ``next_action_at``. Then ``app.worker.lanes.Workers`` (every lane, one
real thread each, as the service runs them; on SQLite with the service's background WAL checkpoints)
runs in this process (after ``tune_gc``, as the service does) until every level fired or the window plus
60 s passed. ``--lanes clocks`` runs the clocks lane alone (nothing delivered, nothing written back): the
scanner's own lateness, to tell its capacity from the other lanes' interference.

Scenarios (the receiver and the FakeJira run in a child process, as remote services would, so that
their CPU does not count against this process's GIL):

* ``healthy``: the receiver answers 200 at once, the FakeJira answers every call at once;
* ``degraded``: the receiver accepts each POST and never answers (each delivery waits for the client's
  10 s timeout), the FakeJira answers every write (POST/PUT) 20 s after it arrives.

Lateness of a level = ``fired_levels.fired_at`` (the instant the scan batch took) minus the level's instant
(breach = one second past ``due_at``). The calendar engine counts whole seconds, so level instants are whole
seconds and about clocks/window levels come due together at each second. Also checked: every level fired
exactly once (rows == distinct (clock, cycle, level) == sla.breached outbox events == clocks). On SQLite
the bench also times, per thread group, the waits for and holds of the process's write lock
(``app.core.db.FairLock``): where the clocks lane waits, and behind whom.

    PYTHONPATH=$PWD .venv/bin/python bench/escalations.py [--clocks 20000] [--window 120]
        [--only sqlite|postgres] [--scenarios healthy,degraded] [--lanes clocks,...] [--interval S]
        [--postgres-url URL]
    PYTHONPATH=$PWD .venv/bin/python bench/escalations.py --only sqlite --clocks 2000 --window 30  # quick

``--interval`` is the lanes' pause between idle passes (default: SLA_WORKER_INTERVAL_SECONDS, 5 s); the
clocks lane wakes at the next ``next_action_at`` whatever it is. Without --postgres-url a throwaway server
is started with scripts/pg.sh (port SLA_BENCH_PG_PORT, 54367); each scenario gets a database of its own
(CREATE DATABASE, so a given URL's role needs CREATEDB).

Goals: p99 <= 2 s in every run, ratio = degraded p99 / healthy p99 <= 1.5 on each database. Last line:
clocks=N window_s=N sqlite_healthy_p99_s=N sqlite_degraded_p99_s=N sqlite_ratio=R postgres_healthy_p99_s=N
postgres_degraded_p99_s=N postgres_ratio=R
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/calendar.py would shadow the standard library's calendar module: drop this folder from the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, func, make_url, select, text, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.apply.service import apply_documents
from app.clocks.context import reset_caches
from app.clocks.models import ClockRow
from app.connections.models import ConnectionRow
from app.core.clock import system_now
from app.core.config import get_settings
from app.core.db import Database, build_engine
from app.core.runtime import tune_gc
from app.core.schema import upgrade
from app.escalations.models import FiredLevelRow, WriteBackTaskRow
from app.ingestion import flow
from app.tickets.events import NormalizedEvent
from app.tickets.models import TicketRow
from app.webhooks import service as webhook_service
from app.webhooks.models import DeliveryRow, OutboxEventRow
from app.webhooks.schemas import SubscriptionIn
from app.webhooks.urls import parse_networks
from app.worker.lanes import LANE_NAMES, Workers
from bench._harness import postgres as harness_postgres

TARGET_S = 3600
SETUP_BATCH = 500
SOURCE = "jira"
SECRET = "whsec_" + base64.b64encode(b"bench-receiver-secret!").decode()
WRITE_DELAY_S = 20.0
SCENARIOS = ("healthy", "degraded")
POLICY = {
    "kind": "policy",
    "name": "bench-escalations",
    "calendar": "24x7",
    "targets": [{"first_response": {"target": "1h"}}],
    "escalations": [
        {
            "metric": "first_response",
            "at": "breach",
            "actions": [{"webhook": "sla.breached"}, {"comment": "First response overdue (bench)"}],
        }
    ],
}
# Setup rate assumed when planning how far ahead the window opens (tickets/s); too low only wastes time,
# too high is caught: the lanes' clock is then shifted back by the overrun (reported as skew).
ASSUMED_SETUP_RATE = 300


def jira_key(index: int) -> str:
    return f"BENCH-{index}"


def connection_doc(base_url: str) -> dict[str, Any]:
    return {
        "kind": "connection",
        "name": SOURCE,
        "type": "jira",
        "base_url": base_url,
        "query": "",
        "auth": {"user_env": "JIRA_USER", "token_env": "JIRA_TOKEN"},
        "webhook_secret_env": "JIRA_WEBHOOK_SECRET",
        "enrich_comment_webhooks": False,
    }


# ---------------------------------------------------------------- the fakes (child process)


def serve_fakes(scenario: str, issues: int) -> None:
    """The receiver and the FakeJira on loopback until killed; SIGUSR1 prints their counts and releases
    whatever hangs (so the lanes' calls end and ``Workers.stop`` joins quickly)."""
    from tests.fakes.jira_server import FakeJira, jira_time
    from tests.fakes.loopback import serve_asgi
    from tests.webhooks.receiver import Receiver

    degraded = scenario == "degraded"
    receiver = Receiver(secret=SECRET, hang=degraded)
    jira = FakeJira(deployment="cloud", write_delay_seconds=WRITE_DELAY_S if degraded else 0.0)
    updated = jira_time(datetime.now(UTC))
    for i in range(issues):
        jira.add_issue({"id": str(100000 + i), "key": jira_key(i), "fields": {"summary": "bench", "updated": updated}})
    released = threading.Event()

    def release(*_: Any) -> None:
        comments = sum(len(c) for c in jira.comments.values())
        counts = {
            "receiver_hung": receiver.hung,
            "receiver_answered": len(receiver.requests),
            "receiver_distinct": len(receiver.distinct_delivered),
            "jira_writes": len(jira.calls("POST", "/comment")),
            "jira_answered": jira.answered_writes,
            "jira_comments": comments,
        }
        print("COUNTS " + json.dumps(counts), flush=True)
        receiver.release.set()
        jira.release.set()
        released.set()

    signal.signal(signal.SIGUSR1, release)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with serve_asgi(receiver.app()) as receiver_url, serve_asgi(jira.app) as jira_url:
        print(f"READY {receiver_url} {jira_url}", flush=True)
        while True:
            time.sleep(3600)


@contextmanager
def fakes(scenario: str, issues: int) -> Iterator[tuple[str, str, Callable[[], dict[str, int]]]]:
    """The child serving the fakes: (receiver url, Jira url, release) where ``release()`` returns their
    counts and lets every hanging call finish; the child is stopped when the block ends."""
    command = [sys.executable, __file__, "--serve-fakes", scenario, "--clocks", str(issues)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    out = child.stdout
    counts: dict[str, int] = {}

    def release() -> dict[str, int]:
        if not counts:
            child.send_signal(signal.SIGUSR1)
            line = out.readline()
            counts.update(json.loads(line.removeprefix("COUNTS ")) if line.startswith("COUNTS ") else {})
        return counts

    try:
        line = out.readline()
        if not line.startswith("READY "):
            raise SystemExit(f"fakes did not start: {line!r}")
        _, receiver_url, jira_url = line.split()
        yield receiver_url, jira_url, release
    finally:
        if child.poll() is None:
            child.terminate()
        child.wait(timeout=30)


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


def configure(db: Database, receiver_url: str, jira_url: str, at: datetime) -> None:
    """Policy and Jira connection (``app.apply``), the connection's sync pushed past the run, one
    subscription to ``sla.breached`` at the receiver (``app.webhooks.service``, as the API creates it)."""
    with db.transaction() as session:
        apply_documents(session, [POLICY, connection_doc(jira_url)], actor="bench", now=at, dry_run=False)
        later = at + timedelta(days=1)
        session.execute(update(ConnectionRow).where(ConnectionRow.name == SOURCE).values(next_sync_at=later))
        body = SubscriptionIn(url=receiver_url + "/hook", event_types=["sla.breached"], secret=SECRET)
        webhook_service.create(session, body, parse_networks(get_settings().webhook_allowed_networks), at)


def seed_history(db: Database, count: int, start: datetime, window: float, seeded_at: datetime) -> list[datetime]:
    """Tickets of the Jira source and their ``created`` events; returns each ticket's planned breach instant.

    ``created`` keeps its milliseconds; the engine floors it, so the breach falls on a whole second.
    """
    breach = [start + timedelta(milliseconds=round(window * 1000 * (i + 0.5) / count)) for i in range(count)]
    tickets, events = [], []
    template = NormalizedEvent.model_validate(
        {
            "source": SOURCE,
            "key": jira_key(0),
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
        key = jira_key(i)
        body = {**template, "key": key, "at": created.isoformat().replace("+00:00", "Z")}
        tickets.append((i + 1, SOURCE, key, "{}", created, False, seeded_at))
        events.append((i + 1, i + 1, SOURCE, key, "created", "created", created, json.dumps(body), seeded_at))
    NormalizedEvent.model_validate(json.loads(events[-1][7]))  # the stored body is a valid event

    def write(cur: Any, sqlite: bool) -> None:
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
    """The real projection (``flow.reproject``: project, then react) over every ticket, in batches, as of
    ``at`` (before any is due). A fixed instant, not the wall clock: a slow setup must not fire levels."""
    for first in range(1, count + 1, SETUP_BATCH):
        with db.transaction() as session:
            query = select(TicketRow).where(TicketRow.id >= first, TicketRow.id < first + SETUP_BATCH)
            flow.reproject(session, list(session.scalars(query)), at)
    if not db.is_sqlite:
        _raw(db, lambda cur, _sqlite: cur.execute("ANALYZE"))


# ---------------------------------------------------------------- where the write lock goes (SQLite)


class TimedLock:
    """Wraps the database's FairLock: per thread group, how long each acquire waited and each hold lasted."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.waits: dict[str, list[float]] = defaultdict(list)
        self.holds: dict[str, list[float]] = defaultdict(list)
        self._since: dict[int, float] = {}
        self._guard = threading.Lock()

    @staticmethod
    def group() -> str:
        # "sla-clocks" (the lane), "delivery_3" -> "delivery" (its pool), "writeback_0" -> "writeback".
        return re.sub(r"_\d+$", "", threading.current_thread().name)

    def acquire(self) -> None:
        asked = time.perf_counter()
        self.inner.acquire()
        got = time.perf_counter()
        with self._guard:
            self.waits[self.group()].append(got - asked)
        self._since[threading.get_ident()] = got

    def release(self) -> None:
        held = time.perf_counter() - self._since.pop(threading.get_ident(), time.perf_counter())
        with self._guard:
            self.holds[self.group()].append(held)
        self.inner.release()

    def reset(self) -> None:
        with self._guard:
            self.waits.clear()
            self.holds.clear()

    def summary(self) -> str:
        with self._guard:
            groups = sorted(set(self.waits) | set(self.holds))
            parts = []
            for name in groups:
                waits, holds = self.waits[name], self.holds[name]
                parts.append(f"{name}: {len(holds)} tx, hold {ms(holds)} (sum {sum(holds):.1f}s), wait {ms(waits)}")
            return "; ".join(parts)


# ---------------------------------------------------------------- figures


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank below), NaN when empty."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def ms(values: list[float]) -> str:
    """p50/p99/max of durations, in milliseconds."""
    return (
        f"p50 {pct(values, 0.5) * 1000:.1f} p99 {pct(values, 0.99) * 1000:.1f} "
        f"max {max(values, default=0) * 1000:.0f} ms"
    )


def fired_count(db: Database) -> int:
    with db.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(FiredLevelRow)) or 0)


def by_status(db: Database, model: Any) -> str:
    with db.transaction(write=False) as session:
        rows = session.execute(select(model.status, func.count()).group_by(model.status)).all()
    return ", ".join(f"{count} {status}" for status, count in sorted(rows)) or "none"


# ---------------------------------------------------------------- one run


def run(name: str, url: str, scenario: str, args: argparse.Namespace) -> dict[str, float]:
    """Fakes, configuration, seed, project, then every lane over the window; the figures of one run."""
    label = f"{name} {scenario}"
    reset_caches()  # every run starts with the same ids: no configuration carried over
    db = Database(build_engine(url))
    upgrade(db.engine)
    count, window = args.clocks, args.window
    began = time.time()
    lead = args.lead if args.lead is not None else 5 + count / ASSUMED_SETUP_RATE
    start = datetime.fromtimestamp(began + lead, UTC)
    with fakes(scenario, count) as (receiver_url, jira_url, release):
        seeded_at = system_now()
        configure(db, receiver_url, jira_url, seeded_at)
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
        # If setup ran past the planned opening, shift the lanes' clock back by the overrun (3 s margin).
        skew = max(0.0, time.time() + 3 - start.timestamp())
        print(
            f"{label}: setup {count} tickets+events seeded in {seeded:.1f}s, projected in {projected:.1f}s "
            f"({count / projected:.0f}/s); {scheduled} clocks scheduled, first next_action_at "
            f"{(first_action - start).total_seconds():+.1f}s from window open; skew {skew:.1f}s; "
            f"lanes {','.join(args.lanes)}, idle interval {args.interval:g}s",
            flush=True,
        )

        def now() -> datetime:
            return system_now() - timedelta(seconds=skew)

        timed = None
        if db.is_sqlite:
            db.start_background_checkpoints()  # as the service does (app.main's lifespan)
            timed = TimedLock(db._write_lock)
            db._write_lock = timed  # type: ignore[assignment]
        tune_gc()  # as the service and the worker command do before their lanes start
        workers = Workers(db, now, interval=args.interval, names=args.lanes)
        opened = start.timestamp() + skew
        settle, deadline = opened + window, opened + window + 60
        workers.start()
        lanes_began = time.time()
        try:
            time.sleep(max(0.0, settle - time.time()))
            while time.time() < deadline and fired_count(db) < count:
                time.sleep(0.5)
        finally:
            ended = time.time()
            # The I/O lanes' progress while they ran (read before the fakes let their hanging calls go).
            progress = f"deliveries {by_status(db, DeliveryRow)}; write-backs {by_status(db, WriteBackTaskRow)}"
            counts = release()
            stopping = time.perf_counter()
            workers.stop()
            stopped = time.perf_counter() - stopping
            alive = [w.name for w in workers.workers if w._thread is not None and w._thread.is_alive()]
        lock_summary = timed.summary() if timed is not None else ""
        if timed is not None:
            db._write_lock = timed.inner
        db.stop_background_checkpoints()

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
    late = [(at - due).total_seconds() for due, at in pairs]
    last = max((at for _, at in pairs), default=start).timestamp() + skew
    run_s = max(last - max(opened, lanes_began), 1e-9)
    exact = len(pairs) == count and distinct == count and breached_events == count
    print(
        f"{label}: fired {len(pairs)}/{count} levels ({distinct} distinct, {breached_events} sla.breached events; "
        f"{'exactly once' if exact else 'NOT exactly once'}; {off_plan} level instants off plan); "
        f"lateness p50 {pct(late, 0.5):.3f}s p99 {pct(late, 0.99):.3f}s max {max(late, default=0):.3f}s; "
        f"{len(pairs) / run_s:.0f}/s over {run_s:.0f}s",
        flush=True,
    )
    print(
        f"{label}: by the end ({ended - opened:.0f}s after the window opened): {progress}; "
        f"fakes {json.dumps(counts)}; lanes stopped in "
        f"{stopped:.1f}s{' (still alive: ' + ', '.join(alive) + ')' if alive else ''}",
        flush=True,
    )
    if lock_summary:
        print(f"{label}: write lock while the lanes ran: {lock_summary}", flush=True)
    db.dispose()
    return {"p50": pct(late, 0.5), "p99": pct(late, 0.99), "max": max(late, default=float("nan")), "ok": float(exact)}


@contextmanager
def pg_database(server_url: str, name: str) -> Iterator[str]:
    """A fresh database ``name`` on the server of ``server_url``, dropped when the block ends."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clocks", type=int, default=20_000)
    parser.add_argument("--window", type=float, default=120.0, help="seconds of real time the breaches spread over")
    parser.add_argument("--postgres-url")
    parser.add_argument("--lead", type=float, help="seconds from the start of setup to the window opening")
    parser.add_argument("--interval", type=float, help="the lanes' idle interval (default SLA_WORKER_INTERVAL_SECONDS)")
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated: healthy,degraded")
    parser.add_argument(
        "--lanes", default=",".join(LANE_NAMES), help="lanes to run (all by default; e.g. clocks, to diagnose)"
    )
    parser.add_argument("--serve-fakes", choices=SCENARIOS, help=argparse.SUPPRESS)  # internal: the child
    args = parser.parse_args()
    if args.serve_fakes:
        serve_fakes(args.serve_fakes, args.clocks)
        return
    args.lanes = [name.strip() for name in args.lanes.split(",") if name.strip()]
    if not args.lanes or set(args.lanes) - set(LANE_NAMES):
        parser.error(f"--lanes: choose from {', '.join(LANE_NAMES)}")
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if not scenarios or set(scenarios) - set(SCENARIOS):
        parser.error(f"--scenarios: choose from {', '.join(SCENARIOS)}")
    # A plain kill must still reach the ``finally`` blocks that stop the servers and remove the files.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # The connection names its credentials by env var; the receiver is on loopback.
    from tests.integrations.jira.fixtures import ENV

    os.environ.update(ENV)
    os.environ["SLA_WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
    get_settings.cache_clear()
    if args.interval is None:
        args.interval = get_settings().worker_interval_seconds

    nan = {"p50": float("nan"), "p99": float("nan"), "max": float("nan"), "ok": 1.0}
    results: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: nan)
    if args.only != "postgres":
        for scenario in scenarios:
            work = Path(tempfile.mkdtemp(prefix="sla-escalations-"))
            try:
                results["sqlite", scenario] = run("sqlite", f"sqlite:///{work / 'bench.db'}", scenario, args)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    if args.only != "sqlite":
        with harness_postgres(args.postgres_url, "54367") as server_url:
            for scenario in scenarios:
                with pg_database(server_url, f"sla_bench_{scenario}") as url:
                    results["postgres", scenario] = run("postgresql", url, scenario, args)
    if not all(r["ok"] for r in results.values()):
        print("WARNING: not every level fired exactly once (see above)")
    fields = [f"clocks={args.clocks}", f"window_s={args.window:g}"]
    for name in ("sqlite", "postgres"):
        healthy, degraded = results[name, "healthy"], results[name, "degraded"]
        ratio = degraded["p99"] / healthy["p99"] if healthy["p99"] > 0 else float("nan")
        fields += [
            f"{name}_healthy_p99_s={healthy['p99']:.3f}",
            f"{name}_degraded_p99_s={degraded['p99']:.3f}",
            f"{name}_ratio={ratio:.2f}",
        ]
    print(" ".join(fields))


if __name__ == "__main__":
    main()
