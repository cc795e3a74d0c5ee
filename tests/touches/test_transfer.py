"""Transferring a SPOC's caseload: `/api/regions/{code}/caseloads`, `/transfer` and the `/region/transfer` page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditEvent
from crm.auth.models import User
from crm.employers.models import SpocAssignment
from crm.notify.models import OutboxMessage
from crm.touches.models import Touch, TouchRequest
from tests.a11y import attrs_of, tied_errors
from tests.factories import login

URL = "/api/regions/LA-BASIN"


@pytest.fixture
async def caseload(world, desk):
    """Maria (spoc) owns A and B, backs up C (owned by Sam); has an open touch on A carrying the
    partner's request, a completed one on B; Sam has an open touch on C."""
    f, u = world.f, world.users
    a, b, c = await f.employer("A Co"), await f.employer("B Co"), await f.employer("C Co")
    await f.assign(a, u["spoc"])
    await f.assign(b, u["spoc"], backup_spoc_id=u["spoc2"].id)
    await f.assign(c, u["spoc2"], backup_spoc_id=u["spoc"].id)
    open_a = await desk.touch(a, u["spoc"])
    done_b = await desk.touch(b, u["spoc"], status="completed")
    open_c = await desk.touch(c, u["spoc2"])
    riding = await desk.request(open_a, u["partner"])
    return {"a": a, "b": b, "c": c, "open_a": open_a, "done_b": done_b, "open_c": open_c, "riding": riding}


async def _active(db, employer_id):
    return (await db.execute(select(SpocAssignment.spoc_id, SpocAssignment.backup_spoc_id).where(
        SpocAssignment.employer_id == employer_id, SpocAssignment.ended_at.is_(None)))).one()


async def test_lead_sees_who_holds_what_in_the_region(client, world, caseload):
    r = await client.get(f"{URL}/caseloads", headers=await world.f.auth(world.users["lead"]))
    assert r.status_code == 200, r.text
    rows = {i["user"]["name"]: (i["employers"], i["backups"], i["open_touches"], i["can_work"])
            for i in r.json()["items"]}
    assert rows == {"Maria Lopez": (2, 1, 1, True), "Sam Ortiz": (1, 1, 1, True)}


async def test_transfer_moves_owned_and_backed_up_employers_and_open_touches_keeping_history(
        client, world, caseload, db):
    u = world.users
    r = await client.post(f"{URL}/transfer", headers=await world.f.auth(u["lead"]),
                          json={"from_spoc_id": u["spoc"].id, "to_spoc_id": u["spoc2"].id, "reason": "Maria retired"})
    assert r.status_code == 200, r.text
    assert r.json() == {"region": "LA-BASIN", "from_spoc": {"id": u["spoc"].id, "name": "Maria Lopez"},
                        "to_spoc": {"id": u["spoc2"].id, "name": "Sam Ortiz"},
                        "employers": 2, "backups": 1, "open_touches": 1}
    # A: Sam now; B: Sam, whose backup role there ends (nobody backs themselves up); C: Sam, no backup.
    assert await _active(db, caseload["a"].id) == (u["spoc2"].id, None)
    assert await _active(db, caseload["b"].id) == (u["spoc2"].id, None)
    assert await _active(db, caseload["c"].id) == (u["spoc2"].id, None)
    a = SpocAssignment
    history = (await db.execute(select(a.spoc_id, a.ended_at.is_not(None), a.reason)
                                .where(SpocAssignment.employer_id == caseload["a"].id)
                                .order_by(SpocAssignment.id))).all()
    assert history == [(u["spoc"].id, True, None), (u["spoc2"].id, False, "Maria retired")]
    spocs = dict((await db.execute(select(Touch.id, Touch.spoc_id))).all())
    assert spocs[caseload["open_a"].id] == u["spoc2"].id
    assert spocs[caseload["done_b"].id] == u["spoc"].id  # history is not rewritten
    actions = dict((await db.execute(select(AuditEvent.action, func.count()).group_by(AuditEvent.action))).all())
    assert actions == {"spoc.transfer": 3, "touch.reassign": 1, "region.transfer": 1}
    mail = {m.to_email: m.subject for m in await db.scalars(select(OutboxMessage))}
    assert mail["spoc2@example.org"] == "Maria Lopez's caseload in LA-BASIN is now yours"
    assert mail["spoc@example.org"] == "Your caseload in LA-BASIN went to Sam Ortiz"
    assert mail["partner@example.org"] == f"New SPOC for touch #{caseload['open_a'].id}"
    after = await client.get(f"{URL}/caseloads", headers=await world.f.auth(u["lead"]))
    assert [(i["user"]["name"], i["employers"], i["open_touches"]) for i in after.json()["items"]] == [
        ("Sam Ortiz", 3, 2)]


