"""The daily reminder of hand-offs left unanswered: a partner who has not accepted or declined a hand-off
within a week is told once more (the person it names, or its organization's partners), so the SPOC's warm
referral does not go cold in an inbox. Once per hand-off (``reminded_at``); the job's slot claim keeps two
processes from running it together (crm.jobs.scheduler), and a rerun finds nothing left to remind."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm import clock
from crm.auth.models import Role, RoleGrant, User
from crm.db import locked
from crm.directory.models import Region
from crm.notify.service import page_link
from crm.templating import count, days
from crm.touches.models import OPEN_TOUCH_VALUES, HandOff, Touch, TouchRequest
from crm.touches.requests import human_date
from crm.touches.routing import RequestStatus
from crm.touches.workflow import notify, tell_org

REMIND_AFTER_DAYS = 7
BATCH = 500  # a day's reminders at most per run; the rest the next day


async def remind_waiting_hand_offs(db: AsyncSession, now: dt.datetime) -> str:
    due = now - dt.timedelta(days=REMIND_AFTER_DAYS)
    # Locked, then read (crm.db.locked): a merge moving one of them meanwhile left its employer None.
    waiting: list[HandOff] = await locked(db, select(HandOff.id).where(
        HandOff.status == "pending", HandOff.reminded_at.is_(None), HandOff.created_at <= due)
        .order_by(HandOff.id).limit(BATCH))
    for h in waiting:
        made_on = clock.local_date(h.created_at)
        waited = (clock.local_date(now) - made_on).days
        await tell_org(
            db, h, f"Reminder: hand-off #{h.id} from {h.from_user.name} ({h.employer.legal_name})",
            f"{h.from_user.name} handed you a need of {h.employer.legal_name} on {human_date(made_on)}, "
            f"{days(waited)} ago, and it has no answer yet: {h.need}\n"
            "Accept or decline it on your My requests page; declining with a reason lets the SPOC find another "
            "partner.", now)
        h.reminded_at = now
    return f"reminded={len(waiting)}"


async def tell_leads_what_waits(db: AsyncSession, now: dt.datetime) -> str:
    """Once a day, each active lead of a region where work waits for staff is told how much: requests whose
    employer a SPOC must confirm (``needs_match``) and open touches without a SPOC (the unassigned queue).
    Nobody was told of either, and a partner's request could wait there unseen until a lead opened the queue.
    Nothing waiting, no e-mail."""
    matches = dict((await db.execute(
        select(TouchRequest.region_id, func.count(TouchRequest.id))
        .where(TouchRequest.status == RequestStatus.NEEDS_MATCH.value).group_by(TouchRequest.region_id))).all())
    unassigned = dict((await db.execute(
        select(Touch.region_id, func.count(Touch.id))
        .where(Touch.spoc_id.is_(None), Touch.status.in_(OPEN_TOUCH_VALUES)).group_by(Touch.region_id))).all())
    waiting = sorted(set(matches) | set(unassigned))
    if not waiting:
        return "told=0"
    leads = (await db.execute(
        select(RoleGrant.region_id, Region.code, User.email).join(User, User.id == RoleGrant.user_id)
        .join(Region, Region.id == RoleGrant.region_id)
        .where(RoleGrant.role == Role.lead.value, RoleGrant.region_id.in_(waiting), User.is_active.is_(True))
        .order_by(Region.code, User.email))).all()
    for region_id, code, email in leads:
        assert region_id is not None  # a lead's grant names its region (selected IN the waiting ones)
        parts = [(count(n, what, many), why) for n, what, many, why in (
            (matches.get(region_id, 0), "request", None, "waiting for a SPOC to confirm the employer meant"),
            (unassigned.get(region_id, 0), "touch", "touches", "waiting without a SPOC")) if n]
        notify(db, email, f"{code}: {' and '.join(n for n, _ in parts)} waiting for staff",
               f"In {code} today: " + "; ".join(f"{n} {why}" for n, why in parts) + ". On the touch queue, "
               "confirm each request's employer under \"Needs a match\" and give each unassigned touch a SPOC "
               "(a routing rule takes the ones it covers)." + page_link(f"/queue?who=unassigned&region={code}"), now)
    return f"told={len(leads)}"
