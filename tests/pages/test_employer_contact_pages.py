"""The employer page's contacts: its region's staff add, correct and remove the employer's people in place
(htmx) or without JavaScript; refusals said beside the field, the rest of the page untouched; others see no
forms and are refused."""

from sqlalchemy import select

from crm.employers.models import EmployerContact
from tests.a11y import tied_errors
from tests.factories import csrf, login

HTMX = {"HX-Request": "true"}


async def _people(db, employer_id):
    await db.rollback()  # read what the app committed
    return [(c.name, c.title, c.email, c.phone) for c in await db.scalars(
        select(EmployerContact).where(EmployerContact.employer_id == employer_id).order_by(EmployerContact.id))]


async def test_a_spoc_adds_corrects_and_removes_a_person_in_place(client, world, db):
    e = await world.f.employer("Valley Harvest Foods")
    await login(client, world.users["spoc"].email)
    page = (await client.get(f"/employers/{e.id}")).text
    assert "No contacts recorded." in page and f'hx-post="/employers/{e.id}/contacts"' in page
    r = await client.post(f"/employers/{e.id}/contacts", headers={**csrf(client), **HTMX},
                          data={"name": "Ana Ruiz", "title": "HR Manager", "email": "ana@vhf.com",
                                "phone": "213 555 0134"})
    assert r.status_code == 200, r.text
    assert r.text.lstrip().startswith('<div id="contacts">')  # only the block, the rest of the page is kept
    assert "Ana Ruiz added to the contacts" in r.text and "(213) 555-0134" in r.text
    [contact_id] = [c.id for c in await db.scalars(select(EmployerContact).where(EmployerContact.employer_id == e.id))]
    r = await client.post(f"/employers/{e.id}/contacts/{contact_id}", headers={**csrf(client), **HTMX},
                          data={"name": "Ana Ruiz", "title": "Plant Manager", "email": "ana@vhf.com", "phone": ""})
    assert r.status_code == 200 and "Ana Ruiz&#39;s details saved" in r.text, r.text
    assert await _people(db, e.id) == [("Ana Ruiz", "Plant Manager", "ana@vhf.com", None)]
    r = await client.post(f"/employers/{e.id}/contacts/{contact_id}/remove", headers={**csrf(client), **HTMX})
    assert r.status_code == 200 and "Ana Ruiz removed from the contacts" in r.text and "No contacts recorded." in r.text
    assert await _people(db, e.id) == []
    page = (await client.get(f"/employers/{e.id}")).text
    assert "Contact added" in page and "Contact details changed" in page and "Contact removed" in page  # audit trail


async def test_a_refused_person_comes_back_open_with_what_was_typed_and_the_problem_beside_its_field(client, world,
                                                                                                    db, desk):
    e = await world.f.employer("Valley Harvest Foods")
    await desk.contact(e, "Ana Ruiz")
    await login(client, world.users["spoc"].email)
    r = await client.post(f"/employers/{e.id}/contacts", headers={**csrf(client), **HTMX},
                          data={"name": "ana ruiz", "title": "Owner", "email": "", "phone": ""})
    assert r.status_code == 422, r.text
    assert '<details class="contact-add" open>' in r.text and 'value="Owner"' in r.text
    assert tied_errors(r.text) == {"name": "Ana Ruiz is already a contact of this employer (give an e-mail to tell "
                                           "them apart)"}
    r = await client.post(f"/employers/{e.id}/contacts", headers={**csrf(client), **HTMX},
                          data={"name": "Bo Diaz", "email": "bo@", "phone": "12"})
    assert set(tied_errors(r.text)) == {"email", "phone"}, r.text
    assert await _people(db, e.id) == [("Ana Ruiz", None, None, None)]


async def test_a_person_met_on_a_touch_is_kept_and_the_refusal_said_in_their_form(client, world, db, desk):
    e = await world.f.employer("Valley Harvest Foods")
    contact = await desk.contact(e, "Dana Owner")
    touch = await desk.touch(e, world.users["spoc"])
    await desk.met_on(touch, contact)
    await login(client, world.users["spoc"].email)
    r = await client.post(f"/employers/{e.id}/contacts/{contact.id}/remove", headers={**csrf(client), **HTMX})
    assert r.status_code == 409, r.text
    assert '<details class="contact-edit" open>' in r.text and "Dana Owner was met on 1 touch" in r.text
    assert await _people(db, e.id) == [("Dana Owner", None, None, None)]


async def test_without_javascript_a_change_returns_to_the_employer_page_saying_it(client, world, db):
    e = await world.f.employer("Valley Harvest Foods")
    await login(client, world.users["lead"].email)
    r = await client.post(f"/employers/{e.id}/contacts", headers=csrf(client), follow_redirects=False,
                          data={"name": "Ana Ruiz"})
    assert r.status_code == 303 and r.headers["location"] == f"/employers/{e.id}#contacts"
    assert "Ana Ruiz added to the contacts" in (await client.get(f"/employers/{e.id}")).text
    r = await client.post(f"/employers/{e.id}/contacts", headers=csrf(client), data={"name": ""})
    assert r.status_code == 422 and "<html" in r.text and tied_errors(r.text) == {"name": "is required"}


async def test_partners_chairs_and_other_regions_get_no_forms_and_are_refused(client, world, db, desk):
    e = await world.f.employer("Valley Harvest Foods")
    contact = await desk.contact(e, "Dana Owner")
    for who in ("partner", "bay_spoc", "chair"):
        await login(client, world.users[who].email)
        page = await client.get(f"/employers/{e.id}")
        if page.status_code == 200:
            assert "Add a person" not in page.text and f"/contacts/{contact.id}/remove" not in page.text, who
        for url, data in ((f"/employers/{e.id}/contacts", {"name": "Eve"}),
                          (f"/employers/{e.id}/contacts/{contact.id}", {"name": "Eve"}),
                          (f"/employers/{e.id}/contacts/{contact.id}/remove", {})):
            r = await client.post(url, headers=csrf(client), data=data)
            assert r.status_code == 403, (who, url, r.status_code)
        await client.post("/logout", headers=csrf(client))
    assert await _people(db, e.id) == [("Dana Owner", None, None, None)]

