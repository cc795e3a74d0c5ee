"""Regions and organizations."""

from __future__ import annotations

from litestar.exceptions import NotFoundException
from sqlalchemy import Row, and_, bindparam, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm.audit import service as audit
from crm.auth.models import Role
from crm.auth.principal import Principal
from crm.directory.models import Organization, OrganizationKind, Region, ServiceOffering, organization_region
from crm.employers.models import Employer, EmployerStatus
from crm.errors import Conflict, FieldError
from crm.sqltext import contains_text, same_text
from crm.touches.models import Touch
from crm.touches.routing import TouchStatus

_REGION_ID = select(Region.__table__.c.id).where(Region.__table__.c.code == bindparam("code"))


async def region_id_for(db: AsyncSession, code: str) -> int:
    """The id of the region with this code; 422 naming ``region`` when there is none."""
    # A prebuilt Core statement on the session's connection: intake calls this on every request,
    # and building the ORM select cost three times what running it costs.
    region_id = (await (await db.connection()).execute(_REGION_ID, {"code": code.strip().upper()})).scalar()
    if region_id is None:
        raise FieldError("region", f"unknown region code {code!r}")
    return region_id


async def organization_named(db: AsyncSession, name: str | None) -> Row[int, str] | None:
    """The organization a form names (as typed, any case; ``crm.sqltext``): its id and name, or None (also
    for a blank name)."""
    if not name or not name.strip():
        return None
    return (await db.execute(select(Organization.id, Organization.name)
                             .where(same_text(Organization.name, name.strip())))).first()


async def region_by_code(db: AsyncSession, code: str) -> Region:
    """The region with this code (any case, spaces around ignored); 404 when there is none."""
    # Without its counties (``Region.counties`` raises when not loaded): the pages that list them
    # load the regions with ``led_regions(..., counties=True)`` or ``regions()``.
    region = await db.scalar(select(Region).where(Region.code == code.strip().upper()))
    if region is None:
        raise NotFoundException(f"Region {code!r} not found")
    return region


async def led_regions(db: AsyncSession, principal: Principal, *, counties: bool = False) -> list[Region]:
    """The regions this user leads (an admin: all), by code; no query for someone who leads none."""
    if not principal.is_admin and not principal.regions_for(Role.lead):
        return []
    query = select(Region).order_by(Region.code)
    if counties:
        query = query.options(selectinload(Region.counties))
    return [r for r in await db.scalars(query) if principal.can_in_region(r.id, Role.lead)]


async def regions_served(db: AsyncSession, organization_id: int) -> set[int]:
    """The ids of the regions an organization serves."""
    return set(await db.scalars(select(organization_region.c.region_id).where(
        organization_region.c.organization_id == organization_id)))


async def check_member_employer(db: AsyncSession, actor: Principal, owner: Organization, employer: Employer) -> None:
    """An employer seated on a council or partnership by its owner's staff is one the owner works with: in a
    region it serves (its attendance counts against the employer's contact budget). A lead or SPOC of the
    employer's region, and an admin, seat any."""
    if employer.region_id is None or actor.is_admin or actor.can_in_region(employer.region_id, Role.lead, Role.spoc):
        return
    if employer.region_id not in await regions_served(db, owner.id):
        code = await db.scalar(select(Region.code).where(Region.id == employer.region_id))
        raise FieldError("employer_id", f"{employer.legal_name} is in {code}, which {owner.name} does not serve")


async def regions(db: AsyncSession) -> list[Region]:
    return list(await db.scalars(select(Region).options(selectinload(Region.counties)).order_by(Region.code)))


def check_kind(kind: str) -> str:
    """``kind`` if it is an organization kind, else a 422 naming ``kind`` with the kinds there are."""
    if kind not in {k.value for k in OrganizationKind}:
        raise FieldError("kind", f"must be one of {', '.join(k.value for k in OrganizationKind)}")
    return kind


async def organizations(db: AsyncSession, *, region: str | None = None, kind: str | None = None,
                        q: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[Organization], int]:
    stmt = select(Organization)
    if region:
        region_row = await db.scalar(select(Region).where(Region.code == region.upper()))
        if region_row is None:
            raise FieldError("region", f"unknown region code {region!r}")
        stmt = stmt.where(Organization.regions.any(Region.id == region_row.id))
    if kind:
        stmt = stmt.where(Organization.kind == check_kind(kind))
    if q and q.strip():
        stmt = stmt.where(contains_text(Organization.name, q.strip()))
    total = await db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = await db.scalars(stmt.order_by(Organization.name).limit(limit).offset(offset)
                            .options(selectinload(Organization.regions)))
    return list(rows), total


