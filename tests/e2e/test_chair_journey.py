"""The demo industry chair signs in, sees only their own council, opens the roster, reads a badge's
explanation and is refused the CRM."""

import asyncio
import re

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from crm.auth.models import RoleGrant, User
from crm.councils.models import AdvisoryCouncil
from crm.db import make_engine, make_sessionmaker
from crm.demo import DEMO_PASSWORD, load_demo
from crm.employers.models import Employer
from crm.settings import Settings
from crm.touches.models import HandOff
from tests.e2e.conftest import sign_in

CHAIR = "robert.castellanos@demo.onedoor.org"


@pytest.fixture
def demo_db(live_db: str) -> dict[str, int]:
    """The real demo world (a small one: 20 employers per region) in the live server's database."""

    async def load() -> dict[str, int]:
        engine = make_engine(Settings(database_url=live_db))
        async with make_sessionmaker(engine)() as db, db.begin():
            await load_demo(db, employers_per_region=20)
            ids = {c.name: c.id for c in await db.scalars(select(AdvisoryCouncil))}
        await engine.dispose()
        return ids

    return asyncio.run(load())


async def test_demo_chair_sees_only_their_council_and_is_refused_the_crm(demo_db, page, live_server):
    await sign_in(page, live_server, CHAIR, DEMO_PASSWORD)
    assert page.url.endswith("/chair")
    await expect(page.locator("h1")).to_have_text("Good day, Robert")
    councils = page.locator("#my-councils")
    await expect(councils).to_contain_text("Advanced Manufacturing & Welding Technology Advisory Committee")
    await expect(councils).not_to_contain_text("Registered Nursing")
    await expect(councils).not_to_contain_text("Business Services Committee")
    await expect(page.locator("#my-partnerships")).to_contain_text("Inland Empire Logistics")
    await expect(page.locator("nav")).not_to_contain_text("Employers")

    await councils.locator("text=Advanced Manufacturing & Welding").click()
    roster = page.locator("#roster")
    await expect(roster).to_contain_text("Robert Castellanos")
    await expect(roster).to_contain_text("ACME Corporation")
    await expect(roster).to_contain_text("chair")
    await expect(page.locator("#roster form")).to_have_count(0)  # read-only
    badge = page.locator("summary[data-badge=industry_chaired]").first
    await expect(badge).to_have_attribute("title", "chair Robert Castellanos is industry")
    explanation = page.locator("details:has(summary[data-badge=industry_majority]) > span").first
    await expect(explanation).to_be_hidden()
    await page.locator("summary[data-badge=industry_majority]").first.click()
    await expect(explanation).to_be_visible()
    await expect(explanation).to_contain_text(re.compile(r"\d+ of \d+ current members are industry"))
    await expect(page.locator("#meetings")).to_contain_text("Present")
    await expect(page.locator("#recommendations")).to_contain_text("robotic welding cell")

    await page.click("text=Print roster")
    await expect(page.locator("table.roster-table")).to_contain_text("Robert Castellanos")

    nursing = demo_db["Registered Nursing Program Advisory Committee"]
    for url in ("/employers", "/councils", f"/chair/councils/{nursing}"):
        response = await page.goto(live_server + url)
        assert response is not None and response.status == 403, url
        await expect(page.locator("h1")).to_have_text("Not allowed")


async def _welding_council_as_chair(page, live_server, demo_db, viewport: tuple[int, int], sub: str = "") -> None:
    """The chair signed in on a screen ``viewport`` wide and high, on the demo's welding council's page."""
    await page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    await sign_in(page, live_server, CHAIR, DEMO_PASSWORD)
    welding = demo_db["Advanced Manufacturing & Welding Technology Advisory Committee"]
    await page.goto(f"{live_server}/chair/councils/{welding}{sub}")


