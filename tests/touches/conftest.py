"""Fixtures for the touch domain (shared by the SPOC and intake test files: distinct names only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.auth.models import User
from crm.directory.models import Region
from crm.employers.models import Employer, EmployerContact
from crm.touches.models import EmployerBlackout, HandOff, Touch, TouchRequest, touch_contact
from tests.factories import today


class SpocDesk:
    """Arranges touches, bundled requests, contacts, hand-offs and blackout dates directly in the database."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def touch(self, employer: Employer, spoc: User | None = None, *, status: str = "queued",
                    planned_in: int = 3, region: str = "LA-BASIN", window: tuple[int, int] = (0, 30),
                    source: str = "routed", **extra: Any) -> Touch:
        async with self.sessionmaker() as db, db.begin():
            region_id = await db.scalar(select(Region.id).where(Region.code == region))
            assert region_id is not None
            t = Touch(employer_id=employer.id, region_id=region_id, spoc_id=spoc.id if spoc else None, status=status,
                      source=source, window_start=today() + dt.timedelta(days=window[0]),
                      window_end=today() + dt.timedelta(days=window[1]),
                      planned_on=today() + dt.timedelta(days=planned_in), **extra)
            db.add(t)
        return t

    async def request(self, touch: Touch | None, requester: User, *, employer: Employer | None = None,
                      purpose: str = "hiring", summary: str = "", status: str | None = None,
                      release_in: int | None = None, region: str = "LA-BASIN") -> TouchRequest:
        async with self.sessionmaker() as db, db.begin():
            region_id = await db.scalar(select(Region.id).where(Region.code == region))
            assert region_id is not None and requester.organization_id is not None
            r = TouchRequest(
                requester_id=requester.id, requester_org_id=requester.organization_id,
                employer_id=employer.id if employer else touch.employer_id if touch else None, region_id=region_id,
                purpose=purpose, summary=summary, window_start=today(), window_end=today() + dt.timedelta(days=30),
                status=status or ("queued" if touch else "held"), touch_id=touch.id if touch else None,
                release_on=today() + dt.timedelta(days=release_in) if release_in is not None else None)
            db.add(r)
        return r

    async def contact(self, employer: Employer, name: str = "Dana Owner") -> EmployerContact:
        async with self.sessionmaker() as db, db.begin():
            c = EmployerContact(employer_id=employer.id, name=name)
            db.add(c)
        return c

    async def met_on(self, touch: Touch, contact: EmployerContact) -> None:
        """Note ``contact`` as a person the SPOC met on ``touch``."""
        async with self.sessionmaker() as db, db.begin():
            await db.execute(insert(touch_contact).values(touch_id=touch.id, contact_id=contact.id))

    async def blackout(self, employer: Employer, starts_in: int, ends_in: int,
                       reason: str | None = None) -> EmployerBlackout:
        """Days the employer asked not to be contacted, from today + ``starts_in`` to today + ``ends_in``."""
        async with self.sessionmaker() as db, db.begin():
            b = EmployerBlackout(employer_id=employer.id, starts_on=today() + dt.timedelta(days=starts_in),
                                 ends_on=today() + dt.timedelta(days=ends_in), reason=reason)
            db.add(b)
        return b

    async def hand_off(self, touch: Touch, from_user: User, to_org_id: int, need: str = "hiring 5 welders",
                       **extra: Any) -> HandOff:
        async with self.sessionmaker() as db, db.begin():
            h = HandOff(touch_id=touch.id, employer_id=touch.employer_id, from_user_id=from_user.id,
                        to_org_id=to_org_id, need=need, **extra)
            db.add(h)
        return h
