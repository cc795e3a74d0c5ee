"""The log of what an employer merge changed (``employer_merge_change``), and the row addressing
that writing and undoing it share.

Each change is logged with its table, the rows' primary keys, the column, and the old and new
values (JSON), so that ``merge_undo.undo_merge`` restores exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, ColumnElement, Table, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.employers.duplicate_models import EmployerMerge, EmployerMergeChange


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def pk_columns(table: Table) -> list[Column[Any]]:
    return list(table.primary_key.columns)


def where_keys(table: Table, keys: Sequence[dict[str, Any]]) -> ColumnElement[bool]:
    cols = pk_columns(table)
    if len(cols) == 1:
        return cols[0].in_([k[cols[0].name] for k in keys])
    return or_(*[and_(*[c == k[c.name] for c in cols]) for k in keys])


def keep_updated_at(table: Table) -> dict[str, Any]:
    # Setting updated_at to itself overrides the column's onupdate: a moved row keeps its own
    # timestamp, so "changed after the merge" stays detectable (see merge_undo.undo_blockers).
    return {"updated_at": table.c.updated_at} if "updated_at" in table.c else {}


@dataclass
class MergeLog:
    merge: EmployerMerge
    changes: list[EmployerMergeChange] = field(default_factory=list)
    summary: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, table: Table, action: str, keys: list[dict[str, Any]], *, column: str | None = None,
            before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
        self.changes.append(EmployerMergeChange(
            merge_id=self.merge.id, seq=len(self.changes) + 1, table_name=table.name, action=action,
            column_name=column, row_keys=keys,
            before={k: jsonable(v) for k, v in before.items()} if before is not None else None,
            after={k: jsonable(v) for k, v in after.items()} if after is not None else None))

    def count(self, name: str, what: str, n: int) -> None:
        if n:
            entry = self.summary.setdefault(name, {})
            entry[what] = entry.get(what, 0) + n


async def update_row(db: AsyncSession, log: MergeLog, table: Table, key: dict[str, Any],
                     values: dict[str, Any]) -> None:
    """Change some columns of one row, logging their old values."""
    row = (await db.execute(select(*[table.c[n] for n in values]).where(where_keys(table, [key])))).one()
    before = {n: getattr(row, n) for n in values}
    if before == values:
        return
    await db.execute(update(table).where(where_keys(table, [key])).values(**values, **keep_updated_at(table)))
    log.add(table, "update", [key], before=before, after=values)
