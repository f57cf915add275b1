"""``sla-tracker calendar due|elapsed``: business-time arithmetic from the command line."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import yaml

from app.calendars.engine import BusinessCalendar, compile_calendar
from app.calendars.spec import parse_calendar
from app.core.durations import parse_duration
from app.core.errors import FieldError, ValidationProblem

calendar_app = typer.Typer(
    help="Business-hours calendars: when a duration of business time runs out, and how much has elapsed.",
    no_args_is_help=True,
)

CalFile = Annotated[Path, typer.Argument(help="Calendar document, YAML or JSON (several YAML documents allowed).")]
NameOpt = Annotated[str | None, typer.Option("--name", help="Pick the calendar with this name from CAL_FILE.")]
PauseOpt = Annotated[
    list[str] | None,
    typer.Option("--pause", help="A paused span START/END (ISO 8601); repeatable."),
]


class _BadInput(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors)
        self.errors = errors


def _fail(errors: list[FieldError]) -> NoReturn:
    for err in errors:
        typer.echo(f"error: {err.field}: {err.reason}", err=True)
    raise typer.Exit(code=2)


def _documents(path: Path) -> Iterator[Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        loaded = json.loads(text)
        yield from loaded if isinstance(loaded, list) else [loaded]
    else:
        yield from yaml.safe_load_all(text)


def load_calendar(path: Path, name: str | None = None) -> BusinessCalendar:
    """The calendar in ``path``: the one called ``name``, else the first document with a timezone."""
    try:
        docs = [d for d in _documents(path) if isinstance(d, dict)]
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise _BadInput([FieldError("CAL_FILE", f"cannot read {path}: {exc}")]) from None
    calendars = [d for d in docs if "timezone" in d and d.get("kind", "calendar") == "calendar"]
    if name is not None:
        calendars = [d for d in calendars if d.get("name") == name]
    if not calendars:
        wanted = f"named {name!r}" if name is not None else "(a document with a timezone)"
        raise _BadInput([FieldError("CAL_FILE", f"no calendar {wanted} in {path}")])
    try:
        return compile_calendar(parse_calendar(calendars[0]))
    except ValidationProblem as exc:
        raise _BadInput(exc.errors) from None


def _instant(text: str, field: str, calendar: BusinessCalendar) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise _BadInput([FieldError(field, f"{text!r} is not an ISO 8601 date-time")]) from None
    # A naive time is wall-clock time of the calendar (fold=0 in a gap or a repeated hour).
    return value if value.tzinfo is not None else value.replace(tzinfo=calendar.tz)


def _pauses(texts: list[str] | None, calendar: BusinessCalendar) -> list[tuple[dt.datetime, dt.datetime]]:
    spans = []
    for i, text in enumerate(texts or []):
        field = f"--pause[{i}]"
        first, sep, second = text.partition("/")
        if not sep:
            raise _BadInput([FieldError(field, f"{text!r} is not START/END")])
        start, end = _instant(first, field, calendar), _instant(second, field, calendar)
        if end < start:
            raise _BadInput([FieldError(field, "the pause ends before it starts")])
        spans.append((start, end))
    return spans


@calendar_app.command("due")
def due_command(
    cal_file: CalFile,
    start: Annotated[str, typer.Option("--start", help="When the clock starts (ISO 8601).")],
    duration: Annotated[str, typer.Option("--duration", help="Business time, e.g. 90m, 2h30m, 40h.")],
    pause: PauseOpt = None,
    name: NameOpt = None,
) -> None:
    """Print the instant (calendar's local offset) at which DURATION of business time runs out."""
    try:
        calendar = load_calendar(cal_file, name)
        begin = _instant(start, "--start", calendar)
        try:
            seconds = parse_duration(duration)
        except ValueError as exc:
            raise _BadInput([FieldError("--duration", str(exc))]) from None
        due = calendar.due(begin, seconds, _pauses(pause, calendar))
    except _BadInput as exc:
        _fail(exc.errors)
    except ValidationProblem as exc:
        _fail(exc.errors)
    except ValueError as exc:
        _fail([FieldError("--start", str(exc))])
    typer.echo(due.astimezone(calendar.tz).isoformat())


@calendar_app.command("elapsed")
def elapsed_command(
    cal_file: CalFile,
    start: Annotated[str, typer.Option("--start", help="Start of the span (ISO 8601).")],
    end: Annotated[str, typer.Option("--end", help="End of the span (ISO 8601).")],
    pause: PauseOpt = None,
    name: NameOpt = None,
) -> None:
    """Print the whole seconds of business time between START and END, minus pauses."""
    try:
        calendar = load_calendar(cal_file, name)
        begin, finish = _instant(start, "--start", calendar), _instant(end, "--end", calendar)
        if finish < begin:
            raise _BadInput([FieldError("--end", "the end is before the start")])
        seconds = calendar.elapsed(begin, finish, _pauses(pause, calendar))
    except _BadInput as exc:
        _fail(exc.errors)
    except ValueError as exc:
        _fail([FieldError("--start", str(exc))])
    typer.echo(str(seconds))
