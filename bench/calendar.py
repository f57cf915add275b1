"""Benchmark of the business-hours engine on the calls the clock engine makes, against two peer packages.

Run: ``.venv/bin/python bench/calendar.py``. Calendar: Mon-Fri 09:00-17:00 in
Europe/Berlin with the holidays of Bavaria (country DE, subdivision BY).

Headline: ``BusinessCalendar.elapsed(start, end)`` and ``.due(start, seconds)``
on UTC-aware datetimes without pauses, as ``app/clocks/measure.py`` calls them
for each running span of a clock, on spans of 1, 30 and 365 days. In the same
run and on the same inputs (the engine is timed again on exactly each peer's
inputs for the ratio): ``businesstime`` (``BusinessTime.businesstimedelta``) and
``businesstimedelta`` (``Rules.difference``, and ``start + BusinessTimeDelta``
for due). Each package gets the calendar as close as it can take it:

- businesstime has no time zones: it gets naive Berlin wall times, converted
  before timing; it has no "add a duration", so it has no due figure.
- businesstimedelta gets the same UTC-aware datetimes as the engine and
  Europe/Berlin as a pytz zone. Its due is the earliest instant with that much
  business time elapsed (a duration that ends at closing time gives 17:00), the
  engine's the latest (the next opening); dues are compared by elapsed time.
- Both get the same DE-BY holiday dates, as a set (their fastest form).

Secondary: the same calls through ``measure.elapsed_in``/``instant_in`` (one
running span, resolver included), the epoch methods underneath, and the numpy
bulk paths. Each figure is the best of several short samples (the machine is
shared). The last line is machine-readable ``key=value`` pairs.
"""

import os
import sys

# This file is called calendar.py: keep its folder off sys.path so that `import calendar`
# (the standard library, used by businesstime and others) does not find this script.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import datetime as dt
import time
from collections.abc import Callable, Sequence, Sized
from typing import Any
from zoneinfo import ZoneInfo

import businesstimedelta as btd
import holidays
import numpy as np
import pytz
from businesstime import BusinessTime

from app.calendars import BusinessCalendar, compile_calendar, parse_calendar
from app.clocks.measure import elapsed_in, instant_in
from app.clocks.resolver import CalendarResolver
from app.clocks.state import Span

UTC = dt.UTC
TZ = ZoneInfo("Europe/Berlin")
SPANS_DAYS = (1, 30, 365)
ENGINE_N = 20_000
BULK_N = 1_000_000
# Every figure, whoever's, is the best of SAMPLES samples of at least SAMPLE_SECONDS each.
SAMPLES = 20
SAMPLE_SECONDS = 0.02
# Inputs per span for the peers (the first ones of the engine's): timed (a pass takes some 20-80 ms), and checked.
BUSINESSTIME_TIMED = {1: 4_000, 30: 1_000, 365: 50}
BUSINESSTIMEDELTA_TIMED = {1: 200, 30: 16, 365: 2}
CHECKED = {1: 4_000, 30: 200, 365: 20}
BUSINESS_DAY = 8 * 3600
Pair = tuple[Any, Any]


def per_second(*passes: Callable[[], Sized]) -> list[float]:
    """Answers per second of each pass (a call returning a list of answers).

    The passes are sampled in turn, so that a slow moment of the machine hits all of them alike: each sample
    repeats its pass for at least ``SAMPLE_SECONDS``, and each rate is from the best of ``SAMPLES`` samples.
    """
    rounds, answers = [], []
    for one_pass in passes:
        n, took = 1, 0.0
        while took < SAMPLE_SECONDS:
            n = max(2 * n, int(n * SAMPLE_SECONDS / took) + 1) if took else 1
            t0 = time.perf_counter()
            for _ in range(n):
                size = len(one_pass())
            took = time.perf_counter() - t0
        rounds.append(n)
        answers.append(n * size)
    best = [float("inf")] * len(passes)
    for _ in range(SAMPLES):
        for k, one_pass in enumerate(passes):
            t0 = time.perf_counter()
            for _ in range(rounds[k]):
                one_pass()
            best[k] = min(best[k], time.perf_counter() - t0)
    return [done / seconds for done, seconds in zip(answers, best, strict=True)]


def calls(fn: Callable[[Any, Any], object], args: Sequence[Pair]) -> Callable[[], Sized]:
    """A pass of ``fn(a, b)`` over ``args``."""
    return lambda: [fn(a, b) for a, b in args]


