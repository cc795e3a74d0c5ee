"""Touch requests, touches, hand-offs and the pacing policy (SPEC §2-3)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.db import Base, metadata
from crm.directory.models import Organization, Region
from crm.employers.models import Employer, EmployerContact
from crm.touches.routing import OPEN_REQUEST_STATUSES, OPEN_TOUCH_STATUSES

_OPEN_REQUESTS_SQL = "status IN (" + ",".join(f"'{s.value}'" for s in sorted(OPEN_REQUEST_STATUSES)) + ")"
OPEN_TOUCH_VALUES = tuple(s.value for s in sorted(OPEN_TOUCH_STATUSES))
_OPEN_TOUCHES_SQL = "status IN (" + ",".join(f"'{v}'" for v in OPEN_TOUCH_VALUES) + ")"


class RegionPolicy(Base):
    """A region's pacing budget; leads change it. Employers' own preferences only tighten it."""

    __tablename__ = "region_policy"
    __table_args__ = (
        CheckConstraint("max_touches BETWEEN 1 AND 366", name="max_touches_range"),
        CheckConstraint("period_days BETWEEN 1 AND 366", name="period_days_range"),
        CheckConstraint("min_gap_days BETWEEN 0 AND 366", name="min_gap_days_range"),
    )

    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="CASCADE"), unique=True)
    max_touches: Mapped[int] = mapped_column(default=2)
    period_days: Mapped[int] = mapped_column(default=30)
    min_gap_days: Mapped[int] = mapped_column(default=7)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None)

    region: Mapped[Region] = relationship(lazy="joined")


class EmployerPacing(Base):
    """An employer's own contact preference (stricter pacing, preferred channel)."""

    __tablename__ = "employer_pacing"

    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id", ondelete="CASCADE"), unique=True)
    max_touches: Mapped[int | None] = mapped_column(default=None)
    period_days: Mapped[int | None] = mapped_column(default=None)
    min_gap_days: Mapped[int | None] = mapped_column(default=None)


class EmployerBlackout(Base):
    """Dates the employer asked not to be contacted (inclusive)."""

    __tablename__ = "employer_blackout"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ordered"),)

    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200), default=None)


touch_contact = Table(
    "touch_contact",
    metadata,
    Column("touch_id", ForeignKey("touch.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", ForeignKey("employer_contact.id", ondelete="CASCADE"), primary_key=True),
)


class Touch(Base):
    """One contact with the employer, owned by a SPOC (None = the region's unassigned queue)."""

    __tablename__ = "touch"
    __table_args__ = (
        CheckConstraint("status IN ('queued','scheduled','completed','cancelled')", name="status_known"),
        CheckConstraint("window_end >= window_start", name="window_ordered"),
        CheckConstraint("source IN ('routed','logged','meeting')", name="source_known"),
        Index("ix_touch_employer_planned", "employer_id", "planned_on"),
        Index("ix_touch_spoc_status_planned", "spoc_id", "status", "planned_on"),
        # employer_id last: the reports count a region's touches per employer from the index alone.
        Index("ix_touch_region_status_planned_employer", "region_id", "status", "planned_on", "employer_id"),
        Index("ix_touch_open_employer_region", "employer_id", "region_id",
              sqlite_where=text(_OPEN_TOUCHES_SQL), postgresql_where=text(_OPEN_TOUCHES_SQL)),
        # Every open touch soonest first: an admin's queue (all regions) reads its first page from here
        # instead of sorting every open touch of the state.
        Index("ix_touch_open_planned", "planned_on",
              sqlite_where=text(_OPEN_TOUCHES_SQL), postgresql_where=text(_OPEN_TOUCHES_SQL)),
    )

    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id", ondelete="RESTRICT"))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    spoc_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), default=None)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    source: Mapped[str] = mapped_column(String(16), default="routed")
    channel: Mapped[str | None] = mapped_column(String(16), default=None)
    window_start: Mapped[dt.date] = mapped_column(Date)
    window_end: Mapped[dt.date] = mapped_column(Date)
    # The day this touch counts against the pacing budget: planned, then scheduled, then actual.
    planned_on: Mapped[dt.date] = mapped_column(Date)
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    cancel_reason: Mapped[str | None] = mapped_column(Text, default=None)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    override_reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None)

    employer: Mapped[Employer] = relationship(lazy="joined")
    region: Mapped[Region] = relationship(lazy="joined")
    spoc: Mapped[User | None] = relationship(foreign_keys=[spoc_id], lazy="joined")
    contacts: Mapped[list[EmployerContact]] = relationship(secondary=touch_contact, lazy="selectin")
    requests: Mapped[list[TouchRequest]] = relationship(
        back_populates="touch", lazy="selectin", order_by="TouchRequest.id")


