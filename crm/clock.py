"""OneDoor's calendar: California days and wall-clock times.

Every user works in California, so "today", a touch's planned day, the pacing budget's rolling
windows and the times typed into forms are California (America/Los_Angeles) dates and times.
Instants are stored in UTC; a UTC calendar date would turn over at 4-5 pm local time, after which a
window starting "today" would be refused as past and an evening touch would count on the wrong day.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("America/Los_Angeles")


def now() -> dt.datetime:
    """The current instant (UTC)."""
    return dt.datetime.now(dt.UTC)


def local_date(moment: dt.datetime) -> dt.date:
    """The California calendar day of an instant (a naive value is UTC, as stored)."""
    return local(moment).date()


def today() -> dt.date:
    """Today's California date."""
    return local_date(now())


def as_instant(value: dt.datetime) -> dt.datetime:
    """An aware UTC instant; a naive value is California wall time (what a person types)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TZ)
    return value.astimezone(dt.UTC)


def skipped_hour(value: dt.datetime) -> bool:
    """Whether a California wall time never happens: the hour the clocks skip when summer time starts
    (02:30 on 8 March 2026). ``as_instant`` would quietly make it 03:30."""
    if value.tzinfo is not None:
        return False
    there = value.replace(tzinfo=LOCAL_TZ)
    return there.astimezone(dt.UTC).astimezone(LOCAL_TZ).replace(tzinfo=None) != value


SKIPPED_HOUR = "does not exist that day: the clocks move from 02:00 to 03:00"


def local_instant(day: dt.date, time: dt.time) -> dt.datetime:
    """The UTC instant of a California day and wall-clock time (a form's date and time fields)."""
    return as_instant(dt.datetime.combine(day, time))


def local(moment: dt.datetime) -> dt.datetime:
    """An instant in California time, for display (naive values are taken as UTC, as stored)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(LOCAL_TZ)
