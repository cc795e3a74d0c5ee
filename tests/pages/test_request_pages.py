"""Partner pages: the request form, the "already talking?" panel, the decision, my requests and withdrawal."""

import datetime as dt
import re

import pytest
from sqlalchemy import func, select, update

from crm import clock
from crm.auth.models import User
from crm.employers.models import Employer
from crm.templating import words
from crm.touches.models import HandOff, Touch, TouchRequest
from crm.touches.requests import human_date
from tests.a11y import attrs_of, tied_errors
from tests.factories import csrf, login, today


def form(client, employer_id, /, *, starts_in=0, ends_in=30, **extra):
    """The request form for the window from ``starts_in`` to ``ends_in`` days from today (dates made when
    called); ``extra`` overrides any field, ``employer_id`` too."""
    return {"_csrf_token": client.cookies.get("csrftoken"), "employer_id": str(employer_id), "region": "LA-BASIN",
            "purpose": "hiring", "summary": "Forklift operators, twelve openings", "priority": "normal",
            "window_start": (today() + dt.timedelta(days=starts_in)).isoformat(),
            "window_end": (today() + dt.timedelta(days=ends_in)).isoformat(), **extra}


async def test_request_form_defaults_to_the_employers_own_region_and_a_thirty_day_window(client, world):
    await login(client, world.users["partner"].email)
    r = await client.get("/requests/new")
    assert r.status_code == 200
    assert 'name="employer_name"' in r.text and 'name="employer_id"' in r.text  # the typeahead field group
    # Its matches appear right under the name, above the optional fields (on a phone they were off-screen).
    assert r.text.index('name="employer_name"') < r.text.index('id="employer-match-results"') < r.text.index(
        'name="employer_website"')
    # Short enough to read in the select on a phone; what it means for a new employer is the hint's.
    assert '<option value="" selected>The employer&#39;s own region</option>' in r.text
    assert "A new employer's own region is its ZIP's, else your organization's." in r.text
    assert '<option value="LA-BASIN" selected' not in r.text
    assert f'value="{(today() + dt.timedelta(days=30)).isoformat()}"' in r.text
    assert 'id="employer-panel"' in r.text and "Choose an employer" in r.text


async def test_a_sent_requests_card_is_read_once_and_required_marks_are_not_read_as_star(client, world):
    e = await world.f.employer("Golden State Logistics")
    await login(client, world.users["partner"].email)
    page = (await client.get("/requests/new")).text
    marks = re.findall(r"<abbr [^>]*>\*</abbr>", page)
    assert marks and all('aria-hidden="true"' in m for m in marks)  # the fields say required themselves
    r = await client.post("/requests/new", data=form(client, e.id), headers={"HX-Request": "true"})
    assert "role" not in attrs_of(r.text, "div", id="request-area")  # the focus target, read whole once
    assert r.text.count('role="status"') == 1 and attrs_of(r.text, "p", role="status")["class"] == "decision-text"


async def test_panel_shows_spoc_next_touch_purposes_and_budget_but_no_other_orgs_notes(client, world):
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    await login(client, world.users["partner2"].email)
    r = await client.post("/requests/new", data=form(client, e.id, purpose="apprenticeship",
                                                     summary="CONFIDENTIAL layoff plans"), follow_redirects=False)
    assert r.status_code == 303
    await login(client, world.users["partner"].email)
    panel = await client.get("/requests/panel", params={"employer_id": e.id, "region": "LA-BASIN"},
                             headers={"HX-Request": "true"})
    assert panel.status_code == 200 and "<html" not in panel.text
    assert "Maria Lopez" in panel.text and "Apprenticeship" in panel.text
    assert "1 of 2 touches in 30 days" in panel.text
    assert "CONFIDENTIAL" not in panel.text and "Quinn" not in panel.text
    assert "joins it if your dates overlap" in panel.text  # queued: any overlap of dates (routing._bundle_into)


async def test_the_panel_reads_a_touchs_purposes_apart_not_run_together(client, world):
    """Pills look apart; read aloud or copied they said "HiringWork-based learning"."""
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    await login(client, world.users["partner2"].email)
    for purpose in ("hiring", "work_based_learning"):
        r = await client.post("/requests/new", data=form(client, e.id, purpose=purpose), follow_redirects=False)
        assert r.status_code == 303
    await login(client, world.users["partner"].email)
    panel = (await client.get("/requests/panel", params={"employer_id": e.id, "region": "LA-BASIN"},
                              headers={"HX-Request": "true"})).text
    carries = panel.split("Already carries:", 1)[1].split("</span></span>", 1)[0] + "</span>"
    assert re.sub(r"<[^>]+>", "", carries).strip() == "Hiring, Work-based learning", carries
    assert carries.count('<span class="chip">') == 2 and '<span class="visually-hidden">,</span>' in carries


@pytest.mark.parametrize(("url", "said"), [
    ("/requests?page=0", "must be 1 or more"), ("/requests?page=100001", "must be 100000 or less"),
    ("/requests?page=two", "must be a whole number"), ("/employers?page=-1", "must be 1 or more")])
