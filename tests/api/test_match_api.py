"""`GET /api/employers/match`: candidates best first with outcome, score and explanation; auth; validation."""

import pytest


async def _acme(world, client):
    """ACME Corporation created through the API, as a SPOC would (search keys included)."""
    headers = await world.f.auth(world.users["spoc"])
    r = await client.post("/api/employers", headers=headers, json={
        "legal_name": "ACME Corporation", "website": "https://www.acme.com", "county": "Los Angeles",
        "zip": "90021", "fein": "95-4812736"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_match_by_name_and_domain_returns_existing_employer_with_explanation(client, world):
    acme = await _acme(world, client)
    await world.f.employer("Blue Sky Bakery")
    headers = await world.f.auth(world.users["partner"])
    r = await client.get("/api/employers/match", params={"name": "acme corp", "website": "acme.com"},
                         headers=headers)
    assert r.status_code == 200, r.text
    page = r.json()
    best = page["items"][0]
    assert best["id"] == acme and best["legal_name"] == "ACME Corporation"
    assert best["outcome"] == "match" and 0 < best["score"] <= 1
    assert "same domain acme.com" in best["explanation"]
    assert all(item["id"] != acme for item in page["items"][1:])


async def test_match_results_are_best_first(client, world):
    await world.f.employer("Acme Plumbing & Heating", zip="90021")
    acme = await _acme(world, client)
    headers = await world.f.auth(world.users["spoc"])
    r = await client.get("/api/employers/match", params={"name": "ACME Corp.", "zip": "90021"}, headers=headers)
    items = r.json()["items"]
    assert items[0]["id"] == acme
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)


async def test_match_by_fein_alone(client, world):
    acme = await _acme(world, client)
    headers = await world.f.auth(world.users["lead"])
    r = await client.get("/api/employers/match", params={"fein": "954812736"}, headers=headers)
    assert r.status_code == 200
    assert r.json()["items"][0]["id"] == acme and "same FEIN" in r.json()["items"][0]["explanation"]


async def test_match_is_paginated(client, world):
    for name in ("Acme Logistics", "Acme Foods", "Acme Plumbing", "Acme Tooling"):
        await world.f.employer(name)
    headers = await world.f.auth(world.users["spoc"])
    first = (await client.get("/api/employers/match", params={"name": "acme", "limit": 2}, headers=headers)).json()
    second = (await client.get("/api/employers/match", params={"name": "acme", "limit": 2, "offset": 2},
                               headers=headers)).json()
    assert first["total"] == second["total"] >= 4
    assert len(first["items"]) == 2 and len(second["items"]) == 2
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}


async def test_match_requires_sign_in(client, world):
    r = await client.get("/api/employers/match", params={"name": "acme"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"


async def test_chair_may_not_use_match(client, world):
    headers = await world.f.auth(world.users["chair"])
    r = await client.get("/api/employers/match", params={"name": "acme"}, headers=headers)
    assert r.status_code == 403


async def test_match_without_any_criterion_is_422_naming_name(client, world):
    headers = await world.f.auth(world.users["partner"])
    r = await client.get("/api/employers/match", params={"name": "  "}, headers=headers)
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "name"


@pytest.mark.parametrize(("params", "field"), [
    ({"name": "acme", "fein": "12-34"}, "fein"),
    ({"name": "x" * 201}, "name"),
    ({"name": "acme", "limit": 0}, "limit"),
    ({"name": "acme", "limit": 500}, "limit"),
    ({"name": "acme", "offset": -1}, "offset"),
])
async def test_bad_match_parameters_are_4xx_naming_the_field(client, world, params, field):
    headers = await world.f.auth(world.users["partner"])
    r = await client.get("/api/employers/match", params=params, headers=headers)
    assert 400 <= r.status_code < 500, r.text
    assert field in r.text
