"""The SPOC queue page: urgency groups, bundled and held requests, inline htmx actions with errors in place."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select, update

from crm import clock
from crm.auth.models import User
from crm.employers.models import Employer
from crm.notify.models import OutboxMessage
from crm.touches import queue
from crm.touches.models import HandOff, Touch, TouchRequest, touch_contact
from crm.touches.requests import BLACKOUT_HOLD, human_date
from tests.a11y import attrs_of, texts_of, tied_errors
from tests.factories import csrf, login, next_spring_forward, recorded_statements, seen_in
from tests.touches.conftest import today

HX = {"HX-Request": "true"}


def _section(html: str, start: str, end: str | None) -> str:
    chunk = html.split(f'id="{start}"', 1)[1]
    return chunk.split(f'id="{end}"', 1)[0] if end else chunk


def _card(html: str, touch_id: int) -> str:
    return html.split(f'id="touch-{touch_id}"', 1)[1].split("</article>", 1)[0]


def _day(days: int) -> str:
    """Today + ``days`` as the pages write a date ("20 Dec 2026")."""
    day = today() + dt.timedelta(days=days)
    return f"{day.day} {day:%b %Y}"


async def _fresh(db, model, id_):
    await db.rollback()
    return await db.get(model, id_)


@pytest.mark.parametrize("who", ["lead", "spoc"])
async def test_staff_land_on_the_queue(client, world, who):
    await login(client, world.users[who].email)
    r = await client.get("/", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "/queue"


async def test_queue_groups_touches_by_urgency_and_shows_bundled_and_held_requests(client, world, desk):
    late, soon, far = [await world.f.employer(n) for n in ("Late Co", "Soon Co", "Far Co")]
    await desk.touch(late, world.users["spoc"], planned_in=-2)
    t = await desk.touch(soon, world.users["spoc"], planned_in=3)
    await desk.touch(far, world.users["spoc"], planned_in=20)
    await world.f.assign(far, world.users["spoc"])  # its held request is the SPOC's: the employer is theirs
    await desk.request(t, world.users["partner"], purpose="work_based_learning", summary="CNC apprentices for spring")
    await desk.request(None, world.users["partner2"], employer=far, purpose="training_upskilling", release_in=9,
                       summary="job fair booth")
    await login(client, world.users["spoc"].email)
    html = (await client.get("/queue")).text
    assert "Late Co" in _section(html, "group-overdue", "group-week")
    week = _section(html, "group-week", "group-later")
    assert "Soon Co" in week and "East LA College" in week and "CNC apprentices for spring" in week
    assert "work-based learning" in week and "work_based_learning" not in week  # codes read as words
    assert "Far Co" in _section(html, "group-later", "held")
    held = _section(html, "held", None)
    release = today() + dt.timedelta(days=9)
    assert "job fair booth" in held and f"{release.day} {release:%b %Y}" in held
    assert "training and upskilling" in held and "training_upskilling" not in held
    assert 'id="unassigned-queue"' not in html  # SPOCs do not work the unassigned queue


async def test_a_blackout_hold_reads_neutrally_to_staff_and_with_you_to_the_requester(client, world, desk, db):
    e = await world.f.employer("Far Co")
    await world.f.assign(e, world.users["spoc"])
    held = await desk.request(None, world.users["partner"], employer=e, release_in=9)
    await db.execute(update(TouchRequest).where(TouchRequest.id == held.id).values(
        hold_reason=BLACKOUT_HOLD))  # as intake stores it
    await db.commit()
    await login(client, world.users["spoc"].email)
    row = _section((await client.get("/queue")).text, "held", None)
    assert "not to be contacted on the days requested" in row and "you asked for" not in row
    area = (await client.get(f"/requests/{held.id}")).text.split('id="request-area"', 1)[1].split("</div>", 1)[0]
    assert "not to be contacted on the days requested" in area and "you asked for" not in area
    await login(client, world.users["partner"].email)
    area = (await client.get(f"/requests/{held.id}")).text.split('id="request-area"', 1)[1].split("</div>", 1)[0]
    assert "not to be contacted on the days you asked for" in area


async def test_the_queue_search_narrows_the_held_requests_too(client, world, desk):
    for name, summary in [("Far Co", "job fair booth"), ("Other Co", "mock interviews")]:
        employer = await world.f.employer(name)
        await world.f.assign(employer, world.users["spoc"])
        await desk.request(None, world.users["partner"], employer=employer, release_in=9, summary=summary)
    await login(client, world.users["spoc"].email)
    held = _section((await client.get("/queue", params={"q": "far co"})).text, "held", None)
    assert "job fair booth" in held and "mock interviews" not in held
    held = _section((await client.get("/queue", params={"q": "nobody inc"})).text, "held", None)
    assert "No held requests match “nobody inc”" in held
    assert "mock interviews" in _section((await client.get("/queue")).text, "held", None)


async def test_a_full_held_list_says_more_are_held(client, world, desk, monkeypatch):
    monkeypatch.setattr(queue, "HELD_SHOWN", 2)
    for name in ("Far Co", "Other Co", "Third Co"):
        employer = await world.f.employer(name)
        await world.f.assign(employer, world.users["spoc"])
        await desk.request(None, world.users["partner"], employer=employer, release_in=9)
    await login(client, world.users["spoc"].email)
    held = _section((await client.get("/queue")).text, "held", None)
    assert "Held requests <span class=\"muted\">(2+)</span>" in held and "more are held" in held
    held = _section((await client.get("/queue", params={"q": "third"})).text, "held", None)
    assert "(1)</span>" in held and "more are held" not in held


async def _held_of_each_kind(world, desk, db):
    """A held request of: the SPOC's own employer, one they back up for an away SPOC, one they back up for a
    SPOC at work, another SPOC's, and an employer with no SPOC (the lead's unassigned queue)."""
    spoc, away = world.users["spoc"], world.users["spoc2"]
    grace = await world.f.user("grace@example.org", "Grace Kim", [("spoc", "LA-BASIN")], org=world.orgs["board"])
    await db.execute(update(User).where(User.id == away.id).values(away=True))
    await db.commit()
    held = {}
    for key, owner, backup in [("own", spoc, None), ("covered", away, spoc), ("backed_up", grace, spoc),
                               ("others", grace, None), ("unassigned", None, None)]:
        employer = await world.f.employer(f"{key.capitalize()} Co")
        if owner is not None:
            await world.f.assign(employer, owner, backup_spoc_id=backup.id if backup else None)
        held[key] = await desk.request(None, world.users["partner"], employer=employer, release_in=9,
                                       summary=f"{key} booth")
    return held


async def test_a_spoc_holds_the_held_requests_of_their_employers_and_those_they_cover_a_lead_the_regions(
        client, world, desk, db):
    await _held_of_each_kind(world, desk, db)
    await login(client, world.users["spoc"].email)
    held = _section((await client.get("/queue")).text, "held", None)
    assert "own booth" in held and "covered booth" in held
    assert "backed_up booth" not in held and "others booth" not in held and "unassigned booth" not in held
    assert "Held requests <span class=\"muted\">(2)</span>" in held
    assert "Those of your employers and of the employers you cover while their SPOC is away." in held
    await login(client, world.users["lead"].email)
    held = _section((await client.get("/queue")).text, "held", None)
    assert all(f"{key} booth" in held for key in ("own", "covered", "backed_up", "others", "unassigned"))
    assert "Held requests <span class=\"muted\">(5)</span>" in held and "Those of your employers" not in held


async def test_the_held_list_a_spocs_cancel_sends_along_is_theirs_too(client, world, desk, db):
    held = await _held_of_each_kind(world, desk, db)
    mine = await db.get(TouchRequest, held["own"].id)
    t = await desk.touch(await db.get(Employer, mine.employer_id), world.users["spoc"])
    await desk.request(t, world.users["partner2"], summary="forklift drivers")
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/touches/{t.id}/cancel", headers={**HX, **csrf(client)},
                          data={"reason": "owner retired"})
    assert r.status_code == 200, r.text
    sent = r.text.split('id="held"', 1)[1]
    assert "forklift drivers" in sent and "own booth" in sent and "covered booth" in sent
    assert "others booth" not in sent and "unassigned booth" not in sent and "backed_up booth" not in sent


async def test_a_refused_htmx_filter_is_said_above_the_page_instead_of_replacing_the_queue(client, world):
    await login(client, world.users["spoc"].email)
    page = (await client.get("/queue")).text
    assert 'maxlength="200"' in page.split('name="q"', 1)[1].split(">", 1)[0] and 'id="htmx-error"' in page
    r = await client.get("/queue", params={"q": "x" * 201}, headers=HX)
    assert r.status_code == 422
    assert r.headers["hx-retarget"] == "#htmx-error" and r.headers["hx-reswap"] == "innerHTML"
    assert "<html" not in r.text and "<nav" not in r.text and 'role="alert"' in r.text and "q" in r.text


async def test_a_touch_planned_in_its_employers_blackout_dates_says_so_on_its_card_and_its_page(client, world, desk):
    closing = await world.f.employer("Harbor Freight Lines")
    t = await desk.touch(closing, world.users["spoc"], planned_in=10)
    await desk.blackout(closing, 8, 20, "year-end close")
    await desk.blackout(closing, 40, 45, "harvest season")  # another period of the employer, not the touch's day
    calm = await world.f.employer("Calm Waters Co")
    fine = await desk.touch(calm, world.users["spoc"], planned_in=10)
    await desk.blackout(calm, 30, 35, "inventory")
    await login(client, world.users["spoc"].email)
    html = (await client.get("/queue")).text
    warning = f"Planned on a blackout day: {_day(8)} – {_day(20)} (year-end close)."
    card = _card(html, t.id)
    assert warning in card and "harvest season" not in card
    assert "blackout" not in _card(html, fine.id)
    page = (await client.get(f"/queue/touches/{t.id}")).text
    assert warning in page and "Harbor Freight Lines asked not to be contacted then" in page


async def test_marking_an_employer_do_not_contact_says_which_open_touches_wait_and_their_cards_say_so(
        client, world, desk):
    quiet = await world.f.employer("Valley Harvest Foods")
    queued = await desk.touch(quiet, world.users["spoc"], planned_in=3)
    booked = await desk.touch(quiet, world.users["spoc"], planned_in=12, status="scheduled", channel="visit",
                              scheduled_at=clock.now() + dt.timedelta(days=12))
    done = await desk.touch(quiet, world.users["spoc"], planned_in=-20, status="completed")
    other = await desk.touch(await world.f.employer("Calm Waters Co"), world.users["spoc"], planned_in=3)
    await login(client, world.users["spoc"].email)
    page = await client.get(f"/employers/{quiet.id}/edit")
    form = {"legal_name": "Valley Harvest Foods", "county": "Los Angeles", "seen": seen_in(page.text),
            "do_not_contact": "yes"}
    r = await client.post(f"/employers/{quiet.id}/edit", headers=csrf(client), data=form)
    assert r.status_code == 200, r.text  # followed to the employer page
    assert (f"Valley Harvest Foods asked not to be contacted, but 2 open touches (#{queued.id}, #{booked.id}) "
            "still wait in the queue: cancel them there (their requesters are told).") in r.text
    html = (await client.get("/queue")).text
    said = "Valley Harvest Foods asked not to be contacted: cancel this touch (its requesters are told)"
    assert said in _card(html, queued.id) and said in _card(html, booked.id)
    assert "asked not to be contacted" not in _card(html, other.id)
    assert said in (await client.get(f"/queue/touches/{queued.id}")).text
    assert "asked not to be contacted" not in (await client.get(f"/queue/touches/{done.id}")).text  # closed
    r = await client.post(f"/queue/touches/{queued.id}/cancel", headers={**HX, **csrf(client)},
                          data={"reason": "the employer asked not to be contacted", "then": "decline"})
    assert r.status_code == 200, r.text
    assert "asked not to be contacted:" not in _card(r.text, queued.id)  # cancelled: nothing left to do
    # Saving the employer again says nothing more: the flag was already set.
    page = await client.get(f"/employers/{quiet.id}/edit")
    r = await client.post(f"/employers/{quiet.id}/edit", headers=csrf(client), data={
        **form, "seen": seen_in(page.text), "notes": "owner retired"})
    assert "Valley Harvest Foods saved" in r.text and "still wait" not in r.text


async def test_an_appointment_a_lead_makes_inside_the_blackout_dates_is_flagged_on_the_swapped_row(client, world,
                                                                                                   desk, db):
    closing = await world.f.employer("Harbor Freight Lines")
    t = await desk.touch(closing, world.users["spoc"], planned_in=3)
    await desk.blackout(closing, 8, 20, "year-end close")
    await login(client, world.users["lead"].email)
    await client.get("/queue")
    assert "blackout day" not in _card((await client.get("/queue")).text, t.id)  # planned before the dates
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)}, data={
        "scheduled_on": (today() + dt.timedelta(days=10)).isoformat(), "scheduled_time": "10:00", "channel": "visit",
        "override_reason": "the owner asked us to come before the close"})
    assert r.status_code == 200, r.text
    assert (await _fresh(db, Touch, t.id)).status == "scheduled"
    assert f"Scheduled on a blackout day: {_day(8)} – {_day(20)} (year-end close)." in _card(r.text, t.id)


async def test_the_queue_reads_the_blackout_dates_of_every_card_in_one_statement(client, world, desk):
    touches = []
    for name in ("First Co", "Second Co", "Third Co"):
        employer = await world.f.employer(name)
        touches.append(await desk.touch(employer, world.users["spoc"], planned_in=10))
        await desk.blackout(employer, 5, 15, f"{name} stocktake")
    await login(client, world.users["spoc"].email)
    with recorded_statements() as statements:
        html = (await client.get("/queue")).text
    assert all("(" + name + " stocktake)" in _card(html, t.id)
               for t, name in zip(touches, ("First Co", "Second Co", "Third Co"), strict=True))
    assert len([s for s in statements if "employer_blackout" in s]) == 1


async def test_completed_cards_show_their_hand_offs_after_a_reload_read_in_one_statement(client, world, desk):
    done = []
    for name, need in (("First Co", "needs 3 welders"), ("Second Co", "forklift training")):
        t = await desk.touch(await world.f.employer(name), world.users["spoc"], status="completed", planned_in=-2)
        await desk.hand_off(t, world.users["spoc"], world.orgs["college"].id, need=need)
        done.append(t)
    quiet = await desk.touch(await world.f.employer("Third Co"), world.users["spoc"], status="completed", planned_in=-3)
    await login(client, world.users["spoc"].email)
    with recorded_statements() as statements:
        html = (await client.get("/queue", params={"status": "completed"})).text
    assert "East LA College · needs 3 welders · pending" in _card(html, done[0].id)
    assert "East LA College · forklift training · pending" in _card(html, done[1].id)
    assert "Hand-offs:" not in _card(html, quiet.id)
    assert len([s for s in statements if "FROM hand_off JOIN organization" in s]) == 1
    assert len([s for s in statements if "FROM hand_off" in s]) == 2  # and the declined ones to settle


async def test_completed_touches_are_listed_latest_first_without_urgency_groups(client, world, desk):
    old, recent = await world.f.employer("Old Co"), await world.f.employer("Recent Co")
    await desk.touch(old, world.users["spoc"], status="completed", planned_in=-30)
    await desk.touch(recent, world.users["spoc"], status="completed", planned_in=-2)
    await login(client, world.users["spoc"].email)
    page = (await client.get("/queue", params={"status": "completed"})).text
    assert 'id="group-overdue"' not in page and 'id="group-closed"' in page
    section = _section(page, "group-closed", "held")
    assert "Completed <span class=\"muted\">(2)" in section
    assert section.index("Recent Co") < section.index("Old Co")


async def test_lead_sees_the_unassigned_queue_with_an_assign_form(client, world, desk):
    t = await desk.touch(await world.f.employer("Orphan Co"))
    await login(client, world.users["lead"].email)
    unassigned = _section((await client.get("/queue")).text, "unassigned-queue", "held")
    assert "Orphan Co" in unassigned and f"/queue/touches/{t.id}/forms/reassign" in unassigned
    form = (await client.get(f"/queue/touches/{t.id}/forms/reassign", headers=HX)).text
    assert "<html" not in form and "Sam Ortiz" in form and f'action="/queue/touches/{t.id}/reassign"' in form


async def test_a_refused_reassign_form_keeps_the_spoc_chosen_and_the_reason(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Orphan Co"))
    sam = world.users["spoc2"]
    await login(client, world.users["lead"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/touches/{t.id}/reassign", headers={**HX, **csrf(client)},
                          data={"spoc_id": str(sam.id), "reason": "x" * 2001})  # one character too many
    assert r.status_code == 422 and 'role="alert"' in r.text
    assert f'<option value="{sam.id}" selected>' in r.text.split('name="spoc_id"', 1)[1].split("</select>", 1)[0]
    assert 'value="' + "x" * 2001 + '"' in r.text
    assert (await _fresh(db, Touch, t.id)).spoc_id is None


async def test_action_forms_are_fetched_when_opened_and_all_shown_on_the_touch_page(client, world, desk):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    await desk.request(t, world.users["partner"])
    await login(client, world.users["spoc"].email)
    row = _section((await client.get("/queue")).text, f"touch-{t.id}", "held")
    assert f'hx-get="/queue/touches/{t.id}/forms/schedule"' in row and 'name="scheduled_on"' not in row
    assert f'href="/queue/touches/{t.id}#schedule-{t.id}"' in row  # without JavaScript: the touch's own page
    form = (await client.get(f"/queue/touches/{t.id}/forms/complete", headers=HX)).text
    assert "<html" not in form and f'action="/queue/touches/{t.id}/complete"' in form and "East LA College" in form
    assert '<select name="channel" required><option value="">Choose how</option>' in form  # never scheduled
    page = (await client.get(f"/queue/touches/{t.id}")).text
    for action in ("schedule", "complete", "cancel"):
        assert f'action="/queue/touches/{t.id}/{action}"' in page
    assert (await client.get(f"/queue/touches/{t.id}/forms/nonsense")).status_code == 404


async def test_touch_page_and_forms_are_refused_to_staff_of_another_region(client, world, desk):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    await login(client, world.users["bay_spoc"].email)
    assert (await client.get(f"/queue/touches/{t.id}")).status_code == 403
    assert (await client.get(f"/queue/touches/{t.id}/forms/schedule", headers=HX)).status_code == 403


async def test_reassign_form_is_for_leads_and_a_closed_touch_offers_no_form(client, world, desk):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    done = await desk.touch(await world.f.employer("Blue Ocean Seafood"), world.users["spoc"], status="completed")
    await login(client, world.users["spoc"].email)
    assert (await client.get(f"/queue/touches/{t.id}/forms/reassign", headers=HX)).status_code == 404
    r = await client.get(f"/queue/touches/{done.id}/forms/cancel", headers=HX)
    assert r.status_code == 200 and "completed now" in r.text and "<form" not in r.text


async def test_a_full_page_says_how_many_touches_the_queue_holds(client, world, desk, monkeypatch):
    monkeypatch.setattr("crm.touches.queue_pages.QUEUE_PAGE", 2)
    for name, days in (("Third Co", 9), ("First Co", 1), ("Second Co", 5)):
        await desk.touch(await world.f.employer(name), world.users["spoc"], planned_in=days)
    await login(client, world.users["spoc"].email)
    html = (await client.get("/queue")).text
    assert "First Co" in html and "Second Co" in html and "Third Co" not in html  # soonest first
    assert "Showing the first 2 of 3 touches" in html


async def test_a_lead_sees_how_many_touches_are_unassigned_and_can_list_only_those(client, world, desk,
                                                                                monkeypatch):
    monkeypatch.setattr("crm.touches.queue_pages.QUEUE_PAGE", 3)
    for name, days in (("Soon One Co", 1), ("Soon Two Co", 2), ("Soon Three Co", 3)):
        await desk.touch(await world.f.employer(name), world.users["spoc"], planned_in=days)
    for name, days in (("Orphan Later Co", 10), ("Orphan Last Co", 11)):
        await desk.touch(await world.f.employer(name), planned_in=days)
    await login(client, world.users["lead"].email)
    page = (await client.get("/queue")).text
    unassigned = _section(page, "unassigned-queue", "held")
    assert "Orphan" not in unassigned and "(0 of 2)" in unassigned  # past the page's first 3 touches
    # static/app.js recounts the shown ones after a row is closed in place, keeping the 2 not shown.
    assert '<span class="muted" data-open-count data-beyond="2">(0 of 2)</span>' in unassigned
    assert 'href="/queue?who=unassigned">Show the 2 unassigned only</a>' in unassigned
    only = (await client.get("/queue", params={"who": "unassigned"}, headers=HX)).text
    assert "Orphan Later Co" in only and "Orphan Last Co" in only and "Soon One Co" not in only
    assert "Show the 2 unassigned only" not in only and "(2)" in _section(only, "unassigned-queue", "held")
    assert 'id="group-overdue"' not in only and "Nothing overdue" not in only  # not three empty groups first
    bad = (await client.get("/queue", params={"who": "nobody"})).text
    assert "who: must be everyone" in bad
    await login(client, world.users["spoc"].email)
    assert 'name="who"' not in (await client.get("/queue")).text  # a SPOC works no unassigned queue


async def test_filtering_with_htmx_returns_only_the_queue_body(client, world, desk):
    golden = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    await desk.touch(await world.f.employer("Blue Ocean Seafood"), world.users["spoc"])
    await login(client, world.users["spoc"].email)
    r = await client.get("/queue", params={"q": "golden"}, headers=HX)
    assert r.status_code == 200 and "<html" not in r.text and 'id="queue-body"' in r.text
    assert "Golden State Logistics" in r.text and "Blue Ocean" not in r.text
    r = await client.get("/queue", params={"q": "zebra"}, headers=HX)
    assert "Nothing due in the next 7 days matches “zebra”." in r.text
    # A touch's number finds it, as cards and e-mails write it; so does an employer's.
    ocean_touch = await desk.touch(await world.f.employer("Ocean Harbor Freight"), world.users["spoc"])
    for q in (f"#{ocean_touch.id}", str(ocean_touch.id), f"#{ocean_touch.employer_id}"):
        found = (await client.get("/queue", params={"q": q}, headers=HX)).text
        # Touch and employer numbers count separately (PostgreSQL's never restart between tests), so the
        # number may be Golden's touch or employer too: then it is found as well, and only then.
        also_golden = int(q.lstrip("#")) in (golden.id, golden.employer_id)
        assert "Ocean Harbor Freight" in found and ("Golden State Logistics" in found) == also_golden, q
    r = await client.get("/queue", params={"status": "bogus"}, headers=HX)
    assert r.text.index('role="alert"') < r.text.index('id="group-overdue"')  # the filter's error comes first


async def test_inline_schedule_swaps_the_touch_row(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    day = (today() + dt.timedelta(days=4)).isoformat()
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)},
                          data={"scheduled_on": day, "scheduled_time": "09:30", "channel": "call"})
    assert r.status_code == 200 and "<html" not in r.text
    assert r.text.lstrip().startswith(f'<article class="touch card" id="touch-{t.id}"') and "Scheduled" in r.text
    assert r.headers["HX-Trigger-After-Settle"] == "queue-changed"  # the queue body then reloads itself
    touch = await _fresh(db, Touch, t.id)
    assert touch.status == "scheduled" and touch.planned_on.isoformat() == day



async def _schedule_form_seen(client, touch_id: int) -> str:
    """The ``seen`` of the schedule form a queue row fetches when opened."""
    form = await client.get(f"/queue/touches/{touch_id}/forms/schedule", headers=HX)
    assert form.status_code == 200
    return seen_in(form.text)


async def _mail_to(db, email: str) -> list[str]:
    await db.rollback()
    return [m.subject for m in await db.scalars(select(OutboxMessage).where(OutboxMessage.to_email == email)
                                                .order_by(OutboxMessage.id))]


async def test_a_schedule_form_older_than_anothers_appointment_is_refused_in_the_row_keeping_what_was_typed(
        client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    await desk.request(t, world.users["partner"])
    await login(client, world.users["admin"].email)
    admin_saw = await _schedule_form_seen(client, t.id)  # the admin's form stays open
    await login(client, world.users["lead"].email)
    visit_on = (today() + dt.timedelta(days=8)).isoformat()
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)}, data={
        "scheduled_on": visit_on, "scheduled_time": "10:00", "channel": "visit",
        "seen": await _schedule_form_seen(client, t.id)})
    assert r.status_code == 200, r.text
    await login(client, world.users["admin"].email)
    call_on = (today() + dt.timedelta(days=14)).isoformat()
    typed = {"scheduled_on": call_on, "scheduled_time": "15:45", "channel": "call", "seen": admin_saw}
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)}, data=typed)
    assert r.status_code == 409
    assert r.text.lstrip().startswith(f'<article class="touch card" id="touch-{t.id}"')  # the row, in place
    assert f"Touch #{t.id} was scheduled meanwhile by Lee Lead, " in r.text and f"visit on {_day(8)} 10:00" in r.text
    assert f"Scheduled {_day(8)} 10:00" in r.text  # the card shows the appointment as it is now
    assert f'value="{call_on}"' in r.text and 'value="15:45"' in r.text  # what the admin typed stays
    assert '<option value="call" selected>' in r.text
    # Without JavaScript: the queue page with the refusal on the row.
    r = await client.post(f"/queue/touches/{t.id}/schedule", data={
        **typed, "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 409 and "<html" in r.text and "scheduled meanwhile by Lee Lead" in _card(r.text, t.id)
    touch = await _fresh(db, Touch, t.id)
    assert (touch.channel, touch.planned_on.isoformat()) == ("visit", visit_on)
    assert len(await _mail_to(db, world.users["partner"].email)) == 1  # no contradicting second e-mail
    # Rescheduling stays allowed from a form that showed the current appointment (the refusal's form).
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)},
                          data={**typed, "seen": seen_in(r.text, f"/queue/touches/{t.id}/schedule")})
    assert r.status_code == 200, r.text
    assert (await _fresh(db, Touch, t.id)).planned_on.isoformat() == call_on


async def test_a_schedule_form_older_than_a_reassignment_says_who_owns_the_touch_now(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    await login(client, world.users["spoc"].email)
    maria_saw = await _schedule_form_seen(client, t.id)
    await login(client, world.users["lead"].email)
    r = await client.post(f"/queue/touches/{t.id}/reassign", headers={**HX, **csrf(client)},
                          data={"spoc_id": str(world.users["spoc2"].id)})
    assert r.status_code == 200, r.text
    await login(client, world.users["spoc"].email)
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)}, data={
        "scheduled_on": (today() + dt.timedelta(days=5)).isoformat(), "scheduled_time": "10:00", "channel": "call",
        "seen": maria_saw})
    assert r.status_code == 409 and f"Touch #{t.id} now belongs to Sam Ortiz (reassigned by Lee Lead" in r.text
    assert (await _fresh(db, Touch, t.id)).status == "queued"


async def test_the_owner_is_told_when_someone_else_schedules_their_touch(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc2"])  # Sam's
    await login(client, world.users["lead"].email)
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)}, data={
        "scheduled_on": (today() + dt.timedelta(days=5)).isoformat(), "scheduled_time": "11:00", "channel": "visit",
        "seen": await _schedule_form_seen(client, t.id)})
    assert r.status_code == 200, r.text
    assert await _mail_to(db, world.users["spoc2"].email) == [
        f"Lee Lead scheduled your touch #{t.id} with Golden State Logistics"]
    # The owner scheduling it himself is not mailed about his own appointment.
    await login(client, world.users["spoc2"].email)
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)}, data={
        "scheduled_on": (today() + dt.timedelta(days=6)).isoformat(), "scheduled_time": "11:00", "channel": "visit",
        "seen": await _schedule_form_seen(client, t.id)})
    assert r.status_code == 200, r.text
    assert len(await _mail_to(db, world.users["spoc2"].email)) == 1


async def test_a_reassign_form_older_than_anothers_reassignment_is_refused_and_can_be_sent_again(
        client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    await login(client, world.users["lead"].email)
    form = await client.get(f"/queue/touches/{t.id}/forms/reassign", headers=HX)
    lead_saw = seen_in(form.text)
    await login(client, world.users["admin"].email)
    r = await client.post(f"/queue/touches/{t.id}/reassign", headers={**HX, **csrf(client)},
                          data={"spoc_id": str(world.users["spoc2"].id), "seen": lead_saw})
    assert r.status_code == 200, r.text
    # The lead, from the form that still showed Maria as the owner, would silently undo the admin's choice.
    await login(client, world.users["lead"].email)
    r = await client.post(f"/queue/touches/{t.id}/reassign", headers={**HX, **csrf(client)},
                          data={"spoc_id": str(world.users["lead"].id), "reason": "I'll take it", "seen": lead_saw})
    assert r.status_code == 409 and f"Touch #{t.id} now belongs to Sam Ortiz (reassigned by Ada Admin" in r.text
    assert "reassign again to hand it over anyway" in r.text and "take it" in r.text  # the reason typed stays
    assert (await _fresh(db, Touch, t.id)).spoc_id == world.users["spoc2"].id
    r = await client.post(f"/queue/touches/{t.id}/reassign", headers={**HX, **csrf(client)},
                          data={"spoc_id": str(world.users["lead"].id), "seen": seen_in(r.text)})
    assert r.status_code == 200, r.text
    assert (await _fresh(db, Touch, t.id)).spoc_id == world.users["lead"].id


async def test_scheduling_outside_the_requesters_dates_asks_to_confirm_in_place_keeping_whom_they_meet(
        client, world, desk, db):
    e = await world.f.employer("Golden State Logistics")
    ana, bob = await desk.contact(e, "Ana Ruiz"), await desk.contact(e, "Bob Chen")
    t = await desk.touch(e, world.users["spoc"])
    await desk.request(t, world.users["partner"])  # today .. today + 30
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    day = (today() + dt.timedelta(days=60)).isoformat()
    form = {"scheduled_on": day, "scheduled_time": "10:00", "channel": "visit", "contact_ids": [str(ana.id)]}
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)}, data=form)
    assert r.status_code == 422 and "outside the dates requesters asked for" in r.text
    assert 'name="outside_window"' in r.text
    # The form that comes back to confirm keeps whom the SPOC ticked (confirming it must not drop them).
    assert "checked" in attrs_of(r.text, "input", name="contact_ids", value=str(ana.id))
    assert "checked" not in attrs_of(r.text, "input", name="contact_ids", value=str(bob.id))
    assert (await _fresh(db, Touch, t.id)).status == "queued"
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)},
                          data={**form, "outside_window": "1"})
    assert r.status_code == 200
    touch = await _fresh(db, Touch, t.id)
    assert (touch.status, touch.planned_on.isoformat(), [c.id for c in touch.contacts]) == ("scheduled", day, [ana.id])


async def test_a_reschedule_form_sent_back_with_no_one_ticked_shows_no_one_ticked(client, world, desk, db):
    e = await world.f.employer("Golden State Logistics")
    ana = await desk.contact(e, "Ana Ruiz")
    t = await desk.touch(e, world.users["spoc"])
    await db.execute(touch_contact.insert().values(touch_id=t.id, contact_id=ana.id))  # as scheduling notes it
    await db.commit()
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)}, data={
        "scheduled_on": (today() - dt.timedelta(days=2)).isoformat(), "scheduled_time": "10:00", "channel": "visit"})
    assert r.status_code == 422 and "must not be in the past" in r.text
    assert "checked" not in attrs_of(r.text, "input", name="contact_ids", value=str(ana.id))


async def test_the_scheduled_time_is_california_time(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    day = today() + dt.timedelta(days=4)
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)},
                          data={"scheduled_on": day.isoformat(), "scheduled_time": "17:30", "channel": "visit"})
    assert r.status_code == 200, r.text
    touch = await _fresh(db, Touch, t.id)
    # 5:30 pm in California is the next day in UTC; the touch stays planned on the day typed.
    assert touch.planned_on == day
    assert clock.local(touch.scheduled_at).replace(tzinfo=None) == dt.datetime.combine(day, dt.time(17, 30))
    assert "17:30 P" in r.text
    assert f"Touch #{t.id} scheduled for {day:%-d %b %Y} 17:30 P" in r.text  # what the SPOC is told: the time too


async def test_the_reschedule_form_starts_from_the_appointments_california_day_and_time(client, world, desk):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    await login(client, world.users["spoc"].email)
    day = today() + dt.timedelta(days=4)
    # 17:30 in California is the next day in UTC: both the day and the hour are shown as typed.
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)},
                          data={"scheduled_on": day.isoformat(), "scheduled_time": "17:30", "channel": "visit"})
    assert r.status_code == 200, r.text

    def prefilled(html: str) -> tuple[str, str]:
        form = html.split(f'action="/queue/touches/{t.id}/schedule"', 1)[1].split("</form>", 1)[0]
        return tuple(form.split(f'name="{n}"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
                     for n in ("scheduled_on", "scheduled_time"))

    assert prefilled((await client.get(f"/queue/touches/{t.id}/forms/schedule", headers=HX)).text) == (
        day.isoformat(), "17:30")
    assert prefilled((await client.get(f"/queue/touches/{t.id}")).text) == (day.isoformat(), "17:30")  # no JS
    # A touch not scheduled yet still offers its planned day at 10:00.
    queued = await desk.touch(await world.f.employer("Turner Roofing Inc"), world.users["spoc"], planned_in=6)
    form = (await client.get(f"/queue/touches/{queued.id}/forms/schedule", headers=HX)).text
    assert f'value="{(today() + dt.timedelta(days=6)).isoformat()}"' in form and 'value="10:00"' in form


async def test_a_touch_planned_today_offers_a_time_still_ahead_which_schedules_as_offered(
        client, world, desk, monkeypatch):
    afternoon = clock.as_instant(dt.datetime.combine(today(), dt.time(15, 7)))  # California wall time
    monkeypatch.setattr(clock, "now", lambda: afternoon)
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"], planned_in=0)
    await login(client, world.users["spoc"].email)
    form = (await client.get(f"/queue/touches/{t.id}/forms/schedule", headers=HX)).text
    assert f'name="scheduled_on" required value="{today().isoformat()}"' in form
    assert 'name="scheduled_time" required value="15:15"' in form  # 10:00 was already past, and refused
    for typed, said in (("", "is required"), ("08:00", "must not be in the past (it is 15:07")):
        r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)}, data={
            "scheduled_on": today().isoformat(), "scheduled_time": typed, "channel": "call"})
        assert r.status_code == 422, r.text
        assert list(tied_errors(r.text)) == ["scheduled_time"] and said in r.text  # at the time, not the date
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)}, data={
        "scheduled_on": today().isoformat(), "scheduled_time": "15:15", "channel": "call"})
    assert r.status_code == 200 and "scheduled" in r.text, r.text


async def test_inline_complete_says_every_missing_answer_at_once_in_place_and_writes_nothing(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    first, second = await desk.request(t, world.users["partner"]), await desk.request(
        t, world.users["partner2"], purpose="event")
    await login(client, world.users["spoc"].email)
    await client.get("/queue")

    def field(html, name):
        return html.split(f'name="{name}"', 1)[1].split("</label>", 1)[0]

    # One submit: an outcome left out, a hand-off without its need, and no channel on a never-scheduled touch.
    r = await client.post(f"/queue/touches/{t.id}/complete", headers={**HX, **csrf(client)}, data={
        f"outcome_{first.id}": "interested", f"outcome_{second.id}": "", "handoff_org": "LA Basin WDB"})
    assert r.status_code == 422
    assert "choose an outcome for this request" in field(r.text, f"outcome_{second.id}")
    assert "choose an outcome" not in field(r.text, f"outcome_{first.id}")
    assert "say what the partner should pick up" in field(r.text, "handoff_need")
    assert "say how the contact happened" in field(r.text, "channel")
    assert "Expected" not in r.text
    # A need typed without saying who picks it up is not dropped without a word.
    r = await client.post(f"/queue/touches/{t.id}/complete", headers={**HX, **csrf(client)}, data={
        f"outcome_{first.id}": "interested", f"outcome_{second.id}": "referred", "channel": "call",
        "handoff_need": "forklift training"})
    assert r.status_code == 422
    assert "say which partner organization picks this need up" in field(r.text, "handoff_org")
    assert (await _fresh(db, Touch, t.id)).status == "queued"
    assert await db.scalar(select(func.count()).select_from(HandOff)) == 0


async def test_a_request_bundled_after_the_complete_form_opened_is_asked_for_at_its_own_select(
        client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    first = await desk.request(t, world.users["partner"])
    await login(client, world.users["spoc"].email)
    opened = (await client.get(f"/queue/touches/{t.id}/forms/complete", headers=HX)).text
    assert f'name="outcome_{first.id}"' in opened
    assert '<option value="follow_up" >follow-up</option>' in opened and "follow up" not in opened  # as badges say it
    late = await desk.request(t, world.users["partner2"], purpose="event")  # bundled while the form is open
    sent = {f"outcome_{first.id}": "interested", f"note_{first.id}": "call back in May", "channel": "call"}
    for headers, data in (({**HX, **csrf(client)}, sent),
                          ({}, {**sent, "_csrf_token": client.cookies.get("csrftoken")})):  # and without JS
        r = await client.post(f"/queue/touches/{t.id}/complete", headers=headers, data=data)
        assert r.status_code == 422
        # htmx gets the form alone (the row's other forms keep what was typed), the page its row
        card = r.text if headers else _card(r.text, t.id)
        at_late = card.split(f'name="outcome_{late.id}"', 1)[1].split("</label>", 1)[0]
        assert f"missing an outcome for request #{late.id}, added after you opened this form" in at_late
        assert 'class="field has-error"><span>Outcome for #' + str(late.id) in card
        assert card.count(f"request #{late.id}") == 1 and "missing outcome for request(s)" not in card  # not on top
        assert 'value="call back in May"' in card  # what was typed stays
    assert (await _fresh(db, Touch, t.id)).status == "queued"


async def test_inline_schedule_says_a_bad_date_and_a_bad_time_at_once(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    await desk.request(t, world.users["partner"])
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)},
                          data={"scheduled_on": "next tuesday", "scheduled_time": "25:99", "channel": "pigeon"})
    assert r.status_code == 422
    for name, said in (("scheduled_on", "is not a date"), ("scheduled_time", "is not a time"),
                       ("channel", "choose how you will contact them")):
        assert said in r.text.split(f'name="{name}"', 1)[1].split("</label>", 1)[0], name
    assert (await _fresh(db, Touch, t.id)).status == "queued"


async def test_an_emptied_date_and_time_come_back_empty_beside_is_required(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)},
                          data={"scheduled_on": "", "scheduled_time": " ", "channel": "visit"})
    assert r.status_code == 422
    assert tied_errors(r.text) == {"scheduled_on": "is required", "scheduled_time": "is required"}
    # Not refilled with the default day and hour, which would sit beside "is required" looking valid.
    assert attrs_of(r.text, "input", name="scheduled_on")["value"] == ""
    assert attrs_of(r.text, "input", name="scheduled_time")["value"] == " "
    # The requesters' dates describe the date field, and are not read again as part of its name.
    date = attrs_of(r.text, "input", name="scheduled_on")
    hint_id = date["aria-describedby"].split()[0]
    assert attrs_of(r.text, "small", id=hint_id).get("aria-hidden") == "true"
    assert (await _fresh(db, Touch, t.id)).status == "queued"


async def test_inline_schedule_refuses_a_time_the_clocks_skip(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    await desk.request(t, world.users["partner"])
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)},
                          data={"scheduled_on": next_spring_forward().isoformat(), "scheduled_time": "02:30",
                                "channel": "visit"})
    assert r.status_code == 422
    label = r.text.split('name="scheduled_time"', 1)[1].split("</label>", 1)[0]
    assert "the clocks move from 02:00 to 03:00" in label
    assert (await _fresh(db, Touch, t.id)).status == "queued"


async def test_inline_complete_records_outcomes_and_a_hand_off(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    req = await desk.request(t, world.users["partner"])
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/touches/{t.id}/complete", headers={**HX, **csrf(client)}, data={
        f"outcome_{req.id}": "interested", f"note_{req.id}": "send 3 candidates", "handoff_org":
        "east la college", "handoff_need": "forklift training", "channel": "call"})
    assert r.status_code == 200 and "completed" in r.text and "send 3 candidates" in r.text
    # Said in the page's status line (out of band: it outlives the queue's own reload), into the live region
    # the page has (innerHTML: a region swapped in whole is not reliably announced).
    said = r.text.split('id="queue-status" hx-swap-oob="innerHTML"', 1)[1].split("</div>", 1)[0]
    assert f"Touch #{t.id} completed; hand-off to East LA College sent" in said
    assert 'role="status"' in (await client.get("/queue")).text.split('id="queue-status"', 1)[1].split(">", 1)[0]
    card = r.text.split('id="queue-status"', 1)[0]  # the row itself shows what was handed off, and so does its page
    for html in (card, (await client.get(f"/queue/touches/{t.id}")).text):
        assert "Hand-offs:" in html and "East LA College · forklift training · pending" in html
    assert (await _fresh(db, TouchRequest, req.id)).outcome == "interested"
    assert (await db.scalars(select(HandOff.to_org_id))).one() == world.orgs["college"].id
    # Each e-mail links where its reader acts on it: the partner to the request, the college to its hand-offs.
    mail = [m.body for m in await db.scalars(select(OutboxMessage))]
    assert any(body.startswith("Your request #") and body.endswith(f"Open it: {{onedoor}}/requests/{req.id}")
               for body in mail), mail
    assert any(body.endswith("Open it: {onedoor}/requests/#hand-offs") for body in mail), mail


async def test_the_complete_form_hands_off_to_a_second_partner_and_says_its_mistakes_at_its_fields(
        client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    req = await desk.request(t, world.users["partner"])
    await login(client, world.users["spoc"].email)
    opened = (await client.get(f"/queue/touches/{t.id}/forms/complete", headers=HX)).text
    assert attrs_of(opened, "input", name="handoff_org_1")["hx-target"] == f"#handoff-person-{t.id}_1"
    assert "+ another partner" in opened
    sent = {f"outcome_{req.id}": "interested", "channel": "call", "handoff_org_2": "LA Basin WDB"}
    r = await client.post(f"/queue/touches/{t.id}/complete", headers={**HX, **csrf(client)}, data=sent)
    assert r.status_code == 422 and tied_errors(r.text) == {"handoff_need_2": "say what the partner should pick up"}
    # A person of another organization, refused by the workflow: said at the slot it was chosen in.
    r = await client.post(f"/queue/touches/{t.id}/complete", headers={**HX, **csrf(client)}, data={
        **sent, "handoff_need_2": "night classes", "handoff_person_2": str(world.users["partner"].id)})
    assert r.status_code == 422 and list(tied_errors(r.text)) == ["handoff_person_2"], tied_errors(r.text)
    assert (await _fresh(db, Touch, t.id)).status == "queued"
    r = await client.post(f"/queue/touches/{t.id}/complete", headers={**HX, **csrf(client)}, data={
        **sent, "handoff_need_2": "night classes", "handoff_org": "East LA College", "handoff_need": "welders"})
    assert r.status_code == 200, r.text
    assert f"Touch #{t.id} completed; hand-offs to East LA College and LA Basin WDB sent" in r.text
    await db.rollback()
    assert [(h.to_org_id, h.need) for h in await db.scalars(select(HandOff).order_by(HandOff.id))] == [
        (world.orgs["college"].id, "welders"), (world.orgs["board"].id, "night classes")]
    # The person select of a further slot is filled in from its own box.
    people = (await client.get("/queue/hand-offs/people", params={"handoff_org_1": "la basin wdb"},
                               headers=HX)).text
    assert "Quinn Partner" in people


async def test_a_touch_completed_before_its_day_says_which_appointment_it_now_crowds(client, world, desk, db):
    """Reached early, the contact counts today: the employer's visit four days on is now closer than its
    pacing allows (the default policy: 7 days apart), and the SPOC completing it is told which."""
    acme = await world.f.employer("ACME Corporation")
    early = await desk.touch(acme, world.users["spoc"], planned_in=60, window=(0, 90))
    visit = await desk.touch(acme, world.users["spoc"], planned_in=4, status="scheduled", channel="visit",
                             scheduled_at=clock.now() + dt.timedelta(days=4))
    on_time = await desk.touch(await world.f.employer("Calm Waters Co"), world.users["spoc"], planned_in=0)
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/touches/{early.id}/complete", headers={**HX, **csrf(client)},
                          data={"channel": "call"})
    assert r.status_code == 200, r.text
    said = r.text.split('id="queue-status" hx-swap-oob="innerHTML"', 1)[1].split("</div>", 1)[0]
    assert f"Touch #{early.id} completed. Touch #{visit.id} ({_day(4)[:-5]}) now falls within 7 days" in said
    assert (await _fresh(db, Touch, early.id)).planned_on == today()  # recorded as it happened
    r = await client.post(f"/queue/touches/{on_time.id}/complete", headers={**HX, **csrf(client)},
                          data={"channel": "call"})
    said = r.text.split('id="queue-status" hx-swap-oob="innerHTML"', 1)[1].split("</div>", 1)[0]
    assert f"Touch #{on_time.id} completed" in said and "pacing" not in said  # on its day: nothing to say


async def test_the_complete_form_ticks_whom_the_schedule_noted_and_records_whom_the_spoc_spoke_with(
        client, world, desk, db):
    e = await world.f.employer("Golden State Logistics")
    ana, bob = await desk.contact(e, "Ana Ruiz"), await desk.contact(e, "Bob Chen")
    t = await desk.touch(e, world.users["spoc"])
    req = await desk.request(t, world.users["partner"])
    await db.execute(touch_contact.insert().values(touch_id=t.id, contact_id=ana.id))  # as scheduling notes it
    await db.commit()
    await login(client, world.users["spoc"].email)
    for html in ((await client.get(f"/queue/touches/{t.id}/forms/complete", headers=HX)).text,
                 (await client.get(f"/queue/touches/{t.id}")).text):  # and without JavaScript
        form = html.split(f'id="complete-{t.id}-form"', 1)[1].split("</form>", 1)[0]
        assert "Who you spoke with" in form
        assert "checked" in attrs_of(form, "input", name="contact_ids", value=str(ana.id))
        assert "checked" not in attrs_of(form, "input", name="contact_ids", value=str(bob.id))
    r = await client.post(f"/queue/touches/{t.id}/complete", headers={**HX, **csrf(client)}, data={
        f"outcome_{req.id}": "interested", "channel": "call", "contacts_listed": "1", "contact_ids": [str(bob.id)]})
    assert r.status_code == 200 and "completed" in r.text, r.text
    assert "with Bob Chen" in _card(r.text, t.id)
    assert [c.id for c in (await _fresh(db, Touch, t.id)).contacts] == [bob.id]


async def test_the_complete_form_without_contacts_links_to_where_staff_add_one_and_keeps_the_touch_as_it_is(
        client, world, desk, db):
    e = await world.f.employer("Golden State Logistics")
    t = await desk.touch(e, world.users["spoc"])
    req = await desk.request(t, world.users["partner"])
    await login(client, world.users["spoc"].email)
    form = (await client.get(f"/queue/touches/{t.id}/forms/complete", headers=HX)).text
    assert f'href="/employers/{e.id}#contacts"' in form and 'name="contact_ids"' not in form
    assert 'name="contacts_listed"' not in form
    r = await client.post(f"/queue/touches/{t.id}/complete", headers={**HX, **csrf(client)}, data={
        f"outcome_{req.id}": "interested", "channel": "call"})
    assert r.status_code == 200, r.text
    assert (await _fresh(db, Touch, t.id)).status == "completed"


@pytest.mark.parametrize("stranger", ["another employer's contact", "not a number"])
async def test_a_complete_form_naming_someone_not_at_the_employer_says_so_at_the_contacts_and_writes_nothing(
        client, world, desk, db, stranger):
    e = await world.f.employer("Golden State Logistics")
    ana, bob = await desk.contact(e, "Ana Ruiz"), await desk.contact(e, "Bob Chen")
    other = (str((await desk.contact(await world.f.employer("Other Co"), "Ned")).id)
             if stranger == "another employer's contact" else "x")
    t = await desk.touch(e, world.users["spoc"])
    req = await desk.request(t, world.users["partner"])
    await login(client, world.users["spoc"].email)
    r = await client.post(f"/queue/touches/{t.id}/complete", headers={**HX, **csrf(client)}, data={
        f"outcome_{req.id}": "interested", f"note_{req.id}": "send 3 candidates", "channel": "call",
        "contacts_listed": "1", "contact_ids": [str(ana.id), other]})
    assert r.status_code == 422, r.text
    said = ("choose from the list" if other == "x" else f"contact(s) [{other}] are not people at this employer")
    assert tied_errors(r.text) == {"contact_ids": said}
    # The form comes back as it was sent: Ana still ticked, Bob not, the note kept.
    assert "checked" in attrs_of(r.text, "input", name="contact_ids", value=str(ana.id))
    assert "checked" not in attrs_of(r.text, "input", name="contact_ids", value=str(bob.id))
    assert 'value="send 3 candidates"' in r.text
    touch = await _fresh(db, Touch, t.id)
    assert (touch.status, touch.contacts) == ("queued", [])


async def test_cancel_without_javascript_redirects_back_to_the_queue_with_a_flash(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/touches/{t.id}/cancel", follow_redirects=False,
                          data={"reason": "owner retired", "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 303 and r.headers["location"] == "/queue"
    assert f"Touch #{t.id} cancelled" in (await client.get("/queue")).text
    assert (await _fresh(db, Touch, t.id)).status == "cancelled"


async def test_inline_cancel_says_where_the_requests_went_and_refreshes_the_held_list(client, world, desk, db):
    async def employer(name):  # the SPOC's: its held requests are theirs to work
        e = await world.f.employer(name)
        await world.f.assign(e, world.users["spoc"])
        return e

    t = await desk.touch(await employer("Golden State Logistics"), world.users["spoc"])
    req = await desk.request(t, world.users["partner"], summary="forklift drivers")
    other = await desk.touch(await employer("Acme Packaging"), world.users["spoc"])
    await desk.request(other, world.users["partner2"], summary="pallet wrappers")
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/touches/{t.id}/cancel", headers={**HX, **csrf(client)},
                          data={"reason": "owner retired"})
    assert r.status_code == 200
    row, held = r.text.split('id="held"', 1)
    assert "cancelling held them for a later touch" in row and "logged by the SPOC" not in row
    assert 'hx-swap-oob="true"' in held and "forklift drivers" in held
    # Each held request links to its page and says why it waits: this SPOC's cancel, not the budget.
    assert f'<a href="/requests/{req.id}">#{req.id}</a>' in held
    assert f"touch #{t.id} was cancelled (owner retired)" in held
    # The held list sent along keeps the page's search (its address, which htmx sends).
    r = await client.post(f"/queue/touches/{other.id}/cancel", data={"reason": "owner retired"},
                          headers={**HX, **csrf(client), "HX-Current-URL": "http://testserver.local/queue?q=acme"})
    held = r.text.split('id="held"', 1)[1]
    assert "pallet wrappers" in held and "forklift drivers" not in held
    assert (await _fresh(db, TouchRequest, req.id)).status == "held"
    # An address that does not parse (a hand-made header): the held list unfiltered, not a 500.
    third = await desk.touch(await employer("Turner Roofing Inc"), world.users["spoc"])
    r = await client.post(f"/queue/touches/{third.id}/cancel", data={"reason": "owner retired"},
                          headers={**HX, **csrf(client), "HX-Current-URL": "http://[x/queue?q=acme"})
    assert r.status_code == 200 and "forklift drivers" in r.text.split('id="held"', 1)[1]


async def test_inline_schedule_of_a_day_far_away_or_long_past_shows_the_error_in_place(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)},
                          data={"scheduled_on": "9999-12-31", "scheduled_time": "23:59", "channel": "call",
                                "outside_window": "1"})
    assert r.status_code == 422 and "must be within the next year" in r.text
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)},
                          data={"scheduled_on": "2020-01-01", "scheduled_time": "10:00", "channel": "call",
                                "outside_window": "1"})
    assert r.status_code == 422 and "must not be in the past" in r.text and "next year" not in r.text
    assert (await _fresh(db, Touch, t.id)).status == "queued"


async def test_inline_cancel_may_decline_the_requests_or_shows_a_bad_hold_date_in_place(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    req = await desk.request(t, world.users["partner"])
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    bad = await client.post(f"/queue/touches/{t.id}/cancel", headers={**HX, **csrf(client)},
                            data={"reason": " ", "then": "hold", "hold_until": today().isoformat()})
    assert bad.status_code == 422 and "must be after today and within a year" in bad.text
    assert "say why, the requesters are told" in bad.text  # both mistakes in one answer
    assert 'value="decline"' in bad.text and (await _fresh(db, Touch, t.id)).status == "queued"
    r = await client.post(f"/queue/touches/{t.id}/cancel", headers={**HX, **csrf(client)},
                          data={"reason": "business closed", "then": "decline"})
    assert r.status_code == 200
    assert (await _fresh(db, TouchRequest, req.id)).status == "declined"


async def test_schedule_error_without_javascript_rerenders_the_page_with_the_error(client, world, desk, db):
    e = await world.f.employer("Golden State Logistics")
    t = await desk.touch(e, world.users["spoc"])
    await desk.touch(e, world.users["spoc"], status="completed", planned_in=-1)
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/touches/{t.id}/schedule", data={
        "scheduled_on": (today() + dt.timedelta(days=1)).isoformat(), "scheduled_time": "10:00", "channel": "visit",
        "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 409 and "<html" in r.text and "breaks the employer&#39;s pacing budget" in r.text
    assert (await _fresh(db, Touch, t.id)).status == "queued"


async def test_an_error_on_a_colleagues_touch_without_javascript_is_shown_on_the_page(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc2"])  # Sam's
    await login(client, world.users["spoc"].email)  # Maria's queue does not list it
    await client.get("/queue")
    r = await client.post(f"/queue/touches/{t.id}/schedule", data={
        "scheduled_on": "not-a-date", "channel": "visit", "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 422 and "<html" in r.text
    card = r.text.split(f'id="touch-{t.id}"', 1)[1].split("</article>", 1)[0]
    assert "is not a date (YYYY-MM-DD)" in card
    assert (await _fresh(db, Touch, t.id)).status == "queued"


async def test_spoc_of_another_region_cannot_act_from_the_page(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    await login(client, world.users["bay_spoc"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/touches/{t.id}/cancel", headers={**HX, **csrf(client)}, data={"reason": "mine now"})
    assert r.status_code == 403
    assert (await _fresh(db, Touch, t.id)).status == "queued"


@pytest.mark.parametrize("who", ["partner", "chair"])
async def test_partners_and_chairs_are_refused_the_queue(client, world, who):
    await login(client, world.users[who].email)
    assert (await client.get("/queue")).status_code == 403
    assert (await client.get("/queue/log")).status_code == 403


async def test_overview_tab_keeps_my_employers_and_the_leads_region_overview(client, world):
    mine = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(mine, world.users["spoc"])
    await world.f.employer("Nobody Owns Me Inc")
    await login(client, world.users["lead"].email)
    html = (await client.get("/queue/overview")).text
    assert "Nobody Owns Me Inc" in _section(html, "unassigned", "my-employers") and "Maria Lopez" in html
    # More than the fifteen it lists: a link to all of them (the directory's filter), not to every employer.
    for n in range(15):
        await world.f.employer(f"Unowned Works {n:02d} Inc")
    html = (await client.get("/queue/overview")).text
    assert 'href="/employers?region=LA-BASIN&amp;spoc=none">All 16 without a SPOC in LA-BASIN' in html
    await client.post("/logout", data={"_csrf_token": client.cookies.get("csrftoken")})
    await login(client, world.users["spoc"].email)
    assert "Sunrise Family Dental" in _section((await client.get("/queue/overview")).text, "my-employers", None)


async def test_a_spoc_with_many_employers_sees_the_latest_and_searches_all_of_theirs(client, world):
    spoc, other = world.users["spoc"], world.users["spoc2"]
    for n in range(26):
        await world.f.assign(await world.f.employer(f"Harbor Works {n:02d} Inc"), spoc,
                             started_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=n))
    covered = await world.f.employer("Harbor Backup Bakery")
    await world.f.assign(covered, other, backup_spoc_id=spoc.id, started_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    await world.f.assign(await world.f.employer("Harbor Elsewhere Foods"), other)
    await login(client, spoc.email)
    html = (await client.get("/queue/overview")).text
    mine = _section(html, "my-employers", None)
    assert "Harbor Works 25 Inc" in mine and "Harbor Works 01 Inc" in mine  # the 25 latest of 27
    assert "Harbor Works 00 Inc" not in mine and "Harbor Backup Bakery" not in mine
    assert 'href="/employers?spoc=mine">Search all 27 of your employers</a>' in html
    page = (await client.get("/employers", params={"spoc": "mine", "q": "harbor"}, headers=HX)).text
    assert "27 employers" in page and "Harbor Elsewhere Foods" not in page
    backup = (await client.get("/employers", params={"spoc": "mine", "q": "bakery"}, headers=HX)).text
    assert "Harbor Backup Bakery" in backup  # as backup too
    await login(client, world.users["partner"].email)  # a partner has no employers of their own: no filter
    assert "Harbor Elsewhere Foods" in (await client.get("/employers", params={"spoc": "mine", "q": "harbor"})).text


async def test_log_a_touch_form_creates_it_or_shows_field_errors(client, world, db):
    e = await world.f.employer("Golden State Logistics")
    await login(client, world.users["spoc"].email)
    form = (await client.get(f"/queue/log?employer_id={e.id}")).text
    assert "Golden State Logistics" in form
    assert 'name="employer_website"' not in form  # only an employer picked from the list can be logged
    token = client.cookies.get("csrftoken")
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    r = await client.post("/queue/log", data={"employer_id": str(e.id), "channel": "call", "occurred_on": tomorrow,
                                              "_csrf_token": token})
    assert r.status_code == 422 and "must be today or earlier" in r.text
    r = await client.post("/queue/log", data={"employer_id": str(e.id), "channel": "call",
                                              "occurred_on": today().isoformat(), "notes": "x" * 4001,
                                              "_csrf_token": token})
    assert r.status_code == 422 and tied_errors(r.text)["notes"] == "at most 4000 characters"
    notes = attrs_of(r.text, "textarea", name="notes")
    assert notes["aria-invalid"] == "true" and notes["aria-describedby"] == "notes-error"
    r = await client.post("/queue/log", data={"employer_id": str(e.id), "channel": "pigeon",
                                              "occurred_on": today().isoformat(), "_csrf_token": token})
    assert r.status_code == 422 and "channel" in tied_errors(r.text), r.text[-2500:]
    channel = attrs_of(r.text, "select", name="channel")
    assert channel["aria-invalid"] == "true" and channel["aria-describedby"] == "channel-error"
    assert await db.scalar(select(func.count(Touch.id))) == 0
    r = await client.post("/queue/log", data={"employer_id": str(e.id), "channel": "call",
                                              "occurred_on": today().isoformat(), "notes": "called about interns",
                                              "_csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/employers/{e.id}"
    await db.rollback()
    assert await db.scalar(select(func.count(Touch.id)).where(Touch.source == "logged")) == 1


async def test_the_log_form_says_every_missing_answer_at_once_and_records_whom_the_spoc_spoke_with(
        client, world, desk, db):
    e = await world.f.employer("Golden State Logistics")
    ana, bob = await desk.contact(e, "Ana Ruiz"), await desk.contact(e, "Bob Chen")
    await login(client, world.users["spoc"].email)
    form = (await client.get(f"/queue/log?employer_id={e.id}")).text
    assert "Who you spoke with" in form and attrs_of(form, "input", name="contact_ids", value=str(ana.id))
    token = client.cookies.get("csrftoken")
    r = await client.post("/queue/log", data={"employer_id": str(e.id), "occurred_on": "", "contact_ids": [str(bob.id)],
                                              "_csrf_token": token})
    assert r.status_code == 422 and set(tied_errors(r.text)) == {"channel", "occurred_on"}, tied_errors(r.text)
    assert "checked" in attrs_of(r.text, "input", name="contact_ids", value=str(bob.id))  # kept as ticked
    assert "checked" not in attrs_of(r.text, "input", name="contact_ids", value=str(ana.id))
    r = await client.post("/queue/log", follow_redirects=False, data={
        "employer_id": str(e.id), "channel": "call", "occurred_on": today().isoformat(), "contact_ids": [str(bob.id)],
        "_csrf_token": token})
    assert r.status_code == 303, r.text
    touch = (await db.scalars(select(Touch).where(Touch.source == "logged"))).one()
    assert [c.id for c in touch.contacts] == [bob.id]
    # Picking the employer in the form loads its people to tick.
    checks = (await client.get("/employers/contact-options", params={"employer_id": e.id, "checks": "true"},
                               headers=HX)).text
    assert 'name="contact_ids"' in checks and "Ana Ruiz" in checks and "Bob Chen" in checks


async def test_the_log_form_hands_the_employers_need_to_partners_shown_on_the_hand_offs_tab(client, world, db):
    e = await world.f.employer("Golden State Logistics")
    await login(client, world.users["spoc"].email)
    form = (await client.get(f"/queue/log?employer_id={e.id}")).text
    assert attrs_of(form, "input", name="handoff_org")["list"] == "partner-orgs-log" and "East LA College" in form
    assert attrs_of(form, "input", name="handoff_need_1")  # a second partner, behind "+ another partner"
    sent = {"employer_id": str(e.id), "channel": "call", "occurred_on": today().isoformat(),
            "handoff_org": "east la college", "handoff_need": "forklift training",
            "handoff_org_1": "Nowhere Agency", "handoff_need_1": "night classes", **csrf(client)}
    # A second partner no one knows: said at its own field, the first kept as typed, nothing logged.
    r = await client.post("/queue/log", data={**sent, "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 422 and tied_errors(r.text) == {
        "handoff_org_1": "no partner organization is named 'Nowhere Agency'"}, tied_errors(r.text)
    assert attrs_of(r.text, "input", name="handoff_org")["value"] == "east la college"
    assert '<details class="more-hand-offs" style="grid-column: 1 / -1" open>' in r.text
    assert await db.scalar(select(func.count(Touch.id))) == await db.scalar(select(func.count(HandOff.id))) == 0
    r = await client.post("/queue/log", follow_redirects=False, data={
        **sent, "handoff_org_1": "LA Basin WDB", "handoff_person_1": str(world.users["partner2"].id),
        "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 303, r.text
    await db.rollback()
    touch = (await db.scalars(select(Touch).where(Touch.source == "logged"))).one()
    made = (await db.scalars(select(HandOff).order_by(HandOff.id))).all()
    assert [(h.touch_id, h.to_org_id, h.to_user_id, h.need) for h in made] == [
        (touch.id, world.orgs["college"].id, None, "forklift training"),
        (touch.id, world.orgs["board"].id, world.users["partner2"].id, "night classes")]
    page = (await client.get(r.headers["location"])).text
    assert (f"hand-offs to East LA College and Quinn Partner at LA Basin WDB sent (touch #{touch.id})"
            in page.replace("&#39;", "'")), page
    tab = (await client.get("/queue/hand-offs")).text
    assert "forklift training" in tab and "night classes" in tab and "East LA College" in tab


async def test_the_log_forms_employer_search_offers_only_employers_of_the_users_regions(client, world):
    await world.f.employer("Pacific Harbor Foods")
    await world.f.employer("Pacific Harbor Biologics", county="San Mateo")  # BAY-PENINSULA
    await login(client, world.users["spoc"].email)
    form = (await client.get("/queue/log")).text
    assert '"own": true' in form
    found = (await client.get("/employers/match", params={"mode": "pick", "own": "true",
                                                          "employer_name": "Pacific Harbor"}, headers=HX)).text
    assert "Pacific Harbor Foods" in found and "Pacific Harbor Biologics" not in found
    everywhere = (await client.get("/employers/match", params={"mode": "pick", "employer_name": "Pacific Harbor"},
                                   headers=HX)).text
    assert "Pacific Harbor Biologics" in everywhere  # a request form still finds it


def _form_key(html: str) -> str:
    return html.split('name="form_key" value="', 1)[1].split('"', 1)[0]


async def test_the_log_form_sent_twice_logs_one_touch_and_answers_both_alike(client, world, db):
    """A double-click, or Back (the browser refills the form) and submit again: one touch, one use of the budget."""
    e = await world.f.employer("Golden State Logistics")
    await login(client, world.users["spoc"].email)
    key = _form_key((await client.get(f"/queue/log?employer_id={e.id}")).text)
    data = {"employer_id": str(e.id), "channel": "call", "occurred_on": today().isoformat(), "notes": "interns",
            "form_key": key, "_csrf_token": client.cookies.get("csrftoken")}
    answers = [await client.post("/queue/log", data=data) for _ in range(2)]
    assert [r.status_code for r in answers] == [200, 200]
    assert all("Logged a call with Golden State Logistics" in r.text for r in answers)
    assert all(str(r.url).endswith(f"/employers/{e.id}") for r in answers)
    await db.rollback()
    assert await db.scalar(select(func.count(Touch.id)).where(Touch.employer_id == e.id)) == 1
    # A new form is a new contact.
    fresh = _form_key((await client.get(f"/queue/log?employer_id={e.id}")).text)
    assert fresh != key
    assert (await client.post("/queue/log", data={**data, "form_key": fresh})).status_code == 200
    await db.rollback()
    assert await db.scalar(select(func.count(Touch.id)).where(Touch.employer_id == e.id)) == 2


async def test_a_log_form_that_failed_keeps_its_key_and_is_logged_once_when_corrected(client, world, db):
    e = await world.f.employer("Golden State Logistics")
    await login(client, world.users["spoc"].email)
    key = _form_key((await client.get(f"/queue/log?employer_id={e.id}")).text)
    data = {"employer_id": str(e.id), "channel": "call", "form_key": key,
            "_csrf_token": client.cookies.get("csrftoken")}
    refused = await client.post("/queue/log", data={**data, "occurred_on": ""})
    assert refused.status_code == 422 and _form_key(refused.text) == key
    for _ in range(2):
        assert (await client.post("/queue/log", data={**data, "occurred_on": today().isoformat()})).status_code == 200
    await db.rollback()
    assert await db.scalar(select(func.count(Touch.id)).where(Touch.employer_id == e.id)) == 1


async def test_a_sent_log_form_changed_after_back_says_it_was_logged_and_offers_a_new_form(client, world, db):
    e = await world.f.employer("Golden State Logistics")
    await login(client, world.users["spoc"].email)
    key = _form_key((await client.get(f"/queue/log?employer_id={e.id}")).text)
    data = {"employer_id": str(e.id), "channel": "call", "occurred_on": today().isoformat(), "form_key": key,
            "_csrf_token": client.cookies.get("csrftoken")}
    assert (await client.post("/queue/log", data=data)).status_code == 200
    changed = await client.post("/queue/log", data={**data, "notes": "also asked about a job fair"})
    assert changed.status_code == 409 and "already sent and its contact is logged" in changed.text
    assert "also asked about a job fair" in changed.text and _form_key(changed.text) != key
    await db.rollback()
    assert await db.scalar(select(func.count(Touch.id)).where(Touch.employer_id == e.id)) == 1
    again = await client.post("/queue/log", data={**data, "notes": "also asked about a job fair",
                                                  "form_key": _form_key(changed.text)})
    assert again.status_code == 200
    await db.rollback()
    assert await db.scalar(select(func.count(Touch.id)).where(Touch.employer_id == e.id)) == 2


async def test_an_empty_log_form_marks_every_missing_field_at_once(client, world, db):
    await login(client, world.users["spoc"].email)
    r = await client.post("/queue/log", data={"employer_id": "", "channel": "call", "occurred_on": "",
                                              "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 422 and r.text.count('class="error" role="alert"') == 2
    assert await db.scalar(select(func.count(Touch.id))) == 0


async def test_an_unpicked_employer_and_a_future_day_are_marked_at_once(client, world, db):
    await login(client, world.users["spoc"].email)
    r = await client.post("/queue/log", data={
        "employer_id": "", "employer_name": "Turner Roof", "channel": "call",
        "occurred_on": (today() + dt.timedelta(days=30)).isoformat(), "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 422 and "no employer on file matches this name" in r.text
    assert "must be today or earlier" in r.text
    assert await db.scalar(select(func.count(Touch.id))) == 0


async def test_a_logged_contact_that_crowds_a_planned_touch_says_so(client, world, desk):
    e = await world.f.employer("Golden State Logistics")
    planned = await desk.touch(e, world.users["spoc"], planned_in=3)  # the default gap: 7 days
    await login(client, world.users["spoc"].email)
    r = await client.post("/queue/log", data={"employer_id": str(e.id), "channel": "call",
                                              "occurred_on": today().isoformat(),
                                              "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 200 and "Logged a call with Golden State Logistics" in r.text
    warned = r.text.split('class="flash flash-warn"', 1)[1].split("</div>", 1)[0]
    assert f"Touch #{planned.id} (" in warned and "now falls within 7 days of this contact" in warned


async def test_a_logged_contact_that_spends_the_last_budget_says_new_requests_will_be_held(client, world):
    e = await world.f.employer("Golden State Logistics")
    await login(client, world.users["spoc"].email)
    said = []
    for days_ago in (10, 0):  # the default budget: 2 touches per 30 days
        r = await client.post("/queue/log", data={"employer_id": str(e.id), "channel": "call",
                                                  "occurred_on": (today() - dt.timedelta(days=days_ago)).isoformat(),
                                                  "_csrf_token": client.cookies.get("csrftoken")})
        said.append("used the employer&#39;s last pacing budget for the period" in r.text)
    assert said == [False, True]


async def test_a_logged_contact_beyond_the_budget_says_so_rather_than_that_it_used_the_last(client, world):
    """Touches 20 and 6 days ago, logging one today: 3 in 30 days, 6 days after the last (the default
    budget: 2 per 30 days, 7 days apart). It is recorded (it happened) and the SPOC is told it went over."""
    e = await world.f.employer("Golden State Logistics")
    await login(client, world.users["spoc"].email)
    for days_ago in (20, 6, 0):
        r = await client.post("/queue/log", data={"employer_id": str(e.id), "channel": "call",
                                                  "occurred_on": (today() - dt.timedelta(days=days_ago)).isoformat(),
                                                  "_csrf_token": client.cookies.get("csrftoken")})
    warned = r.text.split('class="flash flash-warn"', 1)[1].split("</div>", 1)[0]
    assert "goes beyond the employer&#39;s pacing (at most 2 touches in 30 days, 7 days apart)" in warned
    assert "last pacing budget" not in warned


async def test_log_form_finds_the_employer_by_name_and_refuses_another_regions_at_the_field(client, world, db):
    await world.f.employer("Golden State Logistics")
    bay = await world.f.employer("Bay Bakery", county="San Mateo")
    await login(client, world.users["spoc"].email)
    form = (await client.get("/queue/log")).text
    assert 'name="employer_name"' in form and 'hx-get="/employers/match"' in form  # typeahead, not a number box
    token = client.cookies.get("csrftoken")
    other = await client.post("/queue/log", data={"employer_id": str(bay.id), "channel": "call", "notes": "kept",
                                                  "occurred_on": today().isoformat(), "_csrf_token": token})
    assert other.status_code == 403 and "a region you do not work" in other.text
    assert "kept" in other.text and "<nav" in other.text  # the form again, with what was typed
    assert await db.scalar(select(func.count(Touch.id))) == 0


async def test_a_log_form_sent_without_javascript_offers_the_employers_its_name_matches(client, world, db):
    """No suggestions without JavaScript: the name sent alone comes back with the employers it matches to
    choose from (the form could not be sent at all), and choosing one logs the contact."""
    golden = await world.f.employer("Golden State Logistics")
    await world.f.employer("Golden Gate Produce")
    await login(client, world.users["spoc"].email)
    token = client.cookies.get("csrftoken")
    form = {"employer_name": "Golden State Logistics", "employer_id": "", "channel": "call",
            "occurred_on": today().isoformat(), "notes": "called about drivers", "_csrf_token": token}
    typed = await client.post("/queue/log", data=form)
    assert typed.status_code == 422 and "choose which employer you mean" in typed.text
    assert f'name="employer_choice" value="{golden.id}"' in typed.text and "called about drivers" in typed.text
    bay = await world.f.employer("Golden State Bakery", county="San Mateo")  # not this SPOC's region: not offered
    assert f'value="{bay.id}"' not in (await client.post("/queue/log", data=form)).text
    assert await db.scalar(select(func.count(Touch.id))) == 0
    chosen = await client.post("/queue/log", data={**form, "employer_choice": str(golden.id)})
    assert chosen.status_code == 200 and "Logged a call with Golden State Logistics" in chosen.text
    await db.rollback()  # read what the app committed
    assert await db.scalar(select(func.count(Touch.id)).where(Touch.employer_id == golden.id)) == 1


async def test_employer_page_shows_the_timeline_with_budget_left(client, world, desk):
    e = await world.f.employer("Golden State Logistics")
    t = await desk.touch(e, world.users["spoc"], status="completed", planned_in=-3)
    await desk.request(t, world.users["partner2"], purpose="apprenticeship", summary="board's plan", status="completed")
    await login(client, world.users["partner"].email)
    html = (await client.get(f"/employers/{e.id}")).text
    timeline = _section(html, "timeline", None)
    assert "1 left" in timeline and f"Touch #{t.id}" in timeline and "apprenticeship" in timeline
    assert "board&#39;s plan" not in timeline and "LA Basin WDB" not in timeline  # another org's request
    met = await desk.touch(e, world.users["spoc"], status="completed", planned_in=-10, source="meeting",
                           channel="meeting", notes="Logistics Advisory meeting")
    timeline = _section((await client.get(f"/employers/{e.id}")).text, "timeline", None)
    assert f"Touch #{met.id} · attended a council or partnership meeting" in timeline  # no channel for partners


async def test_a_partner_requests_contact_from_the_employer_page(client, world):
    e = await world.f.employer("Golden State Logistics")
    await login(client, world.users["partner"].email)
    html = (await client.get(f"/employers/{e.id}")).text
    assert f'href="/requests/new?employer_id={e.id}"' in html
    form = (await client.get(f"/requests/new?employer_id={e.id}")).text
    assert 'value="Golden State Logistics"' in form and f'name="employer_id" value="{e.id}"' in form
    await client.post("/logout", data={"_csrf_token": client.cookies.get("csrftoken")})
    await login(client, world.users["spoc"].email)
    assert "Request contact with this employer" not in (await client.get(f"/employers/{e.id}")).text


async def test_partner_accepts_a_hand_off_with_htmx_and_declining_needs_a_note(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"], status="completed")
    first = await desk.hand_off(t, world.users["spoc"], world.orgs["college"].id, need="welders")
    second = await desk.hand_off(t, world.users["spoc"], world.orgs["college"].id, need="interns")
    await login(client, world.users["partner"].email)
    await client.get("/employers")
    r = await client.post(f"/hand-offs/{first.id}/accept", headers={**HX, **csrf(client)}, data={"note": ""})
    assert r.status_code == 200 and '<section class="card" id="hand-offs">' in r.text and "accepted" in r.text
    r = await client.post(f"/hand-offs/{second.id}/decline", headers={**HX, **csrf(client)}, data={"note": ""})
    assert r.status_code == 422 and "say why you decline" in r.text
    assert f'aria-describedby="hand-off-{second.id}-error"' in r.text  # the note field is marked, not just the row
    assert (await _fresh(db, HandOff, second.id)).status == "pending"
    assert (await db.get(HandOff, first.id)).status == "accepted"


async def test_an_answered_hand_off_is_said_in_the_pages_live_region_and_its_row_is_what_gets_the_focus(
        client, world, desk):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"], status="completed")
    h = await desk.hand_off(t, world.users["spoc"], world.orgs["college"].id, need="welders")
    await login(client, world.users["partner"].email)
    page = (await client.get("/requests")).text
    assert attrs_of(page, "div", id="hand-offs-status")["role"] == "status"
    assert page.index('id="hand-offs-status"') < page.index('id="hand-offs"')  # outside what the answer swaps
    r = await client.post(f"/hand-offs/{h.id}/accept", headers={**HX, **csrf(client)}, data={"note": ""})
    said = r.text.split('<div id="hand-offs-status" hx-swap-oob="innerHTML">', 1)[1].split("</div>", 1)[0]
    spoc = world.users["spoc"].name
    assert f"Hand-off from {spoc} about Golden State Logistics accepted" in said
    assert "data-focus" in attrs_of(r.text, "tr", id=f"hand-off-{h.id}")


async def test_each_hand_off_rows_buttons_and_note_name_the_hand_off(client, world, desk):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"], status="completed")
    u = await desk.touch(await world.f.employer("Pacific Steel"), world.users["spoc"], status="completed")
    await desk.hand_off(t, world.users["spoc"], world.orgs["college"].id, need="welders")
    await desk.hand_off(u, world.users["spoc"], world.orgs["college"].id, need="interns")
    await login(client, world.users["partner"].email)
    section = (await client.get("/requests")).text.split('id="hand-offs"', 1)[1]
    spoc = world.users["spoc"].name
    names = texts_of(section, "button")
    for employer in ("Golden State Logistics", "Pacific Steel"):
        assert f"Accept hand-off about {employer}, from {spoc}" in names
        assert f"Decline hand-off about {employer}, from {spoc}" in names
    notes = [n for n in texts_of(section, "label") if n.startswith("Note (needed to decline)")]
    assert len(set(notes)) == 2 and all(spoc in n for n in notes)


async def test_a_hand_off_answered_in_another_tab_says_so_in_its_row_and_keeps_the_note(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"], status="completed")
    h = await desk.hand_off(t, world.users["spoc"], world.orgs["college"].id, need="welders")
    await login(client, world.users["partner"].email)
    await client.get("/requests")
    assert (await client.post(f"/hand-offs/{h.id}/accept", headers={**HX, **csrf(client)},
                              data={"note": ""})).status_code == 200  # tab 1
    r = await client.post(f"/hand-offs/{h.id}/decline", headers={**HX, **csrf(client)},  # tab 2, the old row
                          data={"note": "we have no welding program this term"})
    assert r.status_code == 409
    row = r.text.split(f'id="hand-off-{h.id}"', 1)[1].split("</tr>", 1)[0]
    partner = world.users["partner"].name
    assert f"Hand-off #{h.id} was already accepted by {partner} on {human_date(today())}" in " ".join(row.split())
    assert 'role="alert"' in row and "we have no welding program this term" in row
    assert (await _fresh(db, HandOff, h.id)).status == "accepted"


async def test_a_hand_off_answered_in_another_tab_is_said_after_a_plain_post_too(client, world, desk):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"], status="completed")
    h = await desk.hand_off(t, world.users["spoc"], world.orgs["college"].id, need="welders")
    await login(client, world.users["partner"].email)
    token = client.cookies.get("csrftoken")
    accepted = await client.post(f"/hand-offs/{h.id}/accept", data={"note": "", "_csrf_token": token})
    assert f"Hand-off from {world.users['spoc'].name} about Golden State Logistics accepted" in accepted.text
    r = await client.post(f"/hand-offs/{h.id}/decline", data={"note": "no program", "_csrf_token": token})
    assert r.status_code == 200 and f"Hand-off #{h.id} was already accepted by" in r.text
    assert "your note was not sent: no program" in r.text


async def test_hand_off_to_an_unknown_organization_is_shown_in_place(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    req = await desk.request(t, world.users["partner"])
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/touches/{t.id}/complete", headers={**HX, **csrf(client)}, data={
        f"outcome_{req.id}": "referred", "handoff_org": "Nowhere Agency", "handoff_need": "welders"})
    assert r.status_code == 422 and "no partner organization is named" in r.text
    assert (await _fresh(db, Touch, t.id)).status == "queued"


class _Labels(HTMLParser):
    """Controls per <label>: a label holds one (nested labels or two controls confuse screen readers)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth, self.controls, self.crowded = 0, 0, 0

    def handle_starttag(self, tag, attrs):
        if tag == "label":
            self.crowded += self.depth > 0
            self.depth, self.controls = self.depth + 1, 0
        elif tag in ("input", "select", "textarea") and self.depth and dict(attrs).get("type") != "hidden":
            self.controls += 1
            self.crowded += self.controls > 1

    def handle_endtag(self, tag):
        if tag == "label":
            self.depth -= 1


