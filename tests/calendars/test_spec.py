"""Validation of calendar documents: every problem is reported, each naming its field."""

from __future__ import annotations

from typing import Any

import pytest

from app.calendars.spec import BUILTIN_24X7, BUILTIN_CALENDARS, parse_calendar, parse_interval
from app.core.errors import ValidationProblem

GOOD: dict[str, Any] = {
    "kind": "calendar",
    "name": "eu-support",
    "timezone": "Europe/Berlin",
    "hours": {"mon": ["09:00-12:00", "13:00-17:00"], "tue": ["09:00-17:00"], "sat": ["22:00-06:00"]},
    "holidays": {"dates": ["2025-12-24", "2025-12-31"], "country": "DE", "subdivision": "BY"},
    "exceptions": [{"date": "2025-12-27", "hours": ["09:00-13:00"]}, {"date": "2025-03-14", "closed": ["13:00-17:00"]}],
}


def fields_of(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationProblem) as info:
        parse_calendar(doc)
    return [e.field for e in info.value.errors]


def test_design_example_parses() -> None:
    spec = parse_calendar(GOOD)
    assert spec.name == "eu-support"
    assert spec.weekly_minutes()[5] == [(22 * 60, 30 * 60)]
    reordered = {**GOOD, "hours": dict(reversed(list(GOOD["hours"].items())))}
    assert spec.canonical_json() == parse_calendar(reordered).canonical_json()
    assert spec.canonical_json() != parse_calendar({**GOOD, "name": "other"}).canonical_json()
    assert BUILTIN_CALENDARS["24x7"] is BUILTIN_24X7


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00:00-24:00", (0, 1440)),
        ("22:00-06:00", (1320, 1800)),
        ("9:30-17:00", (570, 1020)),
        ("23:00-00:00", (1380, 1440)),
    ],
)
def test_parse_interval(text: str, expected: tuple[int, int]) -> None:
    assert parse_interval(text) == expected


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"timezone": "../etc/passwd"}, "timezone"),
        ({"hours": {"mon": ["09:00-17:00", "9-5"]}}, "hours.mon[1]"),
        ({"hours": {"mon": ["09:00-25:00"]}}, "hours.mon[0]"),
        ({"hours": {"tue": ["09:00-09:00"]}}, "hours.tue[0]"),
        ({"hours": {"mon": ["09:00-12:00", "11:00-13:00"]}}, "hours.mon[1]"),
        ({"hours": {"mon": ["22:00-06:00"], "tue": ["05:00-09:00"]}}, "hours.tue[0]"),
        ({"hours": {"sun": ["22:00-06:00"], "mon": ["05:00-09:00"]}}, "hours.sun[0]"),
        ({"hours": {"monday": ["09:00-17:00"], "tue": ["09:00-17:00"]}}, "hours.monday"),
        ({"hours": {}}, "hours"),
        ({"hours": {"mon": []}, "exceptions": [{"date": "2025-01-01", "closed": ["09:00-10:00"]}]}, "hours"),
        ({"holidays": {"dates": ["2025-02-30"]}}, "holidays.dates[0]"),
        ({"holidays": {"country": "XX"}}, "holidays.country"),
        ({"holidays": {"country": "DE", "subdivision": "ZZ"}}, "holidays.subdivision"),
        ({"holidays": {"subdivision": "BY"}}, "holidays.subdivision"),
        ({"exceptions": [{"date": "2025-01-01"}]}, "exceptions[0]"),
        ({"exceptions": [{"date": "2025-01-01", "hours": ["10:00-09:00x"]}]}, "exceptions[0].hours[0]"),
        ({"exceptions": [{"date": "2025-01-01", "closed": ["09:00-12:00", "10:00-11:00"]}]}, "exceptions[0].closed[1]"),
        ({"kind": "policy"}, "kind"),
    ],
)
def test_each_problem_names_its_field(change: dict[str, Any], field: str) -> None:
    doc = {"timezone": "Europe/Berlin", "hours": {"mon": ["09:00-17:00"]}, **change}
    assert fields_of(doc) == [field]


def test_all_problems_reported_together() -> None:
    doc = {
        "timezone": "Nowhere/City",
        "hours": {"mon": ["9-5"], "tue": ["10:00-11:00", "10:30-12:00"]},
        "holidays": {"dates": ["soon"], "country": "XX"},
    }
    assert sorted(fields_of(doc)) == sorted(
        ["timezone", "hours.mon[0]", "hours.tue[1]", "holidays.dates[0]", "holidays.country"]
    )
    assert fields_of({"hours": {"mon": ["09:00-17:00"]}}) == ["timezone"]


def test_not_a_mapping() -> None:
    assert fields_of(["timezone"]) == ["calendar"]  # type: ignore[arg-type]
