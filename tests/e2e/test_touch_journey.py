"""Issue 3's journey in Chromium: a partner asks for contact and sees the decision; the SPOC
finds it in the queue, schedules and completes it with an outcome, whom they spoke with and a
hand-off; the partner sees the outcome, accepts the hand-off and is told whom to reach."""

import datetime as dt

from playwright.async_api import Dialog, expect

from crm import clock
from crm.employers.models import EmployerContact
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD


async def test_request_is_queued_scheduled_completed_and_its_hand_off_accepted(page, live_server, live_factory):
    f = live_factory
    college = await f.organization("East LA College", "community_college", ["LA-BASIN"])
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    await f.user("partner@example.org", "Pat Partner", [("partner", None)], org=college)
    spoc = await f.user("spoc@example.org", "Maria Lopez", [("spoc", "LA-BASIN")], org=board)
    acme = await f.employer("ACME Corporation", website="acme.com", city="Los Angeles")
    await f.assign(acme, spoc)
    async with f.sessionmaker() as db, db.begin():
        db.add(EmployerContact(employer_id=acme.id, name="Ana Ruiz", title="HR Director", email="ana@acme.com"))

    # The partner chooses the employer with the typeahead, sees who owns it, and sends the request.
    await sign_in(page, live_server, "partner@example.org", PASSWORD)
    await page.goto(live_server + "/requests/new")
    await page.locator("input[name=employer_name]").press_sequentially("acme corp", delay=40)
    choice = page.locator("#employer-match-results [data-employer-choice]").first
    await expect(choice).to_contain_text("ACME Corporation", timeout=15_000)
    await choice.click()
    await expect(page.locator("#request-area")).to_contain_text("Maria Lopez")  # "already talking" panel
    await page.select_option("select[name=purpose]", "work_based_learning")
    await page.fill("textarea[name=summary]", "Summer internships for welding students")
    await page.click("#request-form button[type=submit]")
    decision = page.locator(".decision-text")
    await expect(decision).to_contain_text("Maria Lopez")
    await expect(decision).to_have_attribute("data-status", "queued")

    # The SPOC sees the touch in the queue and schedules it in place.
    await page.context.clear_cookies()
    await sign_in(page, live_server, "spoc@example.org", PASSWORD)
    assert page.url.endswith("/queue")
    touch = page.locator("article.touch").filter(has_text="ACME Corporation")
    await expect(touch).to_contain_text("Summer internships for welding students")
    await touch.locator("summary", has_text="Schedule").click()
    when = (clock.today() + dt.timedelta(days=20)).isoformat()
    await touch.locator("input[name=scheduled_on]").fill(when)
    await touch.locator("select[name=channel]").first.select_option("visit")
    await touch.locator("button", has_text="Schedule").click()
    await expect(touch).to_have_attribute("data-status", "scheduled")
    # The queue reloads itself around the row: 20 days out, the touch moved from "this week" to "later"...
    await expect(page.locator("#group-later article.touch")).to_contain_text("ACME Corporation")
    await expect(page.locator("#group-week")).not_to_contain_text("ACME Corporation")
    await expect(touch).to_be_focused()  # ...and keyboard focus followed the row, not <body>

    # ...and completes it with an outcome for the partner's request and a hand-off to the college, confirming
    # that the appointment 20 days out is the one done today.
    asked: list[str] = []

    async def confirm(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.on("dialog", confirm)
    await touch.locator("summary", has_text="Complete").click()
    await touch.locator("select[name^=outcome_]").select_option("interested")
    await touch.locator("input[name^=note_]").fill("Wants 4 interns in June; contact Ana in HR")
    await touch.locator("form[id^=complete-]").get_by_label("Ana Ruiz").check()  # whom the SPOC spoke with
    await touch.locator("input[name=handoff_org]").fill("East LA College")
    await touch.locator("input[name=handoff_org]").press("Tab")  # choosing the organization offers its people
    person = touch.locator("select[name=handoff_person]")
    await expect(person.locator("option", has_text="Pat Partner")).to_have_count(1)
    await touch.locator("button", has_text="Complete touch").click()  # a hand-off without its need
    need = touch.locator("input[name=handoff_need]")
    await expect(need).to_be_focused()  # focus goes to the field the error is about
    await expect(touch.locator("label.has-error:has(input[name=handoff_need])")).to_contain_text(
        "say what the partner should pick up")
    await need.fill("Pre-apprenticeship welding cohort")
    await person.select_option(label="Pat Partner")  # the form sent back still offers the college's people
    await expect(page.locator("#group-later h2")).to_contain_text("Later (1)")
    await touch.locator("button", has_text="Complete touch").click()
    await expect(touch).to_have_attribute("data-status", "completed")
    await expect(page.locator("#group-later h2")).to_contain_text("Later (0)")  # the count follows
    # Asked at each of the two submits, and only then: looking the college's people up asked nothing.
    assert len(asked) == 2 and all("Record it as done today" in a for a in asked), asked
    page.remove_listener("dialog", confirm)

    # The partner sees the outcome and accepts the hand-off.
    await page.context.clear_cookies()
    await sign_in(page, live_server, "partner@example.org", PASSWORD)
    await page.goto(live_server + "/requests")
    await expect(page.locator("main")).to_contain_text("Wants 4 interns in June")
    hand_offs = page.locator("#hand-offs")
    await expect(hand_offs).to_contain_text("Pre-apprenticeship welding cohort")
    await expect(hand_offs).to_contain_text("for Pat Partner")
    await hand_offs.locator("button", has_text="Accept").click()
    await expect(hand_offs).to_contain_text("accepted")
    # Said in the page's live region, and the answered row has the focus (not the whole section).
    await expect(page.locator("#hand-offs-status[role=status]")).to_contain_text(
        "Hand-off from Maria Lopez about ACME Corporation accepted")
    await expect(hand_offs.locator("tbody tr").first).to_be_focused()
    # The warm introduction: the person the SPOC spoke with, and how to reach her.
    await expect(hand_offs.locator(".reach")).to_contain_text("Ana Ruiz, HR Director")
    await expect(hand_offs.locator('.reach a[href="mailto:ana@acme.com"]')).to_be_visible()
