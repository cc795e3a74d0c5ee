"""A SPOC back from away takes back their queue (SPEC §3.5: an absent SPOC's queue goes to the backup, for
the absence): the touches routed to a backup meanwhile that no one has scheduled yet. A touch the backup
scheduled keeps its appointment with them; one a lead gave the backup by hand was reassigned, not routed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.audit import service as audit
from crm.audit.models import AuditEvent
from crm.auth.models import User
from crm.auth.principal import Principal
from crm.employers.models import Employer, SpocAssignment
from crm.employers.service import lock_employer_of
from crm.touches.models import Touch, TouchRequest
from crm.touches.routing import RequestStatus, TouchStatus
from crm.touches.workflow import notify, tell_requesters


async def take_back(db: AsyncSession, actor: Principal, spoc: User, since: dt.datetime, now: dt.datetime) -> int:
    """Give ``spoc`` back the queued touches of their employers routed to the assignment's backup since
    ``since`` (when they were marked away); each backup and requester told. Returns how many came back."""
    a = SpocAssignment
    # The SPOC's employers first, in id order (as a caseload transfer locks them): an intake that read the
    # SPOC as away and routed a touch to the backup holds its employer until it commits, so the query below
    # finds its touch; one that comes after waits, then reads the SPOC back (committed with this).
    await db.execute(select(Employer.id).where(Employer.id.in_(
        select(a.employer_id).where(a.spoc_id == spoc.id, a.ended_at.is_(None), a.backup_spoc_id.is_not(None))))
        .order_by(Employer.id).with_for_update())
    found = (await db.execute(
        select(Touch.id, Touch.spoc_id).join(a, and_(
            a.employer_id == Touch.employer_id, a.region_id == Touch.region_id, a.ended_at.is_(None),
            a.spoc_id == spoc.id, a.backup_spoc_id == Touch.spoc_id))
        .where(Touch.status == TouchStatus.QUEUED.value, Touch.source == "routed", Touch.created_at >= since,
               ~select(AuditEvent.id).where(  # a lead's reassignment to the backup stands
                   AuditEvent.entity_type == "touch", AuditEvent.entity_id == Touch.id,
                   AuditEvent.action == "touch.reassign").exists())
        .order_by(Touch.employer_id, Touch.id))).all()
    back: dict[int, list[Touch]] = {}
    for touch_id, backup_id in found:
        assert backup_id is not None  # joined equal to the assignment's backup

        def employer_of(t: int = touch_id) -> Awaitable[int | None]:
            return db.scalar(select(Touch.employer_id).where(Touch.id == t))

        await lock_employer_of(db, employer_of)
        touch = await db.scalar(select(Touch).where(Touch.id == touch_id).with_for_update(of=Touch)
                                .execution_options(populate_existing=True))
        if touch is None or touch.status != TouchStatus.QUEUED.value or touch.spoc_id != backup_id:
            continue  # the backup scheduled or cancelled it, or a lead reassigned it, meanwhile
        touch.spoc_id = spoc.id
        audit.record(db, actor, "touch.reassign", "touch", touch.id, employer_id=touch.employer_id,
                     before={"spoc_id": backup_id}, after={"spoc_id": spoc.id, "spoc": spoc.name},
                     note=f"{spoc.name} is back from away")
        riding = list(await db.scalars(select(TouchRequest).where(
            TouchRequest.touch_id == touch.id, TouchRequest.status == RequestStatus.QUEUED.value)
            .order_by(TouchRequest.id)))
        tell_requesters(db, riding, f"New SPOC for touch #{touch.id}",
                        f"{spoc.name}, the employer's SPOC, is back and handles your touch with "
                        f"{touch.employer.legal_name} again.", now)
        back.setdefault(backup_id, []).append(touch)
    for backup_id, touches in back.items():
        email = await db.scalar(select(User.email).where(User.id == backup_id))
        if email:
            ids = ", ".join(f"#{t.id}" for t in touches)
            notify(db, email, f"{spoc.name} is back: {len(touches)} touch(es) returned",
                   f"{spoc.name} is back from away: touch(es) {ids}, routed to you while they were away and not "
                   "scheduled yet, are in their queue again. Touches you scheduled stay with you.", now)
    await db.flush()
    return sum(len(t) for t in back.values())
