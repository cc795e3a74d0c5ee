"""Employer directory (htmx live search), employer page, create form, SPOC assignment form."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import joinedload

from crm.audit.models import AuditEvent
from crm.audit.names import id_names
from crm.auth.guards import requires_crm_user, requires_staff
from crm.auth.models import Role, User
from crm.auth.principal import Principal
from crm.deps import Db, Me, PathId
from crm.directory.models import County, Region
from crm.directory.service import led_regions
from crm.employers import service
from crm.employers.candidates import Query, match_candidates
from crm.employers.match_pages import blocking_matches, matches_context
from crm.employers.models import Employer, SizeBand, SpocAssignment
from crm.employers.panels import load_panels
from crm.employers.schemas import AssignIn, EmployerIn
from crm.errors import FieldError
from crm.touches.models import HandOff, Touch, TouchRequest
from crm.web import flash, form_data, parse_form, redirect, refused, render

PAGE = 25


async def _with_profile(db: Db, employer_id: int) -> Employer:
    """The employer with its aliases and contacts in one statement (service.get_employer takes three);
    afresh, as the assign form re-renders the page after a change."""
    employer = (await db.scalars(
        select(Employer).where(Employer.id == employer_id)
        .options(joinedload(Employer.aliases), joinedload(Employer.contacts))
        .execution_options(populate_existing=True))).unique().first()
    if employer is None:
        raise NotFoundException(f"Employer #{employer_id} not found")
    return employer


def _audit_visible(principal: Principal) -> ColumnElement[bool]:
    """The employer's audit events a SPOC or lead reads: the work of their own regions (touches, requests,
    hand-offs, SPOC assignments: reasons and notes of another region's staff stay there, as on the
    timeline), and what concerns the employer itself (its record, preferences, merges, seats)."""
    if principal.is_admin:
        return true()
    mine = principal.regions_for(Role.lead, Role.spoc)
    kind, entity = AuditEvent.entity_type, AuditEvent.entity_id
    return or_(
        kind.not_in(("touch", "touch_request", "hand_off", "spoc_assignment")),
        and_(kind == "touch", entity.in_(select(Touch.id).where(Touch.region_id.in_(mine)))),
        and_(kind == "touch_request", entity.in_(select(TouchRequest.id).where(TouchRequest.region_id.in_(mine)))),
        and_(kind == "hand_off", entity.in_(select(HandOff.id).join(Touch, Touch.id == HandOff.touch_id)
                                            .where(Touch.region_id.in_(mine)))),
        and_(kind == "spoc_assignment", entity.in_(select(SpocAssignment.id)
                                                   .where(SpocAssignment.region_id.in_(mine)))))


async def employer_page(request: Request[Any, Any, Any], db: Db, principal: Me, employer_id: int,
                        assign_errors: dict[str, str] | None = None, status_code: int = 200,
                        partial: str | None = None, assign_values: dict[str, str] | None = None,
                        panel: dict[str, Any] | None = None) -> Template:
    """The employer page (or its ``partial``); ``panel`` stands in for the panel of its template (a form
    posted without JavaScript, shown again with its problems)."""
    employer = await _with_profile(db, employer_id)
    history = await service.assignments(db, employer_id)
    show_audit = principal.is_staff
    audit = list(await db.scalars(
        select(AuditEvent).where(AuditEvent.employer_id == employer_id, _audit_visible(principal))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(50))) if show_audit else []
    lead_regions = await led_regions(db, principal)
    candidates = {r.id: await service.spoc_candidates(db, r.id) for r in lead_regions}
    active = {a.region_id: a for a in history if a.ended_at is None}
    panels = [] if partial else await load_panels(db, principal, employer)
    if panel is not None:
        panels = [panel if p["template"] == panel["template"] else p for p in panels]
    return render(request, "employers/detail.html", status_code=status_code, partial=partial, panels=panels,
                  employer=employer, history=history, audit=audit, lead_regions=lead_regions,
                  audit_names=await id_names(db, audit),
                  candidates=candidates, active=active, assign_errors=assign_errors or {},
                  assign_values=assign_values or {},
                  can_edit=service.can_edit(principal, employer),
                  reach_contacts=service.can_reach_contacts(principal), show_audit=show_audit,
                  staff=principal.is_staff)


class EmployerPages(Controller):
    path = "/employers"
    guards = [requires_crm_user]
    include_in_schema = False

    @get("/")
    async def directory(
        self, request: Request[Any, Any, Any], db: Db,
        q: Annotated[str | None, Parameter(max_length=200)] = None,
        region: Annotated[str | None, Parameter(max_length=32)] = None,
        status: Annotated[str | None, Parameter(max_length=16)] = None,
        page: Annotated[int, Parameter(ge=1, le=100_000)] = 1,
    ) -> Template:
        rows, total = await service.search_employers(db, q, region=region or None, status=status or None,
                                                     limit=PAGE, offset=(page - 1) * PAGE)
        regions = list(await db.scalars(select(Region).order_by(Region.code)))
        # Who to go through, which is what partners search the directory for: the SPOC of each
        # employer's own region (one statement for the page).
        spocs = {employer_id: name for employer_id, name in await db.execute(
            select(SpocAssignment.employer_id, User.name).join(User, User.id == SpocAssignment.spoc_id)
            .join(Employer, Employer.id == SpocAssignment.employer_id)
            .where(SpocAssignment.employer_id.in_([e.id for e in rows]), SpocAssignment.ended_at.is_(None),
                   SpocAssignment.region_id == Employer.region_id))} if rows else {}
        return render(request, "employers/list.html", partial="employers/_results.html",
                      employers=rows, total=total, page=page, pages=max(1, -(-total // PAGE)), spocs=spocs,
                      q=q or "", region=region or "", status=status or "", regions=regions)

    @get("/new", guards=[requires_staff])
    async def new_form(self, request: Request[Any, Any, Any], db: Db) -> Template:
        return await self._form(request, db, {}, {})

    async def _form(self, request: Request[Any, Any, Any], db: Db, values: dict[str, str],
                    errors: dict[str, str], status_code: int = 200, matches: dict[str, Any] | None = None) -> Template:
        counties = list(await db.scalars(select(County).order_by(County.name)))
        return render(request, "employers/new.html", status_code=status_code, values=values, errors=errors,
                      counties=counties, size_bands=[b.value for b in SizeBand],
                      **(matches or matches_context([], "create", asked=False)))

    @post("/new", guards=[requires_staff])
    async def create(self, request: Request[Any, Any, Any], db: Db,
                     principal: Me) -> Template | Redirect:
        form = await form_data(request)
        try:
            data = parse_form(form, EmployerIn, drop=("aliases", "contacts"))
            employer = await service.create_employer(db, principal, data)
        except FieldError as exc:
            await db.rollback()
            return await self._form(request, db, form, dict(exc.fields), status_code=422)
        if not form.get("create_anyway"):
            # Checked after validation, against the normalized record: an employer OneDoor already
            # has is used, not duplicated, unless the user says it is another one ("create anyway").
            query = Query(name=employer.legal_name, website=employer.website, fein=employer.fein,
                          phone=employer.phone, city=employer.city, zip=employer.zip, address=employer.address_line)
            matches = await match_candidates(db, query, exclude=[employer.id])
            if blocking_matches(matches):
                await db.rollback()
                return await self._form(request, db, form, {}, status_code=409,
                                        matches=matches_context(matches, "create", asked=True, confirm=True))
        flash(request, f"Created {employer.legal_name}")
        return redirect(request, f"/employers/{employer.id}")

    @get("/{employer_id:int}")
    async def detail(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                     employer_id: PathId) -> Template:
        return await employer_page(request, db, principal, employer_id)

    @post("/{employer_id:int}/assign", guards=[requires_staff])
    async def assign(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                     employer_id: PathId) -> Template | Redirect:
        form = await form_data(request)
        try:
            data = parse_form(form, AssignIn)
            assignment = await service.assign_spoc(db, principal, employer_id, data)
        except HTTPException as exc:
            errors = await refused(db, exc, "assignment")
            return await employer_page(request, db, principal, employer_id, assign_errors=errors, assign_values=form,
                                      status_code=exc.status_code, partial="employers/_spoc.html")
        flash(request, f"{assignment.spoc.name} is now the SPOC for {assignment.region.code}")
        if request.headers.get("hx-request"):
            return await employer_page(request, db, principal, employer_id, partial="employers/_spoc.html")
        return redirect(request, f"/employers/{employer_id}")

