"""Jira webhook throughput: signed, real-format Jira Cloud webhooks POSTed to /webhooks/jira/{connection}
of one uvicorn worker over SQLite, against the FastAPI hello-world (answering POST on the same path) loaded
by the same wrk script with the same requests in the same run.

Bodies are the real payloads in tests/integrations/jira/payloads (`jira:issue_created` for each new issue,
then `jira:issue_updated` status/priority/assignee changes and `comment_created`), each with fresh issue
ids/keys, changelog and comment ids, and timestamps. wrk's Lua cannot compute an HMAC, so the requests
(path, `X-Hub-Signature: sha256=<hex>`, delivery id, body) are generated here into one file per wrk thread,
which bench/webhooks.lua loads in `init` and sends in order: the service never gets a request twice unless
a thread runs out (reported; raise --requests). The hello-world, which stores nothing, is fast enough to
cycle through the files. The connection sets `enrich_comment_webhooks: false` (no Jira to ask here).

    .venv/bin/python bench/jira_webhooks.py [--seconds 15] [--connections 8] [--requests 80000] [--worker]

Last line: webhooks_per_s=N p50_ms=N p99_ms=N hello_req_per_s=N ratio=R queued_after_s=N (the projection
still to do when the load stopped: all of it without --worker)
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/calendar.py would shadow the standard library's calendar module: drop this folder from the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import copy
import hashlib
import hmac
import json
import os
import random
import shutil
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from bench._harness import (
    CLI,
    ROOT,
    ensure_wrk,
    free_port,
    group_commit_summary,
    hello_any_path_command,
    make_workdir,
    migrate_and_apply,
    run_wrk,
    running,
    service_command,
    service_env,
)
from tests.fakes.jira_server import jira_time
from tests.integrations.jira.fixtures import ENV, REPORTER, payload

CONNECTION = {
    "kind": "connection",
    "name": "jira",
    "type": "jira",
    "base_url": "https://example.atlassian.net",
    "auth": {"user_env": "JIRA_USER", "token_env": "JIRA_TOKEN"},
    "webhook_secret_env": "JIRA_WEBHOOK_SECRET",
    "query": "project = TES",
    # Cloud comment webhooks would otherwise ask Jira for the reporter; there is no Jira here.
    "enrich_comment_webhooks": False,
    "mapping": {
        "priority": {"Highest": "P1", "High": "P2", "Medium": "P3", "Low": "P4", "Lowest": "P4"},
        "status_category": {"Waiting for customer": "waiting"},
    },
}
POLICY = """
kind: policy
name: jira-bench
match: {source: [jira]}
metrics:
  first_response: {start: [created], stop: [agent_public_comment], pause_when: {status_category: [waiting]}}
  resolution: {start: [created], stop: [resolved], pause_when: {status_category: [waiting]}}
  next_response: {}
targets:
  - {priority: P1, first_response: {target: 30m}, resolution: {target: 8h}, next_response: {target: 1h}}
  - {first_response: {target: 4h, warn: 80%}, resolution: {target: 40h}, next_response: {target: 8h}}
