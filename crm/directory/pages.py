"""`/crosswalk`: the regional services crosswalk — organizations × services, filterable and printable —
and the form where an organization's staff (or a lead) keep its row."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy import select

from crm.auth.guards import requires_crm_user
from crm.auth.principal import Principal
from crm.deps import Db, Me, PathId
from crm.directory import crosswalk
from crm.directory.models import OrganizationKind, Region
from crm.errors import FieldError
from crm.web import flash, redirect, render

Code = Annotated[str | None, Parameter(max_length=40)]


class CrosswalkPages(Controller):
    path = "/crosswalk"
    guards = [requires_crm_user]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any], db: Db, principal: Me, region: Code = None,
                    kind: Code = None, service: Code = None) -> Template:
        where = await crosswalk.crosswalk_region(db, principal, region)
        table = await crosswalk.crosswalk(db, principal, where, kind=kind or None, service=service or None)
        regions = list(await db.scalars(select(Region).order_by(Region.code)))
        return render(request, "crosswalk/index.html", table=table, regions=regions, kinds=list(OrganizationKind),
                      values={"kind": kind or "", "service": service or ""})

    @get("/organizations/{organization_id:int}")
    async def edit(self, request: Request[Any, Any, Any], db: Db, principal: Me, organization_id: PathId,
                   region: Code = None) -> Template:
        return await self._form(request, db, principal, organization_id, region)

    async def _form(self, request: Request[Any, Any, Any], db: Db, principal: Principal, organization_id: int,
                    region: str | None, *, ticked: set[str] | None = None, error: str | None = None) -> Template:
        where = await crosswalk.crosswalk_region(db, principal, region)
        if not crosswalk.may_edit(principal, organization_id, where.id):
            raise PermissionDeniedException(crosswalk.EDITORS_ONLY)
        org, offered = await crosswalk.organization_services(db, organization_id, where)
        return render(request, "crosswalk/edit.html", status_code=422 if error else 200, organization=org,
                      region=where, services=await crosswalk.all_services(db),
                      ticked=offered if ticked is None else ticked, error=error)

    @post("/organizations/{organization_id:int}")
    async def save(self, request: Request[Any, Any, Any], db: Db, principal: Me, organization_id: PathId,
                   region: Code = None) -> Template | Redirect:
        form = await request.form()
        codes = [v for v in form.getall("services", []) if isinstance(v, str)]
        where = await crosswalk.crosswalk_region(db, principal, region or str(form.get("region") or ""))
        code = where.code  # the rollback below expires `where`
        try:
            saved = await crosswalk.set_services(db, principal, organization_id, where, codes)
        except FieldError as exc:
            await db.rollback()
            return await self._form(request, db, principal, organization_id, code, ticked=set(codes),
                                    error=exc.fields[0][1])
        flash(request, f"Saved: {len(saved)} service{'' if len(saved) == 1 else 's'} in {code}")
        return redirect(request, f"/crosswalk?region={code}")
