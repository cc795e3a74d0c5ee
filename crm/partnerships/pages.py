"""Sector-partnership pages: list with indicators, the partnership page (stage, members, convenings with
attendance ticked in place and split business vs public, action teams and milestones), create form."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.auth.guards import requires_crm_user
from crm.auth.principal import Principal
from crm.csvfile import csv_download, file_stem
from crm.deps import Db, Me, PathId
from crm.directory.models import Organization, Region
from crm.errors import FieldConflict, FieldError
from crm.partnerships import service
from crm.partnerships.indicators import Stage, SupportRole, next_stages
from crm.partnerships.models import MILESTONE_STATUSES, PartnershipMember, SectorPartnership
from crm.partnerships.schemas import (
    ActionTeamIn,
    ConveningIn,
    MilestoneIn,
    PartnerMemberIn,
    PartnershipFormIn,
    PartnershipIn,
    PartnershipPatch,
)
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
# How each kind of member reads (the page's history list and the members CSV).
KIND_WORDS = {"champion": "business champion / co-chair", "employer": "member employer", "support": "support team"}


def sector_coverage(prefixes: list[str], business: list[PartnershipMember]) -> list[tuple[str, int]]:
    """Each of the partnership's target NAICS prefixes with how many of its business members' employers
    (member employers and champions, each employer once) are in it: what a chair looks at to see which
    of the sector's industries the table still lacks."""
    naics = {m.employer_id: m.employer.naics_code for m in business if m.employer is not None}
    return [(prefix, sum(1 for code in naics.values() if code and code.startswith(prefix))) for prefix in prefixes]


async def partnership_context(db: AsyncSession, p: SectorPartnership, *, base: str, manage: bool) -> dict[str, Any]:
    """Everything the partnership page and its partials show (the chair view passes ``manage=False``)."""
    roster = await service.members(db, p.id, include_removed=True)
    current = [m for m in roster if m.removed_at is None]
    meetings = await service.meetings(db, p.id)
    present = await service.attendance(db, [m.id for m in meetings])
    by_id = {m.id: m for m in roster}
    return {
        "partnership": p, "badges": await service.indicators(db, p), "badges_key": f"p{p.id}",
        "members": current, "history": [m for m in roster if m.removed_at is not None],
        "champions": [m for m in current if m.kind == "champion"],
        "employers": [m for m in current if m.kind == "employer"],
        "coverage": sector_coverage(p.naics_prefixes or [], [m for m in current if m.kind in ("employer", "champion")]),
        "support": [m for m in current if m.kind == "support"],
        "meetings": meetings, "present": present,
        "attendees": {mt.id: [by_id[i] for i in sorted(present[mt.id]) if i in by_id] for mt in meetings},
        "teams": await service.action_teams(db, p.id), "milestone_statuses": MILESTONE_STATUSES,
        "stages": [s.value for s in Stage], "next_stages": [s.value for s in next_stages(Stage(p.stage))],
        "support_roles": [r.value for r in SupportRole], "today": service.today(),
        "can_manage": manage, "base": base, "kind_words": KIND_WORDS, "partnership_seen": service.partnership_seen,
        "organizations": list(await db.scalars(select(Organization).order_by(Organization.name))) if manage else [],
    }


MEMBER_COLUMNS = ("Kind", "Name", "Title", "Employer / organization", "Support role", "Email")


def members_csv(p: SectorPartnership, members: list[PartnershipMember]) -> Response[bytes]:
    """The current members as a spreadsheet: champions, member employers, then the support team."""
    return csv_download(f"{file_stem(p.name, 'partnership')}-members.csv", MEMBER_COLUMNS, (
        (KIND_WORDS[m.kind], m.name or "", m.title or "",
         m.employer.legal_name if m.employer else (m.organization.name if m.organization else ""),
         m.support_role or "", m.email or "") for m in members))


