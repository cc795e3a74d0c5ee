"""California ZIP code → county, for employers whose county nobody typed (SPEC §2: county → region).

The table is the ``zipcodes`` package's U.S. data (one primary county per ZIP), read once per process:
the first read parses the whole country (about a second), so the app warms it in a thread at startup."""
from __future__ import annotations

import datetime as dt
import functools
from typing import Any, NamedTuple, cast

import zipcodes
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.audit import service as audit
from crm.auth.models import Role
from crm.auth.principal import Principal
from crm.directory.models import County, Region
from crm.employers.matching import normalize_zip
from crm.employers.models import Employer, EmployerStatus


@functools.cache
def _counties() -> dict[str, str]:
    """California's five-digit ZIPs → county name as seeded ("Los Angeles", no " County"); PO-box ZIPs the
    data gives no county are left out."""
    return {row["zip_code"]: row["county"].removesuffix(" County")
            for row in zipcodes.filter_by(state="CA") if row["county"]}


@functools.cache
def _prefixes() -> frozenset[str]:
    """The three-digit prefixes (sectional centers) the country's ZIPs use: 933 of the 1,000."""
    return frozenset(row["zip_code"][:3] for row in zipcodes.list_all())


def unused_prefix(zip_code: str) -> str | None:
    """Why a normalized ZIP cannot be a U.S. ZIP ("00000": no ZIP begins with 000), or None. Only the
    prefix is checked: a ZIP opened after the data was made still passes."""
    if zip_code[:3] in _prefixes():
        return None
    return f"{zip_code[:5]} is not a U.S. ZIP code (no ZIP begins with {zip_code[:3]})"


def county_of_zip(zip_code: str | None) -> str | None:
    """The California county of a normalized ZIP ("93721" or "93721-1234"), or None: no ZIP, a ZIP outside
    California, or one the data does not place."""
    if not zip_code:
        return None
    return _counties().get(zip_code[:5])


def warm() -> None:
    """Read the tables now (in a worker thread at startup), not in the first request that needs them."""
    _counties()
    _prefixes()


class ZipPlace(NamedTuple):
    """Where a California ZIP lies."""

    region_id: int
    region_code: str
    county_id: int
    county: str


async def zip_place(db: AsyncSession, typed_zip: str | None) -> ZipPlace | None:
    """The county and region of a California ZIP as typed ("93721", "93721-1234"), or None."""
    county = county_of_zip(normalize_zip(typed_zip)) if typed_zip else None
    if county is None:
        return None
    row = (await db.execute(select(Region.id, Region.code, County.id.label("county_id"))
                            .join(County, County.region_id == Region.id).where(County.name == county))).first()
    return ZipPlace(row.id, row.code, row.county_id, county) if row is not None else None


def files_at(actor: Principal, place: ZipPlace) -> bool:
    """Whether a new employer ``actor`` types in a request is filed at its ZIP's place: a partner's always;
    staff's only in a region they work (they may not create employers elsewhere), else in the request's."""
    return not actor.is_staff or actor.is_admin or actor.can_in_region(place.region_id, Role.lead, Role.spoc)


class FillReport(NamedTuple):
    filled: int  # employers given their ZIP's county (and region, when they had none)
    elsewhere: int  # ZIP in another region than the employer's: left for a person to decide


async def fill_counties(db: AsyncSession, now: dt.datetime) -> FillReport:
    """Give every employer with a California ZIP and no county its ZIP's county, as creating or editing it
    does now (``service._county_from_zip``): only in the region it is in (or, with none, the ZIP's region
    too); one whose ZIP lies in another region keeps its region and is counted. For records made before
    counties were read from ZIPs, or imported with neither; rerunnable (a filled one has its county).
    Each change is audited as ``employer.update``."""
    counties = {name: (cid, rid) for cid, name, rid in await db.execute(select(County.id, County.name,
                                                                               County.region_id))}
    rows = await db.execute(select(Employer.id, Employer.zip, Employer.region_id).where(
        Employer.county_id.is_(None), Employer.zip.is_not(None), Employer.status != EmployerStatus.merged.value))
    changes: list[dict[str, int]] = []
    events: list[dict[str, Any]] = []
    elsewhere = 0
    for employer_id, zip_code, region_id in rows:
        place = counties.get(county_of_zip(zip_code) or "")
        if place is None:
            continue
        county_id, zip_region = place
        if region_id is not None and region_id != zip_region:
            elsewhere += 1
            continue
        changes.append({"b_id": employer_id, "b_county": county_id, "b_region": zip_region})
        events.append(audit.row(None, "employer.update", "employer", employer_id, at=now, employer_id=employer_id,
                                before={"county_id": None, "region_id": region_id},
                                after={"county_id": county_id, "region_id": zip_region},
                                note="county from its ZIP (crm employers fill-counties)"))
    if changes:
        table = cast(Table, Employer.__table__)
        await (await db.connection()).execute(
            update(table).where(table.c.id == bindparam("b_id"))
            .values(county_id=bindparam("b_county"), region_id=bindparam("b_region")), changes)
        await audit.insert_rows(db, events)
    return FillReport(len(changes), elsewhere)
