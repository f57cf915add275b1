"""A fake Jira (Cloud or Data Center) as a FastAPI app, for sync and write-back tests over real HTTP.

Serve it with ``tests.fakes.loopback.serve_asgi(fake.app)``. It keeps issues in
memory (REST issue objects, changelog histories, comments), answers the
endpoints the adapter and the ``jira`` library call, logs every request in
``requests`` and can inject faults (``fail``).

Response shapes follow real Jira responses, not guesses:

* Issues, statuses, comments: the webhook bodies in shared/payloads/jira
  (the tests load their ``issue`` objects into the fake), and the Cloud JSM REST
  issue in demisto/content ``Packs/Jira/Integrations/JiraV2/JiraV2.py``
  (``ISSUE_SCHEMA``: embedded ``comment`` block with ``jsdPublic: false``,
  reporter ``accountType: customer``, status "Waiting for customer").
* Classic search ``{expand, startAt, maxResults, total, issues}``: demisto/content
  ``Packs/Jira/Integrations/JiraV2/test_data/raw_response.py`` (``QUERY_ISSUE_RESPONSE``).
* Enhanced search ``{issues, nextPageToken, isLast}`` (the token is absent on
  the last page): jira.js ``SearchAndReconcileResults`` and Atlassian bug
  JRACLOUD-92184.
* Changelog page ``{self, nextPage, maxResults, startAt, total, isLast, values}``:
  jira.js ``PageChangelogSchema`` (Cloud ``GET /rest/api/2/issue/{key}/changelog``);
  embedded ``changelog {startAt, maxResults, total, histories}``: jira.js
  ``PageOfChangelogs``. Data Center has no paged changelog endpoint (pycontribs/jira
  issue #911), so the DC fake returns 404 there and the whole changelog on
  ``GET /issue/{key}?expand=changelog``.
* Comment page ``{startAt, maxResults, total, comments}`` and JSM comment
  ``properties: [{key: "sd.public.comment", value: {internal: true}}]``
  (with ``expand=properties``): pycontribs/jira ``JIRA.add_comment`` and the
  REST comment mocks found in public repositories through the code search.
* Errors ``{errorMessages: [...], errors: {field: message}}``: the shape
  ``jira.resilientsession.parse_errors`` reads.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

JsonDict = dict[str, Any]
_UPDATED_CLAUSE = re.compile(r'updated\s*>=\s*"(\d{4}-\d{2}-\d{2} \d{2}:\d{2})"')
CATEGORIES = {"new": (2, "To Do"), "indeterminate": (4, "In Progress"), "done": (3, "Done")}


def jira_time(at: datetime) -> str:
    """A time as Jira writes it: ``2019-08-20T10:12:51.573-0700``."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}" + at.strftime("%z")


def parse_jira_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


@dataclass
class Fault:
    status: int
    remaining: int
    path: str | None = None
    retry_after: str | None = None
    body: JsonDict | None = None


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    json: Any
    auth_scheme: str | None


