"""The reports' database work (SPEC §4 "Reports"): one region, one period, aggregated in SQL.

What each counts, in the words the report page uses:

- *Touches per employer*: completed touches (every channel, routed or logged, council meetings
  and convenings included — what the pacing budget counts) by their California date.
- *Bundling*: touch requests received (by their California day of arrival) against the touches that
  carry them; every request on a touch beyond the first is a contact the employer did not get.
- *SPOC response*: for routed touches completed in the period, days from opening to completion,
  median and 90th percentile (linear interpolation, computed by the database's window functions).
- *Queue age*: today's open touches by days since opened, and how many are past their planned day.
- *Employer measures* (WIOA): employers served (a completed touch in the period); repeat business
  customers (also served in the three years before); penetration against the region's establishment
  count when it is known (left out, and flagged, when the count is below the employers served), and
  against the employers on file.

Months are California months: a month's bounds are compared as instants (requests) or dates
(touches), one CASE arm per month, so both databases bucket identically.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from litestar.exceptions import PermissionDeniedException
from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm import clock
from crm.auth.models import User
from crm.directory.models import Region
from crm.directory.service import region_by_code
from crm.employers.models import Employer, EmployerStatus
from crm.reports import measures
from crm.reports.measures import Period
from crm.reports.schemas import EmployerMeasures, MonthBundling, MonthTouches, SpocQueueAge, SpocResponse
from crm.touches.models import Touch, TouchRequest
from crm.touches.routing import OPEN_TOUCH_STATUSES, RequestStatus, TouchStatus

_COMPLETED = TouchStatus.COMPLETED.value
_OPEN = sorted(s.value for s in OPEN_TOUCH_STATUSES)
_PERCENTILES = (50, 90)


async def report_region(db: AsyncSession, code: str | None, allowed: list[Region]) -> Region:
    """The region asked for among those the user leads (``led_regions``; default the first); 403 for a
    region they do not lead, 404 for one that does not exist."""
    if not allowed:
        raise PermissionDeniedException("Reports are for the leads of a region")
    if not code or not code.strip():
        return allowed[0]
    wanted = code.strip().upper()
    region = next((r for r in allowed if r.code == wanted), None)
    if region is not None:
        return region
    await region_by_code(db, code)  # 404 when it does not exist
    raise PermissionDeniedException(f"Only a lead of {wanted} may read its reports")


def _day_bounds(period: Period) -> list[dt.date]:
    """Bounds of the period's months as dates: start, the first of each later month, the day after the end."""
    return [period.start, *measures.months(period)[1:], period.end + dt.timedelta(days=1)]


def _instant_bounds(period: Period) -> list[dt.datetime]:
    return [clock.local_instant(day, dt.time(0)) for day in _day_bounds(period)]


def _month_of(column: Any, bounds: Sequence[Any]) -> ColumnElement[Any]:
    """The index of the month a value falls in (``bounds`` ascending; the caller filters to the outer ones)."""
    return case(*((column < bounds[i + 1], i) for i in range(len(bounds) - 1)))


def _labels(period: Period) -> list[str]:
    return [measures.month_label(m) for m in measures.months(period)]


# ---------------------------------------------------------------- touches per employer


def _completed_in(region: Region, period: Period) -> list[ColumnElement[bool]]:
    t = Touch.__table__.c
    return [t.region_id == region.id, t.status == _COMPLETED, t.planned_on >= period.start,
            t.planned_on <= period.end]


async def touches_per_employer(db: AsyncSession, region: Region, period: Period) -> tuple[list[MonthTouches],
                                                                                          MonthTouches]:
    t = Touch.__table__.c
    bounds = _day_bounds(period)
    touches = select(_month_of(t.planned_on, bounds).label("m"), t.employer_id).where(
        *_completed_in(region, period)).subquery()
    per_employer = select(touches.c.m, touches.c.employer_id, func.count().label("n")).group_by(
        touches.c.m, touches.c.employer_id).subquery()
    found = {row.m: row for row in await db.execute(
        select(per_employer.c.m, func.count().label("employers"), func.sum(per_employer.c.n).label("touches"),
               func.max(per_employer.c.n).label("most")).group_by(per_employer.c.m))}
    rows = [_month_touches(label, found.get(i)) for i, label in enumerate(_labels(period))]
    whole = select(t.employer_id, func.count().label("n")).where(*_completed_in(region, period)).group_by(
        t.employer_id).subquery()
    total = (await db.execute(select(func.count().label("employers"), func.sum(whole.c.n).label("touches"),
                                     func.max(whole.c.n).label("most")))).one()
    return rows, _month_touches("total", total)


