"""The Table API transport: the only module that knows pysnow.

``TableClient`` is the seam: sync and write-back talk to it, so another HTTP
client could replace pysnow without touching them. ``PysnowTableClient`` adds
what pysnow 0.7.17 lacks (read from its installed source):

* **paging**: ``Resource.get`` makes exactly one request and ignores the ``Link``
  header, so we pass ``limit``/``offset`` ourselves and report whether the answer
  carried ``Link: <…>;rel="next"`` (the caller decides how to continue);
* **retries**: pysnow has none. We run our own loop (not ``urllib3.Retry``) so the
  sleep is injectable in tests, ``Retry-After`` is honoured and capped, and a PATCH is
  retried only where ServiceNow cannot have applied it (429, 503);
* **errors**: pysnow raises ``requests.HTTPError`` for every 4xx/5xx and hides
  ServiceNow's ``{"error": {"message", "detail"}}``; we surface it in our errors;
* **sticky parameters**: a pysnow ``Resource`` shares its sysparm dict between calls,
  so every read passes ``display_value=False`` and ``exclude_reference_link=True``
  explicitly and writes use a separate ``Resource``.

Reads use ``stream=True`` (pysnow parses the body incrementally with ijson), so a
page is never held as text and as objects at the same time.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import pysnow
import requests
from ijson.common import JSONError  # type: ignore[import-untyped]
from pysnow.exceptions import PysnowException, ResponseError

from integrations.base import PermanentError, RetryableError
from integrations.servicenow.config import OAuthAuth, ServiceNowConnection, resolve_env

log = logging.getLogger(__name__)
T = TypeVar("T")

NEXT_LINK = re.compile(r';\s*rel="?next"?', re.IGNORECASE)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A write refused with these was not applied, so repeating it cannot duplicate a work note.
SAFE_WRITE_RETRY_STATUSES = frozenset({429, 503})


@dataclass
class TablePage:
    """One Table API answer: its rows, whether ``Link`` had ``rel="next"`` (None: no Link header)."""

    rows: list[dict[str, Any]]
    has_next: bool | None
    total: int | None


class TableClient(Protocol):
    """What sync and write-back need from a Table API client."""

    def get_page(self, table: str, query: str, fields: list[str], limit: int, offset: int) -> TablePage:
        """Rows of ``table`` matching the encoded ``query``, in value form."""

    def patch(self, table: str, sys_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PATCH one record; returns the updated record."""

    def close(self) -> None:
        """Release connections."""


def error_message(response: requests.Response | None) -> str:
    """ServiceNow's ``error.message: error.detail`` from a failure body, or the HTTP reason."""
    if response is None:
        return "no response"
    try:
        error = response.json().get("error") or {}
        text = ": ".join(str(part) for part in (error.get("message"), error.get("detail")) if part)
    except (ValueError, AttributeError):
        text = ""
    return f"HTTP {response.status_code} {text or response.reason or ''}".strip()


def retry_after(response: requests.Response | None) -> float | None:
    """``Retry-After`` in seconds (ServiceNow sends seconds), None if absent or unreadable."""
    raw = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def has_next_link(link_header: str | None) -> bool | None:
    """Whether a ``Link`` header offers ``rel="next"`` (None when there is no Link header)."""
    if link_header is None:
        return None
    return NEXT_LINK.search(link_header) is not None


