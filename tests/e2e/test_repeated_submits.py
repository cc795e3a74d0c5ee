"""A form sent twice in Chromium does what it says once: the SPOC's "Log touch" double-clicked, then sent
again after Back; a partner's hand-off answered in one tab and declined in another."""

from playwright.async_api import expect
from sqlalchemy import func, select

from crm.touches.models import HandOff, Touch
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD


async def test_a_log_form_double_clicked_and_sent_again_after_back_logs_one_touch(page, live_server, live_factory):
    f = live_factory
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    spoc = await f.user("spoc@example.org", "Maria Lopez", [("spoc", "LA-BASIN")], org=board)
    acme = await f.employer("ACME Corporation")
    await f.assign(acme, spoc)

    await sign_in(page, live_server, "spoc@example.org", PASSWORD)
    await page.goto(f"{live_server}/queue/log?employer_id={acme.id}")
    await page.select_option("select[name=channel]", "call")
    await page.fill("textarea[name=notes]", "Owner called about summer interns")
    await page.locator("button", has_text="Log touch").dblclick()
    await page.wait_for_url(f"{live_server}/employers/{acme.id}")
    await expect(page.locator("main")).to_contain_text("Logged a call with ACME Corporation")
    await page.go_back()
    await expect(page.locator("textarea[name=notes]")).to_have_value("Owner called about summer interns")
    await page.locator("button", has_text="Log touch").click()
    await page.wait_for_url(f"{live_server}/employers/{acme.id}")
    await expect(page.locator("main")).to_contain_text("Logged a call with ACME Corporation")
    async with f.sessionmaker() as db:
        assert await db.scalar(select(func.count(Touch.id)).where(Touch.employer_id == acme.id)) == 1


async def _partner_with_a_hand_off(page, live_server, f) -> HandOff:
    """A hand-off from Maria (LA Basin WDB) to East LA College, whose partner is signed in on My requests."""
    college = await f.organization("East LA College", "community_college", ["LA-BASIN"])
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    await f.user("partner@example.org", "Pat Partner", [("partner", None)], org=college)
    spoc = await f.user("spoc@example.org", "Maria Lopez", [("spoc", "LA-BASIN")], org=board)
    acme = await f.employer("ACME Corporation")
    async with f.sessionmaker() as db, db.begin():
        hand_off = HandOff(employer_id=acme.id, from_user_id=spoc.id, to_org_id=college.id, need="Welding cohort")
        db.add(hand_off)
    await sign_in(page, live_server, "partner@example.org", PASSWORD)
    await page.goto(live_server + "/requests")
    return hand_off


async def test_a_hand_off_accepted_in_one_tab_and_declined_in_another_says_so_in_the_row(page, live_server,
                                                                                        live_factory):
    hand_off = await _partner_with_a_hand_off(page, live_server, live_factory)
    other_tab = await page.context.new_page()
    await other_tab.goto(live_server + "/requests")
    await page.locator("#hand-offs button", has_text="Accept").click()
    await expect(page.locator("#hand-offs")).to_contain_text("accepted")
    await other_tab.locator("#hand-offs textarea[name=note]").fill("No welding program this term")
    await other_tab.locator("#hand-offs button", has_text="Decline").click()
    row = other_tab.locator(f"#hand-off-{hand_off.id}")
    await expect(row.locator("[role=alert]")).to_contain_text(f"Hand-off #{hand_off.id} was already accepted by "
                                                              "Pat Partner")
    await expect(row).to_contain_text("No welding program this term")
    await expect(row.locator("button")).to_have_count(0)


async def test_enter_in_a_hand_off_note_does_not_answer_the_hand_off(page, live_server, live_factory):
    """The note is typed to decline; Enter in it pressed the form's first button, Accept."""
    hand_off = await _partner_with_a_hand_off(page, live_server, live_factory)
    note = page.locator("#hand-offs textarea[name=note]")
    await note.fill("Sorry, our OJT funds are spent")
    await note.press("Enter")
    await note.type("for this year")
    await page.wait_for_timeout(300)  # a submit would have swapped the row by now
    async with live_factory.sessionmaker() as db:
        assert (await db.get(HandOff, hand_off.id)).status == "pending"
    await page.locator("#hand-offs button", has_text="Decline").click()
    await expect(page.locator(f"#hand-off-{hand_off.id}")).to_contain_text("declined")
    async with live_factory.sessionmaker() as db:
        answered = await db.get(HandOff, hand_off.id)
        assert answered.status == "declined"
        assert answered.response_note == "Sorry, our OJT funds are spent\nfor this year"
