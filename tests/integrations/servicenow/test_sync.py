"""Sync over real HTTP: pysnow against the fake Table API on loopback."""

from __future__ import annotations

import gc
import tracemalloc
import urllib.parse
from datetime import datetime
from typing import Any

import pytest

from app.tickets.events import EventType
from integrations.base import PermanentError, RetryableError, SyncPage
from integrations.servicenow.adapter import ServiceNowAdapter
from integrations.servicenow.client import PysnowTableClient
from integrations.servicenow.config import OAuthAuth, ServiceNowConnection
from integrations.servicenow.translate import history_events, journal_event
from tests.fakes.loopback import free_port
from tests.fakes.servicenow_server import FakeServiceNow
from tests.integrations.servicenow.conftest import INC60_ID, inc60_history, load, make_conn, record_of

from .test_translate import inc60

Served = tuple[FakeServiceNow, ServiceNowConnection]
SEED = [
    "incident_get_by_sysid_value_doc_INC0000046.json",
    "incident_patch_response_value_doc_INC0000050.json",
    "incident_list_value_exclref_INC0000037_inprogress_dev12629.json",
    "incident_get_by_sysid_value_doc_cli_INC0010112.json",
]


def journal_rows() -> list[dict[str, str]]:
    """The rapid7 rows, re-keyed to INC0000060 (rapid7 itself re-keyed them to "j1")."""
    rows = load("sys_journal_field_records_rapid7_help_example.json")["incident_comments_worknotes"]
    return [{**row, "element_id": INC60_ID} for row in rows]


def seed(fake: FakeServiceNow) -> None:
    """Eight incidents from the fixtures, INC0000060's audit trail and journal."""
    fake.add("incident", *(record_of(name) for name in SEED), inc60())
    fake.add("incident", *(record_of("incident_list_value_exclref_3records_new_dev12629.json", i) for i in range(3)))
    fake.add("sys_audit", *inc60_history())
    fake.add("sys_journal_field", *journal_rows())


def adapter(conn: ServiceNowConnection, sleeps: list[float] | None = None) -> ServiceNowAdapter:
    log = sleeps if sleeps is not None else []
    return ServiceNowAdapter(conn, lambda c: PysnowTableClient(c, sleep=log.append))


def run(conn: ServiceNowConnection, since: datetime | None = None, **kwargs: Any) -> list[SyncPage]:
    return list(adapter(conn, **kwargs).sync(since))


def test_full_sync_pages_through_records_with_history(served: Served) -> None:
    fake, conn = served
    seed(fake)
    pages = run(conn)
    assert [p.fetched for p in pages] == [3, 3, 2]
    assert [p.cursor for p in pages] == [
        "2016-12-14T02:46:44+00:00",
        "2018-08-14T07:49:43+00:00",
        "2019-07-29T18:49:28+00:00",
    ]
    events = [e for p in pages for e in p.events]
    created = [e.key for e in events if e.type is EventType.created]
    assert (len(created), len(set(created))) == (8, 6)  # three records share the number ABCDEF123
    journal = [journal_event(conn, inc60(), row) for row in journal_rows()]
    expected = history_events(conn, inc60(), inc60_history()) + journal
    assert [e for e in events if e.key == "INC0000060"] == sorted(expected, key=lambda e: (e.at, e.id))
    for page in pages:
        assert page.events == sorted(page.events, key=lambda e: (e.at, e.id))

    reads = fake.logged("GET", "incident")
    assert len(reads) == 3
    params = dict(reads[1].params)
    assert params["sysparm_query"] == "sys_updated_on>=2016-12-14 02:46:44^ORDERBYsys_updated_on^ORDERBYsys_id"
    assert (params["sysparm_limit"], params["sysparm_offset"]) == ("3", "1")
    assert (params["sysparm_display_value"], params["sysparm_exclude_reference_link"]) == ("False", "True")
    assert "caller_id.user_name" in params["sysparm_fields"].split(",")
    audit_query = dict(fake.logged("GET", "sys_audit")[0].params)["sysparm_query"]
    assert audit_query.startswith("tablename=incident^documentkeyIN")
    assert "^fieldnameINstate,hold_reason," in audit_query


def test_incremental_sync_rereads_only_the_overlap_and_ids_repeat(served: Served) -> None:
    fake, conn = served
    seed(fake)
    first = run(conn)
    stored = datetime.fromisoformat(first[1].cursor or "")  # as if page 3 had never been committed
    again = run(conn.model_copy(update={"sync_overlap_seconds": 600}), since=stored)
    # ABCDEF123 records were updated 07:41:04, 07:49:43, 08:01:28: all at or after 07:39:43
    assert {e.key for p in again for e in p.events} == {"ABCDEF123", "INC0010112"}
    first_ids = {e.dedupe_key() for p in first for e in p.events}
    assert {e.dedupe_key() for p in again for e in p.events} <= first_ids
    assert dict(fake.logged("GET", "incident")[len(first)].params)["sysparm_query"].startswith(
        "sys_updated_on>=2018-08-14 07:39:43^"
    )


def test_a_record_updated_mid_sync_is_not_skipped(served: Served) -> None:
    fake, conn = served
    seed(fake)
    pages = adapter(conn).sync(None)
    first = next(pages)
    moved = next(r for r in fake.tables["incident"] if r["number"] == "INC0000046")  # read on page 1
    moved["sys_updated_on"], moved["sys_mod_count"] = "2026-01-01 00:00:00", "5"
    rest = list(pages)
    keys = [e.key for p in [first, *rest] for e in p.events if e.type is EventType.created]
    assert sorted(set(keys)) == ["ABCDEF123", "INC0000037", "INC0000046", "INC0000050", "INC0000060", "INC0010112"]
    assert keys.count("ABCDEF123") == 3


