"""Cost of a ticket's history: POST /api/v1/events and GET /api/v1/tickets/{source}/{key} on one ticket
as it grows to thousands of events, on one uvicorn worker over a SQLite file.

    PYTHONPATH=$PWD .venv/bin/python bench/long_ticket.py [--events 5000] [--gets 200]

The service (``sla-tracker serve --no-workers``, this checkout's code) gets bench/ingest.py's policy
(first_response, resolution and next_response, paused while waiting). One client (httpx, one keep-alive
connection) first posts a 30-event warm-up ticket (not measured), then creates the measured ticket and
posts its events one request at a time, each waiting for the answer, in a fixed realistic mix: customer
and agent comments (public and internal), status changes to "Waiting for customer" and back, priority,
assignee and custom-field changes. Every customer comment followed by an agent's public one is a
next_response cycle, so the ticket gathers clock cycles as well as events. Events are dated 20 s apart,
the last one a little before now.

Figures (latency as the client sees it, from sending the request to reading the whole answer). The
long ticket's last 50 events are posted interleaved with the events of five fresh tickets, so that
both sides of the ratio are measured in the same moments: on a shared machine a change of load
would otherwise pass for a cost of history.

- ``post_ms_at_10``: median POST latency of the fresh tickets' events 5 to 15 (``created`` is event 1),
  each posted next to one of the long ticket's last 50 events.
- ``post_ms_at_N``: median POST latency of the long ticket's last 50 events (N = ``--events``).
- ``ratio``: ``post_ms_at_N / post_ms_at_10``. Goal: <= 1.5 (an in-order event costs the same however
  long the ticket's history is).
- ``get_p50_ms_at_15`` / ``get_p50_ms_at_N``: median latency of ``--gets`` GETs of a fresh ticket (15
  events) and of the long ticket, alternated, after the last event. Goal at N = 5000: <= 10 ms.

The long ticket's own events 5 to 15, when it was new, and a GET of it then, are printed too (not in
the last line: they were measured minutes before the late figures).

Last line (machine-readable):
events=N post_ms_at_10=X post_ms_at_N=X ratio=R get_p50_ms_at_15=X get_p50_ms_at_N=X clock_cycles=N
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/calendar.py would shadow the standard library's calendar module: drop this folder from the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench._harness import (
    CLI,
    free_port,
    make_workdir,
    migrate_and_apply,
    running,
    service_command,
    service_env,
)
from bench.ingest import POLICY

SOURCE = "bench"
SPACING = timedelta(seconds=20)
EARLY = range(5, 16)  # event numbers (1-based) of the early window
LATE_COUNT = 50
WARMUP_EVENTS = 30


def created(key: str, at: datetime) -> dict[str, Any]:
    snapshot = {
        "title": f"Long-running ticket {key}",
        "priority": "P2",
        "tier": "gold",
        "status": "In Progress",
        "status_category": "open",
        "project": "SUP",
        "type": "Incident",
        "assignee": "agent-1",
    }
    return {"source": SOURCE, "key": key, "id": f"{key}-created", "type": "created", "at": iso(at), "ticket": snapshot}


# After ``created``, a ticket's events repeat this conversation: the customer writes, an agent notes
# internally, asks back publicly and parks the ticket waiting for the customer, who answers; the
# ticket goes back in progress, fields change, an agent answers publicly.
CYCLE: tuple[dict[str, Any], ...] = (
    {"type": "comment", "author": "customer@example.com", "author_role": "customer", "public": True},
    {"type": "comment", "author": "agent-1", "author_role": "agent", "public": False},
    {"type": "comment", "author": "agent-1", "author_role": "agent", "public": True},
    {"type": "status_changed", "from": "In Progress", "to": "Waiting for customer", "to_category": "waiting"},
    {"type": "comment", "author": "customer@example.com", "author_role": "customer", "public": True},
    {"type": "status_changed", "from": "Waiting for customer", "to": "In Progress", "to_category": "open"},
    {"type": "field_changed", "field": "component", "value": "billing"},
    {"type": "priority_changed", "from": "P2", "to": "P3"},
    {"type": "comment", "author": "agent-2", "author_role": "agent", "public": False},
    {"type": "assignee_changed", "from": "agent-1", "to": "agent-2"},
    {"type": "comment", "author": "agent-2", "author_role": "agent", "public": True},
    {"type": "field_changed", "field": "customer_impact", "value": "medium"},
    {"type": "priority_changed", "from": "P3", "to": "P2"},
    {"type": "assignee_changed", "from": "agent-2", "to": "agent-1"},
)


def ticket_events(key: str, count: int, first_at: datetime) -> Iterator[dict[str, Any]]:
    """The ticket's ``count`` events: ``created``, then the conversation repeated."""
    yield created(key, first_at)
    for n in range(1, count):
        shape = CYCLE[(n - 1) % len(CYCLE)]
        yield {"source": SOURCE, "key": key, "id": f"{key}-e{n}", "at": iso(first_at + n * SPACING), **shape}


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def post(client: httpx.Client, event: dict[str, Any]) -> float:
    """Milliseconds to post one event and read its answer."""
    start = time.perf_counter()
    response = client.post("/api/v1/events", json=event)
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise SystemExit(f"POST {event['id']}: {response.status_code} {response.text[:500]}")
    body = response.json()
    if body["accepted"] != 1:
        raise SystemExit(f"POST {event['id']} was not stored as new: {body}")
    return elapsed


