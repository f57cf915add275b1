"""Business-time arithmetic over a compiled calendar (pure: no I/O, no clock).

Working time is kept as merged UTC intervals ``[starts[k], ends[k])`` in epoch
seconds with ``cum[k]`` = business seconds before ``starts[k]``. Then
``B(t)`` (business seconds from the origin up to ``t``) is one bisect, elapsed
time is ``B(b) - B(a)`` and a due instant is one bisect of ``cum``. The table
covers whole local years and grows on demand in both directions.

The datetime ``elapsed`` reads ``B`` from a second table with one row per UTC
day instead: a datetime minus the epoch is a timedelta whose ``days`` picks the
row and whose ``seconds`` is the time of day, so most instants cost one list
index and no bisect. A row can only describe a day with at most one working
span; days with more (split shifts, a span crossing midnight UTC and another
that day) are answered by the bisect.

Conventions: business time is real elapsed seconds; wall times that
do not exist or exist twice are read with fold=0; ``due`` is the latest instant
at which elapsed business time still equals the duration.
"""

from __future__ import annotations

import datetime as dt
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Sequence
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from app.calendars.intervals import CalendarPlan, Span, merge, subtract, year_spans
from app.calendars.spec import CalendarSpec
from app.core.errors import ValidationProblem

Int64Array = npt.NDArray[np.int64]
Pause = tuple[dt.datetime, dt.datetime]

HORIZON_YEARS = 100
HORIZON_SECONDS = HORIZON_YEARS * 31_556_952
MIN_YEAR, MAX_YEAR = 1800, 2700
_DAY = 86_400
_SENTINEL = -(10**15)  # an empty interval before all time, so every bisect lands on an index >= 0
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class _DayRow(NamedTuple):
    """A UTC day's one working span ``[opens, closes)`` in seconds after midnight, and ``B`` at ``opens``."""

    opens: int  # 0 and closes 0 on a day without working time
    closes: int
    before: int


class _Days(NamedTuple):
    rows: list[_DayRow | None]  # None: a day with several working spans
    first: int  # the UTC day number (days since the epoch) of rows[0]
    size: int  # len(rows)


class _Table(NamedTuple):
    fast: tuple[list[int], list[int], list[int], int, int]  # starts, ends, cum, lo, hi for the scalar path
    days: _Days  # covers the days that lie wholly in [lo, hi)
    starts: list[int]
    ends: list[int]
    cum: list[int]
    lo: int  # queries in [lo, hi) see every working interval of the calendar
    hi: int
    np_starts: Int64Array
    np_ends: Int64Array
    np_cum: Int64Array


def _jan1(year: int) -> int:
    return (dt.date(year, 1, 1) - dt.date(1970, 1, 1)).days * _DAY