async def test_a_bad_page_number_is_said_in_words_not_the_validators(client, world, url, said):
    await login(client, world.users["partner"].email)
    r = await client.get(url)
    assert r.status_code == 422 and f"<li><strong>page</strong>: {said}</li>" in r.text, r.text
    assert "Expected" not in r.text and "`" not in r.text
    htmx = await client.get(url, headers={"HX-Request": "true"})  # a live search's pager: said above the page
    assert f"<strong>page</strong>: {said}." in htmx.text
    # The API keeps the validator's exact words (clients may read them).
    api = await client.get("/api/touch-requests?limit=0", headers=await world.f.auth(world.users["partner"]))
    assert api.json()["error"]["fields"] == [{"field": "limit", "message": "Expected `int` >= 1"}]


async def test_a_held_request_names_the_employers_spoc_in_its_region(client, world, desk, sessionmaker):
    """Only a request on a touch named the SPOC: a held one left the partner not knowing whom to ask."""
    e = await world.f.employer("Sunrise Family Dental")
    held = await desk.request(None, world.users["partner"], employer=e, release_in=5)
    await login(client, world.users["partner"].email)
    page = (await client.get(f"/requests/{held.id}")).text
    assert "<dt>SPOC</dt>" not in page  # none yet in LA-BASIN
    await world.f.assign(e, world.users["spoc"])
    page = " ".join((await client.get(f"/requests/{held.id}")).text.split())
    assert ('<dt>SPOC</dt><dd data-request="spoc">Maria Lopez <span class="muted small">· the employer\'s SPOC in '
            'LA-BASIN</span></dd>') in page, page
    async with sessionmaker() as s, s.begin():
        await s.execute(update(User).where(User.id == world.users["spoc"].id).values(away=True))
    page = (await client.get(f"/requests/{held.id}")).text
    assert 'data-request="spoc">Maria Lopez (away)' in page
    # On a touch, the touch's SPOC is named, once.
    queued = await desk.request(await desk.touch(e, world.users["spoc2"]), world.users["partner"], purpose="event")
    page = (await client.get(f"/requests/{queued.id}")).text
    assert "<dt>SPOC</dt><dd>Sam Ortiz</dd>" in page and 'data-request="spoc"' not in page


def _day(days: int) -> str:
    """today + ``days`` as the pages write it (the ``date`` filter)."""
    from crm.templating import fmt_date

    return fmt_date(today() + dt.timedelta(days=days))


async def _panel(client, employer_id) -> str:
    r = await client.get("/requests/panel", params={"employer_id": employer_id, "region": "LA-BASIN"},
                         headers={"HX-Request": "true"})
    assert r.status_code == 200
    return r.text


