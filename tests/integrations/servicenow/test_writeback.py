"""Write-back over real HTTP: PATCH bodies, priority through impact/urgency, refusals, retries."""

from __future__ import annotations

import pytest

from integrations.base import PermanentError, RetryableError, WriteBackAction, WriteBackKind
from integrations.servicenow.writeback import impact_urgency_for, raised
from tests.fakes.servicenow_server import FakeServiceNow
from tests.integrations.servicenow.conftest import load, record_of
from tests.integrations.servicenow.test_sync import Served, adapter

INC37 = "incident_list_value_exclref_INC0000037_inprogress_dev12629.json"  # impact 1, urgency 3, priority 3
INC50 = "incident_patch_response_value_doc_INC0000050.json"  # impact 1, urgency 1, priority 1
INC37_ID = "4715ab62a9fe1981018c3efb96143495"
GROUP = "287ebd7da9fe198100f92cc8d1d2154e"


@pytest.fixture
def seeded(served: Served) -> Served:
    fake, conn = served
    fake.add("incident", record_of(INC37), record_of(INC50))
    fake.add("incident", *(record_of("incident_list_value_exclref_3records_new_dev12629.json", i) for i in range(3)))
    return fake, conn


def patches(fake: FakeServiceNow) -> list[tuple[str, object]]:
    return [(r.path.rsplit("/", 1)[1], r.body) for r in fake.logged("PATCH")]


@pytest.mark.parametrize(
    ("action", "body"),
    [
        (
            WriteBackAction(WriteBackKind.comment, "INC0000037", body="Resolution due in 30 minutes"),
            {"work_notes": "Resolution due in 30 minutes"},
        ),
        (
            WriteBackAction(WriteBackKind.comment, "INC0000037", body="We are on it", public=True),
            {"comments": "We are on it"},
        ),
        (
            WriteBackAction(WriteBackKind.assign, "INC0000037", assignee="5137153cc611227c000bbd1bd8cd2007"),
            {"assigned_to": "5137153cc611227c000bbd1bd8cd2007"},
        ),
        (WriteBackAction(WriteBackKind.assign, "INC0000037", assignee=f"group:{GROUP}"), {"assignment_group": GROUP}),
        (WriteBackAction(WriteBackKind.priority, "INC0000037", priority="raise"), {"impact": "1", "urgency": "2"}),
        (WriteBackAction(WriteBackKind.priority, "INC0000037", priority="P1"), {"impact": "1", "urgency": "1"}),
    ],
)
def test_patch_bodies(seeded: Served, action: WriteBackAction, body: dict[str, str]) -> None:
    fake, conn = seeded
    adapter(conn).write_back(action)
    assert patches(fake) == [(INC37_ID, body)]
    params = dict(fake.logged("PATCH")[0].params)
    assert (params["sysparm_display_value"], params["sysparm_exclude_reference_link"]) == ("False", "True")


def test_a_work_note_lands_in_the_journal_as_internal(seeded: Served) -> None:
    fake, conn = seeded
    adapter(conn).write_back(WriteBackAction(WriteBackKind.comment, "INC0000037", body="note"))
    [row] = fake.tables["sys_journal_field"]
    assert (row["element_id"], row["element"], row["value"]) == (INC37_ID, "work_notes", "note")
    assert fake.tables["incident"][0]["sys_mod_count"] == "9"


def test_raise_at_the_top_priority_sends_nothing(seeded: Served) -> None:
    fake, conn = seeded
    adapter(conn).write_back(WriteBackAction(WriteBackKind.priority, "INC0000050", priority="raise"))
    assert patches(fake) == []


def test_tables_without_calculated_priority_get_priority_itself(seeded: Served) -> None:
    fake, conn = seeded
    adapter(conn.model_copy(update={"calculated_priority": False})).write_back(
        WriteBackAction(WriteBackKind.priority, "INC0000037", priority="raise")
    )
    assert patches(fake) == [(INC37_ID, {"priority": "2"})]


def test_refusal_raises_permanent_error_with_servicenow_message(seeded: Served) -> None:
    fake, conn = seeded
    fake.fail(403, method="PATCH", body=load("error_403_operation_failed_dev12629.json"))
    with pytest.raises(PermanentError, match="HTTP 403 Operation Failed: Error during insert of incident") as caught:
        adapter(conn).write_back(WriteBackAction(WriteBackKind.comment, "INC0000037", body="x"))
    assert caught.value.status == 403


def test_rate_limited_patch_is_retried_but_a_500_is_not(seeded: Served) -> None:
    fake, conn = seeded
    fake.fail(429, method="PATCH", retry_after=3)
    sleeps: list[float] = []
    adapter(conn, sleeps).write_back(WriteBackAction(WriteBackKind.comment, "INC0000037", body="x"))
    assert (sleeps, len(fake.logged("PATCH"))) == ([3.0], 2)
    fake.fail(500, method="PATCH")  # may have been applied: a blind retry could duplicate the note
    with pytest.raises(RetryableError, match="HTTP 500"):
        adapter(conn, sleeps).write_back(WriteBackAction(WriteBackKind.comment, "INC0000037", body="x"))
    assert len(fake.logged("PATCH")) == 3


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (WriteBackAction(WriteBackKind.comment, "INC9999999", body="x"), "no incident numbered INC9999999"),
        (WriteBackAction(WriteBackKind.comment, "ABCDEF123", body="x"), "several records numbered ABCDEF123"),
        (WriteBackAction(WriteBackKind.assign, "INC0000037", assignee="Beth Anglin"), "32-character sys_id"),
        (WriteBackAction(WriteBackKind.priority, "INC0000037", priority="urgent"), "unknown priority"),
        (WriteBackAction(WriteBackKind.labels, "INC0000037", labels=["x"]), "does not support labels"),
    ],
)
def test_impossible_actions_are_permanent_errors(seeded: Served, action: WriteBackAction, message: str) -> None:
    fake, conn = seeded
    with pytest.raises(PermanentError, match=message):
        adapter(conn).write_back(action)
    assert patches(fake) == []


@pytest.mark.parametrize(
    ("priority", "current", "expected"),
    [(1, (2, 2), (1, 1)), (2, (2, 2), (2, 1)), (3, (3, 3), (3, 1)), (4, (1, 1), (2, 3)), (5, (1, 3), (3, 3))],
)
def test_impact_urgency_matrix(priority: int, current: tuple[int, int], expected: tuple[int, int]) -> None:
    pair = impact_urgency_for(priority, *current)
    assert pair == expected
    assert sum(pair) - 1 == priority


def test_raise_moves_urgency_then_impact() -> None:
    assert [raised(3, 3), raised(3, 1), raised(1, 1)] == [(3, 2), (2, 1), None]