async def test_each_label_of_the_touch_forms_holds_one_control(client, world, desk):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"], window=(0, 5))
    await desk.request(t, world.users["partner"])
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    far = (today() + dt.timedelta(days=40)).isoformat()  # outside the requesters' dates: "Schedule anyway" shows
    refused = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)},
                                data={"scheduled_on": far, "scheduled_time": "10:00", "channel": "visit"})
    assert "Schedule anyway" in refused.text
    for html in (refused.text, (await client.get(f"/queue/touches/{t.id}/forms/cancel", headers=HX)).text):
        labels = _Labels()
        labels.feed(html)
        assert labels.crowded == 0


async def test_a_refused_inline_form_ties_each_error_to_its_field_by_an_id_carrying_the_touch(
        client, world, desk, db):
    e = await world.f.employer("Golden State Logistics")
    t = await desk.touch(e, world.users["spoc"])
    await desk.request(t, world.users["partner"])
    await login(client, world.users["lead"].email)
    await client.get("/queue")
    bad = await client.post(f"/queue/touches/{t.id}/cancel", headers={**HX, **csrf(client)},
                            data={"reason": " ", "then": "hold", "hold_until": today().isoformat()})
    assert bad.status_code == 422
    tied = tied_errors(bad.text)
    assert "say why, the requesters are told" in tied["reason"]
    assert "must be after today and within a year" in tied["hold_until"]
    hold = attrs_of(bad.text, "input", name="hold_until")
    assert hold["aria-describedby"] == f"cancel-{t.id}-hold-hint cancel-{t.id}-then-error"  # its hint kept
    bad = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)},
                            data={"scheduled_on": "not-a-date", "scheduled_time": "25:99", "channel": "pigeon"})
    tied = tied_errors(bad.text)
    assert set(tied) == {"scheduled_on", "scheduled_time", "channel"}
    assert attrs_of(bad.text, "input", name="scheduled_on")["aria-describedby"].split() == [
        f"schedule-{t.id}-dates-hint", f"schedule-{t.id}-scheduled_on-error"]
    bad = await client.post(f"/queue/touches/{t.id}/complete", headers={**HX, **csrf(client)},
                            data={"channel": "pigeon"})
    tied = tied_errors(bad.text)
    assert set(tied) == {"channel"}
    bad = await client.post(f"/queue/touches/{t.id}/reassign", headers={**HX, **csrf(client)},
                            data={"spoc_id": "", "reason": ""})
    assert "spoc_id" in tied_errors(bad.text)
    assert (await _fresh(db, Touch, t.id)).status == "queued"


