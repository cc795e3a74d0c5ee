"""`/api/partnerships` (+ members, convenings with attendance, action teams and milestones)."""

from __future__ import annotations

from litestar import Controller, get, patch, post, put
from litestar.params import FromQuery, JSONBody

from crm.auth.guards import requires_crm_user, requires_user
from crm.councils.api import badge_out
from crm.councils.compliance import Badge
from crm.deps import Db, Me, PathId
from crm.pagination import Limit, Offset
from crm.partnerships import service
from crm.partnerships.indicators import Stage, next_stages
from crm.partnerships.models import ActionTeam, PartnershipAttendance, PartnershipMeeting, PartnershipMember
from crm.partnerships.models import SectorPartnership as Partnership
from crm.partnerships.schemas import (
    ActionTeamIn,
    ActionTeamOut,
    ActionTeamPage,
    AttendanceIn,
    ConveningIn,
    ConveningOut,
    ConveningPage,
    MilestoneIn,
    MilestoneOut,
    MilestonePatch,
    PartnerAttendanceOut,
    PartnerMemberIn,
    PartnerMemberOut,
    PartnerMemberPage,
    PartnershipIn,
    PartnershipOut,
    PartnershipPage,
    PartnershipPatch,
)


def partnership_out(p: Partnership, indicators: list[Badge]) -> PartnershipOut:
    return PartnershipOut(id=p.id, name=p.name, owner_organization_id=p.owner_organization_id,
                          owner_organization=p.owner_organization.name, regions=[r.code for r in p.regions],
                          naics_prefixes=list(p.naics_prefixes or []), stage=p.stage,
                          next_stages=[s.value for s in next_stages(Stage(p.stage))], description=p.description,
                          indicators=[badge_out(b) for b in indicators], seen=service.partnership_seen(p))


def member_out(m: PartnershipMember) -> PartnerMemberOut:
    affiliation = m.employer.legal_name if m.employer else (m.organization.name if m.organization else "")
    return PartnerMemberOut(id=m.id, kind=m.kind, side="business" if m.is_business else "public", name=m.name,
                            email=m.email, title=m.title, employer_id=m.employer_id,
                            employer_contact_id=m.employer_contact_id, organization_id=m.organization_id,
                            affiliation=affiliation, support_role=m.support_role, user_id=m.user_id,
                            removed_at=m.removed_at)


def convening_out(m: PartnershipMeeting, present: set[int]) -> ConveningOut:
    return ConveningOut(id=m.id, held_on=m.held_on, agenda=m.agenda, minutes=m.minutes,
                        business_count=m.business_count, public_count=m.public_count,
                        present_member_ids=sorted(present))


def team_out(t: ActionTeam) -> ActionTeamOut:
    return ActionTeamOut(id=t.id, name=t.name, business_chair_id=t.business_chair_id,
                         business_chair=t.business_chair.display if t.business_chair else None,
                         support_staff_id=t.support_staff_id,
                         support_staff=t.support_staff.display if t.support_staff else None,
                         milestones=[MilestoneOut(id=m.id, title=m.title, due_on=m.due_on, status=m.status)
                                     for m in t.milestones])


def attendance_out(a: PartnershipAttendance, meeting: PartnershipMeeting) -> PartnerAttendanceOut:
    return PartnerAttendanceOut(meeting_id=a.meeting_id, member_id=a.member_id, present=a.present,
                                touch_id=a.touch_id, business_count=meeting.business_count,
                                public_count=meeting.public_count)


