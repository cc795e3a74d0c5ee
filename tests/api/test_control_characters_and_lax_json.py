"""Control characters other than tab and line breaks are refused like the NUL (a BEL or an ANSI escape in a
name passed "is required" and was stored), and a JSON body is read strictly: what only msgspec's lax
rules accept (``{"away": 0}``, ``"3e1"`` days, a number as a date) is a 422 naming the field."""

import pytest
from sqlalchemy import func, select

from crm.auth.models import User
from crm.employers.import_rows import validate_row
from crm.employers.models import Employer, EmployerContact
from tests.employers.test_importer import REF
from tests.factories import csrf, login


def _refused(r, field: str, words: str) -> None:
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert [f["field"] for f in error["fields"]] == [field] and words in error["fields"][0]["message"], r.text


async def _employers(db) -> int:
    return await db.scalar(select(func.count()).select_from(Employer))


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"legal_name": "Bell\u0007Corp"}, "legal_name", "U+0007"),
    ({"legal_name": "Bell Corp\u001b[31m"}, "legal_name", "U+001B"),
    ({"legal_name": "Bell Corp", "contacts": [{"name": "\b\b"}]}, "contacts[0].name", "U+0008"),
    ({"legal_name": "Bell Corp\u0085"}, "legal_name", "U+0085"),
])
async def test_an_employer_with_a_control_character_is_refused_naming_the_field(client, world, db, body, field, code):
    spoc = await world.f.auth(world.users["spoc"])
    before = await _employers(db)
    r = await client.post("/api/employers", headers=spoc, json={"region": "LA-BASIN", **body})
    _refused(r, field, f"must not contain control characters ({code})")
    assert await _employers(db) == before


async def test_tabs_and_line_breaks_in_notes_go_through(client, world, db):
    spoc = await world.f.auth(world.users["spoc"])
    r = await client.post("/api/employers", headers=spoc, json={
        "legal_name": "Bell Corp", "region": "LA-BASIN", "notes": "Ask for Ana.\r\n\tDock door 4 (\\b is a regex)"})
    assert r.status_code == 201, r.text
    assert await db.scalar(select(Employer.notes).where(Employer.id == r.json()["id"])) == \
        "Ask for Ana.\r\n\tDock door 4 (\\b is a regex)"


async def test_a_page_form_with_a_control_character_is_refused(client, world, db):
    await login(client, world.users["lead"].email)
    before = await _employers(db)
    r = await client.post("/employers/new", headers=csrf(client),
                          data={"legal_name": "Golden\u0007State Logistics", "county": "Los Angeles"})
    assert r.status_code == 422 and "must not contain control characters (U+0007)" in r.text
    assert await _employers(db) == before


def test_an_imported_cell_with_a_control_character_is_a_row_error():
    errors = validate_row(2, {"legal_name": "Bell\u0007Corp", "city": "Pasadena"}, REF)
    assert isinstance(errors, list)
    assert [(e.field, e.message) for e in errors] == [("legal_name", "must not contain control characters (U+0007)")]


@pytest.mark.parametrize(("value", "words"), [(0, "Expected bool, got int"), ("1", "Expected bool, got str")])
async def test_away_must_be_true_or_false_not_a_number_or_a_string(client, world, db, value, words):
    admin = await world.f.auth(world.users["admin"])
    spoc = world.users["spoc"]
    r = await client.put(f"/api/users/{spoc.id}/away", headers=admin, json={"away": value})
    _refused(r, "away", words)
    await db.rollback()
    assert (await db.get(User, spoc.id)).away is False


async def test_a_policy_in_strings_or_fractions_is_refused_and_kept_as_it_was(client, world, db):
    lead = await world.f.auth(world.users["lead"])
    before = (await client.get("/api/regions/LA-BASIN/policy", headers=lead)).json()
    r = await client.put("/api/regions/LA-BASIN/policy", headers=lead,
                         json={"max_touches": 3, "period_days": "3e1", "min_gap_days": 2})
    _refused(r, "period_days", "Expected int, got str")
    r = await client.put("/api/regions/LA-BASIN/policy", headers=lead,
                         json={"max_touches": 3.0, "period_days": 30, "min_gap_days": 2})
    _refused(r, "max_touches", "Expected int, got float")
    assert (await client.get("/api/regions/LA-BASIN/policy", headers=lead)).json() == before