class Peers:
    """businesstime and businesstimedelta set up for the bench calendar, as close as each allows."""

    def __init__(self) -> None:
        bavaria = set(holidays.country_holidays("DE", subdiv="BY", years=range(2024, 2028)).keys())
        self.bt = BusinessTime(business_hours=(dt.time(9), dt.time(17)), weekends=(5, 6), holidays=bavaria)
        berlin = pytz.timezone("Europe/Berlin")
        workdays = btd.WorkDayRule(dt.time(9), dt.time(17), working_days=[0, 1, 2, 3, 4], tz=berlin)
        self.rules = btd.Rules([workdays, btd.HolidayRule(bavaria, tz=berlin)])

    def businesstime_elapsed(self, a: dt.datetime, b: dt.datetime) -> int:
        """On naive Berlin wall times (businesstime has no zones); its timedelta's days are business days."""
        td = self.bt.businesstimedelta(a, b)
        return int(td.days * BUSINESS_DAY + td.seconds)

    def businesstimedelta_elapsed(self, a: dt.datetime, b: dt.datetime) -> int:
        return int(self.rules.difference(a, b).timedelta.total_seconds())

    def businesstimedelta_due(self, a: dt.datetime, seconds: int) -> dt.datetime:
        due: dt.datetime = a + btd.BusinessTimeDelta(self.rules, seconds=seconds)
        return due


def span_figures(cal: BusinessCalendar, peers: Peers, start_dts: list[dt.datetime], days: int) -> dict[str, float]:
    """The engine's datetime elapsed/due over ``days``-day spans, and the peers on the first of the same inputs."""
    amount = days * BUSINESS_DAY * 5 // 7  # about `days` calendar days of a 40-hour week
    span = dt.timedelta(days=days)
    pairs = [(a, a + span) for a in start_dts]
    dues = [(a, amount) for a in start_dts]
    el, due = per_second(calls(cal.elapsed, pairs), calls(cal.due, dues))
    print(f"span={days:>3}d  engine            elapsed={el:>10,.0f}/s  due={due:>10,.0f}/s")

    # Each peer, and the engine again on exactly the inputs the peer was timed on.
    checked = pairs[: CHECKED[days]]
    naive = [(a.astimezone(TZ).replace(tzinfo=None), b.astimezone(TZ).replace(tzinfo=None)) for a, b in checked]
    bt_timed = BUSINESSTIME_TIMED[days]
    bt, ours = per_second(calls(peers.businesstime_elapsed, naive[:bt_timed]), calls(cal.elapsed, checked[:bt_timed]))
    bt_ratio = ours / bt
    bt_same = sum(peers.businesstime_elapsed(*n) == cal.elapsed(*p) for n, p in zip(naive, checked, strict=True))
    print(
        f"      businesstime      elapsed={bt:>10,.0f}/s (engine x{bt_ratio:,.1f}); "
        f"same answer on {bt_same}/{len(naive)}"
        + ("" if bt_same == len(naive) else " (it counts 0 from after closing to after closing the next workday)")
    )

    btd_timed = BUSINESSTIMEDELTA_TIMED[days]
    btd_el, ours_el, btd_due, ours_due = per_second(
        calls(peers.businesstimedelta_elapsed, checked[:btd_timed]),
        calls(cal.elapsed, checked[:btd_timed]),
        calls(peers.businesstimedelta_due, dues[:btd_timed]),
        calls(cal.due, dues[:btd_timed]),
    )
    btd_ratio, btd_due_ratio = ours_el / btd_el, ours_due / btd_due
    same = sum(peers.businesstimedelta_elapsed(*p) == cal.elapsed(*p) for p in checked)
    due_checked = dues[: CHECKED[days]]
    theirs = [peers.businesstimedelta_due(a, s) for a, s in due_checked]
    same_due = sum(t == cal.due(a, s) for t, (a, s) in zip(theirs, due_checked, strict=True))
    same_elapsed = sum(cal.elapsed(a, t) == s for t, (a, s) in zip(theirs, due_checked, strict=True))
    print(
        f"      businesstimedelta elapsed={btd_el:>10,.0f}/s (engine x{btd_ratio:,.0f}); same answer on "
        f"{same}/{len(checked)}   due={btd_due:,.0f}/s (engine x{btd_due_ratio:,.0f}); same instant on "
        f"{same_due}/{len(theirs)}, the same business time to its instant on {same_elapsed}/{len(theirs)}"
    )
    return {
        f"engine_elapsed_{days}d_ops_s": el,
        f"engine_due_{days}d_ops_s": due,
        f"ratio_businesstime_{days}d": bt_ratio,
        f"ratio_businesstimedelta_{days}d": btd_ratio,
        f"ratio_due_businesstimedelta_{days}d": btd_due_ratio,
    }


