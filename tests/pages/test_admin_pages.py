"""Admin pages: users (list, one user: profile, roles, password, activation) and organizations (edit)."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from crm.audit.models import AuditEvent
from crm.auth import service as auth_service
from crm.auth.models import RoleGrant, User
from tests.a11y import attrs_of, tied_errors
from tests.factories import login, said_beside


def _form(client, **data):
    return {**data, "_csrf_token": client.cookies.get("csrftoken")}


@pytest.fixture
async def admin(client, world):
    await login(client, world.users["admin"].email)
    await client.get("/admin/users")
    return client


def _errors(page: str) -> list[str]:
    """The error messages shown beside the form's fields, in page order."""
    return [html.unescape(m) for m in re.findall(r'<small class="error"[^>]*>(.*?)</small>', page)]


async def _grants(db, user):
    await db.rollback()
    rows = await db.execute(select(RoleGrant.role, RoleGrant.region_id).where(RoleGrant.user_id == user.id))
    return sorted((role, region_id is not None) for role, region_id in rows)


async def test_admin_home_links_to_pages_not_raw_json(admin):
    page = (await admin.get("/admin")).text
    assert 'href="/region"' in page and 'href="/api/regions"' not in page
    assert (await admin.get("/region")).status_code == 200


async def test_users_list_filters_by_role_and_links_each_user(admin, world):
    page = (await admin.get("/admin/users", params={"role": "spoc"})).text
    assert "Maria Lopez" in page and "Sam Ortiz" in page and "Pat Partner" not in page
    assert f'href="/admin/users/{world.users["spoc"].id}"' in page
    assert '<option value="">Choose…</option>' in page  # the new-user role is chosen, never defaulted
    # Roles read as the role filter names them, each cell labelled for the stacked phone layout.
    assert '<span class="chip">SPOC · LA-BASIN</span>' in page and "spoc · LA-BASIN" not in page
    assert f'<td data-label="Name"><a href="/admin/users/{world.users["spoc"].id}">' in page


async def test_an_all_spaces_search_of_users_or_organizations_is_no_search(admin, world):
    users = (await admin.get("/admin/users", params={"q": "   "})).text
    assert "Maria Lopez" in users and "Pat Partner" in users  # every user, as with no search
    assert attrs_of(users, "input", name="q").get("value", "") == ""
    assert "Maria Lopez" in (await admin.get("/admin/users", params={"q": "  maria "})).text  # trimmed
    orgs = (await admin.get("/admin/organizations", params={"q": "   "})).text
    assert "East LA College" in orgs and attrs_of(orgs, "input", name="q").get("value", "") == ""


async def test_users_list_pages_fifty_at_a_time(admin, world):
    for n in range(55):
        await world.f.user(f"bulk{n:02}@example.org", f"Bulk User {n:02}", [("chair", None)])
    first = (await admin.get("/admin/users", params={"q": "bulk"})).text
    assert "Bulk User 49" in first and "Bulk User 50" not in first and "page 1 of 2" in first
    second = (await admin.get("/admin/users", params={"q": "bulk", "page": 2})).text
    assert "Bulk User 54" in second and "Bulk User 00" not in second
    assert "<title>Users · OneDoor</title>" in first and "<title>Users · page 2 · OneDoor</title>" in second


async def test_admin_edits_a_profile_and_bad_input_changes_nothing(admin, world, db):
    spoc = world.users["spoc"]
    r = await admin.post(f"/admin/users/{spoc.id}", data=_form(
        admin, name="Maria López", organization="East LA College", title="Business services rep",
        phone="+1 323 555 0101"))
    assert r.status_code == 200 and "Saved spoc@example.org" in r.text
    user = await db.get(User, spoc.id)
    assert (user.name, user.organization_id, user.title) == ("Maria López", world.orgs["college"].id,
                                                            "Business services rep")
    bad = await admin.post(f"/admin/users/{spoc.id}", data=_form(admin, name="X", phone="call me maybe",
                                                                   organization=""))
    assert bad.status_code == 422 and "digits, spaces and + ( ) . - only" in bad.text
    await db.refresh(user)
    assert user.name == "Maria López"
    assert "user.update" in set(await db.scalars(select(AuditEvent.action)))


async def test_a_partner_keeps_an_organization(admin, world):
    r = await admin.post(f"/admin/users/{world.users['partner'].id}",
                         data=_form(admin, name="Pat Partner", organization=""))
    assert r.status_code == 422 and "a partner must belong to an organization" in r.text


