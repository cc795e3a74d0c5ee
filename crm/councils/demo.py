"""Demo advisory councils and sector partnerships for ``crm seed --demo`` (called at the end of ``load_demo``).

Deterministic: fixed dates (the demo world's "now" is late November 2026) and employers picked by name
order from the deterministic demo employers. Some councils are compliant and some are not, on purpose:

* LATTC Advanced Manufacturing & Welding: industry-chaired by the demo chair (Robert Castellanos),
  industry majority, met in October 2026; one term ends 31 Dec 2026 (the 60-day warning shows).
* ELAC Registered Nursing: chaired by the college's Director of Nursing, last met May 2025 (expired).
* The LA workforce board's Business Services Committee: industry-chaired, met September 2026.

Partnerships: Inland Empire logistics (launched, with action teams; the demo chair is a co-chair) and
San Joaquin ag-tech (scoping, support team still outnumbers business at convenings).
Attendance of employer members is recorded through the same service as the pages, so each one is a
counted touch on that employer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.auth.models import Role, RoleGrant, User
from crm.auth.principal import Principal
from crm.councils.models import (
    AdvisoryCouncil,
    CouncilMeeting,
    CouncilMember,
    MeetingAttendance,
    Recommendation,
)
from crm.councils.service import record_meeting_touch
from crm.demo_data import DEMO_CHAIR_NAME
from crm.directory.models import Organization, Region
from crm.employers.models import Employer, EmployerContact, EmployerStatus
from crm.partnerships.models import (
    ActionTeam,
    Milestone,
    PartnershipAttendance,
    PartnershipMeeting,
    PartnershipMember,
    SectorPartnership,
    regions_key,
)
from crm.touches.requests import human_date

D = dt.date


@dataclass
class CouncilDemoReport:
    councils: int = 0
    partnerships: int = 0
    members: int = 0
    meeting_touches: int = 0
    contacts: int = 0  # employer contacts added (the demo chair at ACME)


async def _org(db: AsyncSession, name: str) -> Organization:
    org = await db.scalar(select(Organization).where(Organization.name == name))
    assert org is not None, f"demo organization {name!r} missing"
    return org


async def _region(db: AsyncSession, code: str) -> Region:
    return (await db.scalars(select(Region).where(Region.code == code))).one()


async def _employers(db: AsyncSession, region: Region, sector: str, n: int, skip: int = 0) -> list[Employer]:
    """The first ``n`` verified employers of a sector in the region, by name, with a contact."""
    rows = await db.scalars(
        select(Employer).where(Employer.region_id == region.id, Employer.sector_code == sector,
                               Employer.status == EmployerStatus.active.value, Employer.do_not_contact.is_(False),
                               Employer.id.in_(select(EmployerContact.employer_id)))
        .order_by(Employer.name_key, Employer.id).offset(skip).limit(n))
    return list(rows)


async def _contact(db: AsyncSession, employer: Employer) -> EmployerContact:
    contact = await db.scalar(select(EmployerContact).where(EmployerContact.employer_id == employer.id)
                              .order_by(EmployerContact.id).limit(1))
    assert contact is not None
    return contact


async def _lead(db: AsyncSession, region: Region) -> Principal:
    user = await db.scalar(select(User).join(RoleGrant).where(RoleGrant.role == Role.lead.value,
                                                              RoleGrant.region_id == region.id)
                           .order_by(User.id).limit(1))
    assert user is not None
    # Only the id is used (touch.created_by, audit actor); a plain value avoids lazy loads here.
    return Principal(id=user.id, email=user.email, name=user.name, organization_id=user.organization_id,
                     organization_name=None, roles={Role.lead.value: frozenset({region.id})})


async def _industry_seats(db: AsyncSession, employers: list[Employer], start: D, end: D | None) -> list[CouncilMember]:
    seats = []
    for e in employers:
        c = await _contact(db, e)
        seats.append(CouncilMember(name=c.name, title=c.title, email=c.email, employer_id=e.id,
                                   employer_contact_id=c.id, member_type="industry", role="member",
                                   term_start=start, term_end=end))
    return seats


async def _attendance_touches(db: AsyncSession, actor: Principal, present: list[tuple[int, int | None, str]], *,
                              where: str, region_id: int, held_on: D, channel: str,
                              report: CouncilDemoReport) -> dict[int, int]:
    """member id -> the touch their attendance stands for: one per employer and meeting, naming everyone
    of the employer who came, as ticking attendance makes them (``councils.service.attendance_touch``)."""
    people: dict[int, list[tuple[int, str]]] = {}
    for member_id, employer_id, name in present:
        if employer_id is not None:
            people.setdefault(employer_id, []).append((member_id, name))
    out: dict[int, int] = {}
    for employer_id, members in people.items():
        touch = await record_meeting_touch(db, actor, employer_id=employer_id, region_id=region_id,
                                           held_on=held_on, channel=channel,
                                           note=f"{', '.join(name for _, name in members)} {where}")
        report.meeting_touches += 1
        out.update((member_id, touch.id) for member_id, _ in members)
    return out


async def _council_meetings(db: AsyncSession, actor: Principal, council: AdvisoryCouncil,
                            meetings: list[tuple[D, str, str, list[CouncilMember]]],
                            report: CouncilDemoReport) -> list[CouncilMeeting]:
    out = []
    for held_on, agenda, minutes, present in meetings:
        meeting = CouncilMeeting(council_id=council.id, held_on=held_on, agenda=agenda, minutes=minutes)
        db.add(meeting)
        await db.flush()
        touches = await _attendance_touches(
            db, actor, [(m.id, m.employer_id, m.name) for m in present],
            where=f"at {council.name} meeting on {human_date(held_on)}", region_id=council.region_id,
            held_on=held_on, channel="meeting", report=report)
        db.add_all(MeetingAttendance(meeting_id=meeting.id, member_id=m.id, present=True, touch_id=touches.get(m.id))
                   for m in present)
        out.append(meeting)
    await db.flush()
    return out


async def load_councils_demo(db: AsyncSession) -> CouncilDemoReport:
    """Add the demo councils and partnerships once (skipped when the first one exists)."""
    report = CouncilDemoReport()
    lattc_name = "Advanced Manufacturing & Welding Technology Advisory Committee"
    if await db.scalar(select(AdvisoryCouncil.id).where(AdvisoryCouncil.name == lattc_name)) is not None:
        return report
    la, ie, sj = await _region(db, "LA-BASIN"), await _region(db, "INLAND-EMPIRE"), await _region(db, "SAN-JOAQUIN")
    la_lead, ie_lead, sj_lead = await _lead(db, la), await _lead(db, ie), await _lead(db, sj)
    chair_user = await db.scalar(select(User).join(RoleGrant).where(RoleGrant.role == Role.chair.value,
                                                                    User.name == DEMO_CHAIR_NAME))
    acme = await db.scalar(select(Employer).where(Employer.legal_name == "ACME Corporation"))
    assert chair_user is not None and acme is not None
    # The demo chair is ACME's VP of Operations: an employer contact, linked to his sign-in by membership.
    robert = EmployerContact(employer_id=acme.id, name=DEMO_CHAIR_NAME, title="Vice President of Operations",
                             email=chair_user.email)
    db.add(robert)
    await db.flush()
    report.contacts += 1

    # --- 1. LATTC: compliant, industry-chaired by the demo chair -------------------------------------
    lattc = AdvisoryCouncil(name=lattc_name, owner_organization_id=(await _org(db, "Los Angeles Trade-Technical "
                                                                                   "College")).id,
                            region_id=la.id, program="Welding Technology and Advanced Manufacturing (CTE)",
                            naics_prefix="332", description="Reviews the welding and CNC machining curriculum "
                            "each year, as Title 5 §55601 requires of CTE programs.")
    db.add(lattc)
    await db.flush()
    makers = await _employers(db, la, "31-33", 6)
    seats = [CouncilMember(name=DEMO_CHAIR_NAME, title="Vice President of Operations", email=chair_user.email,
                           employer_id=acme.id, employer_contact_id=robert.id, user_id=chair_user.id,
                           member_type="industry", role="chair", term_start=D(2025, 7, 1), term_end=D(2027, 6, 30))]
    seats += await _industry_seats(db, makers[:5], D(2025, 7, 1), D(2027, 6, 30))
    if len(seats) > 2:
        seats[2].role = "vice_chair"
    if len(seats) > 1:
        seats[-1].term_end = D(2026, 12, 31)  # ends within 60 days of late November 2026: the badge warns
    seats += [
        CouncilMember(name="Yolanda Pierce", title="Welding Department Chair", email="piercey@lattc.edu",
                      organization_id=lattc.owner_organization_id, member_type="education", role="member",
                      term_start=D(2025, 7, 1)),
        CouncilMember(name="Hector Villanueva", title="Dean, Career Technical Education", email="villanh@lattc.edu",
                      organization_id=lattc.owner_organization_id, member_type="education", role="member",
                      term_start=D(2025, 7, 1)),
        CouncilMember(name="Marcus Bell", title="Apprenticeship Coordinator, Ironworkers Local 433",
                      organization_id=(await _org(db, "Los Angeles County Federation of Labor")).id,
                      member_type="labor", role="member", term_start=D(2025, 7, 1), term_end=D(2027, 6, 30)),
        CouncilMember(name="Ana Lucia Ortega", title="Welding student (second year)", member_type="student",
                      role="member", term_start=D(2026, 8, 25), term_end=D(2027, 6, 30)),
    ]
    for s in seats:
        s.council_id = lattc.id
        db.add(s)
    await db.flush()
    # A past member: history is kept when a seat ends.
    db.add(CouncilMember(council_id=lattc.id, name="Gary Lindqvist", title="Retired shop foreman",
                         member_type="industry", role="member", term_start=D(2023, 7, 1), term_end=D(2025, 6, 30),
                         removed_at=dt.datetime(2025, 7, 1, 16, 0, tzinfo=dt.UTC), removed_reason="term ended"))
    report.members += len(seats) + 1
    meetings = await _council_meetings(db, la_lead, lattc, [
        (D(2025, 10, 16), "Annual program review; advisory roster for the new CNC certificate",
         "Reviewed completion and placement data; endorsed the CNC certificate proposal.", seats[:4] + seats[6:8]),
        (D(2026, 4, 9), "Equipment plan; work-based learning placements",
         "Employers offered 14 summer placements.", seats[:3] + seats[5:7]),
        (D(2026, 10, 15), "Curriculum review: robotic welding module; Fall enrollment",
         "Committee recommended adding a robotic welding cell and an OSHA-10 requirement.",
         seats[:5] + seats[6:9]),
    ], report)
    for text, status, owner, follow_up, meeting in (
            ("Add a robotic welding cell (FANUC ARC Mate) to WELD 230", "in_progress", "Yolanda Pierce",
             "Strong Workforce funds requested for 2027.", meetings[2]),
            ("Require OSHA-10 before the first lab session", "done", "Hector Villanueva",
             "In the catalog from Spring 2026.", meetings[0]),
            ("Partner on a pre-apprenticeship with Ironworkers Local 433", "open", "Marcus Bell", None, meetings[2])):
        db.add(Recommendation(council_id=lattc.id, meeting_id=meeting.id, text=text, status=status, owner=owner,
                              follow_up=follow_up))
    report.councils += 1

    # --- 2. ELAC nursing: chaired by education staff, has not met in over a year -------------------------
    elac = await _org(db, "East Los Angeles College")
    nursing = AdvisoryCouncil(name="Registered Nursing Program Advisory Committee", owner_organization_id=elac.id,
                              region_id=la.id, program="Associate Degree in Nursing (ADN)", naics_prefix="622")
    db.add(nursing)
    await db.flush()
    hospitals = await _employers(db, la, "62", 3)
    seats = [CouncilMember(name="Dr. Patricia Nakamura", title="Director of Nursing", email="nakamup@elac.edu",
                           organization_id=elac.id, member_type="education", role="chair", term_start=D(2024, 1, 1)),
             CouncilMember(name="Linh Tran", title="Nursing Skills Lab Coordinator", organization_id=elac.id,
                           member_type="education", role="member", term_start=D(2024, 1, 1)),
             CouncilMember(name="Joseph Okafor", title="Clinical Placement Coordinator", organization_id=elac.id,
                           member_type="education", role="member", term_start=D(2024, 1, 1))]
    seats += await _industry_seats(db, hospitals, D(2024, 1, 1), D(2026, 12, 31))
    for s in seats:
        s.council_id = nursing.id
        db.add(s)
    await db.flush()
    report.members += len(seats)
    await _council_meetings(db, la_lead, nursing, [
        (D(2025, 5, 20), "Clinical placement capacity; NCLEX pass rates", "Hospitals asked for more night-shift "
         "clinical rotations.", seats[:5])], report)
    db.add(Recommendation(council_id=nursing.id, text="Expand night-shift clinical rotations", status="open",
                          owner="Joseph Okafor"))
    report.councils += 1

    # --- 3. The LA workforce board's business services committee ------------------------------------------
    board = await db.scalar(select(Organization).join(Organization.regions).where(
        Region.id == la.id, Organization.kind == "workforce_board").order_by(Organization.name).limit(1))
    assert board is not None
    bsc = AdvisoryCouncil(name="Business Services Committee", owner_organization_id=board.id, region_id=la.id,
                          program="Employer engagement and layoff aversion (WIOA business services)")
    db.add(bsc)
    await db.flush()
    retail = await _employers(db, la, "44-45", 2) + await _employers(db, la, "72", 2)
    seats = await _industry_seats(db, retail, D(2026, 1, 1), D(2027, 12, 31))
    if seats:
        seats[0].role = "chair"
    seats += [CouncilMember(name="Deborah Mills", title="Business Services Manager", organization_id=board.id,
                            member_type="workforce", role="member", term_start=D(2026, 1, 1)),
              CouncilMember(name="Rev. Samuel Greene", title="Executive Director",
                            organization_id=(await _org(db, "South LA Second Chance Alliance")).id,
                            member_type="community", role="member", term_start=D(2026, 1, 1))]
    for s in seats:
        s.council_id = bsc.id
        db.add(s)
    await db.flush()
    report.members += len(seats)
    await _council_meetings(db, la_lead, bsc, [
        (D(2026, 9, 10), "Q3 layoff-aversion referrals; hiring events calendar", "Agreed on one shared hiring "
         "events calendar for the region.", seats[:3] + seats[4:])], report)
    report.councils += 1

    # --- partnerships ---------------------------------------------------------------------------------
    await _ie_logistics(db, ie, ie_lead, acme, robert, chair_user, report)
    await _sj_agtech(db, sj, sj_lead, report)
    await db.flush()
    return report


async def _partnership_meeting(db: AsyncSession, actor: Principal, p: SectorPartnership, region: Region, held_on: D,
                               agenda: str, present: list[PartnershipMember], report: CouncilDemoReport) -> None:
    meeting = PartnershipMeeting(partnership_id=p.id, held_on=held_on, agenda=agenda,
                                 business_count=sum(1 for m in present if m.is_business),
                                 public_count=sum(1 for m in present if not m.is_business))
    db.add(meeting)
    await db.flush()
    touches = await _attendance_touches(
        db, actor, [(m.id, m.employer_id, m.display) for m in present],
        where=f"at {p.name} convening on {human_date(held_on)}", region_id=region.id, held_on=held_on,
        channel="event", report=report)
    db.add_all(PartnershipAttendance(meeting_id=meeting.id, member_id=m.id, present=True, touch_id=touches.get(m.id))
               for m in present)
    await db.flush()


async def _ie_logistics(db: AsyncSession, ie: Region, actor: Principal, acme: Employer, robert: EmployerContact,
                        chair_user: User, report: CouncilDemoReport) -> None:
    p = SectorPartnership(name="Inland Empire Logistics & Supply Chain Partnership",
                          owner_organization_id=(await _org(db, "Inland Empire Economic Partnership")).id,
                          naics_prefixes=["484", "488", "493"], stage="launched", regions=[ie],
                          regions_key=regions_key([ie]),
                          description="Warehouse, trucking and supply-chain employers setting a shared agenda: "
                                      "forklift and safety training, CDL apprenticeships.")
    db.add(p)
    await db.flush()
    firms = await _employers(db, ie, "48-49", 5)
    chair_seat = PartnershipMember(kind="champion", name=DEMO_CHAIR_NAME, title=robert.title, email=chair_user.email,
                                   employer_id=acme.id, employer_contact_id=robert.id, user_id=chair_user.id)
    business = [chair_seat]
    if firms:
        c = await _contact(db, firms[0])
        business.append(PartnershipMember(kind="champion", name=c.name, title=c.title, email=c.email,
                                          employer_id=firms[0].id, employer_contact_id=c.id))
    business += [PartnershipMember(kind="employer", employer_id=e.id) for e in firms[1:]]
    convener = PartnershipMember(kind="support", organization_id=p.owner_organization_id, support_role="convener",
                                 name="Alicia Romero", title="Director of Industry Partnerships")
    college = PartnershipMember(kind="support", support_role="core",
                                organization_id=(await _org(db, "San Bernardino Valley College")).id)
    ajcc = PartnershipMember(kind="support", support_role="core", organization_id=(
        await _org(db, "America's Job Center of California - San Bernardino")).id)
    adult_ed = PartnershipMember(kind="support", support_role="network",
                                 organization_id=(await _org(db, "Inland Adult Education Consortium")).id)
    members = [*business, convener, college, ajcc, adult_ed]
    for m in members:
        m.partnership_id = p.id
        db.add(m)
    await db.flush()
    for m in members:
        await db.refresh(m, ["employer", "organization"])
    report.members += len(members)
    await _partnership_meeting(db, actor, p, ie, D(2026, 6, 18), "Launch meeting: employers set three priorities",
                               business[:3] + [convener, college, ajcc], report)
    await _partnership_meeting(db, actor, p, ie, D(2026, 10, 8), "Action team report-outs",
                               business + [convener, college], report)
    for name, chair, staff, milestones in (
            ("Forklift & warehouse safety pipeline", business[-1], college,
             [("Employers agree on a shared forklift certification", D(2026, 8, 31), "done"),
              ("First 40 trainees certified", D(2026, 12, 15), "in_progress")]),
            ("CDL Class A apprenticeship", chair_seat, ajcc,
             [("Apprenticeship standards approved by DAS", D(2027, 2, 28), "planned"),
              ("Employers sign up for the first cohort", D(2026, 11, 1), "missed")])):
        team = ActionTeam(partnership_id=p.id, name=name, business_chair_id=chair.id, support_staff_id=staff.id)
        db.add(team)
        await db.flush()
        for title, due_on, status in milestones:
            db.add(Milestone(action_team_id=team.id, title=title, due_on=due_on, status=status))
    report.partnerships += 1


async def _sj_agtech(db: AsyncSession, sj: Region, actor: Principal, report: CouncilDemoReport) -> None:
    p = SectorPartnership(name="San Joaquin Valley Ag-Tech Partnership",
                          owner_organization_id=(await _org(db, "Fresno County Economic Development Corporation")).id,
                          naics_prefixes=["111", "115", "3331"], stage="scoping", regions=[sj],
                          regions_key=regions_key([sj]),
                          description="Scoping a partnership of growers, packers and ag-equipment makers around "
                                      "precision-agriculture skills.")
    db.add(p)
    await db.flush()
    growers = await _employers(db, sj, "11", 2)
    members = [
        PartnershipMember(kind="support", organization_id=p.owner_organization_id, support_role="convener"),
        PartnershipMember(kind="support", organization_id=(await _org(db, "Fresno City College")).id,
                          support_role="core"),
        PartnershipMember(kind="support", organization_id=(await _org(db, "Valley Farmworker Opportunity Center")).id,
                          support_role="network"),
        *[PartnershipMember(kind="employer", employer_id=e.id) for e in growers],
    ]
    if growers:
        c = await _contact(db, growers[0])
        members.append(PartnershipMember(kind="champion", name=c.name, title=c.title, email=c.email,
                                         employer_id=growers[0].id, employer_contact_id=c.id))
    for m in members:
        m.partnership_id = p.id
        db.add(m)
    await db.flush()
    for m in members:
        await db.refresh(m, ["employer", "organization"])
    report.members += len(members)
    await _partnership_meeting(db, actor, p, sj, D(2026, 9, 24), "Scoping: which skills gaps do growers share?",
                               members[:3] + members[3:4], report)
    report.partnerships += 1
