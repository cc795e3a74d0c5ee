"""The employer's people through the API: add, correct, remove; one record per person; scope; history kept."""

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditEvent
from crm.employers.models import EmployerContact


async def _people(db, employer_id):
    await db.rollback()  # a fresh read: the session's last one may still hold its snapshot
    return [(c.name, c.title, c.email, c.phone) for c in await db.scalars(
        select(EmployerContact).where(EmployerContact.employer_id == employer_id)
        .order_by(EmployerContact.id).execution_options(populate_existing=True))]


async def test_a_spoc_adds_corrects_and_removes_a_person_at_an_employer_of_their_region(client, world, db):
    employer = await world.f.employer("Acme Tooling Inc")
    spoc = await world.f.auth(world.users["spoc"])
    r = await client.post(f"/api/employers/{employer.id}/contacts", headers=spoc, json={
        "name": "  Ana   Ruiz ", "title": "HR Manager", "email": "Ana@Acme.com", "phone": "213-555-0134"})
    assert r.status_code == 201, r.text
    contact = r.json()
    assert (contact["name"], contact["email"], contact["phone"]) == ("Ana Ruiz", "ana@acme.com", "+12135550134")
    r = await client.patch(f"/api/employers/{employer.id}/contacts/{contact['id']}", headers=spoc,
                           json={"title": "Plant Manager", "phone": None})
    assert r.status_code == 200, r.text
    assert await _people(db, employer.id) == [("Ana Ruiz", "Plant Manager", "ana@acme.com", None)]
    r = await client.delete(f"/api/employers/{employer.id}/contacts/{contact['id']}", headers=spoc)
    assert r.status_code == 204, r.text
    assert await _people(db, employer.id) == []
    events = (await db.scalars(select(AuditEvent).where(AuditEvent.employer_id == employer.id)
                               .order_by(AuditEvent.id))).all()
    assert [(e.action, e.before, e.after) for e in events] == [
        ("employer.contact_add", None, {"name": "Ana Ruiz", "title": "HR Manager", "email": "ana@acme.com",
                                        "phone": "+12135550134"}),
        ("employer.contact_update", {"title": "HR Manager", "phone": "+12135550134"},
         {"title": "Plant Manager", "phone": None}),
        ("employer.contact_remove", {"name": "Ana Ruiz", "title": "Plant Manager", "email": "ana@acme.com",
                                     "phone": None}, None)]


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"name": "Ana R.", "email": "ana@ACME.com"}, "email", "ana@acme.com is already Ana Ruiz's e-mail"),
    ({"name": "ana ruiz"}, "name", "Ana Ruiz is already a contact of this employer"),
    ({"name": "   "}, "name", "is required"),
    ({"name": "Bo Diaz", "email": "bo@acme"}, "email", "'bo@acme' is not a valid e-mail address"),
    ({"name": "Bo Diaz", "phone": "12"}, "phone", "'12' is not a valid phone number"),
])
async def test_a_second_record_of_a_person_or_bad_details_are_refused_naming_the_field(client, world, db, body,
                                                                                     field, message):
    employer = await world.f.employer("Acme Tooling Inc")
    spoc = await world.f.auth(world.users["spoc"])
    url = f"/api/employers/{employer.id}/contacts"
    assert (await client.post(url, headers=spoc, json={"name": "Ana Ruiz", "email": "ana@acme.com"})).status_code == 201
    r = await client.post(url, headers=spoc, json=body)
    assert r.status_code == 422, r.text
    [wrong] = r.json()["error"]["fields"]
    assert wrong["field"] == field and wrong["message"].startswith(message), wrong
    assert len(await _people(db, employer.id)) == 1