def _month_touches(label: str, row: Any) -> MonthTouches:
    touches = int(row.touches or 0) if row is not None else 0
    employers = int(row.employers or 0) if row is not None else 0
    return MonthTouches(month=label, touches=touches, employers=employers,
                        per_employer=round(touches / employers, 2) if employers else None,
                        most_to_one_employer=int(row.most or 0) if row is not None else 0)


# ---------------------------------------------------------------- bundling


async def bundling(db: AsyncSession, region: Region, period: Period) -> tuple[list[MonthBundling], MonthBundling]:
    """Requests received in each month, and of them those a touch serves: on a touch that was not cancelled
    and still wanted (not withdrawn or declined). Contacts avoided = those requests less the touches carrying
    them: each touch made (or still to make) for several requests saved the others' calls."""
    r, t = TouchRequest.__table__.c, Touch.__table__.c
    bounds = _instant_bounds(period)
    received = [r.region_id == region.id, r.created_at >= bounds[0], r.created_at < bounds[-1]]
    held = func.sum(case((r.status == RequestStatus.HELD.value, 1), else_=0))
    served = case((and_(t.status != TouchStatus.CANCELLED.value,
                        r.status.not_in((RequestStatus.WITHDRAWN.value, RequestStatus.DECLINED.value))), r.touch_id))

    def counts(*group: ColumnElement[Any]) -> Select[Any]:
        return (select(*group, func.count().label("requests"), func.count(served).label("on_touches"),
                       func.count(distinct(served)).label("touches"), held.label("held"))
                .select_from(TouchRequest.__table__.outerjoin(Touch.__table__, t.id == r.touch_id))
                .where(*received))

    month = _month_of(r.created_at, bounds).label("m")
    found = {row.m: row for row in await db.execute(counts(month).group_by(month))}
    rows = [_month_bundling(label, found.get(i)) for i, label in enumerate(_labels(period))]
    return rows, _month_bundling("total", (await db.execute(counts())).one())


def _month_bundling(label: str, row: Any) -> MonthBundling:
    requests = int(row.requests) if row is not None else 0
    on_touches = int(row.on_touches) if row is not None else 0
    touches = int(row.touches) if row is not None else 0
    avoided = on_touches - touches
    return MonthBundling(month=label, requests=requests, on_touches=on_touches, touches=touches,
                         contacts_avoided=avoided, avoided_share=measures.rate(avoided, requests),
                         held_now=int(row.held or 0) if row is not None else 0)


# ---------------------------------------------------------------- SPOC response times


def _days_between(db: AsyncSession, start: Any, end: Any) -> ColumnElement[Any]:
    if db.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start) / 86400.0
    return func.julianday(end) - func.julianday(start)


def _interpolate(ranked: dict[int, float], n: int, q: int) -> float:
    """The ``q``-th percentile from the values the database answered for the ranks around it."""
    # A completion stamped a moment before the touch's opening (clocks of two processes, or data
    # loaded with a fixed clock) is no negative response time: it reads 0.0, never "-0.0".
    return max(0.0, round(measures.interpolated(ranked.__getitem__, n, q), 1))


async def response_times(db: AsyncSession, region: Region, period: Period) -> tuple[list[SpocResponse],
                                                                                    SpocResponse]:
    """Median and 90th percentile days to completion per SPOC and for all.

    The database ranks the durations (window functions, per SPOC and overall in one pass) and
    answers only the ranks each percentile lies between, so a region's hundred thousand durations
    never leave it.
    """
    t = Touch.__table__.c
    durations = select(t.spoc_id, _days_between(db, t.created_at, t.completed_at).label("days")).where(
        *_completed_in(region, period), t.source == "routed", t.completed_at.is_not(None)).subquery()
    d = durations.c
    ranked = select(d.spoc_id, d.days,
                    func.row_number().over(partition_by=d.spoc_id, order_by=d.days).label("rn"),
                    func.count().over(partition_by=d.spoc_id).label("n"),
                    func.row_number().over(order_by=d.days).label("rn_all"),
                    func.count().over().label("n_all")).subquery()
    r = ranked.c
    wanted = [rank == (count - 1) * q // 100 + step for rank, count in ((r.rn, r.n), (r.rn_all, r.n_all))
              for q in _PERCENTILES for step in (1, 2)]
    per_spoc: dict[int | None, dict[int, float]] = defaultdict(dict)
    counts: dict[int | None, int] = {}
    everyone: dict[int, float] = {}
    n_all = 0
    for row in await db.execute(select(r.spoc_id, r.days, r.rn, r.n, r.rn_all, r.n_all).where(or_(*wanted))):
        # A row may be wanted for one ranking only; keeping it under both ranks is still true.
        per_spoc[row.spoc_id][row.rn] = everyone[row.rn_all] = float(row.days)
        counts[row.spoc_id], n_all = row.n, row.n_all
    names = await _names(db, counts)
    rows = [SpocResponse(spoc_id=spoc_id, spoc=names.get(spoc_id, "no SPOC"), completed=n,
                         median_days=_interpolate(per_spoc[spoc_id], n, 50),
                         p90_days=_interpolate(per_spoc[spoc_id], n, 90))
            for spoc_id, n in counts.items()]
    rows.sort(key=lambda row: (row.spoc_id is None, row.spoc.lower()))
    total = SpocResponse(spoc_id=None, spoc="all SPOCs", completed=n_all,
                         median_days=_interpolate(everyone, n_all, 50) if n_all else None,
                         p90_days=_interpolate(everyone, n_all, 90) if n_all else None)
    return rows, total


