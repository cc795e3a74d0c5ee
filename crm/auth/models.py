"""Users, role grants scoped by region/organization, API tokens, login throttling."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base
from crm.directory.models import Organization, Region


class Role(StrEnum):
    admin = "admin"
    lead = "lead"
    spoc = "spoc"
    partner = "partner"
    chair = "chair"


# Roles whose grants are scoped to one region (SPEC §1). The others take none: an admin works in every
# region, a partner is scoped by their organization, a chair by the councils and partnerships they sit
# on; a region on their grant would read as a limit that nothing enforces.
REGION_SCOPED = {Role.lead, Role.spoc}


class User(Base):
    __tablename__ = "user_account"

    # Stored case-folded so the unique constraint is case-insensitive on every database.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True, default=None
    )
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    # A SPOC marked away has their queue served by the backup SPOC.
    away: Mapped[bool] = mapped_column(default=False)
    # Since when (NULL when not away, or marked away before this was kept): coming back, the touches routed
    # to the backup meanwhile and not yet scheduled return to the SPOC (crm.touches.away).
    away_since: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    title: Mapped[str | None] = mapped_column(String(120), default=None)
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    # Stamped into a browser session at sign-in; raising it (a new password, deactivation) ends
    # every session signed in before (crm.auth.middleware).
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")

    organization: Mapped[Organization | None] = relationship(lazy="joined")
    # Not eager: a user rides along with touches, requests, assignments and audit events; the
    # principal and the pages that list grants load them (selectinload).
    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", lazy="raise", cascade="all, delete-orphan"
    )


class RoleGrant(Base):
    """One role for one user, optionally limited to one region."""

    __tablename__ = "role_grant"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "region_id", name="uq_role_grant_user_role_region"),
        # The constraint above leaves region-less grants (admin, partner, chair) unchecked: NULLs are distinct
        # on PostgreSQL and SQLite alike, so two "partner" grants of one user both passed it (migration 0019).
        Index("uq_role_grant_user_role_regionless", "user_id", "role", unique=True,
              sqlite_where=text("region_id IS NULL"), postgresql_where=text("region_id IS NULL")),
        CheckConstraint(
            "role IN ('admin','lead','spoc','partner','chair')", name="role_known"
        ),
        # Only REGION_SCOPED roles carry a region (migration 0013 cleared the others').
        CheckConstraint("role IN ('lead','spoc') OR region_id IS NULL", name="region_only_for_staff"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    region_id: Mapped[int | None] = mapped_column(
        ForeignKey("region.id", ondelete="CASCADE"), index=True, default=None
    )

    user: Mapped[User] = relationship(back_populates="grants")
    region: Mapped[Region | None] = relationship(lazy="joined")


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(120), default="api")
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

    user: Mapped[User] = relationship(lazy="joined")


class LoginFailure(Base):
    """A failed login, kept briefly to throttle guessing per e-mail and per address."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_email_at", "email", "created_at"),)

    email: Mapped[str] = mapped_column(String(254))
    remote_addr: Mapped[str] = mapped_column(String(64), index=True)


SHORT_ROLE_LABELS = {"admin": "Admin", "lead": "Lead", "spoc": "SPOC", "partner": "Partner", "chair": "Industry chair"}


def grant_words(role: str, region_code: str | None = None) -> str:
    """A role grant as lists and messages say it: "SPOC · LA-BASIN", "Partner"."""
    label = SHORT_ROLE_LABELS.get(role, role)
    return f"{label} · {region_code}" if region_code else label