async def test_admin_adds_a_role_and_it_works_at_once(admin, world, db, client):
    bay_spoc = world.users["bay_spoc"]
    token = await world.f.auth(bay_spoc)
    assert (await client.get("/api/regions/LA-BASIN/routing-rules", headers=token)).status_code == 403
    r = await admin.post(f"/admin/users/{bay_spoc.id}/grants", data=_form(admin, role="spoc", region="LA-BASIN"))
    assert r.status_code == 200 and "Bay Spoc is now SPOC · LA-BASIN" in r.text
    assert (await client.get("/api/regions/LA-BASIN/routing-rules", headers=token)).status_code == 200
    again = await admin.post(f"/admin/users/{bay_spoc.id}/grants", data=_form(admin, role="spoc", region="LA-BASIN"))
    assert again.status_code == 409 and "is spoc in LA-BASIN already" in again.text
    regionless = await admin.post(f"/admin/users/{bay_spoc.id}/grants", data=_form(admin, role="lead", region=""))
    assert regionless.status_code == 422 and "a lead must be given a region" in regionless.text
    assert await _grants(db, bay_spoc) == [("spoc", True), ("spoc", True)]


@pytest.mark.parametrize(("role", "message"), [
    ("admin", "an admin works in every region: leave the region empty"),
    ("partner", "a partner is scoped by their organization, not by a region"),
    ("chair", "a chair sees the councils and partnerships they sit on, not a region"),
])
async def test_a_region_is_refused_for_a_role_it_would_not_limit(admin, world, db, role, message):
    spoc2 = world.users["spoc2"]  # has an organization, so a partner role fails only for the region
    r = await admin.post(f"/admin/users/{spoc2.id}/grants", data=_form(admin, role=role, region="LA-BASIN"))
    assert r.status_code == 422 and message in r.text
    assert 'id="roles"' in r.text  # said on the user page, by the form
    assert await _grants(db, spoc2) == [("spoc", True)]
    made = await admin.post("/admin/users", data=_form(admin, email="new@example.org", name="New User", role=role,
                                                       region="LA-BASIN", organization="East LA College"))
    assert made.status_code == 422 and message in made.text
    assert await db.scalar(select(User.id).where(User.email == "new@example.org")) is None


async def test_a_new_user_with_a_space_in_the_e_mail_is_refused_on_the_server(admin, db):
    # The browser's type="email" check is bypassed: a plain POST.
    r = await admin.post("/admin/users", data=_form(admin, email="a b@x.org", name="Ann Bee", role="chair",
                                                    password="a-long-password"))
    assert r.status_code == 422 and "is not a valid e-mail address" in r.text and "SPACE" in r.text
    assert 'value="a b@x.org"' in r.text  # kept in the form to correct
    assert await db.scalar(select(User.id).where(User.name == "Ann Bee")) is None


async def test_removing_a_role_stops_it_at_once(admin, world, db, client):
    spoc2 = world.users["spoc2"]
    await admin.post(f"/admin/users/{spoc2.id}/grants", data=_form(admin, role="partner", region=""))
    token = await world.f.auth(spoc2)
    assert (await client.get("/api/touches", headers=token)).status_code == 200
    grant_id = await db.scalar(select(RoleGrant.id).where(RoleGrant.user_id == spoc2.id, RoleGrant.role == "spoc"))
    r = await admin.post(f"/admin/users/{spoc2.id}/grants/{grant_id}/remove", data=_form(admin))
    assert r.status_code == 200 and "Sam Ortiz is no longer SPOC · LA-BASIN" in r.text
    assert (await client.get("/api/touches", headers=token)).status_code == 403
    await db.rollback()  # a new snapshot: the app committed after this session's first read
    assert "user.revoke" in set(await db.scalars(select(AuditEvent.action)))


async def test_a_spoc_role_with_a_caseload_is_kept_until_the_caseload_is_transferred(admin, world, db, desk):
    spoc = world.users["spoc"]
    await world.f.assign(await world.f.employer("A Co"), spoc)
    await admin.post(f"/admin/users/{spoc.id}/grants", data=_form(admin, role="partner", region=""))
    page = (await admin.get(f"/admin/users/{spoc.id}")).text
    assert f'href="/region/transfer?region=LA-BASIN&amp;from_spoc_id={spoc.id}"' in page
    grant_id = await db.scalar(select(RoleGrant.id).where(RoleGrant.user_id == spoc.id, RoleGrant.role == "spoc"))
    r = await admin.post(f"/admin/users/{spoc.id}/grants/{grant_id}/remove", data=_form(admin))
    assert r.status_code == 409
    assert "still holds 1 employer, 0 as backup, 0 open touches in LA-BASIN" in r.text
    assert ("spoc", True) in await _grants(db, spoc)


