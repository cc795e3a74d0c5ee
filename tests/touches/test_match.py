"""Requests in `needs_match`: a SPOC or lead says which employer was meant, and the request is decided."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditEvent
from crm.directory.models import Region
from crm.employers.models import Employer
from crm.notify.models import OutboxMessage
from crm.touches.models import Touch, TouchRequest
from tests.a11y import attrs_of, texts_of
from tests.factories import csrf, login
from tests.touches.conftest import today


@pytest.fixture
async def ambiguous(world, sessionmaker):
    """The partner typed "Bell Hardware"; intake found two Bell Hardware stores and parked the request."""
    f = world.f
    east, west = await f.employer("Bell Hardware East"), await f.employer("Bell Hardware West")
    async with sessionmaker() as db, db.begin():
        region_id = await db.scalar(select(Region.id).where(Region.code == "LA-BASIN"))
        partner = world.users["partner"]
        req = TouchRequest(requester_id=partner.id, requester_org_id=partner.organization_id, region_id=region_id,
                           purpose="hiring", summary="two welders", window_start=today(),
                           window_end=today() + dt.timedelta(days=30), status="needs_match",
                           employer_query={"name": "Bell Hardware", "city": "Pasadena"},
                           candidate_ids=[east.id, west.id])
        db.add(req)
    return {"east": east, "west": west, "request": req}


async def _match(client, world, request_id, who="spoc", **body):
    return await client.post(f"/api/touch-requests/{request_id}/match", json=body,
                             headers=await world.f.auth(world.users[who]))


async def test_spoc_confirms_a_candidate_and_the_request_opens_a_touch(client, world, ambiguous, db):
    r = await _match(client, world, ambiguous["request"].id, employer_id=ambiguous["west"].id)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["employer_id"], body["employer_name"]) == (
        "queued", ambiguous["west"].id, "Bell Hardware West")
    touch = await db.get(Touch, body["touch_id"])
    assert (touch.employer_id, touch.status) == (ambiguous["west"].id, "queued")
    actions = set(await db.scalars(select(AuditEvent.action)))
    assert {"touch_request.match", "touch.create"} <= actions
    told = list(await db.scalars(select(OutboxMessage.body).where(OutboxMessage.to_email == "partner@example.org")))
    said = next(b for b in told if "The employer was confirmed; your request joined touch" in b)
    assert "Employer: Bell Hardware West\n" in said  # the employer just confirmed, not a blank


@pytest.mark.parametrize(("asked", "lands_in"), [(None, "BAY-PENINSULA"), ("LA-BASIN", "LA-BASIN")])
async def test_a_request_left_to_the_employers_region_goes_to_the_confirmed_employers_region(
        client, world, db, asked, lands_in):
    await world.f.employer("Bell Hardware East")
    west = await world.f.employer("Bell Hardware West", county="San Mateo")  # BAY-PENINSULA
    r = await client.post("/api/touch-requests", headers=await world.f.auth(world.users["partner"]), json={
        "employer": {"name": "Bell Hardware"}, "purpose": "hiring", "summary": "two welders",
        "window_start": today().isoformat(), "window_end": (today() + dt.timedelta(days=30)).isoformat(),
        **({"region": asked} if asked else {})})
    assert r.status_code == 201 and r.json()["status"] == "needs_match", r.text
    assert r.json()["region"] == "LA-BASIN"  # waits with the partner's region's staff until matched
    matched = await _match(client, world, r.json()["id"], who="lead", employer_id=west.id)
    assert matched.status_code == 200, matched.text
    touch = await db.get(Touch, matched.json()["touch_id"])
    region = await db.get(Region, touch.region_id)
    assert (matched.json()["region"], region.code) == (lands_in, lands_in)


async def test_a_confirmed_request_bundles_into_the_employers_open_touch(client, world, ambiguous, desk, db):
    open_touch = await desk.touch(ambiguous["east"], world.users["spoc2"])
    r = await _match(client, world, ambiguous["request"].id, who="lead", employer_id=ambiguous["east"].id)
    assert r.status_code == 200, r.text
    assert (r.json()["touch_id"], r.json()["status"]) == (open_touch.id, "queued")
    assert await db.scalar(select(func.count()).select_from(Touch)) == 1


async def test_none_of_the_candidates_creates_the_typed_employer(client, world, ambiguous, db):
    r = await _match(client, world, ambiguous["request"].id, create=True)
    assert r.status_code == 200, r.text
    created = await db.get(Employer, r.json()["employer_id"])
    assert (created.legal_name, created.city) == ("Bell Hardware", "Pasadena")
    assert created.id not in (ambiguous["east"].id, ambiguous["west"].id)


async def test_a_repeat_of_the_organizations_open_request_is_declined_pointing_to_it(
        client, world, ambiguous, desk, db):
    open_touch = await desk.touch(ambiguous["east"], world.users["spoc"])
    earlier = await desk.request(open_touch, world.users["partner"])  # same org, employer, purpose
    r = await _match(client, world, ambiguous["request"].id, employer_id=ambiguous["east"].id)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "declined"
    req = await db.get(TouchRequest, ambiguous["request"].id)
    assert req.decline_reason == f"Same as your organization's open request #{earlier.id}"


async def test_do_not_contact_employer_declines_the_request(client, world, ambiguous, db):
    async with db.begin():
        (await db.get(Employer, ambiguous["east"].id)).do_not_contact = True
    r = await _match(client, world, ambiguous["request"].id, employer_id=ambiguous["east"].id)
    assert r.status_code == 200 and r.json()["status"] == "declined"


@pytest.mark.parametrize(("body", "status", "field"), [
    ({}, 422, "employer_id"),
    ({"employer_id": 1, "create": True}, 422, "employer_id"),
    ({"employer_id": 999999}, 422, "employer_id"),
    ({"employer_id": "x"}, 422, "employer_id"),
    ({"employer_id": 1, "colour": "red"}, 422, "colour"),
])
async def test_bad_matches_are_refused_naming_the_field_and_change_nothing(client, world, ambiguous, db,
                                                                         body, status, field):
    r = await _match(client, world, ambiguous["request"].id, **body)
    assert r.status_code == status and field in r.text, r.text
    req = await db.get(TouchRequest, ambiguous["request"].id)
    assert (req.status, req.employer_id) == ("needs_match", None)
    assert await db.scalar(select(func.count()).select_from(Touch)) == 0


async def test_a_request_matched_already_is_409(client, world, ambiguous):
    first = await _match(client, world, ambiguous["request"].id, employer_id=ambiguous["east"].id)
    assert first.status_code == 200
    again = await _match(client, world, ambiguous["request"].id, employer_id=ambiguous["west"].id)
    assert again.status_code == 409 and "already queued" in again.text


@pytest.mark.parametrize(("who", "status"), [("partner", 403), ("chair", 403), ("bay_spoc", 403), ("bay_lead", 403)])
async def test_only_staff_of_the_requests_region_match_it(client, world, ambiguous, db, who, status):
    r = await _match(client, world, ambiguous["request"].id, who=who, employer_id=ambiguous["east"].id)
    assert r.status_code == status
    assert (await db.get(TouchRequest, ambiguous["request"].id)).status == "needs_match"


# ---------------------------------------------------------------- the queue page's "Needs a match"

HX = {"HX-Request": "true"}


async def test_queue_lists_requests_needing_a_match_with_their_candidates(client, world, ambiguous):
    await login(client, world.users["spoc"].email)
    page = (await client.get("/queue")).text
    section = page.split('id="needs-match"', 1)[1].split('id="held"', 1)[0]
    assert f"Request #{ambiguous['request'].id}" in section and "name: Bell Hardware" in section
    assert "This one: Bell Hardware East" in section and "This one: Bell Hardware West" in section
    assert "None of these: create “Bell Hardware”" in section
    # The number field's name starts with what its label shows (WCAG 2.5.3: a speech user says what they see).
    number = attrs_of(section, "input", name="employer_id", type="number")
    assert "aria-label" not in number and "aria-labelledby" not in number
    label = next(t for t in texts_of(section, "label") if t.startswith("Another employer"))
    assert label == f"Another employer, by # (its number) for request {ambiguous['request'].id}"


async def test_a_candidate_merged_since_is_offered_as_the_record_it_was_merged_into(client, world, ambiguous,
                                                                                     sessionmaker):
    from tests.employers.test_merge import do_merge

    third = await world.f.employer("Bell Hardware Co")
    await do_merge(sessionmaker, world.users["lead"], ambiguous["west"].id, third.id)
    await do_merge(sessionmaker, world.users["lead"], ambiguous["east"].id, third.id)  # both are the same store
    await login(client, world.users["spoc"].email)
    section = (await client.get("/queue")).text.split('id="needs-match"', 1)[1].split('id="held"', 1)[0]
    assert section.count("This one:") == 1 and "This one: Bell Hardware Co" in section
    assert "Not this one: create “Bell Hardware”" in section  # one candidate: not "none of these"
    r = await client.post(f"/queue/requests/{ambiguous['request'].id}/match", headers={**HX, **csrf(client)},
                          data={"employer_id": str(third.id)})
    assert r.status_code == 200, r.text


async def test_another_regions_spoc_does_not_see_the_request(client, world, ambiguous):
    await login(client, world.users["bay_spoc"].email)
    assert 'id="needs-match"' not in (await client.get("/queue")).text


async def test_matching_from_the_queue_answers_the_row_in_place(client, world, ambiguous, db):
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    rid = ambiguous["request"].id
    r = await client.post(f"/queue/requests/{rid}/match", data={"employer_id": str(ambiguous["east"].id)},
                          headers={**HX, **csrf(client)})
    assert r.status_code == 200, r.text
    assert f'id="match-{rid}"' in r.text and "matched — Bell Hardware East: Queued as touch #" in r.text
    assert "<html" not in r.text
    # Announced, and the queue reloads around the row: its counts and the touch the request opened.
    assert '<div id="queue-status" hx-swap-oob="innerHTML"' in r.text and f"Request #{rid} matched" in r.text
    assert r.headers["hx-trigger-after-settle"] == "queue-changed"
    assert (await db.get(TouchRequest, rid)).status == "queued"
    assert 'id="needs-match"' not in (await client.get("/queue")).text


async def test_a_bad_number_shows_the_error_in_the_row_and_changes_nothing(client, world, ambiguous, db):
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    rid = ambiguous["request"].id
    r = await client.post(f"/queue/requests/{rid}/match", data={"employer_id": "999999"},
                          headers={**HX, **csrf(client)})
    assert r.status_code == 422 and "employer #999999 does not exist" in r.text
    assert "This one: Bell Hardware East" in r.text  # the row, still offering its choices
    blank = await client.post(f"/queue/requests/{rid}/match", data={"employer_id": ""},
                              headers={**HX, **csrf(client)})
    assert blank.status_code == 422 and "give the employer&#39;s number" in blank.text
    assert (await db.get(TouchRequest, rid)).status == "needs_match"


async def test_without_javascript_a_match_redirects_to_the_queue_with_a_message(client, world, ambiguous):
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/requests/{ambiguous['request'].id}/match",
                          data={"create": "1", "_csrf_token": client.cookies.get("csrftoken")}, follow_redirects=True)
    assert r.status_code == 200 and "matched — Bell Hardware: Queued as touch #" in r.text
