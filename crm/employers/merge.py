"""Merging one employer into another without losing history (undoing a merge: ``merge_undo``).

Every row that references the loser moves to the survivor. The references are found by walking
``crm.db.metadata`` for foreign keys to ``employer.id``, so tables other domains add (council and
partnership members, hand-offs, ...) are covered without editing this module; the denormalized
``audit_event.employer_id`` (no FK) moves too. Uniqueness rules the move would break are settled
first, explicitly:

- an active SPOC assignment of the loser in a region where the survivor has one is ended
  (kept as history of the survivor);
- ``employer_pacing`` (one row per employer): the survivor's row becomes the stricter of both and
  the loser's row stays on the tombstone;
- an open touch request of the loser that would duplicate an open one of the survivor is
  withdrawn (``merge_touches``);
- an active council/partnership seat of the loser that duplicates one of the survivor (same body,
  same person) is ended as history, or the survivor's is when the loser's is the stronger (a chair);
- a contact of the loser who is already one of the survivor's (the same e-mail, or without one the
  same name: the rule a new contact is refused by) stays on the tombstone, and what pointed at them
  (seats, the touches they were met on) points at the survivor's record, whose blanks (title, phone)
  they fill; an alias the survivor already has, spelled the same, stays on the tombstone too;
- a meeting both records attended (each ticked present on a seat) counts once: its attendance
  shares the survivor's touch, and the loser's is cancelled saying so (the pacing budget counted
  one meeting twice);
- open touches: the employer gets one agenda per region (SPEC §3), so an open touch of the loser in
  a region where the survivor has one is combined into it when the day suits (``merge_touches``);
- any other unique rule the database enforces: the row that cannot move stays on the tombstone and
  is counted in the merge summary.

The survivor's profile fields that are blank take the loser's values (``merge_profile``: never over a value
the survivor has; website with domain, NAICS code with sector, the address block whole and only where the
survivor is; not a FEIN or website another employer has too); the merge summary lists them (``filled``),
the pages say them before merging, and the search keys are refreshed with them.

Each change is logged in ``employer_merge_change`` (table, primary keys, column, old and new
values; ``merge_log``), so ``merge_undo.undo_merge`` restores exactly. See
``merge_undo.undo_blockers`` for when undo is allowed.
Moves keep each row's ``updated_at``: a moved row that has a newer ``updated_at`` than the merge was
changed by someone after it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy import Column, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from crm.audit import service as audit
from crm.auth.models import Role
from crm.auth.principal import Principal
from crm.db import begin_write, metadata
from crm.employers.candidates import employer_search_key, refresh_keys
from crm.employers.duplicate_models import CandidateStatus, EmployerMerge
from crm.employers.matching import name_key
from crm.employers.matching.normalize import contact_is_new
from crm.employers.merge_log import MergeLog, keep_updated_at, pk_columns, update_row, where_keys
from crm.employers.merge_profile import profile_take
from crm.employers.merge_touches import combine_open_touches, withdraw_duplicate_requests
from crm.employers.models import Employer, EmployerStatus
from crm.errors import Conflict, FieldError

# Bookkeeping and derived tables that reference employers but must not move: the review queue and
# merge log describe the pair itself, and search keys are recomputed by refresh_keys.
NOT_MOVED = frozenset({"duplicate_candidate", "employer_merge", employer_search_key.name})
# Membership tables where one person (or the employer itself) may sit once per body: the columns
# that say "the same seat". Used only when the table exists in the metadata.
SEAT_KEYS: dict[str, tuple[str, ...]] = {
    "council_member": ("council_id", "name", "email"),
    "partnership_member": ("partnership_id", "kind", "name", "email"),
}
_STRICTER_LOWER = ("max_touches",)  # fewer touches allowed is stricter
_STRICTER_HIGHER = ("period_days", "min_gap_days")  # a longer period or gap is stricter


def can_merge(principal: Principal, *employers: Employer) -> bool:
    """Admins; leads of the region of every employer involved (unplaced employers: admins only)."""
    return all(principal.can_in_region(e.region_id, Role.lead) for e in employers)


def _key_of(table: Table, row: Any) -> dict[str, Any]:
    return {c.name: getattr(row, c.name) for c in pk_columns(table)}


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


async def lock_pair(db: AsyncSession, first_id: int, second_id: int) -> dict[int, Employer]:
    await begin_write(db)
    rows = await db.scalars(
        select(Employer).where(Employer.id.in_([first_id, second_id])).order_by(Employer.id)
        .with_for_update(of=Employer).execution_options(populate_existing=True))
    return {e.id: e for e in rows}


def check_pair(actor: Principal, loser_id: int, survivor_id: int,
               found: dict[int, Employer]) -> tuple[Employer, Employer]:
    """The two employers of a merge from ``found`` (read by id), if ``actor`` may merge the one into the other;
    the merge checks them under its row locks, the employer page before asking to confirm."""
    if loser_id == survivor_id:
        raise FieldError("into", "must be a different employer than the one merged")
    loser, survivor = found.get(loser_id), found.get(survivor_id)
    if loser is None:
        raise NotFoundException(f"Employer #{loser_id} not found")
    if survivor is None:
        raise FieldError("into", f"no employer #{survivor_id} to merge into")
    if not can_merge(actor, loser, survivor):
        raise PermissionDeniedException("Only a lead of both employers' regions may merge them")
    if loser.status == EmployerStatus.merged:
        raise Conflict(f"Employer #{loser.id} was already merged into #{loser.merged_into_id}")
    if survivor.status == EmployerStatus.merged:
        raise Conflict(f"Employer #{survivor.id} was merged into #{survivor.merged_into_id}; merge into that one")
    return loser, survivor


async def merge_employers(db: AsyncSession, actor: Principal, loser_id: int, survivor_id: int,
                          reason: str | None = None, *, now: dt.datetime | None = None) -> EmployerMerge:
    """Merge employer ``loser_id`` into ``survivor_id`` in the caller's transaction (audited)."""
    now = now or dt.datetime.now(dt.UTC)
    loser, survivor = check_pair(actor, loser_id, survivor_id, await lock_pair(db, loser_id, survivor_id))

    merge = EmployerMerge(loser_id=loser.id, survivor_id=survivor.id, merged_by_id=actor.id,
                          reason=(reason or "").strip() or None, summary={})
    db.add(merge)
    await db.flush()
    log = MergeLog(merge)
    keep: dict[str, set[tuple[Any, ...]]] = {}
    filled = await _fill_profile(db, log, loser, survivor)
    await _end_duplicate_assignments(db, log, loser.id, survivor.id, now)
    await _settle_pacing(db, log, loser.id, survivor.id, keep)
    await withdraw_duplicate_requests(db, log, loser.id, survivor.id, now)
    await _end_duplicate_seats(db, log, loser.id, survivor.id, now)
    await _fold_same_people(db, log, loser.id, survivor.id, keep)
    await _one_touch_per_meeting(db, log, loser.id, survivor.id, now)
    await _keep_same_aliases(db, loser.id, survivor, keep)
    combined = await combine_open_touches(db, log, loser.id, survivor.id, now)
    for table, column in employer_references():
        await _move(db, log, table, column, loser.id, survivor.id, keep.get(table.name, set()))
    await _move(db, log, metadata.tables["audit_event"], metadata.tables["audit_event"].c.employer_id,
                loser.id, survivor.id, set())
    await _names_become_aliases(db, log, loser, survivor)
    # The employer's own wishes only ever get stricter: a do-not-contact flag survives the merge.
    employer = metadata.tables["employer"]
    await update_row(db, log, employer, {"id": survivor.id}, {
        "do_not_contact": survivor.do_not_contact or loser.do_not_contact,
        "preferred_channel": survivor.preferred_channel or loser.preferred_channel})
    await update_row(db, log, employer, {"id": loser.id},
                      {"status": EmployerStatus.merged.value, "merged_into_id": survivor.id})
    await _close_candidate(db, log, actor, loser.id, survivor.id, now)

    merge.summary = {**log.summary, **({"filled": filled} if filled else {})}
    db.add_all(log.changes)
    _audit_closed(db, actor, log, merge.id, survivor.id)
    audit.record(db, actor, "employer.merge", "employer_merge", merge.id, employer_id=survivor.id,
                 after={"loser_id": loser.id, "loser": loser.legal_name, "survivor_id": survivor.id,
                        "moved": {k: v.get("moved", 0) for k, v in log.summary.items()},
                        **({"filled": filled} if filled else {}),
                        **({"touches_combined": combined} if combined else {})},
                 note=merge.reason)
    audit.record(db, actor, "employer.merged_into", "employer", loser.id, employer_id=loser.id,
                 before={"status": loser.status}, after={"status": "merged", "merged_into_id": survivor.id},
                 note=merge.reason)
    await refresh_keys(db, [loser.id, survivor.id])
    await db.flush()
    await reload(db, loser, survivor)
    await db.refresh(merge, ["loser", "survivor", "merged_by", "undone_by"])
    return merge