async def test_on_a_phone_the_printable_roster_scrolls_sideways_in_its_own_box_not_the_page(
        demo_db, page, live_server):
    await _welding_council_as_chair(page, live_server, demo_db, (390, 844), "/roster")
    await expect(page.locator("table.roster-table")).to_contain_text("Robert Castellanos")
    assert await page.evaluate("document.documentElement.scrollWidth") == 390
    scrolled = await page.evaluate("""() => {
        const box = document.querySelector('table.roster-table').parentElement;
        box.scrollLeft = box.scrollWidth;
        return box.scrollLeft;
    }""")
    assert scrolled > 0  # seven columns do not fit 390 px: the table's own box scrolls


async def test_at_tablet_width_the_roster_and_the_employer_list_stay_within_the_page(demo_db, page, live_server):
    """768 px: the roster and the employer list pushed the whole page sideways, cutting off the Status column."""
    await _welding_council_as_chair(page, live_server, demo_db, (768, 1024))
    await expect(page.locator("#roster")).to_contain_text("Robert Castellanos")
    assert await page.evaluate("document.documentElement.scrollWidth") == 768
    await page.context.clear_cookies()
    await sign_in(page, live_server, "admin@demo.onedoor.org", DEMO_PASSWORD)
    await page.goto(f"{live_server}/employers")
    await expect(page.locator("table.grid")).to_contain_text("Status")
    assert await page.evaluate("document.documentElement.scrollWidth") == 768


async def _hand_off_waiting_for(live_db: str, email: str) -> None:
    """A hand-off from the demo SPOC to ``email``'s organization, waiting for its answer."""
    engine = make_engine(Settings(database_url=live_db))
    async with make_sessionmaker(engine)() as db, db.begin():
        partner = await db.scalar(select(User).where(User.email == email))
        spoc = await db.scalar(select(User).where(User.email == "darnell.washington@demo.onedoor.org"))
        region = await db.scalar(select(RoleGrant.region_id).where(RoleGrant.user_id == spoc.id).limit(1))
        employer = await db.scalar(select(Employer.id).where(Employer.region_id == region).limit(1))
        db.add(HandOff(employer_id=employer, from_user_id=spoc.id, to_org_id=partner.organization_id,
                       need="Incumbent-worker training for 12 forklift operators"))
    await engine.dispose()


async def test_at_320_px_the_council_page_and_a_partners_hand_offs_stay_within_the_page(demo_db, live_db, page,
                                                                                         live_server):
    """Roster e-mails break instead of widening their row; recommendations stack like the roster; a table's
    visually-hidden header stays in the table's scroll box instead of widening the page."""
    await _welding_council_as_chair(page, live_server, demo_db, (320, 800))
    await expect(page.locator("#recommendations")).to_contain_text("robotic welding cell")
    assert await page.evaluate("document.documentElement.scrollWidth") == 320
    # Every row and what is in it (text spilling out of a cell does not widen the cell): within the screen.
    widest = await page.evaluate("""() => Math.max(...[...document.querySelectorAll(
        '#roster tr, #roster td > *, #recommendations tr, #recommendations td > *')].map(
        el => el.getBoundingClientRect().left + el.scrollWidth))""")
    assert widest <= 320, widest
    await page.context.clear_cookies()
    await _hand_off_waiting_for(live_db, "tiffany.simmons@demo.onedoor.org")
    await sign_in(page, live_server, "tiffany.simmons@demo.onedoor.org", DEMO_PASSWORD)
    await page.goto(f"{live_server}/requests")
    # The hand-offs stack on a phone: the Accept and Decline buttons and the note are on the screen, not
    # beyond a sideways scroll of a table wider than it.
    await expect(page.locator("#hand-offs button", has_text="Accept")).to_have_count(1)
    widest = await page.evaluate("""() => Math.max(...[...document.querySelectorAll(
        '#hand-offs button, #hand-offs textarea, #hand-offs td')].map(el => el.getBoundingClientRect().right))""")
    assert widest <= 320, widest
    assert await page.evaluate("document.documentElement.scrollWidth") == 320
