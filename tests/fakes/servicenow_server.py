"""A fake ServiceNow Table API (FastAPI), answering what pysnow 0.7.17 sends.

Serve it with ``tests.fakes.loopback.serve_asgi(fake.app)``. What it models, from
real captures (shared/payloads/servicenow/SOURCES.md):

* ``GET /api/now/table/<table>`` with ``sysparm_query`` (``^``-joined ``field=v``,
  ``!=``, ``>=``, ``>``, ``<=``, ``<``, ``INa,b``, ``ORDERBYf``, ``ORDERBYDESCf``;
  ``^OR``/``^NQ`` answer 400), ``sysparm_limit``, ``sysparm_offset``,
  ``sysparm_fields``, ``sysparm_exclude_reference_link`` (references as
  ``{"link","value"}`` unless true) and ``sysparm_suppress_pagination_header``;
  ``sysparm_display_value`` other than false answers 400 (only value form is served);
* ``X-Total-Count`` always; ``Link`` with ``rel="first"``, ``"prev"``, ``"next"``,
  ``"last"`` (prev/next only where they apply, none when one page holds everything);
* ``GET``/``PATCH /api/now/table/<table>/<sys_id>``; a PATCH of ``comments`` or
  ``work_notes`` appends a ``sys_journal_field`` row; other fields are set and
  ``sys_mod_count``/``sys_updated_on`` move on;
* Basic auth; failures as ``{"error": {"message", "detail"}, "status": "failure"}``;
* ``hidden`` sys_ids dropped *after* the limit is applied, as ACLs are;
* injected failures (``fail``) and a request log (``requests``).

Dot-walked values (``caller_id.user_name``) are stored in the rows under their
dotted names: the fake does not resolve references.
"""

from __future__ import annotations

import base64
import bisect
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

CONDITION = re.compile(r"^([a-z0-9_.]+)(IN|>=|<=|!=|=|>|<)(.*)$", re.DOTALL)
REFERENCE_TABLES = {
    "caller_id": "sys_user",
    "assigned_to": "sys_user",
    "opened_by": "sys_user",
    "company": "core_company",
    "assignment_group": "sys_user_group",
}
JOURNAL_FIELDS = ("comments", "work_notes")


def error_body(message: str, detail: str | None) -> dict[str, Any]:
    """ServiceNow's failure envelope."""
    return {"error": {"message": message, "detail": detail}, "status": "failure"}


@dataclass
class Failure:
    """An injected answer for the next ``times`` matching requests."""

    status: int
    times: int = 1
    method: str = "GET"
    table: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


@dataclass
class LoggedRequest:
    method: str
    path: str
    params: list[tuple[str, str]]
    body: Any


class BadQuery(Exception):
    pass


def _matches(row: dict[str, Any], term: str) -> bool:
    found = CONDITION.match(term)
    if not found:
        raise BadQuery(term)
    name, op, value = found.groups()
    actual = str(row.get(name, ""))
    if op == "IN":
        return actual in value.split(",")
    return {
        "=": actual == value,
        "!=": actual != value,
        ">=": actual >= value,
        ">": actual > value,
        "<=": actual <= value,
        "<": actual < value,
    }[op]


def _sort_key(name: str) -> Callable[[dict[str, Any]], str]:
    def key(row: dict[str, Any]) -> str:
        return str(row.get(name, ""))

    return key


def run_query(rows: list[dict[str, Any]], query: str) -> list[dict[str, Any]]:
    """Filter and order ``rows`` by an encoded query (string comparison, as value form sorts)."""
    terms = [t for t in query.split("^") if t] if query else []
    if any(t.startswith(("OR", "NQ")) and not t.startswith("ORDERBY") for t in terms):
        raise BadQuery("^OR/^NQ are not supported by the fake")
    orders = [t for t in terms if t.startswith("ORDERBY")]
    result = [r for r in rows if all(_matches(r, t) for t in terms if not t.startswith("ORDERBY"))]
    for order in reversed(orders):
        descending = order.startswith("ORDERBYDESC")
        name = order[len("ORDERBYDESC") :] if descending else order[len("ORDERBY") :]
        result.sort(key=_sort_key(name), reverse=descending)
    return result


