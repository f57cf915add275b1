"""Domain sub-commands mounted on the main CLI (kept apart so ``app.cli`` stays small)."""

from __future__ import annotations

import typer


def register(main: typer.Typer) -> None:
    """Attach every domain's commands to ``main``."""
    try:
        from app.calendars.cli import calendar_app
    except ImportError:  # the calendar CLI lands with the calendar engine
        return
    main.add_typer(calendar_app, name="calendar")
