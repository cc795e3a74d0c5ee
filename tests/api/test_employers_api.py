"""Employer API: create, read, search, update, validation, scope."""

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditEvent
from crm.employers.models import Employer


async def _count(db):
    return await db.scalar(select(func.count(Employer.id)))


async def test_spoc_creates_an_employer_with_normalized_keys_and_an_audit_event(client, world, db):
    headers = await world.f.auth(world.users["spoc"])
    body = {"legal_name": "Acme Corporation, Inc.", "website": "https://www.Acme.com/about", "fein": "953456789",
            "naics_code": "332710", "county": "Los Angeles", "zip": "90012", "aliases": ["ACME", "Acme Tooling"],
            "contacts": [{"name": "Ana Ruiz", "title": "HR Manager", "email": "ana@acme.com"}]}
    r = await client.post("/api/employers", json=body, headers=headers)
    assert r.status_code == 201, r.text
    e = r.json()
    assert e["domain"] == "acme.com" and e["fein"] == "95-3456789"
    assert e["region"] == "LA-BASIN" and e["sector_code"] == "31-33" and e["status"] == "active"
    assert e["aliases"] == ["Acme Tooling"] and e["contacts"][0]["name"] == "Ana Ruiz"
    events = (await db.scalars(select(AuditEvent).where(AuditEvent.employer_id == e["id"]))).all()
    assert [ev.action for ev in events] == ["employer.create"]
    assert events[0].actor_id == world.users["spoc"].id


@pytest.mark.parametrize("name", ["ß" * 200, "\ufb03" * 200, "Stra\u00dfe " * 28])
async def test_a_name_that_folds_longer_than_its_column_is_kept_with_its_key_cut(client, world, db, name):
    """PostgreSQL refuses a value longer than the column (SQLite would keep it): a 200-letter name whose
    folded key is longer ("ß" -> "ss") was a 500 there."""
    headers = await world.f.auth(world.users["spoc"])
    r = await client.post("/api/employers", json={"legal_name": name, "aliases": [name[::-1]]}, headers=headers)
    assert r.status_code == 201, r.text
    e = r.json()
    patched = await client.patch(f"/api/employers/{e['id']}", json={"legal_name": name[:-1] + "ß"}, headers=headers)
    assert patched.status_code == 200, patched.text
    stored = await db.get(Employer, e["id"])
    assert stored.legal_name == name[:-1] + "ß" and 0 < len(stored.name_key) <= 200


async def test_an_employer_without_a_county_takes_its_zips_in_its_region(client, world, db):
    spoc = await world.f.auth(world.users["spoc"])
    r = await client.post("/api/employers", headers=spoc, json={"legal_name": "Boyle Heights Bakery",
                                                                "zip": "90033", "region": "LA-BASIN"})
    assert r.status_code == 201, r.text
    assert (r.json()["county"], r.json()["region"]) == ("Los Angeles", "LA-BASIN")
    admin = await world.f.auth(world.users["admin"])
    r = await client.post("/api/employers", headers=admin, json={"legal_name": "Mission Bakery", "zip": "94103"})
    assert (r.json()["county"], r.json()["region"]) == ("San Francisco", "BAY-PENINSULA"), r.text
    # A ZIP in another region than the one given leaves the county to be told.
    r = await client.post("/api/employers", headers=spoc, json={"legal_name": "Valencia Street Bakery",
                                                                "zip": "94110", "region": "LA-BASIN"})
    assert (r.json()["county"], r.json()["region"]) == (None, "LA-BASIN"), r.text
    # So does an existing employer's new ZIP elsewhere; one in its region fills the county in.
    e = r.json()["id"]
    r = await client.patch(f"/api/employers/{e}", headers=spoc, json={"zip": "94117"})
    assert (r.json()["county"], r.json()["region"]) == (None, "LA-BASIN"), r.text
    r = await client.patch(f"/api/employers/{e}", headers=spoc, json={"zip": "91101"})
    assert (r.json()["county"], r.json()["region"]) == ("Los Angeles", "LA-BASIN"), r.text


