"""The regional crosswalk (SPEC §2, §4): which organization offers which service in a region.

Everyone on the CRM side reads it (a partner looking for who does reentry services in the Inland
Empire is its first user). An organization's own staff keep its row; a lead of the region and
admins keep any row of the region. Every change is one transaction and audited with the services
before and after.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Response
from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm.audit import service as audit
from crm.auth.models import Role
from crm.auth.principal import Principal
from crm.csvfile import csv_download
from crm.directory.models import Organization, Region, Service, ServiceOffering, organization_region
from crm.directory.service import check_kind, region_by_code
from crm.errors import FieldError

EDITORS_ONLY = "Only the organization's own staff, or a lead of the region, edit its services"
# A request names at most every service once; more is a mistake, not a bigger crosswalk.
MAX_SERVICES = 100


@dataclass(frozen=True, slots=True)
class CrosswalkRow:
    organization_id: int
    name: str
    kind: str
    services: frozenset[str]
    editable: bool


@dataclass(frozen=True, slots=True)
class Crosswalk:
    region: Region
    services: list[Service]
    rows: list[CrosswalkRow]

    def offering(self, code: str) -> int:
        """How many of the rows offer ``code``."""
        return sum(code in row.services for row in self.rows)


def as_csv(table: Crosswalk) -> Response[bytes]:
    """Organization, kind, then one column per service: "x" where the organization offers it."""
    return csv_download(f"onedoor-crosswalk-{table.region.code}.csv",
                        ["organization", "kind", *(s.name for s in table.services)],
                        ([row.name, row.kind, *("x" if s.code in row.services else "" for s in table.services)]
                         for row in table.rows))


async def all_services(db: AsyncSession) -> list[Service]:
    return list(await db.scalars(select(Service).order_by(Service.name)))


def may_edit(principal: Principal, organization_id: int, region_id: int) -> bool:
    """An organization's own staff keep its row; leads of the region and admins keep any row there."""
    if principal.can_in_region(region_id, Role.lead):
        return True
    return principal.organization_id == organization_id and principal.has(Role.partner, Role.spoc, Role.lead)


async def crosswalk_region(db: AsyncSession, principal: Principal, code: str | None) -> Region:
    """The region asked for; by default the first of the user's roles or organization, else the first."""
    if code and code.strip():
        return await region_by_code(db, code)
    mine = set(principal.regions_for(*Role))
    if not mine and principal.organization_id is not None:
        mine = set(await db.scalars(select(organization_region.c.region_id).where(
            organization_region.c.organization_id == principal.organization_id)))
    query = select(Region).order_by(Region.code)
    if mine:
        query = query.where(Region.id.in_(mine))
    region = await db.scalar(query.limit(1))
    if region is None:
        raise NotFoundException("No region is set up: run `crm seed`")
    return region


async def crosswalk(db: AsyncSession, principal: Principal, region: Region, *, kind: str | None = None,
                    service: str | None = None) -> Crosswalk:
    """The organizations serving ``region`` (of ``kind``; offering ``service``) × every service."""
    services = await all_services(db)
    if service and service not in {s.code for s in services}:
        raise FieldError("service", f"unknown service {service!r}")
    query = (select(Organization.id, Organization.name, Organization.kind)
             .join(organization_region, organization_region.c.organization_id == Organization.id)
             .where(organization_region.c.region_id == region.id).order_by(Organization.name))
    if kind:
        query = query.where(Organization.kind == check_kind(kind))
    offered: dict[int, set[str]] = {}
    for org_id, code in await db.execute(
            select(ServiceOffering.organization_id, Service.code)
            .join(Service, Service.id == ServiceOffering.service_id).where(ServiceOffering.region_id == region.id)):
        offered.setdefault(org_id, set()).add(code)
    rows = [CrosswalkRow(org_id, name, org_kind, frozenset(offered.get(org_id, ())),
                         may_edit(principal, org_id, region.id))
            for org_id, name, org_kind in await db.execute(query)]
    if service:
        rows = [row for row in rows if service in row.services]
    return Crosswalk(region, services, rows)


async def organization_services(db: AsyncSession, organization_id: int, region: Region) -> tuple[Organization,
                                                                                                 set[str]]:
    """The organization (404 if none; 422 if it does not serve the region) and its services there."""
    org = await db.scalar(select(Organization).options(selectinload(Organization.regions))
                          .where(Organization.id == organization_id))
    if org is None:
        raise NotFoundException(f"Organization {organization_id} not found")
    if region.id not in {r.id for r in org.regions}:
        raise FieldError("region", f"{org.name} does not serve {region.code}")
    codes = set(await db.scalars(select(Service.code).join(ServiceOffering, ServiceOffering.service_id == Service.id)
                                 .where(ServiceOffering.organization_id == org.id,
                                        ServiceOffering.region_id == region.id)))
    return org, codes


async def set_services(db: AsyncSession, actor: Principal, organization_id: int, region: Region,
                       codes: list[str]) -> list[str]:
    """Make ``codes`` the organization's services in the region (audited); answers them sorted."""
    if not may_edit(actor, organization_id, region.id):
        raise PermissionDeniedException(EDITORS_ONLY)
    if len(codes) > MAX_SERVICES:
        raise FieldError("services", f"at most {MAX_SERVICES} services")
    org, before = await organization_services(db, organization_id, region)
    known = {s.code: s.id for s in await all_services(db)}
    unknown = sorted({c for c in codes if c not in known})
    if unknown:
        raise FieldError("services", f"unknown service(s): {', '.join(unknown)}")
    wanted = set(codes)
    if wanted == before:
        return sorted(wanted)
    removed, added = before - wanted, wanted - before
    if removed:
        await db.execute(delete(ServiceOffering).where(
            ServiceOffering.organization_id == org.id, ServiceOffering.region_id == region.id,
            ServiceOffering.service_id.in_([known[c] for c in removed])))
    db.add_all(ServiceOffering(organization_id=org.id, region_id=region.id, service_id=known[c]) for c in added)
    await db.flush()
    audit.record(db, actor, "organization.services", "organization", org.id, before={"services": sorted(before)},
                 after={"services": sorted(wanted)}, note=region.code)
    return sorted(wanted)
