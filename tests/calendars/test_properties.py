"""Property tests: the engine against the minute-stepping reference, and its own invariants."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.calendars.engine import BusinessCalendar, from_epoch, to_epoch
from app.core.errors import ValidationProblem
from tests.calendars.reference import MAX_DAYS, ReferenceCalendar
from tests.calendars.strategies import Case, cases, minutes, pauses

UTC = dt.UTC
FAST = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
MEDIUM = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])


def _dt(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, UTC)


# How an instant may reach the datetime API: UTC (what the clock engine passes), another zone, a fixed offset.
SHOWN_IN = st.sampled_from(
    [UTC, ZoneInfo("Europe/Berlin"), ZoneInfo("America/Sao_Paulo"), dt.timezone(-dt.timedelta(hours=9, minutes=30))]
)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def _instant(epoch: int, micros: int, zone: dt.tzinfo) -> dt.datetime:
    return (_EPOCH + dt.timedelta(seconds=epoch, microseconds=micros)).astimezone(zone)


@FAST
@given(
    seconds=st.integers(-5_364_662_400, 22_090_000_000),  # 1800 to 2670
    micros=st.integers(0, 999_999),
    zone=SHOWN_IN,
)
def test_to_epoch_floors_to_whole_seconds(seconds: int, micros: int, zone: dt.tzinfo) -> None:
    instant = _instant(seconds, micros, zone)
    assert to_epoch(instant) == seconds == (instant - _EPOCH) // dt.timedelta(seconds=1)
    assert to_epoch(instant.replace(tzinfo=None), zone) == seconds
    assert from_epoch(seconds) == _EPOCH + dt.timedelta(seconds=seconds)
    assert from_epoch(seconds).tzinfo is UTC


@FAST
@given(case=cases(window_days=10), data=st.data())
def test_datetime_path_equals_epoch_path(case: Case, data: st.DataObject) -> None:
    engine = BusinessCalendar(case.spec)
    a = case.start + data.draw(st.integers(-86400, 86400), label="start_offset")
    b = a + data.draw(st.integers(0, 10 * 86400), label="span")
    seconds = data.draw(st.integers(0, 10 * 86400), label="duration")
    micros = data.draw(st.tuples(st.integers(0, 999_999), st.integers(0, 999_999)), label="micros")
    zone = data.draw(SHOWN_IN, label="zone")
    start, end = _instant(a, micros[0], zone), _instant(b, micros[1], zone)
    assert engine.elapsed(start, end) == engine.elapsed_epoch(a, b)
    assert engine.elapsed(start, end, []) == engine.elapsed_epoch(a, b)
    assert engine.due(start, seconds) == from_epoch(engine.due_epoch(a, seconds))
    assert engine.due(start, seconds, []) == from_epoch(engine.due_with_pauses(a, seconds, []))
    # Naive values are wall time in the calendar's zone.
    local = start.astimezone(engine.tz).replace(tzinfo=None)
    if local.replace(tzinfo=engine.tz).astimezone(UTC) == start:  # not a wall time that repeats or is skipped
        assert engine.due(local, seconds) == engine.due(start, seconds)
        assert engine.elapsed(local, end) == engine.elapsed(start, end)


def _edges(engine: BusinessCalendar, a: int, b: int) -> list[int]:
    """Instants in ``[a, b]`` where a day row's answer changes shape: UTC midnights and span ends, each +-1 s."""
    points = {a, b}
    for midnight in range(a - a % 86400, b + 1, 86400):
        points.update((midnight - 1, midnight, midnight + 1))
    for s, e in zip(engine._tab.starts[1:], engine._tab.ends[1:], strict=True):
        if a <= s <= b or a <= e <= b:
            points.update((s - 1, s, s + 1, e - 1, e, e + 1))
    return sorted(t for t in points if a <= t <= b)


@FAST
@given(case=cases(window_days=10), data=st.data())
def test_day_rows_agree_with_the_span_table(case: Case, data: st.DataObject) -> None:
    # The datetime elapsed reads B from per-UTC-day rows (the bisect on days with several spans);
    # both must give what the bisect over the span table gives, across DST changes, holidays and exceptions.
    engine = BusinessCalendar(case.spec)
    a = case.start - 86400
    b = case.start + 11 * 86400
    engine.elapsed_epoch(a, b)  # the table, and so the rows, cover the window before the datetime calls
    assert engine._days.size > 0
    points = _edges(engine, a, b)
    picked = data.draw(st.lists(st.sampled_from(points), min_size=2, max_size=12), label="instants")
    micros = data.draw(st.integers(0, 999_999), label="micros")
    zone = data.draw(SHOWN_IN, label="zone")
    origin = picked[0]
    for t in picked[1:]:
        lo, hi = min(origin, t), max(origin, t)
        start, end = _instant(lo, micros, zone), _instant(hi, micros, zone)
        assert engine.elapsed(start, end) == engine.elapsed_epoch(lo, hi)
        assert engine.business_epoch(hi) - engine.business_epoch(lo) == engine.elapsed_epoch(lo, hi)
        if lo < hi:
            with pytest.raises(ValueError, match="start is after end"):
                engine.elapsed(end, start)
    # Within one second a later-looking start is not a reversed span (instants are floored to the second).
    assert engine.elapsed(_instant(origin, 999_999, UTC), _instant(origin, 0, UTC)) == 0