async def test_correcting_a_contact_into_another_ones_email_is_refused(client, world, db):
    employer = await world.f.employer("Acme Tooling Inc")
    spoc = await world.f.auth(world.users["spoc"])
    url = f"/api/employers/{employer.id}/contacts"
    await client.post(url, headers=spoc, json={"name": "Ana Ruiz", "email": "ana@acme.com"})
    bo = (await client.post(url, headers=spoc, json={"name": "Bo Diaz", "email": "bo@acme.com"})).json()
    r = await client.patch(f"{url}/{bo['id']}", headers=spoc, json={"email": "ANA@acme.com"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "email", r.text
    # Correcting a person's own name or e-mail is no second record.
    r = await client.patch(f"{url}/{bo['id']}", headers=spoc, json={"name": "Bo Díaz", "email": "bo@acme.com"})
    assert r.status_code == 200, r.text
    assert await _people(db, employer.id) == [("Ana Ruiz", None, "ana@acme.com", None),
                                              ("Bo Díaz", None, "bo@acme.com", None)]


async def test_a_person_met_on_a_touch_is_not_removed_the_history_stays(client, world, db, desk):
    employer = await world.f.employer("Acme Tooling Inc")
    contact = await desk.contact(employer, "Dana Owner")
    touch = await desk.touch(employer, world.users["spoc"])
    await desk.met_on(touch, contact)
    r = await client.delete(f"/api/employers/{employer.id}/contacts/{contact.id}",
                            headers=await world.f.auth(world.users["spoc"]))
    assert r.status_code == 409, r.text
    assert "Dana Owner was met on 1 touch: removing them would erase that record" in r.json()["error"]["message"]
    assert await _people(db, employer.id) == [("Dana Owner", None, None, None)]


async def test_only_staff_of_the_employers_region_change_its_people(client, world, db, desk):
    employer = await world.f.employer("Acme Tooling Inc")
    contact = await desk.contact(employer, "Dana Owner")
    other = await world.f.employer("Other Works Inc")
    url = f"/api/employers/{employer.id}/contacts"
    for who in ("partner", "chair", "bay_spoc", "bay_lead"):
        headers = await world.f.auth(world.users[who])
        assert (await client.post(url, headers=headers, json={"name": "Eve"})).status_code == 403, who
        assert (await client.patch(f"{url}/{contact.id}", headers=headers, json={"name": "Eve"})).status_code == 403
        assert (await client.delete(f"{url}/{contact.id}", headers=headers)).status_code == 403, who
    # A contact of another employer is not this one's: 404, nothing changed.
    spoc = await world.f.auth(world.users["spoc"])
    r = await client.patch(f"/api/employers/{other.id}/contacts/{contact.id}", headers=spoc, json={"name": "Eve"})
    assert r.status_code == 404, r.text
    assert (await client.delete(f"/api/employers/{other.id}/contacts/{contact.id}", headers=spoc)).status_code == 404
    assert (await client.post("/api/employers/999999/contacts", headers=spoc, json={"name": "Eve"})).status_code == 404
    assert await _people(db, employer.id) == [("Dana Owner", None, None, None)]
    assert await db.scalar(select(func.count(AuditEvent.id))) == 0
    lead = await world.f.auth(world.users["lead"])
    assert (await client.post(url, headers=lead, json={"name": "Eve"})).status_code == 201


async def test_one_post_creating_an_employer_refuses_the_same_person_twice(client, world, db):
    r = await client.post("/api/employers", headers=await world.f.auth(world.users["spoc"]), json={
        "legal_name": "Acme Corporation", "county": "Los Angeles",
        "contacts": [{"name": "Ana Ruiz", "email": "ana@acme.com"}, {"name": "A. Ruiz", "email": "ANA@acme.com"}]})
    assert r.status_code == 422, r.text
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["contacts[1].email"]


async def test_a_corrected_contact_is_corrected_on_the_council_seats_that_still_read_as_it_did(client, world, db):
    from crm.councils.models import CouncilMember

    employer = await world.f.employer("Acme Tooling Inc")
    spoc, lead = await world.f.auth(world.users["spoc"]), await world.f.auth(world.users["lead"])
    ana = (await client.post(f"/api/employers/{employer.id}/contacts", headers=spoc, json={
        "name": "Ana Ruiz", "title": "HR Manager", "email": "ana@acme.com"})).json()
    seats = []
    for council_name, title in (("Manufacturing Advisory", "HR Manager"), ("Welding Advisory", "Co-chair")):
        council = (await client.post("/api/councils", headers=lead, json={
            "name": council_name, "owner_organization_id": world.orgs["board"].id, "region": "LA-BASIN"})).json()
        r = await client.post(f"/api/councils/{council['id']}/members", headers=lead, json={
            "name": "Ana Ruiz", "title": title, "email": "ana@acme.com", "member_type": "industry",
            "employer_id": employer.id, "employer_contact_id": ana["id"]})
        assert r.status_code == 201, r.text
        seats.append(r.json()["id"])
    r = await client.patch(f"/api/employers/{employer.id}/contacts/{ana['id']}", headers=spoc,
                           json={"name": "Ana Ruiz-Diaz", "title": "Plant Manager", "email": "ana.ruiz@acme.com"})
    assert r.status_code == 200, r.text
    await db.rollback()
    rows = {m.id: (m.name, m.title, m.email) for m in await db.scalars(
        select(CouncilMember).where(CouncilMember.id.in_(seats)).execution_options(populate_existing=True))}
    # The seat that read as the contact did follows it; the one given its own title keeps that title.
    assert rows == {seats[0]: ("Ana Ruiz-Diaz", "Plant Manager", "ana.ruiz@acme.com"),
                    seats[1]: ("Ana Ruiz-Diaz", "Co-chair", "ana.ruiz@acme.com")}
    updates = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "council.member_update")
                                .order_by(AuditEvent.entity_id))).all()
    assert [(e.entity_id, e.after) for e in updates] == [
        (seats[0], {"name": "Ana Ruiz-Diaz", "title": "Plant Manager", "email": "ana.ruiz@acme.com"}),
        (seats[1], {"name": "Ana Ruiz-Diaz", "email": "ana.ruiz@acme.com"})]
