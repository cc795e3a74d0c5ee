"""Council and partnership forms: every field says its own error beside it (aria-invalid, tied by
aria-describedby), what was typed is kept, and nothing is written."""

from sqlalchemy import func, select

from crm.councils.models import AdvisoryCouncil, CouncilMeeting, Recommendation
from crm.partnerships.models import Milestone, PartnershipMeeting, PartnershipMember, SectorPartnership
from tests.a11y import attrs_of, tied_errors
from tests.factories import csrf, login, today
from tests.pages.test_council_pages import _arrange, _partnership_with_a_team

TOO_LONG = "x" * 100_000


def _tied_to(html: str, name: str, tag: str, error_id: str) -> str:
    """The error message the control ``name`` is marked invalid with, checking it names ``error_id``."""
    control = attrs_of(html, tag, name=name)
    assert control.get("aria-invalid") == "true" and control.get("aria-describedby") == error_id, control
    return tied_errors(html)[name]


async def test_council_meeting_form_says_an_overlong_agenda_or_minutes_beside_the_field(client, world, db):
    a = await _arrange(client, world)  # one meeting already
    await login(client, world.users["partner"].email)
    await client.get(f"/councils/{a['council']['id']}")
    hx = {"HX-Request": "true", **csrf(client)}
    for name in ("minutes", "agenda"):
        r = await client.post(f"/councils/{a['council']['id']}/meetings", headers=hx,
                              data={"held_on": today().isoformat(), name: TOO_LONG})
        assert r.status_code == 422 and f"{TOO_LONG}</textarea>" in r.text  # kept
        assert _tied_to(r.text, name, "textarea", f"meeting-{name}-error") == "at most 20000 characters"
    r = await client.post(f"/councils/{a['council']['id']}/meetings", headers=hx,
                          data={"held_on": "", "agenda": TOO_LONG, "minutes": TOO_LONG})
    assert r.status_code == 422 and set(tied_errors(r.text)) == {"held_on", "agenda", "minutes"}
    await db.rollback()
    assert await db.scalar(select(func.count(CouncilMeeting.id))) == 1


async def test_council_recommendation_form_says_a_meeting_of_another_council_beside_the_meeting(client, world, db):
    a = await _arrange(client, world)
    await login(client, world.users["partner"].email)
    await client.get(f"/councils/{a['council']['id']}")
    r = await client.post(f"/councils/{a['council']['id']}/recommendations",
                          headers={"HX-Request": "true", **csrf(client)},
                          data={"text": "Add a robotic welding module", "meeting_id": "999999"})
    assert r.status_code == 422 and "Add a robotic welding module</textarea>" in r.text
    said = _tied_to(r.text, "meeting_id", "select", "recommendation-meeting_id-error")
    assert said == "#999999 is not a meeting of this council"
    await db.rollback()
    assert await db.scalar(select(func.count(Recommendation.id))) == 0


async def test_partnership_convening_form_says_overlong_minutes_beside_the_field(client, world, db):
    _lead, p, _team = await _partnership_with_a_team(client, world)
    await login(client, world.users["lead"].email)
    await client.get(f"/partnerships/{p['id']}")
    r = await client.post(f"/partnerships/{p['id']}/meetings", headers={"HX-Request": "true", **csrf(client)},
                          data={"held_on": today().isoformat(), "minutes": TOO_LONG})
    assert r.status_code == 422 and f"{TOO_LONG}</textarea>" in r.text
    assert _tied_to(r.text, "minutes", "textarea", "meeting-minutes-error") == "at most 20000 characters"
    await db.rollback()
    assert await db.scalar(select(func.count(PartnershipMeeting.id))) == 0


async def test_partnership_member_form_says_an_unknown_kind_beside_the_kind(client, world, db):
    _lead, p, _team = await _partnership_with_a_team(client, world)
    await login(client, world.users["lead"].email)
    await client.get(f"/partnerships/{p['id']}")
    r = await client.post(f"/partnerships/{p['id']}/members", headers={"HX-Request": "true", **csrf(client)},
                          data={"kind": "sponsor", "name": "Pat Lee"})
    assert r.status_code == 422
    assert "unknown kind 'sponsor'" in _tied_to(r.text, "kind", "select", "member-kind-error")
    await db.rollback()
    assert await db.scalar(select(func.count(PartnershipMember.id))) == 0


