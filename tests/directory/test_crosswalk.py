"""The regional crosswalk: who offers which service in a region; an organization's staff or a lead keep its row."""

from __future__ import annotations

import csv
import html
import io

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditEvent
from crm.directory.models import ServiceOffering
from tests.factories import login

API = "/api/crosswalk"


def services_of(body, name):
    return next(o["services"] for o in body["organizations"] if o["name"] == name)


async def put(client, world, who, org, region="LA-BASIN", services=()):
    return await client.put(f"/api/organizations/{world.orgs[org].id}/services",
                            headers=await world.f.auth(world.users[who]),
                            json={"region": region, "services": list(services)})


async def test_a_partner_lists_its_services_and_everyone_in_the_crm_sees_them(client, world, db):
    r = await put(client, world, "partner", "college", services=["training", "apprenticeship", "training"])
    assert r.status_code == 200, r.text
    assert r.json() == {"organization_id": world.orgs["college"].id, "region": "LA-BASIN",
                        "services": ["apprenticeship", "training"]}
    spoc = await world.f.auth(world.users["spoc"])
    body = (await client.get(API, params={"region": "la-basin"}, headers=spoc)).json()
    assert body["region"] == "LA-BASIN" and len(body["services"]) == 14
    assert services_of(body, "East LA College") == ["apprenticeship", "training"]
    assert services_of(body, "LA Basin WDB") == []
    assert "NOVA Workforce Board" not in {o["name"] for o in body["organizations"]}  # serves BAY-PENINSULA only
    event = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "organization.services"))).one()
    assert (event.before, event.after) == ({"services": []}, {"services": ["apprenticeship", "training"]})


async def test_replacing_the_list_removes_what_is_no_longer_offered_and_a_repeat_changes_nothing(client, world, db):
    await put(client, world, "partner", "college", services=["training", "reentry"])
    r = await put(client, world, "partner", "college", services=["reentry", "youth_services"])
    assert r.json()["services"] == ["reentry", "youth_services"]
    await put(client, world, "partner", "college", services=["youth_services", "reentry"])
    assert await db.scalar(select(func.count(ServiceOffering.id))) == 2
    assert await db.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "organization.services")) == 2


async def test_filters_by_kind_and_by_service(client, world):
    await put(client, world, "lead", "board", services=["business_services"])
    await put(client, world, "lead", "college", services=["training"])
    headers = await world.f.auth(world.users["partner"])
    boards = (await client.get(API, params={"kind": "workforce_board"}, headers=headers)).json()
    assert [o["name"] for o in boards["organizations"]] == ["LA Basin WDB"]
    trainers = (await client.get(API, params={"service": "training"}, headers=headers)).json()
    assert [o["name"] for o in trainers["organizations"]] == ["East LA College"]


@pytest.mark.parametrize(("who", "org", "region", "status"), [
    ("partner2", "college", "LA-BASIN", 403),   # another organization's staff
    ("bay_lead", "college", "LA-BASIN", 403),   # a lead of another region
    ("chair", "college", "LA-BASIN", 403),      # never the CRM
    ("lead", "college", "LA-BASIN", 200),       # a lead of the region keeps any row there
    ("admin", "bay_board", "BAY-PENINSULA", 200),
])
async def test_who_may_change_an_organizations_services(client, world, db, who, org, region, status):
    r = await put(client, world, who, org, region=region, services=["job_placement"])
    assert r.status_code == status
    assert await db.scalar(select(func.count(ServiceOffering.id))) == (1 if status == 200 else 0)


@pytest.mark.parametrize(("body", "field"), [
    ({"region": "LA-BASIN", "services": ["teleportation"]}, "services"),
    ({"region": "BAY-PENINSULA", "services": ["training"]}, "region"),  # the college does not serve it
    ({"region": "LA-BASIN", "services": "training"}, "services"),
    ({"region": "LA-BASIN"}, "services"),
    ({"region": "LA-BASIN", "services": [], "extra": 1}, "extra"),
])
async def test_bad_input_is_422_naming_the_field_and_writes_nothing(client, world, db, body, field):
    r = await client.put(f"/api/organizations/{world.orgs['college'].id}/services",
                         headers=await world.f.auth(world.users["admin"]), json=body)
    assert r.status_code == 422, r.text
    assert field in [f["field"] for f in r.json()["error"]["fields"]]
    assert await db.scalar(select(func.count(ServiceOffering.id))) == 0


async def test_unknown_region_organization_or_service_filter(client, world):
    headers = await world.f.auth(world.users["admin"])
    assert (await client.get(API, params={"region": "NOWHERE"}, headers=headers)).status_code == 404
    assert (await client.get(API, params={"service": "teleportation"}, headers=headers)).status_code == 422
    r = await client.get(API, params={"kind": "spaceport"}, headers=headers)
    assert r.status_code == 422 and "kind" in r.text and "community_college" in r.text
    r = await client.get("/api/organizations", params={"kind": "spaceport"}, headers=headers)
    assert r.status_code == 422 and "kind" in r.text
    r = await client.put("/api/organizations/999999/services", headers=headers,
                         json={"region": "LA-BASIN", "services": []})
    assert r.status_code == 404


