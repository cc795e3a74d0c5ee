"""Typeahead partial (`/employers/match`) and the create-employer "use this one?" warning."""

import json

from sqlalchemy import func, select

from crm.audit.models import AuditEvent
from crm.employers.models import Employer
from tests.a11y import attrs_of
from tests.factories import csrf, login

HTMX = {"hx-request": "true"}


async def _employers(db) -> int:
    count = await db.scalar(select(func.count(Employer.id))) or 0
    await db.rollback()  # end the read snapshot, so the next count sees what the app wrote
    return count


async def test_typeahead_partial_lists_candidates_as_choice_buttons_with_explanation(client, world):
    acme = await world.f.employer("ACME Corporation", website="https://acme.com", zip="90021")
    await login(client, world.users["partner"].email)
    r = await client.get("/employers/match", params={"employer_name": "acme corp", "employer_website": "acme.com"},
                         headers=HTMX)
    assert r.status_code == 200
    assert "<html" not in r.text  # only the partial
    assert f'data-id="{acme.id}"' in r.text and 'data-name="ACME Corporation"' in r.text
    assert "same domain acme.com" in r.text
    assert "<button" in r.text  # keyboard-reachable choices


async def test_a_suggestion_says_how_its_name_differs_from_what_was_typed_in_the_names_own_words(client, world):
    await world.f.employer("Liu & Turner Transport Inc")
    await world.f.employer("Sunrise Roofing")
    await login(client, world.users["spoc"].email)
    r = await client.get("/employers/match", params={"employer_name": "Turner Roof"}, headers=HTMX)
    assert "its name also has &#39;Liu&#39;, &#39;Transport&#39;, but not &#39;Roof&#39;" in r.text
    assert "its name also has &#39;Sunrise&#39;, but not &#39;Turner&#39;" in r.text
    assert "differ in" not in r.text  # the matcher's tokens ("liu transport roof") are for comparing records


async def test_typeahead_says_a_name_several_employers_match_needs_a_pick(client, world):
    """On a form that takes only a picked employer (logging a contact, seating a member) no SPOC confirms
    anything later: the typeahead says to pick one."""
    await world.f.employer("Torres Equipment Repair", city="Fresno")
    await world.f.employer("Torres Equipment Repair", city="Bakersfield")
    await login(client, world.users["spoc"].email)
    r = await client.get("/employers/match", params={"employer_name": "Torres Equipment Repair"}, headers=HTMX)
    assert "2 employers match: pick one.</strong>" in r.text and "SPOC will have to confirm" not in r.text
    await world.f.employer("Quokka Quantum Kitchens")
    single = await client.get("/employers/match", params={"employer_name": "Quokka Quantum Kitchens"}, headers=HTMX)
    assert "data-employer-choice" in single.text and "employers match: pick one" not in single.text


INTAKE = {"mode": "pick", "intake": "true"}


async def test_request_typeahead_names_the_employer_intake_would_use_when_it_resolves_by_itself(client, world, db):
    """One confident match among names alike: intake uses it (resolve_employer "match"), no SPOC involved; the
    typeahead said "2 employers match: pick one, or a SPOC will have to confirm"."""
    from crm.touches.models import TouchRequest
    from tests.pages.test_request_pages import form

    torres = await world.f.employer("Torres Equipment Repair", city="Fresno")
    await world.f.employer("Torres Equipment Repair Services", city="Fresno")
    await login(client, world.users["partner"].email)
    r = await client.get("/employers/match", params={**INTAKE, "employer_name": "Torres Equipment Repair"},
                         headers=HTMX)
    assert r.text.count("data-employer-choice") == 2
    assert "a SPOC will have to confirm" not in r.text and "employers match: pick one" not in r.text
    assert "Sent as typed, this request goes to Torres Equipment Repair</strong>" in r.text
    assert f"#{torres.id} · Fresno" in r.text and "unless you pick another below" in r.text
    # And so it does.
    sent = await client.post("/requests/new", data=form(client, "", employer_name="Torres Equipment Repair"),
                             follow_redirects=False)
    assert sent.status_code == 303
    request = (await db.scalars(select(TouchRequest))).one()
    assert (request.status, request.employer_id) == ("queued", torres.id)


async def test_request_typeahead_says_a_spoc_confirms_only_when_intake_would_ask_for_review(client, world):
    await world.f.employer("Torres Equipment Repair", city="Fresno")
    await world.f.employer("Torres Equipment Repair", city="Bakersfield", county="San Mateo")
    await login(client, world.users["partner"].email)
    r = await client.get("/employers/match", params={**INTAKE, "employer_name": "Torres Equipment Repair"},
                         headers=HTMX)
    assert "2 employers match: pick one</strong>, or a SPOC will have to confirm" in r.text
    assert "Sent as typed" not in r.text
    # With a region chosen, intake takes the worksite in it (resolve._decide): so does the typeahead.
    r = await client.get("/employers/match", params={**INTAKE, "employer_name": "Torres Equipment Repair",
                                                     "region": "BAY-PENINSULA"}, headers=HTMX)
    assert "Sent as typed, this request goes to Torres Equipment Repair</strong>" in r.text
    assert "Bakersfield · BAY-PENINSULA" in r.text and "SPOC will have to confirm" not in r.text


