"""ServiceNow sync throughput and memory: `run_sync` (the product path: adapter, pysnow, keyset paging,
`sys_audit` + `sys_journal_field` per page, translation, ingestion into SQLite, page then cursor) over N
incidents in a FakeServiceNow on loopback, against fetching the same Table API pages (records, then
their audit and journal rows, with the adapter's own queries) with plain httpx and decoding their JSON,
nothing else (the baseline, measured in the same run).

The fake runs in a child process, so the peak RSS reported (getrusage maxrss) is this process's. Incidents
are the real INC0000060 record (value form) with fresh sys_ids, numbers and times; each has 2-6 `sys_audit`
rows in the documented shape (`audit_row`: state, priority, hold reason, assignment) and every other one
a `comments` journal row in the shape of the real `sys_journal_field` capture.

    .venv/bin/python bench/servicenow_sync.py [--records 30000]   # --records 100000: the goal's size

Last line: records=N records_per_s=N peak_rss_mb=N fetch_only_records_per_s=N ratio=R
Goals: >= 500 records/s, peak RSS <= 300 MB.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/calendar.py would shadow the standard library's calendar module: drop this folder from the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import os
import shutil
import sqlite3
import time
from datetime import datetime, timedelta
from typing import Any

import yaml

from bench._harness import child_process, make_workdir, migrate_and_apply, peak_rss_mb, service_env

# The issue asks for 100k; see the docstring for the flag. Smaller by default to stay near 3 minutes here.
DEFAULT_RECORDS = 30_000
FULL_RECORDS = 100_000
CREDENTIALS = {"SN_BENCH_USER": "integration", "SN_BENCH_PASSWORD": "s3cret"}
POLICY = """
kind: policy
name: itsm-bench
match: {source: [servicenow]}
metrics:
  first_response: {start: [created], stop: [agent_public_comment], pause_when: {status_category: [waiting]}}
  resolution: {start: [created], stop: [resolved], pause_when: {status_category: [waiting]}}
targets:
  - {priority: P1, first_response: {target: 30m}, resolution: {target: 8h}}
  - {first_response: {target: 4h, warn: 80%}, resolution: {target: 40h}}
