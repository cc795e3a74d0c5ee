"""Bearer tokens, /api/users/me, throttling, and 401 on every API route without credentials."""

import re

import pytest
from sqlalchemy import func, select

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