class TouchRequest(Base):
    """A partner's intended contact with an employer."""

    __tablename__ = "touch_request"
    __table_args__ = (
        CheckConstraint(
            "status IN ('needs_match','queued','held','scheduled','completed','declined','withdrawn')",
            name="status_known"),
        CheckConstraint("window_end >= window_start", name="window_ordered"),
        # Same organization + employer + purpose while one is open = the same request (SPEC §3.2):
        # the database refuses the second row, whichever process sends it.
        Index("uq_touch_request_open", "requester_org_id", "employer_id", "purpose", unique=True,
              sqlite_where=text(_OPEN_REQUESTS_SQL), postgresql_where=text(_OPEN_REQUESTS_SQL)),
        Index("ix_touch_request_employer_created", "employer_id", "created_at"),
        Index("ix_touch_request_org_status", "requester_org_id", "status"),
        Index("ix_touch_request_held", "status", "release_on"),
    )

    requester_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    requester_org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id", ondelete="RESTRICT"), default=None)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    purpose: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    window_start: Mapped[dt.date] = mapped_column(Date)
    window_end: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    touch_id: Mapped[int | None] = mapped_column(ForeignKey("touch.id", ondelete="SET NULL"), index=True,
                                                 default=None)
    release_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    # Why it is held when not for the employer's budget (its touch was cancelled); cleared on release.
    hold_reason: Mapped[str | None] = mapped_column(Text, default=None)
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)
    outcome_note: Mapped[str | None] = mapped_column(Text, default=None)
    decline_reason: Mapped[str | None] = mapped_column(Text, default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # What the partner typed when the employer could not be resolved (status needs_match).
    employer_query: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    candidate_ids: Mapped[list[int] | None] = mapped_column(JSON, default=None)

    requester: Mapped[User] = relationship(lazy="joined")
    requester_org: Mapped[Organization] = relationship(lazy="joined")
    employer: Mapped[Employer | None] = relationship(lazy="joined")
    region: Mapped[Region] = relationship(lazy="joined")
    touch: Mapped[Touch | None] = relationship(back_populates="requests", lazy="joined")


class HandOff(Base):
    """A warm referral: after a touch, the SPOC hands an employer's need to a partner organization."""

    __tablename__ = "hand_off"
    __table_args__ = (
        CheckConstraint("status IN ('pending','accepted','declined')", name="status_known"),
        Index("ix_hand_off_to_org_status", "to_org_id", "status"),
        Index("ix_hand_off_from_user_status", "from_user_id", "status"),  # a SPOC's declined ones to settle
    )

    touch_id: Mapped[int | None] = mapped_column(ForeignKey("touch.id", ondelete="SET NULL"), index=True,
                                                 default=None)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id", ondelete="RESTRICT"), index=True)
    from_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    to_org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"),
                                                   default=None)
    need: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    response_note: Mapped[str | None] = mapped_column(Text, default=None)
    responded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None)
    responded_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # A declined need the SPOC passed on: the hand-off it came from (declined, then settled by this one).
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("hand_off.id", ondelete="SET NULL"), index=True,
                                                    default=None)
    # When the SPOC dealt with this hand-off once declined: passed its need on to another partner, or let it go.
    settled_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # When its partner was reminded of it, unanswered for a week (crm.touches.reminders): once.
    reminded_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

    employer: Mapped[Employer] = relationship(lazy="joined")
    from_user: Mapped[User] = relationship(foreign_keys=[from_user_id], lazy="joined")
    to_org: Mapped[Organization] = relationship(lazy="joined")
    to_user: Mapped[User | None] = relationship(foreign_keys=[to_user_id], lazy="joined")


class IdempotencyRecord(Base):
    """The first response to an ``Idempotency-Key``, replayed for repeats of that key."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_record_user_key"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column()
    response_body: Mapped[str] = mapped_column(Text)


def touch_is_open() -> ColumnElement[bool]:
    """``touch.status IN ('queued','scheduled')`` with the values written into the SQL.

    SQLite uses a partial index only when the query repeats the index's WHERE term, and a bound
    parameter (``IN (?, ?)``) does not: inlined, the open-touch queries can use
    ``ix_touch_open_employer_region`` instead of scanning every touch ever made.
    """
    return Touch.status.in_(bindparam("open_touch_statuses", list(OPEN_TOUCH_VALUES), expanding=True,
                                      literal_execute=True))
