"""The demo world's councils and partnerships: some compliant, some not, at different stages, and the
demo chair linked to exactly one council and one partnership."""

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

import crm.models  # noqa: F401  (complete metadata)
from crm.auth.models import User
from crm.auth.principal import Principal
from crm.councils import service as councils
from crm.councils.models import AdvisoryCouncil, MeetingAttendance
from crm.db import make_engine, make_sessionmaker, metadata
from crm.demo import load_demo
from crm.partnerships import service as partnerships
from crm.partnerships.models import ActionTeam, SectorPartnership
from crm.settings import Settings
from crm.touches.models import Touch

DEMO_TODAY = dt.date(2026, 11, 22)  # the demo world's "now"


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("councils-demo") / "demo.db"
    url = f"sqlite+aiosqlite:///{path}"

    async def build() -> None:
        engine = make_engine(Settings(database_url=url))
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        async with make_sessionmaker(engine)() as db, db.begin():
            await load_demo(db, employers_per_region=40)
        await engine.dispose()

    asyncio.run(build())
    return url


async def _with_db(url: str, fn):  # noqa: ANN001, ANN202 - small test helper
    engine = make_engine(Settings(database_url=url))
    try:
        async with make_sessionmaker(engine)() as db:
            return await fn(db)
    finally:
        await engine.dispose()


async def test_demo_has_compliant_and_non_compliant_councils(demo_url):
    async def check(db):
        by_name = {c.name: c for c in await db.scalars(select(AdvisoryCouncil))}
        badges = {name: {b.key: b.ok for b in await councils.badges(db, c, DEMO_TODAY)} for name, c in by_name.items()}
        return badges

    badges = await _with_db(demo_url, check)
    lattc = badges["Advanced Manufacturing & Welding Technology Advisory Committee"]
    nursing = badges["Registered Nursing Program Advisory Committee"]
    assert lattc["industry_chaired"] and lattc["industry_majority"] and lattc["met_last_12_months"]
    assert lattc["beyond_owner"] and lattc["terms_expiring"] is False  # one term ends 31 Dec 2026
    assert nursing["industry_chaired"] is False and nursing["met_last_12_months"] is False
    assert badges["Business Services Committee"]["industry_chaired"] is True


async def test_demo_chair_belongs_to_one_council_and_one_partnership(demo_url):
    async def check(db):
        user = await db.scalar(select(User).where(User.email == "robert.castellanos@demo.onedoor.org")
                               .options(selectinload(User.grants)))
        chair = Principal.from_user(user)
        mine, _ = await councils.list_councils(db, chair)
        bodies, _ = await partnerships.list_partnerships(db, chair)
        return [c.name for c in mine], [p.name for p in bodies], chair.is_crm_user

    mine, bodies, crm_user = await _with_db(demo_url, check)
    assert mine == ["Advanced Manufacturing & Welding Technology Advisory Committee"]
    assert bodies == ["Inland Empire Logistics & Supply Chain Partnership"]
    assert crm_user is False


async def test_demo_partnerships_are_at_different_stages_and_attendance_counted_as_touches(demo_url):
    async def check(db):
        stages = {p.name: p.stage for p in await db.scalars(select(SectorPartnership))}
        teams = await db.scalar(select(func.count(ActionTeam.id)))
        employer_ticks = await db.scalar(select(func.count(MeetingAttendance.id)).where(
            MeetingAttendance.touch_id.is_not(None)))
        meeting_touches = await db.scalar(select(func.count(Touch.id)).where(Touch.source == "meeting"))
        return stages, teams, employer_ticks, meeting_touches

    stages, teams, employer_ticks, meeting_touches = await _with_db(demo_url, check)
    assert stages == {"Inland Empire Logistics & Supply Chain Partnership": "launched",
                      "San Joaquin Valley Ag-Tech Partnership": "scoping"}
    assert teams == 2
    assert employer_ticks > 0 and meeting_touches > employer_ticks  # partnership convenings count too


async def test_demo_meetings_make_one_touch_per_employer_as_ticking_attendance_does(demo_url):
    from crm.councils.models import CouncilMember
    from crm.partnerships.models import PartnershipAttendance, PartnershipMember

    async def check(db):
        per = []
        for attendance, member in ((MeetingAttendance, CouncilMember), (PartnershipAttendance, PartnershipMember)):
            per += list(await db.execute(
                select(attendance.meeting_id, member.employer_id, func.count(func.distinct(attendance.touch_id)),
                       func.count(attendance.id))
                .join(member, member.id == attendance.member_id)
                .where(attendance.present.is_(True), member.employer_id.is_not(None))
                .group_by(attendance.meeting_id, member.employer_id)))
        return per

    per = await _with_db(demo_url, check)
    assert per and all(touches == 1 for _, _, touches, _ in per)
    assert any(people > 1 for _, _, _, people in per)  # colleagues did come together, and share their touch
