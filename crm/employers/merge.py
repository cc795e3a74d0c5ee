"""Merging one employer into another without losing history, and undoing such a merge.

Every row that references the loser moves to the survivor. The references are found by walking
``crm.db.metadata`` for foreign keys to ``employer.id``, so tables other domains add (council and
partnership members, hand-offs, ...) are covered without editing this module; the denormalized
``audit_event.employer_id`` (no FK) moves too. Uniqueness rules the move would break are settled
first, explicitly:

- an active SPOC assignment of the loser in a region where the survivor has one is ended
  (kept as history of the survivor);
- ``employer_pacing`` (one row per employer): the survivor's row becomes the stricter of both and
  the loser's row stays on the tombstone;
- an open touch request of the loser that would duplicate an open one of the survivor (same
  organization and purpose, the open-request unique index) is withdrawn with a note naming the
  survivor's request; the survivor's request is kept because it is the one on the record partners
  keep using;
- an active council/partnership seat of the loser that duplicates one of the survivor (same body,
  same person) is ended as history;
- open touches: the employer gets one agenda per region (SPEC §3), so an open touch of the loser in
  a region where the survivor has one is combined into it -- its open requests move onto the kept
  touch (the one with an appointment, else the survivor's), whose window narrows to what every
  request allows, and the other is cancelled saying so -- when the kept touch's day suits them all.
  Two appointments, or a day that does not suit, stay apart for a lead to combine (counted as
  ``to_combine``). A queued touch of the loser left alone goes to the survivor's SPOC of its region;
- any other unique rule the database enforces: the row that cannot move stays on the tombstone and
  is counted in the merge summary.

Each change is logged in ``employer_merge_change`` (table, primary keys, column, old and new
values), so :func:`undo_merge` restores exactly. See :func:`undo_blockers` for when undo is allowed.
Moves keep each row's ``updated_at``: a moved row that has a newer ``updated_at`` than the merge was
changed by someone after it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy import Column, ColumnElement, Table, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm.audit import service as audit
from crm.auth.models import Role
from crm.auth.principal import Principal
from crm.db import begin_write, metadata
from crm.employers.candidates import employer_search_key, refresh_keys
from crm.employers.duplicate_models import (
    CandidateStatus,
    EmployerMerge,
    EmployerMergeChange,
    MergeStatus,
)
from crm.employers.matching import name_key
from crm.employers.models import Employer, EmployerStatus
from crm.errors import Conflict, FieldError
from crm.touches.routing import OPEN_REQUEST_STATUSES, OPEN_TOUCH_STATUSES, RequestStatus, TouchStatus

# Bookkeeping and derived tables that reference employers but must not move: the review queue and
# merge log describe the pair itself, and search keys are recomputed by refresh_keys.
NOT_MOVED = frozenset({"duplicate_candidate", "employer_merge", employer_search_key.name})
# Membership tables where one person (or the employer itself) may sit once per body: the columns
# that say "the same seat". Used only when the table exists in the metadata.
SEAT_KEYS: dict[str, tuple[str, ...]] = {
    "council_member": ("council_id", "name", "email"),
    "partnership_member": ("partnership_id", "kind", "name", "email"),
}
_OPEN_REQUESTS = sorted(s.value for s in OPEN_REQUEST_STATUSES)
_OPEN_TOUCHES = sorted(s.value for s in OPEN_TOUCH_STATUSES)
_STRICTER_LOWER = ("max_touches",)  # fewer touches allowed is stricter
_STRICTER_HIGHER = ("period_days", "min_gap_days")  # a longer period or gap is stricter


def can_merge(principal: Principal, *employers: Employer) -> bool:
    """Admins; leads of the region of every employer involved (unplaced employers: admins only)."""
    return all(principal.can_in_region(e.region_id, Role.lead) for e in employers)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _restore(column: Column[Any], value: Any) -> Any:
    if value is None:
        return None
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return value
    if kind is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if kind is dt.date:
        return dt.date.fromisoformat(value)
    return value


def _pk_columns(table: Table) -> list[Column[Any]]:
    return list(table.primary_key.columns)


def _key_of(table: Table, row: Any) -> dict[str, Any]:
    return {c.name: getattr(row, c.name) for c in _pk_columns(table)}


def _where_keys(table: Table, keys: Sequence[dict[str, Any]]) -> ColumnElement[bool]:
    cols = _pk_columns(table)
    if len(cols) == 1:
        return cols[0].in_([k[cols[0].name] for k in keys])
    return or_(*[and_(*[c == k[c.name] for c in cols]) for k in keys])


def _keep_updated_at(table: Table) -> dict[str, Any]:
    # Setting updated_at to itself overrides the column's onupdate: a moved row keeps its own
    # timestamp, so "changed after the merge" stays detectable (see undo_blockers).
    return {"updated_at": table.c.updated_at} if "updated_at" in table.c else {}


def employer_references() -> list[tuple[Table, Column[Any]]]:
    """Every (table, column) whose foreign key points at ``employer.id`` and moves on merge."""
    employer = metadata.tables["employer"]
    refs = []
    for table in metadata.sorted_tables:
        if table.name in NOT_MOVED:
            continue
        for fk in table.foreign_keys:
            if fk.column is employer.c.id and not (table is employer and fk.parent.name == "merged_into_id"):
                refs.append((table, fk.parent))
    return refs


@dataclass
class _Log:
    merge: EmployerMerge
    changes: list[EmployerMergeChange] = field(default_factory=list)
    summary: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, table: Table, action: str, keys: list[dict[str, Any]], *, column: str | None = None,
            before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
        self.changes.append(EmployerMergeChange(
            merge_id=self.merge.id, seq=len(self.changes) + 1, table_name=table.name, action=action,
            column_name=column, row_keys=keys,
            before={k: _jsonable(v) for k, v in before.items()} if before is not None else None,
            after={k: _jsonable(v) for k, v in after.items()} if after is not None else None))

    def count(self, name: str, what: str, n: int) -> None:
        if n:
            entry = self.summary.setdefault(name, {})
            entry[what] = entry.get(what, 0) + n


async def _update_row(db: AsyncSession, log: _Log, table: Table, key: dict[str, Any],
                      values: dict[str, Any]) -> None:
    """Change some columns of one row, logging their old values."""
    row = (await db.execute(select(*[table.c[n] for n in values]).where(_where_keys(table, [key])))).one()
    before = {n: getattr(row, n) for n in values}
    if before == values:
        return
    await db.execute(update(table).where(_where_keys(table, [key])).values(**values, **_keep_updated_at(table)))
    log.add(table, "update", [key], before=before, after=values)


async def _lock_pair(db: AsyncSession, first_id: int, second_id: int) -> dict[int, Employer]:
    await begin_write(db)
    rows = await db.scalars(
        select(Employer).where(Employer.id.in_([first_id, second_id])).order_by(Employer.id)
        .with_for_update(of=Employer).execution_options(populate_existing=True))
    return {e.id: e for e in rows}


async def merge_employers(db: AsyncSession, actor: Principal, loser_id: int, survivor_id: int,
                          reason: str | None = None, *, now: dt.datetime | None = None) -> EmployerMerge:
    """Merge employer ``loser_id`` into ``survivor_id`` in the caller's transaction (audited)."""
    if loser_id == survivor_id:
        raise FieldError("into", "must be a different employer than the one merged")
    now = now or dt.datetime.now(dt.UTC)
    found = await _lock_pair(db, loser_id, survivor_id)
    loser, survivor = found.get(loser_id), found.get(survivor_id)
    if loser is None:
        raise NotFoundException(f"Employer #{loser_id} not found")
    if survivor is None:
        raise FieldError("into", f"employer #{survivor_id} does not exist")
    if not can_merge(actor, loser, survivor):
        raise PermissionDeniedException("Only a lead of both employers' regions may merge them")
    if loser.status == EmployerStatus.merged:
        raise Conflict(f"Employer #{loser.id} was already merged into #{loser.merged_into_id}")
    if survivor.status == EmployerStatus.merged:
        raise Conflict(f"Employer #{survivor.id} was merged into #{survivor.merged_into_id}; merge into that one")

    merge = EmployerMerge(loser_id=loser.id, survivor_id=survivor.id, merged_by_id=actor.id,
                          reason=(reason or "").strip() or None, summary={})
    db.add(merge)
    await db.flush()
    log = _Log(merge)
    keep: dict[str, set[tuple[Any, ...]]] = {}
    await _end_duplicate_assignments(db, log, loser.id, survivor.id, now)
    await _settle_pacing(db, log, loser.id, survivor.id, keep)
    await _withdraw_duplicate_requests(db, log, loser.id, survivor.id, now)
    await _end_duplicate_seats(db, log, loser.id, survivor.id, now)
    combined = await _combine_open_touches(db, log, loser.id, survivor.id, now)
    for table, column in employer_references():
        await _move(db, log, table, column, loser.id, survivor.id, keep.get(table.name, set()))
    await _move(db, log, metadata.tables["audit_event"], metadata.tables["audit_event"].c.employer_id,
                loser.id, survivor.id, set())
    await _names_become_aliases(db, log, loser, survivor)
    # The employer's own wishes only ever get stricter: a do-not-contact flag survives the merge.
    employer = metadata.tables["employer"]
    await _update_row(db, log, employer, {"id": survivor.id}, {
        "do_not_contact": survivor.do_not_contact or loser.do_not_contact,
        "preferred_channel": survivor.preferred_channel or loser.preferred_channel})
    await _update_row(db, log, employer, {"id": loser.id},
                      {"status": EmployerStatus.merged.value, "merged_into_id": survivor.id})
    await _close_candidate(db, log, actor, loser.id, survivor.id, now)

    merge.summary = log.summary
    db.add_all(log.changes)
    audit.record(db, actor, "employer.merge", "employer_merge", merge.id, employer_id=survivor.id,
                 after={"loser_id": loser.id, "loser": loser.legal_name, "survivor_id": survivor.id,
                        "moved": {k: v.get("moved", 0) for k, v in log.summary.items()},
                        **({"touches_combined": combined} if combined else {})},
                 note=merge.reason)
    audit.record(db, actor, "employer.merged_into", "employer", loser.id, employer_id=loser.id,
                 before={"status": loser.status}, after={"status": "merged", "merged_into_id": survivor.id},
                 note=merge.reason)
    await refresh_keys(db, [loser.id, survivor.id])
    await db.flush()
    await _reload(db, loser, survivor)
    await db.refresh(merge, ["loser", "survivor", "merged_by", "undone_by"])
    return merge


