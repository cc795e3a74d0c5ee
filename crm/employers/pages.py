"""Employer directory (htmx live search), employer page, create and edit (verify) forms, SPOC assignment form."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import joinedload

from crm import seen
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
from crm.employers.schemas import AssignIn, EmployerIn, EmployerPatch
from crm.errors import FieldError
from crm.touches.assign import next_spoc
from crm.touches.models import OPEN_TOUCH_VALUES, HandOff, Touch, TouchRequest
from crm.web import flash, form_data, form_fields, parse_form, redirect, refused, render

PAGE = 25
# The edit form's fields (EmployerPatch's, as a person edits them) and how the form labels them.
EDIT_LABELS = (("legal_name", "Legal name"), ("dba", "Doing business as"), ("website", "Website"), ("fein", "FEIN"),
               ("phone", "Phone"), ("naics_code", "NAICS code"), ("size_band", "Size"),
               ("address_line", "Street address"), ("city", "City"), ("zip", "ZIP"), ("county", "County"),
               ("region", "Region"), ("do_not_contact", "Do not contact"), ("notes", "Notes"), ("status", "Status"))
EDIT_FIELDS = tuple(name for name, _ in EDIT_LABELS if name not in ("do_not_contact", "status"))


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
    # Each event looked up by its own id (EXISTS, correlated), not checked against every id of the regions:
    # PostgreSQL hashed all of a region's touches for "IN (SELECT …)", 55 ms on an employer page.
    return or_(
        kind.not_in(("touch", "touch_request", "hand_off", "spoc_assignment")),
        and_(kind == "touch", select(Touch.id).where(Touch.id == entity, Touch.region_id.in_(mine)).exists()),
        and_(kind == "touch_request", select(TouchRequest.id).where(
            TouchRequest.id == entity, TouchRequest.region_id.in_(mine)).exists()),
        and_(kind == "hand_off", select(HandOff.id).join(Touch, Touch.id == HandOff.touch_id).where(
            HandOff.id == entity, Touch.region_id.in_(mine)).exists()),
        and_(kind == "spoc_assignment", select(SpocAssignment.id).where(
            SpocAssignment.id == entity, SpocAssignment.region_id.in_(mine)).exists()))


async def employer_page(request: Request[Any, Any, Any], db: Db, principal: Me, employer_id: int,
                        assign_errors: dict[str, str] | None = None, status_code: int = 200,
                        partial: str | None = None, assign_values: dict[str, str] | None = None,
                        panel: dict[str, Any] | None = None, **context: Any) -> Template:
    """The employer page (or its ``partial``); ``panel`` stands in for the panel of its template (a form
    posted without JavaScript, shown again with its problems); ``context``: what a partial's form adds
    (the contacts block's refused form, ``crm.employers.contact_pages``)."""
    employer = await _with_profile(db, employer_id)
    history = await service.assignments(db, employer_id)
    show_audit = principal.is_staff
    audit = list(await db.scalars(
        select(AuditEvent).where(AuditEvent.employer_id == employer_id, _audit_visible(principal))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(50))) if show_audit else []
    lead_regions = await led_regions(db, principal)
    candidates = {r.id: await service.spoc_candidates(db, r.id) for r in lead_regions}
    active = {a.region_id: a for a in history if a.ended_at is None}
    # No SPOC yet: whom a request would go to now (a routing rule's pick becomes its SPOC), or nobody.
    routed = (await next_spoc(db, employer, employer.region_id)
              if not active and employer.region_id is not None and not employer.merged_into_id else None)
    panels = [] if partial else await load_panels(db, principal, employer)
    if panel is not None:
        panels = [panel if p["template"] == panel["template"] else p for p in panels]
    return render(request, "employers/detail.html", status_code=status_code, partial=partial, panels=panels,
                  employer=employer, history=history, audit=audit, lead_regions=lead_regions,
                  audit_names=await id_names(db, audit),
                  candidates=candidates, active=active, routed=routed, assign_errors=assign_errors or {},
                  assign_values=assign_values or {},
                  can_edit=service.can_edit(principal, employer),
                  reach_contacts=service.can_reach_contacts(principal), show_audit=show_audit,
                  staff=principal.is_staff, **context)


def _saved_values(employer: Employer) -> dict[str, str]:
    """The employer's record as the edit form shows it."""
    values = {name: getattr(employer, name) or "" for name in EDIT_FIELDS if name not in ("county", "region")}
    values["county"] = employer.county.name if employer.county else ""
    # With a county the region follows it ("As its county's"): a county changed alone moves it along.
    values["region"] = employer.region.code if employer.region and not employer.county else ""
    values["do_not_contact"] = "yes" if employer.do_not_contact else ""
    values["status"] = employer.status
    return values


def _patch_of(form: dict[str, str]) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """The edit form as EmployerPatch fields: what parses, and each field's problem. Every field is sent
    (blank clears it); an unticked box is "no"; "Verified" makes a provisional employer active."""
    data = {name: form.get(name, "") for name in EDIT_FIELDS}
    data["do_not_contact"] = "true" if form.get("do_not_contact") else "false"
    if form.get("verified"):
        data["status"] = "active"
    if form.get("seen"):
        data["seen"] = form["seen"]
    return form_fields(data, EmployerPatch)


async def _say_open_touches(request: Request[Any, Any, Any], db: Db, employer: Employer) -> None:
    """Marked do-not-contact: new requests are refused from now on, but touches already queued still wait
    in the queue (each card says so); the one who set the flag is told which, to cancel them."""
    waiting = list(await db.scalars(select(Touch.id).where(
        Touch.employer_id == employer.id, Touch.status.in_(OPEN_TOUCH_VALUES))
        .order_by(Touch.id)))
    if waiting:
        ids = ", ".join(f"#{i}" for i in waiting)
        flash(request, f"{employer.legal_name} asked not to be contacted, but {len(waiting)} open "
                       f"touch{'es' if len(waiting) > 1 else ''} ({ids}) still wait{'' if len(waiting) > 1 else 's'} "
                       "in the queue: cancel them there (their requesters are told).", "warn")


async def _editable(db: Db, principal: Principal, employer_id: int) -> Employer:
    """The employer if the viewer may edit it (the API's PATCH rule, ``service.can_edit``): 404, 403, or 409
    for a merged record."""
    employer = await service.get_employer(db, employer_id)
    service.require_editable(principal, employer)
    return employer


class EmployerPages(Controller):
    path = "/employers"
    guards = [requires_crm_user]
    include_in_schema = False

    @get("/")
    async def directory(
        self, request: Request[Any, Any, Any], db: Db, principal: Me,
        q: Annotated[str | None, Parameter(max_length=200)] = None,
        region: Annotated[str | None, Parameter(max_length=32)] = None,
        status: Annotated[str | None, Parameter(max_length=16)] = None,
        spoc: Annotated[str | None, Parameter(max_length=8)] = None,
        page: Annotated[int, Parameter(ge=1, le=100_000)] = 1,
    ) -> Template:
        """``spoc=none``: only employers with no SPOC in their own region (the region overview links here);
        ``spoc=mine``: a SPOC's or lead's own employers, as SPOC or backup (the queue overview links here)."""
        no_spoc = spoc == "none"
        mine = principal.id if spoc == "mine" and principal.has(Role.spoc, Role.lead) else None
        q = (q or "").strip() or None  # all spaces is no search ("3003 employers matching “ ”")
        rows, total = await service.search_employers(db, q, region=region or None, status=status or None,
                                                     no_spoc=no_spoc, mine=mine, limit=PAGE,
                                                     offset=(page - 1) * PAGE)
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
                      q=q or "", region=region or "", status=status or "", regions=regions,
                      spoc="none" if no_spoc else "mine" if mine else "", q_fein=service.fein_typed(q))

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

    @get("/{employer_id:int}/edit", guards=[requires_staff])
    async def edit_form(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                        employer_id: PathId) -> Template:
        employer = await _editable(db, principal, employer_id)
        return await self._edit_form(request, db, employer, _saved_values(employer), {})

    async def _edit_form(self, request: Request[Any, Any, Any], db: Db, employer: Employer, values: dict[str, str],
                         errors: dict[str, str], status_code: int = 200, stale: bool = False) -> Template:
        counties = list(await db.scalars(select(County).order_by(County.name)))
        regions = list(await db.scalars(select(Region).order_by(Region.code)))
        # Problems of fields the form has no control for (a tampered ``seen``) are said at its top.
        shown = {name for name, _ in EDIT_LABELS}
        loose = [f"{k}: {v}" for k, v in errors.items() if k not in shown and k != "form"]
        if loose:
            errors = {**errors, "form": "; ".join(filter(None, [errors.get("form"), *loose]))}
        # ``seen`` and "Saved now" are the record as stored: after a refused save, the user's entries stay in
        # the fields and saving again is on purpose.
        return render(request, "employers/edit.html", status_code=status_code, employer=employer, values=values,
                      errors=errors, counties=counties, regions=regions, size_bands=[b.value for b in SizeBand],
                      seen=service.employer_seen(employer), stale=stale, saved=_saved_values(employer),
                      labels=EDIT_LABELS)

    @post("/{employer_id:int}/edit", guards=[requires_staff])
    async def edit(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                   employer_id: PathId) -> Template | Redirect:
        employer = await _editable(db, principal, employer_id)
        was_provisional, was_left_alone = employer.status == "provisional", employer.do_not_contact
        form = await form_data(request)
        values, wrong = _patch_of(form)
        try:
            # Every problem at once: the fields that do not parse, and the service's checks of those that do.
            try:
                employer = await service.update_employer(db, principal, employer_id,
                                                         EmployerPatch(**values))  # type: ignore[arg-type]
            except FieldError as exc:
                said = {name for name, _ in wrong}
                wrong += [w for w in exc.fields if w[0] not in said]
            except PermissionDeniedException as exc:  # moved into a region the user does not work in
                wrong.append(("region" if form.get("region") else "county", str(exc.detail)))
                if len(wrong) == 1:
                    await db.rollback()
                    employer = await _editable(db, principal, employer_id)
                    return await self._edit_form(request, db, employer, form, dict(wrong), status_code=403)
            if wrong:
                raise FieldError(*wrong[0], *wrong[1:])
        except HTTPException as exc:
            errors = await refused(db, exc)
            employer = await _editable(db, principal, employer_id)
            return await self._edit_form(request, db, employer, form, errors, status_code=exc.status_code,
                                         stale=isinstance(exc, seen.Changed))
        verified = was_provisional and employer.status == "active"
        flash(request, f"{employer.legal_name} {'verified and ' if verified else ''}saved")
        if employer.do_not_contact and not was_left_alone:
            await _say_open_touches(request, db, employer)
        return redirect(request, f"/employers/{employer_id}")

    @post("/{employer_id:int}/verify", guards=[requires_staff])
    async def verify(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                     employer_id: PathId) -> Template | Redirect:
        """The employer page's one-click verification of a provisional employer (SPEC §2). It changes only
        the status, so it needs no ``seen``: nothing another user typed can be lost."""
        await _editable(db, principal, employer_id)
        try:
            employer = await service.update_employer(db, principal, employer_id, EmployerPatch(status="active"))
        except HTTPException as exc:
            errors = await refused(db, exc)
            flash(request, "; ".join(errors.values()), "error")
            return await employer_page(request, db, principal, employer_id, status_code=exc.status_code)
        flash(request, f"{employer.legal_name} verified: it is no longer provisional")
        return redirect(request, f"/employers/{employer_id}")
