"""``sla-tracker apply -f FILE``: calendars, policies and connections as code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.apply.service import apply_documents, load_documents
from app.cli_support import abort_on_app_error, database_from_settings, fail
from app.core.clock import system_now


@abort_on_app_error
def apply_command(
    file: Annotated[Path, typer.Option("-f", "--file", help="YAML or JSON file (several documents allowed).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")] = False,
) -> None:
    """Apply calendars, policies and connections from a file, all or nothing."""
    if not file.is_file():
        fail(f"--file: {file} is not a readable file")
    docs = load_documents(file.read_text(encoding="utf-8"))
    db = database_from_settings()
    with db.transaction() as session:
        changes = apply_documents(session, docs, actor="cli", now=system_now(), dry_run=dry_run)
    prefix = "would be " if dry_run else ""
    for change in changes:
        version = f" (version {change.version})" if change.version else ""
        typer.echo(f"{change.kind}/{change.name}: {prefix}{change.action}{version}")
