"""What a region's first day in OneDoor showed its lead and admin (an onboarding walk-through in Chromium):
a routing rule whose whole pool is away says so, and so does the unassigned queue; a touch whose SPOC is away
says it on its card; an away SPOC is marked where an employer is assigned; a deactivated user still holding
employers is marked on the overview; a user created without a password is taken to where one is set; a
refused new user's form comes back where its errors are seen; the admin's regions tile lists the regions."""

from __future__ import annotations

from sqlalchemy import update

from crm.auth.models import User
from tests.factories import csrf, login


async def _away(sessionmaker, user, away: bool = True, **more) -> None:
    async with sessionmaker() as s, s.begin():
        await s.execute(update(User).where(User.id == user.id).values(away=away, **more))


async def test_a_rule_whose_whole_pool_is_away_says_its_touches_wait_unassigned(client, world, sessionmaker):
    lead = await world.f.auth(world.users["lead"])
    rule = (await client.post("/api/regions/LA-BASIN/routing-rules", headers=lead,
                              json={"county": "Los Angeles", "pool": [world.users["spoc2"].id]})).json()
    await login(client, world.users["lead"].email)
    assert "Everyone in this pool is away" not in (await client.get("/region")).text
    await _away(sessionmaker, world.users["spoc2"])
    row = (await client.get("/region")).text.split(f'id="rule-{rule["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert "Sam Ortiz (away)" in row and "Everyone in this pool is away: its touches wait in the unassigned" in row


async def test_the_unassigned_queue_says_an_away_pool_is_one_reason(client, world, desk):
    await desk.touch(await world.f.employer("Golden State Logistics"), None)
    await login(client, world.users["lead"].email)
    section = (await client.get("/queue")).text.split('id="unassigned-queue"', 1)[1].split("</section>", 1)[0]
    assert "everyone in the rule's pool was away" in section


async def test_a_touch_whose_spoc_is_away_says_so_on_its_card_and_its_page(client, world, desk, sessionmaker):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc2"])
    await _away(sessionmaker, world.users["spoc2"])
    await login(client, world.users["lead"].email)
    card = (await client.get("/queue")).text.split(f'id="touch-{t.id}"', 1)[1].split("</article>", 1)[0]
    assert 'SPOC: Sam Ortiz <span class="badge warn">away</span>' in " ".join(card.split())
    assert '<span class="badge warn">away</span>' in (await client.get(f"/queue/touches/{t.id}")).text


async def test_an_away_spoc_is_marked_where_an_employer_is_assigned(client, world, sessionmaker):
    e = await world.f.employer("Golden State Logistics")
    await _away(sessionmaker, world.users["spoc2"])
    await login(client, world.users["lead"].email)
    page = (await client.get(f"/employers/{e.id}")).text
    assert "Sam Ortiz (away)</option>" in page and "Maria Lopez</option>" in page


async def test_namesakes_are_told_apart_by_email_where_an_employer_is_assigned(client, world):
    e = await world.f.employer("Golden State Logistics")
    await world.f.user("maria.lopez2@example.org", "Maria Lopez", [("spoc", "LA-BASIN")])
    await login(client, world.users["lead"].email)
    page = (await client.get(f"/employers/{e.id}")).text
    assert f"Maria Lopez ({world.users['spoc'].email})</option>" in page
    assert "Maria Lopez (maria.lopez2@example.org)</option>" in page and "Sam Ortiz</option>" in page


async def test_a_deactivated_user_holding_employers_is_marked_on_the_overview(client, world, sessionmaker):
    await world.f.assign(await world.f.employer("Golden State Logistics"), world.users["spoc2"])
    await _away(sessionmaker, world.users["spoc2"], away=False, is_active=False)
    await login(client, world.users["lead"].email)
    page = " ".join((await client.get("/queue/overview")).text.split())
    assert '<td>Sam Ortiz</td><td>1</td><td><span class="badge bad">deactivated</span>' in page
    assert 'href="/region/transfer?region=LA-BASIN">transfer their caseload' in page


async def test_a_user_created_without_a_password_is_taken_to_where_one_is_set(client, world):
    await login(client, world.users["admin"].email)
    await client.get("/admin/users")
    r = await client.post("/admin/users", headers=csrf(client), follow_redirects=False, data={
        "email": "new.spoc@example.org", "name": "New Spoc", "role": "spoc", "region": "LA-BASIN"})
    assert r.status_code in (302, 303) and "#access" in r.headers["location"]
    page = (await client.get(r.headers["location"].split("#")[0])).text
    assert "No password is set: set one below before they sign in" in page
    assert 'id="no-password"' in page and "New Spoc cannot sign in until you set one here" in page
    with_one = await client.post("/admin/users", headers=csrf(client), follow_redirects=False, data={
        "email": "other@example.org", "name": "Other", "role": "chair", "password": "a-long-password"})
    assert with_one.headers["location"] == "/admin/users"


async def test_a_refused_new_user_comes_back_above_the_list(client, world):
    await login(client, world.users["admin"].email)
    page = (await client.get("/admin/users")).text
    assert page.index('id="new-user"') > page.index("<table") and 'href="#new-user">New user' in page
    # Roles in words, sent as their codes.
    assert '<option value="lead" >Lead (regional coordinator)</option>' in page
    r = await client.post("/admin/users", headers=csrf(client),
                          data={"email": "x@example.org", "name": "X", "role": "spoc", "password": "short"})
    assert r.status_code == 422
    assert r.text.index('id="new-user"') < r.text.index("<table")


async def test_the_admin_sees_every_region_at_a_glance_with_a_link_to_its_settings(client, world, sessionmaker):
    await world.f.employer("Golden State Logistics")
    await login(client, world.users["admin"].email)
    assert 'href="/admin/regions"' in (await client.get("/admin")).text
    page = (await client.get("/admin/regions")).text
    la = " ".join(page.split('id="region-LA-BASIN"', 1)[1].split("</tr>", 1)[0].split())
    assert 'href="/region?region=LA-BASIN"' in la and "Los Angeles" in la and "Lee Lead" in la
    assert '<td data-label="SPOCs">2</td>' in la and '<td data-label="Employers">1</td>' in la
    assert "2 in 30 days, 7 days apart <span class=\"small muted\">(default)</span>" in la
    # Every region is listed; one without a lead says so.
    assert page.count('<tr id="region-') == 14 and '<span class="badge warn">no lead</span>' in page


async def test_only_admins_see_the_regions_list(client, world):
    await login(client, world.users["lead"].email)
    assert (await client.get("/admin/regions")).status_code == 403


async def test_marking_a_spoc_away_asks_first_and_marking_back_does_not(client, world, sessionmaker):
    await login(client, world.users["lead"].email)
    page = (await client.get("/region")).text
    form = page.split(f'action="/region/LA-BASIN/spocs/{world.users["spoc2"].id}/away"', 1)[1].split(">", 1)[0]
    assert 'hx-boost="true"' in form and "hx-confirm=\"Mark Sam Ortiz away? Their employers' new touches" in form
    await _away(sessionmaker, world.users["spoc2"])
    page = (await client.get("/region")).text
    form = page.split(f'action="/region/LA-BASIN/spocs/{world.users["spoc2"].id}/away"', 1)[1].split(">", 1)[0]
    assert "hx-confirm" not in form


async def test_the_user_list_stacks_on_a_phone_naming_each_field(client, world):
    await login(client, world.users["admin"].email)
    page = (await client.get("/admin/users")).text
    assert '<table class="grid stack" id="users">' in page
    assert '<td data-label="E-mail" class="email">lead@example.org</td>' in page
