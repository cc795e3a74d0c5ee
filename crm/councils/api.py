"""`/api/councils` (+ members, meetings, attendance, recommendations), scoped like the pages."""

from __future__ import annotations

import datetime as dt

from litestar import Controller, get, patch, post, put
from litestar.params import FromQuery, JSONBody

from crm.auth.guards import requires_crm_user, requires_user
from crm.councils import service
from crm.councils.compliance import Badge, is_current
from crm.councils.models import AdvisoryCouncil, CouncilMeeting, CouncilMember, MeetingAttendance, Recommendation
from crm.councils.schemas import (
    AttendanceIn,
    AttendanceOut,
    BadgeOut,
    CouncilIn,
    CouncilOut,
    CouncilPage,
    CouncilPatch,
    MeetingIn,
    MeetingOut,
    MeetingPage,
    MemberIn,
    MemberOut,
    MemberPage,
    RecommendationIn,
    RecommendationOut,
    RecommendationPage,
    RecommendationPatch,
    RemoveIn,
)
from crm.deps import Db, Me, PathId
from crm.pagination import Limit, Offset


def badge_out(b: Badge) -> BadgeOut:
    return BadgeOut(key=b.key, label=b.label, ok=b.ok, explanation=b.explanation, warning=b.warning)


def council_out(c: AdvisoryCouncil, badges: list[Badge]) -> CouncilOut:
    return CouncilOut(id=c.id, name=c.name, owner_organization_id=c.owner_organization_id,
                      owner_organization=c.owner_organization.name, region=c.region.code, program=c.program,
                      naics_prefix=c.naics_prefix, description=c.description,
                      badges=[badge_out(b) for b in badges], seen=service.council_seen(c))


def member_out(m: CouncilMember, on: dt.date) -> MemberOut:
    return MemberOut(id=m.id, name=m.name, email=m.email, title=m.title, affiliation=m.affiliation,
                     organization_id=m.organization_id, employer_id=m.employer_id,
                     employer_contact_id=m.employer_contact_id, user_id=m.user_id, member_type=m.member_type,
                     role=m.role, term_start=m.term_start, term_end=m.term_end, removed_at=m.removed_at,
                     current=m.removed_at is None and is_current(service.member_view(m), on))


def meeting_out(m: CouncilMeeting, present: set[int]) -> MeetingOut:
    return MeetingOut(id=m.id, held_on=m.held_on, agenda=m.agenda, minutes=m.minutes,
                      present_member_ids=sorted(present))


def rec_out(r: Recommendation) -> RecommendationOut:
    return RecommendationOut(id=r.id, meeting_id=r.meeting_id, text=r.text, status=r.status, owner=r.owner,
                             follow_up=r.follow_up)


def attendance_out(a: MeetingAttendance) -> AttendanceOut:
    return AttendanceOut(meeting_id=a.meeting_id, member_id=a.member_id, present=a.present, touch_id=a.touch_id)


