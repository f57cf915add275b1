"""Ingestion throughput: POST /api/v1/events on one uvicorn worker over SQLite, against a FastAPI
hello-world measured with the same load tool (wrk) and the same request bodies in the same run.

    PYTHONPATH=$PWD .venv/bin/python bench/ingest.py [--seconds 15] [--connections 8]

Traffic (bench/events.lua): realistic tickets of 10 to 50 events each, in order: ``created``, agent
and customer comments (public and internal), status changes to waiting and back, priority, assignee
and field changes, then a resolve; each wrk thread keeps 100 tickets open and posts the next event of
one picked at random. A 2 s warm-up run precedes each measured run (its tickets have other keys).
Needs `wrk` (Debian package `wrk`; installed here if missing and running as root).

Goals: events/s >= 0.3 x the hello-world's requests/s (``ratio``), and p99 <= 50 ms.
The ratio is to the hello-world written as FastAPI's README does (a plain ``def``); the same
endpoint as ``async def`` is measured too and its ratio printed as ``ratio_async``.
Last line: events_per_s=N p50_ms=N p99_ms=N hello_req_per_s=N ratio=R hello_async_req_per_s=N ratio_async=R
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
import subprocess

from bench._harness import (
    CLI,
    ensure_wrk,
    free_port,
    group_commit_summary,
    hello_command,
    make_workdir,
    migrate_and_apply,
    run_wrk,
    running,
    service_command,
    service_env,
)

POLICY = """
kind: policy
name: bench
match: {source: [bench]}
metrics:
  first_response: {start: [created], stop: [agent_public_comment], pause_when: {status_category: [waiting]}}
  resolution: {start: [created], stop: [resolved], pause_when: {status_category: [waiting]}}
  next_response: {}
targets:
  - {priority: P1, first_response: {target: 30m}, resolution: {target: 8h}, next_response: {target: 1h}}
  - {first_response: {target: 4h, warn: 80%}, resolution: {target: 40h}, next_response: {target: 8h}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    ensure_wrk()
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
    env["SLA_BENCH_KEY"] = key

    results = {}
    batching = ""
    runs = (("hello", hello_command()), ("hello_async", hello_command("async_app")), ("ingest", service_command()))
    for name, command in runs:
        port = free_port()
        with running(command, port, env):
            run_wrk(port, 2, args.connections, {**env, "SLA_BENCH_RUN": "warm"})
            results[name] = run_wrk(port, args.seconds, args.connections, {**env, "SLA_BENCH_RUN": "run"})
            if name == "ingest":
                batching = group_commit_summary(port)
        if results[name]["non2xx"]:
            raise SystemExit(f"{name}: {results[name]['non2xx']} non-2xx answers")

    with sqlite3.connect(work / "sla-tracker.db") as conn:
        stored = conn.execute("SELECT count(*) FROM ticket_events").fetchone()[0]
        clocks = conn.execute("SELECT count(*) FROM clocks").fetchone()[0]
        tickets = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
        resolved = conn.execute("SELECT count(*) FROM tickets WHERE status_category = 'resolved'").fetchone()[0]
    hello = results["hello"]["requests"] / results["hello"]["seconds"]
    hello_async = results["hello_async"]["requests"] / results["hello_async"]["seconds"]
    ingest = results["ingest"]
    events_per_s = ingest["requests"] / ingest["seconds"]
    print(f"hello-world: {hello:.0f} req/s (p50 {results['hello']['p50_us'] / 1000:.1f} ms)")
    print(f"hello-world as async def: {hello_async:.0f} req/s (p50 {results['hello_async']['p50_us'] / 1000:.1f} ms)")
    print(
        f"ingest: {events_per_s:.0f} events/s, p50 {ingest['p50_us'] / 1000:.1f} ms, "
        f"p99 {ingest['p99_us'] / 1000:.1f} ms; stored {stored} events on {tickets} tickets "
        f"({resolved} resolved), {clocks} clocks (warm-up included)"
    )
    ratio = events_per_s / hello
    p99_ms = ingest["p99_us"] / 1000
    print(f"goals: ratio {ratio:.2f} (>= 0.3: {'met' if ratio >= 0.3 else 'NOT met'}), ", end="")
    print(f"p99 {p99_ms:.1f} ms (<= 50 ms: {'met' if p99_ms <= 50 else 'NOT met'})")
    print(f"{batching} (warm-up included)")
    print(
        f"events_per_s={events_per_s:.0f} p50_ms={ingest['p50_us'] / 1000:.1f} p99_ms={ingest['p99_us'] / 1000:.1f} "
        f"hello_req_per_s={hello:.0f} ratio={events_per_s / hello:.2f} "
        f"hello_async_req_per_s={hello_async:.0f} ratio_async={events_per_s / hello_async:.2f}"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