async def test_a_users_only_role_and_ones_own_admin_role_stay(admin, world, db):
    chair = world.users["chair"]
    only = await db.scalar(select(RoleGrant.id).where(RoleGrant.user_id == chair.id))
    r = await admin.post(f"/admin/users/{chair.id}/grants/{only}/remove", data=_form(admin))
    assert r.status_code == 409 and "only role; deactivate the account instead" in r.text
    me = world.users["admin"]
    await admin.post(f"/admin/users/{me.id}/grants", data=_form(admin, role="chair", region=""))
    mine = await db.scalar(select(RoleGrant.id).where(RoleGrant.user_id == me.id, RoleGrant.role == "admin"))
    r = await admin.post(f"/admin/users/{me.id}/grants/{mine}/remove", data=_form(admin))
    assert r.status_code == 409 and "cannot remove your own admin role" in r.text


async def test_admin_sets_a_password_the_user_signs_in_with(admin, world):
    chair = world.users["chair"]
    short = await admin.post(f"/admin/users/{chair.id}/password", data=_form(admin, password="short"))
    assert short.status_code == 422 and "at least 10 characters" in short.text
    r = await admin.post(f"/admin/users/{chair.id}/password", data=_form(admin, password="a brand new secret"))
    assert r.status_code == 200 and "New password set for chair@example.org" in r.text
    # The same client (a second one on this app would run its lifespan on another event loop).
    await admin.post("/logout", data=_form(admin))
    await login(admin, chair.email, password="a brand new secret")
    assert (await admin.get("/chair")).status_code == 200


async def test_a_password_reset_may_revoke_the_api_tokens_the_old_password_bought(admin, client, world):
    """Whoever learned the old password may hold a token from /api/auth/token: the admin can end those too."""
    spoc = world.users["spoc"]
    token = await world.f.auth(spoc)
    assert (await admin.get("/api/touches", headers=token)).status_code == 200
    r = await admin.post(f"/admin/users/{spoc.id}/password", data=_form(admin, password="a brand new secret"))
    assert "API token revoked" not in r.text and (await admin.get("/api/touches", headers=token)).status_code == 200
    r = await admin.post(f"/admin/users/{spoc.id}/password",
                         data=_form(admin, password="another new secret", revoke_tokens="1"))
    assert r.status_code == 200 and f"New password set for {spoc.email} and 1 API token revoked" in r.text
    assert (await admin.get("/api/touches", headers=token)).status_code == 401


def _browser(client, cookies=None):
    """Switch the one test client between browsers: returns the current cookies, installs others."""
    current = list(client.cookies.jar)
    if cookies is not None:
        client.cookies.clear()
        for cookie in cookies:
            client.cookies.jar.set_cookie(cookie)
    return current


async def _signed_in(client) -> bool:
    r = await client.get("/", follow_redirects=False)
    return r.status_code == 200 or "/login" not in r.headers.get("location", "")


async def test_a_new_password_signs_the_user_out_of_every_browser_but_the_admin_stays(client, world):
    chair, me = world.users["chair"], world.users["admin"]
    await login(client, chair.email)
    chairs = _browser(client, [])
    await login(client, me.email)
    await client.get(f"/admin/users/{chair.id}")
    r = await client.post(f"/admin/users/{chair.id}/password", data=_form(client, password="a brand new secret"))
    assert r.status_code == 200
    r = await client.post(f"/admin/users/{me.id}/password", data=_form(client, password="the admin's new one"))
    assert r.status_code == 200 and await _signed_in(client)  # one's own change keeps this browser
    admins = _browser(client, chairs)
    assert not await _signed_in(client)
    assert (await client.get("/chair", follow_redirects=False)).headers["location"].startswith("/login")
    _browser(client, admins)
    assert await _signed_in(client)


async def test_a_deactivated_users_sessions_stay_ended_when_reactivated(admin, world):
    partner = world.users["partner"]
    admins = _browser(admin, [])
    await login(admin, partner.email)
    partners = _browser(admin, admins)
    for active in ("0", "1"):  # deactivate, then activate again
        assert (await admin.post(f"/admin/users/{partner.id}/active",
                                 data=_form(admin, active=active))).status_code == 200
    _browser(admin, partners)
    assert not await _signed_in(admin)
    await login(admin, partner.email)  # signing in again works
    assert await _signed_in(admin)


