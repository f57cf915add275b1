"""``sla-tracker sync`` alone, as a process of its own, reacts to what it syncs.

A fresh SQLite file is migrated and configured through the CLI, then ``sla-tracker sync jira-cli``
runs as a subprocess against the fake Jira on loopback, with no server and no worker anywhere. Its
tickets were opened hours ago, so escalation levels are already due: the sync's own projection must
fire them (``fired_levels``) and write their webhook events and the clocks' transition events to
the outbox. The expected rows are worked out here from the fake's issues and the policy.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from app.core.db import Database, build_engine
from app.escalations.models import FiredLevelRow
from app.tickets.models import TicketRow
from app.webhooks.models import OutboxEventRow
from tests.fakes.jira_server import FakeJira, parse_jira_time
from tests.fakes.loopback import serve_asgi
from tests.integrations.jira.fixtures import AGENT, ENV, REPORTER, comment, history, make_issue, status_item

ROOT = Path(__file__).resolve().parents[2]
CONNECTION = "jira-cli"
TO_DO, DONE = ("10001", "To Do"), ("10002", "Done")

# Every issue the fake serves is "High" (P2 by the connection's mapping), so the one target row applies.
FIRST_RESPONSE = timedelta(hours=1)
RESOLUTION = timedelta(hours=8)
POLICY = """
kind: policy
name: jira-support
calendar: 24x7
match: {source: [jira-cli]}  # a connection's tickets carry its name as their source
metrics:
  first_response: {start: [created], stop: [agent_public_comment]}
  resolution: {start: [created], stop: [resolved]}
targets:
  - {first_response: {target: 1h}, resolution: {target: 8h}}
escalations:
  - {metric: resolution, at: 50%, actions: [{webhook: sla.warning}]}
  - {metric: any, at: breach, actions: [{webhook: sla.breached}]}
