"""A refused htmx request is said above the page, which stays as it was (crm.errors + static/app.js)."""

from playwright.async_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.test_repeated_submits import _partner_with_a_hand_off
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


async def test_an_action_after_the_session_ended_says_to_sign_in_again_and_keeps_the_note(page, live_server,
                                                                                          live_factory):
    """Cookies gone (expired, cleared), Accept on a hand-off said "CSRF token verification failed"."""
    hand_off = await _partner_with_a_hand_off(page, live_server, live_factory)
    await page.locator(f"#hand-off-{hand_off.id} textarea[name=note]").fill("We run a welding cohort in May")
    await page.context.clear_cookies()
    await page.locator("#hand-offs button", has_text="Accept").click()
    alert = page.locator("#htmx-error [role=alert]")
    await expect(alert).to_contain_text("You have been signed out — sign in again. The page below was not changed.")
    await expect(page.locator(f"#hand-off-{hand_off.id} textarea[name=note]")).to_have_value(
        "We run a welding cohort in May")
    await alert.get_by_role("link", name="sign in again").click()
    await page.wait_for_url("**/login?next=/requests")
    await page.fill("input[name=email]", "partner@example.org")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(live_server + "/requests")
    await expect(page.locator(f"#hand-off-{hand_off.id} button", has_text="Accept")).to_be_visible()
