"""The arithmetic of the reports (SPEC §4 "Reports"): periods, California months, percentiles, rates.

Plain functions over plain values, no database and no clock (``today`` is passed in), so every
edge (an empty month, a period of one day, a rate with nothing to divide by) is tested directly.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crm.errors import FieldError

# A period is read month by month (one CASE arm per month): five years bounds the statement.
MAX_MONTHS = 60
# WIOA "repeat business customers": served now and also within the three years before.
REPEAT_LOOKBACK_YEARS = 3
# Queue age buckets (days since the touch was opened), upper bounds inclusive; the last is open-ended.
AGE_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("0-7 days", 7), ("8-30 days", 30), ("31-90 days", 90), ("over 90 days", None))


@dataclass(frozen=True, slots=True)
class Period:
    """California calendar days ``start``..``end``, both included."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The first of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def default_period(today: dt.date) -> Period:
    """The current month and the eleven before it, up to today."""
    return Period(add_months(today, -11), today)


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def parse_day(value: str | None, field: str) -> dt.date | None:
    """A query's ISO date (``2026-03-01``); blank is None; anything else a 422 naming ``field``."""
    if value is None or not value.strip():
        return None
    try:
        # fromisoformat alone also reads "20260101" and week dates ("2026-W47-1"), which the message denies.
        if not _ISO_DAY.fullmatch(value.strip()):
            raise ValueError(value)
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise FieldError(field, "must be a date (YYYY-MM-DD)") from None
    if not FIRST_DAY <= day <= LAST_DAY:  # month and look-back arithmetic stays inside Python's dates
        raise FieldError(field, f"must be between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}")
    return day


def period_of(start: dt.date | None, end: dt.date | None, today: dt.date) -> Period:
    """The period asked for; a missing end is today, a missing start twelve months before the end.
    Every problem at once, each naming its field; a period wholly after today is refused (every report
    of it would be zeros that look like a region that did nothing)."""
    given_start, given_end = start, end
    end = end or today
    start = start or add_months(end, -11)
    wrong: list[tuple[str, str]] = []
    if start > today:
        if given_start is not None:
            wrong.append(("from", f"is after today ({today.isoformat()}): that period has not happened yet"))
        else:
            wrong.append(("to", f"leaves a period from {start.isoformat()}, after today ({today.isoformat()}): "
                                "it has not happened yet; give a From date up to today"))
    if end < start:
        if given_end is not None:  # a To left blank is today: the From error above says it all
            wrong.append(("to", "must be on or after the From date"))
    elif len(months(Period(start, end))) > MAX_MONTHS and not wrong:  # one message a field: not yet happened first
        wrong.append(("from", f"must be at most {MAX_MONTHS} months before the To date"))
    if wrong:
        raise FieldError(*wrong[0], *wrong[1:])
    return Period(start, end)


def parse_period(start: str | None, end: str | None, today: dt.date) -> Period:
    """A query's ``from`` and ``to`` read into a period (``period_of``); a 422 naming each bad one at once."""
    days: dict[str, dt.date | None] = {}
    wrong: list[tuple[str, str]] = []
    for field, text in (("from", start), ("to", end)):
        try:
            days[field] = parse_day(text, field)
        except FieldError as exc:
            wrong += exc.fields
    if wrong:
        raise FieldError(*wrong[0], *wrong[1:])
    return period_of(days["from"], days["to"], today)


def months(period: Period) -> list[dt.date]:
    """First days of the calendar months the period touches, in order."""
    found, month = [], first_of_month(period.start)
    while month <= period.end:
        found.append(month)
        month = add_months(month, 1)
    return found


def month_label(month: dt.date) -> str:
    return month.strftime("%Y-%m")


def lookback(period: Period, years: int = REPEAT_LOOKBACK_YEARS) -> Period:
    """The ``years`` before the period (the day before it included)."""
    start = period.start
    try:
        earlier = start.replace(year=start.year - years)
    except ValueError:  # 29 February
        earlier = start.replace(year=start.year - years, day=28)
    return Period(earlier, start - dt.timedelta(days=1))


def rate(part: int, whole: int | None) -> float | None:
    """``part / whole`` rounded to four places; None when there is nothing to divide by."""
    if not whole:
        return None
    return round(part / whole, 4)


def establishments_too_low(served: int, establishments: int | None) -> bool:
    """A known establishment count below the employers served: the count is wrong, not the reach."""
    return establishments is not None and served > establishments


def penetration(served: int, establishments: int | None) -> float | None:
    """Employers served per establishment of the region; None when the count is unknown or too low
    (``establishments_too_low``: a rate over 100% would be read as a fact)."""
    if establishments_too_low(served, establishments):
        return None
    return rate(served, establishments)


def interpolated(value_at: Callable[[int], float], n: int, q: float) -> float:
    """The ``q``-th percentile (0-100) of ``n`` ranked values, ``value_at(rank)`` giving the value at a
    1-based rank: linear interpolation between the two closest ranks. The database variant reads only
    the ranks ``(n - 1) * q // 100 + 1`` and the next one (``crm.reports.service.response_times``)."""
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    position = (n - 1) * q / 100
    low = math.floor(position) + 1
    a = value_at(low)
    b = value_at(low + 1) if low < n else a
    return a + (b - a) * (position - low + 1)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile of ``values``, rounded to two places; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    return round(interpolated(lambda rank: ordered[rank - 1], len(ordered), q), 2)


def age_bucket(days: int) -> str:
    """The queue-age bucket of a touch opened ``days`` ago."""
    for label, bound in AGE_BUCKETS:
        if bound is None or days <= bound:
            return label
    raise AssertionError("the last bucket is open-ended")
