"""Domain sub-commands mounted on the main CLI (kept apart so ``app.cli`` stays small)."""

from __future__ import annotations

import typer

from app.apply.cli import apply_command
from app.calendars.cli import calendar_app
from app.clocks.cli import backtest_command
from app.connections.cli import sync_command
from app.demo.cli import demo_command


def register(main: typer.Typer) -> None:
    """Attach every domain's commands to ``main``."""
    main.add_typer(calendar_app, name="calendar")
    main.command("apply")(apply_command)
    main.command("sync")(sync_command)
    main.command("demo")(demo_command)
    main.command("backtest")(backtest_command)
