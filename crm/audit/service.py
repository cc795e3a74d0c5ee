"""Writing audit events: every create, update and assignment goes through ``record``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import Enum
from typing import Any, cast

from sqlalchemy import Table, insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession

from crm.audit.models import AuditEvent
from crm.auth.principal import Principal


def plain(value: Any) -> Any:
    """A column value as JSON-ready data (dates as ISO strings, enums as values)."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


def values(fields: tuple[str, ...], row: dict[str, Any]) -> dict[str, Any]:
    """``snapshot`` of plain values (Core writes have no instance): ``fields`` of ``row``, JSON-ready."""
    return {name: plain(row[name]) for name in fields}


def snapshot(obj: Any, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Column values of a model instance as JSON-ready data."""
    mapper = inspect(type(obj))
    names = fields or tuple(c.key for c in mapper.column_attrs if c.key not in ("created_at", "updated_at"))
    return {name: plain(getattr(obj, name)) for name in names}


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that changed, on both sides."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def record(
    db: AsyncSession,
    actor: Principal | None,
    action: str,
    entity_type: str,
    entity_id: int,
    *,
    employer_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        employer_id=employer_id,
        before=before,
        after=after,
        note=note,
    )
    db.add(event)
    return event


def row(
    actor: Principal | None,
    action: str,
    entity_type: str,
    entity_id: int,
    *,
    at: dt.datetime,
    employer_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """The same event as ``record`` as a plain row, for writing several with one ``insert_rows``."""
    return {"actor_id": actor.id if actor else None, "action": action, "entity_type": entity_type,
            "entity_id": entity_id, "employer_id": employer_id, "before": before, "after": after, "note": note,
            "created_at": at, "updated_at": at}


_INSERT = insert(cast(Table, AuditEvent.__table__))


async def insert_rows(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Write ``row`` events, in order, with one multi-row INSERT in the session's transaction."""
    if rows:
        # executemany of one prebuilt statement; SQLAlchemy sends it as a single multi-row INSERT.
        await (await db.connection()).execute(_INSERT, rows)
