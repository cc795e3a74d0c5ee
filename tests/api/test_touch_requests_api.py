"""POST/GET /api/touch-requests: decisions, repeats, idempotency keys, bad input, who sees what."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm import clock
from crm.audit.models import AuditEvent
from crm.directory.models import County
from crm.employers.models import Employer
from crm.notify.models import OutboxMessage
from crm.touches.models import IdempotencyRecord, Touch, TouchRequest
from tests.factories import login, today


def body(employer_id, /, *, starts_in=0, ends_in=30, **extra):
    """A request for the window from ``starts_in`` to ``ends_in`` days from today (dates made when called);
    ``extra`` overrides any field, ``employer_id`` too."""
    return {"employer_id": employer_id, "region": "LA-BASIN", "purpose": "hiring", "summary": "Summer interns",
            "window_start": (today() + dt.timedelta(days=starts_in)).isoformat(),
            "window_end": (today() + dt.timedelta(days=ends_in)).isoformat(), **extra}


async def counts(db):
    return [await db.scalar(select(func.count()).select_from(m)) for m in
            (TouchRequest, Touch, AuditEvent, OutboxMessage, Employer, IdempotencyRecord)]


async def test_first_request_opens_a_queued_touch_with_the_employers_spoc(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    r = await client.post("/api/touch-requests", json=body(e.id), headers=await world.f.auth(world.users["partner"]))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["status"] == "queued" and out["employer_id"] == e.id and out["touch_id"]
    assert out["spoc"] == {"id": world.users["spoc"].id, "name": "Maria Lopez"}
    assert out["planned_date"] == today().isoformat() and out["release_on"] is None
    assert out["decision"].startswith(f"Queued as touch #{out['touch_id']} with Maria Lopez, planned for ")
    touch = await db.get(Touch, out["touch_id"])
    assert touch.spoc_id == world.users["spoc"].id and touch.status == "queued"
    recipients = set((await db.scalars(select(OutboxMessage.to_email))).all())
    assert recipients == {"spoc@example.org", "partner@example.org"}


async def test_second_partner_request_bundles_into_open_touch(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    first = (await client.post("/api/touch-requests", json=body(e.id),
                               headers=await world.f.auth(world.users["partner"]))).json()
    r = await client.post("/api/touch-requests", json=body(e.id, purpose="apprenticeship"),
                          headers=await world.f.auth(world.users["partner2"]))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["touch_id"] == first["touch_id"]
    assert out["decision"].startswith(f"Bundled into touch #{first['touch_id']} with Maria Lopez, planned for")
    assert await db.scalar(select(func.count()).select_from(Touch)) == 1
    actions = (await db.scalars(select(AuditEvent.action).where(AuditEvent.employer_id == e.id)
                                .order_by(AuditEvent.id))).all()
    assert actions == ["touch.create", "touch_request.create", "touch.bundle", "touch_request.create"]


async def test_repeated_request_of_same_org_returns_the_existing_request_and_creates_nothing(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    headers = await world.f.auth(world.users["partner"])
    first = await client.post("/api/touch-requests", json=body(e.id), headers=headers)
    before = await counts(db)
    again = await client.post("/api/touch-requests", json=body(e.id, summary="Different words"), headers=headers)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert await counts(db) == before


async def test_repeated_idempotency_key_replays_the_first_response_and_creates_nothing(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    headers = {**await world.f.auth(world.users["partner"]), "Idempotency-Key": "abc-123"}
    first = await client.post("/api/touch-requests", json=body(e.id), headers=headers)
    assert first.status_code == 201
    before = await counts(db)
    again = await client.post("/api/touch-requests", json=body(e.id), headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert await counts(db) == before


async def test_idempotency_key_reused_with_another_body_is_422_naming_the_header(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    headers = {**await world.f.auth(world.users["partner"]), "Idempotency-Key": "abc-123"}
    assert (await client.post("/api/touch-requests", json=body(e.id), headers=headers)).status_code == 201
    before = await counts(db)
    r = await client.post("/api/touch-requests", json=body(e.id, purpose="event"), headers=headers)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "Idempotency-Key"
    assert await counts(db) == before


async def test_do_not_contact_employer_is_refused_with_409_and_nothing_written(client, world, db):
    e = await world.f.employer("Sunrise Family Dental", do_not_contact=True)
    before = await counts(db)
    r = await client.post("/api/touch-requests", json=body(e.id), headers=await world.f.auth(world.users["partner"]))
    assert r.status_code == 409 and "do-not-contact" in r.json()["error"]["message"]
    assert await counts(db) == before


@pytest.mark.parametrize(("change", "field"), [
    ({"starts_in": 10, "ends_in": 5}, "window_end"),
    ({"starts_in": -20, "ends_in": -10}, "window_end"),
    ({"purpose": "sales_pitch"}, "purpose"),
    ({"employer_id": 987654}, "employer_id"),
    ({"summary": "x" * 2001}, "summary"),
    ({"region": "ATLANTIS"}, "region"),
    ({"priority": "urgent!!"}, "priority"),
    ({"window_start": "next tuesday"}, "window_start"),
    ({"window_start": "9999-12-31", "window_end": None}, "window_start"),  # was a 500: its default end overflowed
    ({"employer_id": None, "employer": {"name": "L.L.C."}}, "employer.name"),  # no employer's name at all
    ({"employer_id": None, "employer": {"name": "Pinecrest Dental", "zip": "9001"}}, "employer.zip"),  # not 09001
])
async def test_bad_request_input_is_4xx_naming_the_field_and_writes_nothing(client, world, db, change, field):
    e = await world.f.employer("Sunrise Family Dental")
    headers = await world.f.auth(world.users["partner"])
    before = await counts(db)
    r = await client.post("/api/touch-requests", json=body(e.id, **change), headers=headers)
    assert 400 <= r.status_code < 500, r.text
    assert field in [f["field"] for f in r.json()["error"].get("fields", [])], r.text
    assert await counts(db) == before


async def test_every_problem_of_a_request_body_is_named_at_once(client, world, db):
    before = await counts(db)
    r = await client.post("/api/touch-requests", headers=await world.f.auth(world.users["partner"]), json={
        "employer": {"name": "Zzqx Widgets", "fein": "12-34", "website": "not a url !!", "zip": "abc"},
        "purpose": "sales_pitch", "window_start": (today() - dt.timedelta(days=30)).isoformat(),
        "window_end": (today() - dt.timedelta(days=20)).isoformat()})
    assert r.status_code == 422
    assert [f["field"] for f in r.json()["error"]["fields"]] == [
        "purpose", "window_end", "employer.website", "employer.fein", "employer.zip"]
    assert await counts(db) == before


async def test_partner_cannot_read_another_organizations_request(client, world):
    e = await world.f.employer("Sunrise Family Dental")
    mine = (await client.post("/api/touch-requests", json=body(e.id),
                              headers=await world.f.auth(world.users["partner"]))).json()
    other = await world.f.auth(world.users["partner2"])
    assert (await client.get(f"/api/touch-requests/{mine['id']}", headers=other)).status_code == 404
    listing = (await client.get("/api/touch-requests", headers=other)).json()
    assert listing["total"] == 0 and listing["items"] == []
    own = (await client.get("/api/touch-requests", headers=await world.f.auth(world.users["partner"]))).json()
    assert [i["id"] for i in own["items"]] == [mine["id"]] and own["items"][0]["summary"] == "Summer interns"


async def test_chair_gets_403_on_every_touch_request_endpoint(client, world):
    e = await world.f.employer("Sunrise Family Dental")
    mine = (await client.post("/api/touch-requests", json=body(e.id),
                              headers=await world.f.auth(world.users["partner"]))).json()
    chair = await world.f.auth(world.users["chair"])
    assert (await client.get("/api/touch-requests", headers=chair)).status_code == 403
    assert (await client.get(f"/api/touch-requests/{mine['id']}", headers=chair)).status_code == 403
    assert (await client.post("/api/touch-requests", json=body(e.id), headers=chair)).status_code == 403
    assert (await client.post(f"/api/touch-requests/{mine['id']}/withdraw", headers=chair)).status_code == 403


async def test_spoc_sees_own_regions_requests_but_not_another_regions(client, world):
    la = await world.f.employer("Sunrise Family Dental")
    bay = await world.f.employer("Peninsula Bakery", county="San Mateo")
    partner = await world.f.auth(world.users["partner"])
    r_la = (await client.post("/api/touch-requests", json=body(la.id), headers=partner)).json()
    r_bay = (await client.post("/api/touch-requests", json=body(bay.id, region="BAY-PENINSULA"),
                               headers=partner)).json()
    spoc = await world.f.auth(world.users["spoc"])
    assert [i["id"] for i in (await client.get("/api/touch-requests", headers=spoc)).json()["items"]] == [r_la["id"]]
    assert (await client.get(f"/api/touch-requests/{r_bay['id']}", headers=spoc)).status_code == 404
    bay_spoc = await world.f.auth(world.users["bay_spoc"])
    items = (await client.get("/api/touch-requests", headers=bay_spoc)).json()["items"]
    assert [i["id"] for i in items] == [r_bay["id"]]


async def test_list_filters_by_status_and_employer_and_paginates(client, world):
    a = await world.f.employer("Sunrise Family Dental")
    b = await world.f.employer("Golden Logistics")
    partner = await world.f.auth(world.users["partner"])
    for e in (a, b):
        await client.post("/api/touch-requests", json=body(e.id), headers=partner)
    page = (await client.get("/api/touch-requests", params={"limit": 1}, headers=partner)).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    only_b = (await client.get("/api/touch-requests", params={"employer_id": b.id}, headers=partner)).json()
    assert [i["employer_id"] for i in only_b["items"]] == [b.id]
    held = (await client.get("/api/touch-requests", params={"status": "held"}, headers=partner)).json()
    assert held["total"] == 0
    bad = await client.get("/api/touch-requests", params={"status": "lost"}, headers=partner)
    assert bad.status_code == 422


async def test_requester_withdraws_and_the_now_empty_queued_touch_is_cancelled(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    partner = await world.f.auth(world.users["partner"])
    out = (await client.post("/api/touch-requests", json=body(e.id), headers=partner)).json()
    r = await client.post(f"/api/touch-requests/{out['id']}/withdraw", json={"reason": "filled"}, headers=partner)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    touch = await db.get(Touch, out["touch_id"])
    assert touch.status == "cancelled"
    again = await client.post(f"/api/touch-requests/{out['id']}/withdraw", headers=partner)
    assert again.status_code == 409


async def test_withdrawing_the_request_that_narrowed_a_touch_gives_the_others_their_dates_back(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    wide = (await client.post("/api/touch-requests", json=body(e.id),
                              headers=await world.f.auth(world.users["partner"]))).json()
    partner2 = await world.f.auth(world.users["partner2"])
    narrow = (await client.post("/api/touch-requests", headers=partner2, json=body(
        e.id, ends_in=10, purpose="hiring"))).json()
    assert narrow["touch_id"] == wide["touch_id"]
    touch = await db.get(Touch, wide["touch_id"])
    assert touch.window_end == today() + dt.timedelta(days=10)
    assert (await client.post(f"/api/touch-requests/{narrow['id']}/withdraw", headers=partner2)).status_code == 200
    await db.rollback()
    touch = await db.get(Touch, wide["touch_id"])
    assert (touch.status, touch.window_start, touch.window_end) == ("queued", today(), today() + dt.timedelta(days=30))
    assert await db.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "touch.window")) == 1


async def test_another_organization_cannot_withdraw_a_request(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    out = (await client.post("/api/touch-requests", json=body(e.id),
                             headers=await world.f.auth(world.users["partner"]))).json()
    url = f"/api/touch-requests/{out['id']}/withdraw"
    r = await client.post(url, headers=await world.f.auth(world.users["partner2"]))
    assert r.status_code == 404
    spoc = await client.post(url, headers=await world.f.auth(world.users["spoc"]))
    assert spoc.status_code == 403
    assert (await db.get(TouchRequest, out["id"])).status == "queued"


async def test_openapi_documents_the_201_and_the_200_repeat_of_touch_request_submission(client):
    schema = (await client.get("/schema/openapi.json")).json()
    responses = schema["paths"]["/api/touch-requests"]["post"]["responses"]
    assert {"201", "200"} <= set(responses)


async def test_the_answer_to_a_submission_is_what_reading_the_request_returns(client, world, db):
    """Intake builds its answer from values at hand; reading the request back must agree, in every case."""
    from crm.touches.models import Touch as TouchRow

    assigned = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(assigned, world.users["spoc"])
    unassigned = await world.f.employer("Harbor Tool Rental")
    logged = await world.f.employer("Golden Gate Bakery")
    db.add(TouchRow(employer_id=logged.id, region_id=logged.region_id, status="queued", source="logged",
                    window_start=today(), window_end=today() + dt.timedelta(days=30),
                    planned_on=today() + dt.timedelta(days=3)))
    busy = await world.f.employer("Busy Freight Co")
    for ago in (10, 2):  # two touches in the last 30 days: the default budget is spent
        day = today() - dt.timedelta(days=ago)
        db.add(TouchRow(employer_id=busy.id, region_id=busy.region_id, status="completed", source="logged",
                        window_start=day, window_end=day, planned_on=day))
    await db.commit()
    await world.f.employer("Acme Plumbing Inc", city="Pasadena")
    await world.f.employer("Acme Plumbing Inc", city="Long Beach")
    partner, partner2 = (await world.f.auth(world.users["partner"]), await world.f.auth(world.users["partner2"]))
    sent = [
        (partner, body(assigned.id)),                              # new touch with the SPOC
        (partner2, body(assigned.id, purpose="apprenticeship")),   # bundled into it
        (partner, body(unassigned.id)),                            # the unassigned queue
        (partner2, body(unassigned.id, purpose="event", starts_in=60, ends_in=61)),  # second touch, paced
        (partner, body(logged.id)),                                # joins a touch that had no request
        (partner, body(busy.id, ends_in=5)),                       # held
        (partner, {**body(None), "employer_id": None, "employer": {"name": "Acme Plumbing"}}),  # needs a match
        (partner, body(assigned.id, summary="again")),             # the open request, repeated (200)
    ]
    statuses = []
    for headers, payload in sent:
        r = await client.post("/api/touch-requests", json=payload, headers=headers)
        assert r.status_code in (200, 201), r.text
        read = await client.get(f"/api/touch-requests/{r.json()['id']}", headers=headers)
        assert read.status_code == 200
        assert r.json() == read.json()
        statuses.append(r.json()["status"])
    assert statuses == ["queued", "queued", "queued", "queued", "queued", "held", "needs_match", "queued"]


async def test_a_window_starting_today_in_california_is_accepted_after_utc_midnight(client, world, db, monkeypatch):
    # 5:30 pm on 30 Nov in California is 1 Dec in UTC: "today" is still the 30th for the partner.
    monkeypatch.setattr(clock, "now", lambda: dt.datetime(2026, 12, 1, 1, 30, tzinfo=dt.UTC))
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    r = await client.post("/api/touch-requests", headers=await world.f.auth(world.users["partner"]), json=body(
        e.id, window_start="2026-11-30", window_end="2026-11-30"))
    assert r.status_code == 201, r.text
    assert r.json()["planned_date"] == "2026-11-30"


async def test_a_request_held_by_the_employers_blackout_says_so_not_the_budget(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    blackout = {"starts_on": today().isoformat(), "ends_on": (today() + dt.timedelta(days=40)).isoformat(),
                "reason": "inventory"}
    r = await client.put(f"/api/employers/{e.id}/preferences", json={"blackouts": [blackout]},
                         headers=await world.f.auth(world.users["lead"]))
    assert r.status_code == 200, r.text
    r = await client.post("/api/touch-requests", json=body(e.id, ends_in=20),
                          headers=await world.f.auth(world.users["partner"]))
    assert r.status_code == 201 and r.json()["status"] == "held"
    assert "the employer asked not to be contacted on the days you asked for" in r.json()["decision"]
    partner = await world.f.auth(world.users["partner"])
    again = await client.get(f"/api/touch-requests/{r.json()['id']}", headers=partner)
    assert again.json()["decision"] == r.json()["decision"]  # stored, not only said once


async def test_withdrawing_the_last_request_of_a_scheduled_touch_tells_its_spoc_who_decides(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    partner, spoc = await world.f.auth(world.users["partner"]), await world.f.auth(world.users["spoc"])
    out = (await client.post("/api/touch-requests", json=body(e.id), headers=partner)).json()
    visit = f"{(today() + dt.timedelta(days=3)).isoformat()}T10:00:00"
    r = await client.post(f"/api/touches/{out['touch_id']}/schedule", headers=spoc,
                          json={"scheduled_at": visit, "channel": "visit"})
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/touch-requests/{out['id']}/withdraw", json={"reason": "filled"}, headers=partner)
    assert r.status_code == 200
    await db.rollback()
    assert (await db.get(Touch, out["touch_id"])).status == "scheduled"  # the appointment is the SPOC's call
    subject, said = (await db.execute(select(OutboxMessage.subject, OutboxMessage.body)
                                      .where(OutboxMessage.to_email == "spoc@example.org",
                                             OutboxMessage.subject.like("%withdrawn%")))).one()
    assert subject == f"Request #{out['id']} withdrawn from your touch #{out['touch_id']} with Sunrise Family Dental"
    assert "Pat Partner withdrew" in said and "No request rides on it any more" in said
    await login(client, world.users["spoc"].email)
    card = (await client.get("/queue")).text.split(f'id="touch-{out["touch_id"]}"', 1)[1].split("</article>", 1)[0]
    assert "Every request on it was withdrawn" in card


async def test_a_new_employer_is_not_filed_in_a_guessed_region_of_a_many_region_organization(client, world, db):
    both = await world.f.organization("Bay to Basin College", "community_college", ["BAY-PENINSULA", "LA-BASIN"])
    partner = await world.f.auth(await world.f.user("both@example.org", "Bo Th", [("partner", None)], org=both))
    # No ZIP, and one outside California (New York).
    for typed_zip in (None, "10001"):
        ask = {**body(None), "employer": {"name": "Nimbus Cloud Kitchens", "zip": typed_zip}}
        del ask["region"]
        before = await counts(db)
        r = await client.post("/api/touch-requests", json=ask, headers=partner)
        assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "region", r.text
        assert "BAY-PENINSULA, LA-BASIN" in r.text and await counts(db) == before
    r = await client.post("/api/touch-requests", json={**ask, "region": "BAY-PENINSULA"}, headers=partner)
    assert r.status_code == 201, r.text
    await db.rollback()
    region = await db.scalar(select(Employer.region_id).where(Employer.id == r.json()["employer_id"]))
    assert region == (await world.f.region("BAY-PENINSULA")).id


async def test_a_new_employers_california_zip_chooses_among_the_organizations_regions(client, world, db):
    both = await world.f.organization("Bay to Basin College", "community_college", ["BAY-PENINSULA", "LA-BASIN"])
    partner = await world.f.auth(await world.f.user("both@example.org", "Bo Th", [("partner", None)], org=both))
    ask = {**body(None), "employer": {"name": "Nimbus Cloud Kitchens", "zip": "94103-2231"}}  # San Francisco
    del ask["region"]
    r = await client.post("/api/touch-requests", json=ask, headers=partner)
    assert r.status_code == 201, r.text
    await db.rollback()
    employer = await db.get(Employer, r.json()["employer_id"])
    assert (employer.region.code, employer.county.name) == ("BAY-PENINSULA", "San Francisco")
    touch = await db.get(Touch, r.json()["touch_id"])
    assert touch.region_id == employer.region_id


async def test_a_new_employer_is_filed_where_its_california_zip_is_and_the_request_goes_there_unless_told(
        client, world, db):
    """SPEC §2: county → region. A Fresno employer typed by an LA college is a Fresno employer; the request
    goes to its region unless the partner chose one."""
    partner = await world.f.auth(world.users["partner"])  # East LA College: LA-BASIN only
    ask = {**body(None), "employer": {"name": "Fresno Almond Packers Co", "zip": "93721"}}
    del ask["region"]
    r = await client.post("/api/touch-requests", json=ask, headers=partner)
    assert r.status_code == 201, r.text
    fresno = await db.scalar(select(County).where(County.name == "Fresno"))
    await db.rollback()
    employer = await db.get(Employer, r.json()["employer_id"])
    assert (employer.county_id, employer.region_id) == (fresno.id, fresno.region_id)
    assert (await db.get(Touch, r.json()["touch_id"])).region_id == fresno.region_id
    # Asked in LA-BASIN: the request stays there, the employer is still where its ZIP is.
    ask = {**body(None), "employer": {"name": "Mission Street Bakery", "zip": "94103"}}
    r = await client.post("/api/touch-requests", json=ask, headers=partner)
    assert r.status_code == 201, r.text
    await db.rollback()
    employer = await db.get(Employer, r.json()["employer_id"])
    assert (employer.region.code, employer.county.name) == ("BAY-PENINSULA", "San Francisco")
    assert (await db.get(Touch, r.json()["touch_id"])).region_id == (await world.f.region("LA-BASIN")).id
    # Outside California: the request's region, no county.
    ask = {**body(None), "employer": {"name": "Reno Freight Lines", "zip": "89501"}}
    r = await client.post("/api/touch-requests", json=ask, headers=partner)
    await db.rollback()
    employer = await db.get(Employer, r.json()["employer_id"])
    assert (employer.region.code, employer.county_id) == ("LA-BASIN", None)


async def test_staff_typing_an_employer_of_a_region_they_do_not_work_file_it_in_the_requests_region(
        client, world, db):
    spoc = await world.f.auth(world.users["spoc"])  # LA-BASIN
    ask = {**body(None), "employer": {"name": "Mission Street Bakery", "zip": "94103"}}
    r = await client.post("/api/touch-requests", json=ask, headers=spoc)
    assert r.status_code == 201, r.text
    await db.rollback()
    employer = await db.get(Employer, r.json()["employer_id"])
    assert (employer.region.code, employer.county_id) == ("LA-BASIN", None)
