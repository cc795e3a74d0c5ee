"""SPEC §3.6 under real concurrency: 40 partners submitting at once against real server processes.

PostgreSQL: two uvicorn processes share a dedicated database (so the guarantee cannot come from
one process's memory). SQLite: one process. Requests go over HTTP with httpx, all in flight at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

import crm.models  # noqa: F401  (complete metadata)
from crm import clock
from crm.councils.models import MeetingAttendance
from crm.employers.models import Employer
from crm.touches.budget import load_policy
from crm.touches.models import Touch, TouchRequest
from crm.touches.pacing import is_allowed
from tests.factories import Factory

CONCURRENT = 40


@dataclass
class Crowd:
    factory: Factory
    employer: Employer
    headers: list[dict[str, str]]
    spoc_id: int


@pytest.fixture
async def crowd(staffed) -> Crowd:
    """40 partners of 40 different organizations, and one employer with a SPOC."""
    f = staffed.factory
    headers = []
    for i in range(CONCURRENT):
        org = await f.organization(f"Partner Org {i:02d}", "cbo", ["LA-BASIN"])
        user = await f.user(f"partner{i:02d}@example.org", f"Partner {i:02d}", [("partner", None)], org=org)
        headers.append(await f.auth(user))
    return Crowd(f, staffed.employer, headers, staffed.spoc.id)


async def _fire(bases: list[str], bodies: list[dict], headers: list[dict[str, str]]) -> list[httpx.Response]:
    """Every request in flight at once, spread round-robin over the server processes."""
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=CONCURRENT)) as client:
        # Every token's first use is part of the burst: recording last_used_at must not fail
        # under concurrent writers (it used to, on SQLite, with "database is locked").
        return await asyncio.gather(*(
            client.post(f"{bases[i % len(bases)]}/api/touch-requests", json=body, headers=headers[i])
            for i, body in enumerate(bodies)))


async def test_forty_simultaneous_overlapping_requests_share_exactly_one_open_touch(servers, crowd):
    today = clock.today()
    # Windows differ but all contain days 10-30, so every request can be served by one touch.
    bodies = [{"employer_id": crowd.employer.id, "region": "LA-BASIN", "purpose": "hiring",
               "summary": f"request {i}", "window_start": (today + dt.timedelta(days=i % 10)).isoformat(),
               "window_end": (today + dt.timedelta(days=30 + i % 7)).isoformat()} for i in range(CONCURRENT)]
    responses = await _fire(servers, bodies, crowd.headers)
    assert [r.status_code for r in responses] == [201] * CONCURRENT, [r.text for r in responses if r.status_code != 201]
    async with crowd.factory.sessionmaker() as db:
        touches = list(await db.scalars(select(Touch).where(Touch.employer_id == crowd.employer.id)))
        requests = list(await db.scalars(select(TouchRequest).where(TouchRequest.employer_id == crowd.employer.id)))
    assert len(touches) == 1 and touches[0].status == "queued" and touches[0].spoc_id == crowd.spoc_id
    assert len(requests) == CONCURRENT
    assert {(r.touch_id, r.status) for r in requests} == {(touches[0].id, "queued")}
    assert {r.json()["touch_id"] for r in responses} == {touches[0].id}
    # The touch's date lies inside every bundled request's window.
    assert all(r.window_start <= touches[0].planned_on <= r.window_end for r in requests)


async def test_forty_simultaneous_requests_needing_separate_touches_never_exceed_the_budget(servers, crowd):
    today = clock.today()
    # Single-day windows two weeks apart: no two requests can share a touch, and every third
    # one would be the third touch in 30 days, so the budget must hold some of them.
    days = [today + dt.timedelta(days=3 + 14 * i) for i in range(CONCURRENT)]
    bodies = [{"employer_id": crowd.employer.id, "region": "LA-BASIN", "purpose": "work_based_learning",
               "window_start": d.isoformat(), "window_end": d.isoformat()} for d in days]
    responses = await _fire(servers, bodies, crowd.headers)
    # Each one is queued on its own touch, held, or — when the touches around it leave no allowed
    # day within a year after its single-day window — refused with a 422 naming window_end.
    refused = [r for r in responses if r.status_code == 422]
    assert all(r.json()["error"]["fields"][0]["field"] == "window_end" for r in refused)
    assert all(r.status_code == 201 for r in responses if r not in refused), [r.text for r in responses]
    async with crowd.factory.sessionmaker() as db:
        touches = list(await db.scalars(select(Touch).where(Touch.employer_id == crowd.employer.id,
                                                            Touch.status != "cancelled")))
        policy = await load_policy(db, crowd.employer.id, crowd.employer.region_id)
    statuses = [r.json()["status"] for r in responses if r not in refused]
    dates = sorted(t.planned_on for t in touches)
    assert statuses.count("queued") == len(touches) and statuses.count("held") == len(statuses) - len(touches)
    assert len({r.json()["touch_id"] for r in responses if r not in refused} - {None}) == len(touches)
    assert 0 < len(touches) < CONCURRENT and statuses.count("held") > 0
    # Every touch respects budget and minimum gap given all the others.
    for i, day in enumerate(dates):
        assert is_allowed(policy, dates[:i] + dates[i + 1:], day), (day, dates)
    assert all((b - a).days >= policy.min_gap_days for a, b in zip(dates, dates[1:], strict=False))


async def test_a_caseload_transfer_racing_forty_requests_leaves_no_touch_with_the_old_spoc(servers, crowd):
    """The transfer locks the employer rows intake locks: a request decided before it has its touch
    moved, one decided after it is routed to the new SPOC — never a new touch for the old one."""
    f = crowd.factory
    board = await f.organization("Transfer Board", "workforce_board", ["LA-BASIN"])
    new_spoc = await f.user("sam@example.org", "Sam Ortiz", [("spoc", "LA-BASIN")], org=board)
    lead = await f.user("lead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board)
    today = clock.today()
    # Single-day windows two weeks apart: many separate touches, opened while the transfer runs.
    bodies = [{"employer_id": crowd.employer.id, "region": "LA-BASIN", "purpose": "event",
               "window_start": (today + dt.timedelta(days=3 + 14 * i)).isoformat(),
               "window_end": (today + dt.timedelta(days=3 + 14 * i)).isoformat()} for i in range(CONCURRENT)]
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=CONCURRENT + 1)) as client:
        transfer = client.post(f"{servers[-1]}/api/regions/LA-BASIN/transfer", headers=await f.auth(lead),
                               json={"from_spoc_id": crowd.spoc_id, "to_spoc_id": new_spoc.id})
        intakes = [client.post(f"{servers[i % len(servers)]}/api/touch-requests", json=body, headers=crowd.headers[i])
                   for i, body in enumerate(bodies)]
        responses = await asyncio.gather(*intakes[:CONCURRENT // 2], transfer, *intakes[CONCURRENT // 2:])
    moved = responses[CONCURRENT // 2]
    assert moved.status_code == 200 and moved.json()["employers"] == 1, moved.text
    assert all(r.status_code in (201, 422) for r in responses if r is not moved)
    async with f.sessionmaker() as db:
        from crm.employers.models import SpocAssignment

        active = list(await db.scalars(select(SpocAssignment.spoc_id).where(
            SpocAssignment.employer_id == crowd.employer.id, SpocAssignment.ended_at.is_(None))))
        open_spocs = set(await db.scalars(select(Touch.spoc_id).where(
            Touch.employer_id == crowd.employer.id, Touch.status.in_(["queued", "scheduled"]))))
    assert active == [new_spoc.id]
    assert open_spocs == {new_spoc.id}


async def test_a_caseload_transfer_waits_for_a_decision_in_progress_on_one_of_its_employers(servers, crowd):
    """What makes the race above safe: the transfer takes the employer's row lock (PostgreSQL) or the
    write lock (SQLite) that intake holds while deciding, so it cannot move a caseload under a decision."""
    from sqlalchemy import text

    f = crowd.factory
    board = await f.organization("Transfer Board", "workforce_board", ["LA-BASIN"])
    new_spoc = await f.user("sam@example.org", "Sam Ortiz", [("spoc", "LA-BASIN")], org=board)
    lead = await f.user("lead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board)
    headers = await f.auth(lead)
    async with f.sessionmaker() as db, httpx.AsyncClient(timeout=60) as client:
        await db.execute(text("UPDATE employer SET name_key = name_key WHERE id = :id"), {"id": crowd.employer.id})
        transfer = asyncio.ensure_future(client.post(
            f"{servers[0]}/api/regions/LA-BASIN/transfer", headers=headers,
            json={"from_spoc_id": crowd.spoc_id, "to_spoc_id": new_spoc.id}))
        await asyncio.sleep(1.5)
        assert not transfer.done()  # waiting for the lock a deciding intake would hold
        await db.rollback()
        response = await transfer
    assert response.status_code == 200 and response.json()["employers"] == 1, response.text


async def test_colleagues_ticked_present_at_the_same_instant_share_one_touch_and_every_tick(servers, crowd):
    """Attendance at a meeting is one counted touch per employer (councils.service.attendance_touch):
    ticks of one meeting arriving together are decided one at a time, never one touch per person."""
    f = crowd.factory
    lead = await f.user("lead@example.org", "Lee Lead", [("lead", "LA-BASIN")],
                        org=await f.organization("Council Board", "workforce_board", ["LA-BASIN"]))
    headers = await f.auth(lead)
    people = 8
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=people)) as client:
        council = (await client.post(f"{servers[0]}/api/councils", headers=headers, json={
            "name": "Logistics Advisory", "owner_organization_id": lead.organization_id, "region": "LA-BASIN",
            "program": "Supply Chain", "naics_prefix": "4931"})).json()
        members = [(await client.post(f"{servers[0]}/api/councils/{council['id']}/members", headers=headers, json={
            "name": f"Person {i}", "member_type": "industry", "employer_id": crowd.employer.id})).json()
            for i in range(people)]
        meeting = (await client.post(f"{servers[0]}/api/councils/{council['id']}/meetings", headers=headers,
                                     json={"held_on": clock.today().isoformat()})).json()
        ticks = await asyncio.gather(*(
            client.put(f"{servers[i % len(servers)]}/api/councils/{council['id']}/meetings/{meeting['id']}"
                       f"/attendance/{m['id']}", headers=headers, json={"present": True})
            for i, m in enumerate(members)))
    assert [r.status_code for r in ticks] == [200] * people, [r.text for r in ticks if r.status_code != 200]
    async with f.sessionmaker() as db:
        touches = list(await db.scalars(select(Touch.id).where(Touch.employer_id == crowd.employer.id)))
        present = list(await db.scalars(select(MeetingAttendance.touch_id).where(
            MeetingAttendance.meeting_id == meeting["id"], MeetingAttendance.present.is_(True))))
    assert len(touches) == 1 and present == touches * people


async def test_the_same_routing_rule_and_a_first_policy_sent_at_once_are_each_written_once(servers, crowd):
    """A lead's region settings are decided one at a time (policy._lock_region; the unique index
    uq_routing_rule_active_target behind it): of identical rules sent together one is created and the
    others are told it exists; first-time policies sent together all succeed, the last one standing."""
    f = crowd.factory
    lead = await f.user("lead@example.org", "Lee Lead", [("lead", "LA-BASIN")],
                        org=await f.organization("Rules Board", "workforce_board", ["LA-BASIN"]))
    headers = await f.auth(lead)
    copies = 6
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=2 * copies)) as client:
        rules, policies = await asyncio.gather(
            asyncio.gather(*(client.post(f"{servers[i % len(servers)]}/api/regions/LA-BASIN/routing-rules",
                                         headers=headers, json={"naics_prefix": "4931", "county": "Los Angeles",
                                                                "pool": [crowd.spoc_id]})
                             for i in range(copies))),
            asyncio.gather(*(client.put(f"{servers[i % len(servers)]}/api/regions/LA-BASIN/policy", headers=headers,
                                        json={"max_touches": 2 + i % 2, "period_days": 30, "min_gap_days": 7})
                             for i in range(copies))))
    assert sorted(r.status_code for r in rules) == [201] + [409] * (copies - 1), [r.text for r in rules]
    assert all("4931" in r.json()["error"]["message"] for r in rules if r.status_code == 409)
    assert [r.status_code for r in policies] == [200] * copies, [r.text for r in policies if r.status_code != 200]
    async with f.sessionmaker() as db:
        from crm.employers.models import RoutingRule
        from crm.touches.models import RegionPolicy

        assert len(list(await db.scalars(select(RoutingRule.id).where(RoutingRule.active.is_(True))))) == 1
        assert len(list(await db.scalars(select(RegionPolicy.id)))) == 1
    # The rule changed by several leads' forms at once, each as it read it: one change is saved, the others
    # are refused (409) instead of overwriting it.
    created = next(r.json() for r in rules if r.status_code == 201)
    rule_id = created["id"]
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=copies)) as client:
        edits = await asyncio.gather(*(
            client.patch(f"{servers[i % len(servers)]}/api/regions/LA-BASIN/routing-rules/{rule_id}",
                         headers=headers, json={"priority": 10 + i, "seen": created["seen"]})
            for i in range(copies)))
    assert sorted(r.status_code for r in edits) == [200] + [409] * (copies - 1), [r.text for r in edits]
    saved = next(r.json()["priority"] for r in edits if r.status_code == 200)
    async with f.sessionmaker() as db:
        from crm.audit.models import AuditEvent

        assert await db.scalar(select(RoutingRule.priority).where(RoutingRule.id == rule_id)) == saved
        assert len(list(await db.scalars(select(AuditEvent.id).where(AuditEvent.action == "routing_rule.update")))) == 1
    # The rule removed by several requests at once: one removes it (one audit entry), the others find it gone.
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=copies)) as client:
        removals = await asyncio.gather(*(
            client.delete(f"{servers[i % len(servers)]}/api/regions/LA-BASIN/routing-rules/{rule_id}", headers=headers)
            for i in range(copies)))
    assert sorted(r.status_code for r in removals) == [204] + [404] * (copies - 1), [r.text for r in removals]
    async with f.sessionmaker() as db:
        from crm.audit.models import AuditEvent

        assert len(list(await db.scalars(select(AuditEvent.id).where(AuditEvent.action == "routing_rule.remove")))) == 1


async def test_plain_edits_sent_at_once_all_succeed_whatever_the_database(servers, crowd):
    """Edits that read before they write (an employer's profile, a council, its meetings) sent together:
    on SQLite a read transaction cannot become a writer once another has committed ("database is
    locked" at once, whatever busy_timeout says) -- every unsafe request's transaction starts as a writer."""
    f = crowd.factory
    board = await f.organization("Edit Board", "workforce_board", ["LA-BASIN"])
    lead = await f.auth(await f.user("lead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board))
    employers = [await f.employer(f"Edited Employer {i:02d}") for i in range(CONCURRENT // 2)]
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=CONCURRENT)) as client:
        council = (await client.post(f"{servers[0]}/api/councils", headers=lead, json={
            "name": "Edit Council", "owner_organization_id": board.id, "region": "LA-BASIN"})).json()
        calls = [client.patch(f"{servers[i % len(servers)]}/api/employers/{e.id}", headers=lead,
                              json={"dba": f"Edited {i}"}) for i, e in enumerate(employers)]
        calls += [client.post(f"{servers[i % len(servers)]}/api/councils/{council['id']}/meetings", headers=lead,
                              json={"held_on": (clock.today() - dt.timedelta(days=i + 1)).isoformat()})
                  for i in range(CONCURRENT // 2)]
        responses = await asyncio.gather(*calls)
    assert [r.status_code for r in responses] == [200] * len(employers) + [201] * (CONCURRENT // 2), \
        [r.text for r in responses if r.status_code >= 300]
    async with f.sessionmaker() as db:
        dbas = set(await db.scalars(select(Employer.dba).where(Employer.id.in_([e.id for e in employers]))))
    assert dbas == {f"Edited {i}" for i in range(len(employers))}
