"""OneDoor's calendar is California's: dates turn over at local midnight, typed times are local."""

import datetime as dt

from crm import clock
from crm.templating import fmt_datetime
from tests.factories import today


def test_an_evening_instant_is_still_the_same_california_day():
    # 5:30 pm PST on 30 Nov 2026 is already 1 December in UTC.
    assert clock.local_date(dt.datetime(2026, 12, 1, 1, 30, tzinfo=dt.UTC)) == dt.date(2026, 11, 30)


def test_a_stored_naive_instant_is_read_as_utc():
    assert clock.local_date(dt.datetime(2026, 12, 1, 1, 30)) == dt.date(2026, 11, 30)


def test_a_typed_time_is_california_wall_time_in_winter_and_summer():
    assert clock.local_instant(dt.date(2027, 1, 15), dt.time(10, 0)) == dt.datetime(2027, 1, 15, 18, 0, tzinfo=dt.UTC)
    assert clock.local_instant(dt.date(2027, 7, 15), dt.time(10, 0)) == dt.datetime(2027, 7, 15, 17, 0, tzinfo=dt.UTC)


def test_an_aware_instant_keeps_its_moment():
    moment = dt.datetime(2027, 3, 3, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert clock.as_instant(moment) == dt.datetime(2027, 3, 3, 15, 0, tzinfo=dt.UTC)


def test_pages_show_instants_in_california_time():
    assert fmt_datetime(dt.datetime(2027, 1, 15, 18, 0, tzinfo=dt.UTC)) == "15 Jan 2027 10:00 PST"
    assert fmt_datetime(dt.datetime(2027, 7, 15, 17, 0, tzinfo=dt.UTC)) == "15 Jul 2027 10:00 PDT"


def test_today_follows_the_california_date(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: dt.datetime(2026, 12, 1, 1, 30, tzinfo=dt.UTC))
    assert clock.today() == dt.date(2026, 11, 30)


def test_tests_read_today_when_they_run_and_it_turns_over_at_california_midnight(monkeypatch):
    # A module-level TODAY kept the day the module was imported: a run crossing midnight in California then
    # compared it with the app's new day. Tests call tests.factories.today instead.
    imported = today()
    midnight = clock.local_instant(imported + dt.timedelta(days=1), dt.time(0, 0))
    monkeypatch.setattr(clock, "now", lambda: midnight - dt.timedelta(minutes=1))  # already tomorrow in UTC
    assert today() == imported
    monkeypatch.setattr(clock, "now", lambda: midnight + dt.timedelta(minutes=1))
    assert today() == imported + dt.timedelta(days=1)


def test_the_hour_skipped_when_summer_time_starts_is_not_a_wall_time():
    assert clock.skipped_hour(dt.datetime(2027, 3, 14, 2, 30))  # a second Sunday of March
    assert not clock.skipped_hour(dt.datetime(2027, 3, 14, 3, 30))
    assert not clock.skipped_hour(dt.datetime(2027, 11, 7, 1, 30))  # the repeated hour exists (its first time)
    assert not clock.skipped_hour(dt.datetime(2027, 3, 14, 2, 30, tzinfo=dt.UTC))  # an instant is an instant
