"""`/reports`: the region's reports with charts, each section loaded on its own (htmx) and downloadable as CSV.

The page answers at once with the period form and, per report, a section holding only its title and
a link; each report then loads into its section by itself (``hx-trigger="load"``), so the slow one
(SPOC response times over a big region's year) holds up nothing else. Without JavaScript the link
opens that report as a page of its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import Template

from crm import clock
from crm.auth.guards import requires_lead
from crm.deps import Db, Me
from crm.directory.service import led_regions
from crm.errors import FieldError
from crm.reports import charts, measures, service
from crm.reports.api import REPORTS, From, Report, To, build_report
from crm.web import render

Text = Annotated[str | None, Parameter(max_length=32)]


def _month_name(month: str) -> str:
    """``2026-03`` -> ``Mar 2026`` for an axis ("Mar 26" read as the 26th of March)."""
    return dt.date.fromisoformat(f"{month}-01").strftime("%b %Y")


def _chart(name: str, report: Report) -> charts.Chart | None:
    rows: list[Any] = list(report.rows)
    if not rows or name == "employer-measures":
        return None
    if name in ("touches-per-employer", "bundling"):
        months = [_month_name(r.month) for r in rows]
        if name == "touches-per-employer":
            return charts.columns(months, [("touches per touched employer", [r.per_employer for r in rows])])
        return charts.columns(months, [("requests received", [r.requests for r in rows]),
                                       ("touches serving them", [r.touches for r in rows])])
    if name == "response-times":
        return charts.stacked_rows([r.spoc for r in rows], [
            ("median days", [r.median_days for r in rows]),
            ("to the 90th percentile", [max(0.0, (r.p90_days or 0) - (r.median_days or 0)) for r in rows])])
    return charts.stacked_rows([r.spoc for r in rows], [
        ("0-7 days", [r.age_0_7 for r in rows]), ("8-30 days", [r.age_8_30 for r in rows]),
        ("31-90 days", [r.age_31_90 for r in rows]), ("over 90 days", [r.age_over_90 for r in rows])])


class ReportPages(Controller):
    path = "/reports"
    guards = [requires_lead]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any], db: Db, principal: Me, region: Text = None,
                    start: From = None, end: To = None) -> Template:
        regions = await led_regions(db, principal)
        current = await service.report_region(db, region, regions)
        values = {"region": current.code, "from": start or "", "to": end or ""}
        errors: dict[str, str] = {}
        period = None
        try:
            period = measures.parse_period(start, end, clock.today())
        except FieldError as exc:
            errors.update(exc.fields)
        query = urlencode({"region": current.code, "from": period.start.isoformat(), "to": period.end.isoformat()}) \
            if period else ""
        return render(request, "reports/index.html", status_code=422 if errors else 200, regions=regions,
                      region=current, period=period, values=values, errors=errors, query=query, reports=REPORTS)

    @get("/{name:str}")
    async def section(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                      name: Annotated[str, Parameter(max_length=64)], region: Text = None,
                      start: From = None, end: To = None) -> Template:
        report = await build_report(db, principal, name, region, start, end)
        query = urlencode({"region": report.region, "from": report.from_.isoformat(), "to": report.to.isoformat()})
        return render(request, "reports/section.html", partial="reports/_section.html", name=name,
                      title=REPORTS[name].title, report=report, chart=_chart(name, report), query=query)