def main() -> None:
    spec = parse_calendar(
        {
            "name": "bench",
            "timezone": "Europe/Berlin",
            "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": {"country": "DE", "subdivision": "BY"},
        }
    )
    cal = compile_calendar(spec)
    rng = np.random.default_rng(20250101)
    year_start = int(dt.datetime(2025, 1, 1, tzinfo=TZ).timestamp())
    # Starts on random seconds of 2025; warm the table over the years the queries reach.
    starts_np = year_start + rng.integers(0, 365 * 86400, size=BULK_N)
    cal.elapsed_epoch(year_start - 86400 * 10, year_start + 3 * 365 * 86400)
    starts = starts_np[:ENGINE_N].tolist()
    # What a clock's span holds: UTC-aware datetimes (UtcInstant).
    start_dts = [dt.datetime.fromtimestamp(a, UTC) for a in starts]

    print("BusinessCalendar.elapsed/due on UTC-aware datetimes without pauses (the calls measure.py makes):")
    peers = Peers()
    figures: dict[str, float] = {}
    for days in SPANS_DAYS:
        figures.update(span_figures(cal, peers, start_dts, days))

    # Secondary: one layer up, as the clock engine measures a one-span timeline (resolver included).
    resolve = CalendarResolver({"bench": cal})
    month, amount_30 = dt.timedelta(days=30), 30 * BUSINESS_DAY * 5 // 7
    closed = [([Span(start=a, end=a + month, kind="running", calendar="bench")], a + month) for a in start_dts]
    running = [([Span(start=a, kind="running", calendar="bench")], amount_30) for a in start_dts]
    figures["measure_elapsed_in_30d_ops_s"], figures["measure_instant_in_30d_ops_s"] = per_second(
        lambda: [elapsed_in(s, u, resolve) for s, u in closed], lambda: [instant_in(s, n, resolve) for s, n in running]
    )
    print(
        f"measure.py, one running span, 30d: elapsed_in={figures['measure_elapsed_in_30d_ops_s']:,.0f}/s  "
        f"instant_in={figures['measure_instant_in_30d_ops_s']:,.0f}/s"
    )

    # Secondary: the epoch methods underneath and the numpy bulk paths (neither is called by the clock engine).
    epoch_pairs = [(a, a + 30 * 86400) for a in starts]
    figures["epoch_elapsed_30d_ops_s"], figures["epoch_due_30d_ops_s"] = per_second(
        calls(cal.elapsed_epoch, epoch_pairs), calls(cal.due_epoch, [(a, amount_30) for a in starts])
    )
    amounts_np = np.full(BULK_N, amount_30, dtype=np.int64)
    ends_np = starts_np + 30 * 86400
    figures["bulk_elapsed_30d_ops_s"], figures["bulk_due_30d_ops_s"] = per_second(
        lambda: cal.elapsed_bulk(starts_np, ends_np), lambda: cal.due_bulk(starts_np, amounts_np)
    )
    check = slice(0, 20_000)
    assert cal.due_bulk(starts_np[check], amounts_np[check]).tolist() == [
        cal.due_epoch(int(a), int(d)) for a, d in zip(starts_np[check], amounts_np[check], strict=True)
    ]
    print(
        f"epoch methods, 30d: elapsed_epoch={figures['epoch_elapsed_30d_ops_s']:,.0f}/s  "
        f"due_epoch={figures['epoch_due_30d_ops_s']:,.0f}/s   bulk n={BULK_N:,}: "
        f"elapsed_bulk={figures['bulk_elapsed_30d_ops_s']:,.0f}/s  due_bulk={figures['bulk_due_30d_ops_s']:,.0f}/s"
    )

    figures["ratio_businesstime"] = figures["ratio_businesstime_30d"]
    figures["ratio_businesstimedelta"] = figures["ratio_businesstimedelta_30d"]
    figures["ratio_due_businesstimedelta"] = figures["ratio_due_businesstimedelta_30d"]
    figures["bulk_ops_s"] = min(figures["bulk_due_30d_ops_s"], figures["bulk_elapsed_30d_ops_s"])
    keys = [
        "engine_elapsed_30d_ops_s",
        "engine_due_30d_ops_s",
        "ratio_businesstime",
        "ratio_businesstimedelta",
        "ratio_due_businesstimedelta",
        "engine_elapsed_1d_ops_s",
        "engine_elapsed_365d_ops_s",
        "engine_due_1d_ops_s",
        "engine_due_365d_ops_s",
        "measure_elapsed_in_30d_ops_s",
        "measure_instant_in_30d_ops_s",
        "epoch_elapsed_30d_ops_s",
        "bulk_ops_s",
    ]
    print(" ".join(f"{k}={figures[k]:.1f}" if k.startswith("ratio") else f"{k}={figures[k]:.0f}" for k in keys))


if __name__ == "__main__":
    main()
