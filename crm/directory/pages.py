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
# The matrix's filters take any text: a wrong one is said beside its filter, not by a bare error page.
Filter = Annotated[str | None, Parameter(max_length=2000)]


def _quoted(value: str, limit: int = 40) -> str:
    """A wrong filter as the message repeats it, cut short: the query may hold any text."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


class CrosswalkPages(Controller):
    path = "/crosswalk"
    guards = [requires_crm_user]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any], db: Db, principal: Me, region: Filter = None,
                    kind: Filter = None, service: Filter = None) -> Template:
        regions = list(await db.scalars(select(Region).order_by(Region.code)))
        region, kind, service = (region or "").strip(), (kind or "").strip(), (service or "").strip()
        # Every wrong filter at once, each said beside its own; the matrix shows what the others select.
        errors: dict[str, str] = {}
        unknown_region = region if region and region.upper() not in {r.code for r in regions} else ""
        if unknown_region:
            region = ""  # said below, with the region shown instead
        if kind and kind not in {k.value for k in OrganizationKind}:
            errors["kind"] = f"{_quoted(kind)} is not a kind of organization; showing every kind"
            kind = ""
        if service and service not in {s.code for s in await crosswalk.all_services(db)}:
            errors["service"] = f"{_quoted(service)} is not a service; showing every service"
            service = ""
        where = await crosswalk.crosswalk_region(db, principal, region or None)
        if unknown_region:
            errors["region"] = f"{_quoted(unknown_region)} is not a region code; showing {where.code}"
        table = await crosswalk.crosswalk(db, principal, where, kind=kind or None, service=service or None)
        return render(request, "crosswalk/index.html", status_code=422 if errors else 200, table=table,
                      regions=regions, kinds=list(OrganizationKind), errors=errors,
                      values={"kind": kind, "service": service})

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
