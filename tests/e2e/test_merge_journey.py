"""A lead opens the duplicate review queue in Chromium and merges "Acme Corp." into "ACME Corporation"."""

from playwright.async_api import expect

from crm.employers.duplicates import scan_duplicates
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD


async def test_lead_merges_two_employers_from_the_review_queue_and_undoes_it(page, live_server, live_factory):
    f = live_factory
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    await f.user("lead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board)
    acme = await f.employer("ACME Corporation", website="https://www.acme.com", zip="90021",
                            address_line="1200 S Alameda St", city="Los Angeles")
    dup = await f.employer("Acme Corp.", zip="90021", address_line="1200 S Alameda St", city="Los Angeles",
                           status="provisional")
    await f.employer("Golden State Logistics LLC")
    async with f.sessionmaker() as db, db.begin():
        assert (await scan_duplicates(db)).new == 1

    await sign_in(page, live_server, "lead@example.org", PASSWORD)
    await page.goto(live_server + "/employers/review")
    pair = page.locator("article.pair")
    await expect(pair).to_have_count(1)
    await expect(pair).to_contain_text("ACME Corporation")
    await expect(pair).to_contain_text("Acme Corp.")
    await expect(pair.locator(".explanation")).not_to_be_empty()
    # The verified record is suggested as the survivor; the lead keeps it and gives a reason.
    await expect(pair.locator(f"input[name=survivor_id][value='{acme.id}']")).to_be_checked()
    await pair.locator("input[name=reason]").fill("same plant on Alameda")
    await pair.locator("form.merge button[type=submit]").click()
    result = page.locator("article.merged")
    await expect(result).to_contain_text("Merged Acme Corp.")
    await expect(result.locator("button", has_text="Undo merge")).to_be_visible()
    assert page.url.endswith("/employers/review")  # htmx swapped the pair in place

    await result.locator("a", has_text="ACME Corporation").click()
    await expect(page.locator("h1")).to_have_text("ACME Corporation")
    await expect(page.locator("#merged-from")).to_contain_text("Acme Corp.")
    await expect(page.locator("#audit")).to_contain_text("Merged with another record")

    await page.goto(live_server + f"/employers/{dup.id}")
    await expect(page.locator(".flash-warn")).to_contain_text("Merged into")
    await page.goto(live_server + f"/employers/{acme.id}")
    await page.locator("#merged-from button", has_text="Undo merge").click()
    await expect(page.locator("h1")).to_have_text("Acme Corp.")
    await expect(page.locator(".flash-ok")).to_contain_text("is its own employer again")


async def test_at_320_px_a_pairs_long_domain_wraps_instead_of_widening_the_review_page(page, live_server,
                                                                                    live_factory):
    f = live_factory
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    await f.user("lead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board)
    site = "https://www.cornerstonesanfernandovalleyconsultinggroup.com"
    await f.employer("Cornerstone San Fernando Valley Consulting Group", website=site, zip="91401")
    await f.employer("Cornerstone SFV Consulting", website=site, zip="91401", status="provisional")
    async with f.sessionmaker() as db, db.begin():
        assert (await scan_duplicates(db)).new == 1
    await page.set_viewport_size({"width": 320, "height": 800})
    await sign_in(page, live_server, "lead@example.org", PASSWORD)
    await page.goto(live_server + "/employers/review")
    await expect(page.locator("article.pair .explanation")).to_contain_text("cornerstonesanfernandovalley")
    assert await page.evaluate("document.documentElement.scrollWidth") == 320
    # Both records fit side by side: the comparison does not scroll sideways inside its box either.
    widths = await page.evaluate("[...document.querySelectorAll('table.compare')]"
                                 ".map(t => [t.scrollWidth, t.parentElement.clientWidth])")
    assert widths and all(table <= box for table, box in widths), widths
