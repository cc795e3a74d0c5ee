"""Server-rendered pages: sign-in, role homes, CSRF, live search partials, forms with errors."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm.directory.models import Organization
from crm.employers.models import Employer, SpocAssignment
from tests.a11y import assert_selects_tied, attrs_of, scroll_region, tied_errors
from tests.factories import csrf, login, today


@pytest.mark.parametrize(("who", "lands_on"), [("admin", "/admin"), ("lead", "/queue"), ("spoc", "/queue"),
                                                ("partner", "/"), ("chair", "/chair")])
async def test_each_role_lands_on_its_home_page(client, world, who, lands_on):
    await login(client, world.users[who].email)
    r = await client.get("/", follow_redirects=False)
    if lands_on == "/":
        assert r.status_code == 200
    else:
        assert r.status_code == 302 and r.headers["location"] == lands_on


async def test_anonymous_page_request_redirects_to_login_with_next(client):
    r = await client.get("/employers?q=acme", follow_redirects=False)
    assert r.status_code == 302
    assert r.headers["location"].startswith("/login?next=/employers")


async def test_an_expired_session_sends_an_htmx_action_back_to_the_page_it_came_from(client, world):
    # The action's own URL answers no GET: after sign-in the user lands where they were.
    await client.get("/login")  # the CSRF cookie outlives the session
    r = await client.post("/queue/touches/35/cancel", data={"reason": "x"}, follow_redirects=False,
                          headers={"HX-Request": "true", "HX-Current-URL": "http://testserver.local/queue?q=Turner",
                                   **csrf(client)})
    assert r.status_code == 204 and r.headers["HX-Redirect"] == "/login?next=/queue%3Fq%3DTurner"
    r = await client.get("/queue/touches/35/forms/cancel", follow_redirects=False,
                         headers={"HX-Request": "true", "HX-Current-URL": "http://testserver.local/queue"})
    assert r.status_code == 204 and r.headers["HX-Redirect"] == "/login?next=/queue"
    off_site = await client.get("/queue/touches/35/forms/cancel", follow_redirects=False,
                                headers={"HX-Request": "true", "HX-Current-URL": "http://evil.example/queue"})
    assert off_site.headers["HX-Redirect"] == "/login?next=/"
    for header in ("HX-Current-URL", "Referer"):  # an address that does not parse: no 500, back to the start
        r = await client.get("/employers", follow_redirects=False, headers={"HX-Request": "true", header: "http://[::1/"})
        assert r.status_code == 204 and r.headers["HX-Redirect"] == "/login?next=/", header


async def test_a_session_whose_cookies_are_gone_says_to_sign_in_again_not_csrf(client, world):
    # Both cookies gone (expired, cleared): the page's CSRF token matches no cookie. Nobody is signed in, so
    # the refusal says to sign in again, back to the page the user was on -- the htmx action and a plain form.
    await login(client, world.users["partner"].email)
    await client.get("/requests")
    token = client.cookies.get("csrftoken")
    client.cookies.clear()
    htmx = await client.post("/hand-offs/1/accept", data={"note": "we can help"}, follow_redirects=False, headers={
        "HX-Request": "true", "HX-Current-URL": "http://testserver.local/requests?page=2", "x-csrftoken": token})
    assert htmx.headers["HX-Retarget"] == "#htmx-error" and "CSRF" not in htmx.text
    assert ('You have been signed out — <a href="/login?next=/requests%3Fpage%3D2">sign in again</a>.'
            in htmx.text), htmx.text
    plain = await client.post("/hand-offs/1/accept", data={"note": "x", "_csrf_token": token},
                              follow_redirects=False, headers={"Referer": "http://testserver.local/requests"})
    assert "<h1>Signed out</h1>" in plain.text and "CSRF" not in plain.text
    assert 'You have been signed out — <a href="/login?next=/requests">sign in again</a>.' in plain.text
    # The page's own call to the JSON API is not signed in either (401), and never hears of CSRF.
    api = await client.post("/api/hand-offs/1/accept", json={}, headers={"x-csrftoken": token})
    assert api.status_code == 401 and "CSRF" not in api.text, api.text
    # The sign-in form posted after its cookie went: back to that form, its next kept.
    again = await client.post("/login", data={"email": "x@example.org", "password": "y", "_csrf_token": token},
                              headers={"Referer": "http://testserver.local/login?next=/requests"})
    assert '<a href="/login?next=/requests">sign in again</a>' in again.text


async def test_a_signed_in_users_form_that_matches_no_cookie_is_refused_as_out_of_date(client, world):
    await login(client, world.users["partner"].email)
    r = await client.post("/hand-offs/1/accept", data={"note": "x"}, headers={"HX-Request": "true"})
    assert r.status_code == 403 and "This page is out of date" in r.text and "Reload the page" in r.text
    assert "CSRF" not in r.text and "signed out" not in r.text
    plain = await client.post("/logout", follow_redirects=False)
    assert plain.status_code == 403 and "This page is out of date" in plain.text and "Signed out" not in plain.text
    # The page's own JSON API call keeps Litestar's words.
    api = await client.post("/api/hand-offs/1/accept", json={})
    assert api.status_code == 403 and "CSRF token verification failed" in api.text


async def test_the_csrf_cookie_lasts_as_long_as_a_session_may(client, world):
    """Not only until the browser closes: the session cookie outlives a restart, and pages restored then sent
    forms whose token matched no cookie."""
    page = await client.get("/login")
    cookie = next(v for k, v in page.headers.multi_items() if k == "set-cookie" and v.startswith("csrftoken="))
    assert f"Max-Age={8 * 3600}" in cookie


async def test_pages_link_an_icon_that_is_served(client):
    page = await client.get("/login")
    assert '<link rel="icon" href="/static/favicon.svg"' in page.text
    icon = await client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")


async def test_wrong_password_rerenders_login_with_message(client, world):
    await client.get("/login")
    r = await client.post("/login", data={"email": "lead@example.org", "password": "nope",
                                          "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 401 and "Wrong e-mail or password" in r.text


async def test_post_without_csrf_token_is_refused(client, world):
    await login(client, world.users["lead"].email)
    r = await client.post("/logout", follow_redirects=False)
    assert r.status_code == 403


async def test_login_does_not_redirect_off_site(client, world):
    await client.get("/login")
    r = await client.post("/login", data={"email": "lead@example.org", "password": "correct horse battery",
                                          "next": "//evil.example/x", "_csrf_token": client.cookies.get("csrftoken")},
                          follow_redirects=False)
    assert r.headers["location"] == "/"


async def test_live_search_returns_only_the_results_partial_for_htmx(client, world):
    golden = await world.f.employer("Golden State Logistics LLC")
    await world.f.employer("Blue Ocean Seafood Co")
    await login(client, world.users["partner"].email)
    full = await client.get("/employers", params={"q": "golden"})
    assert "<html" in full.text and "Golden State Logistics" in full.text
    part = await client.get("/employers", params={"q": "golden"}, headers={"HX-Request": "true"})
    assert "<html" not in part.text and "Golden State Logistics" in part.text and "Blue Ocean" not in part.text
    by_number = await client.get("/employers", params={"q": f"#{golden.id}"}, headers={"HX-Request": "true"})
    # "#id", as the search box suggests
    assert "Golden State Logistics" in by_number.text and "Blue Ocean" not in by_number.text
    # On a phone each employer is a card: its region and SPOC in view, not beyond a sideways scroll.
    assert '<table class="grid stack" id="employers">' in part.text
    assert '<td data-label="Region">LA-BASIN</td>' in part.text and '<td data-label="SPOC">' in part.text


async def test_employer_pages_show_phones_as_written_and_sectors_by_name(client, world):
    e = await world.f.employer("Sunrise Family Dental", phone="+13105550142", naics_code="621210")
    uk = await world.f.employer("Thames Tooling", phone="+442079460958", naics_code="332999")
    await login(client, world.users["partner"].email)
    page = (await client.get(f"/employers/{e.id}")).text
    assert '<a href="tel:+13105550142">(310) 555-0142</a>' in page
    assert "Health Care and Social Assistance (sector 62)" in page
    listing = (await client.get("/employers", params={"q": "thames"})).text
    assert ">Manufacturing</span>" in listing and "31-33</td>" not in listing
    assert ">+44 20 7946 0958</a>" in (await client.get(f"/employers/{uk.id}")).text


async def test_lead_assigns_spoc_from_the_employer_page_and_sees_it_with_audit(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    await login(client, world.users["lead"].email)
    page = await client.get(f"/employers/{e.id}")
    assert "Assign SPOC in Los Angeles Basin" in page.text
    r = await client.post(f"/employers/{e.id}/assign", data={
        "region": "LA-BASIN", "spoc_id": str(world.users["spoc"].id), "reason": "manufacturing specialist",
        "replaces_assignment_id": "", "_csrf_token": client.cookies.get("csrftoken")}, follow_redirects=True)
    assert r.status_code == 200
    assert "Maria Lopez" in r.text and "manufacturing specialist" in r.text
    trail = r.text.split('id="audit"', 1)[1]
    assert '<span title="spoc.assign">SPOC assigned</span>' in trail and "None" not in trail
    # Ids read as what they point at: the SPOC by name, the region by code; never "spoc id: 7".
    assert "SPOC: Maria Lopez" in trail and "region: LA-BASIN" in trail and " id: " not in trail
    assert await db.scalar(select(func.count(SpocAssignment.id))) == 1


async def test_the_audit_trail_shows_a_regions_touches_requests_and_hand_offs_to_its_own_staff_only(client, world):
    """Each kind of a region's work, by the region of what it is about: its staff see it, another's do not."""
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    partner = await world.f.auth(world.users["partner"])
    r = await client.post("/api/touch-requests", headers=partner, json={
        "employer_id": e.id, "region": "LA-BASIN", "purpose": "hiring", "summary": "two hygienists",
        "window_start": today().isoformat(), "window_end": (today() + dt.timedelta(days=30)).isoformat()})
    assert r.status_code == 201, r.text
    touch_id = r.json()["touch_id"]
    r = await client.post(f"/api/touches/{touch_id}/complete", headers=await world.f.auth(world.users["spoc"]),
                          json={"channel": "call", "outcomes": [{"request_id": r.json()["id"], "outcome": "referred"}],
                                "hand_offs": [{"to_org_id": world.orgs["college"].id, "need": "x-ray course"}]})
    assert r.status_code == 200, r.text
    kinds = ('title="touch.create"', 'title="touch_request.create"', 'title="touch.complete"',
             'title="hand_off.create"')
    await login(client, world.users["spoc2"].email)  # LA-BASIN
    trail = (await client.get(f"/employers/{e.id}")).text.split('id="audit"', 1)[1]
    assert all(k in trail for k in kinds), trail
    await login(client, world.users["bay_spoc"].email)
    trail = (await client.get(f"/employers/{e.id}")).text.split('id="audit"', 1)[1]
    assert not any(k in trail for k in kinds) and "No changes recorded" in trail


async def test_the_audit_trail_keeps_a_regions_reasons_from_another_regions_staff(client, world):
    """The timeline's rule: staff of another region see that work happened there, not its notes."""
    e = await world.f.employer("Sunrise Family Dental")
    lead = await world.f.auth(world.users["lead"])
    r = await client.post(f"/api/employers/{e.id}/spoc-assignments", headers=lead, json={
        "region": "LA-BASIN", "spoc_id": world.users["spoc"].id, "reason": "owner asked for Maria"})
    assert r.status_code == 201, r.text
    r = await client.patch(f"/api/employers/{e.id}", headers=lead, json={"dba": "Sunrise Dental"})
    assert r.status_code == 200
    await login(client, world.users["bay_spoc"].email)
    trail = (await client.get(f"/employers/{e.id}")).text.split('id="audit"', 1)[1]
    assert "Sunrise Dental" in trail  # the employer's own record: any region's staff
    assert "spoc.assign" not in trail and "owner asked for Maria" not in trail
    await login(client, world.users["spoc2"].email)
    trail = (await client.get(f"/employers/{e.id}")).text.split('id="audit"', 1)[1]
    assert '<span title="spoc.assign">' in trail
    # The lead's reason is a note between staff: a partner sees who the SPOC is and since when.
    await login(client, world.users["partner"].email)
    page = (await client.get(f"/employers/{e.id}")).text
    assert "Maria Lopez" in page and "owner asked for Maria" not in page
    listed = f"/api/employers/{e.id}/spoc-assignments"
    partner = await world.f.auth(world.users["partner"])
    assert (await client.get(listed, headers=partner)).json()["items"][0]["reason"] is None
    assert (await client.get(listed, headers=lead)).json()["items"][0]["reason"] == "owner asked for Maria"
    # And stays in its region: a Bay Area SPOC sees the assignment, not the LA lead's reason.
    bay = await world.f.auth(world.users["bay_spoc"])
    assert (await client.get(listed, headers=bay)).json()["items"][0]["reason"] is None
    await login(client, world.users["bay_spoc"].email)
    assert "owner asked for Maria" not in (await client.get(f"/employers/{e.id}")).text


