"""Pure translation: fixtures to exact events, UTC parsing, state and hold-reason mapping."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from app.tickets.events import AuthorRole, EventType, NormalizedEvent, StatusCategory, TicketSnapshot
from integrations.servicenow.translate import created_event, history_events, journal_event, parse_sn_time
from tests.integrations.servicenow.conftest import INC60, INC60_ID, audit_row, inc60_history, load, make_conn, record_of

URL = "https://example.service-now.com/nav_to.do?uri=incident.do?sys_id="


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def ev(event_id: str, kind: EventType, when: str, **extra: object) -> NormalizedEvent:
    return NormalizedEvent(source="servicenow", key="INC0000060", id=event_id, type=kind, at=at(when), **extra)


def inc60() -> dict[str, str]:
    return {**record_of(INC60), "company.name": "ACME North America"}


def test_inc60_history_gives_exact_events() -> None:
    events = history_events(make_conn(), inc60(), inc60_history())
    chg = f"chg-{INC60_ID}"
    assert events == [
        ev(
            f"created-{INC60_ID}",
            EventType.created,
            "2016-12-12 15:19:57",
            ticket=TicketSnapshot(
                title="Unable to connect to email",
                status="New",
                status_category=StatusCategory.new,
                priority="P4",
                tier="platinum",
                assignee=None,
                type="incident",
                url=URL + INC60_ID,
                fields={"assignment_group": "287ebd7da9fe198100f92cc8d1d2154e", "impact": "2", "urgency": "2"},
            ),
        ),
        ev(
            f"{chg}-2-status",
            EventType.status_changed,
            "2016-12-12 15:25:00",
            to="In Progress",
            to_category=StatusCategory.open,
            **{"from": "New"},
        ),
        ev(
            f"{chg}-2-assignee",
            EventType.assignee_changed,
            "2016-12-12 15:25:00",
            to="5137153cc611227c000bbd1bd8cd2007",
        ),
        ev(
            f"{chg}-5-status",
            EventType.status_changed,
            "2016-12-12 16:00:00",
            to="On Hold",
            to_category=StatusCategory.waiting,
            **{"from": "In Progress"},
        ),
        ev(
            f"{chg}-7-status",
            EventType.status_changed,
            "2016-12-13 08:30:00",
            to="In Progress",
            to_category=StatusCategory.open,
            **{"from": "On Hold"},
        ),
        ev(f"{chg}-8-priority", EventType.priority_changed, "2016-12-13 09:00:00", to="P3", **{"from": "P4"}),
        ev(
            f"{chg}-12-status",
            EventType.status_changed,
            "2016-12-13 23:56:33",
            to="Resolved",
            to_category=StatusCategory.resolved,
            **{"from": "In Progress"},
        ),
        ev(
            f"{chg}-15-status",
            EventType.status_changed,
            "2016-12-14 02:46:44",
            to="Closed",
            to_category=StatusCategory.closed,
            **{"from": "Resolved"},
        ),
    ]


@pytest.mark.parametrize(
    ("payload", "key", "opened", "category", "priority", "assignee"),
    [
        (
            "incident_get_by_sysid_value_doc_INC0000046.json",
            "INC0000046",
            "2015-11-02 22:04:15",
            StatusCategory.new,
            "P3",
            None,
        ),
        (
            "incident_get_by_sysid_value_doc_cli_INC0010112.json",
            "INC0010112",
            "2019-07-29 18:48:43",
            StatusCategory.new,
            "P5",
            None,
        ),
        (
            "incident_list_value_exclref_INC0000037_inprogress_dev12629.json",
            "INC0000037",
            "2018-01-25 00:34:56",
            StatusCategory.open,
            "P3",
            "46ca0887a9fe19810191e08e51927ebf",
        ),
        (
            "incident_patch_response_value_doc_INC0000050.json",
            "INC0000050",
            "2015-11-02 21:58:24",
            StatusCategory.open,
            "P1",
            "681b365ec0a80164000fb0b05854a0cd",
        ),
        (
            "incident_list_value_exclref_3records_new_dev12629.json",
            "ABCDEF123",
            "2018-08-14 07:41:04",
            StatusCategory.new,
            "P5",
            None,
        ),
        (INC60, "INC0000060", "2016-12-12 15:19:57", StatusCategory.closed, "P3", "5137153cc611227c000bbd1bd8cd2007"),
    ],
)
def test_each_fixture_without_history_is_one_created_event(
    payload: str, key: str, opened: str, category: StatusCategory, priority: str, assignee: str | None
) -> None:
    record = record_of(payload)
    [event] = history_events(make_conn(), record, [])
    assert (event.key, event.id, event.type, event.at) == (
        key,
        f"created-{record['sys_id']}",
        EventType.created,
        at(opened),
    )
    assert event.ticket is not None
    ticket = event.ticket
    assert (ticket.status_category, ticket.priority, ticket.assignee) == (category, priority, assignee)
    assert event.ticket.tier == "standard"  # no company.name was read: the default tier


def test_journal_rows_become_comments_with_role_and_visibility() -> None:
    rows = load("sys_journal_field_records_rapid7_help_example.json")["incident_comments_worknotes"]
    record = {**record_of(INC60), "sys_id": "965f140bdb4c8c105f6f00b5ca961922", "caller_id.user_name": "abel.tuter"}
    events = [journal_event(make_conn(), record, row) for row in rows]
    assert [(e.id, e.at, e.author, e.author_role, e.public) for e in events] == [
        ("journal-2c6420c31b0000506a4a85507e4bcb82", at("2019-09-26 21:19:11"), "admin", AuthorRole.agent, False),
        ("journal-4db0e8cb1bcccc106a4a85507e4bcba2", at("2019-09-26 21:03:07"), "admin", AuthorRole.agent, True),
        ("journal-f92024471b0000506a4a85507e4bcb78", at("2019-09-26 21:00:43"), "admin", AuthorRole.agent, True),
    ]
    assert all(e.type is EventType.comment and e.key == "INC0000060" for e in events)
    as_caller = journal_event(make_conn(), {**record, "caller_id.user_name": "admin"}, rows[1])
    assert as_caller.author_role is AuthorRole.customer
    system = make_conn(mapping={"system_users": ["system", "admin"]})
    assert journal_event(system, record, rows[1]).author_role is AuthorRole.system


def test_audit_row_without_checkpoint_falls_back_to_its_own_id() -> None:
    row = audit_row(
        "b1c3d2e4f5a601001a2b3c4d5e6f7a8b",
        INC60_ID,
        "assigned_to",
        "46d44a5dc0a8010e0000c8b06e0b1971",
        "5137153cc611227c000bbd1bd8cd2007",
        "",
        "2016-12-13 10:00:00",
    )
    events = history_events(make_conn(), inc60(), [row])
    assert [(e.id, e.type, e.to) for e in events[1:]] == [
        ("audit-b1c3d2e4f5a601001a2b3c4d5e6f7a8b", EventType.assignee_changed, "5137153cc611227c000bbd1bd8cd2007"),
    ]
    assert events[0].ticket is not None
    assert events[0].ticket.assignee == "46d44a5dc0a8010e0000c8b06e0b1971"


def test_the_documented_audit_example_translates() -> None:
    row = load("sys_audit_record_limacharlie_doc_example.json")
    record = {**inc60(), "sys_id": row["documentkey"], "sys_mod_count": "7"}
    events = history_events(make_conn(), record, [row])
    assert [(e.id, e.from_, e.to, e.at) for e in events[1:]] == [
        (f"chg-{row['documentkey']}-7-assignee", row["oldvalue"], row["newvalue"], at("2026-06-11 09:14:33")),
    ]


@pytest.fixture
def far_timezone() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Pacific/Kiritimati"  # UTC+14: any local-time slip shows
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ")
        else:
            os.environ["TZ"] = old
        time.tzset()


def test_machine_timezone_does_not_change_results(far_timezone: None) -> None:
    assert time.localtime(1_800_000_000).tm_gmtoff == 14 * 3600
    assert parse_sn_time("2016-12-12 15:19:57") == datetime(2016, 12, 12, 15, 19, 57, tzinfo=UTC)
    assert parse_sn_time("") is None
    event = created_event(make_conn(), inc60())
    assert event.at == datetime(2016, 12, 12, 15, 19, 57, tzinfo=UTC)
    assert history_events(make_conn(), inc60(), inc60_history())[-1].at == datetime(2016, 12, 14, 2, 46, 44, tzinfo=UTC)


@pytest.mark.parametrize(
    ("state", "hold", "expected"),
    [
        ("1", "", StatusCategory.new),
        ("2", "", StatusCategory.open),
        ("3", "1", StatusCategory.waiting),
        ("3", "4", StatusCategory.open),
        ("3", "", StatusCategory.open),
        ("6", "", StatusCategory.resolved),
        ("7", "", StatusCategory.closed),
        ("8", "", StatusCategory.closed),
        ("99", "", None),
    ],
)
def test_incident_state_and_hold_reason_mapping(state: str, hold: str, expected: StatusCategory | None) -> None:
    assert make_conn().mapping.status_category("incident", state, hold) == expected


def test_waiting_hold_reasons_and_state_map_are_overridable() -> None:
    conn = make_conn(mapping={"waiting_hold_reasons": ["1", "4"], "state": {"1": "new", "3": "open", "10": "waiting"}})
    assert conn.mapping.status_category("incident", "3", "4") is StatusCategory.waiting
    assert conn.mapping.status_category("incident", "10", "") is StatusCategory.waiting
    assert conn.mapping.status_category("incident", "6", "") is None


def test_other_tables_need_an_explicit_state_map() -> None:
    with pytest.raises(ValidationError, match=r"mapping\.state is required"):
        make_conn(table="sc_req_item")
    mapping = {"state": {"1": "open", "3": "closed"}, "customer_field": "requested_for"}
    conn = make_conn(table="sc_req_item", mapping=mapping)
    assert "requested_for.user_name" in conn.record_fields()
    assert not conn.priority_is_calculated()


def test_connection_refuses_queries_that_would_escape_the_cursor() -> None:
    with pytest.raises(ValidationError, match="plain filter"):
        make_conn(query="active=true^NQpriority=1")
    with pytest.raises(ValidationError, match="plain filter"):
        make_conn(query="active=true^ORDERBYnumber")
