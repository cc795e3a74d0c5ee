"""Merge API: the review queue, merge, dismiss and undo — scope, validation, one error shape."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.employers.duplicate_models import DuplicateCandidate, EmployerMerge
from crm.employers.models import Employer
from tests.employers.test_duplicates import scan, small_world
from tests.employers.test_merge import rich_pair


async def _merges(db) -> int:
    await db.rollback()
    return await db.scalar(select(func.count()).select_from(EmployerMerge))


async def test_lead_lists_the_pairs_of_their_region_with_explanations(client, world, sessionmaker):
    acme, acme2, *_ = await small_world(world.f)
    await scan(sessionmaker)
    r = await client.get("/api/employers/duplicates", headers=await world.f.auth(world.users["lead"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 2 and body["limit"] == 25
    first = next(p for p in body["items"] if p["a"]["id"] == acme.id)
    assert first["b"]["id"] == acme2.id and first["explanation"] and first["status"] == "open"
    one = await client.get("/api/employers/duplicates", params={"limit": 1, "offset": 1},
                           headers=await world.f.auth(world.users["lead"]))
    assert len(one.json()["items"]) == 1 and one.json()["total"] == 2


async def test_a_lead_of_another_region_sees_none_of_these_pairs(client, world, sessionmaker):
    await small_world(world.f)
    await scan(sessionmaker)
    r = await client.get("/api/employers/duplicates", headers=await world.f.auth(world.users["bay_lead"]))
    assert r.status_code == 200 and r.json()["total"] == 0
    admin = await client.get("/api/employers/duplicates", headers=await world.f.auth(world.users["admin"]))
    assert admin.json()["total"] == 2


@pytest.mark.parametrize("who", ["partner", "spoc", "chair"])
async def test_partner_spoc_and_chair_are_refused_every_merge_endpoint(client, world, sessionmaker, db, who):
    pair = await rich_pair(world)
    await scan(sessionmaker)
    headers = await world.f.auth(world.users[who])
    calls = [("get", "/api/employers/duplicates", None),
             ("post", f"/api/employers/{pair.loser.id}/merge", {"into": pair.survivor.id}),
             ("post", "/api/employers/duplicates/1/dismiss", {}),
             ("get", "/api/employers/merges/1", None),
             ("post", "/api/employers/merges/1/undo", {})]
    for method, url, body in calls:
        r = await client.request(method, url, json=body, headers=headers)
        assert r.status_code == 403, (url, r.text)
        assert r.json()["error"]["code"] == "forbidden"
    assert await _merges(db) == 0


async def test_lead_merges_and_undoes_through_the_api(client, world, db):
    pair = await rich_pair(world)
    headers = await world.f.auth(world.users["lead"])
    r = await client.post(f"/api/employers/{pair.loser.id}/merge", json={"into": pair.survivor.id,
                                                                        "reason": "same plant"}, headers=headers)
    assert r.status_code == 201, r.text
    m = r.json()
    assert m["status"] == "done" and m["undoable"] is True and m["undo_blockers"] == []
    assert m["loser"]["status"] == "merged" and m["loser"]["merged_into_id"] == pair.survivor.id
    assert "Acme Corp." in m["survivor"]["aliases"] and m["summary"]["touch"]["moved"] == 2
    got = await client.get(f"/api/employers/merges/{m['id']}", headers=headers)
    assert got.status_code == 200 and got.json()["reason"] == "same plant"
    u = await client.post(f"/api/employers/merges/{m['id']}/undo", json={"reason": "wrong pair"}, headers=headers)
    assert u.status_code == 201, u.text
    assert u.json()["status"] == "undone" and u.json()["loser"]["status"] == "active"
    again = await client.post(f"/api/employers/merges/{m['id']}/undo", json={}, headers=headers)
    assert again.status_code == 409 and "already undone" in again.json()["error"]["message"]


async def test_the_api_merge_fills_the_survivors_blanks_says_which_and_undo_empties_them(client, world):
    survivor = await world.f.employer("Pacific Tile Works", phone="+13105550100")
    loser = await world.f.employer("Pacific Tile", phone="+13105550199", fein="95-4812736",
                                   website="https://www.pacifictile.com")
    headers = await world.f.auth(world.users["lead"])
    r = await client.post(f"/api/employers/{loser.id}/merge", json={"into": survivor.id}, headers=headers)
    assert r.status_code == 201, r.text
    m = r.json()
    assert m["summary"]["filled"] == ["website", "FEIN"]
    assert (m["survivor"]["phone"], m["survivor"]["fein"], m["survivor"]["domain"]) == (
        "+13105550100", loser.fein, "pacifictile.com")
    u = await client.post(f"/api/employers/merges/{m['id']}/undo", json={}, headers=headers)
    assert u.status_code == 201, u.text
    assert (u.json()["survivor"]["fein"], u.json()["survivor"]["domain"]) == (None, None)


async def test_lead_may_not_merge_an_employer_of_another_region(client, world, db):
    la = await world.f.employer("Pacific Rim Packaging Inc")
    bay = await world.f.employer("Pacific Rim Packaging", county="San Mateo")
    r = await client.post(f"/api/employers/{la.id}/merge", json={"into": bay.id},
                          headers=await world.f.auth(world.users["lead"]))
    assert r.status_code == 403
    ok = await client.post(f"/api/employers/{la.id}/merge", json={"into": bay.id},
                           headers=await world.f.auth(world.users["admin"]))
    assert ok.status_code == 201, ok.text


async def test_lead_of_another_region_may_not_undo_or_dismiss(client, world, sessionmaker, db):
    acme, acme2, *_ = await small_world(world.f)
    await scan(sessionmaker)
    m = await client.post(f"/api/employers/{acme2.id}/merge", json={"into": acme.id},
                          headers=await world.f.auth(world.users["lead"]))
    bay = await world.f.auth(world.users["bay_lead"])
    assert (await client.post(f"/api/employers/merges/{m.json()['id']}/undo", json={}, headers=bay)).status_code == 403
    assert (await client.get(f"/api/employers/merges/{m.json()['id']}", headers=bay)).status_code == 403
    await db.rollback()
    open_pair = await db.scalar(select(DuplicateCandidate.id).where(DuplicateCandidate.status == "open"))
    r = await client.post(f"/api/employers/duplicates/{open_pair}/dismiss", json={}, headers=bay)
    assert r.status_code == 403


async def test_dismiss_remembers_and_a_second_dismiss_is_a_conflict(client, world, sessionmaker, db):
    await small_world(world.f)
    await scan(sessionmaker)
    headers = await world.f.auth(world.users["lead"])
    pair_id = (await client.get("/api/employers/duplicates", headers=headers)).json()["items"][0]["id"]
    r = await client.post(f"/api/employers/duplicates/{pair_id}/dismiss", json={"note": "two sites"},
                          headers=headers)
    assert r.status_code == 201 and r.json()["status"] == "dismissed" and r.json()["decided_by"] == "Lee Lead"
    again = await client.post(f"/api/employers/duplicates/{pair_id}/dismiss", json={}, headers=headers)
    assert again.status_code == 409
    listed = (await client.get("/api/employers/duplicates", headers=headers)).json()
    assert pair_id not in {p["id"] for p in listed["items"]}
    dismissed = await client.get("/api/employers/duplicates", params={"status": "dismissed"}, headers=headers)
    assert [p["id"] for p in dismissed.json()["items"]] == [pair_id]


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"into": "x"}, 400, "into"),
    ({}, 400, "into"),
    ({"into": 0}, 400, "into"),
    ({"into": 1, "surprise": True}, 400, "surprise"),
    ({"into": 1, "reason": "x" * 2001}, 400, "reason"),
])
async def test_bad_merge_bodies_are_refused_naming_the_field(client, world, db, body, status, field):
    e = await world.f.employer("Sunrise Family Dental")
    r = await client.post(f"/api/employers/{e.id}/merge", json=body, headers=await world.f.auth(world.users["lead"]))
    assert 400 <= r.status_code < 500, r.text
    assert field in r.text
    assert await _merges(db) == 0


async def test_merge_state_errors_name_the_problem_and_write_nothing(client, world, db):
    a = await world.f.employer("Sunrise Family Dental")
    b = await world.f.employer("Sunrise Dental Group")
    c = await world.f.employer("Sunrise Dental")
    headers = await world.f.auth(world.users["lead"])
    same = await client.post(f"/api/employers/{a.id}/merge", json={"into": a.id}, headers=headers)
    assert same.status_code == 422 and same.json()["error"]["fields"][0]["field"] == "into"
    missing = await client.post(f"/api/employers/{a.id}/merge", json={"into": 999999}, headers=headers)
    assert missing.status_code == 422 and missing.json()["error"]["fields"][0]["field"] == "into"
    nobody = await client.post("/api/employers/999999/merge", json={"into": a.id}, headers=headers)
    assert nobody.status_code == 404
    assert await _merges(db) == 0
    assert (await client.post(f"/api/employers/{b.id}/merge", json={"into": a.id}, headers=headers)).status_code == 201
    twice = await client.post(f"/api/employers/{b.id}/merge", json={"into": c.id}, headers=headers)
    assert twice.status_code == 409 and "already merged" in twice.json()["error"]["message"]
    into_tomb = await client.post(f"/api/employers/{c.id}/merge", json={"into": b.id}, headers=headers)
    assert into_tomb.status_code == 409 and f"#{a.id}" in into_tomb.json()["error"]["message"]
    assert await _merges(db) == 1
    await db.rollback()
    assert (await db.get(Employer, c.id)).status == "active"