async def test_deactivating_from_the_user_page_warns_of_a_caseload_and_returns_there(admin, world):
    spoc = world.users["spoc"]
    await world.f.assign(await world.f.employer("A Co"), spoc)
    r = await admin.post(f"/admin/users/{spoc.id}/active", data=_form(admin, back="user", active="0"))
    assert r.status_code == 200 and str(r.url).endswith(f"/admin/users/{spoc.id}")
    assert "still holds a caseload in LA-BASIN (1 employer, 0 as backup, 0 open touches)" in r.text
    assert "deactivated" in r.text


async def test_deactivating_a_user_who_only_backs_up_employers_says_their_backups(admin, world):
    """The user page and the remove-role refusal count backups: the deactivation's warning does too, in the
    user page's words (a backup-only caseload went unmentioned)."""
    spoc, backup = world.users["spoc"], world.users["spoc2"]
    for name in ("A Co", "B Co"):
        await world.f.assign(await world.f.employer(name), spoc, backup_spoc_id=backup.id)
    page = (await admin.get(f"/admin/users/{backup.id}")).text
    assert "(0 employers, 2 as backup, 0 open touches)" in page
    r = await admin.post(f"/admin/users/{backup.id}/active", data=_form(admin, back="user", active="0"))
    assert r.status_code == 200
    assert ("spoc2@example.org is now deactivated; still holds a caseload in LA-BASIN (0 employers, 2 as backup, "
            "0 open touches): transfer it from the region's settings") in html.unescape(r.text)


async def test_an_admin_is_not_offered_to_deactivate_their_own_account_and_a_forced_post_is_refused_in_place(
        admin, world, db):
    me = world.users["admin"]
    own = (await admin.get(f"/admin/users/{me.id}")).text
    assert "Deactivate account" not in own and "This is your own account" in own
    assert "Deactivate account" in (await admin.get(f"/admin/users/{world.users['chair'].id}")).text
    r = await admin.post(f"/admin/users/{me.id}/active", data=_form(admin, back="user", active="0"))
    assert r.status_code == 409 and 'id="access"' in r.text  # the user page, the refusal beside the button
    assert r.text.count("You cannot deactivate your own account") == 1 and "Something went wrong" not in r.text
    await db.rollback()
    assert (await db.get(User, me.id)).is_active


def _access_form(page: str) -> dict[str, str]:
    """The hidden fields of the user page's activation form, as a browser without JavaScript posts them."""
    form = re.search(r'<form method="post" action="/admin/users/\d+/active".*?</form>', page, re.S)
    assert form is not None
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)))


async def test_a_double_submitted_deactivate_leaves_the_account_deactivated(admin, world, db):
    """The form says the state wanted: the second post of a double click (or of a stale tab) changes nothing,
    where a toggle reactivated the account."""
    partner = world.users["partner"]
    page = (await admin.get(f"/admin/users/{partner.id}")).text
    form = _access_form(page)
    assert form["active"] == "0" and form["back"] == "user"
    first, second = [await admin.post(f"/admin/users/{partner.id}/active", data=_form(admin, **form))
                     for _ in range(2)]
    assert first.status_code == second.status_code == 200
    assert "partner@example.org is now deactivated" in first.text
    assert "partner@example.org is already deactivated" in second.text
    await db.rollback()
    assert (await db.get(User, partner.id)).is_active is False
    assert list(await db.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "user", AuditEvent.entity_id == partner.id))) == ["user.deactivate"]
    again = _access_form(second.text)  # the page it returned to now offers to activate
    assert again["active"] == "1" and "Activate account" in second.text
    r = await admin.post(f"/admin/users/{partner.id}/active", data=_form(admin, **again))
    assert "partner@example.org is now active" in r.text
    await db.rollback()
    assert (await db.get(User, partner.id)).is_active is True


async def test_an_activation_post_that_does_not_say_which_changes_nothing(admin, world, db):
    partner = world.users["partner"]
    for data in ({}, {"active": "maybe"}):
        r = await admin.post(f"/admin/users/{partner.id}/active", data=_form(admin, back="user", **data))
        assert r.status_code == 422 and 'id="access"' in r.text
        assert "Say whether to activate (active=1) or deactivate (active=0)" in r.text
    await db.rollback()
    assert (await db.get(User, partner.id)).is_active is True