async def test_a_chair_cannot_read_the_crosswalk(client, world):
    chair = await world.f.auth(world.users["chair"])
    assert (await client.get(API, headers=chair)).status_code == 403
    assert (await client.get(f"{API}/csv", headers=chair)).status_code == 403


async def test_the_crosswalk_downloads_as_a_spreadsheet_with_the_pages_filters(client, world):
    await put(client, world, "lead", "college", services=["training", "apprenticeship"])
    await put(client, world, "lead", "board", services=["business_services"])
    r = await client.get(f"{API}/csv", params={"region": "LA-BASIN", "service": "training"},
                         headers=await world.f.auth(world.users["partner2"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="onedoor-crosswalk-LA-BASIN.csv"' in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["organization", "kind"] and len(rows[0]) == 16
    assert len(rows) == 2 and rows[1][:2] == ["East LA College", "community_college"]
    marked = {rows[0][i] for i, cell in enumerate(rows[1]) if cell == "x"}
    assert marked == {"Occupational skills training", "Apprenticeship"}


async def test_the_page_shows_the_matrix_and_the_partner_keeps_its_row_without_javascript(client, world, db):
    await put(client, world, "lead", "board", services=["business_services"])
    await login(client, world.users["partner"].email)
    page = await client.get("/crosswalk")
    assert page.status_code == 200 and "Services crosswalk · Los Angeles Basin" in page.text
    assert '<span role="img" aria-label="offers Business services">●</span>' in page.text
    assert 'href="/api/crosswalk/csv?region=LA-BASIN"' in page.text
    edit = f"/crosswalk/organizations/{world.orgs['college'].id}?region=LA-BASIN"
    assert f'href="{edit}"' in page.text  # the partner's own row has an edit link
    assert f"/crosswalk/organizations/{world.orgs['board'].id}?" not in page.text  # not another's
    form = await client.get(edit)
    assert form.status_code == 200 and 'name="services" value="reentry"' in form.text
    r = await client.post(edit, follow_redirects=False, data={
        "services": ["reentry", "supportive_services"], "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 303 and r.headers["location"] == "/crosswalk?region=LA-BASIN"
    after = await client.get("/crosswalk", params={"service": "reentry"})
    assert "East LA College" in after.text and "LA Basin WDB" not in after.text
    assert "1 organization serving the region offers reentry services" in after.text
    bad = await client.post(edit, data={"services": ["teleportation"], "_csrf_token": client.cookies.get("csrftoken")})
    assert bad.status_code == 422 and "unknown service(s): teleportation" in bad.text
    assert (await client.get(f"/crosswalk/organizations/{world.orgs['board'].id}")).status_code == 403


@pytest.mark.parametrize(("params", "field", "message"), [
    ({"kind": "bogus"}, "kind", "'bogus' is not a kind of organization; showing every kind"),
    ({"service": "teleportation"}, "service", "'teleportation' is not a service; showing every service"),
    ({"region": "NOWHERE"}, "region", "'NOWHERE' is not a region code; showing LA-BASIN"),
    ({"kind": "x" * 300}, "kind", "is not a kind of organization"),  # longer than any code: still in place
])
async def test_a_wrong_filter_is_said_beside_it_and_the_matrix_still_shows(client, world, params, field, message):
    await put(client, world, "lead", "college", services=["training"])
    await login(client, world.users["partner"].email)
    page = await client.get("/crosswalk", params=params)
    text = html.unescape(page.text)
    assert page.status_code == 422
    assert "Services crosswalk · Los Angeles Basin" in text and '<table class="grid crosswalk">' in text
    assert "East LA College" in text and "LA Basin WDB" in text  # the wrong filter filters nothing
    said = text.index(message)
    assert text.rindex(f'<select name="{field}" aria-invalid="true" aria-describedby="{field}-error"', 0,
                       said) > text.rindex("<label", 0, said)
    assert text.count('role="alert"') == 1


async def test_every_wrong_filter_is_said_at_once_and_a_right_one_still_applies(client, world):
    await put(client, world, "lead", "college", services=["training"])
    await put(client, world, "lead", "board", services=["business_services"])
    await login(client, world.users["partner"].email)
    page = await client.get("/crosswalk", params={"kind": "bogus", "service": "nothing", "region": "{x}"})
    assert page.status_code == 422 and page.text.count('role="alert"') == 3
    assert "'{x}' is not a region code" in html.unescape(page.text)
    kept = await client.get("/crosswalk", params={"kind": "bogus", "service": "training"})
    assert kept.status_code == 422 and "East LA College" in kept.text and "LA Basin WDB" not in kept.text
    assert '<option value="training" selected>' in kept.text
