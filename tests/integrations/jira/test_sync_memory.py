"""Sync is a generator: peak memory does not grow with the number of issues.

A lazy in-process source stands in for Jira (HTTP would only add the server's
own allocations to the measurement): it makes each page of issues on demand,
as a search response would. The issues have the real six-field shape of the
Cloud ``comment_created`` webhook's issue, plus created/updated/reporter.
"""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections.abc import Iterator
from typing import Any

from integrations.jira.sync import iter_pages
from tests.fakes.jira_server import jira_time
from tests.integrations.jira.fixtures import (
    AGENT,
    REPORTER,
    T0,
    comment,
    history,
    make_conn,
    minutes,
    payload,
    status_item,
)

PAGE = 50


class LazyJira:
    """An ``IssueSource`` that generates ``total`` issues page by page, never all at once."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.template = json.dumps(payload("comment_created-mattermost-cloud.json")["issue"])

    def search(self, jql: str, fields: list[str], *, expand: str = "changelog") -> Iterator[list[dict[str, Any]]]:
        for start in range(0, self.total, PAGE):
            yield [self._issue(n) for n in range(start + 1, min(start + PAGE, self.total) + 1)]

    def _issue(self, n: int) -> dict[str, Any]:
        at = T0 + minutes(n)
        issue = json.loads(self.template)
        issue.update({"id": str(20000 + n), "key": f"SUP-{n}"})
        issue["fields"].update({"created": jira_time(T0), "updated": jira_time(at), "reporter": REPORTER})
        issue["changelog"] = {
            "startAt": 0,
            "maxResults": 2,
            "total": 2,
            "histories": [
                history(n * 10, at, [status_item("", frm=("10001", "To Do"), to=("3", "In Progress"))]),
                history(n * 10 + 1, at, [status_item("", frm=("3", "In Progress"), to=("10001", "To Do"))]),
            ],
        }
        comments = [comment(n * 10, at, AGENT)]
        for c in comments:
            c["jsdPublic"] = not c.pop("internal")
        issue["fields"]["comment"] = {"comments": comments, "maxResults": 1, "total": 1, "startAt": 0}
        return issue

    def changelog(self, key: str) -> Iterator[dict[str, Any]]:
        raise AssertionError("the embedded changelog is complete")

    def comments(self, key: str) -> Iterator[dict[str, Any]]:
        raise AssertionError("the embedded comments are complete")

    def status_categories(self) -> dict[str, str]:
        return {"10001": "new", "3": "indeterminate"}


def _peak(total: int) -> tuple[int, int]:
    conn = make_conn()
    gc.collect()
    tracemalloc.start()
    try:
        events = 0
        for page in iter_pages(conn, LazyJira(total), None):
            events += len(page.events)  # the consumer commits each page and lets it go
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return events, peak


def test_peak_memory_is_flat_in_the_number_of_issues() -> None:
    small_events, small_peak = _peak(500)
    large_events, large_peak = _peak(5000)
    assert (small_events, large_events) == (500 * 4, 5000 * 4)
    # Ten times the issues, about the same peak: one page is held at a time.
    assert large_peak < small_peak * 1.5, (small_peak, large_peak)
