"""Chromium: typing an existing employer on the create-employer page shows it with its explanation,
and creating it anyway needs an explicit confirmation; a field refused is focused when the page comes back."""

import re

from playwright.async_api import expect

from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD


async def test_typing_acme_corp_on_create_page_offers_existing_acme_corporation(page, live_server, live_factory):
    f = live_factory
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    await f.user("spoc@example.org", "Maria Lopez", [("spoc", "LA-BASIN")], org=board)
    acme = await f.employer("ACME Corporation", website="https://www.acme.com", city="Los Angeles")
    await f.employer("Pacific Rim Packaging Inc")

    await sign_in(page, live_server, "spoc@example.org", PASSWORD)
    await page.goto(live_server + "/employers/new")
    await page.locator("input[name=legal_name]").press_sequentially("acme corp", delay=40)
    matches = page.locator("#create-matches")
    await expect(matches).to_contain_text("use this one?", timeout=15_000)  # a busy CI machine is slow
    await expect(matches).to_contain_text("ACME Corporation")
    await expect(matches).to_contain_text("same name")
    await expect(matches).not_to_contain_text("Pacific Rim")
    await page.locator("input[name=website]").press_sequentially("acme.com", delay=20)
    await expect(matches).to_contain_text("same domain acme.com", timeout=15_000)

    # Submitting anyway is refused until the user confirms; the link leads to the existing one.
    await page.locator("select[name=county]").select_option(label="Los Angeles")
    await page.click("button.primary[type=submit]")
    await expect(page.locator("button[name=create_anyway]")).to_be_visible()
    await expect(page.locator("input[name=legal_name]")).to_have_value("acme corp")
    await page.locator(f"#create-matches a[href='/employers/{acme.id}']").click()
    await expect(page.locator("h1")).to_have_text("ACME Corporation")


async def test_create_anyway_creates_a_second_employer(page, live_server, live_factory):
    f = live_factory
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    await f.user("spoc@example.org", "Maria Lopez", [("spoc", "LA-BASIN")], org=board)
    await f.employer("ACME Corporation", website="https://www.acme.com")

    await sign_in(page, live_server, "spoc@example.org", PASSWORD)
    await page.goto(live_server + "/employers/new")
    await page.fill("input[name=legal_name]", "Acme Corp")
    await page.select_option("select[name=county]", label="Los Angeles")
    # A field refused: the page comes back saying "Error:" in its title, the refused field focused (not the top).
    fein = page.locator("input[name=fein]")
    await fein.fill("00-0000000")
    await page.click("button.primary[type=submit]")
    await expect(fein).to_have_attribute("aria-invalid", "true")
    await expect(page).to_have_title(re.compile("^Error: "))
    await expect(fein).to_be_focused()
    await fein.fill("")
    await page.click("button.primary[type=submit]")
    await page.click("button[name=create_anyway]")
    await expect(page.locator("h1")).to_have_text("Acme Corp")
