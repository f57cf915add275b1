"""The live board at 2,000 open clocks in headless Chromium, against the same page with 100 (the baseline).

Serves the real app on loopback over a migrated SQLite file, seeds open clocks through the REST API,
signs in through the form and measures in the page itself (``performance.now()``):

- first render: navigation start to the first rows drawn (median of 3 loads),
- the countdown loop: milliseconds per one-second tick (p95 over ~10 s, scrolled half-way down),
- long tasks (> 50 ms) seen by a ``PerformanceObserver`` during all of that,
- ``/board/data``: the server's time for the whole JSON (median of 5).

    .venv/bin/python bench/board.py [--clocks 2000] [--baseline 100]

Last line: board_rows=N first_render_ms=N tick_ms_p95=N vs_100_rows=R (R: first render, 2,000 over 100).
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/calendar.py would shadow the standard library's calendar module: drop this folder from the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx

from app.core.clock import system_now
from tests.board.live import browser, bulk_events, live_app, sign_in

LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
}).observe({ type: "longtask", buffered: true });
"""


@dataclass
class Figures:
    rows: int
    drawn: int
    first_render_ms: float
    tick_p50_ms: float
    tick_p95_ms: float
    long_tasks: int
    longest_task_ms: float
    data_ms: float


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else 0.0


def measure(clocks: int, tick_seconds: float) -> Figures:
    """Seed ``clocks`` open clocks (two per ticket) and measure the board showing them."""
    with live_app() as app:
        app.ingest(bulk_events(system_now(), clocks // 2))
        headers = {"Authorization": f"Bearer {app.read_key}"}
        data_times = []
        for _ in range(5):
            started = time.perf_counter()
            rows = len(httpx.get(app.url + "/board/data", headers=headers, timeout=60).json()["rows"])
            data_times.append((time.perf_counter() - started) * 1000)
        with browser() as context:
            context.add_init_script(LONG_TASKS)
            page = context.new_page()
            sign_in(page, app)
            renders = []
            for _ in range(3):
                page.goto(app.url + "/")
                page.wait_for_selector("#rows tr.row")
                renders.append(float(page.evaluate("() => window.__board.firstRenderMs")))
            page.evaluate("() => window.scrollTo(0, document.body.scrollHeight / 2)")
            page.wait_for_timeout(tick_seconds * 1000)
            result: dict[str, Any] = page.evaluate(
                "() => ({ticks: window.__board.ticks, drawn: document.querySelectorAll('#rows tr.row').length,"
                " long: window.__longTasks})"
            )
    ticks = [float(t) for t in result["ticks"]]
    long_tasks = [float(t) for t in result["long"]]
    return Figures(
        rows=rows,
        drawn=int(result["drawn"]),
        first_render_ms=statistics.median(renders),
        tick_p50_ms=statistics.median(ticks),
        tick_p95_ms=_p95(ticks),
        long_tasks=len(long_tasks),
        longest_task_ms=max(long_tasks, default=0.0),
        data_ms=statistics.median(data_times),
    )


def report(label: str, f: Figures) -> None:
    print(
        f"{label:>9}: rows={f.rows} drawn_in_dom={f.drawn} first_render_ms={f.first_render_ms:.0f} "
        f"tick_ms_p50={f.tick_p50_ms:.2f} tick_ms_p95={f.tick_p95_ms:.2f} long_tasks={f.long_tasks} "
        f"longest_task_ms={f.longest_task_ms:.0f} data_route_ms={f.data_ms:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clocks", type=int, default=2000)
    parser.add_argument("--baseline", type=int, default=100)
    parser.add_argument("--tick-seconds", type=float, default=10.0)
    args = parser.parse_args()
    baseline = measure(args.baseline, args.tick_seconds)
    report("baseline", baseline)
    large = measure(args.clocks, args.tick_seconds)
    report("board", large)
    print(
        f"ratios vs {baseline.rows} rows: first_render={large.first_render_ms / baseline.first_render_ms:.2f} "
        f"tick_p95={large.tick_p95_ms / max(baseline.tick_p95_ms, 0.01):.2f} "
        f"data_route={large.data_ms / baseline.data_ms:.2f}"
    )
    print(
        f"board_rows={large.rows} first_render_ms={large.first_render_ms:.0f} tick_ms_p95={large.tick_p95_ms:.2f} "
        f"vs_{baseline.rows}_rows={large.first_render_ms / baseline.first_render_ms:.2f}"
    )


if __name__ == "__main__":
    main()
