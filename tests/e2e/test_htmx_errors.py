"""A refused htmx request is said above the page, which stays as it was (crm.errors + static/app.js)."""

from playwright.async_api import expect

from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD


async def test_a_refused_htmx_request_is_said_above_the_page_and_the_queue_stays(page, live_server, live_factory):
    board = await live_factory.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    await live_factory.user("spoc@example.org", "Maria Lopez", [("spoc", "LA-BASIN")], org=board)
    await sign_in(page, live_server, "spoc@example.org", PASSWORD)
    await expect(page.locator("#queue-body")).to_be_visible()
    # What a filter of the queue does, with an address the server refuses (404 here; 400/403 alike).
    await page.evaluate("htmx.ajax('GET', '/queue/touches/99999999', {target: '#queue-body', swap: 'outerHTML'})")
    alert = page.locator("#htmx-error [role=alert]")
    await expect(alert).to_contain_text("The page below was not changed")
    await expect(page.locator("#queue-body")).to_have_count(1)
    await expect(page.locator(".topbar")).to_have_count(1)  # no second page inside this one
    await page.select_option("select[name=status]", "completed")  # the next request clears the message
    await expect(page.locator("#group-closed")).to_be_visible()
    await expect(alert).to_have_count(0)
