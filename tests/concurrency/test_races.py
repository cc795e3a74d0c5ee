"""Writes racing each other over real server processes (PostgreSQL: two; SQLite: one): a new employer
named by many requests at once, writes that wait on an employer a merge holds, roster seats and one
employer contact added at once, and an import started twice."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from crm import clock
from crm.auth.models import User
from crm.councils.models import CouncilMember
from crm.employers import merge as merging
from crm.employers.import_models import ImportJob
from crm.employers.models import Employer, EmployerContact, SpocAssignment
from crm.touches import release, requests, workflow
from crm.touches.models import EmployerBlackout, Touch, TouchRequest
from crm.touches.touch_schemas import PassOnIn, ReassignIn
from tests.employers.test_merge import as_principal
from tests.factories import PASSWORD
from tests.touches.conftest import SpocDesk

PURPOSES = ("hiring", "work_based_learning", "apprenticeship", "training_upskilling", "curriculum_review")


def _ask(name: str, website: str, purpose: str) -> dict[str, Any]:
    today = clock.today()
    return {"employer": {"name": name, "website": website}, "region": "LA-BASIN", "purpose": purpose,
            "summary": "placements", "window_start": (today + dt.timedelta(days=1)).isoformat(),
            "window_end": (today + dt.timedelta(days=40)).isoformat()}


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=20))


async def _count(f: Any, *where: Any, what: Any = Employer.id) -> int:
    async with f.sessionmaker() as db:
        return int(await db.scalar(select(func.count(what)).where(*where)) or 0)


async def _partners(f: Any, count: int) -> list[dict[str, str]]:
    headers = []
    for i in range(count):
        org = await f.organization(f"Race Partner {i}", "cbo", ["LA-BASIN"])
        headers.append(await f.auth(await f.user(f"race{i}@example.org", f"Race {i}", [("partner", None)], org=org)))
    return headers


async def test_many_requests_naming_one_new_employer_at_once_create_it_once_and_share_one_touch(servers, staffed):
    f = staffed.factory
    partners = await _partners(f, 2)
    async with _client() as client:
        answers = await asyncio.gather(*(
            client.post(f"{servers[i % len(servers)]}/api/touch-requests", headers=partners[i % 2],
                        json=_ask("Zyqwert Fabrication LLC", "https://zyqwert-fabrication.com", PURPOSES[i // 2]))
            for i in range(2 * len(PURPOSES))))
    assert [r.status_code for r in answers] == [201] * len(answers), [r.text for r in answers]
    assert len({r.json()["employer_id"] for r in answers}) == 1
    assert await _count(f, Employer.domain == "zyqwert-fabrication.com") == 1
    assert await _count(f, Touch.status == "queued", what=Touch.id) == 1


async def _while_merging(f: Any, lead: Any, loser: Employer, survivor: Employer,
                         writes: list[Awaitable[httpx.Response]]) -> list[httpx.Response]:
    """Send ``writes`` while a merge of ``loser`` into ``survivor`` holds the loser's row lock; merge and
    commit once they have all reached that lock."""
    async def already_begun(_: Any) -> None:
        """The merge runs in the transaction that took the lock (``begin_write`` would end it first)."""

    async with f.sessionmaker() as holder:
        await holder.execute(select(Employer.id).where(Employer.id == loser.id).with_for_update())
        tasks = [asyncio.ensure_future(w) for w in writes]
        await asyncio.sleep(1.5)  # each has read the employer and now waits for its lock
        assert not any(t.done() for t in tasks), [t.result().text for t in tasks if t.done()]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(merging, "begin_write", already_begun)
            await merging.merge_employers(holder, as_principal(lead), loser.id, survivor.id)
        await holder.commit()
    return list(await asyncio.gather(*tasks))


@pytest.fixture
async def pair(staffed, concurrency_db):
    """Two records of one employer, each with Maria as its SPOC; the old one known by its own domain."""
    if concurrency_db[0].startswith("sqlite"):
        pytest.skip("SQLite writers never wait on a row lock: its database lock serializes them whole")
    f = staffed.factory
    loser = await f.employer("Acme Widgets Old Record", website="https://acme-widgets-old.com")
    survivor = await f.employer("Acme Widgets")
    await f.assign(loser, staffed.spoc)
    await f.assign(survivor, staffed.spoc)
    board = await f.organization("Race Board", "workforce_board", ["LA-BASIN"])
    lead = await f.user("racelead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board)
    spoc2 = await f.user("racespoc2@example.org", "Sam Ortiz", [("spoc", "LA-BASIN")], org=board)
    return loser, survivor, lead, spoc2


async def test_requests_and_logged_touches_waiting_on_a_merge_never_land_on_the_merged_record(
        servers, staffed, pair):
    f, (loser, survivor, lead, _) = staffed.factory, pair
    (partner,), spoc = await _partners(f, 1), await f.auth(staffed.spoc)
    logged = {"employer_id": loser.id, "channel": "call", "occurred_on": clock.today().isoformat()}
    async with _client() as client:
        answers = await _while_merging(f, lead, loser, survivor, [
            *(client.post(f"{servers[i % len(servers)]}/api/touch-requests", headers=partner,
                          json=_ask("Acme Widgets Old Record", "https://acme-widgets-old.com", p))
              for i, p in enumerate(PURPOSES[:3])),
            *(client.post(f"{servers[i % len(servers)]}/api/touches", headers=spoc, json=logged) for i in range(2))])
    requests, logs = answers[:3], answers[3:]
    assert [r.status_code for r in requests] == [201] * 3, [r.text for r in requests]
    assert {r.json()["employer_id"] for r in requests} == {survivor.id}
    assert [r.status_code for r in logs] == [409, 409] and "was merged into" in logs[0].text
    assert await _count(f, Touch.employer_id == loser.id, what=Touch.id) == 0
    assert await _count(f, TouchRequest.employer_id == loser.id, what=TouchRequest.id) == 0


async def test_requests_naming_a_merged_record_while_its_merge_is_undone_never_deadlock(servers, staffed,
                                                                                        concurrency_db):
    """The survivor's id below the merged record's: a merge or its undo locks the two by id (survivor first),
    so intake must never hold the merged row's lock while it waits for the survivor's."""
    if concurrency_db[0].startswith("sqlite"):
        pytest.skip("SQLite writers never wait on a row lock: its database lock serializes them whole")
    f = staffed.factory
    board = await f.organization("Undo Board", "workforce_board", ["LA-BASIN"])
    lead = await f.auth(await f.user("undolead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board))
    partners = await _partners(f, 2)
    async with _client() as client:
        for round_ in range(3):
            survivor = await f.employer(f"Undo Widgets {round_}")
            loser = await f.employer(f"Undo Widgets Old Record {round_}")
            r = await client.post(f"{servers[0]}/api/employers/{loser.id}/merge", headers=lead,
                                  json={"into": survivor.id, "reason": "same firm"})
            assert r.status_code in (200, 201), r.text
            undo = client.post(f"{servers[1 % len(servers)]}/api/employers/merges/{r.json()['id']}/undo",
                               headers=lead, json={"reason": "not the same after all"})
            asks = [client.post(f"{servers[i % len(servers)]}/api/touch-requests", headers=partners[i % 2], json={
                "employer_id": loser.id, "region": "LA-BASIN", "purpose": PURPOSES[i // 2], "summary": "x",
                "window_start": (clock.today() + dt.timedelta(days=1)).isoformat(),
                "window_end": (clock.today() + dt.timedelta(days=40)).isoformat()}) for i in range(10)]
            answers = await asyncio.gather(undo, *asks)
            assert all(a.status_code < 500 for a in answers), [a.text for a in answers if a.status_code >= 500]
            assert [a.status_code for a in answers[1:]] == [201] * 10, [a.text for a in answers[1:]]
            # Every request is on a live record: the survivor's before the undo, the named one's after.
            on_merged = await _count(f, TouchRequest.employer_id == Employer.id, Employer.status == "merged",
                                     what=TouchRequest.id)
            assert on_merged == 0


async def test_edits_seats_preferences_and_matches_waiting_on_a_merge_are_refused_not_left_on_the_tombstone(
        servers, staffed, pair):
    f, (loser, survivor, lead, _) = staffed.factory, pair
    (partner,), spoc, lead_auth = await _partners(f, 1), await f.auth(staffed.spoc), await f.auth(lead)
    async with f.sessionmaker() as db, db.begin():
        org_id = (await db.scalar(select(User.organization_id).where(User.email == "race0@example.org")))
        waiting = TouchRequest(requester_id=await db.scalar(select(User.id).where(User.email == "race0@example.org")),
                               requester_org_id=org_id, region_id=loser.region_id, purpose="hiring", summary="x",
                               window_start=clock.today(), window_end=clock.today() + dt.timedelta(days=30),
                               status="needs_match", employer_query={"name": "Acme Widgets"})
        db.add(waiting)
    async with _client() as client:
        council = (await client.post(f"{servers[0]}/api/councils", headers=lead_auth, json={
            "name": "Widgets Advisory", "owner_organization_id": lead.organization_id, "region": "LA-BASIN"})).json()
        today = clock.today()
        answers = await _while_merging(f, lead, loser, survivor, [
            client.patch(f"{servers[0]}/api/employers/{loser.id}", headers=spoc, json={"notes": "called back"}),
            client.put(f"{servers[-1]}/api/employers/{loser.id}/preferences", headers=spoc, json={
                "max_touches": 1, "blackouts": [{"starts_on": (today + dt.timedelta(days=5)).isoformat(),
                                                 "ends_on": (today + dt.timedelta(days=9)).isoformat()}]}),
            client.post(f"{servers[0]}/api/councils/{council['id']}/members", headers=lead_auth, json={
                "name": "Dana Reyes", "member_type": "industry", "employer_id": loser.id}),
            client.post(f"{servers[-1]}/api/touch-requests/{waiting.id}/match", headers=spoc,
                        json={"employer_id": loser.id})])
    assert [r.status_code for r in answers] == [409, 409, 422, 422], [r.text for r in answers]
    assert all("merged" in r.text for r in answers), [r.text for r in answers]
    assert partner  # the requester's organization
    async with f.sessionmaker() as db:
        tomb = await db.get(Employer, loser.id)
        assert tomb.status == "merged" and tomb.notes is None
        assert await db.scalar(select(func.count(CouncilMember.id)).where(CouncilMember.employer_id == loser.id)) == 0
        assert (await db.get(TouchRequest, waiting.id)).status == "needs_match"
        assert await db.scalar(select(func.count(EmployerBlackout.id))
                               .where(EmployerBlackout.employer_id == loser.id)) == 0


@pytest.mark.parametrize("action", ["reassign the touch", "withdraw a request on it", "release a held request",
                                    "pass a declined hand-off on"])
async def test_a_touch_or_request_a_merge_moves_while_its_write_waits_is_decided_under_the_survivors_lock(
        staffed, pair, action):
    """The write read the merged record's id, then waited for its lock; once the merge commits it must hold
    the survivor's lock (where its pacing is now decided), and not the merged record's, which an undo of the
    merge takes after the survivor's."""
    f, (loser, survivor, lead, spoc2) = staffed.factory, pair
    desk = SpocDesk(f.sessionmaker)
    partner = await f.user("moved@example.org", "Pat Partner", [("partner", None)],
                           org=await f.organization("Moved Partner", "cbo", ["LA-BASIN"]))
    touch = await desk.touch(loser, staffed.spoc)
    riding = await desk.request(touch, partner)
    held = await desk.request(None, partner, employer=loser, purpose="apprenticeship", release_in=20)
    now = clock.now()
    done = await desk.touch(loser, staffed.spoc, status="completed", planned_in=-2)
    declined = await desk.hand_off(done, staffed.spoc, partner.organization_id, status="declined", responded_at=now)
    other_org = await f.organization("Another Partner", "cbo", ["LA-BASIN"])
    writes = {
        "reassign the touch": lambda db: workflow.reassign(db, as_principal(lead), touch.id,
                                                          ReassignIn(spoc_id=spoc2.id), now),
        "withdraw a request on it": lambda db: requests.withdraw_request(db, as_principal(partner), riding.id, now),
        "release a held request": lambda db: release.release_now(db, as_principal(lead), held.id, "asked", now),
        # It inserts a hand-off naming the employer: holding the declined one's row lock while the merge held
        # the employer and waited for that row was a deadlock (a 500).
        "pass a declined hand-off on": lambda db: workflow.pass_on_hand_off(
            db, as_principal(lead), declined.id, PassOnIn(to_org_id=other_org.id), now)}
    async with f.sessionmaker() as holder, f.sessionmaker() as writing, f.sessionmaker() as probe:
        await holder.execute(select(Employer.id).where(Employer.id == loser.id).with_for_update())
        task = asyncio.ensure_future(writes[action](writing))
        await asyncio.sleep(1)  # it has read the touch or request and waits for the merged record's lock
        assert not task.done()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(merging, "begin_write", lambda _: asyncio.sleep(0))
            await merging.merge_employers(holder, as_principal(lead), loser.id, survivor.id)
        await holder.commit()
        await task
        await probe.execute(select(Employer.id).where(Employer.id == loser.id).with_for_update(nowait=True))
        with pytest.raises(DBAPIError, match="could not obtain lock"):
            await probe.execute(select(Employer.id).where(Employer.id == survivor.id).with_for_update(nowait=True))
        await probe.rollback()
        await writing.rollback()


