"""The SPOC queue's filter box in Chromium: typing filters the list once, its count said in a live region
kept; leaving the box to open a touch's
form does not reload the list under the click (the form stayed closed) nor add a history entry."""

import datetime as dt

from playwright.async_api import expect

from crm.touches.models import Touch, TouchRequest
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, today


async def _queued(f, employer, spoc, partner):
    """An open touch of ``spoc`` carrying one request of ``partner``'s organization."""
    async with f.sessionmaker() as db, db.begin():
        soon, later = today() + dt.timedelta(days=3), today() + dt.timedelta(days=30)
        touch = Touch(employer_id=employer.id, region_id=employer.region_id, spoc_id=spoc.id, status="queued",
                      source="routed", window_start=today(), window_end=later, planned_on=soon)
        db.add(touch)
        await db.flush()
        db.add(TouchRequest(requester_id=partner.id, requester_org_id=partner.organization_id,
                            employer_id=employer.id, region_id=employer.region_id, purpose="hiring",
                            window_start=today(), window_end=later, status="queued", touch_id=touch.id))


async def _partner_and_spoc(f):
    """A partner of East LA College and Maria Lopez, SPOC of the LA Basin WDB."""
    college = await f.organization("East LA College", "community_college", ["LA-BASIN"])
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    return (await f.user("partner@example.org", "Pat Partner", [("partner", None)], org=college),
            await f.user("spoc@example.org", "Maria Lopez", [("spoc", "LA-BASIN")], org=board))


async def test_typing_a_filter_then_opening_a_touchs_form_keeps_it_open(page, live_server, live_factory):
    f = live_factory
    partner, spoc = await _partner_and_spoc(f)
    for name in ("Turner Roofing Inc", "Golden State Logistics"):
        employer = await f.employer(name)
        await f.assign(employer, spoc)
        await _queued(f, employer, spoc, partner)
    await sign_in(page, live_server, "spoc@example.org", PASSWORD)
    assert page.url.endswith("/queue")
    await page.evaluate("document.getElementById('queue-count').dataset.original = 'yes'")
    await page.locator("#queue-filters input[name=q]").press_sequentially("Turner", delay=30)
    await expect(page.locator("article.touch")).to_have_count(1)
    # The count is said in the page's own live region (kept, its contents swapped), not in the list swapped in.
    await expect(page.locator("#queue-count[data-original=yes][role=status]")).to_have_text(
        "1 open touch matching “Turner”")
    history = await page.evaluate("history.length")
    touch = page.locator("article.touch").filter(has_text="Turner Roofing")
    await touch.locator("summary", has_text="Cancel").click()
    await expect(touch.locator("textarea[name=reason], input[name=reason]").first).to_be_visible()
    await page.wait_for_timeout(500)  # a reload on leaving the box would have closed it by now
    await expect(touch.locator("details[open] summary", has_text="Cancel")).to_have_count(1)
    assert await page.evaluate("history.length") == history


async def test_one_unbroken_word_in_a_summary_does_not_widen_the_queue(page, live_server, live_factory):
    f = live_factory
    partner, spoc = await _partner_and_spoc(f)
    employer = await f.employer("Turner Roofing Inc")
    await f.assign(employer, spoc)
    await _queued(f, employer, spoc, partner)
    async with f.sessionmaker() as db, db.begin():
        (await db.get_one(TouchRequest, 1)).summary = "https://example.org/" + "x" * 3000
    await sign_in(page, live_server, "spoc@example.org", PASSWORD)
    await expect(page.locator("article.touch")).to_have_count(1)
    width = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width
