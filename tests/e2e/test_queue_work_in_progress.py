"""The SPOC queue in Chromium while several rows are worked at once: scheduling one touch (which regroups the
queue) does not throw away a half-filled form of another row, and the unassigned heading counts a row
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


async def test_scheduling_one_touch_keeps_a_half_filled_form_of_another_and_regroups_once_it_is_sent(
        page, live_server, live_factory):
    f = live_factory
    partner, spoc = await _people(f)
    for name, planned_in in (("Turner Roofing Inc", 3), ("Golden State Logistics", 20)):
        employer = await f.employer(name)
        await f.assign(employer, spoc)
        await _queued(f, employer, spoc, partner, planned_in)
    await sign_in(page, live_server, "spoc@example.org", PASSWORD)
    turner = page.locator("article.touch").filter(has_text="Turner Roofing")
    golden = page.locator("article.touch").filter(has_text="Golden State Logistics")
    await expect(page.locator("#group-later article.touch")).to_have_count(1)
    # Half a Complete form on Turner's touch...
    await turner.locator("summary", has_text="Complete").click()
    await turner.locator("select[name^=outcome_]").select_option("interested")
    await turner.locator("input[name=notes]").fill("Owner wants a call back in May")
    await turner.locator("select[name=channel]").select_option("call")
    # ...while Golden's touch is scheduled for this week: it belongs in another group now.
    await golden.locator("summary", has_text="Schedule").click()
    await golden.locator("input[name=scheduled_on]").fill((today() + dt.timedelta(days=4)).isoformat())
    await golden.locator("input[name=scheduled_time]").fill("11:15")
    await golden.locator("select[name=channel]").select_option("visit")
    await golden.locator("button", has_text="Schedule").click()
    await expect(golden.locator("[data-status=scheduled], .badge", has_text="scheduled").first).to_be_visible()
    await page.wait_for_timeout(700)  # the reload, had it happened, would have closed Turner's form by now
    await expect(turner.locator("details[open] summary", has_text="Complete")).to_have_count(1)
    await expect(turner.locator("input[name=notes]")).to_have_value("Owner wants a call back in May")
    await expect(turner.locator("select[name^=outcome_]")).to_have_value("interested")
    await expect(page.locator("#group-later article.touch")).to_have_count(1)  # not regrouped yet
    # Sending the form it waited for: Turner's touch completes and the queue then regroups.
    await turner.locator("button", has_text="Complete touch").click()
    await expect(page.locator("#queue-status")).to_contain_text("completed")
    await expect(page.locator("#group-later article.touch")).to_have_count(0)
    await expect(page.locator("#group-week article.touch").filter(has_text="Golden State Logistics")).to_have_count(1)


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