async def test_the_touch_page_with_every_form_open_repeats_no_id(client, world, desk):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    await desk.request(t, world.users["partner"])
    await login(client, world.users["lead"].email)
    html = (await client.get(f"/queue/touches/{t.id}")).text
    assert tied_errors(html) == {}  # fails on a repeated id
    assert attrs_of(html, "input", name="scheduled_on")["aria-describedby"] == f"schedule-{t.id}-dates-hint"


async def test_a_card_is_named_by_its_heading_an_h2_on_the_touchs_own_page(client, world, desk):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    await login(client, world.users["spoc"].email)
    queue_page = (await client.get("/queue")).text
    assert attrs_of(queue_page, "article", id=f"touch-{t.id}")["aria-labelledby"] == f"touch-{t.id}-title"
    assert f'<h3 id="touch-{t.id}-title">' in queue_page  # under the queue's group headings (h2)
    page = (await client.get(f"/queue/touches/{t.id}")).text
    assert f'<h2 id="touch-{t.id}-title">' in page and "<h3" not in page.split(f'id="touch-{t.id}"', 1)[1]


async def test_a_form_refused_for_its_fields_comes_back_alone_and_a_conflict_brings_the_whole_row(
        client, world, desk, db):
    e = await world.f.employer("Golden State Logistics")
    t = await desk.touch(e, world.users["spoc"])
    await desk.touch(e, world.users["spoc"], status="completed", planned_in=-1)
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/touches/{t.id}/cancel", headers={**HX, **csrf(client)},
                          data={"reason": " ", "then": "hold"})
    assert r.status_code == 422 and "say why, the requesters are told" in r.text
    # Only the form, in place of itself: what was typed in the row's other open forms stays.
    assert r.headers["hx-retarget"] == f"#cancel-{t.id}-form" and r.headers["hx-reswap"] == "outerHTML"
    assert r.text.lstrip().startswith(f'<form id="cancel-{t.id}-form"') and "<article" not in r.text
    assert "data-edited" in r.text.split(">", 1)[0]
    r = await client.post(f"/queue/touches/{t.id}/schedule", headers={**HX, **csrf(client)}, data={
        "scheduled_on": (today() + dt.timedelta(days=1)).isoformat(), "scheduled_time": "10:00",
        "channel": "visit"})
    assert r.status_code == 409 and "breaks the employer&#39;s pacing budget" in r.text
    assert "hx-retarget" not in r.headers and f'<article class="touch card" id="touch-{t.id}"' in r.text
    # Said beside the date it refuses, the date marked invalid.
    assert "breaks the employer's pacing budget" in tied_errors(r.text)["scheduled_on"]
    assert attrs_of(r.text, "input", name="scheduled_on")["aria-invalid"] == "true"
    assert (await _fresh(db, Touch, t.id)).status == "queued"


