"""`/api/reports/...`: the five reports as JSON, and each as CSV (`/api/reports/{name}/csv`).

Leads read their regions' reports, admins any region's; everyone else gets 403 (the numbers name
SPOCs and measure their queues). ``from``/``to`` are California dates, both included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from crm import clock
from crm.auth.guards import requires_lead
from crm.auth.principal import Principal
from crm.csvfile import csv_download
from crm.deps import Db, Me
from crm.directory.models import Region
from crm.directory.service import led_regions
from crm.reports import measures, service
from crm.reports.measures import Period
from crm.reports.schemas import (
    BundlingReport,
    EmployerMeasuresReport,
    QueueAgeReport,
    ResponseReport,
    TouchesReport,
)

RegionCode = Annotated[str | None, Parameter(max_length=32, description="Region code; default: the first you lead")]
# Dates as text, parsed by ``measures.parse_day``: a bad one is a 422 naming `from`/`to` as the client
# wrote them (Litestar's own parsing would name the Python parameters).
From = Annotated[str | None, QueryParameter(name="from", max_length=32, format="date",
                                            description="First day, YYYY-MM-DD (default: 11 months before to)")]
To = Annotated[str | None, QueryParameter(name="to", max_length=32, format="date",
                                          description="Last day, YYYY-MM-DD, included (default: today)")]

Report = TouchesReport | BundlingReport | ResponseReport | QueueAgeReport | EmployerMeasuresReport


@dataclass(frozen=True, slots=True)
class Scope:
    """What every report is asked for: a region the user leads, a period, and today (California)."""

    region: Region
    period: Period
    today: dt.date


async def _touches(db: AsyncSession, s: Scope) -> TouchesReport:
    rows, total = await service.touches_per_employer(db, s.region, s.period)
    return TouchesReport(region=s.region.code, from_=s.period.start, to=s.period.end, rows=rows, total=total)


async def _bundling(db: AsyncSession, s: Scope) -> BundlingReport:
    rows, total = await service.bundling(db, s.region, s.period)
    return BundlingReport(region=s.region.code, from_=s.period.start, to=s.period.end, rows=rows, total=total)


async def _response(db: AsyncSession, s: Scope) -> ResponseReport:
    rows, total = await service.response_times(db, s.region, s.period)
    return ResponseReport(region=s.region.code, from_=s.period.start, to=s.period.end, rows=rows, total=total)


async def _queue(db: AsyncSession, s: Scope) -> QueueAgeReport:
    rows, total = await service.queue_age(db, s.region, s.today)
    return QueueAgeReport(region=s.region.code, from_=s.today, to=s.today, rows=rows, total=total)


async def _employers(db: AsyncSession, s: Scope) -> EmployerMeasuresReport:
    row = await service.employer_measures(db, s.region, s.period)
    return EmployerMeasuresReport(region=s.region.code, from_=s.period.start, to=s.period.end, rows=[row])


@dataclass(frozen=True, slots=True)
class ReportKind:
    title: str
    build: Callable[[AsyncSession, Scope], Awaitable[Report]]


REPORTS: dict[str, ReportKind] = {
    "touches-per-employer": ReportKind("Touches per employer per month", _touches),
    "bundling": ReportKind("Requests received vs touches made", _bundling),
    "response-times": ReportKind("SPOC response times", _response),
    "queue-age": ReportKind("Queue age", _queue),
    "employer-measures": ReportKind("WIOA employer measures", _employers),
}


async def report_scope(db: AsyncSession, principal: Principal, region_code: str | None, start: str | None,
                       end: str | None) -> Scope:
    """The period asked for (422 naming `from`/`to`, both when both are wrong) and the region (404 unknown,
    403 not led)."""
    today = clock.today()
    period = measures.parse_period(start, end, today)
    return Scope(await service.report_region(db, region_code, await led_regions(db, principal)), period, today)


async def build_report(db: AsyncSession, principal: Principal, name: str, region_code: str | None,
                       start: str | None, end: str | None) -> Report:
    kind = REPORTS.get(name)
    if kind is None:
        raise NotFoundException(f"No report {name!r}; one of {', '.join(REPORTS)}")
    return await kind.build(db, await report_scope(db, principal, region_code, start, end))


def report_csv(report: Report, filename: str) -> Response[bytes]:
    """The report's rows, then its total, as CSV with the JSON field names as headers."""
    rows: list[Any] = list(report.rows)
    total = getattr(report, "total", None)
    if total is not None:
        rows.append(total)
    records = msgspec.to_builtins(rows)
    return csv_download(filename, list(records[0]) if records else [], (record.values() for record in records))


def csv_filename(name: str, report: Report) -> str:
    return f"onedoor-{name}-{report.region}-{report.from_.isoformat()}-{report.to.isoformat()}.csv"


# A region asked for by code that does not exist is a 404 here (report_scope), documented as such.
UNKNOWN_REGION = [NotFoundException]


class ReportApi(Controller):
    path = "/api/reports"
    tags = ["reports"]
    guards = [requires_lead]

    @get("/touches-per-employer", raises=UNKNOWN_REGION)
    async def touches_per_employer(self, db: Db, principal: Me, region: RegionCode = None, start: From = None,
                                   end: To = None) -> TouchesReport:
        return await _touches(db, await report_scope(db, principal, region, start, end))

    @get("/bundling", raises=UNKNOWN_REGION)
    async def bundling(self, db: Db, principal: Me, region: RegionCode = None, start: From = None,
                       end: To = None) -> BundlingReport:
        return await _bundling(db, await report_scope(db, principal, region, start, end))

    @get("/response-times", raises=UNKNOWN_REGION)
    async def response_times(self, db: Db, principal: Me, region: RegionCode = None, start: From = None,
                             end: To = None) -> ResponseReport:
        return await _response(db, await report_scope(db, principal, region, start, end))

    @get("/queue-age", raises=UNKNOWN_REGION)
    async def queue_age(self, db: Db, principal: Me, region: RegionCode = None) -> QueueAgeReport:
        return await _queue(db, await report_scope(db, principal, region, None, None))

    @get("/employer-measures", raises=UNKNOWN_REGION)
    async def employer_measures(self, db: Db, principal: Me, region: RegionCode = None, start: From = None,
                                end: To = None) -> EmployerMeasuresReport:
        return await _employers(db, await report_scope(db, principal, region, start, end))

    @get("/{name:str}/csv", media_type="text/csv")
    async def as_csv(self, db: Db, principal: Me,
                     name: Annotated[str, Parameter(max_length=64, schema_extra={"enum": list(REPORTS)})],
                     region: RegionCode = None, start: From = None, end: To = None) -> Response[bytes]:
        report = await build_report(db, principal, name, region, start, end)
        return report_csv(report, csv_filename(name, report))
