"""Chromium: what the SPOC queue tells a screen reader. A form refused for its fields comes back alone, its
error tied to the field that gets the focus, while the row's other open form keeps what was typed; what an
action did is said in the page's own live region (kept, its contents swapped), not in a new one."""

import datetime as dt

from playwright.async_api import expect

from crm.touches.models import Touch, TouchRequest
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, today


async def test_a_refused_cancel_keeps_the_rows_complete_form_and_the_done_message_lands_in_the_live_region(
        page, live_server, live_factory):
    f = live_factory
    college = await f.organization("East LA College", "community_college", ["LA-BASIN"])
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    partner = await f.user("partner@example.org", "Pat Partner", [("partner", None)], org=college)
    spoc = await f.user("spoc@example.org", "Maria Lopez", [("spoc", "LA-BASIN")], org=board)
    employer = await f.employer("Turner Roofing Inc")
    await f.assign(employer, spoc)
    async with f.sessionmaker() as db, db.begin():
        later = today() + dt.timedelta(days=40)
        touch = Touch(employer_id=employer.id, region_id=employer.region_id, spoc_id=spoc.id, status="queued",
                      source="routed", window_start=today(), window_end=later,
                      planned_on=today() + dt.timedelta(days=3))
        db.add(touch)
        await db.flush()
        db.add(TouchRequest(requester_id=partner.id, requester_org_id=partner.organization_id,
                            employer_id=employer.id, region_id=employer.region_id, purpose="hiring",
                            window_start=today(), window_end=later, status="queued", touch_id=touch.id))
    await sign_in(page, live_server, "spoc@example.org", PASSWORD)
    await page.evaluate("document.getElementById('queue-status').dataset.original = 'yes'")
    row = page.locator(f"#touch-{touch.id}")
    await expect(row).to_have_attribute("aria-labelledby", f"touch-{touch.id}-title")
    for label in ("Schedule", "Complete", "Cancel"):  # targets at least 24 px tall (WCAG 2.5.8)
        assert (await row.locator("summary", has_text=label).bounding_box())["height"] >= 24, label
    await row.locator("summary", has_text="Complete").click()
    await row.locator("input[name=notes]").fill("Owner wants a call back in May")
    await row.locator("summary", has_text="Cancel").click()
    await row.locator("button", has_text="Cancel touch").click()
    reason = row.locator("input[name=reason]")
    await expect(reason).to_have_attribute("aria-invalid", "true")
    await expect(reason).to_be_focused()
    await expect(page.locator(f"#cancel-{touch.id}-reason-error")).to_have_text("say why, the requesters are told")
    await expect(row.locator("input[name=notes]")).to_have_value("Owner wants a call back in May")
    await reason.fill("The owner sold the business")
    await row.locator("button", has_text="Cancel touch").click()
    await expect(row).to_have_attribute("data-status", "cancelled")
    status = page.locator("#queue-status[data-original=yes][role=status]")
    await expect(status).to_contain_text(f"Touch #{touch.id} cancelled")
    await expect(page.locator("#queue-status")).to_have_count(1)