@pytest.mark.parametrize("zip_code", ["00000", "00012-3456", "21300"])
async def test_a_zip_no_us_zip_could_be_is_refused_naming_the_field(client, world, db, zip_code):
    """No U.S. ZIP begins with 000 or 213 (the zipcodes package's data); 90012 and 02134 do."""
    spoc = await world.f.auth(world.users["spoc"])
    r = await client.post("/api/employers", headers=spoc, json={"legal_name": "Boyle Heights Bakery",
                                                                "zip": zip_code, "region": "LA-BASIN"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["fields"] == [{"field": "zip", "message": (
        f"{zip_code[:5]} is not a U.S. ZIP code (no ZIP begins with {zip_code[:3]})")}]
    assert await _count(db) == 0
    r = await client.post("/api/employers", headers=spoc, json={"legal_name": "Boyle Heights Bakery",
                                                                "zip": "02134", "region": "LA-BASIN"})
    assert r.status_code == 201, r.text


async def test_a_partner_sees_who_the_employers_people_are_but_not_how_to_reach_them(client, world):
    spoc = await world.f.auth(world.users["spoc"])
    e = (await client.post("/api/employers", headers=spoc, json={
        "legal_name": "Acme Corporation", "county": "Los Angeles",
        "contacts": [{"name": "Ana Ruiz", "title": "HR Manager", "email": "ana@acme.com", "phone": "213-555-0134"}]}
    )).json()
    partner = (await client.get(f"/api/employers/{e['id']}", headers=await world.f.auth(world.users["partner"])))
    assert [(c["name"], c["title"], c["email"], c["phone"]) for c in partner.json()["contacts"]] == [
        ("Ana Ruiz", "HR Manager", None, None)]
    staff = (await client.get(f"/api/employers/{e['id']}", headers=spoc)).json()["contacts"][0]
    assert staff["email"] == "ana@acme.com" and staff["phone"]


@pytest.mark.parametrize(("email", "reason"), [("a b@x.org", "SPACE"), ("ana@acme", "period"),
                                               ("ana@acme.local", "special-use")])
async def test_a_contact_email_is_checked_as_a_users_is_naming_the_contact(client, world, db, email, reason):
    r = await client.post("/api/employers", headers=await world.f.auth(world.users["spoc"]), json={
        "legal_name": "Acme Corporation", "county": "Los Angeles",
        "contacts": [{"name": "Ana Ruiz", "email": "ana@acme.com"}, {"name": "Bo Diaz", "email": email}]})
    assert r.status_code == 422
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["contacts[1].email"]
    assert f"{email!r} is not a valid e-mail address" in r.text and reason in r.text
    assert await _count(db) == 0


async def test_a_partner_cannot_create_an_employer_directly(client, world, db):
    """A partner names a new employer in a touch request, which matches it first (a record created beside
    the real one with its FEIN made every partner's request for that employer ambiguous)."""
    headers = await world.f.auth(world.users["partner"])
    r = await client.post("/api/employers", json={"legal_name": "Blue Sky Bakery", "county": "Los Angeles",
                                                   "do_not_contact": True}, headers=headers)
    assert r.status_code == 403 and "touch request" in r.text
    assert await _count(db) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"legal_name": "X", "fein": "12-345"}, "fein"),
        ({"legal_name": "X", "region": "ATLANTIS"}, "region"),
        ({"legal_name": "X", "county": "Gotham"}, "county"),
        ({"legal_name": "x" * 201}, "legal_name"),
        ({"legal_name": 42}, "legal_name"),
        ({"legal_name": "X", "naics_code": "99"}, "naics_code"),
        ({"legal_name": "X", "naics_code": "abc"}, "naics_code"),
        ({"legal_name": "X", "website": "not a site"}, "website"),
        ({"legal_name": "X", "size_band": "huge"}, "size_band"),
        ({"legal_name": "X", "zip": "ABCDE"}, "zip"),
        ({"legal_name": "X", "surprise": 1}, "surprise"),
        ({}, "legal_name"),
        ({"legal_name": "   "}, "legal_name"),
    ],
)
async def test_bad_employer_input_is_4xx_naming_the_field_and_writes_nothing(client, world, db, body, field):
    headers = await world.f.auth(world.users["spoc"])
    before = await _count(db)
    r = await client.post("/api/employers", json=body, headers=headers)
    assert 400 <= r.status_code < 500, r.text
    err = r.json()["error"]
    assert field in err["message"] or any(f["field"] == field for f in err.get("fields", [])), err
    assert await _count(db) == before
    assert await db.scalar(select(func.count(AuditEvent.id))) == 0


async def test_every_bad_employer_field_is_named_at_once(client, world, db):
    before = await _count(db)
    r = await client.post("/api/employers", headers=await world.f.auth(world.users["spoc"]), json={
        "legal_name": "Zzqx Widgets", "website": "not a url !!", "fein": "12-34", "zip": "abc",
        "county": "Atlantis", "size_band": "huge"})
    assert r.status_code == 422
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["website", "fein", "size_band", "zip", "county"]
    assert await _count(db) == before


