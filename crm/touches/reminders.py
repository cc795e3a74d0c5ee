"""The daily reminder of hand-offs left unanswered: a partner who has not accepted or declined a hand-off
within a week is told once more (the person it names, or its organization's partners), so the SPOC's warm
referral does not go cold in an inbox. Once per hand-off (``reminded_at``); the job's slot claim keeps two
processes from running it together (crm.jobs.scheduler), and a rerun finds nothing left to remind."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm import clock
from crm.db import locked
from crm.templating import days
from crm.touches.models import HandOff
from crm.touches.requests import human_date
from crm.touches.workflow import tell_org

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
