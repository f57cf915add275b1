"""Row ids and numbers as clients send them: bounded by the integer columns that hold them.

An id that no row can have is a 422 naming the field, never an overflow deep in the database
driver (PostgreSQL's ``integer`` stops at 2³¹ - 1; SQLite's is wider, the bound is the same).
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval

from app.core.errors import ValidationProblem

ID_MAX = 2**31 - 1

RowId = Annotated[int, Interval(ge=1, le=ID_MAX)]
# An id to continue after (0: from the start).
AfterId = Annotated[int, Interval(ge=0, le=ID_MAX)]


def parse_after_id(text: str, field: str) -> int:
    """``text`` as an ``AfterId``: ASCII digits only (``str.isdigit`` also takes ``²``)."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > ID_MAX:
        raise ValidationProblem.single(field, "must be an event id this stream sent")
    return int(text)
