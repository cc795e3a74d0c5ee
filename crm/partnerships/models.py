"""Next Gen sector partnerships: members, convenings with attendance, action teams (SPEC §2)."""

from __future__ import annotations

import datetime as dt

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, CheckConstraint, Column, Date, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from crm.auth.models import User
from crm.db import Base, metadata
from crm.directory.models import Organization, Region
from crm.employers.models import Employer, EmployerContact
from crm.sqltext import NAME_KEY_LENGTH, name_key

STAGES_SQL = ("stage IN ('support_team','scoping','preparing_launch','launched','action_teams','sustaining',"
              "'dormant')")
MILESTONE_STATUSES = ("planned", "in_progress", "done", "missed")
# Which side of the "business outnumber public partners" indicator a member counts on.
BUSINESS_KINDS = ("champion", "employer")
MEMBER_KINDS = (*BUSINESS_KINDS, "support")  # a partnership member: business side or support team

partnership_region = Table(
    "sector_partnership_region",
    metadata,
    Column("partnership_id", ForeignKey("sector_partnership.id", ondelete="CASCADE"), primary_key=True),
    Column("region_id", ForeignKey("region.id", ondelete="RESTRICT"), primary_key=True),
)


class SectorPartnership(Base):
    __tablename__ = "sector_partnership"
    __table_args__ = (
        CheckConstraint(STAGES_SQL, name="stage_known"),
        # One partnership of a name (any case or spacing) for the same regions: a double-submitted "New
        # partnership" is refused by the database, not only by the service's check (crm.partnerships.service).
        UniqueConstraint("name_key", "regions_key", name="uq_sector_partnership_name_regions"),
    )

    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(NAME_KEY_LENGTH))  # crm.sqltext.name_key(name), kept by the model
    # Its regions' codes, sorted and space-separated (regions_key()): set with the regions when it is created,
    # which no one changes afterwards.
    regions_key: Mapped[str] = mapped_column(String(NAME_KEY_LENGTH))
    # The convening organization; its staff manage the partnership with the regions' leads.
    owner_organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True)
    naics_prefixes: Mapped[list[str]] = mapped_column(JSON, default=list)
    stage: Mapped[str] = mapped_column(String(20), default="support_team")
    description: Mapped[str | None] = mapped_column(Text, default=None)

    owner_organization: Mapped[Organization] = relationship(lazy="joined")
    regions: Mapped[list[Region]] = relationship(secondary=partnership_region, lazy="selectin",
                                                 order_by="Region.code")

    @validates("name")
    def _keep_name_key(self, _key: str, name: str) -> str:
        self.name_key = name_key(name)
        return name


def regions_key(regions: list[Region]) -> str:
    """The key of a partnership's regions: their codes, sorted, space-separated."""
    return " ".join(sorted(r.code for r in regions))


class PartnershipMember(Base):
    """A business champion/co-chair, a member employer, or a support-team organization or person.

    Removal stamps ``removed_at``; the row stays as history.
    """

    __tablename__ = "partnership_member"
    __table_args__ = (
        CheckConstraint("kind IN ('champion','employer','support')", name="kind_known"),
        CheckConstraint("support_role IS NULL OR support_role IN ('convener','core','network')",
                        name="support_role_known"),
        CheckConstraint("(kind = 'support') = (support_role IS NOT NULL)", name="support_has_role"),
        CheckConstraint("kind = 'support' OR employer_id IS NOT NULL", name="business_has_employer"),
        Index("ix_partnership_member_partnership_removed", "partnership_id", "removed_at"),
    )

    partnership_id: Mapped[int] = mapped_column(ForeignKey("sector_partnership.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(120), default=None)
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    title: Mapped[str | None] = mapped_column(String(120), default=None)
    employer_id: Mapped[int | None] = mapped_column(
        ForeignKey("employer.id", ondelete="RESTRICT"), index=True, default=None)
    employer_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("employer_contact.id", ondelete="SET NULL"), default=None)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), default=None)
    support_role: Mapped[str | None] = mapped_column(String(16), default=None)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True, default=None)
    removed_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

    employer: Mapped[Employer | None] = relationship(lazy="joined")
    employer_contact: Mapped[EmployerContact | None] = relationship(lazy="joined")
    organization: Mapped[Organization | None] = relationship(lazy="joined")
    user: Mapped[User | None] = relationship(lazy="joined")

    @property
    def is_business(self) -> bool:
        return self.kind in BUSINESS_KINDS

    @property
    def display(self) -> str:
        who = self.name or ""
        where = self.employer.legal_name if self.employer else (self.organization.name if self.organization else "")
        return f"{who} ({where})" if who and where else (who or where)


class PartnershipMeeting(Base):
    """A convening; the business/public head counts are derived from the attendance rows and stored."""

    __tablename__ = "partnership_meeting"
    __table_args__ = (
        Index("ix_partnership_meeting_partnership_held", "partnership_id", "held_on"),
        CheckConstraint("business_count >= 0 AND public_count >= 0", name="counts_non_negative"),
    )

    partnership_id: Mapped[int] = mapped_column(ForeignKey("sector_partnership.id", ondelete="CASCADE"))
    held_on: Mapped[dt.date] = mapped_column(Date)
    agenda: Mapped[str | None] = mapped_column(Text, default=None)
    minutes: Mapped[str | None] = mapped_column(Text, default=None)
    business_count: Mapped[int] = mapped_column(default=0)
    public_count: Mapped[int] = mapped_column(default=0)


class PartnershipAttendance(Base):
    __tablename__ = "partnership_attendance"
    __table_args__ = (
        UniqueConstraint("meeting_id", "member_id", name="uq_partnership_attendance_meeting_member"),
    )

    meeting_id: Mapped[int] = mapped_column(ForeignKey("partnership_meeting.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("partnership_member.id", ondelete="CASCADE"), index=True)
    present: Mapped[bool] = mapped_column(default=True)
    touch_id: Mapped[int | None] = mapped_column(ForeignKey("touch.id", ondelete="SET NULL"), default=None)


class ActionTeam(Base):
    __tablename__ = "action_team"

    partnership_id: Mapped[int] = mapped_column(
        ForeignKey("sector_partnership.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    business_chair_id: Mapped[int | None] = mapped_column(
        ForeignKey("partnership_member.id", ondelete="SET NULL"), default=None)
    support_staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("partnership_member.id", ondelete="SET NULL"), default=None)

    business_chair: Mapped[PartnershipMember | None] = relationship(foreign_keys=[business_chair_id],
                                                                    lazy="joined")
    support_staff: Mapped[PartnershipMember | None] = relationship(foreign_keys=[support_staff_id],
                                                                   lazy="joined")
    milestones: Mapped[list[Milestone]] = relationship(lazy="selectin", order_by="Milestone.due_on",
                                                       cascade="all, delete-orphan")


class Milestone(Base):
    __tablename__ = "action_team_milestone"
    __table_args__ = (
        CheckConstraint("status IN ('planned','in_progress','done','missed')", name="status_known"),
        UniqueConstraint("action_team_id", "title", name="uq_action_team_milestone_action_team_id"),
    )

    action_team_id: Mapped[int] = mapped_column(ForeignKey("action_team.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="planned")
