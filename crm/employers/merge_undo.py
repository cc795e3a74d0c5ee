"""An employer merge on the record: finding it, listing an employer's merges, and undoing one.

Undo restores exactly what ``merge_log`` recorded, and only while nothing new depends on it
(``undo_blockers``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy import Column, Date, DateTime, Table, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.audit import service as audit
from crm.auth.principal import Principal
from crm.db import metadata
from crm.employers.candidates import refresh_keys
from crm.employers.duplicate_models import EmployerMerge, EmployerMergeChange, MergeStatus
from crm.employers.merge import NOT_MOVED, can_merge, lock_pair, reload
from crm.employers.merge_log import jsonable, keep_updated_at, pk_columns, where_keys
from crm.employers.models import Employer, EmployerStatus
from crm.errors import Conflict


def _restore(column: Column[Any], value: Any) -> Any:
    """A logged value as its column takes it back: dates and date-times were logged as ISO text (``jsonable``);
    the rest as they were. By the type's affinity, so a decorated type (``DateTimeUTC``) counts as its base."""
    if value is None:
        return None
    affinity = column.type._type_affinity
    if affinity is DateTime:
        return dt.datetime.fromisoformat(value)
    if affinity is Date:
        return dt.date.fromisoformat(value)
    return value


async def get_merge(db: AsyncSession, merge_id: int) -> EmployerMerge:
    merge = await db.get(EmployerMerge, merge_id)
    if merge is None:
        raise NotFoundException(f"Merge #{merge_id} not found")
    return merge


def check_can_view(principal: Principal, merge: EmployerMerge) -> None:
    if not can_merge(principal, merge.loser, merge.survivor):
        raise PermissionDeniedException("Only a lead of both employers' regions may see this merge")


async def _changes(db: AsyncSession, merge_id: int) -> list[EmployerMergeChange]:
    return list(await db.scalars(select(EmployerMergeChange).where(EmployerMergeChange.merge_id == merge_id)
                                 .order_by(EmployerMergeChange.seq)))


def _current(table: Table, row: Any, names: Sequence[str]) -> dict[str, Any]:
    return {n: jsonable(getattr(row, n)) for n in names}


async def undo_blockers(db: AsyncSession, merge: EmployerMerge) -> list[str]:
    """Why the merge cannot be undone (empty = it can). Undo is allowed only while nothing new
    depends on what it did:

    1. the merge was not undone already and the survivor was not merged away since;
    2. every row the merge changed still holds exactly what the merge wrote (no moved row was
       re-pointed or deleted, no ended assignment or withdrawn request was touched again, the
       loser is still a tombstone of the survivor, the added aliases still exist);
    3. no moved row was updated after the merge (its ``updated_at`` is not newer than the merge):
       e.g. a moved touch that was since scheduled or completed;
    4. no row created after the merge references a moved row by foreign key: e.g. a new request
       bundled into a moved touch, or a hand-off from it.
    """
    if merge.status == MergeStatus.undone:
        return [f"merge #{merge.id} was already undone"]
    reasons: list[str] = []
    survivor_status = await db.scalar(select(Employer.status).where(Employer.id == merge.survivor_id))
    if survivor_status == EmployerStatus.merged:
        reasons.append(f"employer #{merge.survivor_id} was itself merged since")
    since = merge.created_at
    moved: dict[str, list[dict[str, Any]]] = {}
    updated: dict[str, list[dict[str, Any]]] = {}  # rows the merge changed in place (a combined touch's window)
    inserted_links: set[tuple[Any, ...]] = set()
    for change in await _changes(db, merge.id):
        table = metadata.tables.get(change.table_name)
        if table is None:
            reasons.append(f"table {change.table_name} no longer exists")
            continue
        if change.action == "move":
            assert change.column_name is not None and change.after is not None
            column = table.c[change.column_name]
            extra = [table.c.updated_at] if "updated_at" in table.c else []
            rows = (await db.execute(select(*pk_columns(table), column, *extra)
                                     .where(where_keys(table, change.row_keys)))).all()
            still = [r for r in rows if getattr(r, column.name) == change.after[column.name]]
            if len(still) != len(change.row_keys):
                reasons.append(f"{len(change.row_keys) - len(still)} moved {table.name} row(s) were re-pointed "
                               "or deleted since the merge")
            if extra:
                newer = sum(1 for r in still if r.updated_at > since)
                if newer:
                    reasons.append(f"{newer} moved {table.name} row(s) changed since the merge")
            moved.setdefault(table.name, []).extend(change.row_keys)
        elif change.action == "delete":
            # A row the merge deleted (a touch's link to a person it folded into the survivor's record): undo
            # puts it back, unless it is there again.
            if (await db.execute(select(*pk_columns(table)).where(where_keys(table, change.row_keys)))).first():
                reasons.append(f"a {table.name} row the merge removed was added again since")
        else:
            assert change.after is not None
            row = (await db.execute(select(table).where(where_keys(table, change.row_keys)))).first()
            if row is None or _current(table, row, list(change.after)) != change.after:
                what = "added" if change.action == "insert" else "changed"
                reasons.append(f"{table.name} #{change.row_keys[0].get('id', '')} {what} by the merge "
                               "was changed since")
            if change.action == "update" and table.name != "employer":
                updated.setdefault(table.name, []).extend(change.row_keys)
            if change.action == "insert" and table.name == "touch_contact":
                inserted_links.add((change.after["touch_id"], change.after["contact_id"]))
    changed = {name: [*updated.get(name, []), *moved.get(name, [])] for name in {*updated, *moved}}
    reasons += await _new_references(db, changed, since)
    reasons += await _links_across(db, moved, inserted_links)
    return reasons