async def test_a_region_less_role_held_already_is_refused_with_a_409(admin, world, db):
    chair = world.users["chair"]
    r = await admin.post(f"/admin/users/{chair.id}/grants", data=_form(admin, role="chair", region=""))
    assert r.status_code == 409 and "Chris Chair is chair already" in r.text
    assert await _grants(db, chair) == [("chair", False)]


async def test_a_duplicate_grant_the_unique_index_refuses_is_a_409_on_the_form(admin, world, db, monkeypatch):
    """The same grant written meanwhile by a path that takes no user lock: the flush breaks
    uq_role_grant_user_role_regionless, said on the form, not as a 500 or the generic conflict page."""
    spoc2 = world.users["spoc2"]
    make_grant = auth_service.make_grant

    async def written_meanwhile(session, role, region_code, **kwargs):
        await session.execute(insert(RoleGrant).values(user_id=spoc2.id, role="partner", region_id=None))
        return await make_grant(session, role, region_code, **kwargs)

    monkeypatch.setattr(auth_service, "make_grant", written_meanwhile)
    r = await admin.post(f"/admin/users/{spoc2.id}/grants", data=_form(admin, role="partner", region=""))
    assert r.status_code == 409 and "Sam Ortiz is partner already" in r.text and 'id="roles"' in r.text
    assert await _grants(db, spoc2) == [("spoc", True)]


async def test_the_database_keeps_one_region_less_grant_per_user_and_role(world, db):
    chair = world.users["chair"]
    db.add(RoleGrant(user_id=chair.id, role="chair", region_id=None))
    with pytest.raises(IntegrityError):
        await db.flush()
    await db.rollback()
    db.add(RoleGrant(user_id=chair.id, role="admin", region_id=None))  # another role is another grant
    await db.flush()


@pytest.mark.parametrize("htmx", [False, True])
async def test_an_error_page_says_each_field_error_once(admin, htmx):
    headers = {"hx-request": "true"} if htmx else {}
    r = await admin.get("/admin/users", params={"role": "emperor"}, headers=headers)
    assert r.status_code == 422 and r.text.count("unknown role") == 1
    assert "Something went wrong" not in r.text


@pytest.mark.parametrize("who", ["lead", "spoc", "partner", "chair"])
async def test_only_admins_edit_users(client, world, who):
    await login(client, world.users[who].email)
    target = world.users["spoc2"].id
    assert (await client.get(f"/admin/users/{target}")).status_code == 403
    for path, data in [("", {"name": "X"}), ("/grants", {"role": "admin"}), ("/password", {"password": "x" * 12})]:
        r = await client.post(f"/admin/users/{target}{path}", data=_form(client, **data))
        assert r.status_code == 403


# ---------------------------------------------------------------- organizations


async def test_admin_edits_an_organization_and_its_services_leave_with_a_region(admin, world, db):
    from crm.directory.models import Organization, ServiceOffering

    college = world.orgs["college"]
    put = await admin.put(f"/api/organizations/{college.id}/services", json={"region": "LA-BASIN",
                                                                           "services": ["job_placement"]},
                          headers=await world.f.auth(world.users["admin"]))
    assert put.status_code == 200, put.text
    listing = (await admin.get("/admin/organizations")).text
    assert f'href="/admin/organizations/{college.id}"' in listing and "Community college" in listing
    page = (await admin.get(f"/admin/organizations/{college.id}")).text
    assert 'value="LA-BASIN" checked' in page
    # Its services, per region it serves (the link without a region answered 422).
    crosswalk = f"/crosswalk/organizations/{college.id}?region=LA-BASIN"
    assert f'<a href="{crosswalk}">LA-BASIN</a>' in page and (await admin.get(crosswalk)).status_code == 200
    r = await admin.post(f"/admin/organizations/{college.id}", data=_form(
        admin, name="East Los Angeles College", kind="community_college", regions="BAY-PENINSULA"))
    assert r.status_code == 200
    assert "Saved East Los Angeles College; its crosswalk services in LA-BASIN were removed" in r.text
    await db.rollback()
    assert (await db.get(Organization, college.id)).name == "East Los Angeles College"
    assert await db.scalar(select(ServiceOffering.id).where(ServiceOffering.organization_id == college.id)) is None
    assert "organization.update" in set(await db.scalars(select(AuditEvent.action)))