def _year_of(epoch: int) -> int:
    return 1970 + int(epoch // 31_556_952)


def _no_time(reason: str) -> ValidationProblem:
    return ValidationProblem.single("hours", reason)


def to_epoch(instant: dt.datetime, tz: dt.tzinfo = dt.UTC) -> int:
    """Whole UTC epoch seconds of ``instant`` (floored); a naive value is read as wall time in ``tz``."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=tz)
    since = instant - _EPOCH
    # A timedelta keeps 0 <= seconds < 86400 and microseconds >= 0, so this is the floor in whole seconds.
    return since.days * _DAY + since.seconds


def from_epoch(epoch: int) -> dt.datetime:
    """A UTC-aware datetime for epoch seconds."""
    return _EPOCH + dt.timedelta(0, epoch)  # (days, seconds)


def _business_in(starts: list[int], ends: list[int], cum: list[int], t: int) -> int:
    """``B(t)`` from the span table, by one bisect."""
    i = bisect_right(starts, t) - 1
    end = ends[i]
    return cum[i] + (t if t < end else end) - starts[i]


def _day_rows(starts: list[int], ends: list[int], cum: list[int], first: int, last: int) -> list[_DayRow | None]:
    """The rows of the UTC days ``first`` to ``last - 1`` (day numbers), from the span table."""
    rows: list[_DayRow | None] = []
    for day in range(first, last):
        midnight, next_midnight = day * _DAY, (day + 1) * _DAY
        i = bisect_right(starts, midnight) - 1
        if ends[i] <= midnight:
            i += 1  # spans i .. j-1 are those that reach into the day
        j = bisect_left(starts, next_midnight)
        if j == i:
            rows.append(_DayRow(0, 0, _business_in(starts, ends, cum, midnight)))
        elif j == i + 1:
            opens = max(starts[i], midnight)
            closes = min(ends[i], next_midnight)
            rows.append(_DayRow(opens - midnight, closes - midnight, _business_in(starts, ends, cum, opens)))
        else:
            rows.append(None)
    return rows


def merge_pauses(pauses: Sequence[tuple[int, int]]) -> list[Span]:
    """Sorted union of pause spans (epoch seconds); a reversed span is refused."""
    for start, end in pauses:
        if end < start:
            raise ValueError("a pause ends before it starts")
    return merge(pauses)


class BusinessCalendar:
    """A calendar compiled for fast business-time queries (scalar, epoch and numpy bulk)."""

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self.tz = ZoneInfo(spec.timezone)
        self._plan = CalendarPlan.from_spec(spec)
        self._raw: dict[int, tuple[list[Span], list[Span]]] = {}
        self._years: tuple[int, int] | None = None
        self._lock = threading.Lock()
        empty = np.zeros(0, dtype=np.int64)
        self._tab = _Table(([], [], [], 0, 0), _Days([], 0, 0), [], [], [], 0, 0, empty, empty, empty)
        self._fast = self._tab.fast
        self._days = self._tab.days

    # -- table maintenance -------------------------------------------------

    def _rebuild(self, lo_year: int, hi_year: int) -> _Table:
        for year in range(lo_year, hi_year + 1):
            if year not in self._raw:
                self._raw[year] = year_spans(self._plan, year)
        years = range(lo_year, hi_year + 1)
        opens = merge(span for y in years for span in self._raw[y][0])
        spans = subtract(opens, merge(span for y in years for span in self._raw[y][1]))
        starts = [_SENTINEL] + [s for s, _ in spans]
        ends = [_SENTINEL] + [e for _, e in spans]
        # cum[k] is the business time before starts[k]; one extra slot holds the total.
        cum = [0] * (len(spans) + 2)
        total = 0
        for k, (s, e) in enumerate(spans, start=2):
            total += e - s
            cum[k] = total
        # Spans of dates just outside the years (overnight spill, offsets up to 14h, a skipped day)
        # may reach a couple of days in, so the trusted window is trimmed by that much.
        lo, hi = _jan1(lo_year) + 3 * _DAY, _jan1(hi_year + 1) - 2 * _DAY
        # lo and hi are midnights UTC, so the day rows cover exactly the trusted window.
        first_day, last_day = lo // _DAY, hi // _DAY
        days = _Days(_day_rows(starts, ends, cum, first_day, last_day), first_day, last_day - first_day)
        tab = _Table(
            (starts, ends, cum, lo, hi),
            days,
            starts,
            ends,
            cum,
            lo,
            hi,
            np.asarray(starts, dtype=np.int64),
            np.asarray(ends, dtype=np.int64),
            np.asarray(cum, dtype=np.int64),
        )
        self._years = (lo_year, hi_year)
        self._tab = tab
        self._fast = tab.fast
        self._days = tab.days
        return tab

    def _cover(self, a: int, b: int) -> _Table:
        """The table, grown so that ``[a, b]`` lies inside its trusted window."""
        with self._lock:
            tab = self._tab
            if tab.lo <= a and b < tab.hi:
                return tab
            lo_year, hi_year = _year_of(a) - 1, _year_of(b) + 1
            if self._years is not None:
                lo_year, hi_year = min(lo_year, self._years[0]), max(hi_year, self._years[1])
            # _year_of is approximate near New Year; widen until the window really holds [a, b].
            while True:
                if lo_year < MIN_YEAR or hi_year > MAX_YEAR:
                    raise ValueError(f"instants must lie between the years {MIN_YEAR + 1} and {MAX_YEAR - 1}")
                tab = self._rebuild(lo_year, hi_year)
                if tab.lo <= a and b < tab.hi:
                    return tab
                lo_year, hi_year = lo_year - (a < tab.lo), hi_year + (b >= tab.hi)

    def _grow_forward(self, limit: int) -> _Table:
        """Double the covered years forward; ``ValidationProblem`` once past ``limit``."""
        with self._lock:
            tab = self._tab
            if tab.hi > limit or self._years is None or self._years[1] >= MAX_YEAR:
                raise _no_time(f"no working time within {HORIZON_YEARS} years")
            lo_year, hi_year = self._years
            return self._rebuild(lo_year, min(MAX_YEAR, hi_year + max(1, hi_year - lo_year + 1)))

    # -- epoch fast paths -------------------------------------------------------

    def business_epoch(self, t: int) -> int:
        """Business seconds from the table's origin up to ``t`` (only differences are meaningful)."""
        tab = self._tab
        if not tab.lo <= t < tab.hi:
            tab = self._cover(t, t)
        return _business_in(tab.starts, tab.ends, tab.cum, t)

    def elapsed_epoch(self, start: int, end: int) -> int:
        """Business seconds in ``[start, end]`` (epoch seconds)."""
        # The hot path of the clock engine: one tuple unpack, two bisects, no attribute lookups.
        starts, ends, cum, lo, hi = self._fast
        if not lo <= start <= end < hi:
            if end < start:
                raise ValueError("start is after end")
            starts, ends, cum, lo, hi = self._cover(start, end).fast
        i = bisect_right(starts, start) - 1
        e = ends[i]
        before = cum[i] + (start if start < e else e) - starts[i]
        i = bisect_right(starts, end) - 1
        e = ends[i]
        return cum[i] + (end if end < e else e) - starts[i] - before

    def due_epoch(self, start: int, seconds: int) -> int:
        """The latest epoch second at which ``seconds`` of business time have elapsed since ``start``."""
        starts, ends, cum, lo, hi = self._fast
        if not lo <= start < hi or seconds < 0:
            if seconds < 0:
                raise ValueError("a duration cannot be negative")
            starts, ends, cum, lo, hi = self._cover(start, start).fast
        while True:
            i = bisect_right(starts, start) - 1
            e = ends[i]
            target = cum[i] + (start if start < e else e) - starts[i] + seconds
            # The last span whose preceding business time is <= target: a target that runs out exactly
            # at closing time thus lands on the next opening (the latest instant with that elapsed time).
            j = bisect_right(cum, target) - 1
            if j < len(starts):
                due = starts[j] + target - cum[j]
                if due < hi:
                    return due
            starts, ends, cum, lo, hi = self._grow_forward(start + HORIZON_SECONDS).fast

    # -- bulk (numpy) --------------------------------------------------------------

    def _business_np(self, tab: _Table, t: Int64Array) -> Int64Array:
        i = np.searchsorted(tab.np_starts, t, side="right") - 1
        result: Int64Array = tab.np_cum[i] + np.minimum(t, tab.np_ends[i]) - tab.np_starts[i]
        return result

    def elapsed_bulk(self, starts: Int64Array, ends: Int64Array) -> Int64Array:
        """Vectorised ``elapsed_epoch`` over arrays of epoch seconds."""
        a = np.asarray(starts, dtype=np.int64)
        b = np.asarray(ends, dtype=np.int64)
        if a.size == 0:
            return np.zeros(0, dtype=np.int64)
        if bool((b < a).any()):
            raise ValueError("a start is after its end")
        tab = self._tab
        lo, hi = int(a.min()), int(b.max())
        if not (tab.lo <= lo and hi < tab.hi):
            tab = self._cover(lo, hi)
        return self._business_np(tab, b) - self._business_np(tab, a)

    def due_bulk(self, starts: Int64Array, seconds: Int64Array) -> Int64Array:
        """Vectorised ``due_epoch`` over arrays of epoch seconds and durations."""
        a, d = np.broadcast_arrays(np.asarray(starts, dtype=np.int64), np.asarray(seconds, dtype=np.int64))
        a, d = a.ravel(), d.ravel()
        if a.size == 0:
            return np.zeros(0, dtype=np.int64)
        if bool((d < 0).any()):
            raise ValueError("a duration cannot be negative")
        tab = self._tab
        lo, hi = int(a.min()), int(a.max())
        if not (tab.lo <= lo and hi < tab.hi):
            tab = self._cover(lo, hi)
        out, missing = self._due_np(tab, a, d)
        # Rare: targets past the covered years. Grow and redo only those.
        while missing.size:
            tab = self._grow_forward(int(a[missing].min()) + HORIZON_SECONDS)
            again, still = self._due_np(tab, a[missing], d[missing])
            out[missing] = again
            missing = missing[still]
        return out

    def _due_np(self, tab: _Table, a: Int64Array, d: Int64Array) -> tuple[Int64Array, npt.NDArray[np.intp]]:
        target = self._business_np(tab, a) + d
        j = np.searchsorted(tab.np_cum, target, side="right") - 1
        last = len(tab.starts) - 1
        found = j <= last
        np.minimum(j, last, out=j)
        due: Int64Array = tab.np_starts[j] + target - tab.np_cum[j]
        return due, np.flatnonzero(~found | (due >= tab.hi))

    # -- datetime API ------------------------------------------------------------------

    def _epoch(self, instant: dt.datetime) -> int:
        return to_epoch(instant, self.tz)

    def _pauses(self, pauses: Sequence[Pause]) -> list[Span]:
        return merge_pauses([(self._epoch(p), self._epoch(q)) for p, q in pauses])

    def _business_at(self, instant: dt.datetime) -> int:
        """``B`` at ``instant`` (floored to the second): its day's row, or the bisect where no row answers."""
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=self.tz)
        since = instant - _EPOCH
        rows, first, size = self._days
        k = since.days - first
        row = rows[k] if 0 <= k < size else None
        if row is None:
            return self.business_epoch(to_epoch(instant))
        opens, closes, before = row
        second = since.seconds
        if second <= opens:
            return before
        return before + (second if second < closes else closes) - opens

    def elapsed(self, start: dt.datetime, end: dt.datetime, pauses: Sequence[Pause] = ()) -> int:
        """Business seconds in ``[start, end]`` minus the (merged) paused spans."""
        if not pauses:
            # The clock engine's call: its timeline already left the pauses out.
            total = self._business_at(end) - self._business_at(start)
            # B never decreases, so only a total of zero can hide an end before the start.
            if total <= 0 and to_epoch(end, self.tz) < to_epoch(start, self.tz):
                raise ValueError("start is after end")
            return total
        a, b = to_epoch(start, self.tz), to_epoch(end, self.tz)
        total = self.elapsed_epoch(a, b)  # ValueError when end < start
        for p, q in self._pauses(pauses):
            p, q = max(p, a), min(q, b)
            if p < q:
                total -= self.elapsed_epoch(p, q)
        return total

    def due(self, start: dt.datetime, business_seconds: int, pauses: Sequence[Pause] = ()) -> dt.datetime:
        """The latest instant (UTC) at which elapsed business time minus pauses equals the duration."""
        a = to_epoch(start, self.tz)
        if not pauses:
            return from_epoch(self.due_epoch(a, business_seconds))
        return from_epoch(self.due_with_pauses(a, business_seconds, self._pauses(pauses)))

    def due_with_pauses(self, start: int, seconds: int, pauses: Sequence[Span]) -> int:
        """``due_epoch`` that skips merged, sorted pause spans (epoch seconds)."""
        remaining, cursor = seconds, start
        for p, q in pauses:
            if q <= cursor:
                continue
            p = max(p, cursor)
            candidate = self.due_epoch(cursor, remaining)
            # Due exactly at the pause start is not the latest such instant: the pause keeps it flat.
            if candidate < p:
                return candidate
            remaining -= self.elapsed_epoch(cursor, p)
            cursor = q
        return self.due_epoch(cursor, remaining)

    def _table_at(self, t: int) -> _Table:
        tab = self._tab
        return tab if tab.lo <= t < tab.hi else self._cover(t, t)

    def is_open(self, instant: dt.datetime) -> bool:
        """Whether ``instant`` lies inside working time."""
        t = self._epoch(instant)
        tab = self._table_at(t)
        i = bisect_right(tab.starts, t) - 1
        return t < tab.ends[i]

    def _span_at_or_after(self, t: int, need_end: bool) -> Span:
        """The working span containing ``t`` or the first one after it, trusted up to its start (or end)."""
        tab = self._table_at(t)
        while True:
            i = bisect_right(tab.starts, t) - 1
            if t >= tab.ends[i]:
                i += 1
            if i < len(tab.starts) and (tab.ends[i] if need_end else tab.starts[i]) < tab.hi:
                return tab.starts[i], tab.ends[i]
            tab = self._grow_forward(t + HORIZON_SECONDS)

    def next_open(self, instant: dt.datetime) -> dt.datetime:
        """``instant`` (in UTC) if open, else the next opening."""
        t = self._epoch(instant)
        start, _ = self._span_at_or_after(t, need_end=False)
        if start <= t:
            return instant.astimezone(dt.UTC) if instant.tzinfo else from_epoch(t)
        return from_epoch(start)

    def next_close(self, instant: dt.datetime) -> dt.datetime:
        """The end of the working span containing ``instant``, or of the next one."""
        _, end = self._span_at_or_after(self._epoch(instant), need_end=True)
        return from_epoch(end)


_CACHE: OrderedDict[str, BusinessCalendar] = OrderedDict()
_CACHE_SIZE = 64
_CACHE_LOCK = threading.Lock()


def compile_calendar(spec: CalendarSpec) -> BusinessCalendar:
    """A ``BusinessCalendar`` for ``spec``, shared between equal specs (small LRU cache)."""
    key = spec.canonical_json()
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
            return found
    compiled = BusinessCalendar(spec)
    with _CACHE_LOCK:
        _CACHE[key] = compiled
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return compiled
