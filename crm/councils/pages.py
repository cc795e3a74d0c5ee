"""Council pages: list with badges, council page (roster, meetings with attendance ticked in place,
recommendations), create/edit forms, roster CSV and print page, and the employer-page panel."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.auth.guards import requires_crm_user
from crm.auth.principal import Principal
from crm.councils import service
from crm.councils.compliance import EXPIRING_WITHIN_DAYS, MemberRole, MemberType, is_current, last_met
from crm.councils.models import (
    RECOMMENDATION_STATUSES,
    AdvisoryCouncil,
    CouncilMember,
)
from crm.councils.schemas import CouncilIn, CouncilPatch, MeetingIn, MemberIn, RecommendationIn, RecommendationPatch
from crm.csvfile import csv_download, file_stem
from crm.deps import Db, Me, PathId
from crm.directory.models import Organization, Region
from crm.directory.service import led_regions
from crm.employers.models import Employer
from crm.employers.panels import employer_panel
from crm.errors import FieldConflict, FieldError
from crm.partnerships.models import SectorPartnership
from crm.partnerships.service import employer_partnerships
from crm.partnerships.service import visible_condition as partnership_visible_condition
from crm.seen import Changed
from crm.templating import fmt_date
from crm.web import (
    flash,
    form_data,
    form_fields,
    parse_form,
    parse_member_form,
    redirect,
    refuse_problems,
    refused,
    render,
)

PAGE = 25
MEMBER_TYPES = [(t.value, t.value.replace("_", " ")) for t in MemberType]
ROLES = [(r.value, r.value.replace("_", " ")) for r in MemberRole]
CSV_COLUMNS = ("Name", "Title", "Organization / employer", "Member type", "Role", "Term start", "Term end", "Email")


async def council_context(db: AsyncSession, principal: Principal, council: AdvisoryCouncil, *,
                          base: str, manage: bool) -> dict[str, Any]:
    """Everything the council page and its partials show (the chair view passes ``manage=False``)."""
    on = service.today()
    roster = await service.members(db, council.id, include_removed=True)
    current = [m for m in roster if m.removed_at is None]
    meetings = await service.meetings(db, council.id)
    present = await service.attendance(db, [m.id for m in meetings])
    by_id = {m.id: m for m in roster}
    eligible = {mt.id: [m for m in current if is_current(service.member_view(m), mt.held_on)] for mt in meetings}
    attendees = {mt.id: sorted((by_id[i] for i in present[mt.id] if i in by_id), key=lambda m: m.name)
                 for mt in meetings}
    return {
        "council": council, "badges": await service.badges(db, council, on), "today": on,
        "members": current, "history": [m for m in roster if m.removed_at is not None],
        "is_current": lambda m: is_current(service.member_view(m), on),
        # The seats the "terms ending" badge counts, marked in the roster itself.
        "ends_soon": lambda m: m.term_end is not None and on <= m.term_end <= on + dt.timedelta(
            days=EXPIRING_WITHIN_DAYS),
        "meetings": meetings, "present": present, "eligible": eligible, "attendees": attendees,
        "recommendations": await service.recommendations(db, council.id), "statuses": RECOMMENDATION_STATUSES,
        "can_manage": manage, "base": base, "member_types": MEMBER_TYPES, "roles": ROLES,
        "organizations": list(await db.scalars(select(Organization).order_by(Organization.name))) if manage else [],
    }


def roster_csv(council: AdvisoryCouncil, members: list[CouncilMember]) -> Response[bytes]:
    """The roster as a spreadsheet (crm.csvfile: byte-order mark, formula-safe cells)."""
    return csv_download(f"{file_stem(council.name, 'council')}-roster.csv", CSV_COLUMNS, (
        (m.name, m.title or "", m.affiliation, m.member_type.replace("_", " "), m.role.replace("_", " "),
         m.term_start.isoformat() if m.term_start else "", m.term_end.isoformat() if m.term_end else "",
         m.email or "") for m in members))


async def roster_print(request: Request[Any, Any, Any], db: AsyncSession, council: AdvisoryCouncil,
                       back: str) -> Template:
    members = await service.members(db, council.id)
    on = service.today()
    # "Last met" as the compliance badge decides it: held by today, with someone ticked present.
    return render(request, "councils/roster_print.html", council=council, members=members,
                  badges=await service.badges(db, council, on), today=on,
                  last_met=last_met(await service.meeting_views(db, council.id), on), back=back)



async def led_region_code(db: Db, principal: Principal) -> str | None:
    """The region a new council defaults to: the one its lead leads (the first, for a lead of several); none
    for an admin or staff, who choose."""
    if principal.is_admin:
        return None
    led = await led_regions(db, principal)
    return led[0].code if led else None

class CouncilPages(Controller):
    path = "/councils"
    guards = [requires_crm_user]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                    page: Annotated[int, Parameter(ge=1, le=100_000)] = 1) -> Template:
        rows, total = await service.list_councils(db, principal, limit=PAGE, offset=(page - 1) * PAGE)
        badges = {c.id: await service.badges(db, c) for c in rows}
        return render(request, "councils/list.html", councils=rows, badges=badges, total=total, page=page,
                      pages=max(1, -(-total // PAGE)))

    async def _form(self, request: Request[Any, Any, Any], db: Db, principal: Principal, values: dict[str, Any],
                    errors: dict[str, str], council: AdvisoryCouncil | None = None,
                    status_code: int = 200, stale: bool = False) -> Template:
        regions = list(await db.scalars(select(Region).order_by(Region.code)))
        orgs = list(await db.scalars(select(Organization).order_by(Organization.name)))
        if not (principal.is_admin or principal.regions_for("lead")):
            orgs = [o for o in orgs if o.id == principal.organization_id]
        # The edit form carries what it shows of the council now (crm.seen); ``stale`` shows that beside
        # what the user typed, after a save from an older page was refused.
        return render(request, "councils/form.html", status_code=status_code, values=values, errors=errors,
                      council=council, regions=regions, organizations=orgs, stale=stale,
                      seen=service.council_seen(council) if council else None)

    @get("/new")
    async def new_form(self, request: Request[Any, Any, Any], db: Db, principal: Me) -> Template:
        return await self._form(request, db, principal, {"owner_organization_id": principal.organization_id,
                                                         "region": await led_region_code(db, principal)}, {})

    @post("/new")
    async def create(self, request: Request[Any, Any, Any], db: Db, principal: Me) -> Template | Redirect:
        form = await form_data(request)
        try:
            # Every field at once: those that do not parse, and the service's checks of those that did (with
            # every field parsed, create_council makes those checks itself).
            values, unparsed = form_fields(form, CouncilIn)
            if unparsed:
                refuse_problems(unparsed, await service.council_problems(db, principal, values))
            council = await service.create_council(db, principal, parse_form(form, CouncilIn))
        except (FieldError, FieldConflict) as exc:  # a council of that name already: a 409 at the name
            await db.rollback()
            return await self._form(request, db, principal, form, dict(exc.fields),
                                    status_code=exc.status_code)
        except PermissionDeniedException as exc:  # this owner in this region: said at the field, input kept
            await db.rollback()
            return await self._form(request, db, principal, form, {"owner_organization_id": exc.detail},
                                    status_code=403)
        flash(request, f"Created {council.name}")
        return redirect(request, f"/councils/{council.id}")

    @get("/{council_id:int}")
    async def detail(self, request: Request[Any, Any, Any], db: Db, principal: Me, council_id: PathId) -> Template:
        council = await service.council_for_view(db, principal, council_id)
        return await self._detail(request, db, principal, council)

    async def _detail(self, request: Request[Any, Any, Any], db: Db, principal: Principal, council: AdvisoryCouncil,
                      *, partial: str | None = None, errors: dict[str, dict[str, str]] | None = None,
                      values: dict[str, str] | None = None, status_code: int = 200, done_message: str | None = None,
                      done_id: int | None = None) -> Template:
        """``done_message``: what an action did, said in the page's live region (``councils/_status.html``);
        ``done_id``: the meeting it recorded, which gets the focus rather than the whole section."""
        context = await council_context(db, principal, council, base=f"/councils/{council.id}",
                                        manage=service.can_manage(principal, council))
        return render(request, "councils/detail.html", partial=partial, status_code=status_code,
                      errors=errors or {}, values=values or {}, done_message=done_message, done_id=done_id,
                      **context)

    async def _changed(self, request: Request[Any, Any, Any], db: Db, principal: Principal,
                       council: AdvisoryCouncil, partial: str, anchor: str, message: str,
                       done_id: int | None = None) -> Template | Redirect:
        if request.headers.get("hx-request"):
            return await self._detail(request, db, principal, council, partial=partial, done_message=message,
                                      done_id=done_id)
        flash(request, message)
        return redirect(request, f"/councils/{council.id}#{anchor}")

    async def _failed(self, request: Request[Any, Any, Any], db: Db, principal: Principal, council_id: int,
                      exc: HTTPException, form_name: str, partial: str, values: dict[str, str]) -> Template:
        errors = await refused(db, exc)
        council = await service.council_for_view(db, principal, council_id)
        return await self._detail(request, db, principal, council, partial=partial, errors={form_name: errors},
                                  values=values, status_code=exc.status_code)

    @get("/{council_id:int}/edit")
    async def edit_form(self, request: Request[Any, Any, Any], db: Db, principal: Me, council_id: PathId) -> Template:
        council = await service.council_for_manage(db, principal, council_id)
        values = {"name": council.name, "program": council.program, "naics_prefix": council.naics_prefix,
                  "description": council.description}
        return await self._form(request, db, principal, values, {}, council=council)

    @post("/{council_id:int}/edit")
    async def edit(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                   council_id: PathId) -> Template | Redirect:
        council = await service.council_for_manage(db, principal, council_id)
        form = await form_data(request)
        try:
            patch = parse_form({k: form.get(k, "") for k in (*service.EDITED_FIELDS, "seen")}, CouncilPatch)
            await service.update_council(db, principal, council, patch)
        except HTTPException as exc:
            errors = await refused(db, exc)
            council = await service.council_for_manage(db, principal, council_id)
            return await self._form(request, db, principal, form, errors, council=council,
                                    status_code=exc.status_code, stale=isinstance(exc, Changed))
        flash(request, "Council saved")
        return redirect(request, f"/councils/{council.id}")

    @post("/{council_id:int}/members")
    async def add_member(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                         council_id: PathId) -> Template | Redirect:
        council = await service.council_for_manage(db, principal, council_id)
        form = await form_data(request)
        try:
            data = parse_member_form(form, MemberIn, service.member_problems)
            member = await service.add_member(db, principal, council, data)
        except HTTPException as exc:
            return await self._failed(request, db, principal, council_id, exc, "member", "councils/_roster.html", form)
        return await self._changed(request, db, principal, council, "councils/_roster.html", "roster",
                                   f"Added {member.name}")

    @post("/{council_id:int}/members/{member_id:int}/remove")
    async def remove_member(self, request: Request[Any, Any, Any], db: Db, principal: Me, council_id: PathId,
                            member_id: PathId) -> Template | Redirect:
        council = await service.council_for_manage(db, principal, council_id)
        form = await form_data(request)
        try:
            member = await service.remove_member(db, principal, council, member_id, form.get("reason"))
        except HTTPException as exc:
            return await self._failed(request, db, principal, council_id, exc, "member", "councils/_roster.html", {})
        return await self._changed(request, db, principal, council, "councils/_roster.html", "roster",
                                   f"Removed {member.name} (kept in the roster history)")

    @post("/{council_id:int}/meetings")
    async def add_meeting(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                          council_id: PathId) -> Template | Redirect:
        council = await service.council_for_manage(db, principal, council_id)
        form = await form_data(request)
        try:
            meeting = await service.add_meeting(db, principal, council, parse_form(form, MeetingIn))
        except HTTPException as exc:
            return await self._failed(request, db, principal, council_id, exc, "meeting", "councils/_meetings.html",
                                      form)
        return await self._changed(request, db, principal, council, "councils/_meetings.html", "meetings",
                                   f"Recorded the meeting of {fmt_date(meeting.held_on)}", done_id=meeting.id)

    @post("/{council_id:int}/meetings/{meeting_id:int}/attendance/{member_id:int}")
    async def tick(self, request: Request[Any, Any, Any], db: Db, principal: Me, council_id: PathId,
                   meeting_id: PathId, member_id: PathId) -> Template | Redirect:
        """One checkbox, one request: the answer is that checkbox again, as now saved."""
        council = await service.council_for_manage(db, principal, council_id)
        form = await form_data(request)
        base = f"/councils/{council.id}"
        try:
            row = await service.set_attendance(db, principal, council, meeting_id, member_id,
                                               form.get("present") == "1")
        except FieldError as exc:
            await db.rollback()
            member = await db.get(CouncilMember, member_id)
            if not request.headers.get("hx-request") or member is None or member.council_id != council_id:
                raise
            return render(request, "councils/_tick.html", status_code=422, base=base, meeting_id=meeting_id,
                          m=member, checked=False, counted=False, error=exc.fields[0][1])
        if not request.headers.get("hx-request"):
            flash(request, "Attendance saved")
            return redirect(request, f"{base}#meeting-{meeting_id}")
        member = await service.get_member(db, council, member_id)
        # Who was present decides whether the meeting counts as met: the page's badges follow the tick.
        return render(request, "councils/_tick.html", base=base, meeting_id=meeting_id, m=member,
                      checked=row.present, counted=row.touch_id is not None, council=council,
                      tick_badges=await service.badges(db, council))

    @post("/{council_id:int}/recommendations")
    async def add_recommendation(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                                 council_id: PathId) -> Template | Redirect:
        council = await service.council_for_manage(db, principal, council_id)
        form = await form_data(request)
        try:
            await service.add_recommendation(db, principal, council, parse_form(form, RecommendationIn))
        except HTTPException as exc:
            return await self._failed(request, db, principal, council_id, exc, "recommendation",
                                      "councils/_recommendations.html", form)
        return await self._changed(request, db, principal, council, "councils/_recommendations.html",
                                   "recommendations", "Recommendation added")

    @post("/{council_id:int}/recommendations/{rec_id:int}")
    async def update_recommendation(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                                    council_id: PathId, rec_id: PathId) -> Template | Redirect:
        council = await service.council_for_manage(db, principal, council_id)
        form = await form_data(request)
        try:
            await service.update_recommendation(db, principal, council, rec_id, parse_form(form, RecommendationPatch))
        except HTTPException as exc:
            return await self._failed(request, db, principal, council_id, exc, "recommendation",
                                      "councils/_recommendations.html", form)
        return await self._changed(request, db, principal, council, "councils/_recommendations.html",
                                   "recommendations", "Recommendation updated")

    @get("/{council_id:int}/roster")
    async def roster_page(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                          council_id: PathId) -> Template:
        council = await service.council_for_view(db, principal, council_id)
        return await roster_print(request, db, council, back=f"/councils/{council.id}")

    @get("/{council_id:int}/roster.csv")
    async def roster_download(self, db: Db, principal: Me, council_id: PathId) -> Response[bytes]:
        council = await service.council_for_view(db, principal, council_id)
        return roster_csv(council, await service.members(db, council.id))


@employer_panel(order=20)
async def councils_panel(db: AsyncSession, principal: Principal, employer: Employer) -> dict[str, Any] | None:
    """The councils and partnerships the employer sits on (current seats), on the employer page."""
    seats = list(await db.execute(
        select(CouncilMember, AdvisoryCouncil).join(AdvisoryCouncil, AdvisoryCouncil.id == CouncilMember.council_id)
        .where(CouncilMember.employer_id == employer.id, CouncilMember.removed_at.is_(None))
        .order_by(AdvisoryCouncil.name, CouncilMember.name)))
    partnerships = await employer_partnerships(db, employer.id)
    # Every viewer of the employer sees its seats; only the bodies the viewer may open are links.
    council_ids = {c.id for _m, c in seats}
    partnership_ids = {p.id for _m, p in partnerships}
    openable_councils = set(await db.scalars(select(AdvisoryCouncil.id).where(
        AdvisoryCouncil.id.in_(council_ids), service.visible_condition(principal)))) if council_ids else set()
    openable_partnerships = set(await db.scalars(select(SectorPartnership.id).where(
        SectorPartnership.id.in_(partnership_ids),
        partnership_visible_condition(principal)))) if partnership_ids else set()
    return {"template": "councils/_employer_panel.html", "council_seats": seats,
            "partnership_seats": partnerships, "seat_today": service.today(),
            "openable_councils": openable_councils, "openable_partnerships": openable_partnerships}
