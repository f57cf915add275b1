"""``sla-tracker backtest -f DRAFT``: what a draft policy would have made of past tickets."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from app.apply.service import kind_of, load_documents
from app.cli_support import abort_on_app_error, database_from_settings, fail
from app.clocks.backtest import backtest
from app.core.clock import system_now
from app.policies import service as policy_service


@abort_on_app_error
def backtest_command(
    file: Annotated[Path, typer.Option("-f", "--file", help="YAML/JSON file with the draft `kind: policy` document.")],
    source: Annotated[str | None, typer.Option(help="Only tickets from this source (connection name).")] = None,
    since: Annotated[str | None, typer.Option(help="Only tickets opened at or after this ISO date.")] = None,
) -> None:
    """Replay stored ticket histories under a draft policy (nothing is stored) and compare with the current one."""
    if not file.is_file():
        fail(f"--file: {file} is not a readable file")
    drafts = [d for d in load_documents(file.read_text(encoding="utf-8")) if kind_of(d) == "policy"]
    if len(drafts) != 1:
        fail(f"--file: expected exactly one `kind: policy` document, found {len(drafts)}")
    start = None
    if since:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            fail(f"--since: {since!r} is not an ISO date")
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
    db = database_from_settings()
    with db.transaction(write=False) as session:
        draft = policy_service.validate(session, drafts[0])
        result = backtest(session, draft, system_now(), source=source, since=start)
    typer.echo(f"{result.tickets} tickets matched by draft policy {draft.name!r}")
    typer.echo(f"{'metric':<16}{'draft met/breached':>20}{'draft %':>9}{'current met/breached':>22}{'current %':>11}")
    for metric in sorted(set(result.draft.counts) | set(result.current.counts)):
        d, c = result.draft.counts.get(metric, Counter()), result.current.counts.get(metric, Counter())
        typer.echo(
            f"{metric:<16}{d.get('met', 0):>10}/{d.get('breached', 0):<9}{_pct(result.draft.compliance(metric)):>9}"
            f"{c.get('met', 0):>12}/{c.get('breached', 0):<9}{_pct(result.current.compliance(metric)):>11}"
        )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