def touches_said(merge: EmployerMerge) -> str:
    """What the merge did to open touches, in words for the lead ("" when it did nothing to them)."""
    counts = (merge.summary or {}).get("touch", {})
    combined, apart = counts.get("combined", 0), counts.get("to_combine", 0)
    said = []
    if combined:
        said.append(f"{combined} open touch{'es' if combined > 1 else ''} combined into one with the other "
                    "record's, carrying every request")
    if apart:
        said.append(f"{apart} open touch{'es' if apart > 1 else ''} could not be combined (two appointments, or "
                    "days the requests do not share): both are in the queue for you to combine or cancel")
    return "; ".join(said)


async def _reload(db: AsyncSession, *employers: Employer) -> None:
    # The rows changed underneath the ORM (Core statements): load them, and their aliases and
    # contacts, afresh so callers render the current state.
    await db.scalars(select(Employer).where(Employer.id.in_([e.id for e in employers]))
                     .options(selectinload(Employer.aliases), selectinload(Employer.contacts))
                     .execution_options(populate_existing=True))


async def _end_duplicate_assignments(db: AsyncSession, log: _Log, loser_id: int, survivor_id: int,
                                     now: dt.datetime) -> None:
    t = metadata.tables["spoc_assignment"]
    survivor_regions = set(await db.scalars(select(t.c.region_id).where(
        t.c.employer_id == survivor_id, t.c.ended_at.is_(None))))
    rows = (await db.execute(select(t.c.id, t.c.region_id, t.c.reason).where(
        t.c.employer_id == loser_id, t.c.ended_at.is_(None)))).all()
    for row in rows:
        if row.region_id in survivor_regions:
            note = f"ended by merge into employer #{survivor_id}, which has its own SPOC here"
            await _update_row(db, log, t, {"id": row.id}, {
                "ended_at": now, "reason": f"{row.reason}; {note}" if row.reason else note})
            log.count(t.name, "ended", 1)