"""
BASE = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
PATH = "/webhooks/jira/jira"
# After `jira:issue_created`, each issue gets some of these, in this order (a realistic lifecycle).
LIFECYCLE = ["started", "comment", "priority", "comment", "assignee", "comment", "resolved"]
TEMPLATES = {
    "created": "issue_created-mattermost-cloud.json",
    "started": "issue_updated-status-mattermost-cloud-started.json",
    "resolved": "issue_updated-status-mattermost-cloud-resolved.json",
    "priority": "issue_updated-priority-mattermost-cloud-raised.json",
    "assignee": "issue_updated-assignee-mattermost-cloud.json",
    "comment": "comment_created-mattermost-cloud.json",
}
ACTIVE = 200  # issues in flight per thread: an issue's consecutive webhooks are ~this many requests apart


class Bodies:
    """Fresh real-format webhook bodies; every id is unique across the whole run."""

    def __init__(self) -> None:
        self.templates = {kind: payload(name) for kind, name in TEMPLATES.items()}
        self.change_ids = iter(range(1_000_000, 10**9))
        self.comment_ids = iter(range(1_000_000, 10**9))

    def make(self, kind: str, n: int, step: int) -> dict[str, Any]:
        body = copy.deepcopy(self.templates[kind])
        at = BASE + timedelta(seconds=n * 7 + step * 90)
        body["timestamp"] = int(at.timestamp() * 1000)
        issue = body["issue"]
        issue["id"] = str(100_000 + n)
        issue["key"] = f"TES-{n}"
        issue["self"] = f"https://example.atlassian.net/rest/api/2/issue/{issue['id']}"
        fields = issue["fields"]
        if "updated" in fields:  # the 6-field issue of comment webhooks carries no times
            fields["updated"] = jira_time(at)
            fields["created"] = jira_time(BASE + timedelta(seconds=n * 7))
        if kind == "created":
            fields["reporter"] = copy.deepcopy(REPORTER)
        if "changelog" in body:
            body["changelog"]["id"] = str(next(self.change_ids))
        if "comment" in body:
            cid = str(next(self.comment_ids))
            body["comment"].update(
                {
                    "id": cid,
                    "self": f"https://example.atlassian.net/rest/api/2/issue/{issue['id']}/comment/{cid}",
                    "created": jira_time(at),
                    "updated": jira_time(at),
                }
            )
        return body


def schedule(issues: Iterator[int], count: int, rng: random.Random) -> Iterator[tuple[str, int, int]]:
    """(kind, issue number, step) for ``count`` webhooks: ``ACTIVE`` issues at a time, round-robin."""
    active: list[list[Any]] = []
    sent = 0
    while sent < count:
        while len(active) < ACTIVE:
            n = next(issues)
            # Most issues see a few updates; some are resolved, some stay open.
            steps = ["created", *LIFECYCLE[: rng.randint(1, len(LIFECYCLE))]]
            active.append([n, steps, 0])
        slot = rng.randrange(len(active))
        n, steps, step = active[slot]
        yield steps[step], n, step
        sent += 1
        active[slot][2] = step + 1
        if step + 1 == len(steps):
            active.pop(slot)


def write_requests(prefix: Path, threads: int, per_thread: int, first_issue: int, seed: int) -> int:
    """One request file per wrk thread; returns the number of requests written."""
    secret = ENV["JIRA_WEBHOOK_SECRET"].encode()
    bodies = Bodies()
    total = 0
    for tid in range(threads):
        rng = random.Random(seed + tid)
        issues = iter(range(first_issue + tid, 10**9, threads))  # each thread owns its own issues
        with open(f"{prefix}.{tid}", "w", encoding="utf-8") as out:
            for index, (kind, n, step) in enumerate(schedule(issues, per_thread, rng)):
                raw = json.dumps(bodies.make(kind, n, step), separators=(",", ":")).encode()
                signature = hmac.new(secret, raw, hashlib.sha256).hexdigest()
                out.write(f"{PATH}\t{signature}\tbench-{seed}-{tid}-{index}\t{raw.decode()}\n")
                total += 1
    return total


def project_backlog(work: Path, env: dict[str, str]) -> tuple[int, float]:
    """What `sla-tracker worker` does after the webhooks: project every queued ticket (the replay-requested
    job, 200 tickets per transaction), here in this process; returns (tickets projected, seconds)."""
    os.environ.update({k: v for k, v in env.items() if k.startswith("SLA_")})
    from app.clocks.jobs import replay_requested
    from app.core.clock import system_now
    from app.core.config import get_settings
    from app.core.db import Database, build_engine

    db = Database(build_engine(get_settings().effective_database_url))
    started, total = time.perf_counter(), 0
    while done := replay_requested(db, system_now):
        total += done
    elapsed = time.perf_counter() - started
    db.dispose()
    return total, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--requests", type=int, default=80000, help="pre-generated webhooks for the measured runs")
    parser.add_argument(
        "--worker",
        action="store_true",
        help="run the background worker in the service's process during the load (serve's default)",
    )
    args = parser.parse_args()
    ensure_wrk()
    threads = 2
    work = make_workdir()
    env = {**service_env(work), **ENV}
    migrate_and_apply(env, work, POLICY + "\n---\n" + yaml.safe_dump(CONNECTION))
    warm = write_requests(work / "warm", threads, 5000, first_issue=1, seed=1)
    generated = write_requests(work / "run", threads, args.requests // threads, first_issue=1_000_001, seed=2)
    script = ROOT / "bench/webhooks.lua"

    results, warmups = {}, {}
    batching = ""
    service = [CLI, "serve"] if args.worker else service_command()
    if args.worker:
        env["SLA_RUN_WORKERS"] = "true"
    for name, command in (("hello", hello_any_path_command()), ("webhooks", service)):
        port = free_port()
        with running(command, port, env):
            warm_env = {**env, "SLA_BENCH_REQUESTS": str(work / "warm")}
            warmups[name] = run_wrk(port, 2, args.connections, warm_env, script, threads)
            run_env = {**env, "SLA_BENCH_REQUESTS": str(work / "run")}
            results[name] = run_wrk(port, args.seconds, args.connections, run_env, script, threads)
            if name == "webhooks":
                batching = group_commit_summary(port)
        for result in (warmups[name], results[name]):
            if result["non2xx"] or result["errors"]:
                raise SystemExit(f"{name}: {result['non2xx']} non-2xx answers, {result['errors']} errors")

    projected, drain_s = project_backlog(work, env)
    with sqlite3.connect(work / "sla-tracker.db") as conn:
        receipts, new, duplicates = conn.execute(
            "SELECT count(*), coalesce(sum(events_new), 0), coalesce(sum(events_duplicate), 0) FROM webhook_receipts"
        ).fetchone()
        stored = conn.execute("SELECT count(*) FROM ticket_events WHERE source = 'jira'").fetchone()[0]
        tickets = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
        clocks = conn.execute("SELECT count(*) FROM clocks").fetchone()[0]
    hook = results["webhooks"]
    sent = int(hook["requests"] + warmups["webhooks"]["requests"])
    if hook["wrapped"] or warmups["webhooks"]["wrapped"]:
        print(f"warning: wrk ran out of the {generated} pre-generated webhooks and repeated some; raise --requests")
    # One receipt per delivery. wrk does not count requests still in flight when it stops (at most one per
    # connection per run), so the server may have stored a few more than wrk counted, never fewer.
    if not receipts >= sent or receipts > sent + 2 * args.connections:
        raise SystemExit(f"stored {receipts} webhook receipts for {sent} answered deliveries")
    if stored != new:
        raise SystemExit(f"{stored} jira events in ticket_events, receipts say {new} new")
    hello = results["hello"]["requests"] / results["hello"]["seconds"]
    per_s = hook["requests"] / hook["seconds"]
    print(f"generated {generated} signed webhooks ({warm} more for the warm-up), {threads} wrk threads")
    hello_p50 = results["hello"]["p50_us"] / 1000
    print(f"hello-world (same wrk script and requests): {hello:.0f} req/s (p50 {hello_p50:.1f} ms)")
    print(
        f"jira webhooks: {per_s:.0f} webhooks/s, p50 {hook['p50_us'] / 1000:.1f} ms, "
        f"p99 {hook['p99_us'] / 1000:.1f} ms; every answer 2xx"
    )
    print(
        f"verified in SQLite: {receipts} receipts for {sent} answered deliveries (warm-up included), "
        f"{new} new events ({duplicates} duplicates), {stored} jira events on {tickets} tickets, {clocks} clocks"
    )
    print(f"{batching} (warm-up included)")
    # Clocks come from the worker's projection (ADR 6): it must keep up with what the webhooks store.
    if clocks == 0:
        raise SystemExit(f"no clocks after projecting {projected} tickets")
    where = "left queued when the load stopped" if args.worker else "queued by the webhooks (no worker)"
    print(
        f"projection of the {projected} tickets {where}: {drain_s:.1f}s by the replay-requested job afterwards"
        + ("" if args.worker else f" ({new / drain_s:.0f} events/s)")
    )
    print(
        f"webhooks_per_s={per_s:.0f} p50_ms={hook['p50_us'] / 1000:.1f} p99_ms={hook['p99_us'] / 1000:.1f} "
        f"hello_req_per_s={hello:.0f} ratio={per_s / hello:.2f} queued_after_s={drain_s:.1f}"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