async def test_malformed_json_is_400(client, world):
    headers = await world.f.auth(world.users["spoc"])
    r = await client.post("/api/employers", content=b'{"legal_name": ', headers={**headers,
                          "content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/employers"), ("POST", "/api/touch-requests"), ("POST", "/api/employers/1/merge"),
    ("PUT", "/api/regions/LA-BASIN/policy")])
async def test_a_missing_body_is_said_in_words(client, world, method, path):
    r = await client.request(method, path, headers=await world.f.auth(world.users["lead"]))
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == [{"field": "body", "message": "is required: send a JSON object"}]


@pytest.mark.parametrize("path", ["/api/employers", "/api/touch-requests", "/api/auth/token"])
async def test_json_nested_too_deeply_is_400_not_500(client, world, path):
    headers = await world.f.auth(world.users["spoc"])
    r = await client.post(path, content=b"[" * 5000 + b"]" * 5000,
                          headers={**headers, "content-type": "application/json"})
    assert r.status_code == 400 and "nested too deeply" in r.json()["error"]["message"]


@pytest.mark.parametrize(("path", "body"), [("/api/auth/token", b'{"email": "\xff", "password": "x"}'),
                                            ("/api/employers", b'{"legal_name": "\xff\xfe"}'),
                                            ("/api/employers", b'{"legal_name": "\xc3 \\u0000"}')])
async def test_a_json_string_that_is_not_utf8_is_400_not_500(client, world, db, path, body):
    headers = await world.f.auth(world.users["spoc"])
    before = await _count(db)
    r = await client.post(path, content=body, headers={**headers, "content-type": "application/json"})
    assert r.status_code == 400 and "not UTF-8" in r.json()["error"]["message"], r.text
    assert await _count(db) == before


async def test_search_finds_by_name_prefix_alias_and_domain_with_pagination(client, world):
    f = world.f
    await f.employer("Golden State Logistics LLC", website="gsl.com")
    await f.employer("Pacific Golden Foods Inc")
    for i in range(30):
        await f.employer(f"Zeta Widgets {i:02d} Inc")
    headers = await f.auth(world.users["partner"])
    r = await client.get("/api/employers", params={"q": "golden"}, headers=headers)
    assert {e["legal_name"] for e in r.json()["items"]} == {"Golden State Logistics LLC", "Pacific Golden Foods Inc"}
    r = await client.get("/api/employers", params={"q": "https://www.gsl.com"}, headers=headers)
    assert [e["legal_name"] for e in r.json()["items"]] == ["Golden State Logistics LLC"]
    page1 = (await client.get("/api/employers", params={"q": "zeta", "limit": 20}, headers=headers)).json()
    page2 = (await client.get("/api/employers", params={"q": "zeta", "limit": 20, "offset": 20},
                              headers=headers)).json()
    assert page1["total"] == 30 and len(page1["items"]) == 20 and len(page2["items"]) == 10
    assert not {e["id"] for e in page1["items"]} & {e["id"] for e in page2["items"]}
    assert (await client.get("/api/employers", params={"limit": 0}, headers=headers)).status_code == 422


async def test_search_finds_every_word_anywhere_in_a_name_dba_or_alias_names_starting_with_it_first(
        client, world):
    f = world.f
    vet = await f.employer("Hill and Robinson Veterinary Hospital Inc")
    farm = await f.employer("Robinson Hill Farms LLC")
    await f.employer("Hill Roofing Co")
    bakery = await f.employer("Pacific Foods Inc", dba="Sunrise Bakery")
    branch = await f.employer("Acme Tooling Inc - Downtown Branch")
    spoc = await f.auth(world.users["spoc"])
    r = await client.post("/api/employers", json={"legal_name": "Coastal Staffing Group", "aliases": ["Harbor Temps"]},
                          headers=spoc)
    staffing = r.json()["id"]
    headers = await f.auth(world.users["partner"])

    async def found(q: str) -> list[int]:
        r = await client.get("/api/employers", params={"q": q}, headers=headers)
        assert r.status_code == 200, r.text
        return [e["id"] for e in r.json()["items"]]

    assert await found("Hill Robinson") == [vet.id, farm.id]  # neither has them side by side: by name
    assert await found("robinson") == [farm.id, vet.id]  # the name beginning with it first
    assert await found("hill") == [vet.id, await _id(client, headers, "Hill Roofing Co"), farm.id]
    assert await found("rob hosp") == [vet.id]  # the start of each word
    assert await found("bakery sunrise") == [bakery.id]  # the DBA's words
    assert await found("acme downtown") == [branch.id]  # the words after the legal form
    assert await found("Inc Acme Branch") == [branch.id] and await found("the acme") == [branch.id]  # forms left out
    assert await found("hill plumbing") == []
    # A legal form being typed is not a word the name lacks: the name is found at every keystroke.
    assert await found("Acme Tooling In") == [branch.id] and await found("Robinson Hill Farms L") == [farm.id]
    assert await found("hill robinson vet in") == [vet.id] and await found("hill rob in ") == []  # "in", typed whole
    assert await found("temps harbor") == [staffing]  # an alias's
    renamed = await client.patch(f"/api/employers/{farm.id}", json={"legal_name": "Valley Orchards LLC"},
                                 headers=spoc)
    assert renamed.status_code == 200, renamed.text
    assert await found("robinson") == [vet.id]


