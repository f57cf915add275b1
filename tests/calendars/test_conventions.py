"""Hand-written cases, one or more per clock convention (README, Clock conventions)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from app.calendars import BUILTIN_24X7, BusinessCalendar, compile_calendar, parse_calendar
from app.core.errors import ValidationProblem

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC
H = 3600
WEEKDAYS_9_TO_5 = {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


def make(**doc: Any) -> BusinessCalendar:
    doc.setdefault("timezone", "Europe/Berlin")
    doc.setdefault("hours", WEEKDAYS_9_TO_5)
    return BusinessCalendar(parse_calendar(doc))


def local(*args: int, tz: str = "Europe/Berlin") -> dt.datetime:
    return dt.datetime(*args, tzinfo=ZoneInfo(tz))  # type: ignore[misc]


def test_target_running_out_at_closing_time_is_due_at_next_opening() -> None:
    cal = make()
    assert cal.due(local(2025, 1, 6, 9), 8 * H) == local(2025, 1, 7, 9)
    assert cal.due(local(2025, 1, 10, 16), 1 * H) == local(2025, 1, 13, 9)  # Friday -> Monday
    assert cal.due(local(2025, 1, 10, 16), 1 * H - 1) == local(2025, 1, 10, 16, 59, 59)


def test_zero_duration() -> None:
    cal = make()
    assert cal.due(local(2025, 1, 6, 7), 0) == local(2025, 1, 6, 9)  # outside hours: next opening
    assert cal.due(local(2025, 1, 6, 17), 0) == local(2025, 1, 7, 9)  # at closing time: next opening
    assert cal.due(local(2025, 1, 6, 11, 30), 0) == local(2025, 1, 6, 11, 30)  # inside hours: start
    assert cal.due(local(2025, 1, 6, 11, 30), 0).tzinfo == UTC


def test_fall_back_whole_day_lasts_25_hours() -> None:
    cal = make(hours={"sun": ["00:00-24:00"]})
    assert cal.elapsed(local(2025, 10, 26), local(2025, 10, 27)) == 25 * H
    assert cal.due(local(2025, 10, 26), 24 * H) == local(2025, 10, 26, 23)
    lord_howe = make(timezone="Australia/Lord_Howe", hours={"sun": ["00:00-24:00"]})
    day = dict(tz="Australia/Lord_Howe")
    assert lord_howe.elapsed(local(2025, 4, 6, **day), local(2025, 4, 7, **day)) == 24 * H + 1800


def test_spring_forward_gap_interval_is_empty() -> None:
    cal = make(hours={"sun": ["02:00-03:00", "09:00-10:00"]})
    assert cal.elapsed(local(2025, 3, 30), local(2025, 3, 31)) == 1 * H
    assert cal.due(local(2025, 3, 30), 0) == local(2025, 3, 30, 9)
    # 02:30 does not exist: read with the offset before the jump (fold=0), i.e. as 03:30 CEST.
    straddling = make(hours={"sun": ["01:30-02:30"]})
    assert straddling.elapsed(local(2025, 3, 30), local(2025, 3, 31)) == 1 * H
    assert straddling.next_close(local(2025, 3, 30, 1, 45)) == local(2025, 3, 30, 3, 30)
    whole = make(hours={"sun": ["00:00-24:00"]})
    assert whole.elapsed(local(2025, 3, 30), local(2025, 3, 31)) == 23 * H
    naive_gap = dt.datetime(2025, 3, 30, 2, 30)
    assert whole.due(naive_gap, 0) == dt.datetime(2025, 3, 30, 1, 30, tzinfo=UTC)


def test_repeated_hour_reads_first_occurrence() -> None:
    cal = make(hours={"sun": ["02:30-04:00"]})
    # 02:30 exists twice on 2025-10-26; fold=0 takes the first (CEST), so the span lasts 2.5 hours.
    assert cal.elapsed(local(2025, 10, 26), local(2025, 10, 27)) == 2 * H + 1800


def test_explicit_holiday_on_a_weekday() -> None:
    cal = make(holidays={"dates": ["2025-01-08"]})
    assert not cal.is_open(local(2025, 1, 8, 10))
    assert cal.due(local(2025, 1, 7, 16), 2 * H) == local(2025, 1, 9, 10)
    assert cal.elapsed(local(2025, 1, 6), local(2025, 1, 11)) == 4 * 8 * H


def test_country_holidays_with_subdivision() -> None:
    bavaria = make(holidays={"country": "DE", "subdivision": "BY"})
    germany = make(holidays={"country": "DE"})
    # 2025-10-03 (Friday) is German Unity Day everywhere; 2025-01-06 (Monday) Epiphany only in Bavaria.
    for cal in (bavaria, germany):
        assert not cal.is_open(local(2025, 10, 3, 10))
        assert cal.next_open(local(2025, 10, 3, 10)) == local(2025, 10, 6, 9)
    assert not bavaria.is_open(local(2025, 1, 6, 10))
    assert germany.is_open(local(2025, 1, 6, 10))


def test_overnight_shift_across_a_weekend() -> None:
    cal = make(hours={"fri": ["22:00-06:00"], "sun": ["23:00-07:00"], "mon": ["09:00-17:00"]})
    assert cal.elapsed(local(2025, 1, 10, 20), local(2025, 1, 11, 12)) == 8 * H
    assert cal.due(local(2025, 1, 10, 23), 7 * H) == local(2025, 1, 12, 23)  # runs out at 06:00 Saturday
    assert cal.due(local(2025, 1, 10, 23), 15 * H) == local(2025, 1, 13, 9)  # Sunday's shift into Monday
    assert cal.next_close(local(2025, 1, 11, 1)) == local(2025, 1, 11, 6)


def test_overnight_shift_belongs_to_the_day_it_starts() -> None:
    cal = make(hours={"fri": ["22:00-06:00"]}, holidays={"dates": ["2025-01-11"]})
    assert cal.is_open(local(2025, 1, 11, 3))  # a Saturday holiday does not cut Friday's shift
    closed = make(hours={"fri": ["22:00-06:00"]}, holidays={"dates": ["2025-01-10"]})
    assert not closed.is_open(local(2025, 1, 11, 3))


def test_exceptions_replace_or_close_hours() -> None:
    cal = make(
        holidays={"dates": ["2025-12-24"]},
        exceptions=[
            {"date": "2025-12-27", "hours": ["09:00-13:00"]},  # a Saturday opened
            {"date": "2025-03-14", "closed": ["13:00-17:00"]},  # a Friday afternoon closed
            {"date": "2025-03-17", "hours": []},  # a Monday closed
            {"date": "2025-12-24", "hours": ["09:00-12:00"]},  # the exception wins over the holiday
        ],
    )
    assert cal.elapsed(local(2025, 12, 27), local(2025, 12, 28)) == 4 * H
    assert cal.elapsed(local(2025, 3, 14), local(2025, 3, 15)) == 4 * H
    assert cal.elapsed(local(2025, 3, 17), local(2025, 3, 18)) == 0
    assert cal.elapsed(local(2025, 12, 24), local(2025, 12, 25)) == 3 * H
    assert cal.due(local(2025, 3, 14, 12), 2 * H) == local(2025, 3, 18, 10)


def test_pauses_merge_and_clip() -> None:
    cal = make()
    start, end = local(2025, 1, 6, 9), local(2025, 1, 6, 17)
    pauses = [(local(2025, 1, 6, 8), local(2025, 1, 6, 10)), (local(2025, 1, 6, 9, 30), local(2025, 1, 6, 11))]
    assert cal.elapsed(start, end, pauses) == 6 * H
    assert cal.due(start, 1 * H, pauses) == local(2025, 1, 6, 12)
    # A pause that starts exactly when the target runs out pushes the due instant to its end.
    assert cal.due(start, 1 * H, [(local(2025, 1, 6, 10), local(2025, 1, 6, 10, 30))]) == local(2025, 1, 6, 10, 30)
    with pytest.raises(ValueError, match="after"):
        cal.elapsed(end, start)
    with pytest.raises(ValueError, match="negative"):
        cal.due(start, -1)


def test_next_open_and_close() -> None:
    cal = make()
    inside = local(2025, 1, 6, 10, 15, 30)
    assert cal.is_open(inside)
    assert cal.next_open(inside) == inside
    assert cal.next_close(inside) == local(2025, 1, 6, 17)
    assert cal.next_close(local(2025, 1, 6, 17)) == local(2025, 1, 7, 17)
    assert cal.next_open(local(2025, 1, 4, 12)) == local(2025, 1, 6, 9)


def test_far_past_and_future_extend_lazily() -> None:
    cal = make()
    assert cal.elapsed(local(1999, 1, 4), local(1999, 1, 9)) == 5 * 8 * H
    assert cal.due(local(2025, 1, 6, 9), 8 * H * 5 * 52 * 30) > local(2054, 1, 1)
    assert cal.elapsed(local(1999, 1, 4, 9), local(2031, 1, 6, 9)) > 0


def test_no_working_time_never_loops() -> None:
    cal = make(hours={}, exceptions=[{"date": "2025-01-07", "hours": ["09:00-10:00"]}])
    assert cal.due(local(2025, 1, 1), 1800) == local(2025, 1, 7, 9, 30)
    with pytest.raises(ValidationProblem) as info:
        cal.due(local(2025, 1, 1), 3600)
    assert [e.field for e in info.value.errors] == ["hours"]
    with pytest.raises(ValidationProblem):
        cal.next_open(local(2025, 2, 1))
    with pytest.raises(ValidationProblem):
        cal.due_bulk(np.array([0], dtype=np.int64) + 1_735_000_000, np.array([7200], dtype=np.int64))


def test_builtin_24x7_and_cache() -> None:
    cal = compile_calendar(BUILTIN_24X7)
    assert cal is compile_calendar(parse_calendar(BUILTIN_24X7.model_dump()))
    start = dt.datetime(2025, 3, 30, tzinfo=UTC)
    assert cal.due(start, 36 * H) == start + dt.timedelta(hours=36)
    assert cal.elapsed(start, start + dt.timedelta(days=400)) == 400 * 24 * H
    with pytest.raises(ValidationProblem):
        cal.next_close(start)  # never closes within the horizon


def test_kathmandu_and_apia_offsets() -> None:
    ktm = make(timezone="Asia/Kathmandu")
    assert ktm.due(local(2025, 1, 6, 9, tz="Asia/Kathmandu"), 0) == dt.datetime(2025, 1, 6, 3, 15, tzinfo=UTC)
    apia = make(timezone="Pacific/Apia", hours={d: ["00:00-24:00"] for d in ("mon", "thu", "fri", "sat")})
    # 2011-12-30 (Friday) never happened in Samoa: Thursday 29th is followed by Saturday 31st.
    days = dict(tz="Pacific/Apia")
    assert apia.elapsed(local(2011, 12, 29, **days), local(2012, 1, 1, **days)) == 48 * H


def test_bulk_equals_scalar() -> None:
    cal = make(holidays={"country": "DE", "subdivision": "BY"}, hours={**WEEKDAYS_9_TO_5, "sat": ["22:00-06:00"]})
    rng = np.random.default_rng(7)
    base = int(local(2025, 1, 1).timestamp())
    starts = base + rng.integers(0, 3 * 365 * 86400, size=2000)
    seconds = rng.integers(0, 200 * H, size=2000)
    dues = cal.due_bulk(starts, seconds)
    assert dues.tolist() == [cal.due_epoch(int(a), int(d)) for a, d in zip(starts, seconds, strict=True)]
    ends = starts + rng.integers(0, 400 * 86400, size=2000)
    got = cal.elapsed_bulk(starts, ends)
    assert got.tolist() == [cal.elapsed_epoch(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]
    assert cal.elapsed_bulk(starts, dues).tolist() == seconds.tolist()
