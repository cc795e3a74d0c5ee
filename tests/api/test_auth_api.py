"""Bearer tokens, /api/users/me, throttling, and 401 on every API route without credentials."""

import datetime as dt
import re

import pytest
from sqlalchemy import func, select, update

from crm.auth.models import ApiToken
from tests.factories import PASSWORD


async def test_token_endpoint_exchanges_credentials_for_a_hashed_token(client, world, db):
    r = await client.post("/api/auth/token", json={"email": "Partner@Example.org", "password": PASSWORD})
    assert r.status_code == 201
    token = r.json()["token"]
    stored = (await db.scalars(select(ApiToken.token_hash))).all()
    assert token not in stored and len(stored) == 1
    me = await client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["email"] == "partner@example.org"
    assert me.json()["roles"] == [{"role": "partner", "region": None}]


async def test_wrong_password_is_401_with_error_shape(client, world):
    r = await client.post("/api/auth/token", json={"email": "partner@example.org", "password": "nope"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"


async def test_an_unknown_email_costs_the_same_password_check_as_a_known_one(client, world, monkeypatch):
    """Answering an unknown e-mail without hashing answered ~50 times sooner: who has an account showed."""
    import crm.auth.service

    checked = []
    real = crm.auth.service.verify_password
    monkeypatch.setattr(crm.auth.service, "verify_password", lambda h, p: checked.append(h) or real(h, p))
    for email in ("nobody@example.org", world.users["spoc"].email):
        r = await client.post("/api/auth/token", json={"email": email, "password": "wrong"})
        assert r.status_code == 401 and r.json()["error"]["message"] == "Wrong e-mail or password"
    assert len(checked) == 2 and checked[0] is None and checked[1]


async def test_repeated_failures_are_throttled_with_429(client, world):
    for _ in range(5):
        await client.post("/api/auth/token", json={"email": "partner@example.org", "password": "bad"})
    r = await client.post("/api/auth/token", json={"email": "partner@example.org", "password": PASSWORD})
    assert r.status_code == 429
    assert "Retry-After" in r.headers


async def test_revoked_token_stops_working(client, world):
    headers = await world.f.auth(world.users["spoc"])
    assert (await client.get("/api/users/me", headers=headers)).status_code == 200
    assert (await client.delete("/api/auth/token", headers=headers)).status_code == 204
    assert (await client.get("/api/users/me", headers=headers)).status_code == 401


async def test_deactivated_users_token_is_refused(client, world, db):
    from crm.auth.models import User

    headers = await world.f.auth(world.users["spoc"])
    user = await db.get(User, world.users["spoc"].id)
    user.is_active = False
    await db.commit()
    assert (await client.get("/api/users/me", headers=headers)).status_code == 401


async def test_malformed_token_body_is_400_and_no_token_written(client, world, db):
    r = await client.post("/api/auth/token", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    r = await client.post("/api/auth/token", json={"email": 5, "password": PASSWORD})
    assert r.status_code in (400, 422)
    assert "email" in r.text
    assert await db.scalar(select(func.count(ApiToken.id))) == 0


def _api_routes(app):
    for route in app.routes:
        if not route.path.startswith("/api") or route.path == "/api/auth/token":
            continue
        for method in sorted(getattr(route, "methods", set()) - {"HEAD", "OPTIONS"}):
            yield method, re.sub(r"\{[^}]+\}", "1", route.path)


async def test_every_api_route_but_the_token_endpoint_requires_authentication(client, app):
    routes = list(_api_routes(app))
    assert len(routes) >= 8
    for method, path in routes:
        r = await client.request(method, path, json={})
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.json()["error"]["status"] == 401


@pytest.mark.parametrize("role", ["chair"])
async def test_chair_cannot_use_the_crm_api(client, world, role):
    headers = await world.f.auth(world.users[role])
    for path in ("/api/employers", "/api/regions", "/api/organizations"):
        assert (await client.get(path, headers=headers)).status_code == 403
    assert (await client.get("/api/users/me", headers=headers)).status_code == 200


# --- the in-process principal cache (crm.auth.principal.PrincipalCache) -----------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app) -> _Clock:
    clock = _Clock()
    app.state.principal_cache.clock = clock
    return clock


async def _deactivate_behind_the_apps_back(db, user_id: int) -> None:
    """What another server process (or a database console) does: this process hears nothing."""
    from crm.auth.models import User

    user = await db.get(User, user_id)
    user.is_active = False
    await db.commit()


async def test_deactivation_elsewhere_takes_effect_within_the_cache_ttl(client, world, db, app, clock):
    headers = await world.f.auth(world.users["spoc"])
    assert (await client.get("/api/users/me", headers=headers)).status_code == 200
    await _deactivate_behind_the_apps_back(db, world.users["spoc"].id)
    # The staleness bound: the cached principal serves until its TTL is over, not longer.
    clock.now += app.state.settings.principal_cache_seconds - 0.5
    assert (await client.get("/api/users/me", headers=headers)).status_code == 200
    clock.now += 1.0
    assert (await client.get("/api/users/me", headers=headers)).status_code == 401


async def test_sessions_ended_in_another_process_admit_the_new_sign_in_despite_the_cache(client, world, db, clock):
    from crm.auth.models import User
    from tests.factories import login

    spoc = world.users["spoc"]
    await login(client, spoc.email)
    assert (await client.get("/queue", follow_redirects=False)).status_code == 200  # now cached, epoch 0
    before = list(client.cookies.jar)
    user = await db.get(User, spoc.id)
    user.session_epoch += 1  # what an admin's new password in another process does; this one hears nothing
    await db.commit()
    client.cookies.clear()
    await login(client, spoc.email)
    assert (await client.get("/queue", follow_redirects=False)).status_code == 200
    client.cookies.clear()
    for cookie in before:
        client.cookies.jar.set_cookie(cookie)
    r = await client.get("/queue", follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"].startswith("/login")


async def test_deactivation_through_the_admin_page_refuses_a_cached_token_at_once(client, world, db, clock):
    from tests.factories import login

    headers = await world.f.auth(world.users["spoc"])
    assert (await client.get("/api/touch-requests", headers=headers)).status_code == 200
    await login(client, "admin@example.org")
    r = await client.post(f"/admin/users/{world.users['spoc'].id}/active",
                          data={"_csrf_token": client.cookies.get("csrftoken"), "active": "0"},
                          follow_redirects=False)
    assert r.status_code == 303
    assert (await client.get("/api/touch-requests", headers=headers)).status_code == 401


async def test_revoking_refuses_every_cached_token_of_the_user_and_no_other(client, world):
    mine = [await world.f.auth(world.users["spoc"]) for _ in range(2)]
    other = await world.f.auth(world.users["partner"])
    for headers in (*mine, other):
        assert (await client.get("/api/users/me", headers=headers)).status_code == 200
    assert (await client.delete("/api/auth/token", headers=mine[0])).status_code == 204
    assert [(await client.get("/api/users/me", headers=h)).status_code for h in (*mine, other)] == [401, 401, 200]


async def test_with_the_cache_off_a_deactivation_elsewhere_is_seen_on_the_next_call(world, db, settings):
    from litestar.testing import AsyncTestClient

    from crm.app import create_app

    app = create_app(settings.with_(principal_cache_seconds=0))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        headers = await world.f.auth(world.users["spoc"])
        assert (await client.get("/api/users/me", headers=headers)).status_code == 200
        await _deactivate_behind_the_apps_back(db, world.users["spoc"].id)
        assert (await client.get("/api/users/me", headers=headers)).status_code == 401


async def test_a_session_principal_is_cached_and_forgotten_on_deactivation(client, world, db, clock):
    from tests.factories import login

    await login(client, "spoc@example.org")
    assert (await client.get("/api/users/me")).status_code == 200
    await _deactivate_behind_the_apps_back(db, world.users["spoc"].id)
    assert (await client.get("/api/users/me")).status_code == 200  # within the TTL
    clock.now += 60
    assert (await client.get("/api/users/me")).status_code == 401


async def test_token_use_is_recorded_once_a_minute_not_on_every_call(client, world, db, clock):
    headers = await world.f.auth(world.users["spoc"])

    async def last_used():
        await db.rollback()  # a fresh snapshot
        return await db.scalar(select(ApiToken.last_used_at))

    assert await last_used() is None
    assert (await client.get("/api/users/me", headers=headers)).status_code == 200
    first = await last_used()
    assert first is not None
    for _ in range(3):
        clock.now += 4  # the principal stays cached, reloaded, cached again ...
        assert (await client.get("/api/users/me", headers=headers)).status_code == 200
    assert await last_used() == first
    clock.now += 61
    await db.execute(update(ApiToken).values(last_used_at=first - dt.timedelta(minutes=2)))
    await db.commit()
    assert (await client.get("/api/users/me", headers=headers)).status_code == 200
    assert await last_used() > first - dt.timedelta(minutes=2)