class PysnowTableClient:
    """``TableClient`` over pysnow, with retries, backoff and ServiceNow error messages."""

    def __init__(self, conn: ServiceNowConnection, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._conn = conn
        self._sleep = sleep
        self._client = self._connect()
        self._readers: dict[str, Any] = {}

    def _connect(self) -> Any:
        parts = urlsplit(self._conn.base_url)
        common = {"host": parts.netloc, "use_ssl": parts.scheme == "https"}
        auth = self._conn.auth
        try:
            if isinstance(auth, OAuthAuth):
                # Without a token_updater, requests-oauthlib raises TokenUpdated after refreshing an
                # expired token mid-sync; the refreshed token lives on in the session, so keep going.
                client = pysnow.OAuthClient(
                    client_id=resolve_env(auth.client_id_env),
                    client_secret=resolve_env(auth.client_secret_env),
                    token_updater=lambda token: None,
                    **common,
                )
                client.set_token(client.generate_token(resolve_env(auth.user_env), resolve_env(auth.password_env)))
                return client
            return pysnow.Client(user=resolve_env(auth.user_env), password=resolve_env(auth.password_env), **common)
        except PysnowException as exc:  # TokenCreateError carries the OAuth error, never the secret
            raise PermanentError(f"ServiceNow {self._conn.name}: cannot authenticate ({type(exc).__name__})") from exc

    def _resource(self, table: str) -> Any:
        if isinstance(self._client, pysnow.OAuthClient):  # its resource() takes no request kwargs
            return self._client.resource(api_path=f"/table/{table}")
        return self._client.resource(api_path=f"/table/{table}", timeout=self._conn.timeout_seconds)

    def get_page(self, table: str, query: str, fields: list[str], limit: int, offset: int) -> TablePage:
        """One page, parsed incrementally; retried on 429/5xx and connection failures."""
        if table not in self._readers:
            self._readers[table] = self._resource(table)
        reader = self._readers[table]

        def attempt() -> TablePage:
            response = reader.get(
                query=query,
                fields=fields,
                limit=limit,
                offset=offset,
                stream=True,
                display_value=False,
                exclude_reference_link=True,
                suppress_pagination_header=False,
            )
            rows = list(response.all())  # raises HTTPError lazily, on the first read
            total = response.headers.get("X-Total-Count")
            return TablePage(rows, has_next_link(response.headers.get("Link")), int(total) if total else None)

        return self._with_retries(f"GET {table}", attempt, idempotent=True)

    def patch(self, table: str, sys_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PATCH ``/api/now/table/<table>/<sys_id>``; returns the updated record (value form)."""
        writer = self._resource(table)
        writer.parameters.display_value = False
        writer.parameters.exclude_reference_link = True

        def attempt() -> dict[str, Any]:
            record: dict[str, Any] = writer.request("PATCH", path_append=f"/{sys_id}", data=json.dumps(body)).one()
            return record

        return self._with_retries(f"PATCH {table}", attempt, idempotent=False)

    def close(self) -> None:
        """Close the pysnow session."""
        session = getattr(self._client, "session", None)
        if session is not None:
            session.close()

    def _with_retries(self, what: str, attempt: Callable[[], T], *, idempotent: bool) -> T:
        conn = self._conn
        retry_on = RETRY_STATUSES if idempotent else SAFE_WRITE_RETRY_STATUSES
        for number in range(conn.max_retries + 1):
            try:
                return attempt()
            except requests.HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                message = f"ServiceNow {conn.name}: {what}: {error_message(exc.response)}"
                wait = retry_after(exc.response)
                if status not in RETRY_STATUSES:
                    raise PermanentError(message, status=status) from exc
                if status not in retry_on or number == conn.max_retries:
                    raise RetryableError(message, retry_after=wait) from exc
            except (requests.ConnectionError, requests.Timeout) as exc:
                message = f"ServiceNow {conn.name}: {what}: {type(exc).__name__}"
                # A write that may have reached the instance is left to the caller's outbox.
                if number == conn.max_retries or not (idempotent or isinstance(exc, requests.ConnectTimeout)):
                    raise RetryableError(message) from exc
                wait = None
            except ResponseError as exc:  # a 200 whose body is {"error": …}
                raise PermanentError(f"ServiceNow {conn.name}: {what}: {exc}") from exc
            except (PysnowException, JSONError, ValueError) as exc:  # not JSON (e.g. an HTML login page), no result
                raise PermanentError(f"ServiceNow {conn.name}: {what}: unexpected response ({exc})") from exc
            delay = self._backoff(number, wait)
            log.warning("%s: retry %d/%d in %.1fs (%s)", what, number + 1, conn.max_retries, delay, message)
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, number: int, retry_after_seconds: float | None) -> float:
        cap = self._conn.max_backoff_seconds
        if retry_after_seconds is not None:
            return min(retry_after_seconds, cap)
        # Full jitter keeps several workers from hammering the instance in lockstep.
        return random.uniform(0, min(cap, self._conn.backoff_seconds * 2**number))