async def _fill_profile(db: AsyncSession, log: MergeLog, loser: Employer, survivor: Employer) -> list[str]:
    """The survivor's blank profile fields take the loser's (``merge_profile.profile_take``), each group in its
    own savepoint so that a unique rule the database enforces leaves just that group out; answers what it took."""
    employer = metadata.tables["employer"]
    taken = []
    for label, values in (await profile_take(db, loser, survivor)).fills.items():
        try:
            async with db.begin_nested():
                await update_row(db, log, employer, {"id": survivor.id}, values)
        except IntegrityError:
            continue
        for name, value in values.items():  # the ORM object says it too: aliases are compared with its DBA
            set_committed_value(survivor, name, value)
        taken.append(label)
    return taken


def _audit_closed(db: AsyncSession, actor: Principal, log: MergeLog, merge_id: int, survivor_id: int) -> None:
    """Each request the merge withdrew and each touch it cancelled, audited as any withdrawal or cancellation
    is (SPEC §3: every transition), on the survivor's record, saying why."""
    for change in log.changes:
        status = (change.after or {}).get("status")
        if change.action != "update" or (change.table_name, status) not in (("touch_request", "withdrawn"),
                                                                            ("touch", "cancelled")):
            continue
        request = change.table_name == "touch_request"
        why = (change.after or {}).get("outcome_note" if request else "cancel_reason")
        audit.record(db, actor, "touch_request.withdraw" if request else "touch.cancel", change.table_name,
                     change.row_keys[0]["id"], employer_id=survivor_id,
                     before={"status": (change.before or {}).get("status")}, after={"status": status},
                     note=f"merge #{merge_id}: {why}")


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


