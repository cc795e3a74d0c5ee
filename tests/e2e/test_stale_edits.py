"""Stale forms in Chromium (crm.seen): a page left open while someone else saves is refused in place,
showing what is saved now and keeping what was typed; saving again from there goes through."""

import datetime as dt

import httpx
from playwright.async_api import expect
from sqlalchemy import select

from crm import clock
from crm.directory.models import Region
from crm.touches.models import Touch
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD


async def test_a_schedule_form_opened_before_someone_elses_appointment_is_refused_in_its_row(
        page, live_server, live_factory):
    f = live_factory
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    await f.user("lead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board)
    spoc = await f.user("spoc@example.org", "Maria Lopez", [("spoc", "LA-BASIN")], org=board)
    acme = await f.employer("ACME Corporation")
    await f.assign(acme, spoc)
    headers = await f.auth(spoc)
    async with f.sessionmaker() as db, db.begin():
        region_id = await db.scalar(select(Region.id).where(Region.code == "LA-BASIN"))
        touch = Touch(employer_id=acme.id, region_id=region_id, spoc_id=spoc.id, status="queued", source="routed",
                      window_start=clock.today(), window_end=clock.today() + dt.timedelta(days=60),
                      planned_on=clock.today() + dt.timedelta(days=10))
        db.add(touch)

    await sign_in(page, live_server, "lead@example.org", PASSWORD)
    await page.goto(live_server + "/queue")
    row = page.locator(f"#touch-{touch.id}")
    await row.locator("summary", has_text="Schedule").click()
    await expect(row.locator("input[name=seen]")).to_have_count(1)
    # Meanwhile Maria books a visit through the API.
    visit_on = clock.today() + dt.timedelta(days=12)
    async with httpx.AsyncClient(base_url=live_server, headers=headers) as api:
        r = await api.post(f"/api/touches/{touch.id}/schedule", json={
            "scheduled_at": f"{visit_on.isoformat()}T10:00:00", "channel": "visit"})
        assert r.status_code == 200, r.text
    call_on = (clock.today() + dt.timedelta(days=20)).isoformat()
    await row.locator("input[name=scheduled_on]").fill(call_on)
    await row.locator("select[name=channel]").first.select_option("call")
    await row.locator("button", has_text="Schedule").click()
    await expect(row.locator("[role=alert]").first).to_contain_text("was scheduled meanwhile by Maria Lopez")
    await expect(row).to_have_attribute("data-status", "scheduled")
    await expect(row).to_contain_text("by visit")  # the appointment as it is now
    await expect(row.locator("input[name=scheduled_on]")).to_have_value(call_on)  # what the lead typed
    # Rescheduling on purpose, from the form that now shows the appointment, goes through.
    await row.locator("button", has_text="Schedule").click()
    await expect(row).to_contain_text("by call")


async def test_preferences_saved_from_an_older_employer_page_are_refused_and_the_blackout_kept(
        page, live_server, live_factory):
    f = live_factory
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    lead = await f.user("lead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board)
    await f.user("spoc@example.org", "Maria Lopez", [("spoc", "LA-BASIN")], org=board)
    acme = await f.employer("ACME Corporation")
    await sign_in(page, live_server, "spoc@example.org", PASSWORD)
    await page.goto(f"{live_server}/employers/{acme.id}")
    panel = page.locator("#preferences")
    await expect(panel).to_contain_text("Contact preferences")
    start, end = clock.today() + dt.timedelta(days=3), clock.today() + dt.timedelta(days=9)
    async with httpx.AsyncClient(base_url=live_server, headers=await f.auth(lead)) as api:
        r = await api.put(f"/api/employers/{acme.id}/preferences", json={"blackouts": [
            {"starts_on": start.isoformat(), "ends_on": end.isoformat(), "reason": "inventory week"}]})
        assert r.status_code == 200, r.text
    await panel.locator("input[name=max_touches]").fill("1")
    await panel.locator("button", has_text="Save preferences").click()
    await expect(panel.locator("[role=alert]").first).to_contain_text("changed meanwhile by Lee Lead")
    await expect(panel.locator(".saved-now")).to_contain_text("inventory week")
    await expect(panel.locator("input[name=max_touches]")).to_have_value("1")
    async with httpx.AsyncClient(base_url=live_server, headers=await f.auth(lead)) as api:
        assert len((await api.get(f"/api/employers/{acme.id}/preferences")).json()["blackouts"]) == 1
