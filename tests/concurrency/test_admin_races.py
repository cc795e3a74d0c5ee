"""An admin's changes to a user's roles and activation racing another admin's, or a lead's assignment of an
employer to that user, over real server processes (PostgreSQL: two; SQLite: one). Each race runs for
several rounds, every request of a round in flight at once: whichever commits first, the other decides on
what it left."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from crm.auth.models import RoleGrant, User
from crm.employers.models import SpocAssignment
from tests.factories import login

ROUNDS = 10
_n = itertools.count()


@dataclass
class Desk:
    f: Any
    admins: list[httpx.AsyncClient]  # two admins, each signed in to a server process of their own
    lead: dict[str, str]  # the LA-BASIN lead's bearer headers
    base: str  # where the lead's API calls go (the other process from the first admin's)
    board: Any


@pytest.fixture
async def desk(servers, staffed) -> AsyncIterator[Desk]:
    f = staffed.factory
    board = await f.organization("Admin Race Board", "workforce_board", ["LA-BASIN"])
    lead = await f.user("racelead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board)
    clients = []
    for i in range(2):
        admin = await f.user(f"raceadmin{i}@example.org", f"Ada Admin {i}", [("admin", None)])
        client = httpx.AsyncClient(base_url=servers[i % len(servers)], timeout=120)
        await login(client, admin.email)  # type: ignore[arg-type]  (httpx's client, as Litestar's test one)
        clients.append(client)
    try:
        yield Desk(f, clients, await f.auth(lead), servers[-1], board)
    finally:
        for client in clients:
            await client.aclose()


def _post(client: httpx.AsyncClient, path: str, **data: str) -> Any:
    return client.post(path, data={**data, "_csrf_token": client.cookies.get("csrftoken") or ""},
                       follow_redirects=False)


async def _person(desk: Desk, grants: list[tuple[str, str | None]]) -> tuple[User, dict[str, int]]:
    """A new user of the board with ``grants``, and their grant ids by role."""
    n = next(_n)
    user = await desk.f.user(f"racer{n}@example.org", f"Racer {n}", grants, org=desk.board)
    async with desk.f.sessionmaker() as db:
        ids = dict((await db.execute(select(RoleGrant.role, RoleGrant.id).where(RoleGrant.user_id == user.id)))
                   .tuples().all())
    return user, ids


async def _roles(desk: Desk, user: User) -> list[tuple[str, bool]]:
    async with desk.f.sessionmaker() as db:
        rows = await db.execute(select(RoleGrant.role, RoleGrant.region_id).where(RoleGrant.user_id == user.id))
        return sorted((role, region_id is not None) for role, region_id in rows)


def _assign(desk: Desk, client: httpx.AsyncClient, employer_id: int, user: User) -> Any:
    return client.post(f"{desk.base}/api/employers/{employer_id}/spoc-assignments", headers=desk.lead,
                       json={"region": "LA-BASIN", "spoc_id": user.id, "replaces_assignment_id": None})


async def test_two_admins_removing_a_users_two_roles_at_once_leave_one(desk):
    """Each removal alone is allowed (the other role keeps the user staff in LA-BASIN, holding an employer);
    both together would leave a user without a role and an employer whose SPOC has none."""
    for _ in range(ROUNDS):
        user, grants = await _person(desk, [("spoc", "LA-BASIN"), ("lead", "LA-BASIN")])
        await desk.f.assign(await desk.f.employer(), user)
        answers = await asyncio.gather(
            _post(desk.admins[0], f"/admin/users/{user.id}/grants/{grants['spoc']}/remove"),
            _post(desk.admins[1], f"/admin/users/{user.id}/grants/{grants['lead']}/remove"))
        assert sorted(r.status_code for r in answers) == [303, 409], [r.text[-400:] for r in answers]
        refused = next(r for r in answers if r.status_code == 409)
        assert "only role; deactivate the account instead" in refused.text
        assert len(await _roles(desk, user)) == 1


async def test_a_spoc_role_removed_while_a_lead_gives_them_an_employer_leaves_no_employer_without_its_spoc(desk):
    async with httpx.AsyncClient(timeout=120) as lead:
        for _ in range(ROUNDS):
            user, grants = await _person(desk, [("spoc", "LA-BASIN"), ("chair", None)])
            employer = await desk.f.employer()
            removed, assigned = await asyncio.gather(
                _post(desk.admins[0], f"/admin/users/{user.id}/grants/{grants['spoc']}/remove"),
                _assign(desk, lead, employer.id, user))
            if assigned.status_code == 201:  # first: the removal then finds the caseload
                assert removed.status_code == 409 and "transfer the caseload first" in removed.text, removed.text
                assert ("spoc", True) in await _roles(desk, user)
            else:  # the removal first: the user is no SPOC of the region any more
                assert assigned.status_code == 422 and "not an active SPOC or lead" in assigned.text, assigned.text
                assert removed.status_code == 303
                assert await _roles(desk, user) == [("chair", False)]


async def test_a_role_added_twice_at_once_is_granted_once(desk):
    for _ in range(ROUNDS):
        user, _ = await _person(desk, [("chair", None)])
        answers = await asyncio.gather(*(_post(admin, f"/admin/users/{user.id}/grants", role="partner", region="")
                                         for admin in desk.admins))
        assert sorted(r.status_code for r in answers) == [303, 409], [r.text[-400:] for r in answers]
        assert "is partner already" in next(r for r in answers if r.status_code == 409).text
        assert await _roles(desk, user) == [("chair", False), ("partner", False)]


async def test_an_employer_given_to_a_user_being_deactivated_is_refused_or_named_to_the_admin(desk):
    """Deactivating a SPOC with a caseload is allowed, saying what they still hold (a lead transfers it);
    an employer must not be given to a user whose deactivation has already been decided without it."""
    admin = desk.admins[0]
    async with httpx.AsyncClient(timeout=120) as lead:
        for _ in range(ROUNDS):
            user, _ = await _person(desk, [("spoc", "LA-BASIN")])
            employer = await desk.f.employer()
            deactivated, assigned = await asyncio.gather(
                _post(admin, f"/admin/users/{user.id}/active", active="0", back="user"),
                _assign(desk, lead, employer.id, user))
            assert deactivated.status_code == 303, deactivated.text
            said = (await admin.get(deactivated.headers["location"])).text
            assert "deactivated" in said
            if assigned.status_code == 201:
                assert "still holds a caseload in LA-BASIN (1 employer, 0 as backup, 0 open touches)" in said
            else:
                assert assigned.status_code == 422 and "not an active SPOC or lead" in assigned.text, assigned.text
                assert "still holds a caseload" not in said
            async with desk.f.sessionmaker() as db:
                assert await db.scalar(select(User.is_active).where(User.id == user.id)) is False
                held = await db.scalar(select(SpocAssignment.id).where(SpocAssignment.employer_id == employer.id))
                assert (held is not None) == (assigned.status_code == 201)
