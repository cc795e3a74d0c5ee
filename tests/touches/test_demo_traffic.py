"""The demo's touch traffic: every demo region has work in every state, made by the real intake and
workflow, and the demo partner sign-ins see requests, outcomes and a hand-off of their own."""

from sqlalchemy import func, select

from crm.auth.models import User
from crm.demo import DEMO_REGION_CODES, load_demo
from crm.directory.models import Region
from crm.touches.demo import load_touches_demo
from crm.touches.models import HandOff, Touch, TouchRequest


async def test_every_demo_region_gets_requests_in_every_state_and_loading_again_changes_nothing(sessionmaker):
    async with sessionmaker() as db, db.begin():
        report = await load_demo(db, employers_per_region=40)
    first = [email for role, email, _ in report.logins if role == "partner"]
    traffic = await load_touches_demo(sessionmaker, first=first)
    assert not traffic.skipped and traffic.requests > 0 and not traffic.notes

    async with sessionmaker() as db:
        for code in DEMO_REGION_CODES:
            region_id = await db.scalar(select(Region.id).where(Region.code == code))
            statuses = dict((await db.execute(select(TouchRequest.status, func.count()).where(
                TouchRequest.region_id == region_id).group_by(TouchRequest.status))).all())
            assert {"queued", "scheduled", "completed", "held"} <= statuses.keys(), (code, statuses)
            # Bundling happened: some touch carries requests of several organizations.
            orgs_per_touch = await db.scalar(select(func.max(select(func.count(func.distinct(
                TouchRequest.requester_org_id))).where(TouchRequest.touch_id == Touch.id).scalar_subquery()))
                .where(Touch.region_id == region_id))
            assert orgs_per_touch >= 2, code
            assert await db.scalar(select(func.count()).select_from(Touch).where(
                Touch.region_id == region_id, Touch.spoc_id.is_(None), Touch.status == "queued")) >= 1, code
            assert await db.scalar(select(func.count()).select_from(HandOff).join(Touch).where(
                Touch.region_id == region_id, HandOff.status == "pending")) == 1, code
        completed = (await db.scalars(select(TouchRequest).where(TouchRequest.status == "completed"))).all()
        assert completed and all(r.outcome and r.outcome_note for r in completed)
        # The demo partners' own sign-ins have requests to follow.
        for email in first:
            user_id = await db.scalar(select(User.id).where(User.email == email))
            assert await db.scalar(select(func.count()).select_from(TouchRequest).where(
                TouchRequest.requester_id == user_id)), email
        before = await db.scalar(select(func.count()).select_from(TouchRequest))

    again = await load_touches_demo(sessionmaker, first=first)
    async with sessionmaker() as db:
        assert again.skipped and await db.scalar(select(func.count()).select_from(TouchRequest)) == before
