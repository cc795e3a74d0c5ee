"""API bodies of the reports (msgspec). Every report has rows; month reports also a total over the period."""

from __future__ import annotations

import datetime as dt

import msgspec


class MonthTouches(msgspec.Struct, kw_only=True):
    """Completed touches by their California date: how often one employer heard from the region."""

    month: str
    touches: int
    employers: int
    per_employer: float | None
    most_to_one_employer: int


class MonthBundling(msgspec.Struct, kw_only=True):
    """Requests received against the touches that carried them: each request beyond the first on a touch
    is a contact the employer did not get."""

    month: str
    requests: int
    on_touches: int
    touches: int
    contacts_avoided: int
    avoided_share: float | None
    held_now: int


class SpocResponse(msgspec.Struct, kw_only=True):
    """Days from a touch's opening to its completion, for touches completed in the period."""

    spoc_id: int | None
    spoc: str
    completed: int
    median_days: float | None
    p90_days: float | None


class SpocQueueAge(msgspec.Struct, kw_only=True):
    """Open touches today by days since they were opened."""

    spoc_id: int | None
    spoc: str
    open: int
    overdue: int
    age_0_7: int
    age_8_30: int
    age_31_90: int
    age_over_90: int
    oldest_days: int | None


class EmployerMeasures(msgspec.Struct, kw_only=True):
    """WIOA effectiveness-in-serving-employers measures for the region and period."""

    served: int
    repeat_customers: int
    repeat_rate: float | None
    lookback_from: dt.date
    establishments: int | None
    penetration: float | None  # None when the count is unknown, or too low (below the employers served)
    employers_on_file: int
    share_of_file: float | None
    # More employers served than the region's establishment count: the count cannot be right, and a
    # penetration over 100% would be read as a fact; it is left out (None) and this says why.
    establishments_too_low: bool = False


class _Report(msgspec.Struct, kw_only=True):
    region: str
    from_: dt.date = msgspec.field(name="from")
    to: dt.date


class TouchesReport(_Report, kw_only=True):
    rows: list[MonthTouches]
    total: MonthTouches


class BundlingReport(_Report, kw_only=True):
    rows: list[MonthBundling]
    total: MonthBundling


class ResponseReport(_Report, kw_only=True):
    rows: list[SpocResponse]
    total: SpocResponse


class QueueAgeReport(_Report, kw_only=True):
    """Today's queue: the period does not apply (``from`` and ``to`` are today)."""

    rows: list[SpocQueueAge]
    total: SpocQueueAge


class EmployerMeasuresReport(_Report, kw_only=True):
    rows: list[EmployerMeasures]