async def test_a_former_spocs_caseload_can_be_transferred(client, world, caseload, db):
    u = world.users
    async with db.begin():
        (await db.get(User, u["spoc"].id)).is_active = False
    listed = await client.get(f"{URL}/caseloads", headers=await world.f.auth(u["lead"]))
    assert {i["user"]["name"]: i["can_work"] for i in listed.json()["items"]}["Maria Lopez"] is False
    r = await client.post(f"{URL}/transfer", headers=await world.f.auth(u["lead"]),
                          json={"from_spoc_id": u["spoc"].id, "to_spoc_id": u["lead"].id})
    assert r.status_code == 200 and r.json()["employers"] == 2
    # Nobody mails a deactivated account.
    assert "spoc@example.org" not in set(await db.scalars(select(OutboxMessage.to_email)))


@pytest.mark.parametrize(("body", "field"), [
    ({"from_spoc_id": "me", "to_spoc_id": 1}, "from_spoc_id"),
    ({"to_spoc_id": 1}, "from_spoc_id"),
    ({"from_spoc_id": 999999, "to_spoc_id": "spoc2"}, "from_spoc_id"),
    ({"from_spoc_id": "spoc", "to_spoc_id": "spoc"}, "to_spoc_id"),
    ({"from_spoc_id": "spoc", "to_spoc_id": "partner"}, "to_spoc_id"),
    ({"from_spoc_id": "spoc", "to_spoc_id": "bay_spoc"}, "to_spoc_id"),
    ({"from_spoc_id": "partner", "to_spoc_id": "spoc2"}, "from_spoc_id"),  # holds nothing
    ({"from_spoc_id": "spoc", "to_spoc_id": "spoc2", "reason": "x" * 501}, "reason"),
    ({"from_spoc_id": "spoc", "to_spoc_id": "spoc2", "extra": 1}, "extra"),
])
async def test_bad_transfers_are_422_naming_the_field_and_change_nothing(client, world, caseload, db, body, field):
    body = {k: world.users[v].id if isinstance(v, str) and v in world.users else v for k, v in body.items()}
    r = await client.post(f"{URL}/transfer", headers=await world.f.auth(world.users["lead"]), json=body)
    assert r.status_code in (400, 422), r.text
    assert field in r.text
    assert await _active(db, caseload["a"].id) == (world.users["spoc"].id, None)
    assert await db.scalar(select(func.count()).select_from(AuditEvent)) == 0


@pytest.mark.parametrize("who", ["partner", "chair", "spoc", "bay_lead"])
async def test_only_leads_of_the_region_see_and_transfer_caseloads(client, world, caseload, db, who):
    headers = await world.f.auth(world.users[who])
    assert (await client.get(f"{URL}/caseloads", headers=headers)).status_code == 403
    r = await client.post(f"{URL}/transfer", headers=headers,
                          json={"from_spoc_id": world.users["spoc"].id, "to_spoc_id": world.users["spoc2"].id})
    assert r.status_code == 403
    assert await _active(db, caseload["a"].id) == (world.users["spoc"].id, None)


