"""The NUL character (U+0000) in any text a request carries is a 422 naming where it was, and nothing is
written: PostgreSQL cannot store it (every such request used to be a 500 there, the sign-in included)
and SQLite stored it silently."""

import pytest
from sqlalchemy import func, select

from crm.employers.models import Employer
from crm.touches.models import TouchRequest
from tests.factories import csrf, login, today


def _field(r):
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert "NUL" in error["message"]
    return error["fields"][0]["field"]


async def test_the_sign_in_refuses_a_nul_in_the_email_without_asking_the_database(client, world):
    r = await client.post("/api/auth/token", json={"email": "nobody\u0000@example.org", "password": "x"})
    assert _field(r) == "email"


@pytest.mark.parametrize(("body", "field"), [
    ({"summary": "forklift\u0000drivers"}, "summary"),
    ({"employer": {"name": "Foo\u0000Bar", "city": "Pasadena"}}, "employer.name"),
])
async def test_a_touch_request_with_a_nul_anywhere_in_its_body_writes_nothing(client, world, db, body, field):
    employer = await world.f.employer("Golden State Logistics")
    partner = await world.f.auth(world.users["partner"])
    payload = {"employer_id": employer.id, "region": "LA-BASIN", "purpose": "hiring",
               "window_start": today().isoformat(), **body}
    if "employer" in body:
        del payload["employer_id"]
    before = await db.scalar(select(func.count()).select_from(Employer))
    assert _field(await client.post("/api/touch-requests", headers=partner, json=payload)) == field
    assert await db.scalar(select(func.count()).select_from(TouchRequest)) == 0
    assert await db.scalar(select(func.count()).select_from(Employer)) == before


async def test_a_nul_in_a_query_parameter_or_a_path_segment_names_it(client, world):
    lead = await world.f.auth(world.users["lead"])
    assert _field(await client.get("/api/touches", params={"region": "LA\u0000"}, headers=lead)) == "region"
    assert _field(await client.get("/api/regions/LA%00/policy", headers=lead)) == "code"


async def test_a_page_form_with_a_nul_is_refused_and_changes_nothing(client, world, db):
    await login(client, world.users["lead"].email)
    before = await db.scalar(select(func.count()).select_from(Employer))
    r = await client.post("/employers/new", headers=csrf(client),
                          data={"legal_name": "Golden\u0000State Logistics", "county": "Los Angeles"})
    assert r.status_code == 422 and "NUL" in r.text
    assert await db.scalar(select(func.count()).select_from(Employer)) == before


async def test_an_escaped_backslash_before_u0000_is_plain_text_and_goes_through(client, world):
    employer = await world.f.employer("Golden State Logistics")
    lead = await world.f.auth(world.users["lead"])
    r = await client.patch(f"/api/employers/{employer.id}", headers={**lead, "content-type": "application/json"},
                           content=b'{"dba": "C:\\\\u0000 Tools"}')
    assert r.status_code == 200, r.text
    assert r.json()["dba"] == "C:\\u0000 Tools"
