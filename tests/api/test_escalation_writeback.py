"""An escalation level on a Jira ticket writes back through the real adapter to a fake Jira on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.db import Database
from app.escalations import jobs as escalation_jobs
from app.escalations.models import WriteBackTaskRow
from tests.api.factories import apply
from tests.conftest import FakeClock, project_queued
from tests.fakes.jira_server import FakeJira, parse_jira_time
from tests.fakes.loopback import serve_asgi
from tests.integrations.jira.fixtures import ENV, loopback_connection, payload, signed_headers

POLICY = """
kind: policy
name: jira-support
match: {source: [jira]}
metrics:
  first_response: {start: [created], stop: [agent_public_comment]}
targets:
  - {first_response: {target: 1h}}
escalations:
  - {metric: first_response, at: breach, actions: [{comment: "First response is overdue", public: false}]}
"""


@pytest.fixture
def fake_jira() -> Iterator[tuple[FakeJira, str]]:
    fake = FakeJira(deployment="cloud")
    created = payload("issue_created-mattermost-cloud.json")
    fake.add_issue(created["issue"], [], [])
    with serve_asgi(fake.app) as url:
        yield fake, url


def test_breach_comments_internally_on_the_jira_issue(
    client: TestClient,
    admin_headers: dict[str, str],
    db: Database,
    clock: FakeClock,
    fake_jira: tuple[FakeJira, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    fake, url = fake_jira
    apply(client, admin_headers, POLICY + "\n---\n" + yaml.safe_dump(loopback_connection(url)))
    created = payload("issue_created-mattermost-cloud.json")
    # "Now" is the moment Jira created the issue: nothing is due yet when the webhook arrives.
    clock.set(parse_jira_time(created["issue"]["fields"]["created"]))
    body = json.dumps(created).encode()
    assert client.post("/webhooks/jira/jira", content=body, headers=signed_headers(body)).status_code == 200
    project_queued(db, clock)
    opened = client.get("/api/v1/tickets/jira/TES-41", headers=admin_headers).json()
    (clock_view,) = opened["clocks"]
    assert escalation_jobs.scan(db, clock) == 0
    assert escalation_jobs.writebacks(db, clock) == 0
    clock.advance(hours=1, seconds=1)  # just past the 1h limit
    assert escalation_jobs.scan(db, clock) == 1
    assert escalation_jobs.scan(db, clock) == 0  # fired once: nothing is due any more
    assert escalation_jobs.writebacks(db, clock) == 1

    posted = fake.calls("POST", "/comment")
    assert len(posted) == 1
    assert posted[0].json["body"] == "First response is overdue"
    assert posted[0].json["properties"] == [{"key": "sd.public.comment", "value": {"internal": True}}]
    with db.transaction(write=False) as session:
        (task,) = session.scalars(select(WriteBackTaskRow))
    assert task.status == "done"
    assert clock_view["metric"] == "first_response"