async def _links_across(db: AsyncSession, moved: dict[str, list[dict[str, Any]]],
                        inserted: set[tuple[Any, ...]]) -> list[str]:
    """A touch linked since the merge to a person of the other record (a moved touch to one of the
    survivor's people, a survivor's touch to a moved person): undone, the link would cross two employers.
    The link table keeps no creation time; before the merge every link was within one employer (a touch
    notes its own employer's people), so a link across is new, unless the merge made it itself."""
    touches = {k["id"] for k in moved.get("touch", [])}
    people = {k["id"] for k in moved.get("employer_contact", [])}
    if not touches and not people:
        return []
    tc = metadata.tables["touch_contact"]
    rows = (await db.execute(select(tc.c.touch_id, tc.c.contact_id).where(
        or_(tc.c.touch_id.in_(touches), tc.c.contact_id.in_(people))))).all()
    across = [r for r in rows if (r.touch_id in touches) != (r.contact_id in people) and tuple(r) not in inserted]
    return [f"{len(across)} touch(es) were linked since the merge to people of the other record"] if across else []


async def _new_references(db: AsyncSession, moved: dict[str, list[dict[str, Any]]],
                          since: dt.datetime) -> list[str]:
    reasons = []
    for referrer in metadata.sorted_tables:
        if referrer.name in NOT_MOVED or "created_at" not in referrer.c:
            continue
        for fk in referrer.foreign_keys:
            target = fk.column.table
            keys = moved.get(target.name)
            if not keys or len(pk_columns(target)) != 1 or fk.column is not pk_columns(target)[0]:
                continue
            ids = [k[fk.column.name] for k in keys]
            created = list(await db.scalars(select(referrer.c.created_at).where(fk.parent.in_(ids))))
            newer = sum(1 for c in created if c > since)
            if newer:
                reasons.append(f"{newer} new {referrer.name} row(s) reference {target.name} rows the merge moved "
                               "or changed")
    return reasons


async def undo_merge(db: AsyncSession, actor: Principal, merge_id: int, reason: str | None = None,
                     now: dt.datetime | None = None) -> EmployerMerge:
    """Restore exactly what merge ``merge_id`` changed, if :func:`undo_blockers` allows (audited)."""
    now = now or dt.datetime.now(dt.UTC)
    merge = await get_merge(db, merge_id)
    found = await lock_pair(db, merge.loser_id, merge.survivor_id)
    loser, survivor = found[merge.loser_id], found[merge.survivor_id]
    await db.refresh(merge)
    if not can_merge(actor, loser, survivor):
        raise PermissionDeniedException("Only a lead of both employers' regions may undo this merge")
    blockers = await undo_blockers(db, merge)
    if blockers:
        raise Conflict("This merge can no longer be undone: " + "; ".join(blockers[:5]))
    for change in reversed(await _changes(db, merge.id)):
        table = metadata.tables[change.table_name]
        where = where_keys(table, change.row_keys)
        if change.action == "insert":
            await db.execute(delete(table).where(where))
        elif change.action == "delete":
            assert change.before is not None
            await db.execute(insert(table).values(**{n: _restore(table.c[n], v) for n, v in change.before.items()}))
        else:
            assert change.before is not None
            values = {n: _restore(table.c[n], v) for n, v in change.before.items()}
            await db.execute(update(table).where(where).values(**values, **keep_updated_at(table)))
    merge.status = MergeStatus.undone.value
    merge.undone_at, merge.undone_by_id = now, actor.id
    merge.undo_reason = (reason or "").strip() or None
    for employer_id in (merge.survivor_id, merge.loser_id):
        audit.record(db, actor, "employer.merge_undo", "employer_merge", merge.id, employer_id=employer_id,
                     before={"loser_id": merge.loser_id, "survivor_id": merge.survivor_id, "status": "merged"},
                     after={"loser_id": merge.loser_id, "status": "restored"}, note=merge.undo_reason)
    await refresh_keys(db, [merge.loser_id, merge.survivor_id])
    await db.flush()
    await reload(db, loser, survivor)
    await db.refresh(merge)
    await db.refresh(merge, ["loser", "survivor", "merged_by", "undone_by"])
    return merge


async def merges_of(db: AsyncSession, employer_id: int) -> list[EmployerMerge]:
    """Merges into or out of an employer, newest first."""
    return list(await db.scalars(select(EmployerMerge).where(
        or_(EmployerMerge.survivor_id == employer_id, EmployerMerge.loser_id == employer_id))
        .order_by(EmployerMerge.created_at.desc(), EmployerMerge.id.desc())))