async def _settle_pacing(db: AsyncSession, log: _Log, loser_id: int, survivor_id: int,
                         keep: dict[str, set[tuple[Any, ...]]]) -> None:
    t = metadata.tables["employer_pacing"]
    rows = {r.employer_id: r for r in (await db.execute(select(t).where(
        t.c.employer_id.in_([loser_id, survivor_id])))).all()}
    lose, win = rows.get(loser_id), rows.get(survivor_id)
    if lose is None or win is None:
        return
    values: dict[str, Any] = {}
    for name in (*_STRICTER_LOWER, *_STRICTER_HIGHER):
        pick = min if name in _STRICTER_LOWER else max
        present = [v for v in (getattr(win, name), getattr(lose, name)) if v is not None]
        values[name] = pick(present) if present else None
    await _update_row(db, log, t, {"id": win.id}, values)
    keep.setdefault(t.name, set()).add((lose.id,))
    log.count(t.name, "kept_on_tombstone", 1)


async def _withdraw_duplicate_requests(db: AsyncSession, log: _Log, loser_id: int, survivor_id: int,
                                       now: dt.datetime) -> None:
    t = metadata.tables["touch_request"]
    open_survivor = {(r.requester_org_id, r.purpose): r.id for r in (await db.execute(
        select(t.c.id, t.c.requester_org_id, t.c.purpose).where(
            t.c.employer_id == survivor_id, t.c.status.in_(_OPEN_REQUESTS)))).all()}
    rows = (await db.execute(select(t.c.id, t.c.requester_org_id, t.c.purpose).where(
        t.c.employer_id == loser_id, t.c.status.in_(_OPEN_REQUESTS)))).all()
    for row in rows:
        kept = open_survivor.get((row.requester_org_id, row.purpose))
        if kept is None:
            continue
        await _update_row(db, log, t, {"id": row.id}, {
            "status": RequestStatus.WITHDRAWN.value, "closed_at": now,
            "outcome_note": f"Withdrawn by merge: employer #{loser_id} is #{survivor_id}, "
                            f"where the same request is open as #{kept}"})
        log.count(t.name, "withdrawn", 1)


