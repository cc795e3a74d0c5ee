"""Advisory councils: roster (history kept), meetings, attendance and recommendations (SPEC §2)."""

from __future__ import annotations

import datetime as dt

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from crm.auth.models import User
from crm.db import Base
from crm.directory.models import Organization, Region
from crm.employers.models import Employer, EmployerContact
from crm.sqltext import NAME_KEY_LENGTH, name_key

MEMBER_TYPES_SQL = "member_type IN ('industry','education','workforce','labor','community','student','public')"
RECOMMENDATION_STATUSES = ("open", "in_progress", "done", "declined")


class AdvisoryCouncil(Base):
    """A CTE program advisory committee, a workforce-board committee or a regional council."""

    __tablename__ = "advisory_council"
    __table_args__ = (
        # One council of a name (any case or spacing) per owner and region: a double-submitted "New council"
        # is refused by the database, not only by the service's check (crm.councils.service).
        UniqueConstraint("owner_organization_id", "region_id", "name_key",
                         name="uq_advisory_council_owner_region_name"),
    )

    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(NAME_KEY_LENGTH))  # crm.sqltext.name_key(name), kept by the model
    owner_organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    program: Mapped[str | None] = mapped_column(String(200), default=None)
    naics_prefix: Mapped[str | None] = mapped_column(String(6), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)

    owner_organization: Mapped[Organization] = relationship(lazy="joined")
    region: Mapped[Region] = relationship(lazy="joined")

    @validates("name")
    def _keep_name_key(self, _key: str, name: str) -> str:
        self.name_key = name_key(name)
        return name


class CouncilMember(Base):
    """One seat held by one person for one term; removing a member stamps ``removed_at`` (history)."""

    __tablename__ = "council_member"
    __table_args__ = (
        CheckConstraint(MEMBER_TYPES_SQL, name="member_type_known"),
        CheckConstraint("role IN ('chair','vice_chair','member')", name="role_known"),
        CheckConstraint("term_end IS NULL OR term_start IS NULL OR term_end >= term_start", name="term_ordered"),
        # A person sits for an employer, a partner organization, or as a member of the public.
        CheckConstraint("organization_id IS NULL OR employer_id IS NULL", name="one_affiliation"),
        Index("ix_council_member_council_removed", "council_id", "removed_at"),
    )

    council_id: Mapped[int] = mapped_column(ForeignKey("advisory_council.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    title: Mapped[str | None] = mapped_column(String(120), default=None)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), default=None)
    employer_id: Mapped[int | None] = mapped_column(
        ForeignKey("employer.id", ondelete="RESTRICT"), index=True, default=None)
    employer_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("employer_contact.id", ondelete="SET NULL"), default=None)
    # The sign-in of an industry chair who sees this council read-only (SPEC §1 role chair).
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True, default=None)
    member_type: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16), default="member")
    term_start: Mapped[dt.date | None] = mapped_column(Date, default=None)
    term_end: Mapped[dt.date | None] = mapped_column(Date, default=None)
    removed_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    removed_reason: Mapped[str | None] = mapped_column(String(200), default=None)

    organization: Mapped[Organization | None] = relationship(lazy="joined")
    employer: Mapped[Employer | None] = relationship(lazy="joined")
    employer_contact: Mapped[EmployerContact | None] = relationship(lazy="joined")
    user: Mapped[User | None] = relationship(lazy="joined")

    @property
    def affiliation(self) -> str:
        if self.employer is not None:
            return self.employer.legal_name
        if self.organization is not None:
            return self.organization.name
        # A member of the public sits for no one; anyone else simply has no organization on file yet.
        return "Public member" if self.member_type == "public" else ""


class CouncilMeeting(Base):
    __tablename__ = "council_meeting"
    __table_args__ = (Index("ix_council_meeting_council_held", "council_id", "held_on"),)

    council_id: Mapped[int] = mapped_column(ForeignKey("advisory_council.id", ondelete="CASCADE"))
    held_on: Mapped[dt.date] = mapped_column(Date)
    agenda: Mapped[str | None] = mapped_column(Text, default=None)
    minutes: Mapped[str | None] = mapped_column(Text, default=None)


class MeetingAttendance(Base):
    """A member ticked present at a meeting; an employer member's presence is a counted Touch."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id", name="uq_meeting_attendance_meeting_member"),)

    meeting_id: Mapped[int] = mapped_column(ForeignKey("council_meeting.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("council_member.id", ondelete="CASCADE"), index=True)
    present: Mapped[bool] = mapped_column(default=True)
    touch_id: Mapped[int | None] = mapped_column(ForeignKey("touch.id", ondelete="SET NULL"), default=None)


class Recommendation(Base):
    """A council recommendation and its follow-up (program reviews ask for these with the minutes)."""

    __tablename__ = "council_recommendation"
    __table_args__ = (
        CheckConstraint("status IN ('open','in_progress','done','declined')", name="status_known"),
    )

    council_id: Mapped[int] = mapped_column(ForeignKey("advisory_council.id", ondelete="CASCADE"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("council_meeting.id", ondelete="SET NULL"), default=None)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    owner: Mapped[str | None] = mapped_column(String(120), default=None)
    follow_up: Mapped[str | None] = mapped_column(Text, default=None)
