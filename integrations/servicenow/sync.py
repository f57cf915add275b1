"""Incremental sync: changed records, then their ``sys_audit`` and ``sys_journal_field`` rows.

Paging is **keyset on ``sys_updated_on``** with ``sysparm_offset`` only inside one
timestamp: each request asks for ``sys_updated_on>=W`` ordered by
``sys_updated_on, sys_id``, where ``W`` is the newest timestamp already read. Plain
offset paging over a moving result set skips records (a record updated mid-sync
jumps to the end and shifts the rest one place back); keyset paging can only
repeat rows, and repeats are harmless because event ids are deterministic.

Whether to ask again follows the ``Link`` header: ``rel="next"`` means more rows,
a Link header without it means the end, and no Link header at all (one page, or
suppressed) means "more only if the page was full". A short or even empty page
with ``rel="next"`` is normal: ServiceNow applies ``sysparm_limit`` before ACLs.

Each ``SyncPage`` holds the events of at most ``page_size`` records and its
``cursor`` is the newest ``sys_updated_on`` of those records (ISO 8601, UTC).
The generator yields a page only after all its history was read, so a failure
raises before the cursor of the failing page exists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from app.tickets.events import NormalizedEvent
from integrations.base import SyncPage
from integrations.servicenow.client import TableClient
from integrations.servicenow.config import ServiceNowConnection
from integrations.servicenow.translate import format_sn_time, history_events, journal_event, parse_sn_time

AUDIT_FIELDS = [
    "sys_id",
    "documentkey",
    "fieldname",
    "oldvalue",
    "newvalue",
    "record_checkpoint",
    "sys_created_on",
    "user",
]
JOURNAL_FIELDS = ["sys_id", "element_id", "element", "sys_created_on", "sys_created_by"]
ID_BATCH = 100  # sys_ids per IN list, to keep request URLs short


def records_query(conn: ServiceNowConnection, lower: str | None) -> str:
    """The encoded query for one records request (our cursor filter AND the connection's filter)."""
    parts = [f"sys_updated_on>={lower}"] if lower else []
    if conn.query:
        parts.append(conn.query)
    parts.append("ORDERBYsys_updated_on^ORDERBYsys_id")
    return "^".join(parts)


def _wants_more(has_next: bool | None, returned: int, limit: int) -> bool:
    return has_next if has_next is not None else returned >= limit


def _all_rows(client: TableClient, table: str, query: str, fields: list[str], limit: int) -> Iterator[dict[str, Any]]:
    """Every row of an append-only table (sys_audit, sys_journal_field) matching ``query``."""
    offset = 0
    while True:
        page = client.get_page(table, query, fields, limit, offset)
        yield from page.rows
        if not _wants_more(page.has_next, len(page.rows), limit):
            return
        offset += limit


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def page_events(
    conn: ServiceNowConnection, client: TableClient, records: list[dict[str, Any]]
) -> list[NormalizedEvent]:
    """History (created + audited changes) and journal events of one page of records, oldest first."""
    by_id = {record["sys_id"]: record for record in records}
    audits: dict[str, list[dict[str, Any]]] = defaultdict(list)
    journals: dict[str, list[dict[str, Any]]] = defaultdict(list)
    tracked = ",".join(conn.tracked_fields())
    for ids in _chunks(list(by_id), ID_BATCH):
        in_ids = ",".join(ids)
        audit_query = (
            f"tablename={conn.table}^documentkeyIN{in_ids}^fieldnameIN{tracked}^ORDERBYsys_created_on^ORDERBYsys_id"
        )
        for row in _all_rows(client, "sys_audit", audit_query, AUDIT_FIELDS, conn.history_page_size):
            audits[row["documentkey"]].append(row)
        journal_query = (
            f"name={conn.table}^element_idIN{in_ids}^elementINcomments,work_notes^ORDERBYsys_created_on^ORDERBYsys_id"
        )
        for row in _all_rows(client, "sys_journal_field", journal_query, JOURNAL_FIELDS, conn.history_page_size):
            journals[row["element_id"]].append(row)

    events: list[NormalizedEvent] = []
    for sys_id, record in by_id.items():
        mod_count = int(record.get("sys_mod_count") or 0)
        # Audit rows newer than the record we read belong to a later read of it; the
        # record's sys_updated_on moved, so the next sync sees them with a fresh record.
        rows = [
            r
            for r in audits[sys_id]
            if not r.get("record_checkpoint", "").isdigit() or int(r["record_checkpoint"]) <= mod_count
        ]
        events += history_events(conn, record, rows)
        events += [journal_event(conn, record, row) for row in journals[sys_id]]
    return sorted(events, key=lambda event: (event.at, event.id))


def sync_pages(conn: ServiceNowConnection, client: TableClient, since: datetime | None) -> Iterator[SyncPage]:
    """Pages of events for records updated at or after ``since - sync_overlap_seconds`` (all when None)."""
    lower = format_sn_time(since - timedelta(seconds=conn.sync_overlap_seconds)) if since else None
    offset = 0
    limit = conn.page_size
    while True:
        page = client.get_page(conn.table, records_query(conn, lower), conn.record_fields(), limit, offset)
        more = _wants_more(page.has_next, len(page.rows), limit)
        if page.rows:
            newest = max(record["sys_updated_on"] for record in page.rows)
            moment = parse_sn_time(newest)
            yield SyncPage(
                events=page_events(conn, client, page.rows),
                cursor=moment.isoformat() if moment else None,
                fetched=len(page.rows),
            )
            if newest == lower:  # the whole window shares one timestamp: step over it
                offset += limit
            else:
                lower, offset = newest, sum(1 for record in page.rows if record["sys_updated_on"] == newest)
        else:
            offset += limit  # emptied by ACLs (limit applies before them): skip the window
        if not more:
            return
