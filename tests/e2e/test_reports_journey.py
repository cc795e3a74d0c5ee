"""A region lead opens Reports in Chromium: every section loads in place (htmx), shows what two partners'
bundled requests and a logged call did, and its CSV downloads."""

import datetime as dt

import httpx
from playwright.async_api import expect

from crm import clock
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD

SECTIONS = ("touches-per-employer", "bundling", "response-times", "queue-age", "employer-measures")


async def test_lead_reads_the_regions_reports_and_downloads_one(page, live_server, live_factory):
    f = live_factory
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    college = await f.organization("East LA College", "community_college", ["LA-BASIN"])
    await f.user("lead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board)
    spoc = await f.user("spoc@example.org", "Maria Lopez", [("spoc", "LA-BASIN")], org=board)
    partners = [await f.user(f"p{i}@example.org", f"Partner {i}", [("partner", None)], org=org)
                for i, org in enumerate((board, college))]
    employer = await f.employer("Sunrise Family Dental")
    await f.assign(employer, spoc)
    today = clock.today()
    for partner in partners:  # two organizations, one employer: one touch carries both requests
        async with httpx.AsyncClient(base_url=live_server, headers=await f.auth(partner)) as api:
            r = await api.post("/api/touch-requests", json={
                "employer_id": employer.id, "purpose": "hiring", "summary": "welders",
                "window_start": today.isoformat(), "window_end": (today + dt.timedelta(days=30)).isoformat()})
            assert r.status_code == 201, r.text
    async with httpx.AsyncClient(base_url=live_server, headers=await f.auth(spoc)) as api:
        r = await api.post("/api/touches", json={"employer_id": employer.id, "channel": "call",
                                                 "occurred_on": today.isoformat(), "notes": "called in"})
        assert r.status_code == 201, r.text

    await sign_in(page, live_server, "lead@example.org", PASSWORD)
    await page.click("nav >> text=Reports")
    for name in SECTIONS:  # each placeholder replaced by its report, without a reload
        await expect(page.locator(f"#report-{name} .report-head a")).to_have_text("CSV")
    bundling = page.locator("#report-bundling tfoot")
    await expect(bundling).to_contain_text("2")  # two requests received
    await expect(page.locator("#report-bundling tfoot td").nth(3)).to_have_text("1")  # one contact avoided
    await expect(page.locator("#report-touches-per-employer tfoot td").nth(0)).to_have_text("1")  # the call
    await expect(page.locator("#report-queue-age tbody")).to_contain_text("Maria Lopez")
    async with page.expect_download() as download:
        await page.click("#report-bundling .report-head a")
    saved = await (await download.value).path()
    lines = saved.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("month,requests,on_touches,touches,contacts_avoided")
    assert lines[-1].startswith("total,2,2,1,1,")


async def test_a_report_that_fails_to_load_says_so_and_the_others_still_load(page, live_server, live_factory):
    board = await live_factory.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    await live_factory.user("lead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board)
    await sign_in(page, live_server, "lead@example.org", PASSWORD)
    await page.route("**/reports/response-times?*", lambda route: route.fulfill(status=500, body="boom"))
    await page.goto(f"{live_server}/reports")
    await expect(page.locator("#report-response-times [data-status]")).to_contain_text(
        "could not load (the server answered 500)")
    await expect(page.locator("#report-queue-age")).to_contain_text("No open touch in the region.")