async def test_a_number_is_not_read_as_a_unix_time(client, world, desk):
    touch = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    spoc = await world.f.auth(world.users["spoc"])
    r = await client.post(f"/api/touches/{touch.id}/schedule", headers=spoc,
                          json={"scheduled_at": 1800000000, "channel": "call"})
    _refused(r, "scheduled_at", "Expected datetime, got int")


async def test_a_body_wrong_however_read_keeps_the_handlers_own_messages(client, world, db):
    spoc = await world.f.auth(world.users["spoc"])
    r = await client.post("/api/employers", headers=spoc, json={"legal_name": 5, "region": "LA-BASIN",
                                                                "do_not_contact": "maybe"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["fields"] == [{"field": "legal_name", "message": "Expected `str`, got `int`"}]
    assert await _employers(db) == 0


async def test_a_json_body_labelled_as_another_type_is_screened_as_json(client, world, db):
    """A JSON handler reads the body whatever its Content-Type says: "multipart/mixed" let a NUL be stored
    and {"away": 0} be read as false."""
    employer = await world.f.employer("Bell Corp")
    spoc = await world.f.auth(world.users["spoc"])
    r = await client.post(f"/api/employers/{employer.id}/contacts", content=b'{"name": "Ana\\u0000Ruiz"}',
                          headers={**spoc, "Content-Type": "multipart/mixed"})
    _refused(r, "name", "must not contain the NUL character")
    r = await client.put("/api/users/me/away", content=b'{"away": 0}',
                         headers={**spoc, "Content-Type": "multipart/mixed; boundary=x"})
    _refused(r, "away", "Expected bool, got int")
    assert await db.scalar(select(func.count()).select_from(EmployerContact)) == 0


async def test_a_page_form_is_screened_however_its_type_is_written_or_encoded(client, world, db):
    employer = await world.f.employer("Bell Corp")
    await login(client, world.users["spoc"].email)
    await client.get(f"/employers/{employer.id}")
    r = await client.post(f"/employers/{employer.id}/contacts", content=b"name=Esc%1BUpper+Case",
                          headers={**csrf(client), "Content-Type": "Application/X-WWW-Form-Urlencoded"})
    assert r.status_code == 422 and "must not contain control characters (U+001B)" in r.text
    r = await client.post(f"/employers/{employer.id}/contacts", headers=csrf(client),
                          data={"name": "Bell\u0007Multi Part"}, files={"attachment": ("a.txt", b"\x07 in a file")})
    assert r.status_code == 422 and "must not contain control characters (U+0007)" in r.text
    assert await db.scalar(select(func.count()).select_from(EmployerContact)) == 0


@pytest.mark.parametrize("body", [b"legal_name=\xff\xfe&county=Los+Angeles", b"legal_name=%FF%FE&county=Los+Angeles",
                                  b"county=Los+Angeles&legal_name=Caf%E9"])
async def test_a_page_form_that_is_not_utf8_is_refused_naming_the_field(client, world, db, body):
    """Pages are UTF-8 and so are the forms browsers send from them: other bytes were read as Latin-1 ("ÿþ")."""
    await login(client, world.users["lead"].email)
    before = await _employers(db)
    r = await client.post("/employers/new", content=body,
                          headers={**csrf(client), "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 422 and "is not UTF-8 text" in r.text and "legal_name" in r.text
    assert await _employers(db) == before
    accented = await client.post("/employers/new", headers=csrf(client),
                                 data={"legal_name": "Café Olé Bakery", "county": "Los Angeles"})
    assert accented.status_code == 200 and "Created Café Olé Bakery" in accented.text
    await db.rollback()
    assert await _employers(db) == before + 1
