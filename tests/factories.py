"""Factory helpers: arrange rows with defaults, committed so the app under test sees them."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from argon2 import PasswordHasher
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm import clock
from crm.auth.models import Role, RoleGrant, User
from crm.auth.passwords import new_token
from crm.directory.models import County, Organization, Region
from crm.employers.candidates import refresh_keys
from crm.employers.matching import name_key, normalize_domain
from crm.employers.models import Employer, SpocAssignment
from crm.employers.service import sector_for_naics

PASSWORD = "correct horse battery"
# Test users' hash uses argon2's cheapest parameters: verifying the default ones costs ~0.2 s of CPU,
# and the suite signs in hundreds of times. The app verifies with the parameters a hash carries, as it
# does a hash made under older settings; the hashing itself is tested with the app's own parameters.
_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
_seq = itertools.count(1)


class Factory:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def region(self, code: str) -> Region:
        async with self.sessionmaker() as db:
            return (await db.scalars(select(Region).where(Region.code == code))).one()

    async def organization(self, name: str, kind: str = "cbo", regions: list[str] | None = None) -> Organization:
        async with self.sessionmaker() as db, db.begin():
            found = list(await db.scalars(select(Region).where(Region.code.in_(regions or []))))
            org = Organization(name=name, kind=kind, regions=found)
            db.add(org)
        return org

    async def user(self, email: str, name: str, grants: list[tuple[str, str | None]],
                   org: Organization | None = None, **extra: Any) -> User:
        async with self.sessionmaker() as db, db.begin():
            user = User(email=email.lower(), name=name, organization_id=org.id if org else None,
                        password_hash=_HASH, **extra)
            for role, code in grants:
                region_id = (await db.scalar(select(Region.id).where(Region.code == code))) if code else None
                user.grants.append(RoleGrant(role=Role(role).value, region_id=region_id))
            db.add(user)
        return user

    async def employer(self, legal_name: str | None = None, county: str = "Los Angeles", *, keys: bool = True,
                       **fields: Any) -> Employer:
        """An employer as the product writes one, with its search keys (``keys=False``: as a bulk load does)."""
        legal_name = legal_name or f"Test Employer {next(_seq)} Inc"
        async with self.sessionmaker() as db, db.begin():
            county_row = (await db.scalars(select(County).where(County.name == county))).one()
            website = fields.pop("website", None)
            naics = fields.pop("naics_code", None)
            employer = Employer(
                legal_name=legal_name, name_key=name_key(legal_name), website=website,
                domain=normalize_domain(website) if website else None, naics_code=naics,
                sector_code=sector_for_naics(naics), county_id=county_row.id, region_id=county_row.region_id,
                **fields,
            )
            db.add(employer)
            if keys:
                await db.flush()
                await refresh_keys(db, [employer.id])
        return employer

    async def assign(self, employer: Employer, spoc: User, region: str = "LA-BASIN", **fields: Any) -> SpocAssignment:
        import datetime as dt

        async with self.sessionmaker() as db, db.begin():
            region_id = await db.scalar(select(Region.id).where(Region.code == region))
            assert region_id is not None
            a = SpocAssignment(employer_id=employer.id, region_id=region_id, spoc_id=spoc.id,
                               started_at=fields.pop("started_at", dt.datetime.now(dt.UTC)), **fields)
            db.add(a)
        return a

    async def token(self, user: User) -> str:
        from crm.auth.models import ApiToken

        token, digest = new_token()
        async with self.sessionmaker() as db, db.begin():
            db.add(ApiToken(user_id=user.id, token_hash=digest, label="test"))
        return token

    async def auth(self, user: User) -> dict[str, str]:
        """Bearer headers for ``user``."""
        return {"Authorization": f"Bearer {await self.token(user)}"}


async def login(client: AsyncTestClient[Litestar], email: str, password: str = PASSWORD) -> None:
    """Sign in through the real form (CSRF cookie first, like a browser)."""
    page = await client.get("/login")
    assert page.status_code == 200
    token = client.cookies.get("csrftoken")
    response = await client.post("/login", data={"email": email, "password": password, "_csrf_token": token,
                                                 "next": "/"}, follow_redirects=False)
    assert response.status_code == 303, response.text


def csrf(client: AsyncTestClient[Litestar]) -> dict[str, str]:
    return {"x-csrftoken": client.cookies.get("csrftoken") or ""}


def today() -> dt.date:
    """Today's California date, read when called, as the app under test reads it (crm.clock.today).

    Never keep it in a module-level constant or a parametrize argument: those are computed at import and
    collection, and a run crossing midnight in California would compare the app's new day with a stale one."""
    return clock.today()


def next_spring_forward() -> dt.date:
    """The next day California's clocks skip 02:00-03:00 (the second Sunday of March), after today."""
    for year in (today().year, today().year + 1):
        second_sunday = dt.date(year, 3, 8) + dt.timedelta(days=(6 - dt.date(year, 3, 8).weekday()) % 7)
        if second_sunday > today():
            return second_sunday
    raise AssertionError("unreachable")


@contextmanager
def recorded_statements() -> Iterator[list[str]]:
    """The SQL statements every engine of this process runs inside the block."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def seen_in(html: str, form_action: str | None = None) -> str:
    """The ``seen`` a rendered form carries (crm.seen): what a browser would post back from that page.
    With ``form_action``, the one of the form posting there (a page may hold several)."""
    if form_action is not None:
        html = html[html.index(f'action="{form_action}"'):]
    found = re.search(r'name="seen" value="([^"]*)"', html)
    assert found, "the form carries no seen field"
    return found.group(1)


def said_beside(html: str, field: str, message: str) -> bool:
    """Whether ``message`` is shown in the label of the form field named ``field`` (the label holding the
    field is the last one opened before the message)."""
    error_at = html.index(message)
    return html.rindex(f'name="{field}"', 0, error_at) > html.rindex("<label", 0, error_at)
