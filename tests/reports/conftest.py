"""A region's history with known numbers, shared by the report API and page tests.

LA-BASIN, January-February 2025 (California dates), SPOC Maria (``spoc``) and Sam (``spoc2``):
- completed touches: employer A twice in January and once in February, B once in January; a
  cancelled and a queued touch (never counted) and a completed touch in BAY-PENINSULA (another region);
- Maria's four routed touches took 1, 2, 3 and 4 days, Sam's one took 10 (logged touches have none);
- requests received in January: three on touch T1, one on T2, one held, one needing a match;
- employer A was also served in 2023 (a repeat business customer), B was not;
- today's queue: Maria's open touches opened 3, 10, 40 and 100 days ago (the last one overdue),
  one unassigned opened today.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, update

from crm import clock
from crm.directory.models import Region
from crm.touches.models import Touch, TouchRequest

JAN = dt.date(2025, 1, 1)
FEB = dt.date(2025, 2, 1)
PERIOD = {"region": "LA-BASIN", "from": "2025-01-01", "to": "2025-02-28"}


@dataclass
class History:
    employers: dict[str, Any]


def _at(day: dt.date, hour: int = 9) -> dt.datetime:
    return clock.local_instant(day, dt.time(hour))


@pytest.fixture
async def history(world, sessionmaker) -> History:
    f, u = world.f, world.users
    a = await f.employer("Acme Tooling Inc")
    b = await f.employer("Bright Dental Group")
    bay = await f.employer("Bay Robotics", county="Santa Clara")
    async with sessionmaker() as db, db.begin():
        la = await db.scalar(select(Region.id).where(Region.code == "LA-BASIN"))
        await db.execute(update(Region).where(Region.code == "LA-BASIN").values(establishment_count=400))

        def touch(employer: Any, day: dt.date, *, status: str = "completed", spoc: Any = None,
                  days: float | None = None, source: str = "routed", opened: dt.datetime | None = None) -> Touch:
            created = opened or _at(day)
            return Touch(employer_id=employer.id, region_id=employer.region_id, spoc_id=spoc.id if spoc else None,
                         status=status, source=source, window_start=day, window_end=day, planned_on=day,
                         created_at=created, updated_at=created,
                         completed_at=created + dt.timedelta(days=days) if days is not None else None)

        t1 = touch(a, dt.date(2025, 1, 10), spoc=u["spoc"], days=1)
        t2 = touch(a, dt.date(2025, 1, 20), spoc=u["spoc"], days=2)
        db.add_all([
            t1, t2,
            touch(a, dt.date(2025, 2, 5), spoc=u["spoc"], days=3),
            touch(b, dt.date(2025, 1, 15), spoc=u["spoc"], days=4),
            touch(b, dt.date(2025, 2, 20), spoc=u["spoc2"], days=10),
            touch(b, dt.date(2025, 1, 25), spoc=u["spoc"], source="logged", days=0),
            cancelled := touch(a, dt.date(2025, 1, 28), status="cancelled", spoc=u["spoc"]),
            touch(b, dt.date(2025, 2, 26), status="queued", spoc=u["spoc"]),
            touch(bay, dt.date(2025, 1, 12), spoc=u["bay_spoc"], days=5),
            touch(a, dt.date(2023, 6, 1), spoc=u["spoc"], days=2),
        ])
        today = clock.today()
        for age in (3, 10, 40, 100):
            planned = today - dt.timedelta(days=1) if age == 100 else today + dt.timedelta(days=5)
            db.add(touch(b, planned, status="scheduled" if age == 40 else "queued", spoc=u["spoc"],
                         opened=clock.now() - dt.timedelta(days=age)))
        db.add(touch(a, today + dt.timedelta(days=9), status="queued", opened=clock.now()))
        await db.flush()

        def request(touch: Touch | None, status: str, org: Any, purpose: str, employer: Any = a) -> TouchRequest:
            at = _at(dt.date(2025, 1, 8))
            return TouchRequest(requester_id=u["partner"].id, requester_org_id=org.id,
                                employer_id=employer.id if employer else None, region_id=la, purpose=purpose,
                                window_start=JAN, window_end=dt.date(2025, 1, 31), status=status,
                                touch_id=touch.id if touch else None, created_at=at, updated_at=at)

        orgs = world.orgs
        db.add_all([request(t1, "completed", orgs["college"], "hiring"),
                    request(t1, "completed", orgs["board"], "hiring"),
                    request(t1, "completed", orgs["college"], "apprenticeship"),
                    request(t2, "completed", orgs["board"], "event"),
                    request(None, "held", orgs["college"], "curriculum_review"),
                    request(None, "needs_match", orgs["board"], "other", employer=None),
                    # Received, but no touch serves them: withdrawn from a touch, declined when it was cancelled.
                    request(t1, "withdrawn", orgs["board"], "apprenticeship"),
                    request(cancelled, "declined", orgs["college"], "event")])
    return History(employers={"a": a, "b": b})
