"""The demo world (`crm seed --demo`) and the reusable employer generator."""

from __future__ import annotations

import asyncio
import csv
import random
import shutil
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

import crm.models  # noqa: F401  (complete metadata)
from crm.auth.models import Role, RoleGrant, User
from crm.auth.service import authenticate
from crm.db import make_engine, make_sessionmaker, metadata
from crm.demo import (
    DEMO_PASSWORD,
    DEMO_REGION_CODES,
    DemoReport,
    UniqueKeys,
    contact_rows,
    employer_rows,
    load_demo,
)
from crm.demo_data import COUNTY_GEO
from crm.directory.models import (
    County,
    Organization,
    OrganizationKind,
    Region,
    Service,
    ServiceOffering,
    organization_region,
)
from crm.employers.matching import name_key, normalize_domain, normalize_fein, normalize_phone
from crm.employers.models import Employer, EmployerAlias, EmployerContact, SpocAssignment
from crm.employers.service import sector_for_naics
from crm.paths import asset_dir
from crm.seed import load_reference
from crm.settings import Settings

PER_REGION = 50
SEED = 20261122
TABLES = (Organization, User, RoleGrant, Employer, EmployerContact, EmployerAlias, SpocAssignment)


@asynccontextmanager
async def _session(path: Path) -> AsyncIterator[AsyncSession]:
    engine = make_engine(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
    try:
        async with make_sessionmaker(engine)() as db, db.begin():
            yield db
    finally:
        await engine.dispose()


async def _build(path: Path, *, seed: int = SEED, reference: bool = True) -> DemoReport:
    engine = make_engine(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    async with _session(path) as db:
        if reference:
            await load_reference(db)
        return await load_demo(db, employers_per_region=PER_REGION, seed=seed)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoReport]:
    """One demo database per module (read-only for the tests; copy it to change it)."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    report = asyncio.run(_build(path))
    return path, report


async def _counts(db: AsyncSession) -> dict[str, int]:
    return {m.__tablename__: int(await db.scalar(select(func.count()).select_from(m)) or 0) for m in TABLES}


async def _employer_fingerprint(db: AsyncSession) -> list[tuple[object, ...]]:
    rows = await db.execute(select(Employer.legal_name, Employer.city, Employer.zip, Employer.fein,
                                   Employer.domain, Employer.status).order_by(Employer.id))
    return [tuple(r) for r in rows]


async def test_report_counts(demo: tuple[Path, DemoReport]) -> None:
    path, report = demo
    assert not report.already_loaded
    assert report.employers == PER_REGION * len(DEMO_REGION_CODES)
    async with _session(path) as db:
        counts = await _counts(db)
        per_region = {code: n for code, n in await db.execute(
            select(Region.code, func.count()).join(Employer, Employer.region_id == Region.id).group_by(Region.code)
        )}
    assert per_region == dict.fromkeys(DEMO_REGION_CODES, PER_REGION)
    assert counts["employer_contact"] == report.contacts > report.employers
    assert counts["user_account"] == report.users
    assert f"{report.employers} employers" in str(report)
    assert "onedoor-demo" in report.logins_table() and "admin@demo.onedoor.org" in report.logins_table()


async def test_every_partner_kind_in_each_demo_region(demo: tuple[Path, DemoReport]) -> None:
    path, _ = demo
    wanted = {k.value for k in OrganizationKind} - {OrganizationKind.employer.value}
    async with _session(path) as db:
        rows = [(code, kind, name) for code, kind, name in await db.execute(
            select(Region.code, Organization.kind, Organization.name)
            .join(organization_region, organization_region.c.region_id == Region.id)
            .join(Organization, Organization.id == organization_region.c.organization_id)
        )]
        boards = {r.code: r.local_boards for r in await db.scalars(select(Region))}
    for code in DEMO_REGION_CODES:
        kinds = Counter(kind for c, kind, _ in rows if c == code)
        assert set(kinds) == wanted, code
        assert kinds["community_college"] == 2 and kinds["cbo"] == 2
        names = {name for c, kind, name in rows if c == code and kind == "workforce_board"}
        assert names == {b.strip() for b in boards[code].split(";")}  # the region's real boards
    assert {name for *_, name in rows} >= {"Los Angeles Trade-Technical College", "De Anza College",
                                          "Bakersfield College", "San Bernardino Valley College"}


async def test_the_demo_crosswalk_lists_what_each_kind_of_organization_offers(demo: tuple[Path, DemoReport]) -> None:
    path, _ = demo
    async with _session(path) as db:
        offered = Counter((kind, code) for kind, code in await db.execute(
            select(Organization.kind, Service.code)
            .join(ServiceOffering, ServiceOffering.organization_id == Organization.id)
            .join(Service, Service.id == ServiceOffering.service_id)))
    regions = len(DEMO_REGION_CODES)
    assert offered[("probation", "reentry")] == regions  # one probation department per region
    assert offered[("community_college", "apprenticeship")] == 2 * regions
    assert ("chamber", "reentry") not in offered


async def test_every_role_has_a_working_login(demo: tuple[Path, DemoReport]) -> None:
    path, report = demo
    assert {role for role, *_ in report.logins} == {r.value for r in Role}
    settings = Settings(database_url=f"sqlite+aiosqlite:///{path}", env="test")
    async with _session(path) as db:
        signed_in: set[str] = set()
        for role, email, _desc in report.logins:
            assert email == email.lower() and email.endswith("@demo.onedoor.org")
            user = await db.scalar(select(User).where(User.email == email).options(selectinload(User.grants)))
            assert user is not None and role in {g.role for g in user.grants}
            if role not in signed_in:  # argon2 is slow on purpose: one real sign-in per role
                assert (await authenticate(db, settings, email, DEMO_PASSWORD, "127.0.0.1")).id == user.id
                signed_in.add(role)
        users = list(await db.scalars(select(User).options(selectinload(User.grants))))
        assert len({u.password_hash for u in users}) == 1  # hashed once: every login shares it
        by_role: dict[str, list[User]] = {}
        for u in users:
            for g in u.grants:
                by_role.setdefault(g.role, []).append(u)
                if g.role in ("lead", "spoc"):
                    assert g.region_id is not None
                if g.role == "partner":
                    assert u.organization_id is not None
                if g.role == "spoc":
                    assert u.organization is not None
                    assert u.organization.kind in ("workforce_board", "ajcc")
    assert len(by_role["admin"]) == 1 and len(by_role["chair"]) == 1
    assert len(by_role["lead"]) == 4 and len(by_role["spoc"]) == 12
    assert len(by_role["partner"]) == await _org_count(path)  # one partner per organization


async def _org_count(path: Path) -> int:
    async with _session(path) as db:
        return int(await db.scalar(select(func.count()).select_from(Organization)) or 0)


async def test_employers_are_valid_and_realistic(demo: tuple[Path, DemoReport]) -> None:
    path, _ = demo
    async with _session(path) as db:
        employers = list(await db.scalars(
            select(Employer).order_by(Employer.id).options(selectinload(Employer.aliases))))
        county_region = {cid: rid for cid, rid in await db.execute(select(County.id, County.region_id))}
    keys = [e.name_key for e in employers]
    assert len(set(keys)) >= 0.95 * len(keys)  # near-duplicates on purpose, otherwise distinct
    for e in employers:
        assert e.name_key == name_key(e.legal_name)
        assert e.domain == normalize_domain(e.website) if e.website else e.domain in (None, "acme.com")
        if e.fein:
            assert normalize_fein(e.fein) == e.fein
        if e.phone:
            assert normalize_phone(e.phone) == e.phone and e.phone.startswith("+1")
        assert e.sector_code == sector_for_naics(e.naics_code) and len(e.naics_code or "") == 6
        assert e.county_id is not None and county_region[e.county_id] == e.region_id
        assert e.city and e.address_line and e.zip and len(e.zip) == 5
    verified = [e for e in employers if e.status == "active"]
    assert 0.4 <= sum(1 for e in verified if e.fein) / len(verified) <= 0.8
    by_name = {e.legal_name: e for e in employers}
    acme, dup = by_name["ACME Corporation"], by_name["Acme Corp."]
    assert acme.domain == "acme.com" and acme.status == "active"
    assert acme.region is not None and acme.region.code == "LA-BASIN"
    assert dup.status == "provisional" and dup.address_line == acme.address_line and dup.zip == acme.zip
    assert any(e.status == "provisional" for e in employers if e.region_id != acme.region_id)
    assert any(e.do_not_contact for e in employers)
    assert any(e.aliases for e in employers)


async def test_spoc_assignments(demo: tuple[Path, DemoReport]) -> None:
    path, report = demo
    async with _session(path) as db:
        rows = list(await db.scalars(select(SpocAssignment)))
        grants = {(g.user_id, g.role, g.region_id) for g in await db.scalars(select(RoleGrant))}
        total = int(await db.scalar(select(func.count()).select_from(Employer)) or 0)
    active = [a for a in rows if a.ended_at is None]
    ended = [a for a in rows if a.ended_at is not None]
    assert len(active) == report.assignments and len(ended) == report.ended_assignments >= 1
    assert 0.55 <= len(active) / total <= 0.85
    assert len({a.employer_id for a in active}) == len(active)
    for a in active:
        assert (a.spoc_id, "spoc", a.region_id) in grants
        assert (a.assigned_by_id, "lead", a.region_id) in grants
        assert 2025 <= a.started_at.year <= 2026 and a.reason
    current = {a.employer_id: a for a in active}
    for old in ended:
        new = current[old.employer_id]  # history always leads to a current assignment ...
        assert old.ended_at == new.started_at and old.spoc_id != new.spoc_id  # ... by another SPOC


async def test_loading_twice_changes_nothing(demo: tuple[Path, DemoReport], tmp_path: Path) -> None:
    path = tmp_path / "again.db"
    shutil.copy(demo[0], path)
    async with _session(path) as db:
        before = await _counts(db)
        again = await load_demo(db, employers_per_region=PER_REGION, seed=SEED)
        after = await _counts(db)
    assert again.already_loaded and again.employers == 0
    assert "already loaded" in str(again)
    assert [login[1] for login in again.logins] == [login[1] for login in demo[1].logins]
    assert before == after


async def test_same_seed_same_world(demo: tuple[Path, DemoReport], tmp_path: Path) -> None:
    # The second database also skips load_reference: load_demo must load it itself.
    report = await _build(tmp_path / "twin.db", reference=False)
    assert report.logins == demo[1].logins
    async with _session(demo[0]) as db:
        first = await _employer_fingerprint(db)
    async with _session(tmp_path / "twin.db") as db:
        twin = await _employer_fingerprint(db)
    assert first == twin
    assert len(first) == PER_REGION * len(DEMO_REGION_CODES)


def _statewide_counties() -> dict[str, list[tuple[int, str]]]:
    with (asset_dir("seeds") / "california_rpus.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out, next_id = {}, 1
    for row in rows:
        counties = []
        for name in row["counties"].split(";"):
            counties.append((next_id, name.strip()))
            next_id += 1
        out[row["code"]] = counties
    return out


def test_generator_covers_all_regions_consistently() -> None:
    regions = _statewide_counties()
    assert len(regions) == 14 and sum(len(c) for c in regions.values()) == 58
    assert all(name in COUNTY_GEO for counties in regions.values() for _, name in counties)
    unique = UniqueKeys()
    rows = []
    for code, counties in regions.items():
        county_names = dict(counties)
        batch = list(employer_rows(random.Random(f"t/{code}"), code, counties, 150, region_id=7, unique=unique))
        assert len(batch) == 150
        for r in batch:
            geo = COUNTY_GEO[county_names[r["county_id"]]]
            city = next(c for c in geo.cities if c[0] == r["city"])
            assert r["zip"] in city[1].split()
            if r["phone"]:
                assert r["phone"][2:5] in (city[2] or geo.area_codes).split()
        rows += batch
    assert len({r["name_key"] for r in rows}) == len(rows)
    assert len({r["domain"] for r in rows if r["domain"]}) == sum(1 for r in rows if r["domain"])
    assert len({tuple(sorted(r)) for r in rows}) == 1  # same columns in every row (bulk insert)
    assert set(rows[0]) <= {c.key for c in Employer.__table__.columns}
    for r in rows:
        assert r["name_key"] == name_key(r["legal_name"])
        assert r["region_id"] == 7 and r["status"] == "active"
        if r["website"]:
            assert normalize_domain(r["website"]) == r["domain"]
        if r["fein"]:
            assert normalize_fein(r["fein"]) == r["fein"]
        if r["phone"]:
            assert normalize_phone(r["phone"]) == r["phone"]
        assert r["sector_code"] == sector_for_naics(r["naics_code"])
    sectors = Counter(r["sector_code"] for r in rows)
    assert len(sectors) >= 15  # a broad economy, not one trade
    people = contact_rows(random.Random(1), rows[0], 2)
    assert len(people) == 2 and all(p["name"] and p["title"] for p in people)


def test_generator_is_deterministic() -> None:
    counties = _statewide_counties()["SAN-JOAQUIN"]
    first = list(employer_rows(random.Random(5), "SAN-JOAQUIN", counties, 200))
    again = list(employer_rows(random.Random(5), "SAN-JOAQUIN", counties, 200))
    other = list(employer_rows(random.Random(6), "SAN-JOAQUIN", counties, 200))
    assert first == again and first != other
    assert any(r["sector_code"] == "11" for r in first)  # agriculture in the San Joaquin Valley
