"""The employer edit form: its region's SPOCs and leads correct the record and verify a provisional employer
(SPEC §2), every change audited; bad input said at its field, a stale form refused, everyone else turned away."""

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEvent
from crm.employers.models import Employer
from tests.a11y import tied_errors
from tests.factories import csrf, login, said_beside, seen_in

# What a browser posts from the edit form of an employer as the factory makes it (Los Angeles county).
FORM = {"legal_name": "Valley Harvest Foods", "dba": "", "website": "", "fein": "", "phone": "", "naics_code": "",
        "size_band": "", "address_line": "", "city": "", "zip": "", "county": "Los Angeles", "region": "",
        "notes": ""}


async def _stored(db, employer_id: int) -> Employer:
    await db.rollback()  # read what the app committed
    return await db.get(Employer, employer_id, populate_existing=True)


async def _edit(client, employer_id: int, **fields: str):
    """Post the edit form as its page shows it now, with ``fields`` typed over it."""
    url = f"/employers/{employer_id}/edit"
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return await client.post(url, headers=csrf(client), follow_redirects=False,
                             data={**FORM, "seen": seen_in(page.text), **fields})


async def test_a_spoc_of_the_region_corrects_the_employer_and_the_change_is_saved_and_audited(client, world, db):
    e = await world.f.employer("Valley Harvest Foods")
    await login(client, world.users["spoc"].email)
    page = (await client.get(f"/employers/{e.id}")).text
    assert f'href="/employers/{e.id}/edit"' in page  # reachable from the employer page
    r = await _edit(client, e.id, dba="Valley Harvest", website="https://www.valleyharvest.com/",
                    fein="12-3456789", phone="(213) 555-0100", naics_code="311421", size_band="50-249",
                    address_line="100 Main St", city="Los Angeles", zip="90012", do_not_contact="yes",
                    notes="Prefers e-mail")
    assert r.status_code == 303 and r.headers["location"] == f"/employers/{e.id}"
    saved = await _stored(db, e.id)
    assert (saved.dba, saved.domain, saved.fein, saved.naics_code, saved.sector_code, saved.size_band,
            saved.zip, saved.city, saved.do_not_contact, saved.notes) == (
        "Valley Harvest", "valleyharvest.com", "12-3456789", "311421", "31-33", "50-249", "90012", "Los Angeles",
        True, "Prefers e-mail")
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "employer.update",
                                                     AuditEvent.employer_id == e.id))
    assert event.actor_id == world.users["spoc"].id
    assert event.before["dba"] is None and event.after["dba"] == "Valley Harvest" and event.after["do_not_contact"]
    assert "legal_name" not in event.after  # only what changed
    page = (await client.get(f"/employers/{e.id}")).text
    assert "Valley Harvest Foods saved" in page and "valleyharvest.com" in page and "Prefers e-mail" in page
    assert "Employer details changed" in page  # in the audit trail
    # Unticking do-not-contact is a change too (an unticked box is posted as nothing).
    assert (await _edit(client, e.id, dba="Valley Harvest")).status_code == 303
    assert (await _stored(db, e.id)).do_not_contact is False


async def test_verifying_a_provisional_employer_makes_it_active_for_partners_too(client, world, db):
    e = await world.f.employer("Valley Harvest Foods", status="provisional")
    await login(client, world.users["partner"].email)
    assert "status-provisional" in (await client.get(f"/employers/{e.id}")).text
    await login(client, world.users["spoc"].email)
    page = (await client.get(f"/employers/{e.id}/edit")).text
    assert 'name="verified"' in page and "Verified: this is a real employer" in page
    r = await _edit(client, e.id, verified="yes", city="Pasadena")
    assert r.status_code == 303
    saved = await _stored(db, e.id)
    assert (saved.status, saved.city) == ("active", "Pasadena")
    event = await db.scalar(select(AuditEvent).where(AuditEvent.employer_id == e.id))
    assert event.action == "employer.verify" and (event.before["status"], event.after["status"]) == (
        "provisional", "active")
    await login(client, world.users["partner"].email)
    page = (await client.get(f"/employers/{e.id}")).text
    assert "status-active" in page and "provisional" not in page
    listed = (await client.get("/employers/?q=Valley")).text
    assert "Valley Harvest Foods" in listed and "status-provisional" not in listed


