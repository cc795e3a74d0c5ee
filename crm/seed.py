"""Reference data loader: regions with counties and boards, NAICS sectors, crosswalk services. Idempotent."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.directory.models import County, Region, Sector, Service
from crm.paths import asset_dir


@dataclass
class SeedReport:
    regions_added: int = 0
    counties_added: int = 0
    sectors_added: int = 0
    services_added: int = 0
    updated: int = 0

    def __str__(self) -> str:
        return (f"regions +{self.regions_added}, counties +{self.counties_added}, "
                f"sectors +{self.sectors_added}, services +{self.services_added}, updated {self.updated}")


def _rows(name: str) -> list[dict[str, str]]:
    path: Path = asset_dir("seeds") / name
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


async def load_reference(db: AsyncSession) -> SeedReport:
    """Insert or update every region, county, sector and service from ``seeds/``; rerunning changes nothing."""
    report = SeedReport()
    regions = {r.code: r for r in await db.scalars(select(Region))}
    counties = {c.name: c for c in await db.scalars(select(County))}
    for row in _rows("california_rpus.csv"):
        region = regions.get(row["code"])
        boards = row["local_workforce_boards"].strip()
        if region is None:
            region = Region(code=row["code"], name=row["name"], local_boards=boards)
            db.add(region)
            regions[region.code] = region
            report.regions_added += 1
        elif (region.name, region.local_boards) != (row["name"], boards):
            region.name, region.local_boards = row["name"], boards
            report.updated += 1
        await db.flush()
        for name in (c.strip() for c in row["counties"].split(";") if c.strip()):
            county = counties.get(name)
            if county is None:
                county = County(name=name, region_id=region.id)
                db.add(county)
                counties[name] = county
                report.counties_added += 1
            elif county.region_id != region.id:
                county.region_id = region.id
                report.updated += 1
    sectors = {s.code: s for s in await db.scalars(select(Sector))}
    for row in _rows("naics_sectors.csv"):
        sector = sectors.get(row["code"])
        if sector is None:
            db.add(Sector(code=row["code"], title=row["title"]))
            report.sectors_added += 1
        elif sector.title != row["title"]:
            sector.title = row["title"]
            report.updated += 1
    services = {s.code: s for s in await db.scalars(select(Service))}
    for row in _rows("services.csv"):
        service = services.get(row["code"])
        if service is None:
            db.add(Service(code=row["code"], name=row["name"], description=row["description"]))
            report.services_added += 1
        elif (service.name, service.description) != (row["name"], row["description"]):
            service.name, service.description = row["name"], row["description"]
            report.updated += 1
    await db.flush()
    return report
