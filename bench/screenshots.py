"""Screenshots of the board (dark, as on a wall screen) and of a ticket page (light) for the docs.

Serves the real app on loopback with a small demo board seeded relative to now, signs in through
the form and saves ``docs/screenshots/board.png`` and ``docs/screenshots/ticket.png``.

    .venv/bin/python bench/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/calendar.py would shadow the standard library's calendar module: drop this folder from the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import argparse
from typing import Literal

from app.core.clock import system_now
from tests.board.live import browser, demo_events, live_app, sign_in


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with live_app() as app:
        app.ingest(demo_events(system_now()))
        shots: list[tuple[Literal["dark", "light"], str, str]] = [
            ("dark", "/", "board.png"),  # as on a wall screen
            ("light", "/tickets/api/SUP-101", "ticket.png"),
        ]
        for scheme, path, shot in shots:
            with browser(color_scheme=scheme) as context:
                page = context.new_page()
                sign_in(page, app, next_path=path)
                page.wait_for_timeout(1500)  # the stream connects and a few countdown ticks go by
                page.screenshot(path=str(args.out / shot), full_page=True)
                print(f"wrote {args.out / shot}")


if __name__ == "__main__":
    main()