def get_p50(client: httpx.Client, key: str, count: int) -> tuple[float, int]:
    """Median milliseconds of ``count`` GETs of the ticket, and the answer's size in bytes."""
    times = []
    size = 0
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(f"/api/v1/tickets/{SOURCE}/{key}")
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {key}: {response.status_code} {response.text[:500]}")
        size = len(response.content)
    return statistics.median(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000, help="events on the measured ticket (default 5000)")
    parser.add_argument("--gets", type=int, default=200, help="GET requests per latency figure (default 200)")
    args = parser.parse_args()
    n = args.events
    if n < max(EARLY) + LATE_COUNT:
        raise SystemExit(f"--events must be at least {max(EARLY) + LATE_COUNT}")
    work = make_workdir()
    env = service_env(work)
    migrate_and_apply(env, work, POLICY)
    key = subprocess.run(
        [CLI, "apikey", "create", "--name", "bench", "--scope", "write"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()

    now = datetime.now(UTC).replace(microsecond=0)
    first_at = now - (n + 5) * SPACING
    port = free_port()
    headers = {"Authorization": f"Bearer {key}"}
    long_events = list(ticket_events("LONG-1", n, first_at))
    # The fresh tickets' events 1 to 15, dated like the long ticket's last ones.
    fresh_tickets = -(-LATE_COUNT // len(EARLY))
    fresh_at = now - (max(EARLY) + 5) * SPACING
    fresh = [list(ticket_events(f"NEW-{i}", max(EARLY), fresh_at)) for i in range(fresh_tickets)]
    long_ms: list[float] = []
    fresh_ms: list[float] = []
    with (
        running(service_command(), port, env),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as client,
    ):
        for event in ticket_events("WARM-1", WARMUP_EVENTS, first_at):
            post(client, event)
        get_p50(client, "WARM-1", 20)
        start_get = 0.0
        started = time.monotonic()
        for number, event in enumerate(long_events[:-LATE_COUNT], start=1):
            long_ms.append(post(client, event))
            if number == max(EARLY):
                start_get, _ = get_p50(client, "LONG-1", args.gets)
            if number % 1000 == 0:
                recent = statistics.median(long_ms[-LATE_COUNT:])
                print(f"  {number} events posted, last {LATE_COUNT}: median {recent:.2f} ms", flush=True)
        # The long ticket's last events, each next to a fresh ticket's: both measured in the same
        # moments, so a load change on the machine cannot pass for a cost of history.
        late = long_events[-LATE_COUNT:]
        for ticket in fresh:
            for number, event in enumerate(ticket, start=1):
                took = post(client, event)
                if number in EARLY:
                    fresh_ms.append(took)
                    if late:
                        long_ms.append(post(client, late.pop(0)))
        for event in late:
            long_ms.append(post(client, event))
        posting_s = time.monotonic() - started
        fresh_get: list[float] = []
        long_get: list[float] = []
        size_fresh = size_long = 0
        for _ in range(args.gets):
            took, size_fresh = get_p50(client, "NEW-0", 1)
            fresh_get.append(took)
            took, size_long = get_p50(client, "LONG-1", 1)
            long_get.append(took)

    with sqlite3.connect(work / "sla-tracker.db") as conn:
        stored = conn.execute(
            "SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id WHERE t.key = 'LONG-1'"
        ).fetchone()[0]
        cycles = conn.execute(
            "SELECT count(*) FROM clocks c JOIN tickets t ON t.id = c.ticket_id WHERE t.key = 'LONG-1'"
        ).fetchone()[0]
    shutil.rmtree(work, ignore_errors=True)
    if stored != n:
        raise SystemExit(f"expected {n} events stored on the ticket, found {stored}")

    at_start = statistics.median(long_ms[min(EARLY) - 1 : max(EARLY)])
    early = statistics.median(fresh_ms)
    late_ms = statistics.median(long_ms[-LATE_COUNT:])
    get_early, get_late = statistics.median(fresh_get), statistics.median(long_get)
    print(f"posted {n} events in {posting_s:.1f} s; the ticket has {cycles} clock rows (metric cycles)")
    print(f"POST median, the long ticket's events {min(EARLY)}-{max(EARLY)} when it was new: {at_start:.2f} ms")
    print(f"POST median, fresh tickets' events {min(EARLY)}-{max(EARLY)} at the end: {early:.2f} ms")
    print(f"POST median, the long ticket's events {n - LATE_COUNT + 1}-{n}: {late_ms:.2f} ms")
    print(f"ratio {late_ms / early:.2f} (goal <= 1.5)")
    print(
        f"GET p50, a fresh ticket at 15 events: {get_early:.2f} ms ({size_fresh / 1000:.1f} kB); "
        f"the long ticket: {get_late:.2f} ms ({size_long / 1000:.1f} kB) (goal <= 10 ms); "
        f"the long ticket at 15 events, when it was new: {start_get:.2f} ms"
    )
    print(
        f"events={n} post_ms_at_10={early:.2f} post_ms_at_{n}={late_ms:.2f} ratio={late_ms / early:.2f} "
        f"get_p50_ms_at_15={get_early:.2f} get_p50_ms_at_{n}={get_late:.2f} clock_cycles={cycles}"
    )


if __name__ == "__main__":
    main()