"""
T0 = datetime(2025, 1, 6, 8, 0)
CALLER = "abel.tuter"


def connection(base_url: str) -> dict[str, Any]:
    return {
        "kind": "connection",
        "name": "servicenow",
        "type": "servicenow",
        "base_url": base_url,
        "auth": {"user_env": "SN_BENCH_USER", "password_env": "SN_BENCH_PASSWORD"},
        "mapping": {
            "tier": {"field": "company.name", "values": {"ACME North America": "platinum"}, "default": "standard"}
        },
    }


# --- the fake ServiceNow (child process) ---------------------------------------------------------


def _sn(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


def seed(fake: Any, total: int) -> None:
    """``total`` incidents with their audit trails and journal rows."""
    from tests.integrations.servicenow.conftest import INC60, audit_row, load, record_of

    template = {**record_of(INC60), "company.name": "ACME North America", "caller_id.user_name": CALLER}
    journal_template = load("sys_journal_field_list_rapid7_fixture.json")["result"][0]
    incidents, audits, journals = [], [], []
    for n in range(1, total + 1):
        sys_id = f"{n:032x}"
        opened = T0 + timedelta(seconds=30 * n)
        changes: list[tuple[timedelta, str, str, str]] = [(timedelta(minutes=5), "state", "1", "2")]
        if n % 4 == 0:
            changes.append((timedelta(minutes=7), "priority", "4", "3"))
        if n % 3 == 0:
            changes += [
                (timedelta(minutes=20), "state", "2", "3"),
                (timedelta(minutes=20), "hold_reason", "", "1"),
                (timedelta(hours=2), "state", "3", "2"),
                (timedelta(hours=2), "hold_reason", "1", ""),
            ]
        if n % 2 == 0:
            changes.append((timedelta(hours=3), "state", "2", "6"))
        state, priority, checkpoint = "1", "4", 1
        for k, (offset, field, old, new) in enumerate(changes):
            checkpoint += 1 if k == 0 or offset != changes[k - 1][0] else 0
            audits.append(audit_row(f"{n:024x}{k:08x}", sys_id, field, old, new, str(checkpoint), _sn(opened + offset)))
            state, priority = (new, priority) if field == "state" else (state, new if field == "priority" else priority)
        updated = opened + changes[-1][0]
        if n % 2 == 1:
            said = opened + timedelta(minutes=10)
            journals.append(
                {
                    **journal_template,
                    "sys_id": f"{n:024x}ffffffff",
                    "sys_created_on": _sn(said),
                    "element_id": sys_id,
                    "element": "comments",
                    "sys_created_by": "beth.anglin",
                }
            )
            updated, checkpoint = max(updated, said), checkpoint + 1
        incidents.append(
            {
                **template,
                "sys_id": sys_id,
                "number": f"INC{n:07d}",
                "opened_at": _sn(opened),
                "sys_created_on": _sn(opened),
                "sys_updated_on": _sn(updated),
                "state": state,
                "priority": priority,
                "hold_reason": "1" if state == "3" else "",
                "sys_mod_count": str(checkpoint),
                "closed_at": "",
                "resolved_at": "",
            }
        )
    fake.add("incident", *incidents)
    fake.add("sys_audit", *audits)
    fake.add("sys_journal_field", *journals)


def serve_fake(total: int) -> None:
    from tests.fakes.loopback import serve_asgi
    from tests.fakes.servicenow_server import FakeServiceNow

    fake = FakeServiceNow(user=CREDENTIALS["SN_BENCH_USER"], password=CREDENTIALS["SN_BENCH_PASSWORD"], indexed=True)
    fake.log_requests = False
    seed(fake, total)
    with serve_asgi(fake.app) as url:
        print(f"READY {url}", flush=True)
        while True:
            time.sleep(3600)


# --- the measurement (this process) --------------------------------------------------------------


def fetch_only(base_url: str, expected: int) -> float:
    """Records/s for the adapter's requests (records, audit, journal; same queries and paging), JSON only."""
    import httpx

    from integrations.servicenow.config import ServiceNowConnection
    from integrations.servicenow.sync import AUDIT_FIELDS, ID_BATCH, JOURNAL_FIELDS, records_query

    conn = ServiceNowConnection.model_validate({k: v for k, v in connection(base_url).items() if k != "kind"})
    tracked = ",".join(conn.tracked_fields())

    def get(client: httpx.Client, table: str, query: str, fields: list[str], limit: int, offset: int) -> Any:
        response = client.get(
            f"/api/now/table/{table}",
            params={
                "sysparm_query": query,
                "sysparm_fields": ",".join(fields),
                "sysparm_limit": limit,
                "sysparm_offset": offset,
                "sysparm_display_value": "false",
                "sysparm_exclude_reference_link": "true",
                "sysparm_suppress_pagination_header": "false",
            },
        )
        response.raise_for_status()
        return response, response.json()["result"]

    def all_rows(client: httpx.Client, table: str, query: str, fields: list[str]) -> None:
        offset = 0
        while True:
            response, _rows = get(client, table, query, fields, conn.history_page_size, offset)
            if 'rel="next"' not in response.headers.get("Link", ""):
                return
            offset += conn.history_page_size

    seen, lower, offset = 0, None, 0
    started = time.perf_counter()
    auth = (CREDENTIALS["SN_BENCH_USER"], CREDENTIALS["SN_BENCH_PASSWORD"])
    with httpx.Client(base_url=base_url, auth=auth, timeout=60) as client:
        while True:
            response, rows = get(
                client, conn.table, records_query(conn, lower), conn.record_fields(), conn.page_size, offset
            )
            seen += len(rows)
            ids = [row["sys_id"] for row in rows]
            for start in range(0, len(ids), ID_BATCH):
                in_ids = ",".join(ids[start : start + ID_BATCH])
                all_rows(
                    client,
                    "sys_audit",
                    f"tablename={conn.table}^documentkeyIN{in_ids}^fieldnameIN{tracked}"
                    "^ORDERBYsys_created_on^ORDERBYsys_id",
                    AUDIT_FIELDS,
                )
                all_rows(
                    client,
                    "sys_journal_field",
                    f"name={conn.table}^element_idIN{in_ids}^elementIN"
                    "comments,work_notes^ORDERBYsys_created_on^ORDERBYsys_id",
                    JOURNAL_FIELDS,
                )
            if not rows or 'rel="next"' not in response.headers.get("Link", ""):
                break
            newest = max(row["sys_updated_on"] for row in rows)
            if newest == lower:
                offset += conn.page_size
            else:
                lower, offset = newest, sum(1 for row in rows if row["sys_updated_on"] == newest)
    elapsed = time.perf_counter() - started
    # Keyset paging re-reads the rows that share the page's last timestamp; count distinct records.
    if seen < expected:
        raise SystemExit(f"fetch-only saw {seen} records, expected {expected}")
    return expected / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS)
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        serve_fake(args.records)
        return

    from app.connections import service as connection_service
    from app.core.clock import system_now
    from app.core.db import Database, build_engine

    os.environ.update(CREDENTIALS)  # the connection names its credentials by env var
    work = make_workdir()
    env = service_env(work)
    seeding = time.perf_counter()
    with child_process([__file__, "--serve-fake", "--records", str(args.records)]) as url:
        print(f"fake ServiceNow with {args.records} incidents ready in {time.perf_counter() - seeding:.1f}s at {url}")
        migrate_and_apply(env, work, POLICY + "\n---\n" + yaml.safe_dump(connection(url)))
        baseline = fetch_only(url, args.records)
        print(f"fetch-only (httpx + json, same records/audit/journal requests): {baseline:.0f} records/s")
        db = Database(build_engine(f"sqlite:///{work / 'sla-tracker.db'}"))
        started = time.perf_counter()
        report = connection_service.run_sync(db, "servicenow", system_now)
        elapsed = time.perf_counter() - started
        db.dispose()
    rss = peak_rss_mb()
    if report.error:
        raise SystemExit(f"sync failed: {report.error}")
    with sqlite3.connect(work / "sla-tracker.db") as conn:
        events = conn.execute("SELECT count(*) FROM ticket_events WHERE source = 'servicenow'").fetchone()[0]
        tickets = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
        clocks = conn.execute("SELECT count(*) FROM clocks").fetchone()[0]
    if tickets != args.records:
        raise SystemExit(f"sync stored {tickets} tickets, expected {args.records}")
    per_s = args.records / elapsed
    print(
        f"run_sync: {report.fetched} records read ({args.records} distinct) in {report.pages} pages, {elapsed:.1f}s, "
        f"{per_s:.0f} records/s; {report.new} new events ({events} stored), {tickets} tickets, {clocks} clocks; "
        f"cursor {report.cursor}"
    )
    print(
        f"goals: >= 500 records/s ({'met' if per_s >= 500 else 'missed'}), "
        f"peak RSS <= 300 MB ({'met' if rss <= 300 else 'missed'}: {rss:.0f} MB)"
    )
    if args.records < FULL_RECORDS:
        print(f"(the issue's size is {FULL_RECORDS} incidents: run with --records {FULL_RECORDS})")
    print(
        f"records={args.records} records_per_s={per_s:.0f} peak_rss_mb={rss:.0f} "
        f"fetch_only_records_per_s={baseline:.0f} ratio={per_s / baseline:.2f}"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