async def test_request_form_typeahead_asks_for_intakes_reading_in_the_chosen_region(client, world):
    await login(client, world.users["partner"].email)
    page = await client.get("/requests/new")
    assert 'hx-include="#employer-match, #request-region"' in page.text and '"intake": true' in page.text


async def test_typeahead_with_empty_fields_renders_nothing(client, world):
    await world.f.employer("ACME Corporation")
    await login(client, world.users["spoc"].email)
    r = await client.get("/employers/match", params={"employer_name": ""}, headers=HTMX)
    assert r.status_code == 200 and "data-employer-choice" not in r.text and "No employer in" not in r.text


async def test_typeahead_says_when_nothing_matches(client, world):
    await login(client, world.users["partner"].email)
    r = await client.get("/employers/match", params={**INTAKE, "employer_name": "Quokka Quantum Kitchens"},
                         headers=HTMX)
    assert r.status_code == 200 and "sending the request creates it as a new (provisional) employer." in r.text
    # A form that takes only a picked employer creates none.
    r = await client.get("/employers/match", params={"employer_name": "Quokka Quantum Kitchens"}, headers=HTMX)
    assert "No employer in OneDoor is likely this one: check the name, or add the employer first." in r.text
    assert "creates it" not in r.text


async def test_typeahead_puts_merely_similar_names_after_saying_a_new_employer_will_be_created(
        client, world, sessionmaker):
    from crm.employers.candidates import refresh_keys

    alike = [await world.f.employer(n) for n in ("Delta Robotics Fabrication", "Bell Robotics")]
    async with sessionmaker() as db, db.begin():
        await refresh_keys(db, [e.id for e in alike])
    await login(client, world.users["partner"].email)
    r = await client.get("/employers/match", params={**INTAKE, "employer_name": "Zyzzyva Robotics Fabrication"},
                         headers=HTMX)
    said = r.text.index("creates it as a new (provisional) employer, unless it is one of these")
    assert said < r.text.index("Delta Robotics Fabrication") and 'aria-label="Employers with similar names"' in r.text
    assert 'aria-label="Matching employers"' not in r.text
    # Said as similar names, not as matches, to a screen reader and on the badge.
    assert "No likely match; 2 similar names — press ↓ to see them</p>" in r.text
    assert 'class="badge match-distinct">similar name</span>' in r.text


async def test_typeahead_ignores_a_half_typed_fein(client, world):
    await world.f.employer("ACME Corporation")
    await login(client, world.users["partner"].email)
    r = await client.get("/employers/match", params={"employer_name": "acme", "employer_fein": "95-48"},
                         headers=HTMX)
    assert r.status_code == 200 and "ACME Corporation" in r.text


