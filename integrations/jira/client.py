"""The Jira REST client: a ``jira.JIRA`` for auth and sessions, our own retry policy around it.

Why not the library's retries: ``ResilientSession`` retries only 429 and 503
(not 500/502/504), sleeps twice the ``Retry-After`` it is given, cannot read a
``Retry-After`` HTTP date, waits 20 s and more after a connection error and
calls ``time.sleep`` directly. So the session is built with ``max_retries=0``
and :class:`JiraClient` retries itself: 429/5xx/network errors are retried
with ``Retry-After`` honoured exactly (or capped exponential backoff with
jitter), up to ``max_retries``; then ``RetryableError``. Any other refusal is a
``PermanentError`` carrying Jira's ``errorMessages``/``errors`` text.

Error messages name the method and API path only: never a header, a query
string or a credential.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any, TypeVar, cast

import requests
from jira import JIRA, JIRAError

from integrations.base import PermanentError, RetryableError
from integrations.jira.config import CloudAuth, DataCenterAuth, JiraConnection, read_secret

log = logging.getLogger(__name__)

T = TypeVar("T")
JsonDict = dict[str, Any]
PAGE_MAX = 100  # the changelog and comment endpoints serve at most 100 per page


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a throttled or failing Jira call."""

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    @classmethod
    def for_connection(cls, conn: JiraConnection) -> RetryPolicy:
        return cls(max_attempts=conn.max_retries + 1, max_delay=conn.max_retry_delay_seconds)

    def backoff(self, attempt: int) -> float:
        """Capped exponential backoff with jitter for the given (1-based) attempt."""
        return float(min(self.max_delay, self.base_delay * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0))


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def jira_error_text(response: requests.Response | None) -> str:
    """Jira's own explanation from an error body: ``errorMessages`` and ``errors`` (field: message)."""
    if response is None:
        return ""
    try:
        body = response.json()
    except ValueError:
        return (response.text or "")[:500]
    if not isinstance(body, dict):
        return ""
    parts = [str(msg) for msg in body.get("errorMessages") or []]
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts += [f"{name}: {msg}" for name, msg in errors.items()]
    if not parts and body.get("message"):
        parts.append(str(body["message"]))
    return "; ".join(parts)


def build_jira(conn: JiraConnection, env: Mapping[str, str] | None = None) -> JIRA:
    """A ``jira.JIRA`` for the connection: Cloud basic auth or Data Center PAT, timeouts, no library retries."""
    basic_auth: tuple[str, str] | None = None
    token_auth: str | None = None
    if isinstance(conn.auth, CloudAuth):
        basic_auth = (read_secret(conn.auth.user_env, env), read_secret(conn.auth.token_env, env))
    elif isinstance(conn.auth, DataCenterAuth):
        token_auth = read_secret(conn.auth.pat_env, env)
    client = JIRA(
        server=conn.base_url,
        basic_auth=basic_auth,
        token_auth=token_auth,
        options={"check_update": False},
        get_server_info=False,
        max_retries=0,
        timeout=conn.timeout_seconds,
        logging=False,
    )
    # Skipping serverInfo keeps construction offline; the deployment comes from the connection.
    client.deploymentType = "Cloud" if conn.is_cloud else "Server"
    return client


