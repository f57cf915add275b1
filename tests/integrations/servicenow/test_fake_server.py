"""The fake answers in the shapes the real Table API uses (SOURCES.md §4), or the other tests prove little."""

from __future__ import annotations

import requests

from integrations.servicenow.client import has_next_link
from tests.fakes.servicenow_server import FakeServiceNow
from tests.integrations.servicenow.conftest import load, record_of
from tests.integrations.servicenow.test_sync import Served

AUTH = ("integration", "s3cret")


def rels(link: str | None) -> list[str]:
    return [part.split(";rel=")[1].strip('"') for part in (link or "").split(",") if ";rel=" in part]


def test_link_headers_like_the_real_api(served: Served) -> None:
    fake, conn = served
    fake.add("incident", *(record_of("incident_list_value_exclref_3records_new_dev12629.json", i) for i in range(3)))
    url = f"{conn.base_url}/api/now/table/incident"
    pages = [
        requests.get(url, params={"sysparm_limit": 1, "sysparm_offset": n}, auth=AUTH, timeout=10) for n in range(3)
    ]
    assert [rels(p.headers.get("Link")) for p in pages] == [
        ["first", "next", "last"],
        ["first", "prev", "next", "last"],
        ["first", "prev", "last"],
    ]
    assert [has_next_link(p.headers.get("Link")) for p in pages] == [True, True, False]
    assert {p.headers["X-Total-Count"] for p in pages} == {"3"}
    whole = requests.get(url, params={"sysparm_limit": 10}, auth=AUTH, timeout=10)
    assert "Link" not in whole.headers
    assert has_next_link(whole.headers.get("Link")) is None


def test_reference_links_and_single_record_and_errors(served: Served) -> None:
    fake, conn = served
    fake.add("incident", record_of("incident_list_value_pdi_INC0000060_closed.json"))
    url = f"{conn.base_url}/api/now/table/incident"
    linked = requests.get(url, params={"sysparm_fields": "caller_id,number"}, auth=AUTH, timeout=10).json()
    assert linked["result"][0]["caller_id"] == {
        "link": f"{conn.base_url}/api/now/table/sys_user/681ccaf9c0a8016400b98a06818d57c7",
        "value": "681ccaf9c0a8016400b98a06818d57c7",
    }
    one = requests.get(f"{url}/1c741bd70b2322007518478d83673af3", auth=AUTH, timeout=10).json()
    assert one["result"]["number"] == "INC0000060"
    missing = requests.get(f"{url}/0000", auth=AUTH, timeout=10)
    assert (missing.status_code, missing.json()) == (404, load("error_404_no_record_found_dev12629.json"))
    denied = requests.get(url, auth=("integration", "nope"), timeout=10)
    assert (denied.status_code, denied.json()) == (401, load("error_401_user_not_authenticated_dev12629.json"))
    assert denied.headers["WWW-Authenticate"] == 'BASIC realm="Service-now"'


def test_rate_limit_body_is_the_documented_one(fake: FakeServiceNow) -> None:
    fake.fail(429, retry_after=5)
    failure = fake.failures[0]
    assert failure.body == load("error_429_rate_limit_exceeded_doc.json")
    assert failure.headers == {"Retry-After": "5"}
