"""SPOC workflow through the API: schedule, complete, cancel, reassign, log — and every refusal writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from crm import clock
from crm.audit.models import AuditEvent
from crm.auth.models import User
from crm.employers.models import SpocAssignment
from crm.notify.models import OutboxMessage
from crm.touches.models import EmployerBlackout, HandOff, RegionPolicy, Touch, TouchRequest
from crm.touches.requests import human_date
from tests.factories import csrf, login, next_spring_forward
from tests.touches.conftest import today


def at(days: int, hour: int = 15) -> str:
    return dt.datetime.combine(today() + dt.timedelta(days=days), dt.time(hour), dt.UTC).isoformat()


async def _counts(db):
    await db.rollback()  # end the read snapshot so the app's commits are visible
    return (await db.scalar(select(func.count(AuditEvent.id))), await db.scalar(select(func.count(OutboxMessage.id))),
            await db.scalar(select(func.count(HandOff.id))))


async def _state(db, touch_id):
    await db.rollback()
    t = await db.get(Touch, touch_id)
    reqs = (await db.scalars(select(TouchRequest).where(TouchRequest.employer_id == t.employer_id)
                             .order_by(TouchRequest.id))).all()
    return t, reqs


@pytest.fixture
async def bundled(world, desk):
    """A queued touch of Maria (LA-BASIN) carrying requests from the college and the board."""
    e = await world.f.employer("Golden State Logistics LLC")
    t = await desk.touch(e, world.users["spoc"])
    r1 = await desk.request(t, world.users["partner"], purpose="hiring", summary="10 forklift drivers")
    r2 = await desk.request(t, world.users["partner2"], purpose="apprenticeship", summary="logistics apprentices")
    return e, t, r1, r2


async def test_schedule_moves_touch_and_requests_to_scheduled_and_tells_requesters(client, world, desk, db, bundled):
    e, t, r1, r2 = bundled
    c = await desk.contact(e)
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=await world.f.auth(world.users["spoc"]),
                          json={"scheduled_at": at(5), "channel": "visit", "contact_ids": [c.id]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["planned_on"], body["contacts"][0]["name"]) == (
        "scheduled", (today() + dt.timedelta(days=5)).isoformat(), "Dana Owner")
    touch, reqs = await _state(db, t.id)
    assert touch.status == "scheduled" and [q.status for q in reqs] == ["scheduled", "scheduled"]
    mails = (await db.execute(select(OutboxMessage.to_email, OutboxMessage.body)
                              .order_by(OutboxMessage.to_email))).all()
    assert [to for to, _ in mails] == ["partner2@example.org", "partner@example.org"]
    # The time too: a SPOC moving the visit within its day tells them something new.
    local = clock.local(dt.datetime.fromisoformat(at(5)))
    assert all(f"on {human_date(local.date())} at {local:%H:%M %Z}." in said for _, said in mails)
    actions = set((await db.scalars(select(AuditEvent.action).where(AuditEvent.employer_id == e.id))).all())
    assert {"touch.schedule", "touch_request.schedule"} <= actions


async def test_a_requests_history_says_each_appointment_and_a_reschedule_as_a_move(client, world, bundled):
    _, t, r1, _ = bundled
    spoc = await world.f.auth(world.users["spoc"])
    for days, channel in ((5, "visit"), (8, "call")):
        r = await client.post(f"/api/touches/{t.id}/schedule", headers=spoc,
                              json={"scheduled_at": at(days), "channel": channel})
        assert r.status_code == 200, r.text
    first, second = (clock.local(dt.datetime.fromisoformat(at(days))) for days in (5, 8))
    await login(client, world.users["partner"].email)
    history = (await client.get(f"/requests/{r1.id}")).text.split('id="request-history"', 1)[1]
    assert f"{human_date(first.date())} at {first:%H:%M %Z}, by visit" in history
    assert f"moved to {human_date(second.date())} at {second:%H:%M %Z}, by call" in history


async def test_schedule_with_contact_of_another_employer_is_422_and_writes_nothing(client, world, desk, db, bundled):
    _, t, _, _ = bundled
    stranger = await desk.contact(await world.f.employer("Other Co"), "Not Theirs")
    before = await _counts(db)
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=await world.f.auth(world.users["spoc"]),
                          json={"scheduled_at": at(5), "channel": "visit", "contact_ids": [stranger.id]})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "contact_ids"
    touch, reqs = await _state(db, t.id)
    assert touch.status == "queued" and touch.scheduled_at is None and await _counts(db) == before


@pytest.mark.parametrize(("change", "field"), [({"channel": "pigeon"}, "channel"),
                                               ({"scheduled_at": at(-2)}, "scheduled_at"),
                                               ({"scheduled_at": "tomorrow"}, "scheduled_at")])
async def test_bad_schedule_input_is_422_naming_the_field(client, world, db, bundled, change, field):
    _, t, _, _ = bundled
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=await world.f.auth(world.users["spoc"]),
                          json={"scheduled_at": at(5), "channel": "visit", **change})
    assert r.status_code in (400, 422) and field in r.text
    assert (await _state(db, t.id))[0].status == "queued"


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59", "9999-12-31T20:00:00Z", "0001-01-01T00:00:00+14:00",
                                  "2099-01-05T10:00:00Z"])
async def test_a_time_beyond_the_next_year_is_422_naming_scheduled_at(client, world, db, bundled, when):
    _, t, _, _ = bundled
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=await world.f.auth(world.users["spoc"]),
                          json={"scheduled_at": when, "channel": "call", "outside_window": True})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "scheduled_at", r.text
    assert (await _state(db, t.id))[0].status == "queued"


async def test_an_hour_already_past_today_is_422_naming_scheduled_at(client, world, db, bundled):
    _, t, _, _ = bundled
    earlier = clock.local(clock.now() - dt.timedelta(minutes=20)).replace(tzinfo=None, microsecond=0)
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=await world.f.auth(world.users["spoc"]),
                          json={"scheduled_at": earlier.isoformat(), "channel": "call"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "scheduled_at", r.text
    assert "must not be in the past" in r.text
    assert (await _state(db, t.id))[0].status == "queued"


async def test_a_day_outside_the_requesters_dates_needs_confirming_and_they_are_told(client, world, db, bundled):
    _, t, r1, r2 = bundled  # both asked for today .. today + 30
    spoc = await world.f.auth(world.users["spoc"])
    before = await _counts(db)
    body = {"scheduled_at": at(45), "channel": "visit"}
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=spoc, json=body)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "scheduled_at"
    assert "outside the dates requesters asked for" in r.text and f"#{r1.id}" in r.text and f"#{r2.id}" in r.text
    assert (await _state(db, t.id))[0].status == "queued" and await _counts(db) == before
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=spoc, json={**body, "outside_window": True})
    assert r.status_code == 200 and r.json()["planned_on"] == (today() + dt.timedelta(days=45)).isoformat()
    await db.rollback()
    bodies = (await db.scalars(select(OutboxMessage.body))).all()
    assert len(bodies) == 2 and all("outside the dates you asked for" in b for b in bodies)
    note = await db.scalar(select(AuditEvent.note).where(AuditEvent.action == "touch.schedule"))
    assert note == f"outside the dates of request(s) #{r1.id}, #{r2.id}"


async def test_schedule_breaking_the_pacing_budget_is_409_unless_a_lead_overrides(client, world, desk, db, bundled):
    e, t, _, _ = bundled
    await desk.touch(e, world.users["spoc"], status="completed", planned_in=-2)  # min gap 7 days
    spoc = await world.f.auth(world.users["spoc"])
    body = {"scheduled_at": at(1), "channel": "call"}
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=spoc, json=body)
    assert r.status_code == 409 and "pacing budget" in r.text
    assert "next allowed date is " + human_date(today() + dt.timedelta(days=5)) in r.text
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["scheduled_at"]  # a conflict, caused by this field
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=spoc, json={**body, "override_reason": "urgent"})
    assert r.status_code == 409  # a SPOC cannot override
    assert (await _state(db, t.id))[0].status == "queued"
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=await world.f.auth(world.users["lead"]),
                          json={**body, "override_reason": "layoff notice, must meet this week"})
    assert r.status_code == 200 and r.json()["override_reason"] == "layoff notice, must meet this week"
    await db.rollback()
    note = await db.scalar(select(AuditEvent.note).where(AuditEvent.action == "touch.schedule"))
    assert note == "pacing override: layoff notice, must meet this week"


async def test_a_leads_override_carries_to_a_new_time_on_its_day_but_not_to_another_day(
        client, world, desk, db, bundled):
    e, t, _, _ = bundled
    await desk.touch(e, world.users["spoc"], status="completed", planned_in=-2)  # min gap 7 days
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=await world.f.auth(world.users["lead"]),
                          json={"scheduled_at": at(1), "channel": "call", "override_reason": "layoff notice"})
    assert r.status_code == 200, r.text
    spoc = await world.f.auth(world.users["spoc"])
    # The SPOC moves the call to later that day: the lead's approval of the day stands.
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=spoc,
                          json={"scheduled_at": at(1, hour=20), "channel": "visit"})
    assert r.status_code == 200, r.text
    assert (r.json()["planned_on"], r.json()["override_reason"]) == (
        (today() + dt.timedelta(days=1)).isoformat(), "layoff notice")
    # Another day inside the gap is a new decision, and the refusal says what was approved.
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=spoc,
                          json={"scheduled_at": at(2), "channel": "visit"})
    assert r.status_code == 409 and "pacing budget" in r.text
    assert f"the lead's override approved {human_date(today() + dt.timedelta(days=1))} only" in r.text
    assert (await _state(db, t.id))[0].planned_on == today() + dt.timedelta(days=1)


async def test_rescheduling_does_not_count_the_touch_against_itself(client, world, desk, db, bundled):
    e, t, _, _ = bundled
    spoc = await world.f.auth(world.users["spoc"])
    assert (await client.post(f"/api/touches/{t.id}/schedule", headers=spoc,
                              json={"scheduled_at": at(5), "channel": "visit"})).status_code == 200
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=spoc,
                          json={"scheduled_at": at(6), "channel": "call"})
    assert r.status_code == 200 and r.json()["planned_on"] == (today() + dt.timedelta(days=6)).isoformat()


async def test_complete_records_an_outcome_per_request_and_creates_hand_offs(client, world, db, bundled):
    e, t, r1, r2 = bundled
    r = await client.post(f"/api/touches/{t.id}/complete", headers=await world.f.auth(world.users["spoc"]), json={
        "outcomes": [{"request_id": r1.id, "outcome": "interested", "note": "call HR on Monday"},
                     {"request_id": r2.id, "outcome": "not_interested"}],
        "notes": "met the owner", "channel": "visit",
        "hand_offs": [{"to_org_id": world.orgs["college"].id, "need": "forklift certification for 10"}]})
    assert r.status_code == 200, r.text
    touch, reqs = await _state(db, t.id)
    assert touch.status == "completed" and touch.planned_on == today() and touch.completed_at is not None
    assert [(q.status, q.outcome, q.outcome_note) for q in reqs] == [
        ("completed", "interested", "call HR on Monday"), ("completed", "not_interested", None)]
    h = (await db.scalars(select(HandOff))).one()
    assert (h.to_org_id, h.status, h.touch_id) == (world.orgs["college"].id, "pending", t.id)
    bodies = (await db.scalars(select(OutboxMessage.body).where(OutboxMessage.to_email == "partner@example.org"))).all()
    assert any("interested" in b and "call HR on Monday" in b for b in bodies)
    r2_mail = (await db.scalars(select(OutboxMessage.body)
                                .where(OutboxMessage.body.contains(f"request #{r2.id} ")))).all()
    assert any(": not interested." in b for b in r2_mail) and not any("not_interested" in b for b in r2_mail)
    assert any("forklift certification" in b for b in bodies)  # the college's partner is told of the hand-off


async def test_a_partner_with_two_requests_on_a_touch_gets_one_e_mail_for_each_change(client, world, desk, db,
                                                                                        bundled):
    e, t, r1, r2 = bundled
    r3 = await desk.request(t, world.users["partner"], purpose="event", summary="job fair")
    spoc = await world.f.auth(world.users["spoc"])
    r = await client.post(f"/api/touches/{t.id}/complete", headers=spoc, json={"channel": "call", "outcomes": [
        {"request_id": r1.id, "outcome": "interested", "note": "call Ana"},
        {"request_id": r2.id, "outcome": "not_interested"},
        {"request_id": r3.id, "outcome": "follow_up"}]})
    assert r.status_code == 200, r.text
    mail = (await db.execute(select(OutboxMessage.to_email, OutboxMessage.subject, OutboxMessage.body)
                             .where(OutboxMessage.subject.startswith("Outcome")))).all()
    assert sorted(m.to_email for m in mail) == ["partner2@example.org", "partner@example.org"]
    mine = next(m for m in mail if m.to_email == "partner@example.org")
    assert mine.subject == "Outcome of your requests for Golden State Logistics LLC"
    assert f"#{r1.id} (hiring) was completed on touch #{t.id}: interested. Note from Maria Lopez: call Ana" in mine.body
    assert f"#{r3.id} (event) was completed on touch #{t.id}: follow-up." in mine.body


async def test_complete_records_whom_the_spoc_spoke_with_in_place_of_whom_the_schedule_noted(
        client, world, desk, db, bundled):
    e, t, r1, r2 = bundled
    dana, ana = await desk.contact(e, "Dana Owner"), await desk.contact(e, "Ana Ruiz")
    spoc = await world.f.auth(world.users["spoc"])
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=spoc,
                          json={"scheduled_at": at(5), "channel": "visit", "contact_ids": [dana.id]})
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/touches/{t.id}/complete", headers=spoc, json={
        "outcomes": [{"request_id": r1.id, "outcome": "interested"}, {"request_id": r2.id, "outcome": "referred"}],
        "contact_ids": [ana.id, ana.id]})
    assert r.status_code == 200, r.text
    assert [c["name"] for c in r.json()["contacts"]] == ["Ana Ruiz"]
    touch, _ = await _state(db, t.id)
    assert [c.id for c in touch.contacts] == [ana.id]
    event = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "touch.complete"))).one()
    assert (event.before["contact_ids"], event.after["contact_ids"]) == ([dana.id], [ana.id])


async def test_complete_without_contact_ids_keeps_the_contacts_the_schedule_noted(client, world, desk, db, bundled):
    e, t, r1, r2 = bundled
    dana = await desk.contact(e, "Dana Owner")
    spoc = await world.f.auth(world.users["spoc"])
    assert (await client.post(f"/api/touches/{t.id}/schedule", headers=spoc, json={
        "scheduled_at": at(5), "channel": "visit", "contact_ids": [dana.id]})).status_code == 200
    r = await client.post(f"/api/touches/{t.id}/complete", headers=spoc, json={
        "outcomes": [{"request_id": r1.id, "outcome": "interested"}, {"request_id": r2.id, "outcome": "referred"}]})
    assert r.status_code == 200 and [c["name"] for c in r.json()["contacts"]] == ["Dana Owner"]
    event = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "touch.complete"))).one()
    assert event.after["contact_ids"] == [dana.id]


@pytest.mark.parametrize("stranger", ["other employer's", "unknown"])
async def test_complete_naming_someone_not_at_the_employer_is_422_on_contact_ids_and_nothing_changes(
        client, world, desk, db, bundled, stranger):
    e, t, r1, r2 = bundled
    ana = await desk.contact(e, "Ana Ruiz")
    other = 999_999 if stranger == "unknown" else (await desk.contact(await world.f.employer("Other Co"), "Ned")).id
    before = await _counts(db)
    r = await client.post(f"/api/touches/{t.id}/complete", headers=await world.f.auth(world.users["spoc"]), json={
        "outcomes": [{"request_id": r1.id, "outcome": "interested"}, {"request_id": r2.id, "outcome": "referred"}],
        "channel": "call", "contact_ids": [ana.id, other],
        "hand_offs": [{"to_org_id": world.orgs["college"].id, "need": "welders"}]})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["fields"] == [
        {"field": "contact_ids", "message": f"contact(s) [{other}] are not people at this employer"}]
    touch, reqs = await _state(db, t.id)
    assert (touch.status, touch.contacts, [q.status for q in reqs]) == ("queued", [], ["queued", "queued"])
    assert await _counts(db) == before


async def test_outcomes_for_requests_not_on_the_touch_are_422_and_nothing_changes(client, world, desk, db, bundled):
    e, t, r1, r2 = bundled
    elsewhere = await desk.request(None, world.users["partner"], employer=e, purpose="event", release_in=3)
    before = await _counts(db)
    r = await client.post(f"/api/touches/{t.id}/complete", headers=await world.f.auth(world.users["spoc"]), json={
        "outcomes": [{"request_id": r1.id, "outcome": "interested"}, {"request_id": r2.id, "outcome": "referred"},
                     {"request_id": elsewhere.id, "outcome": "interested"}], "channel": "call"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "outcomes"
    assert f"request #{elsewhere.id} is not on this touch" in r.text
    touch, reqs = await _state(db, t.id)
    assert touch.status == "queued" and [q.status for q in reqs] == ["queued", "queued", "held"]
    assert await _counts(db) == before


async def test_completing_a_never_scheduled_touch_asks_how_with_every_other_problem_at_once(client, world, db,
                                                                                            bundled):
    _, t, r1, r2 = bundled
    before = await _counts(db)
    r = await client.post(f"/api/touches/{t.id}/complete", headers=await world.f.auth(world.users["spoc"]), json={
        "outcomes": [{"request_id": r1.id, "outcome": "interested"}],
        "hand_offs": [{"to_org_id": world.orgs["college"].id, "need": "  "}]})
    assert r.status_code == 422
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["channel", "outcomes", "hand_offs[0].need"]
    assert "never scheduled" in r.json()["error"]["fields"][0]["message"]
    # An API client opened no form: the missing outcome is not said to be "added after you opened this form".
    assert r.json()["error"]["fields"][1]["message"] == (
        f"missing an outcome for request #{r2.id}: every request on the touch needs one")
    assert "form" not in r.text
    assert (await _state(db, t.id))[0].status == "queued" and await _counts(db) == before


@pytest.mark.parametrize("outcomes", [[], [{"outcome": "interested"}], [{"outcome": "thrilled"}]])
async def test_missing_or_unknown_outcomes_are_422(client, world, db, bundled, outcomes):
    _, t, r1, _ = bundled
    body = [{"request_id": r1.id, **o} for o in outcomes]
    r = await client.post(f"/api/touches/{t.id}/complete", headers=await world.f.auth(world.users["spoc"]),
                          json={"outcomes": body})
    assert r.status_code == 422 and "outcomes" in r.text
    assert (await _state(db, t.id))[0].status == "queued"


async def test_hand_off_to_unknown_organization_is_422_and_touch_stays_open(client, world, db, bundled):
    _, t, r1, r2 = bundled
    r = await client.post(f"/api/touches/{t.id}/complete", headers=await world.f.auth(world.users["spoc"]), json={
        "outcomes": [{"request_id": r1.id, "outcome": "interested"}, {"request_id": r2.id, "outcome": "follow_up"}],
        "hand_offs": [{"to_org_id": 999999, "need": "welders"}]})
    assert r.status_code == 422 and "hand_offs[0].to_org_id" in r.text
    assert (await _state(db, t.id))[0].status == "queued" and await db.scalar(select(func.count(HandOff.id))) == 0


async def test_completing_a_cancelled_touch_is_409_and_nothing_changes(client, world, desk, db):
    e = await world.f.employer("Golden State Logistics LLC")
    t = await desk.touch(e, world.users["spoc"], status="cancelled")
    before = await _counts(db)
    r = await client.post(f"/api/touches/{t.id}/complete", headers=await world.f.auth(world.users["spoc"]),
                          json={"outcomes": []})
    assert r.status_code == 409 and "cannot complete a cancelled touch" in r.text
    assert (await _state(db, t.id))[0].status == "cancelled" and await _counts(db) == before


async def test_cancel_holds_bundled_requests_a_week_by_default_and_tells_requesters(client, world, db, bundled):
    e, t, r1, r2 = bundled
    await db.execute(update(TouchRequest).where(TouchRequest.id == r2.id).values(purpose="work_based_learning"))
    await db.commit()
    r = await client.post(f"/api/touches/{t.id}/cancel", headers=await world.f.auth(world.users["spoc"]),
                          json={"reason": "owner on leave"})
    assert r.status_code == 200, r.text
    touch, reqs = await _state(db, t.id)
    assert (touch.status, touch.cancel_reason) == ("cancelled", "owner on leave")
    # Not today, though the budget would allow it: the release job would rebook what was just called off.
    release = today() + dt.timedelta(days=7)
    assert [(q.status, q.touch_id, q.release_on) for q in reqs] == [("held", None, release)] * 2
    bodies = (await db.scalars(select(OutboxMessage.body))).all()
    assert len(bodies) == 2 and all("owner on leave" in b and human_date(release) in b for b in bodies)
    assert any(f"Your request #{r2.id} (work-based learning):" in b for b in bodies)  # words, not a code
    # The request's own history says why it went back to held.
    notes = set(await db.scalars(select(AuditEvent.note).where(AuditEvent.action == "touch_request.hold")))
    assert notes == {f"touch #{t.id} cancelled (owner on leave); held until {human_date(release)}"}
    # And so does what the partner reads of it: the SPOC's reason, not the employer's budget.
    mine = (await client.get(f"/api/touch-requests/{r1.id}", headers=await world.f.auth(world.users["partner"]))).json()
    assert mine["decision"] == (f"Held until {human_date(release)}: touch #{t.id} was cancelled (owner on leave); "
                                "it will join the first touch made then")


@pytest.mark.parametrize(("hold_in", "released_in"), [(2, 4), (20, 20)])
async def test_cancel_holds_until_the_chosen_date_or_the_first_the_budget_allows_after_it(
        client, world, desk, db, bundled, hold_in, released_in):
    e, t, _, _ = bundled
    await desk.touch(e, world.users["spoc"], status="completed", planned_in=-3)  # 7-day gap: not before day 4
    r = await client.post(f"/api/touches/{t.id}/cancel", headers=await world.f.auth(world.users["spoc"]), json={
        "reason": "owner on leave", "hold_until": (today() + dt.timedelta(days=hold_in)).isoformat()})
    assert r.status_code == 200, r.text
    _, reqs = await _state(db, t.id)
    assert {q.release_on for q in reqs} == {today() + dt.timedelta(days=released_in)}


async def test_cancel_pausing_the_employer_makes_new_requests_wait_with_the_held_ones(client, world, desk, db, bundled):
    e, t, _, _ = bundled
    queued = await desk.touch(e, world.users["spoc2"], planned_in=2, region="LA-BASIN")  # another open touch
    back = today() + dt.timedelta(days=10)
    r = await client.post(f"/api/touches/{t.id}/cancel", headers=await world.f.auth(world.users["spoc"]), json={
        "reason": "closed for inventory", "hold_until": back.isoformat(), "pause_employer": True})
    assert r.status_code == 200, r.text
    await db.rollback()
    blackout = (await db.execute(select(EmployerBlackout.starts_on, EmployerBlackout.ends_on, EmployerBlackout.reason)
                                 .where(EmployerBlackout.employer_id == e.id))).one()
    assert blackout == (today(), back - dt.timedelta(days=1), f"touch #{t.id} cancelled: closed for inventory")
    assert (await db.get(Touch, queued.id)).planned_on == back  # out of the paused days
    # A partner asking meanwhile joins the held ones on their day instead of a contact during the closure.
    r = await client.post("/api/touch-requests", headers=await world.f.auth(world.users["partner"]), json={
        "employer_id": e.id, "region": "LA-BASIN", "purpose": "event", "window_start": today().isoformat(),
        "window_end": (today() + dt.timedelta(days=30)).isoformat()})
    assert r.status_code == 201, r.text
    await db.rollback()
    touch = await db.get(Touch, r.json()["touch_id"])
    assert touch.planned_on >= back


async def test_pausing_the_employer_from_the_queue_form(client, world, db, bundled):
    e, t, _, _ = bundled
    await login(client, world.users["spoc"].email)
    page = (await client.get(f"/queue/touches/{t.id}")).text
    form = page.split(f'action="/queue/touches/{t.id}/cancel"', 1)[1].split("</form>")[0]
    assert 'name="pause_employer" value="1"' in form
    r = await client.post(f"/queue/touches/{t.id}/cancel", headers={"HX-Request": "true", **csrf(client)},
                          data={"reason": "closed for inventory", "then": "hold", "pause_employer": "1"})
    assert r.status_code == 200, r.text
    await db.rollback()
    ends = await db.scalar(select(EmployerBlackout.ends_on).where(EmployerBlackout.employer_id == e.id))
    assert ends == today() + dt.timedelta(days=6)  # the day before the default week's hold ends
    # The SPOC is told what the pause did, not only that the touch was cancelled.
    assert (f"Touch #{t.id} cancelled; no contact with Golden State Logistics LLC through {human_date(ends)} "
            "(added to its blackout dates)") in r.text


async def test_cancel_may_decline_the_requests_with_the_reason(client, world, db, bundled):
    _, t, _, _ = bundled
    r = await client.post(f"/api/touches/{t.id}/cancel", headers=await world.f.auth(world.users["spoc"]),
                          json={"reason": "business closed", "decline_requests": True})
    assert r.status_code == 200, r.text
    _, reqs = await _state(db, t.id)
    assert [(q.status, q.decline_reason) for q in reqs] == [("declined", "Touch cancelled: business closed")] * 2
    bodies = (await db.scalars(select(OutboxMessage.body))).all()
    assert all("(business closed), so your request was declined" in b for b in bodies)


@pytest.mark.parametrize("body", [
    {"hold_until": "today"}, {"hold_until": "in 400 days"}, {"hold_until": "tomorrow", "decline_requests": True}])
async def test_bad_hold_dates_are_422_naming_hold_until_and_nothing_changes(client, world, db, bundled, body):
    _, t, _, _ = bundled
    days = {"today": 0, "tomorrow": 1, "in 400 days": 400}
    body = {**body, "hold_until": (today() + dt.timedelta(days=days[body["hold_until"]])).isoformat()}
    r = await client.post(f"/api/touches/{t.id}/cancel", headers=await world.f.auth(world.users["spoc"]),
                          json={"reason": "x", **body})
    assert r.status_code == 422 and "hold_until" in r.text, r.text
    assert (await _state(db, t.id))[0].status == "queued"


async def test_cancel_of_a_do_not_contact_employer_declines_the_requests(client, world, desk, db, bundled):
    e, t, r1, r2 = bundled
    from crm.employers.models import Employer
    await db.execute(update(Employer).where(Employer.id == e.id).values(do_not_contact=True))
    await db.commit()
    r = await client.post(f"/api/touches/{t.id}/cancel", headers=await world.f.auth(world.users["spoc"]),
                          json={"reason": "employer asked us to stop"})
    assert r.status_code == 200
    _, reqs = await _state(db, t.id)
    declined = ("declined", "Touch cancelled: employer asked us to stop")
    assert [(q.status, q.decline_reason) for q in reqs] == [declined] * 2


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
async def test_cancel_without_reason_is_4xx_and_nothing_changes(client, world, db, bundled, body):
    _, t, _, _ = bundled
    r = await client.post(f"/api/touches/{t.id}/cancel", headers=await world.f.auth(world.users["spoc"]), json=body)
    assert r.status_code in (400, 422) and "reason" in r.text
    assert (await _state(db, t.id))[0].status == "queued"


async def test_reassign_to_another_spoc_of_the_region(client, world, db, bundled):
    e, t, _, _ = bundled
    r = await client.post(f"/api/touches/{t.id}/reassign", headers=await world.f.auth(world.users["lead"]),
                          json={"spoc_id": world.users["spoc2"].id, "reason": "Maria on leave"})
    assert r.status_code == 200 and r.json()["spoc"]["name"] == "Sam Ortiz"
    assert "spoc2@example.org" in (await db.scalars(select(OutboxMessage.to_email))).all()


async def test_giving_an_unassigned_touch_to_a_spoc_makes_them_the_employers_spoc_for_its_next_request(
        client, world, db, desk):
    e = await world.f.employer("Nobody's Co")
    unassigned = await desk.touch(e, None)
    lead = await world.f.auth(world.users["lead"])
    r = await client.post(f"/api/touches/{unassigned.id}/reassign", headers=lead,
                          json={"spoc_id": world.users["spoc2"].id, "reason": "knows the owner"})
    assert r.status_code == 200, r.text
    assert r.json()["spoc"]["name"] == "Sam Ortiz" and r.json()["assignment_id"] is not None
    assert r.json()["message"] == (f"Touch #{unassigned.id} is now Sam Ortiz's, and Sam Ortiz is now Nobody's Co's "
                                   "SPOC in LA-BASIN: its next requests go to them")
    await db.rollback()
    a = (await db.scalars(select(SpocAssignment).where(SpocAssignment.employer_id == e.id))).one()
    assert (a.id, a.spoc_id, a.ended_at) == (r.json()["assignment_id"], world.users["spoc2"].id, None)
    assert a.reason == f"given unassigned touch #{unassigned.id}: knows the owner"
    assert await db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "spoc.assign", AuditEvent.employer_id == e.id)) == 1
    # Sticky: with that touch gone, the employer's next request goes to Sam, not the unassigned queue.
    assert (await client.post(f"/api/touches/{unassigned.id}/cancel", headers=lead,
                              json={"reason": "owner away"})).status_code == 200
    asked = await client.post("/api/touch-requests", headers=await world.f.auth(world.users["partner"]), json={
        "employer_id": e.id, "region": "LA-BASIN", "purpose": "hiring", "summary": "interns",
        "window_start": today().isoformat(), "window_end": (today() + dt.timedelta(days=30)).isoformat()})
    assert asked.status_code == 201, asked.text
    assert asked.json()["touch_id"] != unassigned.id and asked.json()["spoc"]["name"] == "Sam Ortiz"


async def test_reassigning_one_touch_of_an_employer_with_a_spoc_leaves_its_assignment_alone(
        client, world, db, bundled):
    e, t, _, _ = bundled
    assignment = await world.f.assign(e, world.users["spoc"])
    r = await client.post(f"/api/touches/{t.id}/reassign", headers=await world.f.auth(world.users["lead"]),
                          json={"spoc_id": world.users["spoc2"].id})
    assert r.status_code == 200 and r.json()["assignment_id"] is None
    assert r.json()["message"] == f"Touch #{t.id} is now Sam Ortiz's"
    await db.rollback()
    current = (await db.scalars(select(SpocAssignment).where(SpocAssignment.employer_id == e.id,
                                                             SpocAssignment.ended_at.is_(None)))).one()
    assert (current.id, current.spoc_id) == (assignment.id, world.users["spoc"].id)


async def test_reassigning_to_someone_marked_away_says_so(client, world, db, bundled):
    _, t, _, _ = bundled
    await db.execute(update(User).where(User.id == world.users["spoc2"].id).values(away=True))
    await db.commit()
    r = await client.post(f"/api/touches/{t.id}/reassign", headers=await world.f.auth(world.users["lead"]),
                          json={"spoc_id": world.users["spoc2"].id})
    assert r.status_code == 200 and r.json()["message"] == (
        f"Touch #{t.id} is now Sam Ortiz's (note: Sam Ortiz is marked away)")


async def test_an_unassigned_touch_given_away_on_the_queue_page_says_the_employer_has_a_spoc_now(
        client, world, db, desk):
    e = await world.f.employer("Nobody's Co")
    unassigned = await desk.touch(e, None)
    await login(client, world.users["lead"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/touches/{unassigned.id}/reassign", headers={"HX-Request": "true", **csrf(client)},
                          data={"spoc_id": str(world.users["spoc2"].id)})
    assert r.status_code == 200, r.text
    assert "and Sam Ortiz is now Nobody&#39;s Co&#39;s SPOC in LA-BASIN" in r.text
    await db.rollback()
    assert (await db.scalars(select(SpocAssignment.spoc_id).where(SpocAssignment.employer_id == e.id))).all() == [
        world.users["spoc2"].id]


@pytest.mark.parametrize("who", ["spoc", "spoc2"])
async def test_a_spoc_cannot_reassign_a_touch_not_even_to_themselves(client, world, db, desk, bundled, who):
    _, t, _, _ = bundled  # Maria's touch
    unassigned = await desk.touch(await world.f.employer("Nobody's Co"), None)
    before = await _counts(db)
    for touch in (t, unassigned):
        r = await client.post(f"/api/touches/{touch.id}/reassign", headers=await world.f.auth(world.users[who]),
                              json={"spoc_id": world.users[who].id})
        assert r.status_code == 403 and "lead" in r.text
    assert (await _state(db, t.id))[0].spoc_id == world.users["spoc"].id
    assert (await _state(db, unassigned.id))[0].spoc_id is None and await _counts(db) == before


async def test_reassign_to_a_spoc_of_another_region_is_422(client, world, db, bundled):
    _, t, _, _ = bundled
    r = await client.post(f"/api/touches/{t.id}/reassign", headers=await world.f.auth(world.users["lead"]),
                          json={"spoc_id": world.users["bay_spoc"].id})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "spoc_id"
    assert (await _state(db, t.id))[0].spoc_id == world.users["spoc"].id


async def test_logged_touch_is_completed_and_counts_toward_the_budget(client, world, db):
    e = await world.f.employer("Golden State Logistics LLC")
    spoc = await world.f.auth(world.users["spoc"])
    r = await client.post("/api/touches", headers=spoc, json={
        "employer_id": e.id, "channel": "call", "occurred_on": today().isoformat(), "notes": "owner called in"})
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["source"], r.json()["spoc"]["name"]) == ("completed", "logged", "Maria Lopez")
    timeline = (await client.get(f"/api/employers/{e.id}/timeline", headers=spoc)).json()
    la = next(b for b in timeline["budget"] if b["region"] == "LA-BASIN")
    assert la["remaining"] == 1 and la["next_allowed"] == (today() + dt.timedelta(days=7)).isoformat()


@pytest.mark.parametrize(("change", "field"), [({"occurred_on": "FUTURE"}, "occurred_on"),
                                               ({"employer_id": 999999}, "employer_id"),
                                               ({"channel": "fax"}, "channel"),
                                               ({"region": "NOWHERE"}, "region")])
async def test_bad_logged_touch_is_422_and_writes_nothing(client, world, db, change, field):
    e = await world.f.employer("Golden State Logistics LLC")
    if change.get("occurred_on") == "FUTURE":
        change = {"occurred_on": (today() + dt.timedelta(days=1)).isoformat()}
    r = await client.post("/api/touches", headers=await world.f.auth(world.users["spoc"]), json={
        "employer_id": e.id, "channel": "call", "occurred_on": today().isoformat(), **change})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == field
    assert await db.scalar(select(func.count(Touch.id))) == 0


async def test_a_logged_touch_hands_the_employers_need_to_a_partner_who_sees_and_accepts_it(client, world, db,
                                                                                              desk):
    e = await world.f.employer("Golden State Logistics LLC")
    ana = await desk.contact(e, "Ana Ruiz")
    r = await client.post("/api/touches", headers=await world.f.auth(world.users["spoc"]), json={
        "employer_id": e.id, "channel": "call", "occurred_on": today().isoformat(), "notes": "owner called in",
        "contact_ids": [ana.id], "hand_offs": [
            {"to_org_id": world.orgs["college"].id, "to_user_id": world.users["partner"].id,
             "need": "forklift certification for 10"},
            {"to_org_id": world.orgs["board"].id, "need": "two job fairs in spring"}]})
    assert r.status_code == 201, r.text
    touch_id = r.json()["id"]
    made = (await db.scalars(select(HandOff).order_by(HandOff.id))).all()
    assert r.json()["hand_offs"] == [h.id for h in made]
    assert [(h.touch_id, h.to_org_id, h.to_user_id, h.status) for h in made] == [
        (touch_id, world.orgs["college"].id, world.users["partner"].id, "pending"),
        (touch_id, world.orgs["board"].id, None, "pending")]
    # Audited and told as a completed touch's hand-offs are: the person it names, the board's partners.
    audited = (await db.scalars(select(AuditEvent.entity_id).where(AuditEvent.action == "hand_off.create")
                                .order_by(AuditEvent.entity_id))).all()
    assert audited == [h.id for h in made]
    told = {m.to_email: m.body for m in await db.scalars(select(OutboxMessage))}
    assert "handed you a need of Golden State Logistics LLC: forklift certification for 10" in told[
        "partner@example.org"]
    assert "two job fairs in spring" in told["partner2@example.org"]
    partner = await world.f.auth(world.users["partner"])
    listed = (await client.get("/api/hand-offs", headers=partner)).json()["items"]
    assert [(h["id"], h["touch_id"], h["need"]) for h in listed] == [
        (made[0].id, touch_id, "forklift certification for 10")]
    r = await client.post(f"/api/hand-offs/{made[0].id}/accept", headers=partner, json={"note": "we call Ana"})
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert [c["name"] for c in r.json()["reach"]] == ["Ana Ruiz"]  # whom the SPOC spoke with on the call


@pytest.mark.parametrize(("hand_off", "field"), [({"to_org_id": 999999}, "hand_offs[0].to_org_id"),
                                                 ({"need": "  "}, "hand_offs[0].need"),
                                                 ({"to_user_id": "SPOC"}, "hand_offs[0].to_user_id")])
async def test_a_logged_touch_with_a_bad_hand_off_is_422_naming_it_and_logs_nothing(client, world, db, hand_off,
                                                                                     field):
    e = await world.f.employer("Golden State Logistics LLC")
    if hand_off.get("to_user_id") == "SPOC":  # a person, but not of the partner organization
        hand_off = {"to_user_id": world.users["spoc"].id}
    before = await _counts(db)
    r = await client.post("/api/touches", headers=await world.f.auth(world.users["spoc"]), json={
        "employer_id": e.id, "channel": "call", "occurred_on": today().isoformat(),
        "hand_offs": [{"to_org_id": world.orgs["college"].id, "need": "welders", **hand_off}]})
    assert r.status_code == 422 and [f["field"] for f in r.json()["error"]["fields"]] == [field], r.text
    assert await db.scalar(select(func.count(Touch.id))) == 0 and await _counts(db) == before


async def test_a_logged_touch_says_every_problem_at_once_hand_offs_included(client, world, db):
    e = await world.f.employer("Golden State Logistics LLC")
    r = await client.post("/api/touches", headers=await world.f.auth(world.users["spoc"]), json={
        "employer_id": e.id, "channel": "fax", "occurred_on": (today() + dt.timedelta(days=1)).isoformat(),
        "hand_offs": [{"to_org_id": world.orgs["college"].id, "need": "welders"},
                      {"to_org_id": 999999, "need": "drivers"}]})
    assert r.status_code == 422
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["channel", "occurred_on", "hand_offs[1].to_org_id"]
    assert await db.scalar(select(func.count(Touch.id))) == 0


async def test_region_policy_change_is_what_schedule_checks(client, world, desk, db, bundled):
    e, t, _, _ = bundled
    await desk.touch(e, world.users["spoc"], status="completed", planned_in=-2)
    db.add(RegionPolicy(region_id=e.region_id, max_touches=3, period_days=30, min_gap_days=1))
    await db.commit()
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=await world.f.auth(world.users["spoc"]),
                          json={"scheduled_at": at(1), "channel": "call"})
    assert r.status_code == 200, r.text


async def test_a_time_the_clocks_skip_is_refused_not_moved_an_hour(client, world, db, bundled):
    """02:30 on the night summer time starts never happens: it was stored as 03:30 without a word."""
    e, t, r1, r2 = bundled
    spoc = await world.f.auth(world.users["spoc"])
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=spoc,
                          json={"scheduled_at": f"{next_spring_forward().isoformat()}T02:30:00", "channel": "visit"})
    assert r.status_code == 422 and r.json()["error"]["fields"] == [
        {"field": "scheduled_at", "message": "does not exist that day: the clocks move from 02:00 to 03:00"}]
    assert (await _state(db, t.id))[0].status == "queued"


@pytest.mark.parametrize(("planned", "status", "appointment", "now", "expected"), [
    # California times (PST in January): a planned day ahead starts at 10:00.
    ("2027-01-12", "queued", None, "2027-01-11 15:07", ("2027-01-12", "10:00")),
    # Planned today, before 10:00: 10:00; after it, the next quarter hour from now.
    ("2027-01-11", "queued", None, "2027-01-11 09:30", ("2027-01-11", "10:00")),
    ("2027-01-11", "queued", None, "2027-01-11 15:07", ("2027-01-11", "15:15")),
    ("2027-01-11", "queued", None, "2027-01-11 15:00", ("2027-01-11", "15:15")),
    # From the end of the working day (17:00), the next weekday's 10:00: Monday evening, Friday evening.
    ("2027-01-11", "queued", None, "2027-01-11 16:44", ("2027-01-11", "16:45")),
    ("2027-01-11", "queued", None, "2027-01-11 16:46", ("2027-01-12", "10:00")),
    ("2027-01-15", "queued", None, "2027-01-15 18:07", ("2027-01-18", "10:00")),
    # Overdue: today, never the past.
    ("2027-01-04", "queued", None, "2027-01-11 08:00", ("2027-01-11", "10:00")),
    ("2027-01-04", "queued", None, "2027-01-11 23:50", ("2027-01-12", "10:00")),
    # A scheduled touch: its own appointment, unless that is past.
    ("2027-01-14", "scheduled", "2027-01-14 14:30", "2027-01-11 15:07", ("2027-01-14", "14:30")),
    ("2027-01-11", "scheduled", "2027-01-11 09:00", "2027-01-11 11:20", ("2027-01-11", "11:30")),
])
def test_the_schedule_form_starts_from_the_appointment_or_10_00_and_never_from_the_past_or_after_hours(
        planned, status, appointment, now, expected):
    from crm.touches.workflow import schedule_default

    def instant(text: str) -> dt.datetime:
        return clock.as_instant(dt.datetime.fromisoformat(text))

    touch = Touch(planned_on=dt.date.fromisoformat(planned), status=status,
                  scheduled_at=instant(appointment) if appointment else None)
    day, at = schedule_default(touch, instant(now))
    assert (day.isoformat(), at.strftime("%H:%M")) == expected
