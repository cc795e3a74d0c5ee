"""An employer's own contact preferences (stricter pacing, preferred channel, blackout dates): set by its
region's staff through the API and the employer page, obeyed by intake, refused whole when wrong."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm import clock
from crm.audit.models import AuditEvent
from crm.employers.models import Employer
from crm.templating import fmt_date
from crm.touches.models import EmployerBlackout, EmployerPacing, Touch
from tests.a11y import attrs_of, tied_errors
from tests.factories import csrf, login, seen_in

HX = {"HX-Request": "true"}


def _url(employer_id: int) -> str:
    return f"/api/employers/{employer_id}/preferences"


def _day(days: int) -> str:
    return (clock.today() + dt.timedelta(days=days)).isoformat()


async def _stored(db, employer_id):
    await db.rollback()  # read what the app committed
    own = await db.scalar(select(EmployerPacing).where(EmployerPacing.employer_id == employer_id))
    blackouts = [(b.starts_on, b.ends_on, b.reason) for b in await db.scalars(
        select(EmployerBlackout).where(EmployerBlackout.employer_id == employer_id)
        .order_by(EmployerBlackout.starts_on))]
    channel = await db.scalar(select(Employer.preferred_channel).where(Employer.id == employer_id))
    return (own.max_touches, own.period_days, own.min_gap_days) if own else None, blackouts, channel


async def test_a_spoc_sets_preferences_that_tighten_the_regions_pacing_and_intake_obeys_them(client, world, db):
    e = await world.f.employer("Valley Harvest Foods")
    spoc = await world.f.auth(world.users["spoc"])
    r = await client.put(_url(e.id), headers=spoc, json={
        "max_touches": 1, "period_days": 60, "preferred_channel": "email",
        "blackouts": [{"starts_on": _day(0), "ends_on": _day(20), "reason": "harvest season"}]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["max_touches"], out["period_days"], out["min_gap_days"], out["preferred_channel"]) == (1, 60, None,
                                                                                                       "email")
    # The region's default is 2 per 30 days, 7 apart: each number is the stricter of the two.
    assert out["effective"] == {"region": "LA-BASIN", "max_touches": 1, "period_days": 60, "min_gap_days": 7}
    assert out["held"] == {"released": 0, "moved": 0, "declined": 0}  # it held nothing yet
    assert (await client.get(_url(e.id), headers=spoc)).json() == {**out, "held": None}
    assert await _stored(db, e.id) == ((1, 60, None), [(clock.today(), clock.today() + dt.timedelta(days=20),
                                                        "harvest season")], "email")
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "employer.preferences"))
    assert event.employer_id == e.id and event.after["preferred_channel"] == "email"
    assert "min_gap_days" not in event.after  # only what changed is recorded
    # A partner asking for the blackout weeks gets no touch inside them.
    r = await client.post("/api/touch-requests", headers=await world.f.auth(world.users["partner"]), json={
        "employer_id": e.id, "region": "LA-BASIN", "purpose": "hiring", "window_start": _day(1),
        "window_end": _day(40)})
    assert r.status_code == 201, r.text
    planned = await db.scalar(select(Touch.planned_on).where(Touch.employer_id == e.id))
    assert planned is None or planned > clock.today() + dt.timedelta(days=20)


async def test_saving_an_empty_set_clears_every_preference(client, world, db):
    e = await world.f.employer("Valley Harvest Foods")
    lead = await world.f.auth(world.users["lead"])
    await client.put(_url(e.id), headers=lead, json={"min_gap_days": 21, "preferred_channel": "call", "blackouts": [
        {"starts_on": _day(5), "ends_on": _day(9)}]})
    r = await client.put(_url(e.id), headers=lead, json={})
    assert r.status_code == 200 and r.json()["effective"]["min_gap_days"] == 7 and r.json()["blackouts"] == []
    assert await _stored(db, e.id) == (None, [], None)


async def test_wrong_preferences_are_422_naming_every_field_and_change_nothing(client, world, db):
    e = await world.f.employer("Valley Harvest Foods")
    spoc = await world.f.auth(world.users["spoc"])
    await client.put(_url(e.id), headers=spoc, json={"max_touches": 1})
    r = await client.put(_url(e.id), headers=spoc, json={
        "max_touches": 3, "period_days": 30, "min_gap_days": 20, "preferred_channel": "fax",
        "blackouts": [{"starts_on": _day(10), "ends_on": _day(2)}, {"starts_on": _day(1), "ends_on": _day(400)},
                      {"starts_on": "2099-01-01", "ends_on": "2099-01-02"}]})
    assert r.status_code == 422
    fields = {f["field"]: f["message"] for f in r.json()["error"]["fields"]}
    assert set(fields) == {"preferred_channel", "max_touches", "blackouts[0].ends_on", "blackouts[1].ends_on",
                           "blackouts[2].starts_on"}
    assert fields["max_touches"].startswith("only 2 touches fit in 30 days 20 days apart")
    assert "do-not-contact" in fields["blackouts[1].ends_on"]
    r = await client.put(_url(e.id), headers=spoc, json={"max_touches": 0})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "max_touches"
    # Two periods sharing days are one period entered twice: said at the second, neither kept.
    r = await client.put(_url(e.id), headers=spoc, json={"blackouts": [
        {"starts_on": _day(1), "ends_on": _day(5)}, {"starts_on": _day(20), "ends_on": _day(25)},
        {"starts_on": _day(5), "ends_on": _day(9)}]})
    assert r.status_code == 422 and r.json()["error"]["fields"] == [{"field": "blackouts[2].starts_on", "message": (
        f"overlaps the period {fmt_date(dt.date.fromisoformat(_day(1)))} – "
        f"{fmt_date(dt.date.fromisoformat(_day(5)))}: make them one period")}]
    assert await _stored(db, e.id) == ((1, None, None), [], None)


@pytest.mark.parametrize(("who", "status"), [("admin", 200), ("lead", 200), ("spoc", 200), ("partner", 403),
                                             ("chair", 403), ("bay_spoc", 403), ("bay_lead", 403)])
async def test_only_the_regions_staff_and_admins_read_or_set_preferences(client, world, db, who, status):
    e = await world.f.employer("Valley Harvest Foods")
    headers = await world.f.auth(world.users[who])
    assert (await client.get(_url(e.id), headers=headers)).status_code == status
    assert (await client.put(_url(e.id), headers=headers, json={"max_touches": 1})).status_code == status
    assert (await _stored(db, e.id))[0] == ((1, None, None) if status == 200 else None)
    assert (await client.get(_url(999_999), headers=headers)).status_code in (403, 404)


async def test_the_employer_page_shows_and_saves_preferences_in_place(client, world, db):
    e = await world.f.employer("Valley Harvest Foods")
    await login(client, world.users["spoc"].email)
    page = (await client.get(f"/employers/{e.id}")).text
    assert 'id="preferences"' in page and "at most <strong>2" in page
    # Every mistake of the form at once, in place, nothing written.
    r = await client.post(f"/employers/{e.id}/preferences", headers={**HX, **csrf(client)}, data={
        "max_touches": "two", "period_days": "0", "min_gap_days": "14", "preferred_channel": "",
        "starts_on": [_day(3), "tomorrow", ""], "ends_on": [_day(1), _day(5), ""],
        "reason": ["trade show", "", "fair week"]})
    assert r.status_code == 422 and "<html" not in r.text
    assert r.text.count("must be a whole number from") == 2  # max_touches and period_days (0)
    for said in ("must be on or after the first day", "is not a date", "give the first and last day"):
        assert said in r.text, said  # one row each, all in the same answer
    assert 'value="trade show"' in r.text and 'value="14"' in r.text  # what was typed stays
    tied = tied_errors(r.text)  # each message tied to its control, row by row
    assert {"max_touches", "period_days"} <= set(tied) and "must be a whole number from" in tied["period_days"]
    assert attrs_of(r.text, "input", name="period_days")["aria-describedby"] == "pref-period_days-error"
    ends = attrs_of(r.text, "input", name="ends_on", aria_describedby="pref-blackout-0-ends_on-error")
    assert ends["aria-invalid"] == "true" and ends["value"] == _day(1)
    starts = attrs_of(r.text, "input", name="starts_on", aria_describedby="pref-blackout-1-starts_on-error")
    assert starts["aria-invalid"] == "true" and starts["value"] == "tomorrow"
    assert await _stored(db, e.id) == (None, [], None)
    r = await client.post(f"/employers/{e.id}/preferences", headers={**HX, **csrf(client)}, data={
        "max_touches": "3", "period_days": "30", "min_gap_days": "20", "preferred_channel": "visit",
        "starts_on": [_day(3), ""], "ends_on": [_day(1), ""], "reason": ["trade show", ""]})
    assert r.status_code == 422 and "must be on or after the first day" in r.text and "only 2 touches fit" in r.text
    r = await client.post(f"/employers/{e.id}/preferences", headers={**HX, **csrf(client)}, data={
        "max_touches": "", "period_days": "", "min_gap_days": "14", "preferred_channel": "visit",
        "starts_on": [_day(3), ""], "ends_on": [_day(6), ""], "reason": ["trade show", ""]})
    assert r.status_code == 200 and "Contact preferences saved" in r.text and "14 days\n    apart" in r.text
    assert await _stored(db, e.id) == ((None, None, 14), [(clock.today() + dt.timedelta(days=3),
                                                           clock.today() + dt.timedelta(days=6), "trade show")],
                                       "visit")
    # A preference looser than the region's is kept, and the card says the region's applies.
    r = await client.post(f"/employers/{e.id}/preferences", headers={**HX, **csrf(client)}, data={
        "max_touches": "5", "min_gap_days": "14", "preferred_channel": "visit"})
    assert r.status_code == 200 and "The region's 2 is stricter and applies." in r.text
    await login(client, world.users["partner"].email)
    assert 'id="preferences"' not in (await client.get(f"/employers/{e.id}")).text
    r = await client.post(f"/employers/{e.id}/preferences", headers={**HX, **csrf(client)}, data={"min_gap_days": "1"})
    assert r.status_code == 403
    assert (await _stored(db, e.id))[0] == (5, None, 14)
    assert await db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "employer.preferences")) == 2



async def test_preferences_posted_without_javascript_answer_the_whole_employer_page(client, world, db):
    e = await world.f.employer("Valley Harvest Foods")
    await login(client, world.users["spoc"].email)
    await client.get(f"/employers/{e.id}")
    r = await client.post(f"/employers/{e.id}/preferences", headers=csrf(client), data={
        "max_touches": "two", "min_gap_days": "14", "starts_on": [_day(3)], "ends_on": [_day(1)],
        "reason": ["trade show"]})
    # The page itself, its other panels included, with the form's problems and values in place.
    assert r.status_code == 422 and "<html" in r.text and "Valley Harvest Foods" in r.text
    assert "must be a whole number from" in r.text and 'value="trade show"' in r.text
    assert 'id="timeline"' in r.text and r.text.count('id="preferences"') == 1
    assert await _stored(db, e.id) == (None, [], None)
    r = await client.post(f"/employers/{e.id}/preferences", headers=csrf(client), data={"min_gap_days": "14"},
                          follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/employers/{e.id}#preferences"
    page = (await client.get(r.headers["location"])).text
    assert "Contact preferences of Valley Harvest Foods saved" in page and "<html" in page
    assert (await _stored(db, e.id))[0] == (None, None, 14)


async def test_saving_from_a_page_older_than_anothers_save_is_refused_and_keeps_the_blackout(client, world, db):
    e = await world.f.employer("Valley Harvest Foods")
    form = f"/employers/{e.id}/preferences"
    await login(client, world.users["spoc"].email)
    spoc_saw = seen_in((await client.get(f"/employers/{e.id}")).text, form)  # the SPOC's page stays open
    await login(client, world.users["lead"].email)
    lead_saw = seen_in((await client.get(f"/employers/{e.id}")).text, form)
    r = await client.post(form, headers=csrf(client), data={
        "seen": lead_saw, "starts_on": [_day(3), ""], "ends_on": [_day(9), ""], "reason": ["asked us not to", ""]})
    assert r.status_code == 200 and "Contact preferences of Valley Harvest Foods saved" in r.text
    # The SPOC, on the page from before the lead's save, changes the touches allowed: it would have
    # replaced the whole set, the blackout the employer asked for with it. Plain POST and htmx alike.
    for headers in (csrf(client), {**HX, **csrf(client)}):
        await login(client, world.users["spoc"].email)
        r = await client.post(form, headers={**headers, **csrf(client)}, data={
            "seen": spoc_saw, "max_touches": "1", "starts_on": [""], "ends_on": [""], "reason": [""]})
        assert r.status_code == 409, r.text
        assert "changed meanwhile by Lee Lead" in r.text and "nothing was saved" in r.text
        assert "Saved now:" in r.text and "asked us not to" in r.text  # what is saved now, blackout included
        assert 'name="max_touches" min="1" max="366" inputmode="numeric"\n               value="1"' in r.text
    expected = (None, [(clock.today() + dt.timedelta(days=3), clock.today() + dt.timedelta(days=9),
                        "asked us not to")], None)
    assert await _stored(db, e.id) == expected
    # The refusal's form shows what is saved now: saving from it is a deliberate choice, and goes through.
    r = await client.post(form, headers={**HX, **csrf(client)}, data={
        "seen": seen_in(r.text), "max_touches": "1", "starts_on": [_day(3)], "ends_on": [_day(9)],
        "reason": ["asked us not to"]})
    assert r.status_code == 200, r.text
    assert await _stored(db, e.id) == ((1, None, None), *expected[1:])


async def test_the_api_refuses_a_stale_seen_and_still_saves_without_one(client, world, db):
    e = await world.f.employer("Valley Harvest Foods")
    spoc, lead = await world.f.auth(world.users["spoc"]), await world.f.auth(world.users["lead"])
    read = (await client.get(_url(e.id), headers=spoc)).json()
    r = await client.put(_url(e.id), headers=lead, json={"seen": read["seen"], "blackouts": [
        {"starts_on": _day(3), "ends_on": _day(9)}]})
    assert r.status_code == 200 and r.json()["seen"] != read["seen"]
    r = await client.put(_url(e.id), headers=spoc, json={"seen": read["seen"], "max_touches": 1})
    assert r.status_code == 409 and "changed meanwhile" in r.json()["error"]["message"]
    assert len((await _stored(db, e.id))[1]) == 1
    # Clients that never send it replace the set as before.
    r = await client.put(_url(e.id), headers=spoc, json={"max_touches": 1})
    assert r.status_code == 200 and r.json()["blackouts"] == []

async def test_a_new_blackout_moves_queued_touches_out_and_points_out_appointments(client, world, desk, db):
    e = await world.f.employer("Valley Harvest Foods")
    queued = await desk.touch(e, world.users["spoc"], planned_in=4, window=(0, 40))
    appointment = await desk.touch(e, world.users["spoc"], planned_in=6, status="scheduled", channel="visit",
                                   scheduled_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=6))
    stuck = await desk.touch(e, world.users["spoc"], planned_in=8, window=(7, 9))  # no other day in its window
    await desk.touch(e, world.users["spoc"], planned_in=-20, status="completed")  # closed: nothing to do
    r = await client.put(_url(e.id), headers=await world.f.auth(world.users["spoc"]),
                         json={"blackouts": [{"starts_on": _day(2), "ends_on": _day(9)}]})
    assert r.status_code == 200, r.text
    moved = r.json()["moved"]
    assert [m["id"] for m in moved] == [queued.id] and r.json()["touches_in_blackouts"] == [appointment.id, stuck.id]
    await db.rollback()
    day = (await db.get(Touch, queued.id)).planned_on
    assert day.isoformat() == moved[0]["planned_on"] and clock.today() + dt.timedelta(days=9) < day
    assert day <= clock.today() + dt.timedelta(days=40)  # inside its window, and the pacing gap kept:
    assert all(abs((day - other).days) >= 7 for other in (clock.today() + dt.timedelta(days=6),
                                                          clock.today() + dt.timedelta(days=8)))
    assert (await db.get(Touch, appointment.id)).planned_on == clock.today() + dt.timedelta(days=6)
    replan = await db.scalar(select(AuditEvent).where(AuditEvent.action == "touch.replan"))
    assert replan.entity_id == queued.id and replan.after == {"planned_on": day.isoformat()}
    # The employer page says both: what moved, and what its SPOC must move.
    await login(client, world.users["spoc"].email)
    r = await client.post(f"/employers/{e.id}/preferences", headers={**HX, **csrf(client)}, data={
        "starts_on": [_day(2), _day(day.toordinal() - clock.today().toordinal())],
        "ends_on": [_day(9), _day(day.toordinal() - clock.today().toordinal())], "reason": ["", "trade show"]})
    assert r.status_code == 200 and f"Touch #{queued.id} moved to " in r.text
    assert f'<a href="/queue/touches/{appointment.id}">touch #{appointment.id}</a>' in r.text


async def test_saving_preferences_in_place_refreshes_the_timeline_and_budget_out_of_band(client, world, desk, db):
    e = await world.f.employer("Valley Harvest Foods")
    queued = await desk.touch(e, world.users["spoc"], planned_in=4, window=(0, 40))
    await login(client, world.users["spoc"].email)
    page = (await client.get(f"/employers/{e.id}")).text
    assert "at most <strong>2" in page and "of 2 per" in page.split('id="budget"', 1)[1]
    r = await client.post(f"/employers/{e.id}/preferences", headers={**HX, **csrf(client)}, data={
        "max_touches": "1", "starts_on": [_day(2)], "ends_on": [_day(9)], "reason": [""]})
    assert r.status_code == 200, r.text
    day = (await _fresh_touch(db, queued.id)).planned_on
    assert f"Touch #{queued.id} moved to {day.day} {day:%b %Y}" in r.text
    # The page's timeline (with its budget tiles) comes along, swapped out of band, showing the new day.
    timeline = r.text.split('<section class="card" id="timeline" hx-swap-oob="true">', 1)[1].split("</section>", 1)[0]
    row = timeline.split(f"Touch #{queued.id}", 1)[0].rsplit("<tr", 1)[1]
    assert f"{day.day} {day:%b %Y}" in row
    assert "of 1 per" in timeline.split('id="budget"', 1)[1]  # the stricter pacing
    assert 'id="preferences"' in r.text.split('id="timeline"', 1)[0]  # the panel itself, swapped as before


async def _fresh_touch(db, touch_id):
    await db.rollback()
    return await db.get(Touch, touch_id)


async def test_scheduling_on_a_blackout_day_says_so_and_a_leads_override_is_marked(client, world, desk, db):
    e = await world.f.employer("Valley Harvest Foods")
    t = await desk.touch(e, world.users["spoc"], planned_in=20)
    await client.put(_url(e.id), headers=await world.f.auth(world.users["lead"]),
                     json={"blackouts": [{"starts_on": _day(2), "ends_on": _day(9), "reason": "harvest"}]})
    when = (dt.datetime.combine(clock.today() + dt.timedelta(days=4), dt.time(10, 0))).isoformat()
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=await world.f.auth(world.users["spoc"]),
                          json={"scheduled_at": when, "channel": "call"})
    assert r.status_code == 409 and "blackout dates" in r.text and "pacing budget" not in r.text
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=await world.f.auth(world.users["lead"]),
                          json={"scheduled_at": when, "channel": "call", "override_reason": "they called us"})
    assert r.status_code == 200, r.text
    await db.rollback()
    assert (await db.get(Touch, t.id)).override_reason == "they called us (inside the employer's blackout dates)"


def test_blackout_bounds_hold_on_the_29th_of_february():
    from crm.touches.preferences import BlackoutIn, PreferencesIn, _problems

    leap = dt.date(2028, 2, 29)
    ok = PreferencesIn(blackouts=[BlackoutIn(dt.date(2028, 3, 1), dt.date(2028, 3, 5))])
    far = PreferencesIn(blackouts=[BlackoutIn(dt.date(2032, 3, 1), dt.date(2032, 3, 5))])
    assert _problems(ok, leap) == []
    assert _problems(far, leap) == [("blackouts[0].starts_on", "must be within 3 years of today")]
