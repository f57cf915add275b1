"""``ServiceNowAdapter``: the ``TicketAdapter`` for one ServiceNow connection."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from app.tickets.events import NormalizedEvent
from integrations.base import SyncPage, TicketAdapter, WriteBackAction
from integrations.servicenow import push
from integrations.servicenow.client import PysnowTableClient, TableClient
from integrations.servicenow.config import ServiceNowConnection
from integrations.servicenow.sync import sync_pages
from integrations.servicenow.writeback import WriteBack

ClientFactory = Callable[[ServiceNowConnection], TableClient]


class ServiceNowAdapter:
    """Push verification/parsing, incremental sync and write-back for one connection.

    ``client_factory`` builds the Table API client per operation (default: pysnow with
    credentials read from the environment at that moment); tests inject their own.
    """

    def __init__(self, conn: ServiceNowConnection, client_factory: ClientFactory = PysnowTableClient) -> None:
        self.conn = conn
        self.name = conn.name
        self._client_factory = client_factory

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str]) -> None:
        """Raise ``WebhookRejected`` unless the push is signed (HMAC) or carries the bearer token."""
        push.verify(self.conn, headers, body)

    def parse_webhook(self, headers: Mapping[str, str], body: Any, *, offline: bool = False) -> list[NormalizedEvent]:
        """Translate one push body (bytes, str or parsed JSON) into events (never calls ServiceNow)."""
        return push.parse(self.conn, body)

    def sync(self, since: datetime | None) -> Iterator[SyncPage]:
        """Pages of events for records updated since ``since`` minus the overlap, oldest first."""
        client = self._client_factory(self.conn)
        try:
            yield from sync_pages(self.conn, client, since)
        finally:
            client.close()

    def write_back(self, action: WriteBackAction) -> None:
        """Apply an escalation action (comment, assign, priority) with a PATCH."""
        client = self._client_factory(self.conn)
        try:
            WriteBack(self.conn, client).apply(action)
        finally:
            client.close()


def build_adapter(conn: ServiceNowConnection) -> TicketAdapter:
    """The adapter for ``conn`` as the app sees it (type-checks the protocol conformance)."""
    return ServiceNowAdapter(conn)
