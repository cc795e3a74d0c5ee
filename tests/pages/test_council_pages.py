"""Council, partnership and chair pages: badges that explain themselves, attendance ticked in place,
forms with errors in place, roster CSV and print page, the chair's read-only view."""

import csv
import datetime as dt
import io
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crm.councils.models import AdvisoryCouncil, CouncilMeeting, CouncilMember, MeetingAttendance, Recommendation
from crm.partnerships.models import PartnershipMeeting, PartnershipMember, SectorPartnership
from crm.touches.models import Touch
from tests.a11y import assert_selects_tied, attrs_of, scroll_region, tied_errors
from tests.factories import csrf, login, said_beside, seen_in, today


async def _arrange(client, world):
    """A council of East LA College with an industry chair (the test chair's sign-in), an employer member,
    a college member, and one meeting today."""
    staff = await world.f.auth(world.users["partner"])
    council = (await client.post("/api/councils", headers=staff, json={
        "name": "Welding Advisory", "owner_organization_id": world.orgs["college"].id, "region": "LA-BASIN",
        "program": "Welding Technology"})).json()
    employer = await world.f.employer("Pacific Steel Fabricators", naics_code="332312", size_band="50-249")
    base = f"/api/councils/{council['id']}"
    chair = (await client.post(f"{base}/members", headers=staff, json={
        "name": "Chris Chair", "email": "chair@example.org", "member_type": "industry", "role": "chair",
        "term_start": "2026-01-01", "term_end": "2028-06-30"})).json()
    member = (await client.post(f"{base}/members", headers=staff, json={
        "name": "Dana Whitfield", "member_type": "industry", "employer_id": employer.id, "title": "Plant Manager",
        "term_start": "2025-09-01"})).json()
    faculty = (await client.post(f"{base}/members", headers=staff, json={
        "name": "Ivan Ortiz", "member_type": "education", "organization_id": world.orgs["college"].id})).json()
    meeting = (await client.post(f"{base}/meetings", headers=staff, json={"held_on": today().isoformat(),
                                                                            "agenda": "Curriculum review"})).json()
    return {"council": council, "employer": employer, "chair": chair, "member": member, "faculty": faculty,
            "meeting": meeting}


async def _la_partnership(client, world, **fields):
    """The LA lead's bearer headers, and a partnership of the LA board in LA-BASIN made with them (``fields``
    besides), as the API answered it."""
    lead = await world.f.auth(world.users["lead"])
    r = await client.post("/api/partnerships", headers=lead, json={
        "name": "LA Logistics Partnership", "owner_organization_id": world.orgs["board"].id, "regions": ["LA-BASIN"],
        **fields})
    assert r.status_code == 201, r.text
    return lead, r.json()


async def test_council_page_shows_roster_and_badges_that_explain_themselves(client, world):
    a = await _arrange(client, world)
    await login(client, world.users["partner"].email)
    page = await client.get(f"/councils/{a['council']['id']}")
    assert page.status_code == 200
    assert 'title="chair Chris Chair is industry"' in page.text
    assert "<span class=\"small\">2 of 3 current members are industry</span>" in page.text
    assert "Dana Whitfield" in page.text and "Pacific Steel Fabricators" in page.text
    # What a chair weighs the membership by: each member employer's sector and size.
    assert '<div class="muted small employer-kind">Manufacturing · 50-249 employees</div>' in page.text
    listing = await client.get("/councils")
    assert "Welding Advisory" in listing.text and 'data-badge="industry_majority"' in listing.text
    # On a phone each council is a card of labelled lines (the table was wider than the screen).
    assert "stack" in attrs_of(listing.text, "table", id="councils")["class"].split()
    assert '<td data-label="Owner">East LA College</td>' in listing.text


async def test_lead_ticks_attendance_in_place_and_the_employer_touch_is_counted(client, world, db):
    a = await _arrange(client, world)
    await login(client, world.users["lead"].email)
    page = (await client.get(f"/councils/{a['council']['id']}")).text
    # The ticks are one labelled group (a div's aria-label alone is ignored without a role).
    assert attrs_of(page, "div", **{"class": "attendance"}) == {"class": "attendance", "role": "group",
                                                          "aria-label": "Attendance"}
    url = f"/councils/{a['council']['id']}/meetings/{a['meeting']['id']}/attendance/{a['member']['id']}"
    r = await client.post(url, data={"present": "1"}, headers={"HX-Request": "true", **csrf(client)})
    assert r.status_code == 200
    assert "<html" not in r.text and r.text.strip().startswith("<form class=\"tick\"")
    assert "checked" in r.text and "touch counted" in r.text
    assert await db.scalar(select(func.count(Touch.id)).where(Touch.source == "meeting")) == 1
    off = await client.post(url, data={}, headers={"HX-Request": "true", **csrf(client)})
    assert "checked" not in off.text and "touch counted" not in off.text
    await db.rollback()
    assert await db.scalar(select(func.count(Touch.id)).where(Touch.status != "cancelled")) == 0  # cancelled, kept


def _met(html: str) -> tuple[str, str]:
    """The first "met in the last 12 months" badge of a page: its class (ok or bad) and its explanation."""
    found = re.search(r'<summary class="badge (\w*)" title="([^"]*)"\s+data-badge="met_last_12_months"', html)
    assert found, html
    return found.group(1), found.group(2)


async def test_a_meeting_counts_as_met_only_once_someone_is_ticked_present(client, world):
    a = await _arrange(client, world)  # a meeting today, nobody ticked present yet
    council_id = a["council"]["id"]
    staff = await world.f.auth(world.users["partner"])
    # A meeting next week is scheduled, not held: it never counts, and nobody can be ticked present yet.
    next_week = today() + dt.timedelta(days=7)
    future = (await client.post(f"/api/councils/{council_id}/meetings", headers=staff,
                                json={"held_on": next_week.isoformat()})).json()
    r = await client.put(f"/api/councils/{council_id}/meetings/{future['id']}/attendance/{a['faculty']['id']}",
                         headers=staff, json={"present": True})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "present", r.text
    assert "has not happened yet" in r.text
    day = f"{today().day} {today():%b %Y}"
    unmet = ("bad", f"no meeting with anyone present (nobody is ticked present at the meeting of {day})")
    await login(client, world.users["lead"].email)
    assert _met((await client.get(f"/councils/{council_id}")).text) == unmet
    assert _met((await client.get("/councils")).text) == unmet
    assert "last met" not in (await client.get(f"/councils/{council_id}/roster")).text
    badge = next(b for b in (await client.get(f"/api/councils/{council_id}", headers=staff)).json()["badges"]
                 if b["key"] == "met_last_12_months")
    assert badge["ok"] is False
    url = f"/councils/{council_id}/meetings/{a['meeting']['id']}/attendance/{a['faculty']['id']}"
    r = await client.post(url, data={"present": "1"}, headers={"HX-Request": "true", **csrf(client)})
    assert r.status_code == 200 and r.text.strip().startswith('<form class="tick"')
    # The page's badges follow the tick, out of band.
    assert f'id="badges-{council_id}" hx-swap-oob="true"' in r.text and _met(r.text) == ("ok", f"last met on {day}")
    roster = (await client.get(f"/councils/{council_id}/roster")).text
    assert f"last met {day}" in roster and f"{next_week.day} {next_week:%b %Y}" not in roster
    await login(client, world.users["chair"].email)
    assert _met((await client.get("/chair")).text) == ("ok", f"last met on {day}")