async def test_panel_does_not_offer_a_touch_whose_appointment_has_passed_as_the_one_a_request_joins(
        client, world, desk, db):
    """Intake skips such a touch (routing._best_bundle): the panel said the request would join it."""
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    passed = await desk.touch(e, world.users["spoc"], status="scheduled", planned_in=-1, window=(-3, 5),
                              scheduled_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    await login(client, world.users["partner"].email)
    panel = await _panel(client, e.id)
    touch_line = panel.split('data-panel="touch"', 1)[1].split("</dd>", 1)[0]
    assert f"Touch #{passed.id}, scheduled, planned for" not in touch_line and "joins it" not in touch_line
    assert f"Touch #{passed.id}, scheduled for {_day(-1)}: the appointment has passed, awaiting its outcome" \
        in touch_line
    # The 7-day gap after yesterday's appointment: the new touch is six days out.
    assert f"None that your request could join: your request would open a new touch on {_day(6)} at the earliest" \
        in touch_line
    r = await client.post("/requests/new", data=form(client, e.id), follow_redirects=False)
    assert r.status_code == 303
    mine = (await db.scalars(select(TouchRequest))).one()
    assert mine.touch_id is not None and mine.touch_id != passed.id
    assert (await db.get(Touch, mine.touch_id)).planned_on == today() + dt.timedelta(days=6)


async def test_panel_shows_the_next_allowed_day_when_the_minimum_gap_blocks_though_the_budget_has_room(
        client, world, desk, db):
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    await desk.touch(e, world.users["spoc"], status="completed", planned_in=-3, window=(-5, -3))
    await login(client, world.users["partner"].email)
    budget_line = (await _panel(client, e.id)).split('data-panel="budget"', 1)[1].split("</dd>", 1)[0]
    assert "1 of 2 touches in 30 days" in budget_line
    assert f"Next possible: {_day(4)} (contacts must be at least 7 days apart until then)" in budget_line
    # A request for the next two days only is held to that day, and told it is the gap, not the budget.
    r = await client.post("/requests/new", data=form(client, e.id, ends_in=2), follow_redirects=False)
    page = await client.get(r.headers["location"])
    held = (await db.scalars(select(TouchRequest))).one()
    assert (held.status, held.release_on) == ("held", today() + dt.timedelta(days=4))
    assert "must be at least 7 days apart (the minimum gap between contacts)" in page.text
    assert "budget is used up" not in page.text


async def test_panel_lists_held_requests_with_another_organizations_only_by_purpose_dates_and_kind_of_reason(
        client, world, desk, db):
    """A cancelled touch's requests wait held; the panel said "None planned" of them."""
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    theirs = await desk.request(None, world.users["partner2"], employer=e, purpose="apprenticeship",
                                summary="CONFIDENTIAL layoff plans", release_in=5)
    mine = await desk.request(None, world.users["partner"], employer=e, purpose="event", release_in=9)
    await db.execute(update(TouchRequest).where(TouchRequest.id == theirs.id).values(
        hold_reason="touch #41 was cancelled (employer closed for inventory week)"))  # as workflow.cancel writes it
    await db.commit()
    await login(client, world.users["partner"].email)
    panel = await _panel(client, e.id)
    assert "None planned" not in panel and "None yet (2 held below)" in panel
    held = panel.split('data-panel="held"', 1)[1].split("</dd>", 1)[0]
    assert "2 waiting for this employer" in held
    assert f"Apprenticeship, asked for {_day(0)} – {_day(30)}, held until {_day(5)}: the touch it was on was " \
           "cancelled" in held
    assert f'<a href="/requests/{mine.id}">#{mine.id}</a> Event' in held and f"held until {_day(9)}" in held
    assert "contact budget is used up" in held  # mine: held by the budget (no reason stored)
    assert "inventory week" not in panel and "CONFIDENTIAL" not in panel and f"#{theirs.id}" not in held
    # Its own organization reads the SPOC's reason.
    await login(client, world.users["partner2"].email)
    assert "touch #41 was cancelled (employer closed for inventory week)" in await _panel(client, e.id)


async def test_a_request_left_on_the_employers_own_region_goes_to_that_regions_spoc(client, world, db):
    # The partner's organization serves LA-BASIN; the employer is in BAY-PENINSULA (San Mateo county).
    e = await world.f.employer("Harbor Biologics", county="San Mateo")
    await world.f.assign(e, world.users["bay_spoc"], region="BAY-PENINSULA")
    await login(client, world.users["partner"].email)
    panel = await client.get("/requests/panel", params={"employer_id": e.id, "region": ""},
                             headers={"HX-Request": "true"})
    assert "SPOC (BAY-PENINSULA)" in panel.text and "Bay Spoc" in panel.text
    assert 'data-panel="region"' not in panel.text
    r = await client.post("/requests/new", data=form(client, e.id, region=""), follow_redirects=False)
    assert r.status_code == 303
    touch = (await db.scalars(select(Touch))).one()
    assert (touch.employer_id, touch.spoc_id) == (e.id, world.users["bay_spoc"].id)


async def test_panel_warns_when_the_chosen_region_is_not_the_employers(client, world):
    e = await world.f.employer("Harbor Biologics", county="San Mateo")
    await login(client, world.users["partner"].email)
    panel = await client.get("/requests/panel", params={"employer_id": e.id, "region": "LA-BASIN"},
                             headers={"HX-Request": "true"})
    assert 'data-panel="region"' in panel.text
    assert "Harbor Biologics is in BAY-PENINSULA" in panel.text and "go to LA-BASIN" in panel.text


async def test_plain_form_post_redirects_to_the_request_with_its_decision_in_plain_words(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    await login(client, world.users["partner"].email)
    r = await client.post("/requests/new", data=form(client, e.id), follow_redirects=False)
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    touch_id = await db.scalar(select(Touch.id))
    day = today()
    assert f"Queued as touch #{touch_id} with Maria Lopez, planned for {day.day} {day:%B %Y}" in page.text
    # The request's own page says where it stands and what happened to it, not "sent" again.
    assert "Where it stands" in page.text and "sent</h2>" not in page.text
    history = page.text.split('id="request-history"', 1)[1]
    assert "<td>requested</td><td>Pat Partner</td>" in history and "Queued as touch" in history


async def test_a_touch_whose_planned_day_has_passed_is_said_to_be_overdue_to_the_partner(client, world, desk):
    """It read "Queued as touch #27 with Grace Kim, planned for 26 November 2026" on the 27th, as if on time."""
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    late = await desk.touch(e, world.users["spoc"], planned_in=-1, window=(-10, 20))
    queued = await desk.request(late, world.users["partner"])
    bundled = await desk.request(late, world.users["partner"], purpose="event")
    on_time = await desk.request(await desk.touch(e, world.users["spoc"], planned_in=0), world.users["partner"],
                                 purpose="apprenticeship")
    await login(client, world.users["partner"].email)
    overdue = f"planned for {human_date(today() - dt.timedelta(days=1))} (overdue: not yet recorded as done)"
    detail = (await client.get(f"/requests/{queued.id}")).text
    assert f"Queued as touch #{late.id} with Maria Lopez, {overdue}" in detail
    rows = (await client.get("/requests")).text
    assert f"Bundled into touch #{late.id} with Maria Lopez, {overdue}" in rows
    assert f"planned for {human_date(today())}</td>" in rows  # today's is not late
    api = (await client.get(f"/api/touch-requests/{bundled.id}", headers=await world.f.auth(world.users["partner"])))
    assert api.json()["decision"].endswith(overdue)
    assert "overdue" not in (await client.get(f"/requests/{on_time.id}")).text
    panel = (await client.get("/requests/panel", params={"employer_id": e.id, "region": "LA-BASIN"})).text
    assert (f"Touch #{late.id}, queued, planned for {_day(-1)} (overdue: not yet recorded as done)"
            in panel.split('data-panel="touch">', 1)[1])
    # Scheduled for a day now past: the same words.
    when = clock.local(dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).replace(hour=10, minute=30)
    gone = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"], status="scheduled",
                            planned_in=-2, window=(-10, 20), channel="visit", scheduled_at=when)
    visit = await desk.request(gone, world.users["partner"])
    assert (f"Scheduled: touch #{gone.id} with Maria Lopez on {human_date(today() - dt.timedelta(days=2))} at 10:30 "
            "(overdue: not yet recorded as done)") in (await client.get(f"/requests/{visit.id}")).text


async def test_htmx_submit_swaps_in_the_bundled_decision(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    await login(client, world.users["partner2"].email)
    await client.post("/requests/new", data=form(client, e.id, purpose="event"), follow_redirects=False)
    await login(client, world.users["partner"].email)
    r = await client.post("/requests/new", data=form(client, e.id), headers={"HX-Request": "true", **csrf(client)})
    assert r.status_code == 200 and "<html" not in r.text
    touch_id = await db.scalar(select(Touch.id))
    assert f"Bundled into touch #{touch_id} with Maria Lopez" in r.text
    # The address bar shows the request: a refresh opens it, not an empty form that lost the decision.
    mine = await db.scalar(select(func.max(TouchRequest.id)))
    assert r.headers["hx-push-url"] == f"/requests/{mine}"
    # The same again, with new words: the first request stands and the partner is told what was not added.
    r = await client.post("/requests/new", data=form(client, e.id, summary="Now fifteen openings"),
                          headers={"HX-Request": "true", **csrf(client)})
    assert r.status_code == 200 and "Your organization already asked for this" in r.text
    assert "Nothing new was sent" in r.text and "was not added" in r.text and "Its dates" in r.text
    assert "Its summary" in r.text and "Now fifteen openings" not in r.text  # the first request's, as it says
    assert await db.scalar(select(func.count()).select_from(TouchRequest)) == 2


@pytest.mark.parametrize(("change", "field"), [
    ({"starts_in": -9, "ends_in": -1}, "window_end"),
    ({"purpose": "nonsense"}, "purpose"),
    ({"employer_id": "99999"}, "employer_id"),
    ({"summary": "x" * 2001}, "summary"),
])
async def test_bad_form_input_rerenders_the_form_with_the_error_in_place_and_writes_nothing(
        client, world, db, change, field):
    e = await world.f.employer("Sunrise Family Dental")
    await login(client, world.users["partner"].email)
    r = await client.post("/requests/new", data=form(client, e.id, **change),
                          headers={"HX-Request": "true", **csrf(client)})
    assert r.status_code == 422 and 'id="request-form"' in r.text and "<html" not in r.text
    assert 'class="error"' in r.text
    assert await db.scalar(select(func.count()).select_from(TouchRequest)) == 0


async def test_an_empty_request_form_marks_the_employer_and_the_purpose_at_once(client, world, db):
    await login(client, world.users["partner"].email)
    r = await client.post("/requests/new", data={**form(client, None), "employer_id": "", "purpose": ""},
                          headers={"HX-Request": "true", **csrf(client)})
    assert r.status_code == 422 and "choose a purpose" in r.text
    assert "choose an employer from the list, or type its name, website or FEIN" in r.text
    # With the dates reversed too, all three are said in the same answer.
    r = await client.post("/requests/new", data=form(client, None, employer_id="", purpose="", starts_in=9, ends_in=0),
                          headers={"HX-Request": "true", **csrf(client)})
    assert r.status_code == 422 and "choose a purpose" in r.text and "choose an employer from the list" in r.text
    assert "must be on or after the earliest date" in r.text
    assert await db.scalar(select(func.count()).select_from(TouchRequest)) == 0


async def test_a_typed_employer_and_a_past_window_are_marked_at_once(client, world, db):
    await login(client, world.users["partner"].email)
    r = await client.post("/requests/new", data=form(
        client, None, employer_id="", employer_name="Zzqx Widgets", employer_fein="12-34",
        employer_website="not a url !!", employer_zip="abc", purpose="", starts_in=-30, ends_in=-20),
        headers={"HX-Request": "true", **csrf(client)})
    assert r.status_code == 422
    for said in ("choose a purpose", "the window is entirely in the past", "is not a web address",
                 "&#39;abc&#39; is not a ZIP code", "FEIN"):
        assert said in r.text, said
    assert await db.scalar(select(func.count()).select_from(TouchRequest)) == 0


@pytest.mark.parametrize(("change", "said"), [
    ({"employer_id": ""}, "choose an employer from the list, or type its name, website or FEIN"),
    ({"starts_in": 9, "ends_in": 0}, "must be on or after the earliest date"),
])
async def test_form_errors_speak_the_forms_words_not_the_apis(client, world, db, change, said):
    e = await world.f.employer("Sunrise Family Dental")
    await login(client, world.users["partner"].email)
    r = await client.post("/requests/new", data=form(client, e.id, **change),
                          headers={"HX-Request": "true", **csrf(client)})
    assert r.status_code == 422 and said in r.text
    assert "employer_id or an employer" not in r.text and "after window_start" not in r.text
    assert await db.scalar(select(func.count()).select_from(TouchRequest)) == 0


async def test_my_requests_lists_only_my_organizations_requests_and_withdraws_inline(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    await login(client, world.users["partner2"].email)
    await client.post("/requests/new", data=form(client, e.id, summary="other org"), follow_redirects=False)
    await login(client, world.users["partner"].email)
    await client.post("/requests/new", data=form(client, e.id, purpose="event"), follow_redirects=False)
    mine = await db.scalar(select(TouchRequest).where(TouchRequest.purpose == "event"))
    page = await client.get("/requests")
    assert f'id="request-{mine.id}"' in page.text and "other org" not in page.text
    assert page.text.count('<tr id="request-') == 1 and "Withdraw" in page.text
    detail = (await client.get(f"/requests/{mine.id}")).text
    assert f'data-confirm="Withdraw request #{mine.id}?' in detail  # asks first, as the list does
    r = await client.post(f"/requests/{mine.id}/withdraw", headers={"HX-Request": "true", **csrf(client)})
    assert r.status_code == 200 and "withdrawn" in r.text.lower() and "<html" not in r.text
    await db.commit()  # end the session's read snapshot (SQLite WAL) before re-reading
    await db.refresh(mine)
    assert mine.status == "withdrawn"


async def test_staff_of_the_requesting_organization_read_it_as_staff_and_are_offered_no_withdraw(client, world,
                                                                                                  db):
    """The lead works for the board that sent the request: they read it neutrally, and Withdraw (the board's
    partners' to use) is neither offered nor allowed -- it was offered and then refused with a 403 page."""
    e = await world.f.employer("Sunrise Family Dental")
    await login(client, world.users["partner2"].email)  # LA Basin WDB, the lead's organization
    await client.post("/requests/new", data=form(client, e.id), follow_redirects=False)
    theirs = await db.scalar(select(TouchRequest))
    await login(client, world.users["lead"].email)
    detail = (await client.get(f"/requests/{theirs.id}")).text
    assert "Withdraw" not in detail and "Your dates" not in detail and "Requested dates" in detail
    r = await client.post(f"/requests/{theirs.id}/withdraw", headers=csrf(client))
    assert r.status_code == 403 and "partners may withdraw" in r.text


async def test_a_refused_inline_withdraw_swaps_in_the_rows_current_state_with_the_reason(client, world, desk, db):
    """The list was loaded while the request was queued; the SPOC completed the touch before Withdraw was clicked."""
    t = await desk.touch(await world.f.employer("Sunrise Family Dental"), world.users["spoc"])
    req = await desk.request(t, world.users["partner"], purpose="event")
    await login(client, world.users["partner"].email)
    assert "Withdraw" in (await client.get("/requests")).text
    await db.execute(update(TouchRequest).where(TouchRequest.id == req.id).values(status="completed",
                                                                                 outcome="interested"))
    await db.execute(update(Touch).where(Touch.id == t.id).values(status="completed"))
    await db.commit()
    r = await client.post(f"/requests/{req.id}/withdraw", headers={"HX-Request": "true", **csrf(client)})
    assert r.status_code == 409 and r.text.lstrip().startswith(f'<tr id="request-{req.id}"')
    assert "HX-Retarget" not in r.headers  # the row itself is the answer, not only the message on top
    assert 'data-status="completed"' in r.text and "Withdraw" not in r.text
    assert 'role="alert"' in r.text and "is completed and can no longer be withdrawn" in r.text


async def test_request_outcomes_get_a_badge_by_what_they_mean_on_the_list_and_the_request(client, world, desk, db):
    done = await desk.touch(await world.f.employer("Sunrise Family Dental"), world.users["spoc"], status="completed",
                            planned_in=-2)
    badge = {"interested": "ok", "referred": "ok", "follow_up": "warn", "not_interested": "bad", "no_response": ""}
    ids = {outcome: (await desk.request(done, world.users["partner"], purpose=purpose, status="completed")).id
           for purpose, outcome in zip(("hiring", "event", "apprenticeship", "training_upskilling", "other"), badge,
                                       strict=True)}
    for outcome, request_id in ids.items():
        await db.execute(update(TouchRequest).where(TouchRequest.id == request_id).values(outcome=outcome))
    await db.commit()
    await login(client, world.users["partner"].email)
    page = (await client.get("/requests")).text
    for outcome, kind in badge.items():
        said = f'<span class="badge {kind}">{words(outcome)}</span>'
        row = page.split(f'id="request-{ids[outcome]}"', 1)[1].split("</tr>", 1)[0]
        assert said in row, outcome
        # Said once, as the badge spells it; beside it, who made the contact and when.
        assert row.count(words(outcome)) == 1 and "follow up" not in row, outcome
        assert f"Completed by {world.users['spoc'].name} on {human_date(done.planned_on)}, touch #{done.id}" in row
        assert said in (await client.get(f"/requests/{ids[outcome]}")).text, outcome
    # The SPOC's card of the touch reads them the same way.
    await login(client, world.users["spoc"].email)
    card = (await client.get(f"/queue/touches/{done.id}")).text
    for outcome, kind in badge.items():
        assert f'<span class="badge {kind}">{words(outcome)}</span>' in card, outcome


async def test_a_request_page_speaks_to_the_requester_and_neutrally_to_staff(client, world, desk):
    # Held until after the last day asked for (today + 30): the requester is told it may withdraw.
    held = await desk.request(None, world.users["partner"], employer=await world.f.employer("Far Co"), release_in=40)
    await login(client, world.users["partner"].email)
    mine = (await client.get(f"/requests/{held.id}")).text.split('id="request-area"', 1)[1].split("</div>", 1)[0]
    assert "Your dates" in mine and "withdraw it if that is too late" in mine
    assert 'href="/requests">My requests</a>' in mine and 'href="/requests/new"' in mine
    for who in ("lead", "spoc"):
        await login(client, world.users[who].email)
        r = await client.get(f"/requests/{held.id}")
        assert r.status_code == 200, who
        area = r.text.split('id="request-area"', 1)[1].split("</div>", 1)[0]
        assert "Requested dates" in area and "Your dates" not in area, who
        assert "after the last day asked for" in area and "withdraw it" not in area and " you " not in area, who
        assert 'href="/requests">My requests</a>' not in area and 'href="/requests/new"' not in area, who


async def test_a_request_page_spells_its_priority_and_status_as_the_lists_do(client, world, desk, db):
    held = await desk.request(None, world.users["partner"], employer=await world.f.employer("Far Co"), release_in=9)
    await db.execute(update(TouchRequest).where(TouchRequest.id == held.id).values(
        priority="time_sensitive", status="needs_match"))
    await db.commit()
    await login(client, world.users["partner"].email)
    page = (await client.get(f"/requests/{held.id}")).text
    assert "<dt>Priority</dt><dd>time-sensitive</dd>" in page and "time sensitive" not in page
    assert '<span class="badge">needs match</span>' in page


async def test_a_request_on_a_scheduled_touch_says_scheduled_not_queued(client, world, desk):
    t = await desk.touch(await world.f.employer("Sunrise Family Dental"), world.users["spoc"], status="scheduled",
                         planned_in=4)
    first = await desk.request(t, world.users["partner"], status="scheduled")
    later = await desk.request(t, world.users["partner"], status="scheduled", purpose="event")
    await login(client, world.users["partner"].email)
    page = (await client.get(f"/requests/{first.id}")).text
    assert f"Scheduled: touch #{t.id} with Maria Lopez on {human_date(t.planned_on)}" in page
    assert "Queued as" not in page
    row = (await client.get("/requests")).text.split(f'id="request-{later.id}"', 1)[1].split("</tr>", 1)[0]
    assert f"Bundled into touch #{t.id} with Maria Lopez, scheduled for {human_date(t.planned_on)}" in row


async def test_partner_cannot_open_another_organizations_request_page(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    await login(client, world.users["partner2"].email)
    await client.post("/requests/new", data=form(client, e.id), follow_redirects=False)
    other = await db.scalar(select(TouchRequest.id))
    await login(client, world.users["partner"].email)
    assert (await client.get(f"/requests/{other}")).status_code == 404


@pytest.mark.parametrize("path", ["/requests", "/requests/new", "/requests/panel"])
async def test_chair_gets_403_on_request_pages(client, world, path):
    await login(client, world.users["chair"].email)
    assert (await client.get(path)).status_code == 403


@pytest.fixture
async def hand_offs(world, db):
    """Maria's employer with a hand-off to the partner's college and one to another organization."""
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    db.add(HandOff(employer_id=e.id, from_user_id=world.users["spoc"].id, to_org_id=world.orgs["college"].id,
                   need="Needs CNC machinist training for 6 staff"))
    db.add(HandOff(employer_id=e.id, from_user_id=world.users["spoc"].id, to_org_id=world.orgs["board"].id,
                   need="Other org's hand-off"))
    await db.commit()
    return e


async def test_my_requests_shows_hand_offs_to_my_organization_with_accept_and_decline(client, world, hand_offs):
    await login(client, world.users["partner"].email)
    page = await client.get("/requests")
    assert "Needs CNC machinist training" in page.text and "Other org's hand-off" not in page.text
    assert "/accept" in page.text and "/decline" in page.text


async def test_partner_home_counts_open_requests_and_hand_offs_waiting_for_an_answer(client, world, hand_offs):
    await login(client, world.users["partner"].email)
    for purpose in ("hiring", "event"):
        r = await client.post("/requests/new", data=form(client, hand_offs.id, purpose=purpose),
                              follow_redirects=False)
        assert r.status_code == 303
    home = (await client.get("/")).text.split('id="partner-summary"', 1)[1].split("</div>", 1)[0]
    assert "<strong>1</strong>hand-off waiting for your answer" in home
    assert "<strong>2</strong>open requests" in home and "2 queued" in home
    assert "autofocus" not in (await client.get("/")).text  # a search mid-page took the focus past the tiles


async def test_partner_home_shows_the_organizations_outcomes_of_the_last_30_days_newest_first(
        client, world, desk, db):
    e = await world.f.employer("Sunrise Family Dental")
    done = await desk.touch(e, world.users["spoc"], status="completed", planned_in=-2)
    now = dt.datetime.now(dt.UTC)
    made = (("hiring", "interested", 1, "partner"), ("event", "follow_up", 5, "partner"),
            ("apprenticeship", "referred", 40, "partner"), ("other", "interested", 1, "partner2"))
    rows = {purpose: (await desk.request(done, world.users[who], purpose=purpose, status="completed")).id
            for purpose, _, _, who in made}
    for purpose, outcome, days_ago, _ in made:
        await db.execute(update(TouchRequest).where(TouchRequest.id == rows[purpose]).values(
            outcome=outcome, outcome_note=f"note of {purpose}", closed_at=now - dt.timedelta(days=days_ago)))
    await db.commit()
    await login(client, world.users["partner"].email)
    section = (await client.get("/")).text.split('id="recent-outcomes"', 1)[1].split("</section>", 1)[0]
    shown = [int(i.split('"', 1)[0]) for i in section.split('href="/requests/')[1:]]
    assert shown == [rows["hiring"], rows["event"]]  # not the other organization's, nor one 40 days old
    assert "note of hiring" in section and '<span class="badge ok">interested</span>' in section
    await login(client, world.users["chair"].email)  # no organization's outcomes to show anyone else
    assert (await client.get("/", follow_redirects=True)).status_code == 200


async def test_back_to_a_page_htmx_did_not_keep_gets_the_whole_page_and_the_form_is_never_kept(client, world):
    await login(client, world.users["partner"].email)
    fragment = await client.get("/requests/new", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    restored = await client.get("/requests/new", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert restored.status_code == 200 and "<html" in restored.text and '<nav' in restored.text
    assert 'hx-history="false"' in restored.text  # Back reloads the form rather than a half-kept copy


async def test_a_new_employers_city_is_asked_for_stored_and_kept(client, world, db):
    await login(client, world.users["partner"].email)
    page = await client.get("/requests/new")
    assert 'name="employer_city"' in page.text
    r = await client.post("/requests/new", data=form(client, None, employer_id="", employer_name="Nimbus Kitchens",
                                                     employer_city="Glendale", purpose="event"),
                          follow_redirects=False)
    assert r.status_code == 303, r.text
    await db.rollback()
    assert await db.scalar(select(Employer.city).where(Employer.legal_name == "Nimbus Kitchens")) == "Glendale"
    # A refused form keeps the city typed.
    r = await client.post("/requests/new", data=form(client, None, employer_id="", employer_name="Orbit Cafe",
                                                     employer_city="Burbank", purpose=""),
                          headers={"HX-Request": "true", **csrf(client)})
    assert r.status_code == 422 and 'name="employer_city" value="Burbank"' in r.text


async def test_request_form_errors_are_tied_to_their_fields_and_the_employer_name_is_required(client, world, db):
    await login(client, world.users["partner"].email)
    page = (await client.get("/requests/new")).text
    name = attrs_of(page, "input", name="employer_name")
    assert name["aria-required"] == "true" and name["aria-describedby"] == "employer-match-hint"
    assert "aria-invalid" not in name
    htmx = {"HX-Request": "true", **csrf(client)}
    r = await client.post("/requests/new", data=form(client, None, employer_id=""), headers=htmx)
    assert "choose an employer from the list" in tied_errors(r.text)["employer_name"]
    assert attrs_of(r.text, "input", name="employer_name")["aria-describedby"] == (
        "employer-match-hint employer-match-name-error")
    r = await client.post("/requests/new", data=form(
        client, None, employer_id="", employer_name="Zzqx Widgets", employer_fein="12-34",
        employer_website="not a url !!", employer_zip="abc"), headers=htmx)
    assert r.status_code == 422
    assert {"employer_website", "employer_fein", "employer_zip"} <= set(tied_errors(r.text))
    e = await world.f.employer("Sunrise Family Dental")
    r = await client.post("/requests/new", data=form(client, e.id, summary="x" * 2001), headers=htmx)
    assert "summary" in tied_errors(r.text)
    assert attrs_of(r.text, "textarea", name="summary")["aria-describedby"] == "summary-error"
    r = await client.post("/requests/new", data=form(client, e.id, region="X"), headers=htmx)
    assert "region" in tied_errors(r.text)
    assert attrs_of(r.text, "select", name="region")["aria-describedby"] == "request-region-hint region-error"
    assert await db.scalar(select(func.count()).select_from(TouchRequest)) == 0


async def test_the_panel_reloads_into_its_own_section_so_the_live_region_stays(client, world):
    e = await world.f.employer("Sunrise Family Dental")
    await login(client, world.users["partner"].email)
    page = (await client.get("/requests/new")).text
    section = attrs_of(page, "section", id="employer-panel")
    assert section["hx-swap"] == "innerHTML" and section["aria-live"] == "polite"
    r = await client.get("/requests/panel", params={"employer_id": e.id, "region": "LA-BASIN"},
                         headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<section" not in r.text and "employer-panel" not in r.text
    assert r.text.lstrip().startswith("<h2>Is someone already talking to this employer?</h2>")
    assert "Sunrise Family Dental" in r.text


async def test_panel_says_when_the_spoc_is_away_and_who_covers(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"], backup_spoc_id=world.users["spoc2"].id)
    await db.execute(update(User).where(User.id == world.users["spoc"].id).values(away=True))
    await db.commit()
    await login(client, world.users["partner"].email)
    panel = (await client.get("/requests/panel", params={"employer_id": e.id},
                              headers={"HX-Request": "true"})).text
    assert "Maria Lopez (away; Sam Ortiz covers)" in panel


async def test_a_requests_page_says_the_hand_off_its_touch_made_to_the_organization_and_links_to_it(
        client, world, desk, db):
    e = await world.f.employer("Sunrise Family Dental")
    touch = await desk.touch(e, world.users["spoc"], status="completed")
    req = await desk.request(touch, world.users["partner"], status="completed", summary="two hygienists")
    h = await desk.hand_off(touch, world.users["spoc"], world.orgs["college"].id, need="hiring 2 hygienists")
    other = await desk.hand_off(touch, world.users["spoc"], world.orgs["board"].id, need="a job fair booth")
    await login(client, world.users["partner"].email)
    page = (await client.get(f"/requests/{req.id}")).text
    assert f"Hand-off #{h.id}</dt>" in page and "answer it on My requests</a>" in page
    assert f"Hand-off #{other.id}" not in page  # another organization's
    assert page.count("two hygienists") == 1  # the summary once, with the decision


async def test_a_partner_finding_no_employer_in_the_directory_is_offered_a_request_naming_it(client, world):
    await login(client, world.users["partner"].email)
    page = (await client.get("/employers", params={"q": "Zyqwert Fabrication"})).text
    assert 'href="/requests/new?employer_name=Zyqwert%20Fabrication">Request contact with' in page
    form = (await client.get("/requests/new", params={"employer_name": "  Zyqwert   Fabrication "})).text
    assert 'value="Zyqwert Fabrication"' in form


@pytest.mark.parametrize("typed", ["95-4812736", "954812736", " 95-4812736 "])
async def test_a_partner_finds_an_employer_by_the_fein_its_profile_shows(client, world, typed):
    acme = await world.f.employer("ACME Corporation", fein="95-4812736")
    await world.f.employer("Other Works", fein="12-3456789")
    await login(client, world.users["partner"].email)
    page = (await client.get("/employers", params={"q": typed})).text
    assert f'href="/employers/{acme.id}"' in page and "Other Works" not in page


async def test_a_fein_the_directory_does_not_know_goes_to_the_fein_field_not_the_name(client, world, db):
    await login(client, world.users["partner"].email)
    page = (await client.get("/employers", params={"q": "95-4812736"})).text
    assert 'href="/requests/new?employer_fein=95-4812736">Request contact with it anyway' in page
    assert "employer_name=95" not in page
    form = (await client.get("/requests/new", params={"employer_fein": "95-4812736"})).text
    assert attrs_of(form, "input", name="employer_fein")["value"] == "95-4812736"
    assert attrs_of(form, "input", name="employer_name").get("value", "") == ""
    # Typed as the name anyway, it is refused at the name: no employer named by its FEIN is created.
    r = await client.post("/api/touch-requests", headers=await world.f.auth(world.users["partner"]), json={
        "employer": {"name": "95-4812736"}, "region": "LA-BASIN", "purpose": "hiring",
        "window_start": today().isoformat(), "window_end": (today() + dt.timedelta(days=30)).isoformat()})
    assert r.status_code == 422 and "employer.name" in r.text and "is a FEIN" in r.text
    assert await db.scalar(select(func.count(Employer.id))) == 0


async def test_my_requests_filter_by_status_with_counts(client, world, desk):
    e = await world.f.employer("Sunrise Family Dental")
    t = await desk.touch(e, world.users["spoc"])
    queued = await desk.request(t, world.users["partner"])
    held = await desk.request(None, world.users["partner"], employer=e, purpose="apprenticeship", release_in=9)
    done_touch = await desk.touch(e, world.users["spoc"], status="completed", planned_in=-5)
    done = await desk.request(done_touch, world.users["partner"], purpose="work_based_learning", status="completed")
    other = await desk.request(None, world.users["partner2"], employer=e, release_in=3)  # another organization's
    await login(client, world.users["partner"].email)

    def listed(html: str) -> set[int]:
        rows = html.split('id="requests"', 1)[1].split("</table>", 1)[0]
        return {r.id for r in (queued, held, done, other) if f'href="/requests/{r.id}"' in rows}

    page = (await client.get("/requests")).text
    assert "All (3)" in page and "Open (2)" in page and "Held (1)" in page and "Completed (1)" in page
    assert listed(page) == {queued.id, held.id, done.id}
    assert listed((await client.get("/requests", params={"status": "held"})).text) == {held.id}
    opened = (await client.get("/requests", params={"status": "open"})).text
    assert listed(opened) == {queued.id, held.id} and '<option value="open" selected>' in opened
    assert "No withdrawn requests." in (await client.get("/requests", params={"status": "withdrawn"})).text
    bad = await client.get("/requests", params={"status": "lost"})
    assert bad.status_code == 422 and "status" in bad.text