async def reload(db: AsyncSession, *employers: Employer) -> None:
    # The rows changed underneath the ORM (Core statements): load them, and their aliases and
    # contacts, afresh so callers render the current state.
    await db.scalars(select(Employer).where(Employer.id.in_([e.id for e in employers]))
                     .options(selectinload(Employer.aliases), selectinload(Employer.contacts))
                     .execution_options(populate_existing=True))


async def _end_duplicate_assignments(db: AsyncSession, log: MergeLog, loser_id: int, survivor_id: int,
                                     now: dt.datetime) -> None:
    t = metadata.tables["spoc_assignment"]
    survivor_regions = set(await db.scalars(select(t.c.region_id).where(
        t.c.employer_id == survivor_id, t.c.ended_at.is_(None))))
    rows = (await db.execute(select(t.c.id, t.c.region_id, t.c.reason).where(
        t.c.employer_id == loser_id, t.c.ended_at.is_(None)))).all()
    for row in rows:
        if row.region_id in survivor_regions:
            note = f"ended by merge into employer #{survivor_id}, which has its own SPOC here"
            await update_row(db, log, t, {"id": row.id}, {
                "ended_at": now, "reason": f"{row.reason}; {note}" if row.reason else note})
            log.count(t.name, "ended", 1)


async def _settle_pacing(db: AsyncSession, log: MergeLog, loser_id: int, survivor_id: int,
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
    await update_row(db, log, t, {"id": win.id}, values)
    keep.setdefault(t.name, set()).add((lose.id,))
    log.count(t.name, "kept_on_tombstone", 1)


def _same_seat(a: Any, b: Any, columns: tuple[str, ...]) -> bool:
    def norm(v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v

    return all(norm(getattr(a, c)) == norm(getattr(b, c)) for c in columns)


async def _end_duplicate_seats(db: AsyncSession, log: MergeLog, loser_id: int, survivor_id: int,
                               now: dt.datetime) -> None:
    for name, columns in SEAT_KEYS.items():
        t = metadata.tables.get(name)
        if t is None or "removed_at" not in t.c or any(c not in t.c for c in columns):
            continue
        active = (await db.execute(select(t).where(
            t.c.employer_id.in_([loser_id, survivor_id]), t.c.removed_at.is_(None)))).all()
        theirs = [r for r in active if r.employer_id == survivor_id]
        for row in (r for r in active if r.employer_id == loser_id):
            other = next((o for o in theirs if _same_seat(row, o, columns)), None)
            if other is None:
                continue
            # One seat stays: the stronger (a chair over a member, then the longer term), so that merging
            # never leaves a council without its chair; the loser's moves to the survivor with the rest.
            ended = other if _seat_rank(row) < _seat_rank(other) else row
            if ended is other:
                theirs = [o for o in theirs if o is not other] + [row]
            values: dict[str, Any] = {"removed_at": now}
            if "removed_reason" in t.c:
                values["removed_reason"] = f"duplicate seat after merge into employer #{survivor_id}"
            await update_row(db, log, t, {"id": ended.id}, values)
            log.count(t.name, "ended", 1)


_ROLE_RANK = {"chair": 0, "vice_chair": 1}  # council_member.role; a partnership seat has none


def _seat_rank(seat: Any) -> tuple[int, int]:
    """Lower is the seat to keep: by role, then by the later end of term (none: open-ended, kept first)."""
    term_end = getattr(seat, "term_end", None)
    return (_ROLE_RANK.get(getattr(seat, "role", None) or "", 2),
            -(term_end.toordinal() if term_end is not None else dt.date.max.toordinal()))


async def _fold_same_people(db: AsyncSession, log: MergeLog, loser_id: int, survivor_id: int,
                            keep: dict[str, set[tuple[Any, ...]]]) -> None:
    """A loser's contact who is one of the survivor's already stays on the tombstone; their seats and the
    touches they were met on point at the survivor's record, which takes the title and phone it lacks."""
    ec, tc = metadata.tables["employer_contact"], metadata.tables["touch_contact"]
    rows = (await db.execute(select(ec).where(ec.c.employer_id.in_([loser_id, survivor_id])).order_by(ec.c.id))).all()
    theirs = [r for r in rows if r.employer_id == survivor_id]
    for lost in (r for r in rows if r.employer_id == loser_id):
        this = {"name": lost.name, "email": lost.email}
        twin = next((o for o in theirs if not contact_is_new(this, [{"name": o.name, "email": o.email}])), None)
        if twin is None:
            continue
        blanks = {c: getattr(lost, c) for c in ("title", "phone") if getattr(twin, c) is None
                  and getattr(lost, c) is not None}
        if blanks:
            await update_row(db, log, ec, {"id": twin.id}, blanks)
        for name in ("council_member", "partnership_member"):
            seats = metadata.tables[name]
            for seat_id in list(await db.scalars(select(seats.c.id).where(seats.c.employer_contact_id == lost.id))):
                await update_row(db, log, seats, {"id": seat_id}, {"employer_contact_id": twin.id})
        met = list(await db.scalars(select(tc.c.touch_id).where(tc.c.contact_id == lost.id)))
        met_twin = set(await db.scalars(select(tc.c.touch_id).where(tc.c.contact_id == twin.id,
                                                                    tc.c.touch_id.in_(met)))) if met else set()
        for touch_id in met:
            if touch_id not in met_twin:
                link = {"touch_id": touch_id, "contact_id": twin.id}
                await db.execute(insert(tc).values(**link))
                log.add(tc, "insert", [link], after=link)
            gone = {"touch_id": touch_id, "contact_id": lost.id}
            await db.execute(delete(tc).where(where_keys(tc, [gone])))
            log.add(tc, "delete", [gone], before=gone)
        keep.setdefault(ec.name, set()).add((lost.id,))
        log.count(ec.name, "same_person", 1)


_ATTENDANCE = (("meeting_attendance", "council_member"), ("partnership_attendance", "partnership_member"))


async def _one_touch_per_meeting(db: AsyncSession, log: MergeLog, loser_id: int, survivor_id: int,
                                 now: dt.datetime) -> None:
    """One touch per employer and meeting (``councils.service.attendance_touch``), merged records too."""
    touch = metadata.tables["touch"]
    for attendance_name, member_name in _ATTENDANCE:
        a, m = metadata.tables[attendance_name], metadata.tables[member_name]
        rows = (await db.execute(select(a.c.id, a.c.meeting_id, a.c.touch_id, m.c.employer_id)
                                 .join(m, m.c.id == a.c.member_id)
                                 .where(m.c.employer_id.in_([loser_id, survivor_id]), a.c.present.is_(True),
                                        a.c.touch_id.is_not(None)).order_by(a.c.id))).all()
        kept: dict[int, int] = {}
        for r in rows:
            if r.employer_id == survivor_id:
                kept.setdefault(r.meeting_id, r.touch_id)
        cancelled: set[int] = set()
        for r in rows:
            into = kept.get(r.meeting_id)
            if r.employer_id != loser_id or into is None or r.touch_id == into:
                continue
            await update_row(db, log, a, {"id": r.id}, {"touch_id": into})
            if r.touch_id not in cancelled:
                cancelled.add(r.touch_id)
                await update_row(db, log, touch, {"id": r.touch_id}, {
                    "status": "cancelled", "cancelled_at": now,
                    "cancel_reason": f"the same meeting as touch #{into}, once employer #{loser_id} was merged into "
                                     f"#{survivor_id}"})
                log.count(touch.name, "same_meeting", 1)


async def _keep_same_aliases(db: AsyncSession, loser_id: int, survivor: Employer,
                             keep: dict[str, set[tuple[Any, ...]]]) -> None:
    """A loser's alias the survivor already has (or bears as its name), spelled the same, stays on the
    tombstone rather than being listed twice."""
    t = metadata.tables["employer_alias"]
    known = await _names_of(db, survivor)
    for alias_id, name in await db.execute(select(t.c.id, t.c.name).where(t.c.employer_id == loser_id)):
        if _spelling(name) in known:
            keep.setdefault(t.name, set()).add((alias_id,))
        known.add(_spelling(name))


async def _move(db: AsyncSession, log: MergeLog, table: Table, column: Column[Any], loser_id: int,
                survivor_id: int, keep: set[tuple[Any, ...]]) -> None:
    pk = pk_columns(table)
    rows = (await db.execute(select(*pk).where(column == loser_id).order_by(*pk))).all()
    keys = [_key_of(table, r) for r in rows if tuple(r) not in keep]
    if not keys:
        return
    values = {column.name: survivor_id, **keep_updated_at(table)}
    try:
        async with db.begin_nested():
            await db.execute(update(table).where(where_keys(table, keys)).values(**values))
        moved = keys
    except IntegrityError:
        # A unique rule nobody settled above: move row by row; what cannot move stays on the tombstone.
        moved = []
        for key in keys:
            try:
                async with db.begin_nested():
                    await db.execute(update(table).where(where_keys(table, [key])).values(**values))
                moved.append(key)
            except IntegrityError:
                log.count(table.name, "kept_on_tombstone", 1)
    if moved:
        log.add(table, "move", moved, column=column.name, before={column.name: loser_id},
                after={column.name: survivor_id})
        log.count(table.name, "moved", len(moved))


def _spelling(name: str) -> str:
    return " ".join(name.casefold().split())


async def _names_of(db: AsyncSession, employer: Employer) -> set[str]:
    """Every name the employer goes by (legal name, dba, aliases), as ``_spelling`` compares them."""
    t = metadata.tables["employer_alias"]
    known = {_spelling(n) for n in (employer.legal_name, employer.dba) if n}
    return known | {_spelling(n) for n in await db.scalars(select(t.c.name).where(t.c.employer_id == employer.id))}


async def _names_become_aliases(db: AsyncSession, log: MergeLog, loser: Employer, survivor: Employer) -> None:
    # Kept even when the name key equals the survivor's ("Acme Corp." / "ACME Corporation"): the
    # alias records how people wrote the name; only the very same spelling is not repeated.
    t = metadata.tables["employer_alias"]
    known = await _names_of(db, survivor)
    for name in (loser.legal_name, loser.dba):
        key = name_key(name) if name else ""
        if not name or not key or _spelling(name) in known:
            continue
        known.add(_spelling(name))
        values = {"employer_id": survivor.id, "name": name, "name_key": key}
        new_id = await db.scalar(insert(t).values(**values).returning(t.c.id))
        log.add(t, "insert", [{"id": new_id}], after=values)
        log.count(t.name, "added", 1)


async def _close_candidate(db: AsyncSession, log: MergeLog, actor: Principal, loser_id: int, survivor_id: int,
                           now: dt.datetime) -> None:
    t = metadata.tables["duplicate_candidate"]
    a, b = sorted((loser_id, survivor_id))
    found = await db.scalar(select(t.c.id).where(t.c.employer_a_id == a, t.c.employer_b_id == b))
    if found is not None:
        await update_row(db, log, t, {"id": found}, {
            "status": CandidateStatus.merged.value, "decided_by_id": actor.id, "decided_at": now})
        log.merge.candidate_id = found