async def test_attendance_form_works_without_javascript(client, world, db):
    a = await _arrange(client, world)
    await login(client, world.users["partner"].email)
    url = f"/councils/{a['council']['id']}/meetings/{a['meeting']['id']}/attendance/{a['faculty']['id']}"
    r = await client.post(url, data={"present": "1", "_csrf_token": client.cookies.get("csrftoken")},
                          follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith(f"#meeting-{a['meeting']['id']}")
    assert await db.scalar(select(func.count(MeetingAttendance.id)).where(MeetingAttendance.present.is_(True))) == 1


async def test_member_form_error_comes_back_in_place_and_nothing_is_written(client, world, db):
    a = await _arrange(client, world)
    await login(client, world.users["partner"].email)
    await client.get(f"/councils/{a['council']['id']}")
    r = await client.post(f"/councils/{a['council']['id']}/members", headers={"HX-Request": "true", **csrf(client)},
                          data={"name": "Late Joiner", "member_type": "industry", "role": "member",
                                "term_start": "2026-06-01", "term_end": "2026-05-01"})
    assert r.status_code == 422
    assert "<html" not in r.text and "term end 2026-05-01 is before term start 2026-06-01" in r.text
    assert 'value="Late Joiner"' in r.text  # what was typed is kept
    await db.rollback()
    assert await db.scalar(select(func.count(CouncilMember.id))) == 3


async def test_member_form_says_every_problem_at_once_beside_each_field(client, world, db):
    a = await _arrange(client, world)
    await login(client, world.users["partner"].email)
    await client.get(f"/councils/{a['council']['id']}")
    r = await client.post(f"/councils/{a['council']['id']}/members", headers={"HX-Request": "true", **csrf(client)},
                          data={"name": "", "member_type": "industry", "role": "member", "email": "late joiner@psf.com",
                                "term_start": "2026-06-01", "term_end": "2026-05-01", "employer_name": "Harbor Frei"})
    assert r.status_code == 422
    for field, said in (("name", "is required"), ("email", "is not a valid e-mail address"),
                        ("term_end", "term end 2026-05-01 is before term start 2026-06-01"),
                        ("employer_name", "choose the employer from the list")):
        assert said_beside(r.text, field, said), field
    assert 'value="2026-06-01"' in r.text and "late joiner@psf.com" in r.text
    r = await client.post(f"/councils/{a['council']['id']}/members", headers={"HX-Request": "true", **csrf(client)},
                          data={"name": "Late Joiner", "member_type": "alien", "role": "boss",
                                "organization_id": "999999"})
    assert r.status_code == 422
    assert_selects_tied(r.text, ("member_type", "role"), prefix="member-")
    r = await client.post(f"/councils/{a['council']['id']}/members", headers={"HX-Request": "true", **csrf(client)},
                          data={"name": "Late Joiner", "member_type": "industry", "organization_id": "999999"})
    assert r.status_code == 422 and "organization_id" in tied_errors(r.text), r.text[-2000:]
    assert attrs_of(r.text, "select", name="organization_id")["aria-describedby"] == "member-organization_id-error"
    await db.rollback()
    assert await db.scalar(select(func.count(CouncilMember.id))) == 3


async def test_member_api_names_every_field_that_is_wrong(client, world):
    a = await _arrange(client, world)
    staff = await world.f.auth(world.users["partner"])
    r = await client.post(f"/api/councils/{a['council']['id']}/members", headers=staff,
                          json={"name": " ", "member_type": "alien", "email": "x@", "term_start": "2026-06-01",
                                "term_end": "2026-05-01"})
    assert r.status_code == 422
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["name", "member_type", "term_end", "email"]


async def test_member_form_refuses_an_email_no_one_can_write_to_beside_the_field(client, world, db):
    a = await _arrange(client, world)
    await login(client, world.users["partner"].email)
    await client.get(f"/councils/{a['council']['id']}")
    r = await client.post(f"/councils/{a['council']['id']}/members", headers={"HX-Request": "true", **csrf(client)},
                          data={"name": "Late Joiner", "member_type": "industry", "role": "member",
                                "email": "late joiner@psf.com"})
    assert r.status_code == 422 and "is not a valid e-mail address" in r.text and "SPACE" in r.text
    assert said_beside(r.text, "email", "is not a valid e-mail address")
    await db.rollback()
    assert await db.scalar(select(func.count(CouncilMember.id))) == 3


async def test_roster_csv_opens_with_the_right_columns(client, world):
    a = await _arrange(client, world)
    await login(client, world.users["partner"].email)
    r = await client.get(f"/councils/{a['council']['id']}/roster.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="welding-advisory-roster.csv"'
    assert r.content.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark: Excel then reads UTF-8
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["Name", "Title", "Organization / employer", "Member type", "Role", "Term start", "Term end",
                       "Email"]
    # An industry member with no employer on file yet is no "Public member".
    assert rows[1] == ["Chris Chair", "", "", "industry", "chair", "2026-01-01", "2028-06-30",
                       "chair@example.org"]
    assert ["Dana Whitfield", "Plant Manager", "Pacific Steel Fabricators", "industry", "member", "2025-09-01", "",
            ""] in rows
    assert len(rows) == 4


async def test_roster_csv_quotes_commas_and_neutralizes_formulas(client, world):
    a = await _arrange(client, world)
    staff = await world.f.auth(world.users["partner"])
    await client.post(f"/api/councils/{a['council']['id']}/members", headers=staff, json={
        "name": "=HYPERLINK(\"x\")", "title": "Owner, President", "member_type": "public"})
    await login(client, world.users["partner"].email)
    text = (await client.get(f"/councils/{a['council']['id']}/roster.csv")).content.decode("utf-8-sig")
    assert '"Owner, President"' in text
    row = next(r for r in csv.reader(io.StringIO(text)) if r[1] == "Owner, President")
    assert row[0] == "'=HYPERLINK(\"x\")"


async def test_the_roster_marks_the_seats_whose_terms_end_soon(client, world):
    """The badge "1 term ends within 60 days" did not say whose; the roster now marks the seat (the chair's
    view included)."""
    a = await _arrange(client, world)
    staff = await world.f.auth(world.users["partner"])
    soon = (today() + dt.timedelta(days=20)).isoformat()
    await client.post(f"/api/councils/{a['council']['id']}/members", headers=staff, json={
        "name": "Evan Peterson", "member_type": "labor", "term_start": "2025-01-01", "term_end": soon})
    await login(client, world.users["chair"].email)
    page = (await client.get(f"/chair/councils/{a['council']['id']}")).text
    rows = {name: page.split(f"<td>{name}", 1)[1].split("</tr>", 1)[0] for name in ("Evan Peterson", "Chris Chair")}
    assert "ends soon" in rows["Evan Peterson"] and "ends soon" not in rows["Chris Chair"]
    # A heads-up, not a failure of the council's rules: a warning badge, "!" rather than "✗".
    badge = page.split('data-badge="terms_expiring"', 1)[0].rsplit("<summary", 1)[1]
    assert 'class="badge warn"' in badge and 'class="badge bad"' not in badge
    said = page.split('data-badge="terms_expiring">', 1)[1].split("</summary>", 1)[0]
    assert " ".join(re.sub("<[^>]+>", "", said).split()) == "! Warning: 1 term ends within 60 days"
    # The glyph is for the eye; a screen reader reads the word (met, not met, warning), not "exclamation mark".
    assert said.startswith('<span aria-hidden="true">!</span><span class="visually-hidden"> Warning:</span>')
    api = (await client.get(f"/api/councils/{a['council']['id']}", headers=staff)).json()
    assert {b["key"]: (b["ok"], b["warning"]) for b in api["badges"]}["terms_expiring"] == (False, True)


async def test_print_roster_page_uses_the_print_stylesheet(client, world):
    a = await _arrange(client, world)
    await login(client, world.users["partner"].email)
    r = await client.get(f"/councils/{a['council']['id']}/roster")
    assert r.status_code == 200 and "/static/print-roster.css" in r.text
    assert "Dana Whitfield" in r.text and "Industry-chaired" in r.text
    # Landmarks and a title like every page's: screen-reader users jump to its main part.
    assert "<main>" in r.text and "— roster · OneDoor</title>" in r.text and '<nav class="no-print"' in r.text
    assert scroll_region(r.text) == "Roster of Welding Advisory"  # a phone scrolls it sideways: by keyboard too
    compliance = r.text.split('<section class="compliance">', 1)[1]  # each mark said in words, the glyph hidden
    assert compliance.count('<span aria-hidden="true">') == compliance.count('<span class="visually-hidden">') > 0
    assert re.search(r'<span class="visually-hidden"> (Met|Not met|Warning|Not applicable):</span>', compliance)
    staffed = (await client.get(f"/councils/{a['council']['id']}")).text
    assert "<th></th>" not in staffed and '<th><span class="visually-hidden">Actions</span></th>' in staffed
    css = await client.get("/static/print-roster.css")
    assert css.status_code == 200 and "@media print" in css.text


async def test_employer_page_panel_lists_the_councils_it_sits_on(client, world, db):
    a = await _arrange(client, world)
    from crm.auth.models import User
    from crm.auth.principal import Principal
    from crm.councils.pages import councils_panel
    from crm.employers.models import Employer
    from crm.employers.panels import _PANELS

    assert any(loader is councils_panel for _, _, loader in _PANELS)  # registered with the employer page
    user = await db.get(User, world.users["spoc"].id, options=[selectinload(User.grants)])
    panel = await councils_panel(db, Principal.from_user(user), await db.get(Employer, a["employer"].id))
    assert panel["template"] == "councils/_employer_panel.html"
    assert [(m.name, c.name) for m, c in panel["council_seats"]] == [("Dana Whitfield", "Welding Advisory")]



async def test_the_employer_page_links_only_the_councils_the_viewer_may_open(client, world):
    a = await _arrange(client, world)  # owned by the partner's college; the board's partner is not on it
    council_id = a["council"]["id"]
    link = f'<a href="/councils/{council_id}">Welding Advisory</a>'
    await login(client, world.users["partner"].email)
    assert link in (await client.get(f"/employers/{a['employer'].id}")).text
    await login(client, world.users["partner2"].email)
    page = (await client.get(f"/employers/{a['employer'].id}")).text
    assert "Welding Advisory" in page and link not in page
    assert (await client.get(f"/councils/{council_id}")).status_code == 403


async def test_saving_a_council_from_an_edit_page_older_than_anothers_save_is_refused(client, world, db):
    staff = await world.f.auth(world.users["partner"])
    council = (await client.post("/api/councils", headers=staff, json={
        "name": "Welding Advisory", "owner_organization_id": world.orgs["college"].id, "region": "LA-BASIN"})).json()
    edit = f"/councils/{council['id']}/edit"
    await login(client, world.users["lead"].email)
    lead_saw = seen_in((await client.get(edit)).text)  # the lead's edit page stays open
    await login(client, world.users["partner"].email)
    fields = {"name": "Welding Advisory", "program": "", "naics_prefix": ""}
    partner_saw = seen_in((await client.get(edit)).text)
    r = await client.post(edit, headers=csrf(client), follow_redirects=False, data={
        **fields, "description": "Meets each semester with the welding shops", "seen": partner_saw})
    assert r.status_code == 303
    # The lead renames it from the older page, whose description was still empty: it would have blanked it.
    await login(client, world.users["lead"].email)
    r = await client.post(edit, headers=csrf(client), data={
        **fields, "name": "Welding & Fabrication Advisory", "description": "", "seen": lead_saw})
    assert r.status_code == 409, r.text
    assert "Welding Advisory was changed meanwhile by Pat Partner" in r.text and "nothing was saved" in r.text
    assert "Saved now:" in r.text and "Meets each semester with the welding shops" in r.text
    assert 'value="Welding &amp; Fabrication Advisory"' in r.text  # what the lead typed stays
    await db.rollback()
    saved = await db.get(AdvisoryCouncil, council["id"], populate_existing=True)
    assert (saved.name, saved.description) == ("Welding Advisory", "Meets each semester with the welding shops")
    # Saving again from the refusal's form, which showed what is saved now, is deliberate and goes through.
    r = await client.post(edit, headers=csrf(client), follow_redirects=False, data={
        **fields, "name": "Welding & Fabrication Advisory", "description": "Meets each semester with the welding shops",
        "seen": seen_in(r.text)})
    assert r.status_code == 303
    # The API: seen is optional; a stale one is refused like the form's.
    api = f"/api/councils/{council['id']}"
    r = await client.patch(api, headers=staff, json={"program": "Welding", "seen": lead_saw})
    assert r.status_code == 409 and "changed meanwhile" in r.json()["error"]["message"]
    r = await client.patch(api, headers=staff, json={"program": "Welding"})
    assert r.status_code == 200 and r.json()["name"] == "Welding & Fabrication Advisory" and r.json()["seen"]


# --- the chair ------------------------------------------------------------------------------------

async def test_chair_sees_only_their_council_read_only(client, world):
    a = await _arrange(client, world)
    staff = await world.f.auth(world.users["partner"])
    other = (await client.post("/api/councils", headers=staff, json={
        "name": "Nursing Advisory", "owner_organization_id": world.orgs["college"].id, "region": "LA-BASIN"})).json()
    ahead = (await client.post(f"/api/councils/{a['council']['id']}/meetings", headers=staff, json={
        "held_on": (today() + dt.timedelta(days=5)).isoformat()})).json()
    await login(client, world.users["chair"].email)
    home = await client.get("/chair")
    assert home.status_code == 200 and "Welding Advisory" in home.text and "Nursing Advisory" not in home.text
    page = await client.get(f"/chair/councils/{a['council']['id']}")
    assert page.status_code == 200 and "Dana Whitfield" in page.text and "Industry-chaired" in page.text
    assert "<form" not in page.text.split('<main id="main"')[1]  # read-only: no forms besides sign-out in the header
    meeting = page.text.split(f'id="meeting-{ahead["id"]}"', 1)[1].split("</article>", 1)[0]
    assert "scheduled" in meeting and "Attendance is ticked" not in meeting  # staff's instruction, not the chair's
    assert (await client.get(f"/chair/councils/{other['id']}")).status_code == 403
    csv_r = await client.get(f"/chair/councils/{a['council']['id']}/roster.csv")
    assert csv_r.status_code == 200 and b"Dana Whitfield" in csv_r.content
    for crm_url in ("/councils", "/employers", "/partnerships", "/admin", f"/councils/{a['council']['id']}/edit"):
        assert (await client.get(crm_url)).status_code == 403, crm_url
    # A council's own page as staff link it (an e-mail, a bookmark) takes the chair to their view of it,
    # which still refuses a council that is not theirs; its edit page stays refused outright.
    mine, theirs = f"councils/{a['council']['id']}", f"councils/{other['id']}"
    for crm_url, chair_url in ((f"/{mine}", f"/chair/{mine}"), (f"/{mine}/roster", f"/chair/{mine}/roster"),
                               (f"/{theirs}", f"/chair/{theirs}")):
        r = await client.get(crm_url, follow_redirects=False)
        assert (r.status_code, r.headers.get("location")) == (303, chair_url), crm_url
    assert (await client.get(f"/councils/{other['id']}")).status_code == 403  # followed: not theirs
    assert (await client.get(f"/councils/{a['council']['id']}")).url.path == f"/chair/councils/{a['council']['id']}"


async def test_chair_can_never_write_through_the_pages(client, world, db):
    a = await _arrange(client, world)
    await login(client, world.users["chair"].email)
    c = f"/councils/{a['council']['id']}"
    tables = (AdvisoryCouncil, CouncilMember, CouncilMeeting, MeetingAttendance, Recommendation, Touch)
    before = {t: await db.scalar(select(func.count(t.id))) for t in tables}
    posts = [("/councils/new", {"name": "X", "owner_organization_id": "1", "region": "LA-BASIN"}),
             (f"{c}/edit", {"name": "Renamed"}),
             (f"{c}/members", {"name": "X", "member_type": "industry"}),
             (f"{c}/members/{a['member']['id']}/remove", {}),
             (f"{c}/meetings", {"held_on": today().isoformat()}),
             (f"{c}/meetings/{a['meeting']['id']}/attendance/{a['member']['id']}", {"present": "1"}),
             (f"{c}/recommendations", {"text": "x"}),
             ("/partnerships/new", {"name": "X"})]
    for url, data in posts:
        r = await client.post(url, data={**data, "_csrf_token": client.cookies.get("csrftoken")},
                              follow_redirects=False)
        assert r.status_code == 403, (url, r.status_code)
    await db.rollback()
    assert {t: await db.scalar(select(func.count(t.id))) for t in tables} == before


@pytest.mark.parametrize("who", ["lead", "spoc", "partner"])
async def test_crm_users_without_the_chair_role_get_403_on_chair_pages(client, world, who):
    await login(client, world.users[who].email)
    assert (await client.get("/chair")).status_code == 403


async def test_council_form_refuses_a_naics_prefix_of_no_sector_beside_the_field(client, world, db):
    await login(client, world.users["partner"].email)
    await client.get("/councils/new")
    r = await client.post("/councils/new", headers=csrf(client), data={
        "name": "Welding", "owner_organization_id": str(world.orgs["college"].id), "region": "LA-BASIN",
        "naics_prefix": "99"})
    assert r.status_code == 422 and "99 is not a NAICS sector" in r.text
    assert said_beside(r.text, "naics_prefix", "99 is not a NAICS sector")
    assert await db.scalar(select(func.count(AdvisoryCouncil.id))) == 0


async def test_a_council_owner_not_allowed_in_the_region_is_said_beside_the_field_and_the_form_kept(
        client, world, db):
    await login(client, world.users["lead"].email)
    form = await client.get("/councils/new")
    assert '<option value="LA-BASIN" selected>' in form.text  # the lead's own region first
    r = await client.post("/councils/new", headers=csrf(client), data={
        "name": "Bay Welding Advisory", "owner_organization_id": str(world.orgs["bay_board"].id),
        "region": "BAY-PENINSULA"})
    assert r.status_code == 403 and 'value="Bay Welding Advisory"' in r.text
    assert said_beside(r.text, "owner_organization_id", "Councils are created by")
    assert "Councils are created by" in tied_errors(r.text)["owner_organization_id"]
    owner = attrs_of(r.text, "select", name="owner_organization_id")
    assert owner["aria-invalid"] == "true" and owner["aria-describedby"] == "owner_organization_id-error"
    r = await client.post("/councils/new", headers=csrf(client), data={
        "name": "Welding", "owner_organization_id": str(world.orgs["board"].id), "region": "LA-BASIN",
        "description": "x" * 20001})
    assert r.status_code == 422 and tied_errors(r.text)["description"] == "at most 20000 characters"
    assert attrs_of(r.text, "textarea", name="description")["aria-describedby"] == "description-error"
    assert await db.scalar(select(func.count(AdvisoryCouncil.id))) == 0


# --- partnerships ---------------------------------------------------------------------------------

async def test_partnership_form_refuses_a_naics_prefix_of_no_sector_naming_the_entry(client, world, db):
    await login(client, world.users["lead"].email)
    await client.get("/partnerships/new")
    r = await client.post("/partnerships/new", headers=csrf(client), data={
        "name": "LA Logistics", "owner_organization_id": str(world.orgs["board"].id), "regions": "LA-BASIN",
        "stage": "scoping", "naics_prefixes": "484, 99"})
    assert r.status_code == 422 and "entry 2 (99): 99 is not a NAICS sector" in r.text
    assert said_beside(r.text, "naics_prefixes", "99 is not a NAICS sector")
    assert 'value="484, 99"' in r.text  # what was typed is kept
    assert await db.scalar(select(func.count(SectorPartnership.id))) == 0


async def test_a_stage_chosen_on_a_partnership_page_older_than_anothers_change_is_refused(client, world, db):
    lead, p = await _la_partnership(client, world, stage="scoping")
    stage = f"/partnerships/{p['id']}/stage"
    await login(client, world.users["lead"].email)
    older = seen_in((await client.get(f"/partnerships/{p['id']}")).text, stage)
    r = await client.post(stage, headers=csrf(client), follow_redirects=False,
                          data={"stage": "launched", "seen": older})
    assert r.status_code == 303
    # The same older page moves it on to "preparing launch": it would have undone the launch.
    r = await client.post(stage, headers={"HX-Request": "true", **csrf(client)},
                          data={"stage": "preparing_launch", "seen": older})
    assert r.status_code == 409 and "changed meanwhile by Lee Lead" in r.text and "stage launched" in r.text
    assert '<option value="preparing_launch" selected>' in r.text  # the choice made stays chosen
    assert "changed meanwhile by Lee Lead" in tied_errors(r.text)["stage"]
    chosen = attrs_of(r.text, "select", name="stage")
    assert chosen["aria-invalid"] == "true" and chosen["aria-describedby"] == "partnership-stage-error"
    await db.rollback()
    assert (await db.get(SectorPartnership, p["id"], populate_existing=True)).stage == "launched"
    r = await client.post(stage, headers={"HX-Request": "true", **csrf(client)},
                          data={"stage": "preparing_launch", "seen": seen_in(r.text, stage)})
    assert r.status_code == 200

async def test_the_partnership_list_stacks_each_partnership_as_labelled_lines_on_a_phone(client, world):
    await _la_partnership(client, world, stage="scoping")
    await login(client, world.users["lead"].email)
    listing = (await client.get("/partnerships")).text
    assert "stack" in attrs_of(listing, "table", id="partnerships")["class"].split()
    assert '<td data-label="Regions">LA-BASIN</td>' in listing


async def test_a_stage_changed_in_place_is_said_in_the_pages_live_region_and_the_stage_line_gets_the_focus(
        client, world):
    lead, p = await _la_partnership(client, world, stage="scoping")
    stage = f"/partnerships/{p['id']}/stage"
    await login(client, world.users["lead"].email)
    page = (await client.get(f"/partnerships/{p['id']}")).text
    assert attrs_of(page, "div", id="partnership-status")["role"] == "status"
    assert page.index('id="partnership-status"') < page.index('id="stage"')  # outside what the answer swaps
    r = await client.post(stage, headers={"HX-Request": "true", **csrf(client)},
                          data={"stage": "preparing_launch", "seen": seen_in(page, stage)})
    said = r.text.split('<div id="partnership-status" hx-swap-oob="innerHTML">', 1)[1].split("</div>", 1)[0]
    assert "Stage changed to preparing launch" in said
    assert "data-focus" in attrs_of(r.text, "p")  # the stage line, not the whole section


async def test_a_meeting_recorded_in_place_is_said_in_the_pages_live_region_and_gets_the_focus(client, world, db):
    a = await _arrange(client, world)
    base = f"/councils/{a['council']['id']}"
    await login(client, world.users["partner"].email)
    page = (await client.get(base)).text
    assert attrs_of(page, "div", id="council-status")["role"] == "status"
    assert page.index('id="council-status"') < page.index('id="meetings"')  # outside what the answer swaps
    held_on = today() - dt.timedelta(days=3)
    r = await client.post(f"{base}/meetings", headers={"HX-Request": "true", **csrf(client)},
                          data={"held_on": held_on.isoformat(), "agenda": "Lab equipment"})
    assert r.status_code == 200, r.text
    said = r.text.split('<div id="council-status" hx-swap-oob="innerHTML">', 1)[1].split("</div>", 1)[0]
    assert f"Recorded the meeting of {held_on.day} {held_on:%b %Y}" in said
    recorded = await db.scalar(select(CouncilMeeting.id).where(CouncilMeeting.held_on == held_on))
    assert "data-focus" in attrs_of(r.text, "article", id=f"meeting-{recorded}")  # the meeting, not the section
    assert "data-focus" not in attrs_of(r.text, "article", id=f"meeting-{a['meeting']['id']}")
    roster = await client.post(f"{base}/members", headers={"HX-Request": "true", **csrf(client)},
                               data={"name": "Lee Park", "member_type": "community"})
    assert roster.status_code == 200 and 'id="council-status" hx-swap-oob="innerHTML"' in roster.text


async def test_partnership_convening_ticks_split_business_and_public(client, world, db):
    lead, p = await _la_partnership(client, world, naics_prefixes=["484", "493"], stage="launched")
    employer = await world.f.employer("Harbor Freight Lines")
    base = f"/api/partnerships/{p['id']}"
    business = (await client.post(f"{base}/members", headers=lead, json={"kind": "employer",
                                                                         "employer_id": employer.id})).json()
    support = (await client.post(f"{base}/members", headers=lead, json={
        "kind": "support", "organization_id": world.orgs["board"].id, "support_role": "convener"})).json()
    meeting = (await client.post(f"{base}/meetings", headers=lead, json={"held_on": today().isoformat()})).json()
    await login(client, world.users["lead"].email)
    page = await client.get(f"/partnerships/{p['id']}")
    assert page.status_code == 200 and "Harbor Freight Lines" in page.text
    assert attrs_of(page.text, "div", **{"class": "attendance"}).get("role") == "group"
    url = f"/partnerships/{p['id']}/meetings/{meeting['id']}/attendance"
    r = await client.post(f"{url}/{business['id']}", data={"present": "1"},
                          headers={"HX-Request": "true", **csrf(client)})
    assert r.status_code == 200 and "<html" not in r.text
    assert "1 business" in r.text and "0 public" in r.text and "business outnumber public" in r.text
    r = await client.post(f"{url}/{support['id']}", data={"present": "1"},
                          headers={"HX-Request": "true", **csrf(client)})
    assert "1 business" in r.text and "1 public" in r.text and "business do not outnumber public" in r.text
    stored = await db.get(PartnershipMeeting, meeting["id"])
    assert (stored.business_count, stored.public_count) == (1, 1)
    touch = await db.scalar(select(Touch).where(Touch.employer_id == employer.id))
    assert touch is not None and touch.channel == "event" and touch.source == "meeting"
    assert await db.scalar(select(func.count(PartnershipMember.id))) == 2
    assert await db.scalar(select(func.count(SectorPartnership.id))) == 1


async def _partnership_with_a_team(client, world):
    """The lead's token, an LA logistics partnership at the action-teams stage, and its CDL action team."""
    lead, p = await _la_partnership(client, world, naics_prefixes=["484"], stage="action_teams")
    team = (await client.post(f"/api/partnerships/{p['id']}/action-teams", headers=lead,
                              json={"name": "CDL apprenticeship"})).json()
    return lead, p, team


async def test_only_open_milestones_past_their_due_date_are_marked_overdue(client, world):
    lead, p, team = await _partnership_with_a_team(client, world)
    base = f"/api/partnerships/{p['id']}/action-teams/{team['id']}/milestones"
    past, later = (today() - dt.timedelta(days=3)).isoformat(), (today() + dt.timedelta(days=3)).isoformat()
    for title, due_on, status in (("Planned late", past, "planned"), ("Started late", past, "in_progress"),
                                  ("Done late", past, "done"), ("Missed", past, "missed"),
                                  ("Planned ahead", later, "planned")):
        ms = (await client.post(base, headers=lead, json={"title": title, "due_on": due_on})).json()
        assert (await client.patch(f"{base}/{ms['id']}", headers=lead, json={"status": status})).status_code == 200
    await login(client, world.users["lead"].email)
    page = (await client.get(f"/partnerships/{p['id']}")).text
    overdue = {title for title in ("Planned late", "Started late", "Done late", "Missed", "Planned ahead")
               if "overdue" in page.split(f"<td>{title}</td>", 1)[1].split("</tr>", 1)[0]}
    assert overdue == {"Planned late", "Started late"}


async def test_refused_convening_and_milestone_forms_keep_what_was_typed_and_mark_the_field(client, world, db):
    lead, p, team = await _partnership_with_a_team(client, world)
    await login(client, world.users["lead"].email)
    await client.get(f"/partnerships/{p['id']}")
    hx = {"HX-Request": "true", **csrf(client)}
    r = await client.post(f"/partnerships/{p['id']}/meetings", headers=hx,
                          data={"held_on": "", "agenda": "Forklift certification and the spring hiring fair"})
    assert r.status_code == 422 and "Forklift certification and the spring hiring fair</textarea>" in r.text
    r = await client.post(f"/partnerships/{p['id']}/meetings", headers=hx,
                          data={"held_on": today().isoformat(), "agenda": "x" * 20001})
    assert r.status_code == 422 and "agenda" in tied_errors(r.text), r.text[-2000:]
    agenda = attrs_of(r.text, "textarea", name="agenda")
    assert agenda["aria-invalid"] == "true" and agenda["aria-describedby"] == "meeting-agenda-error"
    r = await client.post(f"/partnerships/{p['id']}/action-teams/{team['id']}/milestones", headers=hx,
                          data={"title": "First cohort of 20 drivers", "due_on": ""})
    assert r.status_code == 422 and 'value="First cohort of 20 drivers"' in r.text
    assert "due_on:" not in r.text  # the field is named by its label, as every form does
    due = r.text.split('name="due_on"', 1)[1].split("</label>", 1)[0]
    assert 'aria-invalid="true"' in due and "is required" in due
    assert "Due date" in r.text.split('name="due_on"', 1)[0].rsplit("<label", 1)[1]
    assert await db.scalar(select(func.count(PartnershipMeeting.id))) == 0


async def test_recommendations_are_listed_newest_first_by_their_meetings_date_or_the_day_recorded(client, world):
    a = await _arrange(client, world)  # a meeting today
    staff = await world.f.auth(world.users["partner"])
    base = f"/api/councils/{a['council']['id']}"
    long_ago, lately = [(await client.post(f"{base}/meetings", headers=staff, json={
        "held_on": (today() - dt.timedelta(days=days)).isoformat()})).json()["id"] for days in (400, 30)]
    ids = {}
    for name, meeting_id in (("today's", a["meeting"]["id"]), ("long ago", long_ago), ("lately", lately),
                             ("between meetings", None)):  # recorded today, after the one of today's meeting
        ids[name] = (await client.post(f"{base}/recommendations", headers=staff, json={
            "text": f"Recommended {name}", "meeting_id": meeting_id})).json()["id"]
    newest_first = [ids[n] for n in ("between meetings", "today's", "lately", "long ago")]
    listing = (await client.get(f"{base}/recommendations", headers=staff)).json()
    assert [r["id"] for r in listing["items"]] == newest_first
    await login(client, world.users["partner"].email)
    page = (await client.get(f"/councils/{a['council']['id']}")).text
    assert sorted(newest_first, key=lambda i: page.index(f'id="rec-{i}"')) == newest_first


async def test_ticking_someone_whose_term_does_not_cover_the_meeting_is_422_in_place(client, world, db):
    a = await _arrange(client, world)
    staff = await world.f.auth(world.users["partner"])
    former = (await client.post(f"/api/councils/{a['council']['id']}/members", headers=staff, json={
        "name": "Former Member", "member_type": "industry", "term_start": "2020-01-01",
        "term_end": "2021-01-01"})).json()
    await login(client, world.users["partner"].email)
    await client.get(f"/councils/{a['council']['id']}")
    r = await client.post(f"/councils/{a['council']['id']}/meetings/{a['meeting']['id']}/attendance/{former['id']}",
                          data={"present": "1"}, headers={"HX-Request": "true", **csrf(client)})
    assert r.status_code == 422 and "<html" not in r.text
    assert "term does not cover the meeting" in r.text and "checked" not in r.text
    tick = f"tick-{a['meeting']['id']}-{former['id']}-error"
    assert "term does not cover the meeting" in tied_errors(r.text)["present"]
    assert attrs_of(r.text, "input", name="present")["aria-describedby"] == tick
    r = await client.post(f"/councils/{a['council']['id']}/recommendations", data={"text": " "},
                          headers={"HX-Request": "true", **csrf(client)})
    assert r.status_code == 422 and "text" in tied_errors(r.text), r.text[-2000:]
    text = attrs_of(r.text, "textarea", name="text")
    assert text["aria-invalid"] == "true" and text["aria-describedby"] == "recommendation-text-error"
    await db.rollback()
    assert await db.scalar(select(func.count(MeetingAttendance.id))) == 0


async def test_partnership_support_team_form_says_every_problem_at_once_and_keeps_the_choices(client, world, db):
    lead, p = await _la_partnership(client, world)
    await login(client, world.users["lead"].email)
    await client.get(f"/partnerships/{p['id']}")
    r = await client.post(f"/partnerships/{p['id']}/members", headers={"HX-Request": "true", **csrf(client)},
                          data={"kind": "support", "support_role": "", "name": "", "email": "pat@",
                                "organization_id": "", "employer_name": "Harbor Frei"})
    assert r.status_code == 422
    for field, said in (("support_role", "must be one of"), ("name", "name the person or choose an organization"),
                        ("email", "is not a valid e-mail address"),
                        ("employer_name", "choose the employer from the list")):
        assert said_beside(r.text, field, said), field
    assert r.text.count("choose the employer from the list") == 1  # beside its field, not again below
    tied = tied_errors(r.text)
    assert "must be one of" in tied["support_role"]
    role = attrs_of(r.text, "select", name="support_role")
    assert role["aria-invalid"] == "true" and role["aria-describedby"] == "member-support_role-error"
    r = await client.post(f"/partnerships/{p['id']}/members", headers={"HX-Request": "true", **csrf(client)},
                          data={"kind": "support", "support_role": "convener", "organization_id": "999999"})
    assert r.status_code in (404, 422) and "organization_id" in tied_errors(r.text), r.text[-3000:]
    assert attrs_of(r.text, "select", name="organization_id")["aria-describedby"] == "member-organization_id-error"
    e = await world.f.employer("Harbor Freight Lines")
    r = await client.post(f"/partnerships/{p['id']}/members", headers={"HX-Request": "true", **csrf(client)},
                          data={"kind": "champion", "employer_id": str(e.id), "employer_name": "Harbor Freight Lines",
                                "employer_contact_id": "999999"})
    assert r.status_code in (404, 422) and "employer_contact_id" in tied_errors(r.text), r.text[-3000:]
    contact = attrs_of(r.text, "select", name="employer_contact_id")
    assert contact["aria-describedby"] == "member-employer_contact_id-error"
    r = await client.post(f"/partnerships/{p['id']}/action-teams", headers={"HX-Request": "true", **csrf(client)},
                          data={"name": "CDL", "business_chair_id": "999999"})
    assert r.status_code == 422 and "is not a member of this partnership" in tied_errors(r.text)["business_chair_id"]
    assert attrs_of(r.text, "select", name="business_chair_id")["aria-describedby"] == (
        "team-business_chair_id-error")
    r = await client.post(f"/partnerships/{p['id']}/action-teams", headers={"HX-Request": "true", **csrf(client)},
                          data={"name": "CDL", "support_staff_id": "999998"})
    assert r.status_code == 422 and "support_staff_id" in tied_errors(r.text)
    staff = attrs_of(r.text, "select", name="support_staff_id")
    assert staff["aria-invalid"] == "true" and staff["aria-describedby"] == "team-support_staff_id-error"
    org = world.orgs["board"]
    r = await client.post(f"/partnerships/{p['id']}/members", headers={"HX-Request": "true", **csrf(client)},
                          data={"kind": "support", "support_role": "convener", "organization_id": str(org.id),
                                "email": "pat@"})
    assert r.status_code == 422 and f'<option value="{org.id}" selected>' in r.text
    assert "<option selected>convener</option>" in r.text
    await db.rollback()
    assert await db.scalar(select(func.count(PartnershipMember.id))) == 0


async def test_partnership_members_download_as_a_spreadsheet_for_staff_and_the_chair_member(client, world):
    lead, p = await _la_partnership(client, world)
    base = f"/api/partnerships/{p['id']}/members"
    harbor = await world.f.employer("Harbor Freight Lines")
    await client.post(base, headers=lead, json={"kind": "employer", "employer_id": harbor.id, "name": "Chris Chair",
                                                "email": "chair@example.org", "title": "COO"})
    await client.post(base, headers=lead, json={"kind": "employer", "employer_id": (await world.f.employer(
        "=HYPERLINK(evil)")).id})
    await client.post(base, headers=lead, json={"kind": "support", "organization_id": world.orgs["board"].id,
                                                "support_role": "convener"})
    expected = [["Kind", "Name", "Title", "Employer / organization", "Support role", "Email"],
                ["member employer", "", "", "'=HYPERLINK(evil)", "", ""],  # never run as a formula
                ["member employer", "Chris Chair", "COO", "Harbor Freight Lines", "", "chair@example.org"],
                ["support team", "", "", "LA Basin WDB", "convener", ""]]
    await login(client, world.users["lead"].email)
    page = await client.get(f"/partnerships/{p['id']}")
    assert f'href="/partnerships/{p["id"]}/members.csv"' in page.text
    r = await client.get(f"/partnerships/{p['id']}/members.csv")
    assert r.headers["content-disposition"] == 'attachment; filename="la-logistics-partnership-members.csv"'
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")))) == expected
    await client.post("/logout", data={"_csrf_token": client.cookies.get("csrftoken")})
    await login(client, world.users["chair"].email)  # a seat gives the chair the read-only view
    page = await client.get(f"/chair/partnerships/{p['id']}")
    assert page.status_code == 200 and '<a href="/chair">← My councils &amp; partnerships</a>' in page.text
    assert f'href="/chair/partnerships/{p["id"]}/members.csv"' in page.text and "Harbor Freight Lines" in page.text
    assert "Add a member" not in page.text and "<form" not in page.text.split('<main id="main"', 1)[1]  # read-only
    r = await client.get(f"/chair/partnerships/{p['id']}/members.csv")
    assert list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")))) == expected
    r = await client.get(f"/partnerships/{p['id']}/members.csv", follow_redirects=False)  # as staff link it
    assert (r.status_code, r.headers["location"]) == (303, f"/chair/partnerships/{p['id']}/members.csv")


async def test_members_are_added_by_picking_the_employer_and_a_typed_name_alone_is_refused(client, world, db):
    a = await _arrange(client, world)
    await login(client, world.users["partner"].email)
    page = (await client.get(f"/councils/{a['council']['id']}")).text
    form = page.split('action="/councils/', 2)[-1]
    assert 'id="cmember-employer"' in page and 'name="employer_name"' in page and "Employer #" not in page
    assert 'name="employer_website"' not in form  # pick only: no website / FEIN / ZIP to resolve from
    url = f"/councils/{a['council']['id']}/members"
    r = await client.post(url, headers={"HX-Request": "true", **csrf(client)}, data={
        "name": "Rosa Diaz", "member_type": "industry", "role": "member", "employer_name": "Pacific Steel"})
    assert r.status_code == 422 and "choose the employer from the list" in r.text
    assert await db.scalar(select(func.count(CouncilMember.id))) == 3
    r = await client.post(url, headers={"HX-Request": "true", **csrf(client)}, data={
        "name": "Rosa Diaz", "member_type": "industry", "role": "member", "employer_name": "Pacific Steel Fabricators",
        "employer_id": str(a["employer"].id)})
    assert r.status_code == 200
    await db.rollback()
    assert await db.scalar(select(CouncilMember.employer_id).where(CouncilMember.name == "Rosa Diaz")) == \
        a["employer"].id


async def test_picking_an_employer_lists_its_people_for_a_champion(client, world):
    employer = await world.f.employer("Pacific Steel Fabricators")
    async with world.f.sessionmaker() as db, db.begin():
        from crm.employers.models import EmployerContact

        db.add_all([EmployerContact(employer_id=employer.id, name="Ana Ruiz", title="HR Director"),
                    EmployerContact(employer_id=employer.id, name="Bo Chen")])
    await login(client, world.users["lead"].email)
    r = await client.get("/employers/contact-options", params={"employer_id": str(employer.id)},
                         headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text
    assert ">Ana Ruiz · HR Director</option>" in r.text and ">Bo Chen</option>" in r.text
    assert "Pick the employer first" in (await client.get("/employers/contact-options")).text
    await login(client, world.users["chair"].email)
    assert (await client.get("/employers/contact-options", params={"employer_id": str(employer.id)})).status_code \
        == 403


async def test_a_partnership_owner_not_allowed_in_the_regions_is_said_beside_the_field_and_the_form_kept(
        client, world, db):
    await login(client, world.users["lead"].email)
    await client.get("/partnerships/new")
    r = await client.post("/partnerships/new", headers=csrf(client), data={
        "name": "Bay Logistics", "owner_organization_id": str(world.orgs["bay_board"].id),
        "regions": "BAY-PENINSULA", "stage": "scoping"})
    assert r.status_code == 403 and 'value="Bay Logistics"' in r.text, r.text[:2000]
    assert 'name="owner_organization_id"' in r.text and 'role="alert"' in r.text
    assert "owner_organization_id" in tied_errors(r.text)
    owner = attrs_of(r.text, "select", name="owner_organization_id")
    assert owner["aria-invalid"] == "true" and owner["aria-describedby"] == "owner_organization_id-error"
    r = await client.post("/partnerships/new", headers=csrf(client), data={
        "name": "Bay Logistics", "owner_organization_id": str(world.orgs["bay_board"].id),
        "regions": "BAY-PENINSULA", "stage": "dreaming"})
    assert r.status_code == 422 and "stage" in tied_errors(r.text)
    assert attrs_of(r.text, "select", name="stage")["aria-describedby"] == "stage-error"
    r = await client.post("/partnerships/new", headers=csrf(client), data={
        "name": "Bay Logistics", "owner_organization_id": str(world.orgs["bay_board"].id), "stage": "scoping"})
    assert r.status_code == 422 and "regions" in tied_errors(r.text)
    regions = attrs_of(r.text, "input", name="regions")
    assert regions["aria-invalid"] == "true" and regions["aria-describedby"] == "regions-error"
    assert await db.scalar(select(func.count(SectorPartnership.id))) == 0


async def test_a_partnership_page_says_which_target_industries_its_member_employers_cover(client, world):
    lead, p = await _la_partnership(client, world, naics_prefixes=["484", "493"])
    trucking = await world.f.employer("Harbor Freightways", naics_code="484121", size_band="50-249")
    r = await client.post(f"/api/partnerships/{p['id']}/members", headers=lead,
                          json={"kind": "employer", "employer_id": trucking.id})
    assert r.status_code == 201, r.text
    await login(client, world.users["lead"].email)
    page = (await client.get(f"/partnerships/{p['id']}")).text
    assert "484 Transportation and Warehousing: 1 member employer</span>" in page
    assert '<span class="chip warn" title="NAICS 493">493 Transportation and Warehousing: no member employers' in page
    assert "Transportation and Warehousing, 50-249 employees" in page  # the member's own sector and size


async def test_a_partner_whose_organization_has_none_is_told_whose_councils_the_list_shows(client, world):
    staff = await world.f.auth(world.users["partner"])  # East LA College's
    r = await client.post("/api/councils", headers=staff, json={
        "name": "Welding Advisory", "owner_organization_id": world.orgs["college"].id, "region": "LA-BASIN"})
    assert r.status_code == 201, r.text
    await login(client, world.users["partner2"].email)  # another organization's partner
    for page, thing in (("/councils", "councils"), ("/partnerships", "partnerships")):
        text = (await client.get(page)).text
        assert f"Your organization has no {thing} yet" in text and "Welding Advisory" not in text, page
    await login(client, world.users["spoc"].email)
    assert "Welding Advisory" in (await client.get("/councils")).text  # the region's staff see it