async def test_the_employer_pages_verify_button_verifies_it(client, world, db):
    e = await world.f.employer("Valley Harvest Foods", status="provisional")
    await login(client, world.users["lead"].email)
    page = (await client.get(f"/employers/{e.id}")).text
    assert f'action="/employers/{e.id}/verify"' in page
    r = await client.post(f"/employers/{e.id}/verify", headers=csrf(client), follow_redirects=False)
    assert r.status_code == 303
    assert (await _stored(db, e.id)).status == "active"
    page = (await client.get(f"/employers/{e.id}")).text
    assert "verified: it is no longer provisional" in page and f'action="/employers/{e.id}/verify"' not in page
    assert "Verified as a real employer" in page  # the audit trail says it


async def test_bad_input_is_said_at_each_field_with_the_input_kept_and_nothing_saved(client, world, db):
    e = await world.f.employer("Valley Harvest Foods", status="provisional")
    await login(client, world.users["spoc"].email)
    r = await _edit(client, e.id, zip="9001", county="Atlantis", fein="12-34", naics_code="9x", verified="yes",
                    city="Pasadena", legal_name="")
    assert r.status_code == 422, r.text
    tied = tied_errors(r.text)
    assert set(tied) == {"zip", "county", "fein", "naics_code", "legal_name"}
    assert "'9001' is not a ZIP code" in tied["zip"] and said_beside(r.text, "zip", "is not a ZIP code")
    assert "unknown California county 'Atlantis'" in tied["county"]
    assert tied["legal_name"] == "is required"
    assert 'value="Pasadena"' in r.text and 'value="12-34"' in r.text  # what was typed stays
    assert 'name="verified" value="yes" checked' in r.text
    saved = await _stored(db, e.id)
    assert (saved.status, saved.city, saved.zip) == ("provisional", None, None)
    assert await db.scalar(select(AuditEvent).where(AuditEvent.employer_id == e.id)) is None


@pytest.mark.parametrize("who", ["partner", "chair", "bay_spoc"])
async def test_partners_chairs_and_another_regions_spoc_may_not_edit(client, world, db, who):
    e = await world.f.employer("Valley Harvest Foods", status="provisional")
    await login(client, world.users[who].email)
    page = await client.get(f"/employers/{e.id}")
    assert page.status_code in (200, 403) and f"/employers/{e.id}/edit" not in page.text
    assert (await client.get(f"/employers/{e.id}/edit")).status_code == 403
    for action in ("edit", "verify"):
        r = await client.post(f"/employers/{e.id}/{action}", headers=csrf(client), follow_redirects=False,
                              data={**FORM, "verified": "yes", "city": "Pasadena"})
        assert r.status_code == 403, (action, r.text)
    saved = await _stored(db, e.id)
    assert (saved.status, saved.city) == ("provisional", None)


async def test_saving_from_a_form_older_than_anothers_save_is_refused_naming_the_change(client, world, db):
    e = await world.f.employer("Valley Harvest Foods")
    url = f"/employers/{e.id}/edit"
    await login(client, world.users["lead"].email)
    lead_saw = seen_in((await client.get(url)).text)  # the lead's form stays open
    await login(client, world.users["spoc"].email)
    assert (await _edit(client, e.id, zip="90012", city="Los Angeles")).status_code == 303
    # The lead fixes the phone from the older form, whose ZIP and city were still blank: it would blank them.
    await login(client, world.users["lead"].email)
    r = await client.post(url, headers=csrf(client), data={**FORM, "phone": "(213) 555-0100", "seen": lead_saw})
    assert r.status_code == 409, r.text
    assert "Valley Harvest Foods was changed meanwhile by Maria Lopez" in r.text and "nothing was saved" in r.text
    assert "Saved now:" in r.text and "90012" in r.text
    assert 'value="(213) 555-0100"' in r.text  # the lead's entry stays
    saved = await _stored(db, e.id)
    assert (saved.zip, saved.phone) == ("90012", None)
    # Saving again from the refusal's form (which shows what is saved now) is deliberate and goes through.
    r = await client.post(url, headers=csrf(client), follow_redirects=False, data={
        **FORM, "zip": "90012", "city": "Los Angeles", "phone": "(213) 555-0100", "seen": seen_in(r.text)})
    assert r.status_code == 303
    assert (await _stored(db, e.id)).phone is not None