async def test_an_organizations_flash_names_only_the_regions_its_services_left(admin, world, db):
    """It served LA-BASIN and BAY-PENINSULA, with services only in LA-BASIN: dropping BAY-PENINSULA says
    nothing about services; dropping both names LA-BASIN alone."""
    from crm.directory.models import ServiceOffering

    org = await world.f.organization("Valley Adult School", "adult_education", ["LA-BASIN", "BAY-PENINSULA"])
    put = await admin.put(f"/api/organizations/{org.id}/services", json={"region": "LA-BASIN",
                                                                       "services": ["job_placement"]},
                          headers=await world.f.auth(world.users["admin"]))
    assert put.status_code == 200, put.text

    def flash(page: str) -> str:
        return html.unescape(re.search(r'class="flash[^"]*"[^>]*>(.*?)</', page, re.S).group(1)).strip()

    r = await admin.post(f"/admin/organizations/{org.id}", data=_form(
        admin, name="Valley Adult School", kind="adult_education", regions="LA-BASIN"))
    assert r.status_code == 200 and flash(r.text) == "Saved Valley Adult School"
    await admin.post(f"/admin/organizations/{org.id}", data=_form(
        admin, name="Valley Adult School", kind="adult_education", regions=["LA-BASIN", "BAY-PENINSULA"]))
    r = await admin.post(f"/admin/organizations/{org.id}", data=_form(admin, name="Valley Adult School",
                                                                      kind="adult_education"))
    assert r.status_code == 200
    assert flash(r.text) == ("Saved Valley Adult School; its crosswalk services in LA-BASIN were removed with "
                             "that region")
    await db.rollback()
    assert await db.scalar(select(ServiceOffering.id).where(ServiceOffering.organization_id == org.id)) is None


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "", "kind": "cbo"}, "is required"),
    ({"name": "LA Basin WDB", "kind": "cbo"}, "already exists"),
    ({"name": "New Name", "kind": "spaceship"}, "must be one of"),
    ({"name": "New Name", "kind": "cbo", "regions": "ATLANTIS"}, "unknown region code"),
])
async def test_bad_organization_edits_show_the_error_and_change_nothing(admin, world, db, data, message):
    from crm.directory.models import Organization

    college = world.orgs["college"]
    r = await admin.post(f"/admin/organizations/{college.id}", data=_form(admin, **data))
    assert r.status_code in (409, 422) and message in r.text
    await db.rollback()
    assert (await db.get(Organization, college.id)).name == "East LA College"


async def test_only_admins_edit_organizations(client, world):
    await login(client, world.users["lead"].email)
    college = world.orgs["college"]
    assert (await client.get(f"/admin/organizations/{college.id}")).status_code == 403
    r = await client.post(f"/admin/organizations/{college.id}", data=_form(client, name="X", kind="cbo"))
    assert r.status_code == 403


# ---------------------------------------------------------------- every error of a form at once


@pytest.mark.parametrize("htmx", [False, True])
async def test_an_empty_new_user_form_shows_every_missing_field_at_once(admin, htmx):
    r = await admin.post("/admin/users", data=_form(admin, email="", name="", role=""),
                         headers={"hx-request": "true"} if htmx else {})
    assert r.status_code == 422
    assert _errors(r.text) == ["is required", "is required (at most 120 characters)", "choose a role"]


async def test_a_new_user_with_several_mistakes_shows_them_all_and_is_not_created(admin, db):
    r = await admin.post("/admin/users", data=_form(admin, email="not-an-address", name="Lee Newlead", role="lead",
                                                    region="", password="short"))
    assert r.status_code == 422
    errors = _errors(r.text)
    assert len(errors) == 3 and errors[0].startswith("is not a valid e-mail address")
    assert errors[1:] == ["a lead must be given a region", "must be at least 10 characters"]
    assert await db.scalar(select(User.id).where(User.name == "Lee Newlead")) is None


async def test_a_taken_e_mail_is_said_beside_the_other_mistakes(admin, world):
    r = await admin.post("/admin/users", data=_form(admin, email="SPOC@example.org", name="", role="chair"))
    assert r.status_code == 422
    assert _errors(r.text) == ["a user with e-mail spoc@example.org already exists",
                               "is required (at most 120 characters)"]
    alone = await admin.post("/admin/users", data=_form(admin, email="spoc@example.org", name="X", role="chair"))
    assert alone.status_code == 409 and "already exists" in alone.text