class FakeServiceNow:
    """In-memory tables behind a FastAPI app; ``now`` is the fake clock for writes."""

    def __init__(
        self,
        *,
        user: str = "integration",
        password: str = "s3cret",
        now: str = "2026-06-11 10:00:00",
        client_id: str = "sla-client",
        client_secret: str = "client-s3cret",
        indexed: bool = False,
    ):
        self.user, self.password, self.now = user, password, now
        self.client_id, self.client_secret = client_id, client_secret
        self.tokens: set[str] = set()
        self.tables: dict[str, list[dict[str, Any]]] = {}
        self.hidden: set[str] = set()
        self.failures: list[Failure] = []
        self.requests: list[LoggedRequest] = []
        self.log_requests = True  # off for memory measurements: the log itself grows per request
        self._lock = threading.Lock()
        self._ids = 0
        # For large benches: answer queries from per-field indexes and cached sort orders instead of
        # scanning every row on every request. Same answers as ``run_query``, but only valid while rows
        # change through ``add`` and the API (tests that edit rows in place must leave it off).
        self.indexed = indexed
        self._cache: dict[tuple[Any, ...], Any] = {}
        self.app = self._build()

    # -- seeding and inspection -------------------------------------------------
    def add(self, table: str, *rows: dict[str, Any]) -> None:
        """Insert rows (value form, string values)."""
        self.tables.setdefault(table, []).extend(dict(row) for row in rows)
        self._cache.clear()

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        method: str = "GET",
        table: str | None = None,
        retry_after: int | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (429 gets the documented body)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        if body is None and status == 429:
            body = error_body("Rate limit exceeded", "Rate limit of 100 requests per hour for Table API exceeded")
        self.failures.append(Failure(status, times, method, table, headers, body))

    def logged(self, method: str | None = None, table: str | None = None) -> list[LoggedRequest]:
        """Logged requests, optionally for one method and table."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (table is None or r.path.rstrip("/").split("/")[4] == table)
        ]

    # -- HTTP -------------------------------------------------------------------
    def _authorised(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        given = request.headers.get("authorization", "")
        return given == f"Basic {expected}" or (given.startswith("Bearer ") and given[7:] in self.tokens)

    def _injected(self, method: str, table: str) -> Response | None:
        with self._lock:
            for failure in self.failures:
                if failure.times > 0 and failure.method == method and failure.table in (None, table):
                    failure.times -= 1
                    body = failure.body or error_body("Internal Server Error", None)
                    return JSONResponse(body, status_code=failure.status, headers=failure.headers)
        return None

    def _render(self, row: dict[str, Any], fields: list[str], exclude_links: bool, base: str) -> dict[str, Any]:
        names = fields or [k for k in row if "." not in k]
        out: dict[str, Any] = {}
        for name in names:
            if name not in row:
                continue
            value = row[name]
            if not exclude_links and name in REFERENCE_TABLES and value:
                value = {"link": f"{base}/api/now/table/{REFERENCE_TABLES[name]}/{value}", "value": value}
            out[name] = value
        return out

    def _list(self, request: Request, table: str) -> Response:
        params = request.query_params
        if params.get("sysparm_display_value", "false").lower() != "false":
            return JSONResponse(error_body("Unsupported by fake", "only value form"), status_code=400)
        try:
            rows = self._query(table, params.get("sysparm_query", ""))
        except BadQuery as exc:
            return JSONResponse(error_body("Invalid query", str(exc)), status_code=400)
        limit = int(params.get("sysparm_limit") or 10000)
        offset = int(params.get("sysparm_offset") or 0)
        window = [r for r in rows[offset : offset + limit] if r.get("sys_id") not in self.hidden]
        fields = [f for f in params.get("sysparm_fields", "").split(",") if f]
        exclude = params.get("sysparm_exclude_reference_link", "false").lower() == "true"
        base = str(request.base_url).rstrip("/")
        headers = {"X-Total-Count": str(len(rows))}
        if params.get("sysparm_suppress_pagination_header", "false").lower() != "true" and len(rows) > limit:
            headers["Link"] = self._links(base, request, len(rows), limit, offset)
        result = [self._render(r, fields, exclude, base) for r in window]
        return JSONResponse({"result": result}, headers=headers)

    def _query(self, table: str, query: str) -> list[dict[str, Any]]:
        rows = self.tables.get(table, [])
        if not self.indexed:
            return run_query(rows, query)
        terms = [t for t in query.split("^") if t] if query else []
        if any(t.startswith(("OR", "NQ")) and not t.startswith("ORDERBY") for t in terms):
            raise BadQuery("^OR/^NQ are not supported by the fake")
        if any(t.startswith("ORDERBYDESC") for t in terms):
            return run_query(rows, query)
        orders = tuple(t[len("ORDERBY") :] for t in terms if t.startswith("ORDERBY"))
        conditions = [t for t in terms if not t.startswith("ORDERBY")]
        parsed = []
        for term in conditions:
            found = CONDITION.match(term)
            if not found:
                raise BadQuery(term)
            parsed.append((term, *found.groups()))

        def order_key(row: dict[str, Any]) -> tuple[str, ...]:
            return tuple(str(row.get(name, "")) for name in orders)

        equalities = [
            (term, name, value.split(",") if op == "IN" else [value])
            for term, name, op, value in parsed
            if op in ("=", "IN")
        ]
        if equalities:
            # The most selective equality narrows the rows (kept in table order), the other terms filter.
            def positions(name: str, values: list[str]) -> list[int]:
                index = self._cache.get(("index", table, name))
                if index is None:
                    index = {}
                    for position, row in enumerate(rows):
                        index.setdefault(str(row.get(name, "")), []).append(position)
                    self._cache[("index", table, name)] = index
                return sorted({p for value in values for p in index.get(value, [])})

            chosen = min((positions(name, values) for _, name, values in equalities), key=len)
            result = [rows[p] for p in chosen if all(_matches(rows[p], t) for t in conditions)]
            if orders:
                result.sort(key=order_key)
            return result
        if not orders:
            return run_query(rows, query)
        cached = self._cache.get(("sorted", table, orders))
        if cached is None:
            ordered = sorted(rows, key=order_key)
            cached = (ordered, [str(row.get(orders[0], "")) for row in ordered])
            self._cache[("sorted", table, orders)] = cached
        ordered, first_keys = cached
        start, rest = 0, list(conditions)
        bound = next((p for p in parsed if p[1] == orders[0] and p[2] in (">=", ">")), None)
        if bound is not None:
            term, _, op, value = bound
            start = (bisect.bisect_left if op == ">=" else bisect.bisect_right)(first_keys, value)
            rest.remove(term)
        window = ordered[start:]
        return [r for r in window if all(_matches(r, t) for t in rest)] if rest else window

    @staticmethod
    def _links(base: str, request: Request, total: int, limit: int, offset: int) -> str:
        def url(to: int) -> str:
            query = [(k, v) for k, v in request.query_params.multi_items() if k != "sysparm_offset"]
            return f"<{base}{request.url.path}?{urlencode([*query, ('sysparm_offset', str(to))])}>"

        last = ((total - 1) // limit) * limit
        links = [f'{url(0)};rel="first"']
        if offset > 0:
            links.append(f'{url(max(0, offset - limit))};rel="prev"')
        if offset + limit < total:
            links.append(f'{url(offset + limit)};rel="next"')
        links.append(f'{url(last)};rel="last"')
        return ",".join(links)

    def _find(self, table: str, sys_id: str) -> dict[str, Any] | None:
        return next((r for r in self.tables.get(table, []) if r.get("sys_id") == sys_id), None)

    def _patch(self, table: str, sys_id: str, body: dict[str, Any], base: str) -> Response:
        row = self._find(table, sys_id)
        if row is None or sys_id in self.hidden:
            return JSONResponse(
                error_body("No Record found", "Record doesn't exist or ACL restricts the record retrieval"),
                status_code=404,
            )
        for name, value in body.items():
            if name in JOURNAL_FIELDS:
                self._ids += 1
                self.add(
                    "sys_journal_field",
                    {
                        "sys_id": f"{self._ids:032x}",
                        "sys_created_on": self.now,
                        "name": table,
                        "element_id": sys_id,
                        "sys_tags": "",
                        "value": str(value),
                        "sys_created_by": self.user,
                        "element": name,
                    },
                )
            else:
                row[name] = str(value)
        self._cache.clear()
        row["sys_mod_count"] = str(int(row.get("sys_mod_count") or 0) + 1)
        row["sys_updated_on"], row["sys_updated_by"] = self.now, self.user
        return JSONResponse({"result": self._render(row, [], True, base)})

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/oauth_token.do")
        async def token(request: Request) -> Response:
            # Password grant, as pysnow.OAuthClient.generate_token sends it (form-encoded).
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            basic = request.headers.get("authorization", "")
            if basic.startswith("Basic "):  # requests-oauthlib sends client credentials this way (RFC 6749 2.3.1)
                form["client_id"], _, form["client_secret"] = base64.b64decode(basic[6:]).decode().partition(":")
            if (
                form.get("grant_type"),
                form.get("username"),
                form.get("password"),
                form.get("client_id"),
                form.get("client_secret"),
            ) != ("password", self.user, self.password, self.client_id, self.client_secret):
                return JSONResponse({"error": "access_denied", "error_description": "access_denied"}, 401)
            self._ids += 1
            access = f"token-{self._ids}"
            self.tokens.add(access)
            return JSONResponse(
                {
                    "access_token": access,
                    "refresh_token": f"refresh-{self._ids}",
                    "scope": "useraccount",
                    "token_type": "Bearer",
                    "expires_in": 1799,
                }
            )

        @app.api_route("/api/now/table/{table}", methods=["GET"])
        @app.api_route("/api/now/table/{table}/{sys_id}", methods=["GET", "PATCH"])
        async def table_api(request: Request, table: str, sys_id: str | None = None) -> Response:
            raw = await request.body()
            body = json.loads(raw) if raw else None
            if self.log_requests:
                self.requests.append(
                    LoggedRequest(request.method, request.url.path, list(request.query_params.multi_items()), body)
                )
            if not self._authorised(request):
                return JSONResponse(
                    error_body("User Not Authenticated", "Required to provide Auth information"),
                    status_code=401,
                    headers={"WWW-Authenticate": 'BASIC realm="Service-now"'},
                )
            injected = self._injected(request.method, table)
            if injected is not None:
                return injected
            base = str(request.base_url).rstrip("/")
            if sys_id is None:
                return self._list(request, table)
            if request.method == "PATCH":
                return self._patch(table, sys_id, body or {}, base)
            row = self._find(table, sys_id)
            if row is None or sys_id in self.hidden:
                return JSONResponse(
                    error_body("No Record found", "Record doesn't exist or ACL restricts the record retrieval"),
                    status_code=404,
                )
            exclude = request.query_params.get("sysparm_exclude_reference_link", "false").lower() == "true"
            return JSONResponse({"result": self._render(row, [], exclude, base)})

        return app
