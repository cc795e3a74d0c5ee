"""The reports' arithmetic and chart geometry: periods, months, percentiles, rates, buckets, bars."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.errors import FieldError
from crm.reports import charts, measures
from crm.reports.measures import Period

D = dt.date


def test_default_period_is_the_current_month_and_the_eleven_before_it():
    assert measures.default_period(D(2026, 11, 25)) == Period(D(2025, 12, 1), D(2026, 11, 25))
    assert measures.period_of(None, None, D(2026, 1, 31)) == Period(D(2025, 2, 1), D(2026, 1, 31))
    assert measures.period_of(None, D(2026, 3, 10), D(2026, 11, 25)).start == D(2025, 4, 1)


def test_a_period_ending_before_it_starts_or_longer_than_five_years_names_its_field():
    with pytest.raises(FieldError) as before:
        measures.period_of(D(2026, 2, 1), D(2026, 1, 31), D(2026, 11, 25))
    assert before.value.fields[0][0] == "to"
    with pytest.raises(FieldError) as long:
        measures.period_of(D(2020, 1, 1), D(2025, 1, 1), D(2026, 11, 25))
    assert long.value.fields[0][0] == "from"
    assert measures.period_of(D(2021, 1, 1), D(2025, 12, 31), D(2026, 11, 25)).days == 1826  # 60 months: allowed


def test_a_period_wholly_after_today_is_refused_naming_the_date_that_put_it_there():
    today = D(2026, 11, 25)
    with pytest.raises(FieldError) as given:
        measures.period_of(D(2029, 6, 1), D(2030, 1, 1), today)
    assert given.value.fields == [("from", "is after today (2026-11-25): that period has not happened yet")]
    with pytest.raises(FieldError) as to_only:
        measures.period_of(None, D(2030, 1, 1), today)  # from defaults to 2029-02-01
    assert [f for f, _ in to_only.value.fields] == ["to"] and "2029-02-01" in to_only.value.fields[0][1]
    with pytest.raises(FieldError) as from_only:
        measures.period_of(D(2026, 11, 26), None, today)  # to defaults to today: one complaint, not two
    assert [f for f, _ in from_only.value.fields] == ["from"]
    with pytest.raises(FieldError) as both:
        measures.period_of(D(2030, 2, 1), D(2030, 1, 1), today)
    assert [f for f, _ in both.value.fields] == ["from", "to"]
    # Reaching past today is fine as long as part of the period has happened; today itself has.
    assert measures.period_of(D(2026, 1, 1), D(2027, 1, 1), today).start == D(2026, 1, 1)
    assert measures.period_of(today, today, today).days == 1


def test_both_bad_dates_of_a_query_are_named_at_once():
    with pytest.raises(FieldError) as both:
        measures.parse_period("abc", "xyz", D(2026, 11, 25))
    assert both.value.fields == [("from", "must be a date (YYYY-MM-DD)"), ("to", "must be a date (YYYY-MM-DD)")]
    assert measures.parse_period(" 2026-01-01 ", "", D(2026, 11, 25)) == Period(D(2026, 1, 1), D(2026, 11, 25))


@pytest.mark.parametrize("value", ["20260101", "2026-W47-1", "2026-001", "２０２６-01-01"])
def test_only_the_date_form_the_message_names_is_read(value):
    """Python's fromisoformat also reads basic and week dates; the message says YYYY-MM-DD."""
    with pytest.raises(FieldError) as wrong:
        measures.parse_day(value, "from")
    assert wrong.value.fields == [("from", "must be a date (YYYY-MM-DD)")]


def test_penetration_is_left_out_when_the_count_is_unknown_or_below_the_employers_served():
    assert measures.penetration(9, 5) is None  # 180% would say the count is wrong, not the reach
    assert measures.penetration(5, None) is None
    assert measures.penetration(5, 5) == 1.0 and measures.penetration(2, 400) == 0.005
    assert measures.penetration(0, 10) == 0.0


def test_months_cross_the_year_and_a_one_day_period_is_one_month():
    assert [measures.month_label(m) for m in measures.months(Period(D(2025, 11, 15), D(2026, 2, 1)))] == [
        "2025-11", "2025-12", "2026-01", "2026-02"]
    assert measures.months(Period(D(2026, 3, 31), D(2026, 3, 31))) == [D(2026, 3, 1)]


