"""A lead signs in, finds an employer with live search, assigns a SPOC, sees it and its audit entry."""

from playwright.async_api import expect

from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD


async def test_lead_finds_employer_with_live_search_and_assigns_a_spoc(page, live_server, live_factory):
    f = live_factory
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    await f.user("lead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board)
    await f.user("spoc@example.org", "Maria Lopez", [("spoc", "LA-BASIN")], org=board)
    await f.employer("Golden State Logistics LLC", city="Los Angeles")
    await f.employer("Pacific Rim Packaging Inc")

    failed: list[str] = []  # no request of the journey (pages, htmx, static files) fails
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    await sign_in(page, live_server, "lead@example.org", PASSWORD)
    await expect(page.locator("h1")).to_contain_text("Good day, Lee")
    await page.click("nav >> text=Employers")
    await page.fill("input[name=q]", "golden")
    results = page.locator("#results")
    await expect(results).to_contain_text("Golden State Logistics LLC")
    await expect(results).not_to_contain_text("Pacific Rim Packaging")
    assert "q=golden" in page.url  # htmx pushed the search into the address bar

    await results.locator("text=Golden State Logistics LLC").click()
    await expect(page.locator("h1")).to_have_text("Golden State Logistics LLC")
    form = page.locator("form.assign")
    await form.locator("select[name=spoc_id]").select_option(label="Maria Lopez")
    await form.locator("input[name=reason]").fill("logistics specialist")
    await form.locator("button[type=submit]").click()
    await expect(page.locator(".spoc-current")).to_contain_text("Maria Lopez")
    await expect(page.locator("#assignment-history")).to_contain_text("logistics specialist")
    await page.reload()
    await expect(page.locator("#audit")).to_contain_text("SPOC assigned")
    await expect(page.locator("#audit")).to_contain_text("Lee Lead")
    assert failed == []


async def test_on_a_phone_a_long_website_wraps_inside_the_employer_page(page, live_server, live_factory):
    f = live_factory
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    await f.user("spoc@example.org", "Maria Lopez", [("spoc", "LA-BASIN")], org=board)
    employer = await f.employer("Central Valley Irrigation Supply", website=(
        "https://www.centralvalleyagriculturalequipmentandirrigationsupply.com/locations/fresno"))
    await page.set_viewport_size({"width": 390, "height": 844})
    await sign_in(page, live_server, "spoc@example.org", PASSWORD)
    await page.goto(f"{live_server}/employers/{employer.id}")
    await expect(page.locator("dl.props")).to_contain_text("centralvalleyagricultural")
    assert await page.evaluate("document.documentElement.scrollWidth") == 390


async def test_spoc_adds_a_person_corrects_them_and_a_refusal_keeps_what_was_typed(page, live_server, live_factory):
    f = live_factory
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    await f.user("spoc@example.org", "Maria Lopez", [("spoc", "LA-BASIN")], org=board)
    employer = await f.employer("Golden State Logistics LLC", city="Los Angeles")
    await sign_in(page, live_server, "spoc@example.org", PASSWORD)
    await page.goto(f"{live_server}/employers/{employer.id}")
    await page.locator("#contacts summary", has_text="Add a person").click()
    add = page.locator("details.contact-add form")
    await add.locator("input[name=name]").fill("Ana Ruiz")
    await add.locator("input[name=email]").fill("ana@gsl.com")
    await add.locator("button[type=submit]").click()
    await expect(page.locator("#contacts [role=status]")).to_have_text("Ana Ruiz added to the contacts")
    await expect(page.locator("#contacts")).to_contain_text("ana@gsl.com")
    # The same e-mail again is refused beside the field, with the name as typed kept.
    await page.locator("#contacts summary", has_text="Add a person").click()
    await add.locator("input[name=name]").fill("A. Ruiz")
    await add.locator("input[name=email]").fill("ANA@gsl.com")
    await add.locator("button[type=submit]").click()
    await expect(page.locator("#contacts .error")).to_contain_text("ana@gsl.com is already Ana Ruiz's e-mail")
    await expect(add.locator("input[name=name]")).to_have_value("A. Ruiz")
    await expect(page.locator("h1")).to_have_text("Golden State Logistics LLC")  # the page around it kept
    # Removing asks first.
    page.once("dialog", lambda dialog: dialog.accept())
    await page.locator("#contacts li summary", has_text="Edit").click()
    await page.locator("#contacts li button", has_text="Remove").click()
    await expect(page.locator("#contacts [role=status]")).to_have_text("Ana Ruiz removed from the contacts")
    await expect(page.locator("#contacts")).to_contain_text("No contacts recorded.")