async def test_a_meeting_attendance_ticked_while_a_merge_moves_its_seat_counts_for_the_survivor(servers, staffed, pair):
    f, (loser, survivor, lead, _) = staffed.factory, pair
    lead_auth = await f.auth(lead)
    async with _client() as client:
        council = (await client.post(f"{servers[0]}/api/councils", headers=lead_auth, json={
            "name": "Widgets Advisory", "owner_organization_id": lead.organization_id, "region": "LA-BASIN"})).json()
        member = (await client.post(f"{servers[0]}/api/councils/{council['id']}/members", headers=lead_auth, json={
            "name": "Dana Reyes", "member_type": "industry", "employer_id": loser.id})).json()
        meeting = (await client.post(f"{servers[0]}/api/councils/{council['id']}/meetings", headers=lead_auth,
                                     json={"held_on": (clock.today() - dt.timedelta(days=1)).isoformat()})).json()
        (answer,) = await _while_merging(f, lead, loser, survivor, [client.put(
            f"{servers[-1]}/api/councils/{council['id']}/meetings/{meeting['id']}/attendance/{member['id']}",
            headers=lead_auth, json={"present": True})])
    assert answer.status_code == 200, answer.text
    assert await _count(f, Touch.employer_id == loser.id, what=Touch.id) == 0
    assert await _count(f, Touch.employer_id == survivor.id, Touch.source == "meeting", what=Touch.id) == 1


