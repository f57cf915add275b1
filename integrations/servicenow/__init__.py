"""ServiceNow adapter: Table API sync (pysnow) with audit history, inbound pushes, write-back.

API for the app (everything else in this package is internal)::

    from integrations.servicenow import ServiceNowAdapter, ServiceNowConnection

    conn = ServiceNowConnection.model_validate(doc)   # a `kind: connection, type: servicenow` document
    adapter = ServiceNowAdapter(conn)                  # implements integrations.base.TicketAdapter

    # POST /webhooks/servicenow/{connection}
    adapter.verify_webhook(headers, raw_body, query)   # -> None | raises WebhookRejected(.status 401/503)
    events = adapter.parse_webhook(headers, raw_body)  # -> list[NormalizedEvent] | WebhookRejected(400)

    # poller / `sla-tracker sync`
    for page in adapter.sync(since):                   # since: aware datetime | None (full history)
        store(page.events)                             # commit the page first,
        save_cursor(page.cursor)                       # then the cursor: ISO-8601 UTC str
    # next run: adapter.sync(datetime.fromisoformat(saved_cursor))

    # outbox worker
    adapter.write_back(WriteBackAction(...))           # comment | assign | priority

Errors: ``RetryableError`` (429/5xx after retries, network; ``.retry_after`` when the
instance said), ``PermanentError`` (401/403/404/400, ambiguous or unknown ticket,
unsupported action, missing env var; ``.status``), both carrying ServiceNow's
``error.message: error.detail``. Secrets are read from the environment only when a
client is built or a push is verified, and never appear in messages.

Modules: ``config`` (connection document, mapping), ``translate`` (pure: rows ->
events, UTC timestamps, event ids), ``client`` (the only pysnow user; retries,
paging signals, errors), ``sync`` (keyset paging, audit + journal per page),
``push`` (verify + payload schema), ``writeback``, ``adapter``.
See docs/integrations/servicenow.md.
"""

from integrations.servicenow.adapter import ServiceNowAdapter, build_adapter
from integrations.servicenow.config import ServiceNowConnection

__all__ = ["ServiceNowAdapter", "ServiceNowConnection", "build_adapter"]
