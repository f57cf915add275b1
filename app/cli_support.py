"""Helpers shared by CLI commands: database from settings, error exits."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

import typer

from app.core.config import get_settings
from app.core.db import Database, build_engine
from app.core.errors import AppError

P = ParamSpec("P")
R = TypeVar("R")


def database_from_settings() -> Database:
    """The configured database."""
    settings = get_settings()
    password = settings.database_password.get_secret_value() if settings.database_password else None
    return Database(build_engine(settings.effective_database_url, password=password))


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` on stderr and exit with ``code`` (2: bad input or state)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def abort_on_app_error(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn an ``AppError`` (bad input naming its field) into a message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except AppError as exc:
            fail(str(exc))

    return wrapper
