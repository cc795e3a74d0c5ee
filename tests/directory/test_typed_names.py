"""A name typed as it is stored finds it in any case, the database lowering both sides: Python's lower() and
PostgreSQL's disagree beyond ASCII ("İ"), and a search box's % and _ are letters, not wildcards."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.auth.models import User
from crm.directory.models import Organization
from tests.factories import csrf, login


@pytest.fixture
async def izmir(world):
    return await world.f.organization("İzmir Works", "cbo", ["LA-BASIN"])


@pytest.mark.parametrize("typed", ["İzmir Works", "İZMIR WORKS"])
async def test_an_organization_named_as_stored_is_found_when_a_user_is_given_it(client, world, db, izmir, typed):
    await login(client, world.users["admin"].email)
    await client.get("/admin/users")
    r = await client.post(f"/admin/users/{world.users['partner'].id}", headers=csrf(client),
                          data={"name": "Pat Partner", "organization": typed})
    assert r.status_code == 200, r.text
    assert (await db.get(User, world.users["partner"].id)).organization_id == izmir.id


async def test_the_organization_search_finds_a_name_beyond_ascii_and_takes_wildcards_literally(client, world, izmir):
    await world.f.organization("100% Staffing_Co", "cbo", ["LA-BASIN"])
    headers = await world.f.auth(world.users["spoc"])

    async def found(q: str) -> list[str]:
        r = await client.get("/api/organizations", params={"q": q}, headers=headers)
        assert r.status_code == 200, r.text
        return [o["name"] for o in r.json()["items"]]

    assert await found("İzmir") == ["İzmir Works"]
    assert await found("100%") == ["100% Staffing_Co"] and await found("g_c") == ["100% Staffing_Co"]
    assert await found("0_%") == [] and await found("%") == ["100% Staffing_Co"]


async def test_an_organization_of_the_same_name_in_another_case_is_taken(client, world, db, izmir):
    await login(client, world.users["admin"].email)
    await client.get("/admin/organizations")
    r = await client.post("/admin/organizations", headers=csrf(client),
                          data={"name": "İZMIR WORKS", "kind": "cbo", "regions": "LA-BASIN"})
    assert r.status_code == 409, r.text
    assert await db.scalar(select(func.count(Organization.id)).where(Organization.name == "İZMIR WORKS")) == 0


async def test_a_hand_off_names_its_organization_as_stored(client, world, desk, db, izmir):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    req = await desk.request(t, world.users["partner"])
    await login(client, world.users["spoc"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/touches/{t.id}/complete", headers={"HX-Request": "true", **csrf(client)}, data={
        f"outcome_{req.id}": "interested", "channel": "call", "handoff_org": "İzmir Works", "handoff_need": "ESL"})
    assert r.status_code == 200, r.text
    assert "hand-off to İzmir Works sent" in r.text