def test_lookback_is_the_three_years_before_the_period_even_from_29_february():
    assert measures.lookback(Period(D(2025, 12, 1), D(2026, 11, 25))) == Period(D(2022, 12, 1), D(2025, 11, 30))
    assert measures.lookback(Period(D(2024, 2, 29), D(2024, 3, 1))) == Period(D(2021, 2, 28), D(2024, 2, 28))


def test_rate_is_none_when_there_is_nothing_to_divide_by():
    assert measures.rate(1, 3) == 0.3333
    assert measures.rate(0, 0) is None and measures.rate(5, None) is None


def test_percentile_interpolates_between_closest_ranks():
    assert measures.percentile([], 50) is None
    assert measures.percentile([4.0], 90) == 4.0
    assert measures.percentile([1, 2, 3, 4], 50) == 2.5
    assert measures.percentile([1, 2, 3, 4], 90) == 3.7
    assert measures.percentile([10, 1, 3, 2, 4], 50) == 3


@given(st.lists(st.floats(min_value=0, max_value=1000, allow_nan=False), min_size=1, max_size=50))
def test_median_agrees_with_the_standard_library(values):
    assert measures.percentile(values, 50) == pytest.approx(statistics.median(values), abs=0.01)


def test_age_buckets_include_their_upper_bound():
    assert [measures.age_bucket(d) for d in (0, 7, 8, 30, 31, 90, 91, 4000)] == [
        "0-7 days", "0-7 days", "8-30 days", "8-30 days", "31-90 days", "31-90 days", "over 90 days",
        "over 90 days"]


def test_nice_max_rounds_up_to_a_readable_axis_end():
    assert [charts.nice_max(v) for v in (0, 0.7, 1, 7, 13, 2.4, 251)] == [1, 1, 1, 10, 20, 2.5, 500]


def test_axis_ticks_are_round_steps_up_to_the_axis_end():
    assert charts.tick_values(5) == [0, 1, 2, 3, 4, 5]
    assert charts.tick_values(2.5) == [0, 0.5, 1, 1.5, 2, 2.5]
    assert charts.tick_values(1) == [0, 0.2, 0.4, 0.6, 0.8, 1]
    assert charts.tick_values(10_000) == [0, 2000, 4000, 6000, 8000, 10_000]
    assert charts.tick_values(20) == [0, 5, 10, 15, 20]


def test_columns_are_proportional_to_their_values_and_stay_inside_the_plot():
    chart = charts.columns(["2026-01", "2026-02"], [("requests", [10, 5]), ("touches", [4, None])])
    heights = {(r.label, r.series): r.h for r in chart.rects}
    assert heights[("2026-01", 0)] == pytest.approx(2 * heights[("2026-02", 0)])
    assert heights[("2026-02", 1)] == 0
    assert all(charts.TOP <= r.y and r.y + r.h <= chart.height - charts.BOTTOM + 0.1 for r in chart.rects)
    assert all(charts.LEFT <= r.x and r.x + r.w <= chart.width for r in chart.rects)
    assert chart.ticks[-1].value == 10 and chart.series == ["requests", "touches"]


def test_a_long_period_labels_every_few_months_so_labels_never_overlap():
    months = [f"m{i}" for i in range(60)]
    chart = charts.columns(months, [("touches", [1] * 60)])
    assert [label for _, label in chart.labels] == months[::5] and len(chart.rects) == 60
    assert len(charts.columns(months[:12], [("touches", [1] * 12)]).labels) == 12


def test_stacked_rows_lay_segments_end_to_end():
    chart = charts.stacked_rows(["Maria", "Sam"], [("new", [2, 0]), ("old", [3, 1])])
    maria = [r for r in chart.rects if r.label == "Maria"]
    assert maria[1].x == pytest.approx(maria[0].x + maria[0].w, abs=0.1)
    assert maria[0].w == pytest.approx(maria[1].w * 2 / 3, abs=0.1)
    assert max(r.x + r.w for r in chart.rects) <= chart.width