@MEDIUM
@given(case=cases(), data=st.data())
def test_elapsed_matches_reference(case: Case, data: st.DataObject) -> None:
    span = data.draw(st.integers(0, case.window_days * 1440), label="span_minutes")
    end = case.start + 60 * span
    paused = data.draw(pauses(case.start, span), label="pauses")
    engine = BusinessCalendar(case.spec)
    expected = ReferenceCalendar(case.spec).elapsed(case.start, end, paused)
    got = engine.elapsed(_dt(case.start), _dt(end), [(_dt(p), _dt(q)) for p, q in paused])
    assert got == expected


@MEDIUM
@given(case=cases(window_days=3), data=st.data())
def test_due_matches_reference(case: Case, data: st.DataObject) -> None:
    duration = data.draw(minutes(3 * 1440), label="duration")
    paused = data.draw(pauses(case.start, 2 * 1440), label="pauses")
    engine = BusinessCalendar(case.spec)
    spans = [(_dt(p), _dt(q)) for p, q in paused]
    try:
        expected = ReferenceCalendar(case.spec).due(case.start, duration, paused)
    except OverflowError:
        # Sparse calendar: the engine must land past the reference window, or find no time at all.
        fields = ["past the window"]
        try:
            far = engine.due(_dt(case.start), duration, spans)
        except ValidationProblem as exc:
            fields = [e.field for e in exc.errors]
        else:
            assert far > _dt(case.start + MAX_DAYS * 86400 - 1)
        assert fields in (["hours"], ["past the window"])
        return
    got = engine.due(_dt(case.start), duration, spans)
    assert got == _dt(expected)
    assert got.tzinfo == UTC


@FAST
@given(case=cases(window_days=10), data=st.data())
def test_due_and_elapsed_are_inverse(case: Case, data: st.DataObject) -> None:
    engine = BusinessCalendar(case.spec)
    duration = data.draw(st.integers(0, 20 * 86400), label="duration_seconds")
    paused = data.draw(pauses(case.start, 5 * 1440), label="pauses")
    spans = [(_dt(p), _dt(q)) for p, q in paused]
    start = _dt(case.start + data.draw(st.integers(0, 59), label="second"))
    due = engine.due(start, duration, spans)
    assert due >= start
    assert engine.elapsed(start, due, spans) == duration
    # Latest instant: one second later more business time has elapsed.
    assert engine.elapsed(start, due + dt.timedelta(seconds=1), spans) == duration + 1


@FAST
@given(case=cases(window_days=10), data=st.data())
def test_monotone_and_additive(case: Case, data: st.DataObject) -> None:
    engine = BusinessCalendar(case.spec)
    a = case.start
    b = a + data.draw(st.integers(0, 5 * 86400), label="b")
    c = b + data.draw(st.integers(0, 5 * 86400), label="c")
    assert engine.elapsed_epoch(a, b) + engine.elapsed_epoch(b, c) == engine.elapsed_epoch(a, c)
    assert 0 <= engine.elapsed_epoch(a, b) <= b - a
    d1 = data.draw(st.integers(0, 10 * 86400), label="d1")
    d2 = d1 + data.draw(st.integers(0, 86400), label="d2")
    assert engine.due_epoch(a, d1) <= engine.due_epoch(a, d2)
    assert engine.due_epoch(a, d1) <= engine.due_epoch(b, d1)
    # The clock engine's breach rule: elapsed <= target exactly up to due.
    due = engine.due_epoch(a, d1)
    assert engine.elapsed_epoch(a, due) <= d1 < engine.elapsed_epoch(a, due + 1)


@MEDIUM
@given(case=cases(window_days=10), data=st.data())
def test_bulk_equals_scalar(case: Case, data: st.DataObject) -> None:
    engine = BusinessCalendar(case.spec)
    n = data.draw(st.integers(1, 20), label="n")
    offsets = data.draw(st.lists(st.integers(0, 10 * 86400), min_size=n, max_size=n), label="offsets")
    spans = data.draw(st.lists(st.integers(0, 30 * 86400), min_size=n, max_size=n), label="spans")
    starts = np.array([case.start + o for o in offsets], dtype=np.int64)
    amounts = np.array(spans, dtype=np.int64)
    dues = engine.due_bulk(starts, amounts)
    assert dues.tolist() == [engine.due_epoch(int(s), int(d)) for s, d in zip(starts, amounts, strict=True)]
    ends = starts + amounts
    got = engine.elapsed_bulk(starts, ends)
    assert got.tolist() == [engine.elapsed_epoch(int(s), int(e)) for s, e in zip(starts, ends, strict=True)]
    first = from_epoch(int(starts[0]))
    assert engine.next_open(first) == from_epoch(engine.due_epoch(int(starts[0]), 0))
    assert engine.is_open(first) == (engine.next_open(first) == first)
