"""The SPOC queue in Chromium while several rows are worked at once: the unassigned heading counts a row
cancelled in place."""

import datetime as dt

from playwright.async_api import expect

from crm.touches.models import Touch, TouchRequest
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, today


async def _queued(f, employer, spoc, partner, planned_in: int) -> None:
    """An open touch (of ``spoc``, or unassigned) carrying one request of ``partner``'s organization."""
    async with f.sessionmaker() as db, db.begin():
        later = today() + dt.timedelta(days=40)
        touch = Touch(employer_id=employer.id, region_id=employer.region_id, spoc_id=spoc.id if spoc else None,
                      status="queued", source="routed", window_start=today(), window_end=later,
                      planned_on=today() + dt.timedelta(days=planned_in))
        db.add(touch)
        await db.flush()
        db.add(TouchRequest(requester_id=partner.id, requester_org_id=partner.organization_id,
                            employer_id=employer.id, region_id=employer.region_id, purpose="hiring",
                            window_start=today(), window_end=later, status="queued", touch_id=touch.id))


async def _people(f):
    college = await f.organization("East LA College", "community_college", ["LA-BASIN"])
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    partner = await f.user("partner@example.org", "Pat Partner", [("partner", None)], org=college)
    spoc = await f.user("spoc@example.org", "Maria Lopez", [("spoc", "LA-BASIN")], org=board)
    await f.user("lead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board)
    return partner, spoc


async def test_the_unassigned_heading_counts_a_row_cancelled_in_place(page, live_server, live_factory):
    f = live_factory
    partner, _ = await _people(f)
    for name in ("Turner Roofing Inc", "Golden State Logistics"):
        await _queued(f, await f.employer(name), None, partner, 5)
    await sign_in(page, live_server, "lead@example.org", PASSWORD)
    heading = page.locator("#unassigned-queue h2 [data-open-count]")
    await expect(heading).to_have_text("(2)")
    turner = page.locator("#unassigned-queue article.touch").filter(has_text="Turner Roofing")
    await turner.locator("summary", has_text="Cancel").click()
    await turner.locator("input[name=reason]").fill("The owner sold the business")
    await turner.locator("button", has_text="Cancel touch").click()
    await expect(turner).to_have_attribute("data-status", "cancelled")
    await expect(heading).to_have_text("(1)")