"""
LIMITS = {"first_response": FIRST_RESPONSE, "resolution": RESOLUTION}
# (level key, metric it covers or "any", business time on 24x7 at which it is reached, webhook type)
LEVELS: list[tuple[str, str, Callable[[timedelta], timedelta], str]] = [
    ("0:resolution:50%:business", "resolution", lambda limit: limit / 2, "sla.warning"),
    ("1:any:breach:business", "any", lambda limit: limit + timedelta(seconds=1), "sla.breached"),
]
# No level may fall this close to a ticket's age: the sync runs a little after the expectations are made.
MARGIN = timedelta(minutes=10)


@dataclass(frozen=True)
class Shape:
    """One fake issue: how long ago it was opened, when an agent answered publicly and when it was resolved
    (offsets from its creation; None: not yet), and an internal note and a customer comment on the side."""

    n: int
    age: timedelta
    replied: timedelta | None = None
    resolved: timedelta | None = None


SHAPES = [
    Shape(1, timedelta(minutes=20)),  # nothing due yet
    Shape(2, timedelta(hours=2)),  # first response breached
    Shape(3, timedelta(hours=5)),  # first response breached, resolution past 50%
    Shape(4, timedelta(hours=10)),  # both breached, resolution past 50%
    Shape(5, timedelta(hours=5), replied=timedelta(minutes=10)),  # first response met; resolution past 50%
    Shape(6, timedelta(hours=10), replied=timedelta(minutes=10), resolved=timedelta(hours=2)),  # both met
    Shape(7, timedelta(hours=10), replied=timedelta(hours=3)),  # answered late: stopped breached, never fires
]


def seed(fake: FakeJira, now: datetime) -> None:
    fake.add_status(TO_DO[0], TO_DO[1], "new")
    fake.add_status(DONE[0], DONE[1], "done")
    for shape in SHAPES:
        opened = now - shape.age
        comments = [
            comment(8000 + 10 * shape.n, opened + timedelta(minutes=5), REPORTER),
            comment(8001 + 10 * shape.n, opened + timedelta(minutes=7), AGENT, internal=True),
        ]
        if shape.replied is not None:
            comments.append(comment(8002 + 10 * shape.n, opened + shape.replied, AGENT))
        histories = []
        if shape.resolved is not None:
            histories.append(
                history(7000 + shape.n, opened + shape.resolved, [status_item("s", frm=TO_DO, to=DONE)], AGENT)
            )
        last = max([opened + timedelta(minutes=7)] + [parse_jira_time(h["created"]) for h in histories])
        status = fake.statuses[(DONE if shape.resolved is not None else TO_DO)[0]]
        issue = make_issue(shape.n, created=opened, updated=last, status=status)
        fake.add_issue(issue, histories, sorted(comments, key=lambda c: c["created"]))


def _stops(fake: FakeJira, key: str) -> dict[str, datetime | None]:
    """When each metric's stop trigger fired, read from the fake's data (not from the adapter)."""
    replies = [
        parse_jira_time(c["created"])
        for c in fake.comments[key]
        if c["author"].get("accountType") != "customer" and not c.get("internal")
    ]
    done = [
        parse_jira_time(h["created"])
        for h in fake.histories[key]
        for item in h["items"]
        if item["field"] == "status" and fake.statuses[item["to"]]["statusCategory"]["key"] == "done"
    ]
    return {"first_response": min(replies, default=None), "resolution": min(done, default=None)}


def expected_rows(fake: FakeJira, now: datetime) -> tuple[Counter[tuple[str, str, str]], Counter[tuple[str, str]]]:
    """(ticket, metric, level key) of each level the policy fires on the first projection at ``now``, and
    (ticket, type) of every outbox event: each level's webhook, and one transition per new clock
    (``sla.met`` for a clock stopped in time, ``ticket.updated`` for any other new clock)."""
    fired: Counter[tuple[str, str, str]] = Counter()
    events: Counter[tuple[str, str]] = Counter()
    for key, issue in fake.issues.items():
        opened = parse_jira_time(issue["fields"]["created"])
        for metric, stop in _stops(fake, key).items():
            limit = LIMITS[metric]
            if stop is not None:  # a stopped clock fires nothing, whatever it reached before (docs/webhooks.md)
                events[(key, "sla.met" if stop - opened <= limit else "ticket.updated")] += 1
                continue
            events[(key, "ticket.updated")] += 1
            age = now - opened
            for level_key, covers, reached_after, webhook in LEVELS:
                if covers not in ("any", metric):
                    continue
                assert abs(age - reached_after(limit)) > MARGIN, f"{key}: {level_key} too close to call"
                if reached_after(limit) <= age:
                    fired[(key, metric, level_key)] += 1
                    events[(key, webhook)] += 1
    return fired, events


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed ``sla-tracker`` console script (next to this interpreter), with this checkout's code."""
    script = Path(sys.executable).with_name("sla-tracker")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from app.cli import main; main()"]
    return subprocess.run([*command, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def fake_jira() -> Iterator[tuple[FakeJira, str]]:
    fake = FakeJira(deployment="cloud")
    with serve_asgi(fake.app) as url:
        yield fake, url


def test_cli_sync_alone_fires_due_levels_and_writes_the_outbox(tmp_path: Path, fake_jira: tuple[FakeJira, str]) -> None:
    fake, url = fake_jira
    now = datetime.now(UTC).replace(microsecond=0)
    seed(fake, now)
    database = tmp_path / "cli.db"
    env = {name: value for name, value in os.environ.items() if not name.startswith("SLA_")}
    env |= {
        "SLA_DATABASE_URL": f"sqlite:///{database}",
        "SLA_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        **ENV,
    }
    connection = {
        "kind": "connection",
        "name": CONNECTION,
        "type": "jira",
        "base_url": url,
        "auth": {"user_env": "JIRA_USER", "token_env": "JIRA_TOKEN"},
        "query": "project = SUP",
        "page_size": 3,  # several pages: several transactions, each reacting to its own tickets
        "max_retries": 1,
        "timeout_seconds": 5,
        "mapping": {"priority": {"Highest": "P1", "High": "P2", "Medium": "P3", "Low": "P4"}},
    }
    config = tmp_path / "config.yaml"
    config.write_text(POLICY + "\n---\n" + yaml.safe_dump(connection), encoding="utf-8")

    for args in (["migrate"], ["apply", "-f", str(config)]):
        done = cli(*args, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    db = Database(build_engine(f"sqlite:///{database}"))
    try:
        with db.transaction(write=False) as session:
            assert session.scalar(select(func.count(OutboxEventRow.id))) == 0
            assert session.scalar(select(func.count(TicketRow.id))) == 0

        synced = cli("sync", CONNECTION, env=env, cwd=tmp_path)
        assert synced.returncode == 0, synced.stderr
        assert f"{CONNECTION}: " in synced.stdout

        expected_fired, expected_events = expected_rows(fake, now)
        assert sum(expected_fired.values()) == 9  # the shapes as commented above: 1 + 2 + 3 + 1 + 0 + 2 levels due
        with db.transaction(write=False) as session:
            tickets = {t.id: t.key for t in session.scalars(select(TicketRow))}
            fired = Counter(
                (tickets[row.ticket_id], row.clock_id, row.level_key) for row in session.scalars(select(FiredLevelRow))
            )
            events = list(session.scalars(select(OutboxEventRow).order_by(OutboxEventRow.id)))
        assert sorted(tickets.values()) == sorted(fake.issues)
        by_clock = {e.clock_id: e.payload["clock"]["metric"] for e in events if e.clock_id is not None}
        assert Counter((key, by_clock[clock_id], level) for key, clock_id, level in fired) == expected_fired
        assert max(fired.values(), default=0) == 1
        assert Counter((e.ticket_key, e.type) for e in events) == expected_events
        level_events = [e for e in events if "level" in e.payload]
        assert sorted((e.ticket_key, e.payload["clock"]["metric"], e.type) for e in level_events) == sorted(
            (key, metric, webhook)
            for key, metric, level_key in expected_fired.elements()
            for lk, _, _, webhook in LEVELS
            if lk == level_key
        )
    finally:
        db.dispose()
