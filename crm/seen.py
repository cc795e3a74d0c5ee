"""Stale forms ("lost update"): a form carries ``seen``, a short digest of the saved state it showed,
and the save compares it with the state it finds under its write lock (the row lock it takes on
PostgreSQL, ``crm.db.begin_write`` on SQLite). When they differ someone saved meanwhile, and the
save is refused with 409 (``Changed``) instead of silently overwriting their work; the form comes
back with what is saved now and what the user typed, and its new ``seen`` lets them save again on
purpose.

A digest of the values, not a version column: no migration, and it covers state spread over several
rows (an employer's preferences are a pacing row, blackout rows and a column of the employer). A
change and its undo digest alike, which is right: nothing would be lost. ``seen`` is optional
everywhere (API clients that never read it keep working): without it nothing is compared.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated, Any, NamedTuple

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm import clock
from crm.audit.models import AuditEvent
from crm.errors import Conflict

# The optional API body field: what the client read (its ``seen``), so a change made since is refused.
Seen = Annotated[str, msgspec.Meta(max_length=64, description=(
    "Optional: the `seen` of what you read; if it changed since, 409 and nothing is written"))]


class Changed(Conflict):
    """409: the record changed after the form (or the API client) read it; nothing was written."""


def digest(state: Any) -> str:
    """A short, stable digest of plain values (dates, numbers, strings, lists, dicts)."""
    return hashlib.sha256(msgspec.json.encode(state, order="sorted")).hexdigest()[:16]


def instant(value: dt.datetime | None) -> str | None:
    """A stored time as the same text whichever way the driver handed it back (aware or naive UTC)."""
    return None if value is None else clock.local(value).isoformat()


class Change(NamedTuple):
    action: str | None  # the audited action, None when the trail has none
    by: str  # "Lee Lead, 26 Nov 2026 13:05 PST"


async def last_change(db: AsyncSession, entity_type: str, entity_id: int, actions: tuple[str, ...]) -> Change:
    """The latest of ``actions`` to the record: which, who made it and when, for the refusal's message
    (``by`` is "someone" when the audit trail has none)."""
    event = await db.scalar(select(AuditEvent).where(
        AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id, AuditEvent.action.in_(actions))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(1))
    if event is None:
        return Change(None, "someone")
    who = event.actor.name if event.actor else "the system"
    return Change(event.action, f"{who}, {clock.local(event.created_at):%-d %b %Y %H:%M %Z}")
