"""Chromium: the employer typeahead on the partner's request form — typing "acme corp" shows the
existing "ACME Corporation" with its explanation; choosing it by keyboard fills employer_id and
fires `employer-chosen`; editing the name afterwards clears the choice."""

import re

from playwright.async_api import expect

from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD


async def test_typing_acme_corp_in_request_form_shows_acme_corporation_and_keyboard_choice_fills_it(
        page, live_server, live_factory):
    f = live_factory
    college = await f.organization("East LA College", "community_college", ["LA-BASIN"])
    await f.user("partner@example.org", "Pat Partner", [("partner", None)], org=college)
    acme = await f.employer("ACME Corporation", website="https://www.acme.com", city="Los Angeles")
    await f.employer("Acme Plumbing & Heating", city="Pasadena")
    await f.employer("Pacific Rim Packaging Inc")

    await sign_in(page, live_server, "partner@example.org", PASSWORD)
    await page.goto(live_server + "/requests/new")
    await page.evaluate("document.addEventListener('employer-chosen', e => { window.chosenId = e.detail.id; })")
    name = page.locator("input[name=employer_name]")
    await name.press_sequentially("acme corp", delay=40)
    results = page.locator("#employer-match-results")
    first = results.locator("[data-employer-choice]").first
    await expect(first).to_contain_text("ACME Corporation", timeout=15_000)  # a busy CI machine is slow
    await expect(first).to_contain_text("same name")
    await expect(results).not_to_contain_text("Pacific Rim")
    # A screen reader hears one short line, not the list (no live region around it).
    status = page.locator("#employer-match [data-match-status][role=status]")
    likely = await results.locator("[aria-label='Matching employers'] [data-employer-choice]").count()
    alike = await results.locator("[aria-label='Employers with similar names'] [data-employer-choice]").count()
    said = f"{likely} likely {'match' if likely == 1 else 'matches'}"
    if alike:
        said += f", {alike} similar {'name' if alike == 1 else 'names'}"
    await expect(status).to_have_text(f"{said} — press ↓ to choose")
    assert await results.get_attribute("aria-live") is None

    await name.press("ArrowDown")
    await expect(first).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("input[name=employer_id]")).to_have_value(str(acme.id))
    await expect(name).to_have_value("ACME Corporation")
    await expect(page.locator("[data-match-chosen]")).to_contain_text("Chosen: ACME Corporation")
    await expect(status).to_have_text("")  # the list is gone: "Chosen" is what is said
    assert await page.evaluate("window.chosenId") == acme.id

    await name.press("End")
    await name.press("Backspace")
    await expect(page.locator("input[name=employer_id]")).to_have_value("")


async def _partner_and_acme(f) -> None:
    """A partner of a college in LA-BASIN (partner@example.org) and ACME Corporation on file."""
    college = await f.organization("East LA College", "community_college", ["LA-BASIN"])
    await f.user("partner@example.org", "Pat Partner", [("partner", None)], org=college)
    await f.employer("ACME Corporation", website="https://www.acme.com", city="Los Angeles")


async def test_on_a_phone_the_panel_answers_right_under_the_employer_field(page, live_server, live_factory):
    await _partner_and_acme(live_factory)
    await page.set_viewport_size({"width": 390, "height": 844})
    await sign_in(page, live_server, "partner@example.org", PASSWORD)
    await page.goto(live_server + "/requests/new")
    name, panel = page.locator("input[name=employer_name]"), page.locator("#employer-panel")
    purpose = page.locator("select[name=purpose]")
    await name.press_sequentially("acme corp", delay=40)
    await page.locator("[data-employer-choice]").first.click()
    await expect(panel).to_contain_text("ACME Corporation")
    # Top to bottom: the name typed, what the panel says about that employer, then the rest of the form.
    tops = [(await el.bounding_box())["y"] for el in (name, panel, purpose)]
    assert tops == sorted(tops), tops
    assert tops[0] < 700  # the field is on the first screen, not under the keyboard


async def test_back_after_sending_shows_a_fresh_form_not_a_half_kept_choice(page, live_server, live_factory):
    await _partner_and_acme(live_factory)
    await sign_in(page, live_server, "partner@example.org", PASSWORD)
    await page.goto(live_server + "/requests/")
    await page.goto(live_server + "/requests/new")
    await page.locator("input[name=employer_name]").press_sequentially("acme corp", delay=40)
    await page.locator("[data-employer-choice]").first.click()
    await expect(page.locator("[data-match-chosen]")).to_contain_text("Chosen: ACME Corporation")
    await page.locator("select[name=purpose]").select_option("hiring")
    await page.get_by_role("button", name="Send request").click()
    # The request's own page: waited for (the URL the answer pushes), not read at once, which raced the push and
    # let go_back() below leave before it.
    await expect(page).to_have_url(re.compile(re.escape(live_server) + r"/requests/\d+$"), timeout=15_000)
    await expect(page.locator("main")).to_contain_text("touch #")
    await page.go_back()
    await expect(page).to_have_url(live_server + "/requests/new")
    # The whole page, loaded afresh: no choice kept without the name it belongs to.
    await expect(page.locator("nav").first).to_be_visible()
    await expect(page.locator("input[name=employer_id]")).to_have_value("")
    await expect(page.locator("[data-match-chosen]")).to_have_text("")
    await expect(page.locator("button", has_text="Send request")).to_be_visible()