class PartnershipApi(Controller):
    """Reads for anyone who can see the partnership (chairs: their own); writes need a CRM role, then manage
    rights (owner organization staff, leads of one of its regions, admins)."""

    path = "/api/partnerships"
    tags = ["partnerships"]
    guards = [requires_user]

    @get("/")
    async def list_partnerships(self, db: Db, principal: Me, limit: Limit = 25,
                                offset: Offset = 0) -> PartnershipPage:
        rows, total = await service.list_partnerships(db, principal, limit=limit, offset=offset)
        return PartnershipPage(items=[partnership_out(p, await service.indicators(db, p)) for p in rows],
                               total=total, limit=limit, offset=offset)

    @post("/", guards=[requires_crm_user])
    async def create_partnership(self, db: Db, principal: Me, data: JSONBody[PartnershipIn]) -> PartnershipOut:
        p = await service.create_partnership(db, principal, data)
        return partnership_out(p, await service.indicators(db, p))

    @get("/{partnership_id:int}")
    async def get_partnership(self, db: Db, principal: Me, partnership_id: PathId) -> PartnershipOut:
        p = await service.partnership_for_view(db, principal, partnership_id)
        return partnership_out(p, await service.indicators(db, p))

    @patch("/{partnership_id:int}", guards=[requires_crm_user])
    async def update_partnership(self, db: Db, principal: Me, partnership_id: PathId,
                                 data: JSONBody[PartnershipPatch]) -> PartnershipOut:
        """Rename, change the stage (any known stage; ``next_stages`` is the usual path) or the sectors."""
        p = await service.partnership_for_manage(db, principal, partnership_id)
        p = await service.update_partnership(db, principal, p, data)
        return partnership_out(p, await service.indicators(db, p))

    @get("/{partnership_id:int}/members")
    async def list_members(self, db: Db, principal: Me, partnership_id: PathId, limit: Limit = 50,
                           offset: Offset = 0, include_removed: FromQuery[bool] = False) -> PartnerMemberPage:
        p = await service.partnership_for_view(db, principal, partnership_id)
        rows = await service.members(db, p.id, include_removed=include_removed)
        return PartnerMemberPage(items=[member_out(m) for m in rows[offset:offset + limit]], total=len(rows),
                                 limit=limit, offset=offset)

    @post("/{partnership_id:int}/members", guards=[requires_crm_user])
    async def add_member(self, db: Db, principal: Me, partnership_id: PathId,
                         data: JSONBody[PartnerMemberIn]) -> PartnerMemberOut:
        p = await service.partnership_for_manage(db, principal, partnership_id)
        return member_out(await service.add_member(db, principal, p, data))

    @post("/{partnership_id:int}/members/{member_id:int}/remove", guards=[requires_crm_user], status_code=200)
    async def remove_member(self, db: Db, principal: Me, partnership_id: PathId, member_id: PathId) -> PartnerMemberOut:
        p = await service.partnership_for_manage(db, principal, partnership_id)
        return member_out(await service.remove_member(db, principal, p, member_id))

    @get("/{partnership_id:int}/meetings")
    async def list_meetings(self, db: Db, principal: Me, partnership_id: PathId, limit: Limit = 25,
                            offset: Offset = 0) -> ConveningPage:
        p = await service.partnership_for_view(db, principal, partnership_id)
        rows = await service.meetings(db, p.id)
        page = rows[offset:offset + limit]
        present = await service.attendance(db, [m.id for m in page])
        return ConveningPage(items=[convening_out(m, present[m.id]) for m in page], total=len(rows), limit=limit,
                             offset=offset)

    @post("/{partnership_id:int}/meetings", guards=[requires_crm_user])
    async def add_meeting(self, db: Db, principal: Me, partnership_id: PathId,
                          data: JSONBody[ConveningIn]) -> ConveningOut:
        p = await service.partnership_for_manage(db, principal, partnership_id)
        return convening_out(await service.add_meeting(db, principal, p, data), set())

    @put("/{partnership_id:int}/meetings/{meeting_id:int}/attendance/{member_id:int}", guards=[requires_crm_user])
    async def set_attendance(self, db: Db, principal: Me, partnership_id: PathId, meeting_id: PathId,
                             member_id: PathId, data: JSONBody[AttendanceIn]) -> PartnerAttendanceOut:
        """Tick a member present or absent; the business/public counts are recomputed and returned."""
        p = await service.partnership_for_manage(db, principal, partnership_id)
        row, meeting = await service.set_attendance(db, principal, p, meeting_id, member_id, data.present)
        return attendance_out(row, meeting)

    @get("/{partnership_id:int}/action-teams")
    async def list_action_teams(self, db: Db, principal: Me, partnership_id: PathId, limit: Limit = 25,
                                offset: Offset = 0) -> ActionTeamPage:
        p = await service.partnership_for_view(db, principal, partnership_id)
        rows = await service.action_teams(db, p.id)
        return ActionTeamPage(items=[team_out(t) for t in rows[offset:offset + limit]], total=len(rows),
                              limit=limit, offset=offset)

    @post("/{partnership_id:int}/action-teams", guards=[requires_crm_user])
    async def add_action_team(self, db: Db, principal: Me, partnership_id: PathId,
                              data: JSONBody[ActionTeamIn]) -> ActionTeamOut:
        p = await service.partnership_for_manage(db, principal, partnership_id)
        return team_out(await service.add_action_team(db, principal, p, data))

    @post("/{partnership_id:int}/action-teams/{team_id:int}/milestones", guards=[requires_crm_user])
    async def add_milestone(self, db: Db, principal: Me, partnership_id: PathId, team_id: PathId,
                            data: JSONBody[MilestoneIn]) -> MilestoneOut:
        p = await service.partnership_for_manage(db, principal, partnership_id)
        m = await service.add_milestone(db, principal, p, team_id, data)
        return MilestoneOut(id=m.id, title=m.title, due_on=m.due_on, status=m.status)

    @patch("/{partnership_id:int}/action-teams/{team_id:int}/milestones/{milestone_id:int}",
           guards=[requires_crm_user])
    async def set_milestone_status(self, db: Db, principal: Me, partnership_id: PathId, team_id: PathId,
                                   milestone_id: PathId, data: JSONBody[MilestonePatch]) -> MilestoneOut:
        p = await service.partnership_for_manage(db, principal, partnership_id)
        m = await service.set_milestone_status(db, principal, p, team_id, milestone_id, data.status)
        return MilestoneOut(id=m.id, title=m.title, due_on=m.due_on, status=m.status)