async def _id(client, headers, name: str) -> int:
    r = await client.get("/api/employers", params={"q": name}, headers=headers)
    return next(e["id"] for e in r.json()["items"] if e["legal_name"] == name)


async def test_update_is_audited_with_before_and_after(client, world, db):
    e = await world.f.employer("Harbor Freight Lines Inc")
    headers = await world.f.auth(world.users["spoc"])
    r = await client.patch(f"/api/employers/{e.id}", json={"phone": "(213) 555-0142", "dba": "HFL"},
                           headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == "+12135550142"
    ev = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "employer.update"))).one()
    assert ev.before == {"dba": None, "phone": None}
    assert ev.after == {"dba": "HFL", "phone": "+12135550142"}


async def test_partner_cannot_edit_and_other_region_spoc_cannot_edit(client, world):
    e = await world.f.employer("Harbor Freight Lines Inc")
    for who in ("partner", "bay_spoc"):
        headers = await world.f.auth(world.users[who])
        r = await client.patch(f"/api/employers/{e.id}", json={"dba": "nope"}, headers=headers)
        assert r.status_code == 403, who


async def test_unknown_employer_is_404(client, world):
    headers = await world.f.auth(world.users["spoc"])
    r = await client.get("/api/employers/999999", headers=headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_regions_and_organizations_are_listed(client, world):
    headers = await world.f.auth(world.users["partner"])
    regions = (await client.get("/api/regions", headers=headers)).json()
    assert len(regions) == 14
    la = next(r for r in regions if r["code"] == "LA-BASIN")
    assert la["counties"] == ["Los Angeles"]
    orgs = (await client.get("/api/organizations", params={"region": "LA-BASIN"}, headers=headers)).json()
    assert {o["name"] for o in orgs["items"]} == {"East LA College", "LA Basin WDB"}
    assert (await client.get("/api/organizations", params={"region": "NOPE"}, headers=headers)).status_code == 422


async def test_a_patch_with_a_stale_seen_is_refused_and_one_without_seen_still_saves(client, world, db):
    e = await world.f.employer("Harbor Freight Lines")
    spoc, lead = await world.f.auth(world.users["spoc"]), await world.f.auth(world.users["lead"])
    read = (await client.get(f"/api/employers/{e.id}", headers=lead)).json()
    r = await client.patch(f"/api/employers/{e.id}", headers=spoc, json={"city": "Long Beach", "seen": read["seen"]})
    assert r.status_code == 200 and r.json()["seen"] != read["seen"]
    r = await client.patch(f"/api/employers/{e.id}", headers=lead, json={"city": "Carson", "seen": read["seen"]})
    assert r.status_code == 409 and "changed meanwhile by Maria Lopez" in r.json()["error"]["message"]
    r = await client.patch(f"/api/employers/{e.id}", headers=lead, json={"dba": "HFL"})
    assert r.status_code == 200 and r.json()["city"] == "Long Beach"


async def test_a_lead_lists_the_employers_without_a_spoc_in_their_region(client, world):
    assigned = await world.f.employer("Assigned Works Inc")
    await world.f.assign(assigned, world.users["spoc"])
    waiting = await world.f.employer("Waiting Works Inc")
    elsewhere = await world.f.employer("Bay Works Inc", county="San Francisco")
    lead = await world.f.auth(world.users["lead"])
    r = await client.get("/api/employers", headers=lead, params={"no_spoc": "true", "region": "LA-BASIN"})
    assert r.status_code == 200 and [e["id"] for e in r.json()["items"]] == [waiting.id], r.text
    r = await client.get("/api/employers", headers=lead, params={"no_spoc": "true"})
    assert {e["id"] for e in r.json()["items"]} == {waiting.id, elsewhere.id}
