"""Employers (worksite-level establishments), their people, and who owns them per region."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.db import Base, metadata
from crm.directory.models import County, Region


class EmployerStatus(StrEnum):
    active = "active"
    provisional = "provisional"  # created from a partner request, not yet verified by a SPOC
    merged = "merged"  # tombstone pointing at the survivor


class SizeBand(StrEnum):
    """Employee-count bands as the BLS QCEW size classes group them."""

    micro = "1-9"
    small = "10-49"
    medium = "50-249"
    large = "250-999"
    very_large = "1000+"


class Employer(Base):
    __tablename__ = "employer"
    __table_args__ = (
        CheckConstraint("status IN ('active','provisional','merged')", name="status_known"),
        CheckConstraint(
            "(status = 'merged') = (merged_into_id IS NOT NULL)", name="merged_has_survivor"
        ),
        Index("ix_employer_region_status", "region_id", "status"),
    )

    legal_name: Mapped[str] = mapped_column(String(200))
    dba: Mapped[str | None] = mapped_column(String(200), default=None)
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    website: Mapped[str | None] = mapped_column(String(200), default=None)
    domain: Mapped[str | None] = mapped_column(String(120), index=True, default=None)
    fein: Mapped[str | None] = mapped_column(String(10), index=True, default=None)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    naics_code: Mapped[str | None] = mapped_column(String(6), index=True, default=None)
    sector_code: Mapped[str | None] = mapped_column(String(8), index=True, default=None)
    size_band: Mapped[str | None] = mapped_column(String(8), default=None)
    address_line: Mapped[str | None] = mapped_column(String(200), default=None)
    city: Mapped[str | None] = mapped_column(String(80), default=None)
    zip: Mapped[str | None] = mapped_column(String(10), index=True, default=None)
    county_id: Mapped[int | None] = mapped_column(
        ForeignKey("county.id", ondelete="RESTRICT"), default=None
    )
    region_id: Mapped[int | None] = mapped_column(
        ForeignKey("region.id", ondelete="RESTRICT"), index=True, default=None
    )
    status: Mapped[str] = mapped_column(String(16), default=EmployerStatus.active.value)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("employer.id", ondelete="RESTRICT"), index=True, default=None
    )
    do_not_contact: Mapped[bool] = mapped_column(default=False)
    preferred_channel: Mapped[str | None] = mapped_column(String(16), default=None)
    notes: Mapped[str | None] = mapped_column(Text, default=None)

    county: Mapped[County | None] = relationship(lazy="joined")
    region: Mapped[Region | None] = relationship(lazy="joined")
    # Not eager: an employer rides along with every touch and request loaded. The employer's own
    # page and API load them (service.get_employer); other pages ask for them where they show them.
    aliases: Mapped[list[EmployerAlias]] = relationship(
        back_populates="employer", lazy="raise", cascade="all, delete-orphan",
        order_by="EmployerAlias.name",
    )
    contacts: Mapped[list[EmployerContact]] = relationship(
        back_populates="employer", lazy="raise", cascade="all, delete-orphan",
        order_by="EmployerContact.name",
    )

    @property
    def display_name(self) -> str:
        return f"{self.legal_name} (dba {self.dba})" if self.dba else self.legal_name


class EmployerAlias(Base):
    __tablename__ = "employer_alias"

    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)

    employer: Mapped[Employer] = relationship(back_populates="aliases")


class EmployerContact(Base):
    """A person at the employer."""

    __tablename__ = "employer_contact"

    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    title: Mapped[str | None] = mapped_column(String(120), default=None)
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)

    employer: Mapped[Employer] = relationship(back_populates="contacts")


class SpocAssignment(Base):
    """(employer, region) → SPOC. History is kept: ending an assignment sets ``ended_at``."""

    __tablename__ = "spoc_assignment"
    __table_args__ = (
        # The rule "one active SPOC per employer and region" lives in the database, so two
        # concurrent assignments cannot both win, whichever process they come from.
        Index(
            "uq_spoc_assignment_active",
            "employer_id",
            "region_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_spoc_assignment_spoc_active", "spoc_id", "ended_at"),
        # An employer's assignment history (its page, merges): the index above is partial (active only).
        Index("ix_spoc_assignment_employer", "employer_id"),
    )

    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id", ondelete="CASCADE"))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    spoc_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    backup_spoc_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    started_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    assigned_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )

    employer: Mapped[Employer] = relationship(lazy="raise")
    region: Mapped[Region] = relationship(lazy="joined")
    spoc: Mapped[User] = relationship(foreign_keys=[spoc_id], lazy="joined")
    backup_spoc: Mapped[User | None] = relationship(foreign_keys=[backup_spoc_id], lazy="joined")
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id], lazy="joined")


routing_rule_pool = Table(
    "routing_rule_pool",
    metadata,
    Column("routing_rule_id", ForeignKey("routing_rule.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
)


ROUTING_TARGET_PREFIX = "coalesce(naics_prefix, '')"
ROUTING_TARGET_COUNTY = "coalesce(county_id, 0)"


class RoutingRule(Base):
    """Which SPOC pool of a region receives unassigned employers (by sector and/or county)."""

    __tablename__ = "routing_rule"
    __table_args__ = (
        # Two active rules for the same employers (same sector prefix and county, "any" included):
        # one of them would never route anyone. Said in the database so two leads adding the same
        # rule at once cannot both succeed; "any" is NULL, hence the COALESCE.
        Index("uq_routing_rule_active_target", "region_id", text(ROUTING_TARGET_PREFIX),
              text(ROUTING_TARGET_COUNTY), unique=True, sqlite_where=text("active"),
              postgresql_where=text("active")),
    )

    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="CASCADE"), index=True)
    naics_prefix: Mapped[str | None] = mapped_column(String(6), default=None)
    county_id: Mapped[int | None] = mapped_column(ForeignKey("county.id", ondelete="CASCADE"), default=None)
    priority: Mapped[int] = mapped_column(default=100)
    active: Mapped[bool] = mapped_column(default=True)

    county: Mapped[County | None] = relationship(lazy="joined")
    pool: Mapped[list[User]] = relationship(secondary=routing_rule_pool, lazy="selectin", order_by="User.name")