async def test_a_spoc_assignment_waiting_on_a_merge_is_refused_and_the_survivor_keeps_its_spoc(
        servers, staffed, pair):
    f, (loser, survivor, lead, spoc2) = staffed.factory, pair
    async with f.sessionmaker() as db:
        current = await db.scalar(select(SpocAssignment.id).where(SpocAssignment.employer_id == loser.id))
    async with _client() as client:
        (answer,) = await _while_merging(f, lead, loser, survivor, [client.post(
            f"{servers[0]}/api/employers/{loser.id}/spoc-assignments", headers=await f.auth(lead),
            json={"region": "LA-BASIN", "spoc_id": spoc2.id, "replaces_assignment_id": current})])
    assert answer.status_code == 409 and "was merged into" in answer.text
    async with f.sessionmaker() as db:
        active = (await db.execute(select(SpocAssignment.employer_id, SpocAssignment.spoc_id).where(
            SpocAssignment.ended_at.is_(None), SpocAssignment.employer_id.in_([loser.id, survivor.id])))).all()
    assert active == [(survivor.id, staffed.spoc.id)]


async def test_seats_added_at_once_leave_one_chair_and_one_seat_per_person(servers, staffed):
    f = staffed.factory
    board = await f.organization("Seat Board", "workforce_board", ["LA-BASIN"])
    lead = await f.auth(await f.user("seatlead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board))
    chairs = [{"name": f"Chair {i}", "member_type": "industry", "role": "chair", "email": f"chair{i}@example.com"}
              for i in range(5)]
    same = [{"name": "Dana Reyes", "member_type": "industry", "email": "dana@example.com"}] * 5
    async with _client() as client:
        r = await client.post(f"{servers[0]}/api/councils", headers=lead, json={
            "name": "Logistics Advisory", "owner_organization_id": board.id, "region": "LA-BASIN"})
        assert r.status_code == 201, r.text
        url = f"/api/councils/{r.json()['id']}/members"
        answers = await asyncio.gather(*(client.post(f"{servers[i % len(servers)]}{url}", headers=lead, json=body)
                                         for i, body in enumerate(chairs + same)))
    assert sorted(r.status_code for r in answers) == [201, 201] + [422] * 8, [r.text for r in answers]
    assert await _count(f, CouncilMember.removed_at.is_(None), CouncilMember.role == "chair",
                        what=CouncilMember.id) == 1
    assert await _count(f, CouncilMember.email == "dana@example.com", what=CouncilMember.id) == 1


async def test_one_person_added_to_an_employer_many_times_at_once_is_kept_once(servers, staffed):
    f = staffed.factory
    spoc = await f.auth(staffed.spoc)
    url = f"/api/employers/{staffed.employer.id}/contacts"
    async with _client() as client:
        answers = await asyncio.gather(*(
            client.post(f"{servers[i % len(servers)]}{url}", headers=spoc,
                        json={"name": f"Dana Reyes {i}", "email": "Dana@Example.com" if i % 2 else "dana@example.com"})
            for i in range(8)))
    assert sorted(r.status_code for r in answers) == [201] + [422] * 7, [r.text for r in answers]
    assert await _count(f, EmployerContact.employer_id == staffed.employer.id, what=EmployerContact.id) == 1


async def test_an_import_started_twice_at_once_runs_once(servers, staffed):
    f = staffed.factory
    board = await f.organization("Import Board", "workforce_board", ["LA-BASIN"])
    bearer = await f.auth(await f.user("importlead@example.org", "Ida Import", [("lead", "LA-BASIN")], org=board))
    body = "legal_name,website,city,zip\n" + "".join(f"Race Co {i},https://race{i}-co.com,Los Angeles,90012\n"
                                                     for i in range(5))
    async with httpx.AsyncClient(base_url=servers[0], timeout=120) as client:
        await client.get("/login")
        token = {"_csrf_token": client.cookies["csrftoken"]}
        r = await client.post("/login", data={"email": "importlead@example.org", "password": PASSWORD, **token})
        assert r.status_code == 303, r.text
        r = await client.post("/employers/import", data={"region": "LA-BASIN", **token},
                              files={"file": ("race.csv", body.encode(), "text/csv")})
        assert r.status_code == 303, r.text
        job_url = r.headers["location"]
        r = await client.post(f"{job_url}/preview", data={
            "map_0": "legal_name", "map_1": "website", "map_2": "city", "map_3": "zip", **token})
        assert r.status_code == 303
        for _ in range(100):  # the preview runs after its answer
            if ">Preview<" in (page := (await client.get(job_url)).text) or "new employers" in page:
                break
            await asyncio.sleep(0.1)
        # With a token, not the session: requests of one browser session take turns on its row.
        async with _client() as other:
            answers = await asyncio.gather(*(other.post(f"{servers[i % len(servers)]}{job_url}/run", headers=bearer)
                                             for i in range(16)))
        assert all(r.status_code == 303 for r in answers)
        for _ in range(100):
            async with f.sessionmaker() as db:
                job = await db.scalar(select(ImportJob).where(ImportJob.id == int(job_url.rsplit("/", 1)[1])))
            assert job is not None
            if job.status not in ("running", "previewed"):
                break
            await asyncio.sleep(0.1)
    assert (job.status, job.error) == ("done", None)
    assert await _count(f, Employer.legal_name.like("Race Co %")) == 5