async def test_a_profile_with_several_mistakes_shows_them_all_and_changes_nothing(admin, world, db):
    spoc = world.users["spoc"]
    r = await admin.post(f"/admin/users/{spoc.id}", data=_form(admin, name="", phone="call me", title="T" * 121,
                                                               organization="Nowhere College"))
    assert r.status_code == 422
    assert _errors(r.text) == ["is required (at most 120 characters)", "unknown organization 'Nowhere College'",
                               "must be at most 120 characters", "digits, spaces and + ( ) . - only, at most 32"]
    await db.rollback()
    user = await db.get(User, spoc.id)
    assert (user.name, user.title, user.phone) == ("Maria Lopez", None, None)


async def test_a_new_organization_with_several_mistakes_shows_them_all_and_is_not_created(admin, world, db):
    from crm.directory.models import Organization

    before = await db.scalar(select(func.count(Organization.id)))
    r = await admin.post("/admin/organizations", data=_form(admin, name=" ", kind="spaceship", regions="ATLANTIS"))
    assert r.status_code == 422
    errors = _errors(r.text)
    assert errors[0] == "is required (at most 200 characters)" and errors[1].startswith("must be one of")
    assert errors[2] == "unknown region code(s): ATLANTIS"
    taken = await admin.post("/admin/organizations", data=_form(admin, name="la basin wdb", kind=""))
    assert taken.status_code == 422
    assert _errors(taken.text)[0] == "an organization named 'la basin wdb' already exists"
    await db.rollback()
    assert await db.scalar(select(func.count(Organization.id))) == before


async def test_an_organization_edit_with_several_mistakes_shows_them_all(admin, world):
    college = world.orgs["college"]
    r = await admin.post(f"/admin/organizations/{college.id}", data=_form(admin, name="", kind="x", regions="NOPE"))
    assert r.status_code == 422 and len(_errors(r.text)) == 3


async def test_a_nul_in_a_new_users_name_is_said_beside_the_field_with_the_form_kept(admin, world, db):
    """It replaced the whole page with a generic "Not accepted"; now the form comes back as for any mistake."""
    r = await admin.post("/admin/users", data=_form(admin, email="nina@example.org", name="Nina\u0000 Novak",
                                                    role="partner", organization="East LA College"))
    assert r.status_code == 422 and "Not accepted" not in r.text
    assert said_beside(r.text, "name", "must not contain the NUL character")
    assert attrs_of(r.text, "input", name="email")["value"] == "nina@example.org"
    assert attrs_of(r.text, "input", name="name")["value"] == "Nina Novak"
    assert "\u0000" not in r.text
    assert await db.scalar(select(User.id).where(User.email == "nina@example.org")) is None


async def test_a_control_character_in_a_profile_is_said_beside_its_field_and_changes_nothing(admin, world, db):
    spoc = world.users["spoc"]
    r = await admin.post(f"/admin/users/{spoc.id}", data=_form(admin, name="Maria\u0000Lopez", title="Plant\u0007 lead",
                                                               phone="555 0100", organization="LA Basin WDB"))
    assert r.status_code == 422 and "Not accepted" not in r.text
    assert said_beside(r.text, "name", "must not contain the NUL character")
    assert said_beside(r.text, "title", "must not contain control characters (U+0007)")
    assert attrs_of(r.text, "input", name="phone")["value"] == "555 0100"
    await db.rollback()
    user = await db.get(User, spoc.id)
    assert (user.name, user.title, user.phone) == ("Maria Lopez", None, None)


async def test_a_nul_in_an_organizations_name_is_said_beside_it_on_create_and_edit(admin, world, db):
    from crm.directory.models import Organization

    before = await db.scalar(select(func.count(Organization.id)))
    r = await admin.post("/admin/organizations", data=_form(admin, name="Harbor\u0000 CBO", kind="cbo",
                                                            regions="LA-BASIN"))
    assert r.status_code == 422 and said_beside(r.text, "name", "must not contain the NUL character")
    assert attrs_of(r.text, "input", name="name")["value"] == "Harbor CBO"
    assert attrs_of(r.text, "input", name="regions", value="LA-BASIN").get("checked") is not None
    college = world.orgs["college"]
    r = await admin.post(f"/admin/organizations/{college.id}", data=_form(admin, name="East\u0000 LA", kind="cbo"))
    assert r.status_code == 422 and said_beside(r.text, "name", "must not contain the NUL character")
    await db.rollback()
    assert await db.scalar(select(func.count(Organization.id))) == before
    assert (await db.get(Organization, college.id)).name == "East LA College"


