"""The ``calendar`` Typer sub-app, driven through CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.calendars.cli import calendar_app

runner = CliRunner()
YAML = """\
kind: policy
name: not-a-calendar
---
name: eu-support
timezone: Europe/Berlin
hours:
  mon: ["09:00-12:00", "13:00-17:00"]
  tue: ["09:00-17:00"]
  wed: ["09:00-17:00"]
holidays:
  dates: [2025-01-08]
---
name: night
timezone: America/New_York
hours:
  fri: ["22:00-06:00"]
"""


@pytest.fixture
def cal_file(tmp_path: Path) -> Path:
    path = tmp_path / "calendars.yaml"
    path.write_text(YAML)
    return path


def test_due_prints_local_offset(cal_file: Path) -> None:
    result = runner.invoke(calendar_app, ["due", str(cal_file), "--start", "2025-01-06T11:00", "--duration", "2h30m"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "2025-01-06T14:30:00+01:00"


def test_due_with_pause_and_name(cal_file: Path) -> None:
    args = ["due", str(cal_file), "--name", "night", "--start", "2025-01-10T23:00:00-05:00", "--duration", "7h"]
    result = runner.invoke(calendar_app, [*args, "--pause", "2025-01-11T00:00/2025-01-11T01:00"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "2025-01-17T23:00:00-05:00"


def test_elapsed_prints_seconds(cal_file: Path) -> None:
    result = runner.invoke(
        calendar_app, ["elapsed", str(cal_file), "--start", "2025-01-06T08:00Z", "--end", "2025-01-09T10:00+01:00"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(15 * 3600)  # Mon 7h + Tue 8h; Wed is a holiday


def test_json_file(tmp_path: Path) -> None:
    path = tmp_path / "cal.json"
    path.write_text(json.dumps({"name": "x", "timezone": "UTC", "hours": {"mon": ["00:00-24:00"]}}))
    result = runner.invoke(calendar_app, ["elapsed", str(path), "--start", "2025-01-06", "--end", "2025-01-08"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "86400"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["due", "--start", "yesterday", "--duration", "1h"], "--start"),
        (["due", "--start", "2025-01-06T09:00", "--duration", "90"], "--duration"),
        (["due", "--start", "2025-01-06T09:00", "--duration", "1h", "--pause", "2025-01-06"], "--pause[0]"),
        (["elapsed", "--start", "2025-01-07T09:00", "--end", "2025-01-06T09:00"], "--end"),
        (["due", "--start", "2025-01-06T09:00", "--duration", "1h", "--name", "missing"], "CAL_FILE"),
    ],
)
def test_bad_input_exits_2_naming_the_field(cal_file: Path, args: list[str], field: str) -> None:
    result = runner.invoke(calendar_app, [args[0], str(cal_file), *args[1:]])
    assert result.exit_code == 2
    assert f"error: {field}:" in result.stderr


def test_invalid_calendar_names_its_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("timezone: Europe/Berlin\nhours:\n  mon: ['09:00-17:00', '16:00-18:00']\n")
    result = runner.invoke(calendar_app, ["due", str(path), "--start", "2025-01-06T09:00", "--duration", "1h"])
    assert result.exit_code == 2
    assert "error: hours.mon[1]: overlaps hours.mon[0]" in result.stderr
    missing = runner.invoke(calendar_app, ["due", str(tmp_path / "nope.yaml"), "--start", "x", "--duration", "1h"])
    assert missing.exit_code == 2
    assert "CAL_FILE" in missing.stderr
