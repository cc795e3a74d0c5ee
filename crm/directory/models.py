"""Regions (RPUs), their counties, organizations, NAICS sectors and the services crosswalk."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base, metadata


class OrganizationKind(StrEnum):
    workforce_board = "workforce_board"
    ajcc = "ajcc"
    community_college = "community_college"
    adult_education = "adult_education"
    k12 = "k12"
    lea = "lea"
    cbo = "cbo"
    probation = "probation"
    corrections = "corrections"
    economic_development = "economic_development"
    chamber = "chamber"
    labor = "labor"
    state_agency = "state_agency"
    employer = "employer"
    other = "other"



# How each kind reads on a page (the codes are what the API and CSV files carry).
KIND_LABELS: dict[str, str] = {
    "workforce_board": "Workforce board", "ajcc": "America's Job Center (AJCC)",
    "community_college": "Community college", "adult_education": "Adult education",
    "k12": "K-12 school district", "lea": "Local education agency (LEA)",
    "cbo": "Community-based organization (CBO)", "probation": "Probation", "corrections": "Corrections",
    "economic_development": "Economic development", "chamber": "Chamber of commerce", "labor": "Labor organization",
    "state_agency": "State agency", "employer": "Employer", "other": "Other",
}

organization_region = Table(
    "organization_region",
    metadata,
    Column("organization_id", ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True),
    Column("region_id", ForeignKey("region.id", ondelete="CASCADE"), primary_key=True),
)


class Region(Base):
    """A California Regional Planning Unit; `code` is stable (seeds, URLs, API)."""

    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    local_boards: Mapped[str] = mapped_column(Text, default="")  # ";"-separated, as in the source CSV
    establishment_count: Mapped[int | None] = mapped_column(default=None)

    # Not eager: a Region rides along with nearly every row (grants, employers, touches), and
    # loading its counties each time cost a query per request. Load it where a page lists them.
    counties: Mapped[list[County]] = relationship(
        back_populates="region", lazy="raise", order_by="County.name"
    )


class County(Base):
    """A California county; each belongs to exactly one RPU."""

    __tablename__ = "county"

    name: Mapped[str] = mapped_column(String(64), unique=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    region: Mapped[Region] = relationship(back_populates="counties", lazy="joined")


class Organization(Base):
    """A partner organization (workforce board, college, CBO, probation, ...)."""

    __tablename__ = "organization"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    website: Mapped[str | None] = mapped_column(String(200), default=None)
    # Not eager: an organization rides along with every user and request loaded; pages that list
    # its regions load them (selectinload).
    regions: Mapped[list[Region]] = relationship(secondary=organization_region, lazy="raise")


class Sector(Base):
    """A NAICS 2022 sector (two-digit code or range such as ``31-33``)."""

    __tablename__ = "sector"

    code: Mapped[str] = mapped_column(String(8), unique=True)
    title: Mapped[str] = mapped_column(String(200))


class Service(Base):
    """A kind of service in the regional crosswalk (``seeds/services.csv``); `code` is stable."""

    __tablename__ = "service"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")


class ServiceOffering(Base):
    """An organization offers a service in a region (a cell of the crosswalk)."""

    __tablename__ = "service_offering"
    __table_args__ = (UniqueConstraint("organization_id", "region_id", "service_id", name="uq_service_offering"),)

    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="RESTRICT"), index=True)
