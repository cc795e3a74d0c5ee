"""`/api/regions`, `/api/organizations` and the regional crosswalk (`/api/crosswalk`)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, put
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody, Parameter

from crm.auth.guards import requires_crm_user
from crm.deps import Db, Me, PathId
from crm.directory import crosswalk, service
from crm.directory.models import Organization, OrganizationKind, Region
from crm.directory.schemas import (
    CrosswalkOut,
    CrosswalkRowOut,
    OrganizationOut,
    OrganizationPage,
    OrganizationServicesIn,
    OrganizationServicesOut,
    RegionOut,
    ServiceOut,
)
from crm.openapi import choice_parameter
from crm.pagination import Limit, Offset


def region_out(r: Region) -> RegionOut:
    return RegionOut(code=r.code, name=r.name, counties=[c.name for c in r.counties],
                     local_boards=[b for b in r.local_boards.split(";") if b])


def organization_out(o: Organization) -> OrganizationOut:
    return OrganizationOut(id=o.id, name=o.name, kind=o.kind, regions=sorted(r.code for r in o.regions))


class DirectoryApi(Controller):
    path = "/api"
    tags = ["directory"]
    guards = [requires_crm_user]

    @get("/regions")
    async def list_regions(self, db: Db) -> list[RegionOut]:
        """California's Regional Planning Units with their counties and local boards."""
        return [region_out(r) for r in await service.regions(db)]

    @get("/organizations")
    async def list_organizations(
        self, db: Db, limit: Limit = 50, offset: Offset = 0,
        region: Annotated[str | None, Parameter(max_length=32)] = None,
        kind: Annotated[str | None, choice_parameter(OrganizationKind, max_length=32)] = None,
        q: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> OrganizationPage:
        rows, total = await service.organizations(db, region=region, kind=kind, q=q, limit=limit, offset=offset)
        return OrganizationPage(items=[organization_out(o) for o in rows], total=total, limit=limit, offset=offset)

    @get("/crosswalk", raises=[NotFoundException])  # an unknown region code (crosswalk_region)
    async def get_crosswalk(
        self, db: Db, principal: Me, region: Annotated[str | None, Parameter(max_length=32)] = None,
        kind: Annotated[str | None, choice_parameter(OrganizationKind, max_length=32)] = None,
        service: Annotated[str | None, Parameter(max_length=40)] = None,
    ) -> CrosswalkOut:
        """Who offers which service in a region (default: your own region)."""
        where = await crosswalk.crosswalk_region(db, principal, region)
        table = await crosswalk.crosswalk(db, principal, where, kind=kind, service=service)
        return CrosswalkOut(
            region=where.code, services=[ServiceOut(s.code, s.name, s.description) for s in table.services],
            organizations=[CrosswalkRowOut(r.organization_id, r.name, r.kind, sorted(r.services)) for r in table.rows])

    @get("/crosswalk/csv", media_type="text/csv", raises=[NotFoundException])
    async def crosswalk_csv(
        self, db: Db, principal: Me, region: Annotated[str | None, Parameter(max_length=32)] = None,
        kind: Annotated[str | None, choice_parameter(OrganizationKind, max_length=32)] = None,
        service: Annotated[str | None, Parameter(max_length=40)] = None,
    ) -> Response[bytes]:
        """The crosswalk as a spreadsheet: one row per organization, one column per service ("x" = offers it)."""
        where = await crosswalk.crosswalk_region(db, principal, region)
        table = await crosswalk.crosswalk(db, principal, where, kind=kind, service=service)
        return crosswalk.as_csv(table)

    @put("/organizations/{organization_id:int}/services")
    async def set_services(self, db: Db, principal: Me, organization_id: PathId,
                           data: JSONBody[OrganizationServicesIn]) -> OrganizationServicesOut:
        """Replace what the organization offers in a region (its own staff, a lead of the region, admins)."""
        where = await crosswalk.crosswalk_region(db, principal, data.region)
        codes = await crosswalk.set_services(db, principal, organization_id, where, data.services)
        return OrganizationServicesOut(organization_id=organization_id, region=where.code, services=codes)
