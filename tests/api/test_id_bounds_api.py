"""An id past the databases' 64-bit range — in a path, a query or a body — is a 422 naming it, never a 500
(the driver cannot even bind it); a search for such a number looks for names instead (crm.ids)."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar

from tests.touches.conftest import SpocDesk, today

TOO_BIG = 2**63  # one past the largest id SQLite INTEGER and PostgreSQL BIGINT hold

# (method, url, body, field); {e}, {t}, {c}, {p} are a real employer, touch, council and partnership,
# so only the bound stands between the number and the database; a body's {day} is today.
CASES = [
    ("GET", f"/api/employers/{TOO_BIG}", None, "employer_id"),
    ("PUT", f"/api/councils/{{c}}/meetings/{TOO_BIG}/attendance/1", {"present": True}, "meeting_id"),
    ("GET", f"/api/touches?employer_id={TOO_BIG}", None, "employer_id"),
    ("GET", f"/api/touch-requests?employer_id={TOO_BIG}", None, "employer_id"),
    ("GET", f"/api/employers/duplicates?employer_id={TOO_BIG}", None, "employer_id"),
    ("POST", "/api/touches", {"employer_id": TOO_BIG, "channel": "call", "occurred_on": "{day}"}, "employer_id"),
    ("POST", "/api/employers/{e}/merge", {"into": TOO_BIG}, "into"),
    ("POST", "/api/employers/{e}/spoc-assignments", {"region": "LA-BASIN", "spoc_id": TOO_BIG}, "spoc_id"),
    ("POST", "/api/councils/{c}/recommendations", {"text": "Add a robotics module", "meeting_id": TOO_BIG},
     "meeting_id"),
    ("POST", "/api/partnerships/{p}/action-teams", {"name": "CDL", "business_chair_id": TOO_BIG}, "business_chair_id"),
    ("POST", "/api/partnerships/{p}/action-teams", {"name": "CDL", "support_staff_id": TOO_BIG}, "support_staff_id"),
    ("POST", "/api/touches/{t}/schedule",
     {"scheduled_at": "2099-01-05T10:00:00Z", "channel": "call", "contact_ids": [TOO_BIG]}, "contact_ids[0]"),
    ("POST", "/api/touches/{t}/complete", {"outcomes": [{"request_id": TOO_BIG, "outcome": "interested"}]},
     "outcomes[0].request_id"),
    ("POST", "/api/regions/LA-BASIN/routing-rules", {"pool": [TOO_BIG]}, "pool[0]"),
]


@pytest.fixture
async def rows(client, world, sessionmaker) -> dict[str, int]:
    employer = await world.f.employer("Pacific Steel Fabricators")
    touch = await SpocDesk(sessionmaker).touch(employer, world.users["spoc"])
    council = await client.post("/api/councils", headers=await world.f.auth(world.users["partner"]), json={
        "name": "Welding Advisory", "owner_organization_id": world.orgs["college"].id, "region": "LA-BASIN"})
    partnership = await client.post("/api/partnerships", headers=await world.f.auth(world.users["lead"]), json={
        "name": "LA Logistics", "owner_organization_id": world.orgs["board"].id, "regions": ["LA-BASIN"]})
    assert council.status_code == partnership.status_code == 201
    return {"e": employer.id, "t": touch.id, "c": council.json()["id"], "p": partnership.json()["id"]}


@pytest.mark.parametrize(("method", "url", "body", "field"), CASES)
async def test_an_id_past_64_bits_is_422_naming_it(client, world, rows, method, url, body, field):
    if body:
        body = {k: v.format(day=today().isoformat()) if isinstance(v, str) else v for k, v in body.items()}
    r = await client.request(method, url.format(**rows), json=body, headers=await world.f.auth(world.users["admin"]))
    assert r.status_code == 422, r.text
    assert field in [f["field"] for f in r.json()["error"]["fields"]]


async def test_every_int_path_parameter_of_every_route_is_bounded(client, world, app: Litestar):
    """API and page routes alike: a new route that declares its id without ``PathId`` fails here."""
    admin = await world.f.auth(world.users["admin"])
    checked, unbounded = 0, []
    for route in app.routes:
        for name in [p for p, d in getattr(route, "path_parameters", {}).items() if d.type is int]:
            url = re.sub(r"\{(\w+)\}", lambda m, name=name: str(TOO_BIG if m[1] == name else 1), route.path_format)
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                r = await client.request(method, url, json={}, headers={**admin, "accept": "application/json"})
                checked += 1
                if r.status_code != 422 or name not in [f["field"] for f in r.json()["error"].get("fields", [])]:
                    unbounded.append(f"{method} {route.path} {name}: {r.status_code}")
    assert unbounded == [] and checked > 100, checked  # (method, parameter) pairs: 108 today


@pytest.mark.parametrize(("q", "name"), [("99999999999999999999", "99999999999999999999 Ventures LLC"),
                                         ("²", "2 Brothers Bakery")])  # str.isdigit("²") is True; int() refuses it
async def test_search_for_a_number_that_cannot_be_an_id_searches_names(client, world, q, name):
    await world.f.employer(name)
    r = await client.get("/api/employers", params={"q": q}, headers=await world.f.auth(world.users["spoc"]))
    assert r.status_code == 200, r.text
    assert [e["legal_name"] for e in r.json()["items"]] == [name]


@pytest.mark.parametrize("spelling", ["%EF%BC%91", "%D9%A1", "+1", "%201", "1_0"])
async def test_a_path_id_not_written_in_ascii_digits_is_422_naming_it(client, world, rows, spelling):
    """int() reads "１" (full-width), "١" (Arabic-Indic), "+1", " 1" and "1_0" (ten); each named a record."""
    admin = await world.f.auth(world.users["admin"])
    r = await client.get(f"/api/employers/{spelling}", headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["fields"][0]["field"] == "employer_id"
    r = await client.get(f"/api/touches/{spelling}", headers=admin)
    assert r.status_code == 422, r.text
    assert (await client.get(f"/api/employers/{rows['e']}", headers=admin)).status_code == 200