async def test_completing_an_appointment_still_to_come_asks_first_and_todays_does_not(client, world, desk):
    e = await world.f.employer("Golden State Logistics")
    later = await desk.touch(e, world.users["spoc"], status="scheduled", planned_in=10)
    now = await desk.touch(await world.f.employer("Turner Roofing Inc"), world.users["spoc"], status="scheduled",
                           planned_in=0)
    await login(client, world.users["spoc"].email)
    form = (await client.get(f"/queue/touches/{later.id}/forms/complete", headers=HX)).text
    confirm = attrs_of(form, "form", id=f"complete-{later.id}-form")["hx-confirm"]
    assert confirm.startswith(f"Touch #{later.id} is scheduled for ") and "Record it as done today" in confirm
    form = (await client.get(f"/queue/touches/{now.id}/forms/complete", headers=HX)).text
    assert "hx-confirm" not in attrs_of(form, "form", id=f"complete-{now.id}-form")


async def test_a_queue_filters_count_is_said_in_a_status_line_outside_the_queue_body(client, world, desk):
    await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    await login(client, world.users["spoc"].email)
    page = (await client.get("/queue")).text
    assert attrs_of(page, "p", id="queue-count")["role"] == "status" and page.count('id="queue-count"') == 1
    assert page.index('id="queue-count"') < page.index('id="queue-body"')  # not in what the filters swap
    r = (await client.get("/queue", params={"q": "zebra"}, headers=HX)).text
    said = r.split('<p id="queue-count" hx-swap-oob="innerHTML">', 1)[1].split("</p>", 1)[0]
    assert said.strip() == "0 open touches matching “zebra”"