async def test_a_nul_in_another_page_form_is_still_refused_before_its_handler(admin, world):
    """Only the forms that say it at the field let a control character through the screen."""
    spoc = world.users["spoc"]
    r = await admin.post(f"/admin/users/{spoc.id}/password", data=_form(admin, password="long enough\u0000pw"))
    assert r.status_code == 422 and "NUL" in r.text


# ---------------------------------------------------------------- errors tied to their fields


async def test_user_form_errors_are_tied_to_their_fields(admin, world):
    r = await admin.post("/admin/users", data=_form(admin, email="new@example.org", name="Lee Newlead", role="lead",
                                                    region="", organization="No Such Org"))
    assert r.status_code == 422
    tied = tied_errors(r.text)
    assert tied["region"] == "a lead must be given a region"
    assert attrs_of(r.text, "select", name="region")["aria-describedby"] == "region-error"
    r = await admin.post("/admin/users", data=_form(admin, email="", name="", role=""))
    assert tied_errors(r.text)["role"] == "choose a role"
    assert attrs_of(r.text, "select", name="role", aria_invalid="true")["aria-describedby"] == "role-error"
    partner = world.users["partner"]
    r = await admin.post(f"/admin/users/{partner.id}", data=_form(admin, name="Pat Partner", organization=""))
    assert tied_errors(r.text)["organization"] == "a partner must belong to an organization"
    assert attrs_of(r.text, "select", name="organization")["aria-describedby"] == "profile-organization-error"
    spoc2 = world.users["spoc2"]
    r = await admin.post(f"/admin/users/{spoc2.id}/grants", data=_form(admin, role="admin", region="LA-BASIN"))
    assert r.status_code == 422
    assert tied_errors(r.text)["region"] == "an admin works in every region: leave the region empty"
    region = attrs_of(r.text, "select", name="region")
    assert region["aria-invalid"] == "true" and region["aria-describedby"] == "grant-region-error"
    r = await admin.post(f"/admin/users/{spoc2.id}/grants", data=_form(admin, role="", region=""))
    assert "role" in tied_errors(r.text)
    assert attrs_of(r.text, "select", name="role")["aria-describedby"] == "grant-role-error"


async def test_organization_form_errors_are_tied_to_their_fields(admin, world):
    r = await admin.post("/admin/organizations", data=_form(admin, name=" ", kind="spaceship", regions="ATLANTIS"))
    assert r.status_code == 422
    tied = tied_errors(r.text)
    assert tied["kind"].startswith("must be one of") and tied["regions"] == "unknown region code(s): ATLANTIS"
    assert attrs_of(r.text, "select", name="kind")["aria-describedby"] == "kind-error"
    assert attrs_of(r.text, "input", name="regions")["aria-describedby"] == "regions-error"
    college = world.orgs["college"]
    r = await admin.post(f"/admin/organizations/{college.id}",
                         data=_form(admin, name="New Name", kind="spaceship", regions="ATLANTIS"))
    assert r.status_code == 422
    assert {"kind", "regions"} <= set(tied_errors(r.text))
    assert attrs_of(r.text, "select", name="kind")["aria-invalid"] == "true"
    assert attrs_of(r.text, "input", name="regions")["aria-describedby"] == "regions-error"


def _read(html: str) -> str:
    """The text a screen reader or a copy gets: tags dropped, space runs made one."""
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


async def test_chips_in_a_row_read_apart_not_run_together(admin, world, db):
    from crm.employers.models import EmployerAlias

    acme = await world.f.employer("ACME Corporation")
    db.add_all([EmployerAlias(employer_id=acme.id, name="ACME Tools", name_key="acme tools"),
                EmployerAlias(employer_id=acme.id, name="Acme Widgets", name_key="acme widgets")])
    await db.commit()
    assert "ACME Tools, Acme Widgets" in _read((await admin.get(f"/employers/{acme.id}")).text)
    await world.f.organization("Two Region Works", "cbo", ["LA-BASIN", "BAY-PENINSULA"])
    orgs = _read((await admin.get("/admin/organizations", params={"q": "two region"})).text)
    assert "Two Region Works" in orgs, orgs[-400:]
    assert "BAY-PENINSULA, LA-BASIN" in orgs or "LA-BASIN, BAY-PENINSULA" in orgs, orgs[-400:]
    await world.f.user("both@example.org", "Both Roles", [("spoc", "LA-BASIN"), ("lead", "LA-BASIN")])
    users = _read((await admin.get("/admin/users", params={"q": "Both Roles"})).text)
    assert "LA-BASIN, " in users and "LA-BASINlead" not in users and "LA-BASINspoc" not in users
