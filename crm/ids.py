"""Row ids as clients send them: the one range every path, query, body and form id is checked against.

Ids are 64-bit signed integers in both databases (SQLite INTEGER, PostgreSQL BIGINT); a larger
number cannot name a row, and handing it to the driver fails (OverflowError, asyncpg DataError)
instead of finding nothing — so it is refused at the edge, naming the field.
"""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

MAX_ID = 2**63 - 1

Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
"""An id field of an input Struct (output Structs keep plain ``int``)."""

# ASCII only: str.isdigit() also accepts "²" and other digits int() refuses or reads differently.
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(value: str | None) -> int | None:
    """``value`` as an id (ASCII decimal digits, 1..MAX_ID), else None."""
    text = (value or "").strip()
    if not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None