async def test_filtering_the_queue_replaces_the_address_instead_of_adding_a_step_to_back(client, world):
    await login(client, world.users["spoc"].email)
    filters = attrs_of((await client.get("/queue")).text, "form", id="queue-filters")
    assert filters["hx-replace-url"] == "true" and "hx-push-url" not in filters


async def test_the_touch_card_keeps_a_space_before_whom_the_spoc_meets_and_the_override(client, world, desk,
                                                                                      sessionmaker):
    """It read "SPOC: Maria Lopez· with Ana Ruiz" (a whitespace control ate the space)."""
    e = await world.f.employer("Golden State Logistics")
    t = await desk.touch(e, world.users["spoc"], override_reason="layoff notice")
    await desk.met_on(t, await desk.contact(e, "Ana Ruiz"))
    await login(client, world.users["spoc"].email)

    async def card() -> str:
        html = (await client.get("/queue")).text.split(f'id="touch-{t.id}"', 1)[1].split("</article>", 1)[0]
        return " ".join(html.split("<p class=\"small\">", 1)[1].split("</p>", 1)[0].split())

    said = await card()
    assert "· SPOC: Maria Lopez · with Ana Ruiz · <span class=\"badge warn\"" in said, said
    assert "override: layoff notice</span>" in said
    async with sessionmaker() as s, s.begin():
        await s.execute(update(User).where(User.id == world.users["spoc"].id).values(away=True))
    said = await card()
    assert 'SPOC: Maria Lopez <span class="badge warn">away</span> · with Ana Ruiz ·' in said, said