@dataclass
class FakeJira:
    """In-memory Jira. ``deployment`` is ``cloud`` or ``datacenter``."""

    deployment: str = "cloud"
    changelog_embed_limit: int = 40  # Cloud's search embeds at most this many histories
    comment_embed_limit: int = 50
    # Data Center search normally embeds the whole changelog; set to exercise the adapter's fallback.
    dc_truncates_search_changelog: bool = False
    user: JsonDict = field(
        default_factory=lambda: {
            "accountId": "bot-1",
            "name": "sla-bot",
            "displayName": "SLA bot",
            "accountType": "atlassian",
        }
    )
    issues: dict[str, JsonDict] = field(default_factory=dict)
    histories: dict[str, list[JsonDict]] = field(default_factory=dict)
    comments: dict[str, list[JsonDict]] = field(default_factory=dict)
    statuses: dict[str, JsonDict] = field(default_factory=dict)
    priorities: list[str] = field(default_factory=lambda: ["Highest", "High", "Medium", "Low", "Lowest"])
    requests: list[LoggedRequest] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(90000))
    # A slow Jira: writes (POST/PUT) are answered this many seconds after they arrive (after the
    # write happened), or when ``release`` is set; ``answered_writes`` counts the answers sent.
    write_delay_seconds: float = 0.0
    release: threading.Event = field(default_factory=threading.Event)
    answered_writes: int = 0
    # For large benches: keep issues sorted by ``updated`` between searches instead of re-sorting every
    # issue on every page. Only valid while issues change through ``add_issue`` and the API, hence opt-in.
    indexed: bool = False
    _by_updated: list[tuple[datetime, str]] | None = field(default=None, repr=False)
    _keys_by_updated: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.app = _build_app(self)

    @property
    def cloud(self) -> bool:
        return self.deployment == "cloud"

    # --- test set-up ----------------------------------------------------------------------

    def add_issue(
        self, issue: JsonDict, histories: list[JsonDict] | None = None, comments: list[JsonDict] | None = None
    ) -> None:
        """Store a REST issue (``id``, ``key``, ``fields``) with its histories and comments."""
        key = issue["key"]
        self.issues[key] = issue
        self._by_updated = None
        self.histories[key] = list(histories or [])
        self.comments[key] = list(comments or [])
        status = issue["fields"].get("status")
        if status and status.get("statusCategory"):
            self.statuses[str(status["id"])] = status

    def add_status(self, status_id: str, name: str, category: str) -> None:
        cat_id, cat_name = CATEGORIES[category]
        self.statuses[status_id] = {
            "id": status_id,
            "name": name,
            "statusCategory": {"id": cat_id, "key": category, "name": cat_name},
        }

    def fail(
        self,
        times: int,
        status: int,
        *,
        path: str | None = None,
        retry_after: str | None = None,
        body: JsonDict | None = None,
    ) -> None:
        """Answer the next ``times`` requests (whose path contains ``path``) with ``status``."""
        self.faults.append(Fault(status=status, remaining=times, path=path, retry_after=retry_after, body=body))

    def calls(self, method: str, path_part: str) -> list[LoggedRequest]:
        return [r for r in self.requests if r.method == method and path_part in r.path]

    # --- rendering ------------------------------------------------------------------------

    def render_comment(self, comment: JsonDict, *, with_properties: bool) -> JsonDict:
        out = {k: v for k, v in comment.items() if k != "internal"}
        if self.cloud:
            out["jsdPublic"] = not comment.get("internal", False)
        if with_properties:
            out["properties"] = (
                [{"key": "sd.public.comment", "value": {"internal": True}}] if comment.get("internal") else []
            )
        return out

    def render_issue(self, key: str, fields: list[str], expand: str, *, searching: bool = False) -> JsonDict:
        issue = self.issues[key]
        wanted = set(",".join(fields).split(",")) if fields else {"*all"}
        chosen = {k: v for k, v in issue["fields"].items() if "*all" in wanted or k in wanted}
        if "comment" in wanted or "*all" in wanted:
            listed = self.comments[key]
            chosen["comment"] = {
                "comments": [self.render_comment(c, with_properties=False) for c in listed[: self.comment_embed_limit]],
                "maxResults": min(len(listed), self.comment_embed_limit),
                "total": len(listed),
                "startAt": 0,
            }
        out: JsonDict = {
            "expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
            "id": issue["id"],
            "self": f"https://fake/rest/api/2/issue/{issue['id']}",
            "key": key,
            "fields": chosen,
        }
        if "changelog" in expand:
            histories = self.histories[key]
            truncates = self.cloud or (searching and self.dc_truncates_search_changelog)
            limit = self.changelog_embed_limit if truncates else len(histories)
            out["changelog"] = {
                "startAt": 0,
                "maxResults": min(limit, len(histories)),
                "total": len(histories),
                "histories": histories[:limit],
            }
        return out

    def matching(self, jql: str) -> list[str]:
        """Issue keys for the JQL we send: optional ``updated >= "..."`` (UTC), ordered by updated."""
        match = _UPDATED_CLAUSE.search(jql)
        since = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC) if match else None
        if self.indexed:
            if self._by_updated is None:
                self._by_updated = sorted(
                    (parse_jira_time(issue["fields"]["updated"]), k) for k, issue in self.issues.items()
                )
                self._keys_by_updated = [k for _, k in self._by_updated]
            start = bisect.bisect_left(self._by_updated, (since,)) if since is not None else 0
            return self._keys_by_updated[start:]
        keys = [
            k
            for k, issue in self.issues.items()
            if since is None or parse_jira_time(issue["fields"]["updated"]) >= since
        ]
        return sorted(keys, key=lambda k: (parse_jira_time(self.issues[k]["fields"]["updated"]), k))

    # --- writing --------------------------------------------------------------------------

    def touch(self, key: str, items: list[JsonDict]) -> None:
        now = jira_time(datetime.now(UTC))
        self.issues[key]["fields"]["updated"] = now
        self._by_updated = None
        if items:
            self.histories[key].append(
                {"id": str(next(self._ids)), "author": self.user, "created": now, "items": items}
            )