async def test_milestone_form_says_a_problem_of_no_field_of_its_own_without_a_loose_error(client, world, db):
    _lead, p, team = await _partnership_with_a_team(client, world)
    await login(client, world.users["lead"].email)
    await client.get(f"/partnerships/{p['id']}")
    r = await client.post(f"/partnerships/{p['id']}/action-teams/{team['id']}/milestones",
                          headers={"HX-Request": "true", **csrf(client)},
                          data={"title": "First cohort", "due_on": today().isoformat(), "status": "someday"})
    assert r.status_code == 422 and "unknown status &#39;someday&#39;" in r.text
    tied_errors(r.text)  # every error message of a field is tied to its control; this one to none
    await db.rollback()
    assert await db.scalar(select(func.count(Milestone.id))) == 0


# --- create: every bad field named at once --------------------------------------------------------

BAD_COUNCIL = {"name": "W" * 1000, "owner_organization_id": "999999", "region": "ZZ", "naics_prefix": "abc"}


async def test_council_form_names_every_bad_field_at_once_beside_each(client, world, db):
    await login(client, world.users["lead"].email)
    await client.get("/councils/new")
    r = await client.post("/councils/new", headers=csrf(client), data=BAD_COUNCIL)
    assert r.status_code == 422
    tied = tied_errors(r.text)
    assert set(tied) == {"name", "owner_organization_id", "region", "naics_prefix"}, tied
    assert tied["owner_organization_id"] == "unknown organization #999999"
    assert tied["region"] == "unknown region code 'ZZ'" and tied["name"] == "at most 200 characters"
    assert await db.scalar(select(func.count(AdvisoryCouncil.id))) == 0



async def test_partnership_form_names_every_bad_field_at_once_beside_each(client, world, db):
    await login(client, world.users["lead"].email)
    await client.get("/partnerships/new")
    r = await client.post("/partnerships/new", headers=csrf(client), data={
        "name": "L" * 1000, "owner_organization_id": "999999", "regions": "ZZ", "naics_prefixes": "484 abc",
        "stage": "launched"})
    assert r.status_code == 422
    tied = tied_errors(r.text)
    assert set(tied) == {"name", "owner_organization_id", "regions", "naics_prefixes"}, tied
    assert "entry 2 (abc)" in tied["naics_prefixes"] and tied["regions"] == "unknown region code(s): ZZ"
    assert await db.scalar(select(func.count(SectorPartnership.id))) == 0


# --- a form sent twice --------------------------------------------------------------------------------

async def test_new_council_sent_twice_is_refused_the_second_time_at_the_name(client, world, db):
    await login(client, world.users["partner"].email)
    await client.get("/councils/new")
    form = {"name": "Welding Advisory", "owner_organization_id": str(world.orgs["college"].id), "region": "LA-BASIN"}
    first = await client.post("/councils/new", headers=csrf(client), data=form, follow_redirects=False)
    assert first.status_code == 303
    r = await client.post("/councils/new", headers=csrf(client), data={**form, "name": " welding   ADVISORY "})
    assert r.status_code == 409
    assert "already has a council named 'welding ADVISORY' in this region" in tied_errors(r.text)["name"]
    r = await client.post("/councils/new", headers=csrf(client), data={**form, "name": "welding advisory",
                                                                         "naics_prefix": "99"})
    assert r.status_code == 422 and {"name", "naics_prefix"} <= set(tied_errors(r.text))  # said with the rest
    assert await db.scalar(select(func.count(AdvisoryCouncil.id))) == 1


async def test_new_partnership_sent_twice_is_refused_the_second_time_at_the_name(client, world, db):
    await login(client, world.users["lead"].email)
    await client.get("/partnerships/new")
    form = {"name": "LA Logistics", "owner_organization_id": str(world.orgs["board"].id), "regions": "LA-BASIN",
            "stage": "scoping"}
    first = await client.post("/partnerships/new", headers=csrf(client), data=form, follow_redirects=False)
    assert first.status_code == 303
    r = await client.post("/partnerships/new", headers=csrf(client), data={**form, "name": "la  logistics"})
    assert r.status_code == 409
    assert "a partnership named 'la logistics' already exists in LA-BASIN" in tied_errors(r.text)["name"]
    assert await db.scalar(select(func.count(SectorPartnership.id))) == 1
