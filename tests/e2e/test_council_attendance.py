"""A region lead records a council meeting and ticks attendance in place (htmx, no page reload);
the 15-member printable roster fits on one page (PDF and screenshot saved under test-artifacts/)."""

import re

import httpx
from playwright.async_api import expect

from tests.e2e.conftest import ARTIFACTS, sign_in
from tests.factories import PASSWORD


async def _council_with_members(f, base: str, n: int) -> tuple[int, list[int], int]:
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    lead = await f.user("lead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board)
    headers = await f.auth(lead)
    employer = await f.employer("Pacific Steel Fabricators")
    async with httpx.AsyncClient(base_url=base, headers=headers) as api:
        council = (await api.post("/api/councils", json={
            "name": "Advanced Manufacturing Advisory Committee", "owner_organization_id": board.id,
            "region": "LA-BASIN", "program": "Welding Technology and Advanced Manufacturing (CTE)"})).json()
        ids = []
        for i in range(n):
            body = {"name": f"Member {i + 1:02d} Lastname", "member_type": "industry" if i % 3 else "education",
                    "title": "Director of Manufacturing Engineering", "term_start": "2025-07-01",
                    "term_end": "2027-06-30", "role": "chair" if i == 1 else "member"}
            if i == 1:
                body["employer_id"] = employer.id
            r = await api.post(f"/api/councils/{council['id']}/members", json=body)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    return council["id"], ids, employer.id


async def test_lead_records_a_meeting_and_ticks_attendance_in_place(page, live_server, live_factory):
    council_id, member_ids, employer_id = await _council_with_members(live_factory, live_server, 3)
    await sign_in(page, live_server, "lead@example.org", PASSWORD)
    await page.goto(f"{live_server}/councils/{council_id}")
    await expect(page.locator("summary[data-badge=met_last_12_months]")).to_contain_text("✗")
    badge = await page.locator("summary[data-badge=met_last_12_months]").bounding_box()
    assert badge["height"] >= 24, badge  # a target at least 24 px tall (WCAG 2.5.8)

    form = page.locator("form.record-meeting")
    await form.locator("input[name=held_on]").fill("2026-11-20")
    await form.locator("textarea[name=agenda]").fill("Curriculum review")
    await form.locator("button").click()
    meeting = page.locator("article.meeting").first
    await expect(meeting).to_contain_text("Curriculum review")
    # The badges were refreshed out of band with the meetings partial: a meeting nobody is ticked
    # present at is not a meeting held yet.
    met = page.locator("summary[data-badge=met_last_12_months]")
    await expect(met).to_have_attribute("title", re.compile("nobody is ticked present"))
    await expect(met).to_contain_text("✗")

    await page.evaluate("window.__no_reload = true")
    tick = meeting.locator(f"form.tick[id$='-{member_ids[1]}']")
    box = tick.locator("input[type=checkbox]")
    await box.focus()
    await page.keyboard.press("Space")
    await expect(meeting.locator(f"form.tick[id$='-{member_ids[1]}'] .counted")).to_have_text("touch counted")
    # The tick swapped in stays focused (the next Space or Tab goes on down the list), not its form.
    await expect(box).to_be_checked()
    await expect(box).to_be_focused()
    await expect(met).to_contain_text("✓")  # refreshed out of band with the tick
    assert await page.evaluate("window.__no_reload === true")  # swapped in place, not a page load

    await page.reload()
    box = "article.meeting form.tick[id$='-{}'] input[type=checkbox]"
    await expect(page.locator(box.format(member_ids[1]))).to_be_checked()
    await expect(page.locator(box.format(member_ids[0]))).not_to_be_checked()
    await page.goto(f"{live_server}/employers/{employer_id}")
    await expect(page.locator("#councils-panel")).to_contain_text("Advanced Manufacturing Advisory Committee")


async def test_fifteen_member_roster_prints_on_one_page(page, live_server, live_factory):
    council_id, _, _ = await _council_with_members(live_factory, live_server, 15)
    await sign_in(page, live_server, "lead@example.org", PASSWORD)
    await page.goto(f"{live_server}/councils/{council_id}/roster")
    await expect(page.locator("table.roster-table tbody tr")).to_have_count(15)
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = await page.pdf(path=str(ARTIFACTS / "council-roster-15-members.pdf"), format="Letter",
                         print_background=True, prefer_css_page_size=True)
    await page.emulate_media(media="print")
    await page.screenshot(path=str(ARTIFACTS / "council-roster-15-members.png"), full_page=True)
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages == 1, f"the roster printed on {pages} pages"