async def test_admin_may_transfer_and_unknown_region_is_404(client, world, caseload):
    headers = await world.f.auth(world.users["admin"])
    assert (await client.get("/api/regions/NOWHERE/caseloads", headers=headers)).status_code == 404
    r = await client.post(f"{URL}/transfer", headers=headers,
                          json={"from_spoc_id": world.users["spoc2"].id, "to_spoc_id": world.users["spoc"].id})
    assert r.status_code == 200 and (r.json()["employers"], r.json()["backups"]) == (1, 1)


async def test_requests_riding_a_moved_touch_stay_on_it(client, world, caseload, db):
    u = world.users
    await client.post(f"{URL}/transfer", headers=await world.f.auth(u["lead"]),
                      json={"from_spoc_id": u["spoc"].id, "to_spoc_id": u["spoc2"].id})
    request = await db.get(TouchRequest, caseload["riding"].id)
    assert (request.touch_id, request.status) == (caseload["open_a"].id, "queued")


# ---------------------------------------------------------------- the page


async def test_lead_transfers_a_caseload_from_the_page(client, world, caseload, db):
    u = world.users
    await login(client, u["lead"].email)
    assert 'href="/region/transfer?region=LA-BASIN"' in (await client.get("/region")).text
    page = (await client.get("/region/transfer", params={"from_spoc_id": u["spoc"].id})).text
    table = page.split('id="caseloads"', 1)[1].split('id="transfer"', 1)[0]
    assert "Maria Lopez" in table and "Sam Ortiz" in table
    held = "Maria Lopez (2 employers, 1 as backup, 1 open touch)"
    assert f'<option value="{u["spoc"].id}" selected>{held}</option>' in page
    r = await client.post("/region/transfer", data={
        "region": "LA-BASIN", "from_spoc_id": str(u["spoc"].id), "to_spoc_id": str(u["spoc2"].id),
        "reason": "Maria retired", "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 200
    assert "Transferred Maria Lopez&#39;s caseload in LA-BASIN to Sam Ortiz: 2 employers, 1 as backup, " \
           "1 open touch" in r.text
    assert await _active(db, caseload["a"].id) == (u["spoc2"].id, None)


async def test_page_shows_errors_in_place_and_changes_nothing(client, world, caseload, db):
    u = world.users
    await login(client, u["lead"].email)
    await client.get("/region/transfer")
    r = await client.post("/region/transfer", data={
        "region": "LA-BASIN", "from_spoc_id": str(u["spoc"].id), "to_spoc_id": "",
        "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 422 and "choose someone from the list" in r.text
    assert "choose someone from the list" in tied_errors(r.text)["to_spoc_id"]
    to = attrs_of(r.text, "select", name="to_spoc_id")
    assert to["aria-invalid"] == "true" and to["aria-describedby"] == "to_spoc_id-error"
    r = await client.post("/region/transfer", data={
        "region": "LA-BASIN", "from_spoc_id": "", "to_spoc_id": str(u["spoc2"].id), "reason": "x" * 501,
        "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 422 and "from_spoc_id" in tied_errors(r.text)
    assert attrs_of(r.text, "select", name="from_spoc_id")["aria-describedby"] == "from_spoc_id-error"
    other = await client.post("/region/transfer", data={
        "region": "BAY-PENINSULA", "from_spoc_id": str(u["spoc"].id), "to_spoc_id": str(u["spoc2"].id),
        "_csrf_token": client.cookies.get("csrftoken")})
    assert other.status_code == 403 and "you lead no region" in other.text  # another region's: refused
    typo = await client.post("/region/transfer", data={
        "region": "LA-BASN", "from_spoc_id": str(u["spoc"].id), "to_spoc_id": str(u["spoc2"].id),
        "_csrf_token": client.cookies.get("csrftoken")})
    assert typo.status_code == 422 and "you lead no region &#39;LA-BASN&#39;" in typo.text
    assert await _active(db, caseload["a"].id) == (u["spoc"].id, None)


@pytest.mark.parametrize("who", ["spoc", "partner", "chair"])
async def test_the_page_is_for_leads_only(client, world, who):
    await login(client, world.users[who].email)
    assert (await client.get("/region/transfer")).status_code == 403