def _error(status: int, messages: list[str], errors: JsonDict | None = None) -> JSONResponse:
    return JSONResponse({"errorMessages": messages, "errors": errors or {}}, status_code=status)


_NO_ISSUE = "Issue does not exist or you do not have permission to see it."


def _build_app(fake: FakeJira) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def log_and_fault(request: Request, call_next: Any) -> Response:
        raw = await request.body()
        auth = request.headers.get("authorization")
        fake.requests.append(
            LoggedRequest(
                method=request.method,
                path=request.url.path,
                query={k: request.query_params.getlist(k) for k in request.query_params},
                json=_json_or_none(raw),
                auth_scheme=auth.split(" ", 1)[0] if auth else None,
            )
        )
        if not auth:
            return _error(401, ["You are not authenticated."])
        for fault in fake.faults:
            if fault.remaining > 0 and (fault.path is None or fault.path in request.url.path):
                fault.remaining -= 1
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                body = fault.body or {"errorMessages": [f"fake fault {fault.status}"], "errors": {}}
                return JSONResponse(body, status_code=fault.status, headers=headers)
        response: Response = await call_next(request)
        if request.method in ("POST", "PUT") and fake.write_delay_seconds:
            deadline = time.monotonic() + fake.write_delay_seconds
            while time.monotonic() < deadline and not fake.release.is_set():
                await asyncio.sleep(0.05)
        if request.method in ("POST", "PUT"):
            fake.answered_writes += 1
        return response

    @app.get("/rest/api/2/serverInfo")
    def server_info() -> JsonDict:
        if fake.cloud:
            return {
                "baseUrl": "https://fake.atlassian.net",
                "version": "1001.0.0-SNAPSHOT",
                "versionNumbers": [1001, 0, 0],
                "deploymentType": "Cloud",
                "serverTitle": "Jira",
            }
        return {
            "baseUrl": "https://jira.fake",
            "version": "9.12.2",
            "versionNumbers": [9, 12, 2],
            "deploymentType": "Server",
            "serverTitle": "Jira",
        }

    @app.get("/rest/api/2/field")
    def fields() -> list[JsonDict]:
        names = [
            "summary",
            "status",
            "priority",
            "assignee",
            "reporter",
            "issuetype",
            "project",
            "created",
            "updated",
            "comment",
            "labels",
        ]
        return [{"id": n, "key": n, "name": n.capitalize(), "custom": False, "clauseNames": [n]} for n in names]

    @app.get("/rest/api/2/status")
    def statuses() -> list[JsonDict]:
        return list(fake.statuses.values())

    @app.get("/rest/api/{version}/search/jql")
    def enhanced_search(
        request: Request, jql: str, maxResults: int = 50, nextPageToken: str | None = None, expand: str = ""
    ) -> Response:
        if not fake.cloud:
            return _error(404, ["null for uri: /rest/api/2/search/jql"])
        start = int(base64.b64decode(nextPageToken).decode()) if nextPageToken else 0
        keys = fake.matching(jql)
        chosen = keys[start : start + maxResults]
        field_list = request.query_params.getlist("fields")
        body: JsonDict = {"issues": [fake.render_issue(k, field_list, expand, searching=True) for k in chosen]}
        if start + maxResults < len(keys):
            body["nextPageToken"] = base64.b64encode(str(start + maxResults).encode()).decode()
            body["isLast"] = False
        else:
            body["isLast"] = True
        return JSONResponse(body)

    @app.get("/rest/api/2/search")
    def classic_search(
        request: Request, jql: str, startAt: int = 0, maxResults: int = 50, expand: str = ""
    ) -> Response:
        if fake.cloud:
            return _error(410, ["The requested API has been removed. Please migrate to /rest/api/3/search/jql."])
        keys = fake.matching(jql)
        field_list = request.query_params.getlist("fields")
        return JSONResponse(
            {
                "expand": "names,schema",
                "startAt": startAt,
                "maxResults": maxResults,
                "total": len(keys),
                "issues": [
                    fake.render_issue(k, field_list, expand, searching=True)
                    for k in keys[startAt : startAt + maxResults]
                ],
            }
        )

    @app.get("/rest/api/2/issue/{key}/changelog")
    def changelog(key: str, startAt: int = 0, maxResults: int = 100) -> Response:
        if not fake.cloud or key not in fake.issues:
            return _error(404, [_NO_ISSUE])
        values = fake.histories[key]
        page = values[startAt : startAt + maxResults]
        return JSONResponse(
            {
                "self": f"https://fake/rest/api/2/issue/{key}/changelog?startAt={startAt}",
                "maxResults": maxResults,
                "startAt": startAt,
                "total": len(values),
                "isLast": startAt + len(page) >= len(values),
                "values": page,
            }
        )

    @app.get("/rest/api/2/issue/{key}/comment")
    def list_comments(key: str, startAt: int = 0, maxResults: int = 50, expand: str = "") -> Response:
        if key not in fake.issues:
            return _error(404, [_NO_ISSUE])
        listed = fake.comments[key]
        page = [
            fake.render_comment(c, with_properties="properties" in expand)
            for c in listed[startAt : startAt + maxResults]
        ]
        return JSONResponse({"startAt": startAt, "maxResults": maxResults, "total": len(listed), "comments": page})

    @app.get("/rest/api/2/issue/{key}")
    def get_issue(key: str, fields: str = "*all", expand: str = "") -> Response:
        if key not in fake.issues:
            return _error(404, [_NO_ISSUE])
        return JSONResponse(fake.render_issue(key, [fields], expand))

    @app.put("/rest/api/2/issue/{key}")
    async def edit_issue(key: str, request: Request) -> Response:
        if key not in fake.issues:
            return _error(404, [_NO_ISSUE])
        body = await request.json()
        current = fake.issues[key]["fields"]
        items = []
        priority = (body.get("fields") or {}).get("priority")
        if priority is not None:
            if priority.get("name") not in fake.priorities:
                return _error(400, [], {"priority": f"The priority selected is invalid: {priority.get('name')}"})
            old = (current.get("priority") or {}).get("name")
            current["priority"] = {"name": priority["name"], "id": str(fake.priorities.index(priority["name"]) + 1)}
            items.append(
                {
                    "field": "priority",
                    "fieldtype": "jira",
                    "fieldId": "priority",
                    "from": None,
                    "fromString": old,
                    "to": current["priority"]["id"],
                    "toString": priority["name"],
                }
            )
        for op in (body.get("update") or {}).get("labels") or []:
            labels = current.setdefault("labels", [])
            if "add" in op and op["add"] not in labels:
                labels.append(op["add"])
        fake.touch(key, items)
        return Response(status_code=204)

    @app.put("/rest/api/2/issue/{key}/assignee")
    async def assign(key: str, request: Request) -> Response:
        if key not in fake.issues:
            return _error(404, [_NO_ISSUE])
        body = await request.json()
        attr = "accountId" if fake.cloud else "name"
        if attr not in body:
            return _error(400, [], {attr: f"'{attr}' is required"})
        fake.issues[key]["fields"]["assignee"] = {attr: body[attr]} if body[attr] else None
        fake.touch(key, [])
        return Response(status_code=204)

    @app.post("/rest/api/2/issue/{key}/comment")
    async def add_comment(key: str, request: Request) -> Response:
        if key not in fake.issues:
            return _error(404, [_NO_ISSUE])
        body = await request.json()
        if not body.get("body"):
            return _error(400, [], {"comment": "Comment body can not be empty!"})
        internal = any(
            p.get("key") == "sd.public.comment" and (p.get("value") or {}).get("internal")
            for p in body.get("properties") or []
        )
        now = jira_time(datetime.now(UTC))
        comment = {
            "id": str(next(fake._ids)),
            "author": fake.user,
            "body": body["body"],
            "created": now,
            "updated": now,
            "internal": internal,
        }
        if body.get("visibility"):
            comment["visibility"] = body["visibility"]
        fake.comments[key].append(comment)
        fake.touch(key, [])
        return JSONResponse(fake.render_comment(comment, with_properties=True), status_code=201)

    return app


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