async def test_typeahead_page_is_refused_to_a_chair_and_anonymous(client, world):
    r = await client.get("/employers/match", params={"employer_name": "acme"}, follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"].startswith("/login")
    await login(client, world.users["chair"].email)
    r = await client.get("/employers/match", params={"employer_name": "acme"}, headers=HTMX)
    assert r.status_code == 403


async def test_create_form_carries_the_live_match_wiring(client, world):
    await login(client, world.users["spoc"].email)
    r = await client.get("/employers/new")
    assert r.status_code == 200
    assert 'id="create-matches"' in r.text and 'hx-get="/employers/match"' in r.text


async def test_create_mode_partial_warns_use_this_one(client, world):
    acme = await world.f.employer("ACME Corporation", website="https://acme.com")
    await login(client, world.users["spoc"].email)
    r = await client.get("/employers/match", params={"mode": "create", "legal_name": "Acme Corp."}, headers=HTMX)
    assert r.status_code == 200
    assert "use this one?" in r.text and f'href="/employers/{acme.id}"' in r.text
    assert "create_anyway" not in r.text  # confirming happens on submit


async def test_creating_an_existing_employer_warns_and_writes_nothing(client, world, db):
    acme = await world.f.employer("ACME Corporation", website="https://acme.com")
    await login(client, world.users["spoc"].email)
    before = await _employers(db)
    audits = await db.scalar(select(func.count(AuditEvent.id)))
    await db.rollback()
    r = await client.post("/employers/new", data={"legal_name": "Acme Corp.", "website": "www.acme.com",
                                                  "county": "Los Angeles", **_token(client)},
                          follow_redirects=False)
    assert r.status_code == 409
    assert "use this one?" in r.text and f'href="/employers/{acme.id}"' in r.text
    assert 'name="create_anyway"' in r.text
    assert 'value="Acme Corp."' in r.text  # the form keeps what was typed
    assert await _employers(db) == before
    assert await db.scalar(select(func.count(AuditEvent.id))) == audits


async def test_create_anyway_creates_the_employer(client, world, db):
    await world.f.employer("ACME Corporation", website="https://acme.com")
    await login(client, world.users["spoc"].email)
    before = await _employers(db)
    r = await client.post("/employers/new", data={"legal_name": "Acme Corp.", "website": "www.acme.com",
                                                  "county": "Los Angeles", "create_anyway": "1", **_token(client)},
                          follow_redirects=False)
    assert r.status_code == 303
    assert await _employers(db) == before + 1


async def test_creating_a_new_employer_needs_no_confirmation(client, world, db):
    await world.f.employer("ACME Corporation", website="https://acme.com")
    await login(client, world.users["spoc"].email)
    r = await client.post("/employers/new", data={"legal_name": "Quokka Quantum Kitchens", "county": "Los Angeles",
                                                  **_token(client)}, follow_redirects=False)
    assert r.status_code == 303
    created = await db.scalar(select(Employer).where(Employer.legal_name == "Quokka Quantum Kitchens"))
    assert created is not None


async def test_invalid_input_still_wins_over_the_duplicate_warning(client, world, db):
    await world.f.employer("ACME Corporation", website="https://acme.com")
    await login(client, world.users["spoc"].email)
    r = await client.post("/employers/new", data={"legal_name": "Acme Corp.", "fein": "12-34",
                                                  "county": "Los Angeles", **_token(client)})
    assert r.status_code == 422 and "use this one?" not in r.text


def _token(client) -> dict[str, str]:
    return {"_csrf_token": csrf(client)["x-csrftoken"]}


async def test_the_typeahead_says_how_many_matched_in_a_status_line_not_by_reading_out_the_list(client, world):
    await world.f.employer("Torres Equipment Repair", city="Fresno")
    await world.f.employer("Torres Equipment Repair", city="Bakersfield")
    await login(client, world.users["partner"].email)
    form = (await client.get("/requests/new")).text
    results = attrs_of(form, "div", id="employer-match-results")
    assert "aria-live" not in results
    assert attrs_of(form, "p", role="status")["data-match-status"] == ""  # the line the results' summary fills
    r = await client.get("/employers/match", params={"employer_name": "Torres Equipment Repair"}, headers=HTMX)
    assert "<p hidden data-match-summary>2 likely matches — press ↓ to choose</p>" in r.text
    r = await client.get("/employers/match", params={"employer_name": "Zzqx Widgets"}, headers=HTMX)
    assert "<p hidden data-match-summary>No employer on file matches</p>" in r.text
    r = await client.get("/employers/match", params={"employer_name": ""}, headers=HTMX)
    assert "data-match-summary" not in r.text  # nothing typed: nothing said


async def test_request_typeahead_says_where_a_new_employer_with_a_california_zip_is_filed(client, world):
    await login(client, world.users["partner"].email)
    r = await client.get("/employers/match", params={**INTAKE, "employer_name": "Fresno Almond Packers Co",
                                                     "employer_zip": "93721"}, headers=HTMX)
    assert ("Its ZIP is in Fresno County: it is filed in SAN-JOAQUIN, and a request with the region left as the "
            "employer's goes there.") in r.text
    r = await client.get("/employers/match", params={**INTAKE, "employer_name": "Reno Freight Lines",
                                                     "employer_zip": "89501"}, headers=HTMX)
    assert "creates it as a new (provisional) employer." in r.text and "Its ZIP is in" not in r.text
    # An LA SPOC's new Fresno employer is filed in the request's region (intake.employer_as_typed): not said.
    await login(client, world.users["spoc"].email)
    r = await client.get("/employers/match", params={**INTAKE, "employer_name": "Fresno Almond Packers Co",
                                                     "employer_zip": "93721"}, headers=HTMX)
    assert "creates it as a new (provisional) employer." in r.text and "Its ZIP is in" not in r.text


async def test_a_certain_match_in_the_request_typeahead_has_the_panel_follow_it_without_a_pick(client, world):
    acme = await world.f.employer("ACME Corporation", website="https://www.acme.com")
    await login(client, world.users["partner"].email)
    r = await client.get("/employers/match", params={**INTAKE, "employer_name": "ACME Corporation",
                                                     "employer_website": "acme.com"}, headers=HTMX)
    assert "Sent as typed, this request goes to ACME Corporation" in r.text
    assert json.loads(r.headers["hx-trigger-after-settle"]) == {"employer-resolved": {"id": acme.id}}
    r = await client.get("/employers/match", params={**INTAKE, "employer_name": "Zyxwv Nonesuch Fabrication"},
                         headers=HTMX)
    assert json.loads(r.headers["hx-trigger-after-settle"]) == {"employer-resolved": {"id": None}}
    panel = await client.get("/requests/panel", params={"employer_id": "", "resolved_employer_id": str(acme.id),
                                                        "region": ""}, headers=HTMX)
    assert "What you typed is ACME Corporation: the request goes to it." in panel.text
    picked = await client.get("/requests/panel", params={"employer_id": str(acme.id), "region": ""}, headers=HTMX)
    assert "ACME Corporation" in picked.text and "What you typed" not in picked.text