class JiraClient:
    """The Jira calls the adapter needs, each retried and mapped to our error types."""

    def __init__(
        self,
        conn: JiraConnection,
        jira: JIRA | None = None,
        *,
        retry: RetryPolicy | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.conn = conn
        self.retry = retry or RetryPolicy.for_connection(conn)
        self._jira = jira
        self._env = env

    @property
    def jira(self) -> JIRA:
        """The underlying ``jira.JIRA``, built (and secrets read) on first use."""
        if self._jira is None:
            self._jira = build_jira(self.conn, self._env)
        return self._jira

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except JIRAError as exc:
                status = exc.status_code
                if status is None or not (status in (408, 429) or status >= 500):
                    detail = jira_error_text(exc.response) or exc.text or "refused"
                    raise PermanentError(f"Jira {what}: HTTP {status}: {detail}", status=status) from exc
                headers = exc.response.headers if exc.response is not None else {}
                wait = retry_after_seconds(headers.get("Retry-After"))
                reason = f"HTTP {status}"
            except requests.RequestException as exc:
                wait, reason = None, type(exc).__name__
            if attempt >= self.retry.max_attempts or (wait is not None and wait > self.retry.max_delay):
                raise RetryableError(f"Jira {what}: {reason} after {attempt} attempt(s)", retry_after=wait)
            delay = wait if wait is not None else self.retry.backoff(attempt)
            log.warning(
                "Jira %s: %s; retrying in %.1fs (attempt %d/%d)", what, reason, delay, attempt, self.retry.max_attempts
            )
            self.retry.sleep(delay)

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._call(f"GET {path}", lambda: self.jira._get_json(path, params=dict(params or {})))

    def _send(self, method: str, path: str, payload: Mapping[str, Any]) -> requests.Response:
        url = self.jira._get_url(path)
        data = json.dumps(payload)
        session = self.jira._session
        return self._call(f"{method} {path}", lambda: session.request(method, url, data=data))

    # --- reading -----------------------------------------------------------------------------

    def search(self, jql: str, fields: list[str], *, expand: str = "changelog") -> Iterator[list[JsonDict]]:
        """Pages of issues for a JQL query: Cloud enhanced search (``nextPageToken``), DC ``startAt``."""
        size = self.conn.page_size
        if self.conn.is_cloud:
            token: str | None = None
            while True:
                page = self._call("GET search/jql", partial(self._enhanced_search, jql, token, size, fields, expand))
                issues = page.get("issues") or []
                yield issues
                token = page.get("nextPageToken")
                if not token or page.get("isLast") or not issues:
                    return
        start = 0
        while True:
            page = self._call("GET search", partial(self._classic_search, jql, start, size, fields, expand))
            issues = page.get("issues") or []
            yield issues
            start += len(issues)
            if not issues or start >= int(page.get("total") or 0):
                return

    def _enhanced_search(self, jql: str, token: str | None, size: int, fields: list[str], expand: str) -> JsonDict:
        # The library rewrites `fields` in place, hence the copy.
        result = self.jira.enhanced_search_issues(
            jql, nextPageToken=token, maxResults=size, fields=list(fields), expand=expand, json_result=True
        )
        return cast(JsonDict, result)

    def _classic_search(self, jql: str, start: int, size: int, fields: list[str], expand: str) -> JsonDict:
        return self.jira.search_issues(
            jql, startAt=start, maxResults=size, fields=list(fields), expand=expand, json_result=True
        )

    def changelog(self, key: str) -> Iterator[JsonDict]:
        """Every changelog history of an issue, oldest first (Cloud pages; DC returns it whole)."""
        if not self.conn.is_cloud:
            issue = self._get(f"issue/{key}", {"expand": "changelog", "fields": "created"})
            yield from (issue.get("changelog") or {}).get("histories") or []
            return
        start = 0
        while True:
            page = self._get(f"issue/{key}/changelog", {"startAt": start, "maxResults": PAGE_MAX})
            values = page.get("values") or []
            yield from values
            start += len(values)
            if page.get("isLast") or not values or start >= int(page.get("total") or 0):
                return

    def comments(self, key: str) -> Iterator[JsonDict]:
        """Every comment of an issue with its properties (JSM internal flag), oldest first."""
        start = 0
        while True:
            page = self._get(
                f"issue/{key}/comment",
                {"startAt": start, "maxResults": PAGE_MAX, "expand": "properties", "orderBy": "created"},
            )
            comments = page.get("comments") or []
            yield from comments
            start += len(comments)
            if not comments or start >= int(page.get("total") or 0):
                return

    def status_categories(self) -> dict[str, str]:
        """Status id -> Jira statusCategory key, for every status on the site."""
        statuses = self._get("status")
        return {
            str(s["id"]): str(s["statusCategory"]["key"])
            for s in statuses
            if s.get("id") and (s.get("statusCategory") or {}).get("key")
        }

    def issue(self, key: str, fields: list[str]) -> JsonDict:
        """One issue with the given fields."""
        return cast(JsonDict, self._get(f"issue/{key}", {"fields": ",".join(fields)}))

    # --- writing -----------------------------------------------------------------------------

    def update_issue(self, key: str, payload: Mapping[str, Any]) -> None:
        """``PUT /issue/{key}`` with ``fields``/``update``."""
        self._send("PUT", f"issue/{key}", payload)

    def assign(self, key: str, user: str | None) -> None:
        """``PUT /issue/{key}/assignee``: an accountId on Cloud, a username on Data Center; None unassigns."""
        self._send("PUT", f"issue/{key}/assignee", {"accountId" if self.conn.is_cloud else "name": user})

    def add_comment(self, key: str, payload: Mapping[str, Any]) -> JsonDict:
        """``POST /issue/{key}/comment``; returns the created comment."""
        response = self._send("POST", f"issue/{key}/comment", payload)
        return cast(JsonDict, response.json()) if response.content else {}
