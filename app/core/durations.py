"""Durations as people write them in policies and on the command line: ``90m``, ``2h30m``, ``1d4h``."""

from __future__ import annotations

import re

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)([dhms])")
_WHOLE = re.compile(r"^(?:\d+[dhms])+$")
# A century: longer is a typo, and would overflow date arithmetic.
MAX_SECONDS = 100 * 366 * 86400


def parse_duration(text: str) -> int:
    """Seconds in ``text`` (``2h30m``, ``45s``, ``1d``); ``ValueError`` naming the problem otherwise.

    ``d`` is 24 hours of whatever time the caller counts (business or wall).
    A bare number is refused: the unit is never guessed.
    """
    compact = text.strip().replace(" ", "").lower()
    if not compact or not _WHOLE.match(compact):
        raise ValueError(f"{text!r} is not a duration such as 90m, 2h30m, 40h or 45s")
    units = [unit for _, unit in _PART.findall(compact)]
    if len(set(units)) != len(units):
        raise ValueError(f"{text!r} repeats a unit")
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(compact))
    if seconds > MAX_SECONDS:
        raise ValueError(f"{text!r} is longer than a century")
    return seconds


def format_duration(seconds: int) -> str:
    """The shortest ``parse_duration`` form of ``seconds`` (negative gets a leading ``-``)."""
    sign = "-" if seconds < 0 else ""
    rest = abs(int(seconds))
    if rest == 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, rest = divmod(rest, _UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)