async def _names(db: AsyncSession, ids: Any) -> dict[int | None, str]:
    known = [i for i in ids if i is not None]
    if not known:
        return {}
    return {row.id: row.name for row in await db.execute(select(User.id, User.name).where(User.id.in_(known)))}


# ---------------------------------------------------------------- queue age


async def queue_age(db: AsyncSession, region: Region, today: dt.date) -> tuple[list[SpocQueueAge], SpocQueueAge]:
    t = Touch.__table__.c
    ages: dict[int | None, Counter[str]] = defaultdict(Counter)
    oldest: dict[int | None, int] = {}
    for row in await db.execute(select(t.spoc_id, t.created_at, t.planned_on).where(
            t.region_id == region.id, t.status.in_(_OPEN))):
        days = max(0, (today - clock.local_date(row.created_at)).days)
        counter = ages[row.spoc_id]
        counter[measures.age_bucket(days)] += 1
        counter["open"] += 1
        counter["overdue"] += row.planned_on < today
        oldest[row.spoc_id] = max(days, oldest.get(row.spoc_id, 0))
    names = await _names(db, ages)
    rows = [_queue_row(spoc_id, names.get(spoc_id, "unassigned") if spoc_id else "unassigned", counter,
                       oldest.get(spoc_id)) for spoc_id, counter in ages.items()]
    rows.sort(key=lambda row: (row.spoc_id is None, row.spoc.lower()))
    total = sum(ages.values(), Counter())
    return rows, _queue_row(None, "all", total, max(oldest.values(), default=None))


def _queue_row(spoc_id: int | None, name: str, counter: Counter[str], oldest: int | None) -> SpocQueueAge:
    labels = [label for label, _ in measures.AGE_BUCKETS]
    return SpocQueueAge(spoc_id=spoc_id, spoc=name, open=counter["open"], overdue=counter["overdue"],
                        age_0_7=counter[labels[0]], age_8_30=counter[labels[1]], age_31_90=counter[labels[2]],
                        age_over_90=counter[labels[3]], oldest_days=oldest)


# ---------------------------------------------------------------- WIOA employer measures


async def employer_measures(db: AsyncSession, region: Region, period: Period) -> EmployerMeasures:
    t = Touch.__table__.c
    before = measures.lookback(period)
    served = await db.scalar(select(func.count(distinct(t.employer_id))).where(*_completed_in(region, period)))
    # IN, not a correlated EXISTS: SQLite would answer EXISTS by range-scanning the region's index for
    # every served employer (minutes at California scale); the IN list is built once, from the index.
    earlier = select(t.employer_id).where(*_completed_in(region, before))
    repeat = await db.scalar(select(func.count(distinct(t.employer_id))).where(
        *_completed_in(region, period), t.employer_id.in_(earlier)))
    on_file = await db.scalar(select(func.count(Employer.id)).where(
        Employer.region_id == region.id, Employer.status != EmployerStatus.merged.value))
    served, repeat, on_file = int(served or 0), int(repeat or 0), int(on_file or 0)
    return EmployerMeasures(served=served, repeat_customers=repeat, repeat_rate=measures.rate(repeat, served),
                            lookback_from=before.start, establishments=region.establishment_count,
                            penetration=measures.penetration(served, region.establishment_count),
                            employers_on_file=on_file, share_of_file=measures.rate(served, on_file),
                            establishments_too_low=measures.establishments_too_low(
                                served, region.establishment_count))
