"""Benchmark of the business-hours engine against the ``businesstime`` package.

Run: ``.venv/bin/python bench/calendar.py``. Calendar: Mon-Fri 09:00-17:00 in
Europe/Berlin with the holidays of Bavaria (country DE). Measures the epoch
fast paths ``due_epoch``/``elapsed_epoch`` on spans of 1, 30 and 365 days, the
numpy bulk paths over ~1M clocks, and ``BusinessTime.businesstimedelta`` on
the same 30-day inputs in the same run. The last line is machine-readable.
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
from collections.abc import Callable
from zoneinfo import ZoneInfo

import holidays
import numpy as np
from businesstime import BusinessTime

from app.calendars import compile_calendar, parse_calendar

TZ = ZoneInfo("Europe/Berlin")
SPANS_DAYS = (1, 30, 365)
SCALAR_N = 200_000
BULK_N = 1_000_000
BASELINE_N = 3_000
BUSINESS_DAY = 8 * 3600


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes (best of three)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


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
    # Starts on whole minutes over 2025; warm the table over the years the queries reach.
    starts_np = year_start + 60 * rng.integers(0, 365 * 1440, size=BULK_N)
    cal.elapsed_epoch(year_start - 86400 * 10, year_start + 3 * 365 * 86400)
    starts = starts_np[:SCALAR_N].tolist()

    due_rates, elapsed_rates = {}, {}
    for days in SPANS_DAYS:
        ends = [a + days * 86400 for a in starts]
        amount = days * BUSINESS_DAY * 5 // 7  # about `days` calendar days of a 40-hour week
        elapsed_epoch, due_epoch = cal.elapsed_epoch, cal.due_epoch
        t_el = timed(lambda ends=ends, f=elapsed_epoch: [f(a, b) for a, b in zip(starts, ends, strict=True)])
        t_due = timed(lambda amount=amount, g=due_epoch: [g(a, amount) for a in starts])
        elapsed_rates[days], due_rates[days] = SCALAR_N / t_el, SCALAR_N / t_due
        print(f"span={days:>3}d  due_epoch={due_rates[days]:>12,.0f}/s  elapsed_epoch={elapsed_rates[days]:>12,.0f}/s")

    amounts_np = np.full(BULK_N, 30 * BUSINESS_DAY * 5 // 7, dtype=np.int64)
    ends_np = starts_np + 30 * 86400
    due_bulk = BULK_N / timed(lambda: cal.due_bulk(starts_np, amounts_np))
    elapsed_bulk = BULK_N / timed(lambda: cal.elapsed_bulk(starts_np, ends_np))
    print(f"bulk n={BULK_N:,}  due_bulk={due_bulk:,.0f}/s  elapsed_bulk={elapsed_bulk:,.0f}/s")
    check = slice(0, 20_000)
    assert cal.due_bulk(starts_np[check], amounts_np[check]).tolist() == [
        cal.due_epoch(int(a), int(d)) for a, d in zip(starts_np[check], amounts_np[check], strict=True)
    ]

    # businesstime works on naive local datetimes; hand it a set of holiday dates (its fastest form).
    bavaria = set(holidays.country_holidays("DE", subdiv="BY", years=range(2024, 2028)).keys())
    baseline = BusinessTime(business_hours=(dt.time(9), dt.time(17)), weekends=(5, 6), holidays=bavaria)
    base_starts = starts[:BASELINE_N]
    ours_ends = [a + 30 * 86400 for a in base_starts]
    naive = [dt.datetime.fromtimestamp(a, TZ).replace(tzinfo=None) for a in base_starts]
    naive_ends = [dt.datetime.fromtimestamp(b, TZ).replace(tzinfo=None) for b in ours_ends]
    t_base = timed(lambda: [baseline.businesstimedelta(a, b) for a, b in zip(naive, naive_ends, strict=True)])
    t_ours = timed(lambda: [cal.elapsed_epoch(a, b) for a, b in zip(base_starts, ours_ends, strict=True)])
    base_rate, ours_rate = BASELINE_N / t_base, BASELINE_N / t_ours
    agree = sum(
        (td.days * BUSINESS_DAY + td.seconds) == cal.elapsed_epoch(a, b)
        for td, a, b in zip(
            (baseline.businesstimedelta(a, b) for a, b in zip(naive, naive_ends, strict=True)),
            base_starts,
            ours_ends,
            strict=True,
        )
    )
    ratio = ours_rate / base_rate
    print(
        f"businesstime 30d n={BASELINE_N:,}: {base_rate:,.0f}/s vs elapsed_epoch {ours_rate:,.0f}/s "
        f"(x{ratio:,.0f}); same answer on {agree / BASELINE_N:.1%}"
    )
    due_min = min(due_rates.values())
    elapsed_min = min(elapsed_rates.values())
    bulk = min(due_bulk, elapsed_bulk)
    print(
        f"due_ops_per_s={due_min:.0f} elapsed_ops_per_s={elapsed_min:.0f} "
        f"bulk_ops_per_s={bulk:.0f} vs_businesstime_30d={ratio:.1f}"
    )


if __name__ == "__main__":
    main()
