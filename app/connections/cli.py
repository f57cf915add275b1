"""``sla-tracker sync NAME``: incremental sync (or backfill) of one connection, with progress."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy import select

from app.cli_support import abort_on_app_error, database_from_settings, fail
from app.connections.models import ConnectionRow
from app.core.clock import system_now
from app.ingestion import sync


def _parse_since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--since: {text!r} is not an ISO date or date-time")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@abort_on_app_error
def sync_command(
    name: Annotated[str, typer.Argument(help="Connection name, or a type (jira, servicenow) to sync all of them.")],
    since: Annotated[str | None, typer.Option(help="Start here instead of the stored cursor (ISO date).")] = None,
    full: Annotated[bool, typer.Option("--full", help="Fetch everything the connection's query matches.")] = False,
) -> None:
    """Sync tickets from Jira or ServiceNow into the event log (pages commit before the cursor moves)."""
    db = database_from_settings()
    with db.transaction(write=False) as session:
        names = list(session.scalars(select(ConnectionRow.name).where(ConnectionRow.name == name)))
        names = names or list(session.scalars(select(ConnectionRow.name).where(ConnectionRow.type == name)))
    if not names:
        fail(f"no connection or connection type named {name!r} (apply one with `sla-tracker apply -f`)")
    failed = False
    for conn in names:

        def show(report: sync.SyncReport) -> None:
            typer.echo(
                f"\r{report.connection}: page {report.pages}, {report.fetched} fetched, {report.new} new, "
                f"{report.duplicate} known, cursor {report.cursor or '-'}",
                nl=False,
                err=True,
            )

        report = sync.run_sync(db, conn, system_now, since=_parse_since(since), full=full, progress=show)
        typer.echo("", err=True)
        if report.error:
            failed = True
            typer.echo(f"{conn}: stopped: {report.error} (cursor kept at {report.cursor or '-'})", err=True)
        else:
            typer.echo(f"{conn}: {report.new} new events, {report.duplicate} already known, cursor {report.cursor}")
    if failed:
        raise typer.Exit(1)
