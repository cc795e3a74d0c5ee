"""Case-insensitive comparisons of what a user typed with a text column, lowered by the database on both
sides: Python's ``str.lower`` and the database's ``lower()`` disagree beyond ASCII ("İ" is "i̇" to Python,
"i" to PostgreSQL), so a name typed exactly as stored must be lowered the way the stored one is."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, func, literal

_ESCAPE = "/"


def same_text(column: Any, typed: str) -> ColumnElement[bool]:
    """``column`` equals ``typed`` in any case."""
    return func.lower(column) == func.lower(literal(typed, String))


def contains_text(column: Any, typed: str) -> ColumnElement[bool]:
    """``column`` contains ``typed`` in any case, taken literally (``%`` and ``_`` are no wildcards)."""
    escaped = typed.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%").replace("_", _ESCAPE + "_")
    return func.lower(column).like(func.lower(literal(f"%{escaped}%", String)), escape=_ESCAPE)


NAME_KEY_LENGTH = 600  # a 200-character name case-folded: "ß" is "ss", a ligature three letters


def name_key(name: str) -> str:
    """What two names that differ only in case and spacing share ("Welding  advisory" and "WELDING Advisory"):
    kept beside a council's or partnership's name so that the database refuses a second of the same."""
    return " ".join(name.split()).casefold()