class CouncilApi(Controller):
    """Reads are open to anyone who can see the council (chairs: their own); writes need a CRM role
    (so a chair-only sign-in gets 403 before any scope check) and then manage rights on the council."""

    path = "/api/councils"
    tags = ["councils"]
    guards = [requires_user]

    @get("/")
    async def list_councils(self, db: Db, principal: Me, limit: Limit = 25, offset: Offset = 0) -> CouncilPage:
        rows, total = await service.list_councils(db, principal, limit=limit, offset=offset)
        items = [council_out(c, await service.badges(db, c)) for c in rows]
        return CouncilPage(items=items, total=total, limit=limit, offset=offset)

    @post("/", guards=[requires_crm_user])
    async def create_council(self, db: Db, principal: Me, data: JSONBody[CouncilIn]) -> CouncilOut:
        council = await service.create_council(db, principal, data)
        return council_out(council, await service.badges(db, council))

    @get("/{council_id:int}")
    async def get_council(self, db: Db, principal: Me, council_id: PathId) -> CouncilOut:
        council = await service.council_for_view(db, principal, council_id)
        return council_out(council, await service.badges(db, council))

    @patch("/{council_id:int}", guards=[requires_crm_user])
    async def update_council(self, db: Db, principal: Me, council_id: PathId,
                             data: JSONBody[CouncilPatch]) -> CouncilOut:
        council = await service.council_for_manage(db, principal, council_id)
        council = await service.update_council(db, principal, council, data)
        return council_out(council, await service.badges(db, council))

    @get("/{council_id:int}/members")
    async def list_members(self, db: Db, principal: Me, council_id: PathId, limit: Limit = 50, offset: Offset = 0,
                           include_removed: FromQuery[bool] = False) -> MemberPage:
        """The roster, chair first; ``include_removed`` adds past seats (history)."""
        council = await service.council_for_view(db, principal, council_id)
        rows = await service.members(db, council.id, include_removed=include_removed)
        on = service.today()
        return MemberPage(items=[member_out(m, on) for m in rows[offset:offset + limit]], total=len(rows),
                          limit=limit, offset=offset)

    @post("/{council_id:int}/members", guards=[requires_crm_user])
    async def add_member(self, db: Db, principal: Me, council_id: PathId, data: JSONBody[MemberIn]) -> MemberOut:
        council = await service.council_for_manage(db, principal, council_id)
        return member_out(await service.add_member(db, principal, council, data), service.today())

    @post("/{council_id:int}/members/{member_id:int}/remove", guards=[requires_crm_user], status_code=200)
    async def remove_member(self, db: Db, principal: Me, council_id: PathId, member_id: PathId,
                            data: JSONBody[RemoveIn]) -> MemberOut:
        """End a seat; the row stays in the roster history."""
        council = await service.council_for_manage(db, principal, council_id)
        member = await service.remove_member(db, principal, council, member_id, data.reason)
        return member_out(member, service.today())

    @get("/{council_id:int}/meetings")
    async def list_meetings(self, db: Db, principal: Me, council_id: PathId, limit: Limit = 25,
                            offset: Offset = 0) -> MeetingPage:
        council = await service.council_for_view(db, principal, council_id)
        rows = await service.meetings(db, council.id)
        page = rows[offset:offset + limit]
        present = await service.attendance(db, [m.id for m in page])
        return MeetingPage(items=[meeting_out(m, present[m.id]) for m in page], total=len(rows), limit=limit,
                           offset=offset)

    @post("/{council_id:int}/meetings", guards=[requires_crm_user])
    async def add_meeting(self, db: Db, principal: Me, council_id: PathId, data: JSONBody[MeetingIn]) -> MeetingOut:
        council = await service.council_for_manage(db, principal, council_id)
        return meeting_out(await service.add_meeting(db, principal, council, data), set())

    @put("/{council_id:int}/meetings/{meeting_id:int}/attendance/{member_id:int}", guards=[requires_crm_user])
    async def set_attendance(self, db: Db, principal: Me, council_id: PathId, meeting_id: PathId,
                             member_id: PathId, data: JSONBody[AttendanceIn]) -> AttendanceOut:
        """Tick a member present (an employer member's presence becomes a counted touch) or absent."""
        council = await service.council_for_manage(db, principal, council_id)
        row = await service.set_attendance(db, principal, council, meeting_id, member_id, data.present)
        return attendance_out(row)

    @get("/{council_id:int}/recommendations")
    async def list_recommendations(self, db: Db, principal: Me, council_id: PathId, limit: Limit = 25,
                                   offset: Offset = 0) -> RecommendationPage:
        council = await service.council_for_view(db, principal, council_id)
        rows = await service.recommendations(db, council.id)
        return RecommendationPage(items=[rec_out(r) for r in rows[offset:offset + limit]], total=len(rows),
                                  limit=limit, offset=offset)

    @post("/{council_id:int}/recommendations", guards=[requires_crm_user])
    async def add_recommendation(self, db: Db, principal: Me, council_id: PathId,
                                 data: JSONBody[RecommendationIn]) -> RecommendationOut:
        council = await service.council_for_manage(db, principal, council_id)
        return rec_out(await service.add_recommendation(db, principal, council, data))

    @patch("/{council_id:int}/recommendations/{rec_id:int}", guards=[requires_crm_user])
    async def update_recommendation(self, db: Db, principal: Me, council_id: PathId, rec_id: PathId,
                                    data: JSONBody[RecommendationPatch]) -> RecommendationOut:
        council = await service.council_for_manage(db, principal, council_id)
        return rec_out(await service.update_recommendation(db, principal, council, rec_id, data))
