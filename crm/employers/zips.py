"""California ZIP code → county, for employers whose county nobody typed (SPEC §2: county → region).

The table is the ``zipcodes`` package's U.S. data (one primary county per ZIP), read once per process:
the first read parses the whole country (about a second), so the app warms it in a thread at startup."""
from __future__ import annotations

import functools
from typing import NamedTuple

import zipcodes
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.auth.models import Role
from crm.auth.principal import Principal
from crm.directory.models import County, Region
from crm.employers.matching import normalize_zip


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