class PartnershipPages(Controller):
    path = "/partnerships"
    guards = [requires_crm_user]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                    page: Annotated[int, Parameter(ge=1, le=100_000)] = 1) -> Template:
        rows, total = await service.list_partnerships(db, principal, limit=PAGE, offset=(page - 1) * PAGE)
        badges = {p.id: await service.indicators(db, p) for p in rows}
        return render(request, "partnerships/list.html", partnerships=rows, badges=badges, total=total, page=page,
                      pages=max(1, -(-total // PAGE)))

    async def _form(self, request: Request[Any, Any, Any], db: Db, principal: Principal, values: dict[str, Any],
                    errors: dict[str, str], status_code: int = 200) -> Template:
        regions = list(await db.scalars(select(Region).order_by(Region.code)))
        orgs = list(await db.scalars(select(Organization).order_by(Organization.name)))
        if not (principal.is_admin or principal.regions_for("lead")):
            orgs = [o for o in orgs if o.id == principal.organization_id]
        return render(request, "partnerships/form.html", status_code=status_code, values=values, errors=errors,
                      regions=regions, organizations=orgs, stages=[s.value for s in Stage])

    @get("/new")
    async def new_form(self, request: Request[Any, Any, Any], db: Db, principal: Me) -> Template:
        return await self._form(request, db, principal, {"owner_organization_id": principal.organization_id}, {})

    @post("/new")
    async def create(self, request: Request[Any, Any, Any], db: Db, principal: Me) -> Template | Redirect:
        form = await request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "_csrf_token"}
        regions = [v for v in form.getall("regions") if isinstance(v, str)] if "regions" in form else []
        naics = values.get("naics_prefixes", "").replace(",", " ").split()
        try:
            # Every field at once: those that do not parse, and the service's checks of those that did (with
            # every field parsed, create_partnership makes those checks itself).
            head, unparsed = form_fields(values, PartnershipFormIn)
            if not regions:
                unparsed.append(("regions", "choose at least one region"))
            if unparsed:
                wanted = {**head, "naics_prefixes": naics, **({"regions": regions} if regions else {})}
                refuse_problems(unparsed, await service.partnership_problems(db, principal, wanted))
            try:
                data = msgspec.convert({**msgspec.structs.asdict(parse_form(values, PartnershipFormIn)),
                                        "regions": regions, "naics_prefixes": naics}, PartnershipIn)
            except msgspec.ValidationError:  # more regions or sectors than a partnership has
                raise FieldError("naics_prefixes", "give at most 20 NAICS prefixes") from None
            p = await service.create_partnership(db, principal, data)
        except (FieldError, FieldConflict) as exc:  # a partnership of that name already: a 409 at the name
            await db.rollback()
            return await self._form(request, db, principal, {**values, "regions": regions}, dict(exc.fields),
                                    status_code=exc.status_code)
        except PermissionDeniedException as exc:  # this owner in these regions: said at the field, input kept
            await db.rollback()
            return await self._form(request, db, principal, {**values, "regions": regions},
                                    {"owner_organization_id": exc.detail}, status_code=403)
        flash(request, f"Created {p.name}")
        return redirect(request, f"/partnerships/{p.id}")

    @get("/{partnership_id:int}")
    async def detail(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                     partnership_id: PathId) -> Template:
        p = await service.partnership_for_view(db, principal, partnership_id)
        return await self._detail(request, db, principal, p)

    @get("/{partnership_id:int}/members.csv")
    async def members_download(self, db: Db, principal: Me, partnership_id: PathId) -> Response[bytes]:
        p = await service.partnership_for_view(db, principal, partnership_id)
        return members_csv(p, await service.members(db, p.id))

    async def _detail(self, request: Request[Any, Any, Any], db: Db, principal: Principal, p: SectorPartnership, *,
                      partial: str | None = None, errors: dict[str, dict[str, str]] | None = None,
                      values: dict[str, str] | None = None, status_code: int = 200,
                      done_message: str | None = None) -> Template:
        context = await partnership_context(db, p, base=f"/partnerships/{p.id}",
                                            manage=service.can_manage(principal, p))
        return render(request, "partnerships/detail.html", partial=partial, status_code=status_code,
                      errors=errors or {}, values=values or {}, done_message=done_message, **context)

    async def _done(self, request: Request[Any, Any, Any], db: Db, principal: Principal, p: SectorPartnership,
                    partial: str, anchor: str, message: str) -> Template | Redirect:
        if request.headers.get("hx-request"):  # the partial says it in the page's #partnership-status
            return await self._detail(request, db, principal, p, partial=partial, done_message=message)
        flash(request, message)
        return redirect(request, f"/partnerships/{p.id}#{anchor}")

    async def _failed(self, request: Request[Any, Any, Any], db: Db, principal: Principal, partnership_id: int,
                      exc: HTTPException, form_name: str, partial: str, values: dict[str, str]) -> Template:
        errors = await refused(db, exc)
        p = await service.partnership_for_view(db, principal, partnership_id)
        return await self._detail(request, db, principal, p, partial=partial, errors={form_name: errors},
                                  values=values, status_code=exc.status_code)

    @post("/{partnership_id:int}/stage")
    async def set_stage(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                        partnership_id: PathId) -> Template | Redirect:
        p = await service.partnership_for_manage(db, principal, partnership_id)
        form = await form_data(request)
        try:
            await service.update_partnership(db, principal, p, parse_form(
                {"stage": form.get("stage", ""), "seen": form.get("seen", "")}, PartnershipPatch))
        except HTTPException as exc:
            return await self._failed(request, db, principal, partnership_id, exc, "stage",
                                      "partnerships/_stage.html", form)
        return await self._done(request, db, principal, p, "partnerships/_stage.html", "stage",
                                f"Stage changed to {p.stage.replace('_', ' ')}")

    @post("/{partnership_id:int}/members")
    async def add_member(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                         partnership_id: PathId) -> Template | Redirect:
        p = await service.partnership_for_manage(db, principal, partnership_id)
        form = await form_data(request)
        try:
            data = parse_member_form(form, PartnerMemberIn, service.member_problems)
            member = await service.add_member(db, principal, p, data)
        except HTTPException as exc:
            return await self._failed(request, db, principal, partnership_id, exc, "member",
                                      "partnerships/_members.html", form)
        return await self._done(request, db, principal, p, "partnerships/_members.html", "members",
                                f"Added {member.display}")

    @post("/{partnership_id:int}/members/{member_id:int}/remove")
    async def remove_member(self, request: Request[Any, Any, Any], db: Db, principal: Me, partnership_id: PathId,
                            member_id: PathId) -> Template | Redirect:
        p = await service.partnership_for_manage(db, principal, partnership_id)
        try:
            member = await service.remove_member(db, principal, p, member_id)
        except HTTPException as exc:
            return await self._failed(request, db, principal, partnership_id, exc, "member",
                                      "partnerships/_members.html", {})
        return await self._done(request, db, principal, p, "partnerships/_members.html", "members",
                                f"Removed {member.display} (kept in the history)")

    @post("/{partnership_id:int}/meetings")
    async def add_meeting(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                          partnership_id: PathId) -> Template | Redirect:
        p = await service.partnership_for_manage(db, principal, partnership_id)
        form = await form_data(request)
        try:
            meeting = await service.add_meeting(db, principal, p, parse_form(form, ConveningIn))
        except HTTPException as exc:
            return await self._failed(request, db, principal, partnership_id, exc, "meeting",
                                      "partnerships/_meetings.html", form)
        return await self._done(request, db, principal, p, "partnerships/_meetings.html", "meetings",
                                f"Recorded the convening of {meeting.held_on.isoformat()}")

    @post("/{partnership_id:int}/meetings/{meeting_id:int}/attendance/{member_id:int}")
    async def tick(self, request: Request[Any, Any, Any], db: Db, principal: Me, partnership_id: PathId,
                   meeting_id: PathId, member_id: PathId) -> Template | Redirect:
        """One tick, one request; the meeting's attendance block (with its business/public counts) comes back."""
        p = await service.partnership_for_manage(db, principal, partnership_id)
        form = await form_data(request)
        await service.set_attendance(db, principal, p, meeting_id, member_id, form.get("present") == "1")
        if not request.headers.get("hx-request"):
            flash(request, "Attendance saved")
            return redirect(request, f"/partnerships/{p.id}#meeting-{meeting_id}")
        context = await partnership_context(db, p, base=f"/partnerships/{p.id}", manage=True)
        meeting = next(m for m in context["meetings"] if m.id == meeting_id)
        return render(request, "partnerships/_meeting.html", mt=meeting, errors={}, values={}, **context)

    @post("/{partnership_id:int}/action-teams")
    async def add_team(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                       partnership_id: PathId) -> Template | Redirect:
        p = await service.partnership_for_manage(db, principal, partnership_id)
        form = await form_data(request)
        try:
            team = await service.add_action_team(db, principal, p, parse_form(form, ActionTeamIn))
        except HTTPException as exc:
            return await self._failed(request, db, principal, partnership_id, exc, "team",
                                      "partnerships/_teams.html", form)
        return await self._done(request, db, principal, p, "partnerships/_teams.html", "teams",
                                f"Action team {team.name} added")

    @post("/{partnership_id:int}/action-teams/{team_id:int}/milestones")
    async def add_milestone(self, request: Request[Any, Any, Any], db: Db, principal: Me, partnership_id: PathId,
                            team_id: PathId) -> Template | Redirect:
        p = await service.partnership_for_manage(db, principal, partnership_id)
        form = await form_data(request)
        try:
            await service.add_milestone(db, principal, p, team_id, parse_form(form, MilestoneIn))
        except HTTPException as exc:
            return await self._failed(request, db, principal, partnership_id, exc, f"milestone-{team_id}",
                                      "partnerships/_teams.html", form)
        return await self._done(request, db, principal, p, "partnerships/_teams.html", "teams", "Milestone added")

    @post("/{partnership_id:int}/action-teams/{team_id:int}/milestones/{milestone_id:int}")
    async def set_milestone(self, request: Request[Any, Any, Any], db: Db, principal: Me, partnership_id: PathId,
                            team_id: PathId, milestone_id: PathId) -> Template | Redirect:
        p = await service.partnership_for_manage(db, principal, partnership_id)
        form = await form_data(request)
        try:
            await service.set_milestone_status(db, principal, p, team_id, milestone_id, form.get("status", ""))
        except HTTPException as exc:
            return await self._failed(request, db, principal, partnership_id, exc, f"milestone-{team_id}",
                                      "partnerships/_teams.html", form)
        return await self._done(request, db, principal, p, "partnerships/_teams.html", "teams", "Milestone updated")
