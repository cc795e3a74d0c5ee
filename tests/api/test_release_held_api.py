"""POST /api/touch-requests/{id}/release: a lead of the request's region releases a held request before its
date, overriding the employer's pacing with a reason (SPEC §3.4), audited; everyone else is refused."""

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from crm.audit.models import AuditEvent
from crm.employers.models import Employer
from crm.notify.models import OutboxMessage
from crm.touches.models import Touch, TouchRequest
from tests.api.test_touch_requests_api import body
from tests.factories import today


@pytest.fixture
async def held(client, world, db):
    """A partner's request held because the employer's budget is spent (touches 10 and 2 days ago)."""
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    for days_ago in (10, 2):
        on = today() - dt.timedelta(days=days_ago)
        db.add(Touch(employer_id=e.id, region_id=e.region_id, status="completed", source="logged",
                     window_start=on, window_end=on, planned_on=on))
    await db.commit()
    r = await client.post("/api/touch-requests", json=body(e.id, ends_in=5),
                          headers=await world.f.auth(world.users["partner"]))
    assert r.status_code == 201 and r.json()["status"] == "held", r.text
    return e, r.json()["id"]


async def test_a_lead_releases_a_held_request_now_with_a_reason_and_it_is_audited(client, world, db, held):
    e, request_id = held
    r = await client.post(f"/api/touch-requests/{request_id}/release", json={"reason": "plant closing; HR asked"},
                          headers=await world.f.auth(world.users["lead"]))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "queued" and out["planned_date"] == today().isoformat() and out["release_on"] is None
    await db.rollback()
    touch = await db.get_one(Touch, out["touch_id"])
    assert (touch.override_reason, touch.spoc_id) == ("plant closing; HR asked", world.users["spoc"].id)
    actions = set(await db.scalars(select(AuditEvent.action).where(AuditEvent.employer_id == e.id)))
    assert {"touch.override", "touch_request.override", "touch_request.release"} <= actions
    told = (await db.scalars(select(OutboxMessage.body).where(OutboxMessage.to_email == "partner@example.org"))).all()
    assert any("Released early by Lee Lead into touch" in b for b in told)


@pytest.mark.parametrize(("who", "status"), [("spoc", 403), ("partner", 403), ("bay_lead", 404), ("chair", 403)])
async def test_only_a_lead_of_the_region_releases_early(client, world, db, held, who, status):
    _, request_id = held
    r = await client.post(f"/api/touch-requests/{request_id}/release", json={"reason": "asked"},
                          headers=await world.f.auth(world.users[who]))
    assert r.status_code == status, r.text
    await db.rollback()
    assert (await db.get_one(TouchRequest, request_id)).status == "held"


async def test_a_release_without_a_reason_or_of_a_request_not_held_changes_nothing(client, world, db, held):
    e, request_id = held
    lead = await world.f.auth(world.users["lead"])
    before = await db.scalar(select(func.count(Touch.id)))
    r = await client.post(f"/api/touch-requests/{request_id}/release", json={"reason": ""}, headers=lead)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "reason"
    await db.rollback()  # end the read snapshot before writing
    await db.execute(update(Employer).where(Employer.id == e.id).values(do_not_contact=True))
    await db.commit()
    r = await client.post(f"/api/touch-requests/{request_id}/release", json={"reason": "asked"}, headers=lead)
    assert r.status_code == 409 and "asked not to be contacted" in r.text
    await db.execute(update(Employer).where(Employer.id == e.id).values(do_not_contact=False))
    await db.commit()
    assert (await client.post(f"/api/touch-requests/{request_id}/release", json={"reason": "asked"},
                              headers=lead)).status_code == 200
    again = await client.post(f"/api/touch-requests/{request_id}/release", json={"reason": "asked"}, headers=lead)
    assert again.status_code == 409 and "not held" in again.text
    await db.rollback()
    assert await db.scalar(select(func.count(Touch.id))) == before + 1


async def test_the_queue_offers_a_lead_release_now_on_a_held_request(client, world, db, held):
    from tests.factories import login

    _, request_id = held
    await login(client, world.users["spoc"].email)
    assert "Release now" not in (await client.get("/queue")).text  # SPOCs do not override pacing
    assert 'id="release"' not in (await client.get(f"/requests/{request_id}")).text
    await login(client, world.users["lead"].email)
    assert f'<a href="/requests/{request_id}#release">Release now…</a>' in (await client.get("/queue")).text
    page = (await client.get(f"/requests/{request_id}")).text  # the form is on the request's page
    assert f'action="/queue/requests/{request_id}/release"' in page
    token = client.cookies.get("csrftoken")
    assert "Release it now, despite the employer's pacing" in page  # held by the budget
    refused = await client.post(f"/queue/requests/{request_id}/release", data={"reason": " ", "_csrf_token": token})
    # Back on the request's page, the problem said at the reason itself.
    assert refused.status_code == 422 and 'id="release"' in refused.text
    assert ('aria-invalid="true" aria-describedby="release-reason-error"' in refused.text
            and '<small class="error" role="alert" id="release-reason-error">is required' in refused.text)
    r = await client.post(f"/queue/requests/{request_id}/release", data={"reason": "HR asked", "_csrf_token": token})
    assert r.status_code == 200 and f"Request #{request_id} released: Queued as touch #" in r.text
    await db.rollback()
    assert (await db.get_one(TouchRequest, request_id)).status == "queued"


async def test_an_early_release_the_budget_would_allow_is_not_marked_an_override(client, world, db):
    """Held until today's job run, released by a lead a moment before: nothing was overridden."""
    e = await world.f.employer("Golden State Logistics")
    await world.f.assign(e, world.users["spoc"])
    on = today() - dt.timedelta(days=40)  # long enough ago to leave the budget whole
    db.add(TouchRequest(requester_id=world.users["partner"].id, requester_org_id=world.orgs["college"].id,
                        employer_id=e.id, region_id=e.region_id, purpose="hiring", window_start=today(),
                        window_end=today() + dt.timedelta(days=10), status="held", release_on=today(),
                        created_at=dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC)))
    await db.commit()
    request_id = await db.scalar(select(TouchRequest.id).where(TouchRequest.employer_id == e.id))
    r = await client.post(f"/api/touch-requests/{request_id}/release", json={"reason": "asked"},
                          headers=await world.f.auth(world.users["lead"]))
    assert r.status_code == 200, r.text
    await db.rollback()
    assert (await db.get_one(Touch, r.json()["touch_id"])).override_reason is None


async def test_release_now_of_a_request_held_by_a_cancelled_touch_says_it_comes_before_its_date(
        client, world, db, held):
    from tests.factories import login

    _, request_id = held
    on = today() + dt.timedelta(days=7)
    await db.execute(update(TouchRequest).where(TouchRequest.id == request_id).values(
        hold_reason="touch #9 was cancelled (owner on vacation)", release_on=on))
    await db.commit()
    await login(client, world.users["lead"].email)
    page = (await client.get(f"/requests/{request_id}")).text
    assert f"Release it now rather than on {on:%-d %b %Y}: why" in page and "despite the employer's pacing" not in page
