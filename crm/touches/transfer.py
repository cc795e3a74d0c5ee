"""Transferring a person's caseload in a region to another SPOC, in one transaction.

When a SPOC leaves, changes job or goes on long leave, the lead moves everything they hold in the
region to a colleague at once: the employers they own (each assignment is ended and a new one
started, so the employer's SPOC history keeps both), the employers they back up, and their open
touches. Requesters riding a moved touch are told who their SPOC is now.

Concurrency: on PostgreSQL the affected employers' rows are locked first (``FOR UPDATE``, in id
order), the same rows intake and the touch workflow lock, so an intake deciding for one of those
employers either finishes before the transfer reads anything or waits and then sees the new
assignment; on SQLite ``begin_write`` serializes every writer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from litestar.exceptions import PermissionDeniedException
from sqlalchemy import Table, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm.audit import service as audit
from crm.auth.models import Role, User
from crm.auth.principal import Principal
from crm.db import begin_write
from crm.directory.models import Region
from crm.employers.models import Employer, SpocAssignment
from crm.errors import Conflict, FieldError
from crm.notify.service import insert_messages, message_row
from crm.templating import sentence, words
from crm.touches.assign import eligible_spoc, eligible_user
from crm.touches.models import OPEN_TOUCH_VALUES, Touch, TouchRequest

_ON_TOUCH = ("queued", "scheduled")
MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class Caseload:
    """What one person holds in a region."""

    employers: int = 0  # employers whose active SPOC they are
    backups: int = 0  # employers they back up
    open_touches: int = 0  # queued or scheduled touches they own

    @property
    def empty(self) -> bool:
        return not (self.employers or self.backups or self.open_touches)

    @property
    def said(self) -> str:
        """In the words every page uses for it: "3 employers, 1 as backup, 2 open touches" ("1 employer")."""
        employers = f"{self.employers} employer{'' if self.employers == 1 else 's'}"
        touches = f"{self.open_touches} open touch{'' if self.open_touches == 1 else 'es'}"
        return f"{employers}, {self.backups} as backup, {touches}"


@dataclass(frozen=True, slots=True)
class Holder:
    """A person holding a caseload in a region, and whether they may still work it."""

    user_id: int
    name: str
    email: str
    can_work: bool  # active, with a SPOC or lead grant in the region
    caseload: Caseload


@dataclass(frozen=True, slots=True)
class TransferResult:
    region: str
    from_user: User
    to_user: User
    moved: Caseload


def _active(region_id: int) -> Any:
    a = SpocAssignment
    return (a.region_id == region_id) & a.ended_at.is_(None)


async def holders(db: AsyncSession, region_id: int) -> list[Holder]:
    """Everyone who holds employers, backups or open touches in the region, largest caseload first.

    Former staff are included (deactivated, or no longer SPOC there): theirs is the caseload that most
    needs transferring.
    """
    a = SpocAssignment
    counts: dict[int, list[int]] = {}
    owned = await db.execute(select(a.spoc_id, func.count()).where(_active(region_id)).group_by(a.spoc_id))
    backed = await db.execute(select(a.backup_spoc_id, func.count())
                              .where(_active(region_id), a.backup_spoc_id.is_not(None)).group_by(a.backup_spoc_id))
    touches = await db.execute(select(Touch.spoc_id, func.count())
                               .where(Touch.region_id == region_id, Touch.status.in_(OPEN_TOUCH_VALUES),
                                      Touch.spoc_id.is_not(None)).group_by(Touch.spoc_id))
    for slot, rows in enumerate((owned, backed, touches)):
        for user_id, n in rows:
            if user_id is not None:  # the queries leave NULLs out; this tells the type checker
                counts.setdefault(user_id, [0, 0, 0])[slot] = int(n)
    if not counts:
        return []
    workers = set(await db.scalars(select(User.id).where(
        User.id.in_(counts), eligible_user(User, region_id))))
    people = await db.execute(select(User.id, User.name, User.email).where(User.id.in_(counts)))
    found = [Holder(uid, name, email, uid in workers, Caseload(*counts[uid])) for uid, name, email in people]
    return sorted(found, key=lambda h: (-(h.caseload.employers + h.caseload.backups + h.caseload.open_touches), h.name))


async def caseload_of(db: AsyncSession, region_id: int, user_id: int) -> Caseload:
    a = SpocAssignment
    employers = await db.scalar(select(func.count()).where(_active(region_id), a.spoc_id == user_id))
    backups = await db.scalar(select(func.count()).where(_active(region_id), a.backup_spoc_id == user_id))
    touches = await db.scalar(select(func.count()).select_from(Touch).where(
        Touch.region_id == region_id, Touch.status.in_(OPEN_TOUCH_VALUES), Touch.spoc_id == user_id))
    return Caseload(int(employers or 0), int(backups or 0), int(touches or 0))


async def transfer_caseload(db: AsyncSession, actor: Principal, region: Region, from_id: int, to_id: int, *,
                    reason: str, now: dt.datetime) -> TransferResult:
    """Move everything ``from_id`` holds in ``region`` to ``to_id``; leads of the region and admins only.

    Raises 422 naming ``from_spoc_id``/``to_spoc_id``/``reason`` for bad input, and changes nothing
    then; a 422 too when there is nothing to transfer.
    """
    if not actor.can_in_region(region.id, Role.lead):
        raise PermissionDeniedException("Only a lead of this region may transfer its SPOCs' caseloads")
    region_id, code = region.id, region.code  # plain values: nothing below may lazy-load
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise FieldError("reason", f"must be at most {MAX_REASON} characters")
    if from_id == to_id:
        raise FieldError("to_spoc_id", "must be someone other than the person whose caseload moves")
    await begin_write(db)
    giver = await db.get(User, from_id)
    if giver is None:
        raise FieldError("from_spoc_id", f"user #{from_id} does not exist")
    taker = await eligible_spoc(db, to_id, region_id, field="to_spoc_id")
    giver_name, taker_name, taker_email = giver.name, taker.name, taker.email

    a = SpocAssignment
    held = or_(a.spoc_id == from_id, a.backup_spoc_id == from_id)
    open_touch = (Touch.region_id == region_id) & Touch.status.in_(OPEN_TOUCH_VALUES) & (Touch.spoc_id == from_id)
    # Lock the employers whose SPOC changes, in id order (no deadlock between two transfers).
    await db.execute(select(Employer.id).where(or_(
        Employer.id.in_(select(a.employer_id).where(_active(region_id), held)),
        Employer.id.in_(select(Touch.employer_id).where(open_touch)),
    )).order_by(Employer.id).with_for_update())

    ended = (await db.execute(
        update(a).where(_active(region_id), held).values(ended_at=now)
        .returning(a.id, a.employer_id, a.spoc_id, a.backup_spoc_id)
        .execution_options(synchronize_session=False))).all()
    note = reason or f"Caseload of {giver_name} transferred to {taker_name}"
    rows: list[dict[str, Any]] = []
    for _old_id, employer_id, spoc_id, backup_id in ended:
        spoc = to_id if spoc_id == from_id else spoc_id
        backup = to_id if backup_id == from_id else backup_id
        rows.append({"employer_id": employer_id, "region_id": region_id, "spoc_id": spoc,
                     "backup_spoc_id": None if backup == spoc else backup, "started_at": now, "reason": note,
                     "assigned_by_id": actor.id, "created_at": now, "updated_at": now})
    new_ids: Sequence[Any] = []
    if rows:
        try:
            async with db.begin_nested():
                new_ids = (await db.execute(
                    insert(cast(Table, a.__table__)).returning(a.id, sort_by_parameter_order=True), rows)).all()
        except IntegrityError:
            raise Conflict("An employer of this caseload was reassigned at the same moment; try again") from None
    moved_touches = (await db.execute(
        update(Touch).where(open_touch).values(spoc_id=to_id, updated_at=now)
        .returning(Touch.id, Touch.employer_id).execution_options(synchronize_session=False))).all()

    moved = Caseload(employers=sum(1 for _, _, s, _ in ended if s == from_id),
                 backups=sum(1 for _, _, s, b in ended if s != from_id and b == from_id),
                 open_touches=len(moved_touches))
    if moved.empty:
        raise FieldError("from_spoc_id", f"{giver_name} holds no employers or open touches in {code}")

    events = [audit.row(actor, "spoc.transfer", "spoc_assignment", new[0], at=now, employer_id=old[1],
                        before={"assignment_id": old[0], "spoc_id": old[2], "backup_spoc_id": old[3]},
                        after={"assignment_id": new[0], "spoc_id": row["spoc_id"],
                               "backup_spoc_id": row["backup_spoc_id"], "region": code}, note=note)
              for old, new, row in zip(ended, new_ids, rows, strict=True)]
    events += [audit.row(actor, "touch.reassign", "touch", touch_id, at=now, employer_id=employer_id,
                         before={"spoc_id": from_id}, after={"spoc_id": to_id, "spoc": taker_name}, note=note)
               for touch_id, employer_id in moved_touches]
    summary = {"from_spoc_id": from_id, "to_spoc_id": to_id, "employers": moved.employers,
               "backups": moved.backups, "open_touches": moved.open_touches}
    events.append(audit.row(actor, "region.transfer", "region", region_id, at=now, after=summary, note=note))
    await audit.insert_rows(db, events)
    await insert_messages(db, await _messages(db, moved_touches, moved, code, giver, taker_email, taker_name,
                                              actor, now))
    return TransferResult(region=code, from_user=giver, to_user=taker, moved=moved)


async def _messages(db: AsyncSession, moved_touches: Sequence[Any], moved: Caseload, code: str, giver: User,
                    taker_email: str, taker_name: str, actor: Principal, now: dt.datetime) -> list[dict[str, Any]]:
    what = moved.said
    messages = [message_row(taker_email, f"{giver.name}'s caseload in {code} is now yours",
                            f"{actor.name} transferred {what} in {code} from {giver.name} to you.", now)]
    if giver.is_active:
        messages.append(message_row(giver.email, f"Your caseload in {code} went to {taker_name}",
                                    sentence(f"{actor.name} transferred {what} in {code} to {taker_name}"), now))
    if moved_touches:
        touch_ids = [t for t, _ in moved_touches]
        riding = await db.execute(
            select(TouchRequest.id, TouchRequest.purpose, TouchRequest.touch_id, User.email, Employer.legal_name)
            .join(User, User.id == TouchRequest.requester_id)
            .join(Employer, Employer.id == TouchRequest.employer_id)
            .where(TouchRequest.touch_id.in_(touch_ids), TouchRequest.status.in_(_ON_TOUCH))
            .order_by(TouchRequest.id))
        messages += [message_row(email, f"New SPOC for touch #{touch_id}",
                                 f"Your request #{request_id} ({words(purpose)}): {taker_name} now handles your touch "
                                 f"with {employer}.", now)
                     for request_id, purpose, touch_id, email, employer in riding]
    return messages
