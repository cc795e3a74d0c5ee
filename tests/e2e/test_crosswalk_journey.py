"""A partner opens the regional crosswalk in Chromium: filters it by kind and by service, keeps its own
organization's row with the form and sees the matrix change, finds no edit link on another organization's
row, and downloads the filtered table as CSV."""

import csv
import io

import httpx
from playwright.async_api import Locator, Page, expect

from tests.e2e.conftest import ARTIFACTS, sign_in
from tests.factories import PASSWORD


def _row(page: Page, name: str) -> Locator:
    return page.locator("table.crosswalk tbody tr").filter(has_text=name)


async def _offering(page: Page, service: str) -> Locator:
    """The footer cell counting the organizations that offer ``service`` (found by its column heading)."""
    headings = await page.locator("table.crosswalk thead th.service").all_inner_texts()
    return page.locator("table.crosswalk tfoot td").nth(headings.index(service))


async def test_partner_filters_the_crosswalk_keeps_its_row_and_downloads_it(page, live_server, live_factory):
    f = live_factory
    college = await f.organization("East LA College", "community_college", ["LA-BASIN"])
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    homeboy = await f.organization("Homeboy Industries", "cbo", ["LA-BASIN"])
    await f.organization("NOVA Workforce Board", "workforce_board", ["BAY-PENINSULA"])  # another region
    lead = await f.user("lead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board)
    await f.user("partner@example.org", "Pat Partner", [("partner", None)], org=college)
    async with httpx.AsyncClient(base_url=live_server, headers=await f.auth(lead)) as api:
        for org, services in ((board, ["business_services", "job_placement"]), (homeboy, ["reentry", "job_placement"])):
            r = await api.put(f"/api/organizations/{org.id}/services",
                              json={"region": "LA-BASIN", "services": services})
            assert r.status_code == 200, r.text

    # The partner's own region (from its organization), every organization serving it, by name.
    await sign_in(page, live_server, "partner@example.org", PASSWORD)
    await page.click("nav >> text=Crosswalk")
    await expect(page.locator("h1")).to_contain_text("Services crosswalk · Los Angeles Basin")
    rows = page.locator("table.crosswalk tbody tr")
    await expect(rows).to_have_count(3)
    await expect(rows).to_contain_text(["East LA College", "Homeboy Industries", "LA Basin WDB"])
    await expect(_row(page, "LA Basin WDB").locator('[aria-label="offers Business services"]')).to_have_count(1)
    await expect(_row(page, "East LA College").locator("td.mark span")).to_have_count(0)
    await expect(await _offering(page, "Job placement")).to_have_text("2")
    await expect(await _offering(page, "Reentry services")).to_have_text("1")
    await expect(await _offering(page, "Occupational skills training")).to_have_text("0")
    # Only its own organization's row is the partner's to edit; the server refuses another's form too.
    await expect(_row(page, "East LA College").get_by_role("link", name="edit")).to_have_count(1)
    await expect(_row(page, "LA Basin WDB").get_by_role("link", name="edit")).to_have_count(0)
    await expect(_row(page, "Homeboy Industries").get_by_role("link", name="edit")).to_have_count(0)
    refused = await page.goto(f"{live_server}/crosswalk/organizations/{board.id}?region=LA-BASIN")
    assert refused is not None and refused.status == 403
    await expect(page.locator("main")).to_contain_text("Only the organization's own staff")
    await page.go_back()

    # Filtered by kind: the college alone.
    await page.select_option("select[name=kind]", "community_college")
    await page.click("form.filters button[type=submit]")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text(["East LA College"])
    await expect(page.locator("main")).to_contain_text("1 organization (Community college) serving the region")

    # The partner ticks two services on its row's form; back on the crosswalk the matrix shows them.
    await _row(page, "East LA College").get_by_role("link", name="edit").click()
    await expect(page.locator("h1")).to_contain_text("East LA College")
    await page.check("input[name=services][value=reentry]")
    await page.check("input[name=services][value=training]")
    await page.click("button:has-text('Save services')")
    await expect(page.locator(".flash")).to_have_text("Saved: 2 services in LA-BASIN")
    await expect(rows).to_have_count(3)
    college_row = _row(page, "East LA College")
    await expect(college_row.locator("td.mark span")).to_have_count(2)
    await expect(college_row.locator('[aria-label="offers Reentry services"]')).to_have_count(1)
    await expect(college_row.locator('[aria-label="offers Occupational skills training"]')).to_have_count(1)
    await expect(await _offering(page, "Reentry services")).to_have_text("2")
    await expect(await _offering(page, "Occupational skills training")).to_have_text("1")
    await expect(await _offering(page, "Job placement")).to_have_text("2")

    # Filtered by service: who offers reentry, the college now among them.
    await page.select_option("select[name=service]", "reentry")
    await page.click("form.filters button[type=submit]")
    await expect(rows).to_have_count(2)
    await expect(rows).to_contain_text(["East LA College", "Homeboy Industries"])
    await expect(page.locator("main")).to_contain_text("2 organizations serving the region offer reentry services")

    # The CSV is the filtered table: the same two organizations, an "x" where each offers a service.
    async with page.expect_download() as download:
        await page.click("a:has-text('CSV')")
    saved = await (await download.value).path()
    table = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    header, body = table[0], table[1:]
    assert header[:2] == ["organization", "kind"] and len(header) == 2 + 14
    assert [r[:2] for r in body] == [["East LA College", "community_college"], ["Homeboy Industries", "cbo"]]
    marked = {r[0]: {header[i] for i, cell in enumerate(r) if cell == "x"} for r in body}
    assert marked == {"East LA College": {"Reentry services", "Occupational skills training"},
                      "Homeboy Industries": {"Reentry services", "Job placement"}}


async def test_on_a_phone_the_organization_column_stays_beside_the_dots_as_the_services_scroll(
        page, live_server, live_factory):
    f = live_factory
    college = await f.organization("East Los Angeles Community College District", "community_college", ["LA-BASIN"])
    board = await f.organization("Los Angeles Basin Workforce Development Board", "workforce_board", ["LA-BASIN"])
    lead = await f.user("lead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board)
    async with httpx.AsyncClient(base_url=live_server, headers=await f.auth(lead)) as api:
        for org in (college, board):
            r = await api.put(f"/api/organizations/{org.id}/services",
                              json={"region": "LA-BASIN", "services": ["youth_services", "training"]})
            assert r.status_code == 200, r.text
    await page.set_viewport_size({"width": 390, "height": 844})
    await sign_in(page, live_server, "lead@example.org", PASSWORD)
    await page.goto(f"{live_server}/crosswalk")
    name = _row(page, "East Los Angeles Community College").locator("th")
    await name.scroll_into_view_if_needed()
    before = await name.bounding_box()
    scrolled = await page.evaluate("""() => {
        let el = document.querySelector('table.crosswalk');
        while (el && !(el.scrollWidth > el.clientWidth && getComputedStyle(el).overflowX !== 'visible')) {
            el = el.parentElement;
        }
        if (!el) return 0;
        el.scrollLeft = el.scrollWidth;
        return el.scrollLeft;
    }""")
    assert scrolled > 100  # fourteen services do not fit 390 px: the matrix scrolls sideways
    after = await name.bounding_box()
    assert before is not None and after is not None and after["x"] == before["x"]
    # Opaque: what shows at the column's middle is the name, not a dot scrolled underneath it.
    under = await page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('th, td').tagName",
                                [after["x"] + after["width"] / 2, after["y"] + 5])
    assert under == "TH"
    await page.screenshot(path=str(ARTIFACTS / "crosswalk-phone-scrolled.png"))

    # The sentence about printing is for the screen: the printed matrix does not carry it.
    note = page.get_by_text("Printed, the matrix comes without the filters and links.")
    await expect(note).to_be_visible()
    await page.emulate_media(media="print")
    await expect(note).to_be_hidden()
    await expect(page.locator("table.crosswalk")).to_be_visible()