async def test_the_panel_answers_in_the_same_live_region_as_the_employer_and_region_change(
        page, live_server, live_factory):
    await _partner_and_acme(live_factory)
    await sign_in(page, live_server, "partner@example.org", PASSWORD)
    await page.goto(live_server + "/requests/new")
    await page.evaluate("document.getElementById('employer-panel').dataset.original = 'yes'")
    panel = page.locator("#employer-panel[data-original=yes][aria-live=polite]")  # the very same element
    name = page.locator("input[name=employer_name]")
    await name.press_sequentially("acme corp", delay=40)
    await page.locator("[data-employer-choice]").first.click()
    await expect(panel.locator("[data-panel=spoc]")).to_be_visible()
    await expect(panel).to_contain_text("ACME Corporation")
    await page.locator("select[name=region]").select_option("BAY-PENINSULA")
    await expect(panel.locator("[data-panel=region]")).to_contain_text("this request would go to BAY-PENINSULA")
    await name.press("End")
    await name.press("Backspace")  # the choice is cleared: so is the panel
    await expect(panel).to_contain_text("Choose an employer to see its SPOC")
    await expect(page.locator("#employer-panel")).to_have_count(1)
    await expect(page.locator("#employer-panel h2")).to_have_count(1)


async def test_a_certain_match_fills_the_panel_without_a_pick_and_a_new_name_clears_it(page, live_server,
                                                                                       live_factory):
    f = live_factory
    await _partner_and_acme(f)
    await sign_in(page, live_server, "partner@example.org", PASSWORD)
    await page.goto(live_server + "/requests/new")
    name = page.locator("input[name=employer_name]")
    await name.press_sequentially("ACME Corporation", delay=30)
    panel = page.locator("#employer-panel")
    await expect(page.locator("#employer-match-results")).to_contain_text("Sent as typed, this request goes to",
                                                                          timeout=15_000)
    await expect(panel).to_contain_text("What you typed is ACME Corporation: the request goes to it.")
    await expect(panel).to_contain_text("SPOC (LA-BASIN)")
    assert await page.locator("input[name=employer_id]").input_value() == ""  # nothing was picked
    await name.fill("")
    await name.press_sequentially("Zyxwv Nonesuch Fabrication", delay=20)
    await expect(page.locator("#employer-match-results")).to_contain_text("No employer in OneDoor is likely",
                                                                          timeout=15_000)
    await expect(panel).to_contain_text("Choose an employer")


async def test_a_form_opened_with_a_name_typed_in_matches_it_at_once(page, live_server, live_factory):
    f = live_factory
    await _partner_and_acme(f)
    await sign_in(page, live_server, "partner@example.org", PASSWORD)
    await page.goto(live_server + "/requests/new?employer_name=ACME%20Corporation")
    await expect(page.locator("#employer-match-results")).to_contain_text("Sent as typed, this request goes to",
                                                                          timeout=15_000)
    await expect(page.locator("#employer-panel")).to_contain_text("What you typed is ACME Corporation")


async def test_enter_in_the_name_with_suggestions_showing_goes_to_them_instead_of_sending(page, live_server,
                                                                                        live_factory):
    """Enter sent the request with the name as typed, before the partner picked the employer the list
    offered; with suggestions showing it now moves to the first of them (Enter again chooses it). Escape there
    closes the list with the focus back on the name."""
    await _partner_and_acme(live_factory)
    await sign_in(page, live_server, "partner@example.org", PASSWORD)
    await page.goto(live_server + "/requests/new")
    await page.locator("select[name=purpose]").select_option("hiring")
    name = page.locator("input[name=employer_name]")
    await name.press_sequentially("acme corp", delay=40)
    first = page.locator("#employer-match-results [data-employer-choice]").first
    await expect(first).to_contain_text("ACME Corporation", timeout=15_000)
    await name.press("Enter")
    await expect(first).to_be_focused()
    assert page.url.endswith("/requests/new")  # nothing sent
    # Escape on a suggestion closes the list and goes back to the name (not to <body>, the list's focus lost).
    await page.keyboard.press("Escape")
    await expect(first).to_have_count(0)
    await expect(name).to_be_focused()
    await name.press_sequentially(" ", delay=40)  # typing brings the list back
    await expect(first).to_contain_text("ACME Corporation", timeout=15_000)
    await name.press("ArrowDown")
    await expect(first).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("[data-match-chosen]")).to_contain_text("Chosen: ACME Corporation")
