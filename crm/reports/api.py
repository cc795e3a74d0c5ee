"""`/api/reports/...`: the five reports as JSON, and each as CSV (`/api/reports/{name}/csv`).

Leads read their regions' reports, admins any region's; everyone else gets 403 (the numbers name
SPOCs and measure their queues). ``from``/``to`` are California dates, both included.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
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
from crm.deps import Db, Me
from crm.directory.models import Region
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
From = Annotated[str | None, QueryParameter(name="from", max_length=32,
                                            description="First day, YYYY-MM-DD (default: 11 months before to)")]
To = Annotated[str | None, QueryParameter(name="to", max_length=32,
                                          description="Last day, YYYY-MM-DD, included (default: today)")]

Report = TouchesReport | BundlingReport | ResponseReport | QueueAgeReport | EmployerMeasuresReport


@dataclass(frozen=True, slots=True)
class ReportKind:
    title: str
    build: Callable[[AsyncSession, Region, Period, dt.date], Awaitable[Report]]


async def _touches(db: AsyncSession, region: Region, period: Period, _: dt.date) -> Report:
    rows, total = await service.touches_per_employer(db, region, period)
    return TouchesReport(region=region.code, from_=period.start, to=period.end, rows=rows, total=total)


async def _bundling(db: AsyncSession, region: Region, period: Period, _: dt.date) -> Report:
    rows, total = await service.bundling(db, region, period)
    return BundlingReport(region=region.code, from_=period.start, to=period.end, rows=rows, total=total)


async def _response(db: AsyncSession, region: Region, period: Period, _: dt.date) -> Report:
    rows, total = await service.response_times(db, region, period)
    return ResponseReport(region=region.code, from_=period.start, to=period.end, rows=rows, total=total)


async def _queue(db: AsyncSession, region: Region, _: Period, today: dt.date) -> Report:
    rows, total = await service.queue_age(db, region, today)
    return QueueAgeReport(region=region.code, from_=today, to=today, rows=rows, total=total)


async def _employers(db: AsyncSession, region: Region, period: Period, _: dt.date) -> Report:
    row = await service.employer_measures(db, region, period)
    return EmployerMeasuresReport(region=region.code, from_=period.start, to=period.end, rows=[row])


REPORTS: dict[str, ReportKind] = {
    "touches-per-employer": ReportKind("Touches per employer per month", _touches),
    "bundling": ReportKind("Requests received vs touches made", _bundling),
    "response-times": ReportKind("SPOC response times", _response),
    "queue-age": ReportKind("Queue age", _queue),
    "employer-measures": ReportKind("WIOA employer measures", _employers),
}


async def build_report(db: AsyncSession, principal: Principal, name: str, region_code: str | None,
                       start: str | None, end: str | None) -> Report:
    kind = REPORTS.get(name)
    if kind is None:
        raise NotFoundException(f"No report {name!r}; one of {', '.join(REPORTS)}")
    today = clock.today()
    period = measures.period_of(measures.parse_day(start, "from"), measures.parse_day(end, "to"), today)
    region = await service.report_region(db, principal, region_code)
    return await kind.build(db, region, period, today)


def report_csv(report: Report) -> str:
    """The report's rows, then its total, as CSV with the JSON field names as headers."""
    rows: list[Any] = list(report.rows)
    total = getattr(report, "total", None)
    if total is not None:
        rows.append(total)
    out = io.StringIO()
    writer = csv.writer(out)
    records = msgspec.to_builtins(rows)
    if records:
        writer.writerow(records[0].keys())
    writer.writerows([("" if v is None else v for v in record.values()) for record in records])
    return out.getvalue()


def csv_filename(name: str, report: Report) -> str:
    return f"onedoor-{name}-{report.region}-{report.from_.isoformat()}-{report.to.isoformat()}.csv"


class ReportApi(Controller):
    path = "/api/reports"
    tags = ["reports"]
    guards = [requires_lead]

    @get("/touches-per-employer")
    async def touches_per_employer(self, db: Db, principal: Me, region: RegionCode = None, start: From = None,
                                   end: To = None) -> TouchesReport:
        return await build_report(db, principal, "touches-per-employer", region, start, end)  # type: ignore[return-value]

    @get("/bundling")
    async def bundling(self, db: Db, principal: Me, region: RegionCode = None, start: From = None,
                       end: To = None) -> BundlingReport:
        return await build_report(db, principal, "bundling", region, start, end)  # type: ignore[return-value]

    @get("/response-times")
    async def response_times(self, db: Db, principal: Me, region: RegionCode = None, start: From = None,
                             end: To = None) -> ResponseReport:
        return await build_report(db, principal, "response-times", region, start, end)  # type: ignore[return-value]

    @get("/queue-age")
    async def queue_age(self, db: Db, principal: Me, region: RegionCode = None) -> QueueAgeReport:
        return await build_report(db, principal, "queue-age", region, None, None)  # type: ignore[return-value]

    @get("/employer-measures")
    async def employer_measures(self, db: Db, principal: Me, region: RegionCode = None, start: From = None,
                                end: To = None) -> EmployerMeasuresReport:
        return await build_report(db, principal, "employer-measures", region, start, end)  # type: ignore[return-value]

    @get("/{name:str}/csv", media_type="text/csv")
    async def as_csv(self, db: Db, principal: Me, name: Annotated[str, Parameter(max_length=64)],
                     region: RegionCode = None, start: From = None, end: To = None) -> Response[str]:
        report = await build_report(db, principal, name, region, start, end)
        return Response(report_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{csv_filename(name, report)}"'})