async def test_assign_form_shows_field_error_in_place_for_htmx(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    await login(client, world.users["lead"].email)
    await client.get(f"/employers/{e.id}")
    r = await client.post(f"/employers/{e.id}/assign", headers={"HX-Request": "true", **csrf(client)},
                          data={"region": "LA-BASIN", "spoc_id": str(world.users["bay_spoc"].id)})
    assert r.status_code == 422
    assert "<html" not in r.text and "not an active SPOC or lead in this region" in r.text
    assert "not an active SPOC or lead in this region" in tied_errors(r.text)["spoc_id"]
    spoc = attrs_of(r.text, "select", name="spoc_id")
    assert spoc["aria-invalid"] == "true" and spoc["aria-describedby"] == "assign-LA-BASIN-spoc_id-error"
    r = await client.post(f"/employers/{e.id}/assign", headers={"HX-Request": "true", **csrf(client)}, data={
        "region": "LA-BASIN", "spoc_id": str(world.users["spoc"].id),
        "reason": "x" * 2001})
    assert r.status_code == 422 and "reason" in tied_errors(r.text)
    assert attrs_of(r.text, "input", name="reason")["aria-describedby"] == "assign-LA-BASIN-reason-error"
    r = await client.post(f"/employers/{e.id}/assign", headers={"HX-Request": "true", **csrf(client)}, data={
        "region": "LA-BASIN", "spoc_id": str(world.users["spoc"].id), "backup_spoc_id": str(world.users["spoc"].id)})
    assert r.status_code == 422 and "backup_spoc_id" in tied_errors(r.text), r.text[-2000:]
    backup = attrs_of(r.text, "select", name="backup_spoc_id")
    assert backup["aria-describedby"] == "assign-LA-BASIN-backup_spoc_id-error"
    assert await db.scalar(select(func.count(SpocAssignment.id))) == 0


async def test_a_refused_assign_form_keeps_the_spoc_backup_and_reason_chosen(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    spoc, backup = world.users["spoc"], world.users["spoc2"]
    await login(client, world.users["lead"].email)
    await client.get(f"/employers/{e.id}")
    r = await client.post(f"/employers/{e.id}/assign", headers={"HX-Request": "true", **csrf(client)}, data={
        "region": "LA-BASIN", "spoc_id": str(spoc.id), "backup_spoc_id": str(backup.id),
        "reason": "x" * 2001})  # one character too many
    assert r.status_code == 422 and 'role="alert"' in r.text
    spoc_select, backup_select = r.text.split('name="spoc_id"', 1)[1], r.text.split('name="backup_spoc_id"', 1)[1]
    assert f'<option value="{spoc.id}" selected>' in spoc_select.split("</select>", 1)[0]
    assert f'<option value="{backup.id}" selected>' in backup_select.split("</select>", 1)[0]
    assert 'value="' + "x" * 2001 + '"' in r.text
    assert await db.scalar(select(func.count(SpocAssignment.id))) == 0


async def test_spoc_page_has_no_assign_form(client, world):
    e = await world.f.employer("Sunrise Family Dental")
    await login(client, world.users["spoc"].email)
    assert "Assign SPOC" not in (await client.get(f"/employers/{e.id}")).text


async def test_create_employer_form_rerenders_with_field_errors_and_writes_nothing(client, world, db):
    await login(client, world.users["spoc"].email)
    await client.get("/employers/new")
    r = await client.post("/employers/new", data={"legal_name": "Acme", "fein": "00-0000000",
                                                  "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 422 and 'value="Acme"' in r.text and "FEIN" in r.text
    r = await client.post("/employers/new", data={"legal_name": "Acme", "size_band": "huge", "county": "Atlantis",
                                                  "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 422
    assert_selects_tied(r.text, ("size_band", "county"))
    assert await db.scalar(select(func.count(Employer.id))) == 0
    r = await client.post("/employers/new", data={"legal_name": "Acme Tools", "county": "Los Angeles",
                                                  "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 200 and "Created Acme Tools" in r.text


@pytest.mark.parametrize(("data", "field", "said"), [
    ({"legal_name": "Acme", "naics_code": "x"}, "naics_code", "must be 2 to 6 digits"),
    ({"legal_name": "A" * 201}, "legal_name", "at most 200 characters"),
])
async def test_a_value_the_schema_refuses_is_shown_under_its_field_in_words(client, world, db, data, field, said):
    await login(client, world.users["spoc"].email)
    await client.get("/employers/new")
    r = await client.post("/employers/new", data={**data, "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 422
    label = r.text.split(f'name="{field}"', 1)[1].split("</label>", 1)[0]
    assert f'<small class="error" role="alert" id="{field}-error">{said}</small>' in label and "regex" not in r.text
    # Screen readers hear it as the field's description, and that the value is not accepted.
    assert f'aria-invalid="true" aria-describedby="{field}-error"' in label
    assert await db.scalar(select(func.count(Employer.id))) == 0


@pytest.mark.parametrize("path", ["/employers", "/admin", "/admin/users"])
async def test_chair_is_refused_crm_pages(client, world, path):
    await login(client, world.users["chair"].email)
    assert (await client.get(path)).status_code == 403


async def test_a_refused_or_missing_page_keeps_the_users_navigation(client, world):
    await login(client, world.users["partner"].email)
    for path, status in [("/admin/users", 403), ("/employers/99999999", 404)]:
        r = await client.get(path)
        assert r.status_code == status
        nav = r.text.split("<nav>", 1)[1].split("</nav>", 1)[0]
        assert 'href="/requests"' in nav and "My requests" in nav


@pytest.mark.parametrize("who", ["lead", "spoc", "partner"])
async def test_only_admins_reach_admin_pages(client, world, who):
    await login(client, world.users[who].email)
    assert (await client.get("/admin/users")).status_code == 403


async def test_admin_creates_user_and_sees_field_errors(client, world, db):
    await login(client, world.users["admin"].email)
    await client.get("/admin/users")
    token = client.cookies.get("csrftoken")
    r = await client.post("/admin/users", data={"email": "new@example.org", "name": "New Spoc", "role": "spoc",
                                                "region": "", "_csrf_token": token})
    assert r.status_code == 422 and "must be given a region" in r.text
    r = await client.post("/admin/users", data={"email": "new@example.org", "name": "New Spoc", "role": "spoc",
                                                "region": "LA-BASIN", "_csrf_token": token})
    assert r.status_code == 200 and "Created user new@example.org" in r.text


async def test_admin_creates_an_organization_with_or_without_regions(client, world, db):
    await login(client, world.users["admin"].email)
    await client.get("/admin/organizations")
    token = client.cookies.get("csrftoken")
    for name, extra in (("CDCR Statewide", {}), ("Fresno City College", {"regions": "SAN-JOAQUIN"})):
        kind = "community_college" if extra else "corrections"
        r = await client.post("/admin/organizations", data={"name": name, "kind": kind, "_csrf_token": token,
                                                            **extra})
        assert r.status_code == 200 and f"Created organization {name}" in r.text
    assert {"CDCR Statewide", "Fresno City College"} <= set(await db.scalars(select(Organization.name)))


async def test_sign_in_issues_a_new_session_id_so_a_planted_one_is_useless(client, world):
    client.cookies.set("onedoor_session", "planted-by-attacker", domain="testserver.local")
    await login(client, world.users["lead"].email)
    issued = client.cookies.get("onedoor_session")
    assert issued and issued != "planted-by-attacker"
    assert (await client.get("/employers", follow_redirects=False)).status_code == 200


async def test_sign_out_ends_the_session(client, world):
    await login(client, world.users["lead"].email)
    r = await client.post("/logout", headers=csrf(client), follow_redirects=False)
    assert r.status_code == 303
    r = await client.get("/employers", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"].startswith("/login")


async def test_a_partner_searching_the_directory_sees_each_employers_spoc(client, world):
    golden = await world.f.employer("Golden State Logistics LLC")
    await world.f.employer("Golden Gate Bakery")
    await world.f.assign(golden, world.users["spoc"])
    await login(client, world.users["partner"].email)
    rows = (await client.get("/employers", params={"q": "golden"}, headers={"HX-Request": "true"})).text
    assert "<th>SPOC</th>" in rows
    row_of = {name: rows.split(name, 1)[1].split("</tr>", 1)[0] for name in ("Golden State", "Golden Gate")}
    assert "<td data-label=\"SPOC\">Maria Lopez" in row_of["Golden State"] and "none yet" in row_of["Golden Gate"]


async def test_an_all_spaces_search_of_the_directory_is_no_search(client, world):
    for name in ("Golden State Logistics LLC", "Golden Gate Bakery"):
        await world.f.employer(name)
    await login(client, world.users["partner"].email)
    for headers in ({}, {"HX-Request": "true"}):
        page = await client.get("/employers", params={"q": "   "}, headers=headers)
        assert page.status_code == 200 and "2 employers</p>" in page.text and "matching" not in page.text
        assert "Request contact with" not in page.text and "q=+" not in page.text and "q=%20" not in page.text
    box = attrs_of((await client.get("/employers", params={"q": " \t "})).text, "input", name="q")
    assert box["value"] == ""
    # Spaces around a real search are no part of it.
    said = (await client.get("/employers", params={"q": "  golden gate "})).text
    assert "1 employer matching “golden gate”" in said
    assert "<title>Employers matching “golden gate” · OneDoor</title>" in said  # a tab, the history say which


async def test_the_directorys_live_search_says_its_count_in_a_status_line_outside_the_results(client, world):
    await world.f.employer("Golden Gate Bakery")
    await login(client, world.users["partner"].email)
    page = (await client.get("/employers")).text
    assert attrs_of(page, "p", id="employers-count")["role"] == "status"
    assert page.index('id="employers-count"') < page.index('id="results"')  # not in what the search swaps
    assert page.count('id="employers-count"') == 1
    r = (await client.get("/employers", params={"q": "zz"}, headers={"HX-Request": "true"})).text
    said = r.split('<p id="employers-count" hx-swap-oob="innerHTML">', 1)[1].split("</p>", 1)[0]
    assert said.strip() == "0 employers matching “zz”"


async def test_the_employer_page_gives_a_partner_the_contacts_names_and_the_spoc_their_addresses(client, world):
    e = (await client.post("/api/employers", headers=await world.f.auth(world.users["spoc"]), json={
        "legal_name": "Acme Corporation", "county": "Los Angeles",
        "contacts": [{"name": "Ana Ruiz", "title": "HR Manager", "email": "ana@acme.com", "phone": "213-555-0134"}]}
    )).json()
    await login(client, world.users["partner"].email)
    page = (await client.get(f"/employers/{e['id']}")).text
    assert "Ana Ruiz" in page and "ana@acme.com" not in page and "tel:" not in page.split("<h3>Contacts</h3>")[1]
    assert "stay with the SPOC" in page
    await login(client, world.users["spoc"].email)
    page = (await client.get(f"/employers/{e['id']}")).text
    assert "ana@acme.com" in page and "stay with the SPOC" not in page
    # On a line of their own, apart from the title (they ran together: "HR Managerana@acme.com").
    contact = page.split("<strong>Ana Ruiz</strong>", 1)[1].split("</li>", 1)[0]
    assert contact.startswith(", HR Manager")
    assert '<br><span class="muted contact-ways"><a href="mailto:ana@acme.com">' in contact


async def test_the_api_reference_loads_nothing_from_outside(client):
    page = await client.get("/schema")
    assert page.status_code == 200 and "Redoc.init(" in page.text
    assert "https://" not in page.text.split("<body>", 1)[0]  # no CDN script, web font or remote icon
    assert '<script src="/static/vendor/redoc-2.5.4.standalone.js"' in page.text
    js = await client.get("/static/vendor/redoc-2.5.4.standalone.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"] and "Redoc" in js.text[:2000]


async def test_the_api_reference_lists_the_api_and_no_page(client):
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert [p for p in paths if not p.startswith("/api/")] == ["/healthz", "/readyz"]


@pytest.mark.parametrize("who", ["partner", "spoc"])
async def test_every_page_opens_with_a_skip_link_to_its_focusable_main(client, world, who):
    await login(client, world.users[who].email)
    html = (await client.get("/", follow_redirects=True)).text
    body = html.split("<body", 1)[1].split(">", 1)[1]
    assert body.lstrip().startswith('<a class="skip-link" href="#main">Skip to content</a>')
    assert '<main id="main" tabindex="-1">' in body


async def test_the_directory_lists_the_employers_without_a_spoc_the_overview_counts(client, world):
    """The directory filter the lead's overview links to ("N without a SPOC")."""
    assigned = await world.f.employer("Assigned Works Inc")
    await world.f.assign(assigned, world.users["spoc"])
    await world.f.employer("Waiting Works Inc")
    await login(client, world.users["lead"].email)
    page = (await client.get("/employers", params={"region": "LA-BASIN", "spoc": "none"})).text
    assert "Waiting Works Inc" in page and "Assigned Works Inc" not in page
    assert '<option value="none" selected>' in page


def _title(html: str) -> str:
    return html.split("<title>", 1)[1].split("</title>", 1)[0]


async def test_a_full_page_form_sent_back_with_field_errors_says_error_first_in_its_title(client, world):
    """Base template: the title of a page that came back with a field marked invalid starts "Error: " (what a
    screen reader says first), whichever form it is; the same page without errors does not."""
    e = await world.f.employer("Golden State Logistics")
    await world.f.assign(e, world.users["spoc"])
    await login(client, world.users["lead"].email)
    board = str(world.orgs["board"].id)
    sent = {
        "/employers/new": {"legal_name": "Acme", "size_band": "huge"},
        "/councils/new": {"name": "Welding", "owner_organization_id": board, "region": "LA-BASIN",
                          "naics_prefix": "99"},
        "/partnerships/new": {"name": "LA Logistics", "owner_organization_id": board, "regions": "LA-BASIN",
                              "stage": "scoping", "naics_prefixes": "99"},
    }
    for path, data in sent.items():
        assert not _title((await client.get(path)).text).startswith("Error"), path
        r = await client.post(path, headers=csrf(client), data=data)
        assert r.status_code == 422 and tied_errors(r.text), path
        assert _title(r.text).startswith("Error: "), (path, _title(r.text))
    await login(client, world.users["spoc"].email)
    r = await client.post("/queue/log", headers=csrf(client), data={
        "employer_id": str(e.id), "channel": "pigeon", "occurred_on": today().isoformat()})
    assert r.status_code == 422 and _title(r.text).startswith("Error: ")


async def test_the_employer_pages_spoc_history_scrolls_sideways_as_a_named_focus_stop(client, world):
    e = await world.f.employer("Golden State Logistics")
    await world.f.assign(e, world.users["spoc"])
    await login(client, world.users["spoc"].email)
    page = (await client.get(f"/employers/{e.id}")).text
    history = page.split("<h3>History</h3>", 1)[1]
    assert scroll_region(history) == "SPOC assignment history"
    assert history.index('class="table-scroll"') < history.index('id="assignment-history"')