def _same_seat(a: Any, b: Any, columns: tuple[str, ...]) -> bool:
    def norm(v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v

    return all(norm(getattr(a, c)) == norm(getattr(b, c)) for c in columns)


async def _end_duplicate_seats(db: AsyncSession, log: _Log, loser_id: int, survivor_id: int,
                               now: dt.datetime) -> None:
    for name, columns in SEAT_KEYS.items():
        t = metadata.tables.get(name)
        if t is None or "removed_at" not in t.c or any(c not in t.c for c in columns):
            continue
        active = (await db.execute(select(t).where(
            t.c.employer_id.in_([loser_id, survivor_id]), t.c.removed_at.is_(None)))).all()
        theirs = [r for r in active if r.employer_id == survivor_id]
        for row in (r for r in active if r.employer_id == loser_id):
            if any(_same_seat(row, other, columns) for other in theirs):
                values: dict[str, Any] = {"removed_at": now}
                if "removed_reason" in t.c:
                    values["removed_reason"] = f"duplicate seat after merge into employer #{survivor_id}"
                await _update_row(db, log, t, {"id": row.id}, values)
                log.count(t.name, "ended", 1)


@dataclass(frozen=True, slots=True)
class _OpenTouch:
    id: int
    employer_id: int
    region_id: int
    status: str
    window_start: dt.date
    window_end: dt.date
    planned_on: dt.date
    spoc_id: int | None


async def _combine_open_touches(db: AsyncSession, log: _Log, loser_id: int, survivor_id: int,
                                now: dt.datetime) -> dict[str, str]:
    """Combine the loser's open touches into the survivor's, region by region (module docstring).

    Answers {cancelled touch id: "into #kept id"}, for the merge's audit event ("#26: into #27").
    """
    t, r, a = (metadata.tables[n] for n in ("touch", "touch_request", "spoc_assignment"))
    touches = [_OpenTouch(*row) for row in await db.execute(
        select(t.c.id, t.c.employer_id, t.c.region_id, t.c.status, t.c.window_start, t.c.window_end,
               t.c.planned_on, t.c.spoc_id)
        .where(t.c.employer_id.in_([loser_id, survivor_id]), t.c.status.in_(_OPEN_TOUCHES))
        .order_by(t.c.planned_on, t.c.id))]
    if not any(x.employer_id == loser_id for x in touches):
        return {}
    open_requests: dict[int, list[Any]] = {}
    for req in await db.execute(select(r.c.id, r.c.touch_id, r.c.window_start, r.c.window_end).where(
            r.c.touch_id.in_([x.id for x in touches]), r.c.status.in_(_OPEN_REQUESTS)).order_by(r.c.id)):
        open_requests.setdefault(req.touch_id, []).append(req)
    # After _end_duplicate_assignments: where both had a SPOC, the survivor's is the active one.
    spocs = {region_id: spoc_id for region_id, spoc_id in await db.execute(select(a.c.region_id, a.c.spoc_id).where(
        a.c.employer_id == survivor_id, a.c.ended_at.is_(None)))}
    theirs: dict[int, list[_OpenTouch]] = {}
    for x in touches:
        if x.employer_id == survivor_id:
            theirs.setdefault(x.region_id, []).append(x)
    combined: dict[str, str] = {}
    for lost in (x for x in touches if x.employer_id == loser_id):
        region = theirs.setdefault(lost.region_id, [])
        found = next(filter(None, (_combination(lost, other, open_requests) for other in region)), None)
        if found is None:
            if region:
                log.count(t.name, "to_combine", 1)
            spoc = spocs.get(lost.region_id)
            if lost.status == TouchStatus.QUEUED and spoc is not None and spoc != lost.spoc_id:
                await _update_row(db, log, t, {"id": lost.id}, {"spoc_id": spoc})
                log.count(t.name, "reassigned", 1)
            continue
        kept, gone = found
        request_status = (RequestStatus.SCHEDULED if kept.status == TouchStatus.SCHEDULED
                          else RequestStatus.QUEUED).value
        moving = open_requests.pop(gone.id, [])
        for req in moving:
            await _update_row(db, log, r, {"id": req.id}, {"touch_id": kept.id, "status": request_status})
        open_requests.setdefault(kept.id, []).extend(moving)
        await _update_row(db, log, t, {"id": kept.id}, {"window_start": kept.window_start,
                                                        "window_end": kept.window_end})
        await _update_row(db, log, t, {"id": gone.id}, {
            "status": TouchStatus.CANCELLED.value, "cancelled_at": now,
            "cancel_reason": f"combined into touch #{kept.id} when employer #{loser_id} was merged into "
                             f"#{survivor_id}"})
        log.count(t.name, "combined", 1)
        combined[str(gone.id)] = f"into #{kept.id}"
        # From here on the kept touch, with its narrowed window, is the region's open touch.
        region[:] = [kept, *(x for x in region if x.id not in (kept.id, gone.id))]
    return combined


def _combination(lost: _OpenTouch, other: _OpenTouch,
                 open_requests: dict[int, list[Any]]) -> tuple[_OpenTouch, _OpenTouch] | None:
    """(kept with its new window, cancelled) for two open touches of one region, or None when they stay
    apart: two appointments, or no window that every open request allows around the kept touch's day."""
    scheduled = [x for x in (other, lost) if x.status == TouchStatus.SCHEDULED]
    if len(scheduled) == 2:
        return None
    kept = scheduled[0] if scheduled else other
    gone = lost if kept is other else other
    moving = open_requests.get(gone.id, [])
    window = (max([kept.window_start, *(q.window_start for q in moving)]),
              min([kept.window_end, *(q.window_end for q in moving)]))
    if not window[0] <= kept.planned_on <= window[1]:
        return None
    return replace(kept, window_start=window[0], window_end=window[1]), gone


async def _move(db: AsyncSession, log: _Log, table: Table, column: Column[Any], loser_id: int,
                survivor_id: int, keep: set[tuple[Any, ...]]) -> None:
    pk = _pk_columns(table)
    rows = (await db.execute(select(*pk).where(column == loser_id).order_by(*pk))).all()
    keys = [_key_of(table, r) for r in rows if tuple(r) not in keep]
    if not keys:
        return
    values = {column.name: survivor_id, **_keep_updated_at(table)}
    try:
        async with db.begin_nested():
            await db.execute(update(table).where(_where_keys(table, keys)).values(**values))
        moved = keys
    except IntegrityError:
        # A unique rule nobody settled above: move row by row; what cannot move stays on the tombstone.
        moved = []
        for key in keys:
            try:
                async with db.begin_nested():
                    await db.execute(update(table).where(_where_keys(table, [key])).values(**values))
                moved.append(key)
            except IntegrityError:
                log.count(table.name, "kept_on_tombstone", 1)
    if moved:
        log.add(table, "move", moved, column=column.name, before={column.name: loser_id},
                after={column.name: survivor_id})
        log.count(table.name, "moved", len(moved))


def _spelling(name: str) -> str:
    return " ".join(name.casefold().split())


async def _names_become_aliases(db: AsyncSession, log: _Log, loser: Employer, survivor: Employer) -> None:
    # Kept even when the name key equals the survivor's ("Acme Corp." / "ACME Corporation"): the
    # alias records how people wrote the name; only the very same spelling is not repeated.
    t = metadata.tables["employer_alias"]
    known = {_spelling(n) for n in (survivor.legal_name, survivor.dba) if n}
    known |= {_spelling(n) for n in await db.scalars(select(t.c.name).where(t.c.employer_id == survivor.id))}
    for name in (loser.legal_name, loser.dba):
        key = name_key(name) if name else ""
        if not name or not key or _spelling(name) in known:
            continue
        known.add(_spelling(name))
        values = {"employer_id": survivor.id, "name": name, "name_key": key}
        new_id = await db.scalar(insert(t).values(**values).returning(t.c.id))
        log.add(t, "insert", [{"id": new_id}], after=values)
        log.count(t.name, "added", 1)


async def _close_candidate(db: AsyncSession, log: _Log, actor: Principal, loser_id: int, survivor_id: int,
                           now: dt.datetime) -> None:
    t = metadata.tables["duplicate_candidate"]
    a, b = sorted((loser_id, survivor_id))
    found = await db.scalar(select(t.c.id).where(t.c.employer_a_id == a, t.c.employer_b_id == b))
    if found is not None:
        await _update_row(db, log, t, {"id": found}, {
            "status": CandidateStatus.merged.value, "decided_by_id": actor.id, "decided_at": now})
        log.merge.candidate_id = found


# --- undo --------------------------------------------------------------------------------------

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
    return {n: _jsonable(getattr(row, n)) for n in names}


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
    for change in await _changes(db, merge.id):
        table = metadata.tables.get(change.table_name)
        if table is None:
            reasons.append(f"table {change.table_name} no longer exists")
            continue
        if change.action == "move":
            assert change.column_name is not None and change.after is not None
            column = table.c[change.column_name]
            extra = [table.c.updated_at] if "updated_at" in table.c else []
            rows = (await db.execute(select(*_pk_columns(table), column, *extra)
                                     .where(_where_keys(table, change.row_keys)))).all()
            still = [r for r in rows if getattr(r, column.name) == change.after[column.name]]
            if len(still) != len(change.row_keys):
                reasons.append(f"{len(change.row_keys) - len(still)} moved {table.name} row(s) were re-pointed "
                               "or deleted since the merge")
            if extra:
                newer = sum(1 for r in still if r.updated_at > since)
                if newer:
                    reasons.append(f"{newer} moved {table.name} row(s) changed since the merge")
            moved.setdefault(table.name, []).extend(change.row_keys)
        else:
            assert change.after is not None
            row = (await db.execute(select(table).where(_where_keys(table, change.row_keys)))).first()
            if row is None or _current(table, row, list(change.after)) != change.after:
                what = "added" if change.action == "insert" else "changed"
                reasons.append(f"{table.name} #{change.row_keys[0].get('id', '')} {what} by the merge "
                               "was changed since")
    reasons += await _new_references(db, moved, since)
    return reasons


async def _new_references(db: AsyncSession, moved: dict[str, list[dict[str, Any]]],
                          since: dt.datetime) -> list[str]:
    reasons = []
    for referrer in metadata.sorted_tables:
        if referrer.name in NOT_MOVED or "created_at" not in referrer.c:
            continue
        for fk in referrer.foreign_keys:
            target = fk.column.table
            keys = moved.get(target.name)
            if not keys or len(_pk_columns(target)) != 1 or fk.column is not _pk_columns(target)[0]:
                continue
            ids = [k[fk.column.name] for k in keys]
            created = list(await db.scalars(select(referrer.c.created_at).where(fk.parent.in_(ids))))
            newer = sum(1 for c in created if c > since)
            if newer:
                reasons.append(f"{newer} new {referrer.name} row(s) reference moved {target.name} rows")
    return reasons


async def undo_merge(db: AsyncSession, actor: Principal, merge_id: int, reason: str | None = None,
                     now: dt.datetime | None = None) -> EmployerMerge:
    """Restore exactly what merge ``merge_id`` changed, if :func:`undo_blockers` allows (audited)."""
    now = now or dt.datetime.now(dt.UTC)
    merge = await get_merge(db, merge_id)
    found = await _lock_pair(db, merge.loser_id, merge.survivor_id)
    loser, survivor = found[merge.loser_id], found[merge.survivor_id]
    await db.refresh(merge)
    if not can_merge(actor, loser, survivor):
        raise PermissionDeniedException("Only a lead of both employers' regions may undo this merge")
    blockers = await undo_blockers(db, merge)
    if blockers:
        raise Conflict("This merge can no longer be undone: " + "; ".join(blockers[:5]))
    for change in reversed(await _changes(db, merge.id)):
        table = metadata.tables[change.table_name]
        where = _where_keys(table, change.row_keys)
        if change.action == "insert":
            await db.execute(delete(table).where(where))
        else:
            assert change.before is not None
            values = {n: _restore(table.c[n], v) for n, v in change.before.items()}
            await db.execute(update(table).where(where).values(**values, **_keep_updated_at(table)))
    merge.status = MergeStatus.undone.value
    merge.undone_at, merge.undone_by_id = now, actor.id
    merge.undo_reason = (reason or "").strip() or None
    for employer_id in (merge.survivor_id, merge.loser_id):
        audit.record(db, actor, "employer.merge_undo", "employer_merge", merge.id, employer_id=employer_id,
                     before={"loser_id": merge.loser_id, "survivor_id": merge.survivor_id, "status": "merged"},
                     after={"loser_id": merge.loser_id, "status": "restored"}, note=merge.undo_reason)
    await refresh_keys(db, [merge.loser_id, merge.survivor_id])
    await db.flush()
    await _reload(db, loser, survivor)
    await db.refresh(merge)
    await db.refresh(merge, ["loser", "survivor", "merged_by", "undone_by"])
    return merge


async def merges_of(db: AsyncSession, employer_id: int) -> list[EmployerMerge]:
    """Merges into or out of an employer, newest first."""
    return list(await db.scalars(select(EmployerMerge).where(
        or_(EmployerMerge.survivor_id == employer_id, EmployerMerge.loser_id == employer_id))
        .order_by(EmployerMerge.created_at.desc(), EmployerMerge.id.desc())))