def test_rows_hidden_by_acls_leave_short_pages_and_paging_goes_on(served: Served) -> None:
    fake, conn = served
    seed(fake)
    fake.hidden.add("ef43c6d40a0a0b5700c77f9bf387afe3")  # INC0000050, in the first window
    pages = run(conn)
    assert sum(p.fetched for p in pages) == 7
    assert "INC0000050" not in {e.key for p in pages for e in p.events}


def test_rate_limit_then_success_honours_retry_after(served: Served) -> None:
    fake, conn = served
    seed(fake)
    fake.fail(429, retry_after=7, table="incident", times=2)
    sleeps: list[float] = []
    assert sum(p.fetched for p in run(conn, sleeps=sleeps)) == 8
    assert sleeps == [7.0, 7.0]


def test_persistent_5xx_raises_retryable_and_stops_before_the_failing_page(served: Served) -> None:
    fake, conn = served
    seed(fake)
    pages = adapter(conn).sync(None)
    first = next(pages)
    before = len(fake.logged("GET", "sys_audit"))
    fake.fail(503, times=99, table="sys_audit")
    with pytest.raises(RetryableError, match="HTTP 503"):
        next(pages)
    assert first.cursor == "2016-12-14T02:46:44+00:00"  # the last cursor anyone could store
    assert len(fake.logged("GET", "sys_audit")) == before + conn.max_retries + 1


def test_bad_credentials_raise_permanent_error_with_servicenow_message(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, conn = served
    monkeypatch.setenv("SN_TEST_PASSWORD", "wrong")
    with pytest.raises(
        PermanentError, match="HTTP 401 User Not Authenticated: Required to provide Auth information"
    ) as caught:
        run(conn)
    assert caught.value.status == 401
    assert "wrong" not in str(caught.value)
    assert len(fake.logged()) == 1  # no retries on 401


def test_forbidden_journal_raises_permanent_error(served: Served) -> None:
    fake, conn = served
    seed(fake)
    fake.fail(403, table="sys_journal_field", body=load("error_403_insufficient_rights_rapid7_fixture.json"))
    with pytest.raises(PermanentError, match="Insufficient rights: Insufficient rights to query records"):
        run(conn)


def test_missing_credentials_env_is_permanent(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    _, conn = served
    monkeypatch.delenv("SN_TEST_USER")
    with pytest.raises(PermanentError, match="SN_TEST_USER is not set"):
        run(conn)


def _peak_while_syncing(conn: ServiceNowConnection, fake: FakeServiceNow, count: int, *, trace: bool = True) -> int:
    template = record_of("incident_list_value_exclref_INC0000037_inprogress_dev12629.json")
    fake.tables.clear()
    fake.add(
        "incident",
        *(
            {
                **template,
                "sys_id": f"{n:032x}",
                "number": f"INC{n:07d}",
                "sys_updated_on": f"2018-04-24 19:{n // 60 % 60:02d}:{n % 60:02d}",
            }
            for n in range(count)
        ),
    )
    fake.log_requests = False
    gc.collect()
    urllib.parse.clear_cache()  # type: ignore[attr-defined]
    if not trace:
        return sum(page.fetched for page in adapter(conn).sync(None))
    tracemalloc.start()
    try:
        fetched = 0
        for page in adapter(conn).sync(None):
            fetched += page.fetched
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert fetched == count
    return peak


def test_memory_stays_flat_as_the_record_count_grows(served: Served) -> None:
    fake, conn = served
    conn = conn.model_copy(update={"page_size": 10})
    # Both sizes make enough requests to fill urllib's bounded urlsplit cache (128 entries),
    # which would otherwise look like growth.
    _peak_while_syncing(conn, fake, 200, trace=False)
    small = _peak_while_syncing(conn, fake, 200)
    large = _peak_while_syncing(conn, fake, 800)
    assert large < small * 1.4, (small, large)  # 4x the records, not 4x the memory


def test_unreachable_instance_is_retryable(env: None) -> None:
    sleeps: list[float] = []
    with pytest.raises(RetryableError, match="ConnectionError"):
        run(make_conn(base_url=f"http://127.0.0.1:{free_port()}", max_retries=2), sleeps=sleeps)
    assert len(sleeps) == 2


def test_an_error_body_with_status_200_is_permanent(served: Served) -> None:
    fake, conn = served
    fake.fail(200, body={"error": {"message": "Invalid table", "detail": None}, "status": "failure"})
    with pytest.raises(PermanentError, match="Invalid table"):
        run(conn)


def test_oauth_client_gets_a_token_then_reads_with_it(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    fake, conn = served
    seed(fake)
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake listens on plain http
    monkeypatch.setenv("SN_TEST_CLIENT_ID", "sla-client")
    monkeypatch.setenv("SN_TEST_CLIENT_SECRET", "client-s3cret")
    oauth = conn.model_copy(
        update={
            "auth": OAuthAuth(
                user_env="SN_TEST_USER",
                password_env="SN_TEST_PASSWORD",
                client_id_env="SN_TEST_CLIENT_ID",
                client_secret_env="SN_TEST_CLIENT_SECRET",
            )
        }
    )
    assert sum(p.fetched for p in run(oauth)) == 8
    monkeypatch.setenv("SN_TEST_CLIENT_SECRET", "wrong")
    with pytest.raises(PermanentError, match="cannot authenticate") as caught:
        run(oauth)
    assert "wrong" not in str(caught.value)