async def _checked_organization(db: AsyncSession, name: str, kind: str, region_codes: list[str], *,
                                other_than: int | None = None) -> tuple[str, list[Region]]:
    """The organization's name (spaces collapsed) and regions (by code), or a 422 naming every field that
    is wrong at once; a 409 when the name is taken and nothing else is wrong."""
    name = " ".join(name.split())
    wrong: list[tuple[str, str]] = []
    if not name or len(name) > 200:
        wrong.append(("name", "is required (at most 200 characters)"))
    if kind not in {k.value for k in OrganizationKind}:
        wrong.append(("kind", f"must be one of {', '.join(k.value for k in OrganizationKind)}"))
    wanted = {c.strip().upper() for c in region_codes if c.strip()}
    found = list(await db.scalars(select(Region).where(Region.code.in_(sorted(wanted))).order_by(Region.code)))
    missing = wanted - {r.code for r in found}
    if missing:
        wrong.append(("regions", f"unknown region code(s): {', '.join(sorted(missing))}"))
    same_name = select(Organization.id).where(same_text(Organization.name, name))
    if other_than is not None:
        same_name = same_name.where(Organization.id != other_than)
    taken = bool(name) and await db.scalar(same_name) is not None
    if wrong:
        if taken:
            wrong.append(("name", f"an organization named {name!r} already exists"))
        raise FieldError(*wrong[0], *wrong[1:])
    if taken:
        raise Conflict(f"An organization named {name!r} already exists")
    return name, found


async def create_organization(db: AsyncSession, actor: Principal | None, name: str, kind: str,
                              region_codes: list[str], website: str | None = None) -> Organization:
    """A new organization; every field's problem at once (``_checked_organization``). Audited."""
    name, found = await _checked_organization(db, name, kind, region_codes)
    org = Organization(name=name, kind=kind, website=website or None, regions=found)
    db.add(org)
    await db.flush()
    audit.record(db, actor, "organization.create", "organization", org.id,
                 after={"name": name, "kind": kind, "regions": sorted(r.code for r in found)})
    return org


async def update_organization(db: AsyncSession, actor: Principal, org: Organization, name: str, kind: str,
                              region_codes: list[str]) -> list[str]:
    """Rename, re-kind and set the regions an organization serves (``org.regions`` loaded). Its services
    in a region it no longer serves leave the crosswalk with it; answers the codes of the regions where it
    had services that left (a dropped region it offered nothing in is not among them). Every field's
    problem at once (``_checked_organization``). Audited."""
    name, found = await _checked_organization(db, name, kind, region_codes, other_than=org.id)
    wanted = {r.code for r in found}
    before = {"name": org.name, "kind": org.kind, "regions": sorted(r.code for r in org.regions)}
    dropped = [r for r in org.regions if r.code not in wanted]
    emptied: set[int] = set()
    if dropped:
        offered = (ServiceOffering.organization_id == org.id) & ServiceOffering.region_id.in_([r.id for r in dropped])
        emptied = set(await db.scalars(select(ServiceOffering.region_id).where(offered).distinct()))
        await db.execute(delete(ServiceOffering).where(offered))
    org.name, org.kind, org.regions = name, kind, found
    after = {"name": name, "kind": kind, "regions": sorted(r.code for r in found)}
    changed_before, changed_after = audit.diff(before, after)
    if changed_after:
        audit.record(db, actor, "organization.update", "organization", org.id, before=changed_before,
                     after=changed_after)
    await db.flush()
    return sorted(r.code for r in dropped if r.id in emptied)


# The largest RPU (Los Angeles Basin) has some 450,000 establishments; ten million bounds typos.
MAX_ESTABLISHMENTS = 10_000_000


async def employers_known_in(db: AsyncSession, region_id: int) -> int:
    """How many establishments OneDoor already knows the region has: every employer served there (a
    completed touch in the region, what the penetration rate's numerator counts, whatever the employer's
    status) and every verified (``active``) employer on file in it. Provisional employers nobody has
    served yet are left out (unverified, perhaps a duplicate or in another region); merged ones are
    tombstones of another record and never count."""
    t = Touch.__table__.c
    served = select(t.employer_id).where(t.region_id == region_id, t.status == TouchStatus.COMPLETED.value)
    return int(await db.scalar(select(func.count(Employer.id)).where(
        Employer.status != EmployerStatus.merged.value,
        or_(and_(Employer.region_id == region_id, Employer.status == EmployerStatus.active.value),
            Employer.id.in_(served)))) or 0)


async def set_establishment_count(db: AsyncSession, actor: Principal, region: Region, count: int | None) -> None:
    """Record how many establishments the region has (QCEW), the base of the employer penetration
    rate; None when unknown. The caller checks the actor leads the region. Audited.

    A count below the employers OneDoor already knows in the region (``employers_known_in``) is
    refused: it cannot be the region's count, and it would put penetration over 100%."""
    if count is not None and not 1 <= count <= MAX_ESTABLISHMENTS:
        raise FieldError("establishment_count", f"must be between 1 and {MAX_ESTABLISHMENTS:,}, or blank")
    if count is not None and count < (known := await employers_known_in(db, region.id)):
        raise FieldError("establishment_count",
                         f"must be at least {known:,}: OneDoor already knows {known:,} employers in {region.code} "
                         "(verified employers on file and every employer served there), so the region cannot "
                         "have fewer establishments")
    before = region.establishment_count
    if before == count:
        return
    region.establishment_count = count
    audit.record(db, actor, "region.update", "region", region.id, before={"establishment_count": before},
                 after={"establishment_count": count}, note=region.code)
