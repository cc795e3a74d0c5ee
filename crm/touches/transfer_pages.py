"""`/region/transfer`: a lead moves a SPOC's caseload in the region to a colleague (form, no JavaScript)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy import select

from crm import clock
from crm.auth.guards import requires_lead
from crm.auth.principal import Principal
from crm.deps import Db, Me, QueryId
from crm.directory.models import Region
from crm.directory.service import led_regions
from crm.employers.service import spoc_candidates
from crm.errors import FieldError
from crm.ids import parse_id
from crm.touches.transfer import holders, transfer_caseload
from crm.web import flash, form_data, redirect, refused, render


class CaseloadPages(Controller):
    path = "/region/transfer"
    guards = [requires_lead]
    include_in_schema = False

    @get("/")
    async def form(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                   region: Annotated[str | None, Parameter(max_length=32)] = None,
                   from_spoc_id: QueryId = None) -> Template:
        return await self._page(request, db, principal, region,
                                {"from_spoc_id": str(from_spoc_id) if from_spoc_id else ""})

    async def _page(self, request: Request[Any, Any, Any], db: Db, principal: Principal, code: str | None,
                    values: dict[str, str], errors: dict[str, str] | None = None, status_code: int = 200) -> Template:
        regions = await led_regions(db, principal)
        if not regions:
            raise PermissionDeniedException("You lead no region")
        current = next((r for r in regions if code and r.code == code.strip().upper()), regions[0])
        return render(request, "region/transfer.html", status_code=status_code, regions=regions, region=current,
                      holders=await holders(db, current.id), candidates=await spoc_candidates(db, current.id),
                      values=values, errors=errors or {})

    @post("/")
    async def transfer(self, request: Request[Any, Any, Any], db: Db, principal: Me) -> Template | Redirect:
        form = await form_data(request)
        code = form.get("region", "")
        try:
            regions = {r.code: r for r in await led_regions(db, principal)}
            region = regions.get(code.strip().upper())
            if region is None:
                # Another region's caseload is refused (403), a code naming no region is a typo (422).
                known = await db.scalar(select(Region.id).where(Region.code == code.strip().upper()))
                return await self._page(request, db, principal, code, form,
                                        {"region": f"you lead no region {code!r}"},
                                        status_code=403 if known is not None else 422)
            from_id, to_id = parse_id(form.get("from_spoc_id", "")), parse_id(form.get("to_spoc_id", ""))
            if from_id is None:
                raise FieldError("from_spoc_id", "choose someone from the list")
            if to_id is None:
                raise FieldError("to_spoc_id", "choose someone from the list")
            done = await transfer_caseload(db, principal, region, from_id, to_id, reason=form.get("reason", ""),
                                           now=clock.now())
        except HTTPException as exc:
            errors = await refused(db, exc)
            return await self._page(request, db, principal, code, form, errors, status_code=exc.status_code)
        flash(request, f"Transferred {done.from_user.name}'s caseload in {done.region} to {done.to_user.name}: "
                       f"{done.moved.said}")
        return redirect(request, f"/region/transfer?region={done.region}")
