"""`/api/reports/...`: each report's numbers on a known history, its CSV, who may read it, bad input."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select, update

from crm.directory.models import Region
from crm.reports import measures
from crm.touches.models import Touch
from tests.reports.conftest import PERIOD

API = "/api/reports"


async def get(client, world, path, who="lead", **params):
    return await client.get(f"{API}/{path}", params={**PERIOD, **params},
                            headers=await world.f.auth(world.users[who]))


async def test_touches_per_employer_counts_completed_touches_of_the_region_by_month(client, world, history):
    r = await get(client, world, "touches-per-employer")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["region"], body["from"], body["to"]) == ("LA-BASIN", "2025-01-01", "2025-02-28")
    # January: A twice, B twice (one routed, one logged); February: A once, B once (cancelled, queued,
    # and the other region's touch never count).
    assert body["rows"] == [
        {"month": "2025-01", "touches": 4, "employers": 2, "per_employer": 2.0, "most_to_one_employer": 2},
        {"month": "2025-02", "touches": 2, "employers": 2, "per_employer": 1.0, "most_to_one_employer": 1}]
    assert body["total"] == {"month": "total", "touches": 6, "employers": 2, "per_employer": 3.0,
                             "most_to_one_employer": 3}


async def test_bundling_counts_the_contacts_each_shared_touch_saved(client, world, history):
    body = (await get(client, world, "bundling")).json()
    january = {"month": "2025-01", "requests": 8, "on_touches": 4, "touches": 2, "contacts_avoided": 2,
               "avoided_share": 0.25, "held_now": 1}
    assert body["rows"] == [january, {"month": "2025-02", "requests": 0, "on_touches": 0, "touches": 0,
                                      "contacts_avoided": 0, "avoided_share": None, "held_now": 0}]
    assert body["total"] == {**january, "month": "total"}


async def test_response_times_are_percentiles_of_days_to_completion_per_spoc(client, world, history):
    body = (await get(client, world, "response-times")).json()
    by_name = {row["spoc"]: row for row in body["rows"]}
    assert set(by_name) == {"Maria Lopez", "Sam Ortiz"}  # the logged touch has no response time
    assert by_name["Maria Lopez"] == {"spoc_id": world.users["spoc"].id, "spoc": "Maria Lopez", "completed": 4,
                                      "median_days": measures.percentile([1, 2, 3, 4], 50),
                                      "p90_days": measures.percentile([1, 2, 3, 4], 90)}
    assert (by_name["Sam Ortiz"]["median_days"], by_name["Sam Ortiz"]["p90_days"]) == (10.0, 10.0)
    everyone = [1, 2, 3, 4, 10]
    assert body["total"]["completed"] == 5
    assert body["total"]["median_days"] == measures.percentile(everyone, 50) == 3.0
    assert body["total"]["p90_days"] == measures.percentile(everyone, 90) == 7.6


async def test_queue_age_buckets_todays_open_touches_per_spoc(client, world, history):
    body = (await get(client, world, "queue-age")).json()
    maria, unassigned = body["rows"]
    # Opened 3, 10, 40 and 100 days ago (the last one past its day), and the queued one of February 2025.
    assert maria == {"spoc_id": world.users["spoc"].id, "spoc": "Maria Lopez", "open": 5, "overdue": 2,
                     "age_0_7": 1, "age_8_30": 1, "age_31_90": 1, "age_over_90": 2,
                     "oldest_days": maria["oldest_days"]}
    assert maria["oldest_days"] > 600
    assert unassigned["spoc"] == "unassigned" and unassigned["open"] == 1 and unassigned["age_0_7"] == 1
    assert body["total"]["open"] == 6


async def test_employer_measures_count_served_repeat_and_penetration(client, world, history):
    body = (await get(client, world, "employer-measures")).json()
    assert body["rows"] == [{"served": 2, "repeat_customers": 1, "repeat_rate": 0.5, "lookback_from": "2022-01-01",
                             "establishments": 400, "penetration": 0.005, "employers_on_file": 2,
                             "share_of_file": 1.0, "establishments_too_low": False}]


async def test_penetration_over_100_percent_is_left_out_and_the_count_flagged_too_low(client, world, db, history):
    await db.execute(update(Region).where(Region.code == "LA-BASIN").values(establishment_count=1))
    await db.commit()
    row = (await get(client, world, "employer-measures")).json()["rows"][0]
    assert (row["served"], row["establishments"]) == (2, 1)
    assert row["penetration"] is None and row["establishments_too_low"] is True
    await db.execute(update(Region).where(Region.code == "LA-BASIN").values(establishment_count=2))
    await db.commit()
    row = (await get(client, world, "employer-measures")).json()["rows"][0]
    assert row["penetration"] == 1.0 and row["establishments_too_low"] is False  # every establishment: 100%


async def test_a_report_downloads_as_csv_with_its_total_last(client, world, history):
    r = await get(client, world, "bundling/csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="onedoor-bundling-LA-BASIN-2025-01-01-2025-02-28.csv"' in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["month", "requests", "on_touches", "touches", "contacts_avoided", "avoided_share", "held_now"]
    assert rows[1] == ["2025-01", "8", "4", "2", "2", "0.25", "1"]
    assert rows[2][5] == ""  # nothing to divide by: an empty cell, not "None"
    assert rows[-1][0] == "total"
    measures_csv = list(csv.reader(io.StringIO((await get(client, world, "employer-measures/csv")).content.decode(
        "utf-8-sig"))))
    assert measures_csv[0][0] == "served" and measures_csv[1][:2] == ["2", "1"]


async def test_a_lead_reads_their_own_region_by_default_and_an_admin_any_region(client, world, history):
    r = await client.get(f"{API}/touches-per-employer", params={"from": "2025-01-01", "to": "2025-02-28"},
                         headers=await world.f.auth(world.users["lead"]))
    assert r.json()["region"] == "LA-BASIN" and r.json()["total"]["touches"] == 6
    bay = (await get(client, world, "touches-per-employer", who="admin", region="bay-peninsula")).json()
    assert bay["region"] == "BAY-PENINSULA" and bay["total"]["touches"] == 1


@pytest.mark.parametrize("who", ["partner", "spoc", "chair"])
@pytest.mark.parametrize("path", ["touches-per-employer", "queue-age", "bundling/csv"])
async def test_only_leads_and_admins_read_reports(client, world, history, who, path):
    r = await get(client, world, path, who=who)
    assert r.status_code == 403 and "Maria" not in r.text


async def test_a_lead_of_another_region_is_refused_and_an_unknown_region_or_report_is_404(client, world, history):
    assert (await get(client, world, "response-times", who="bay_lead")).status_code == 403
    assert (await get(client, world, "bundling", region="NOWHERE")).status_code == 404
    r = await get(client, world, "everything/csv")
    assert r.status_code == 404 and "bundling" in r.json()["error"]["message"]


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2025-03-01", "to": "2025-02-28"}, "to"),
    ({"from": "2019-01-01", "to": "2025-02-28"}, "from"),
    ({"from": "2025-13-01"}, "from"),
    ({"to": "yesterday"}, "to"),
    ({"region": "X" * 40}, "region"),
    ({"from": "9999-12-01", "to": "9999-12-31"}, "from"),  # month arithmetic past year 9999
    ({"to": "0001-01-01"}, "to"),  # the default start, eleven months earlier, before year 1
    ({"from": "0002-01-01", "to": "0002-06-01"}, "from"),  # the repeat-customer look-back
    ({"from": "2998-01-01", "to": "2998-06-01"}, "from"),  # has not happened yet
])
@pytest.mark.parametrize("report", ["touches-per-employer", "employer-measures", "bundling/csv"])
async def test_bad_periods_are_422_naming_the_field(client, world, history, params, field, report):
    r = await get(client, world, report, **params)
    assert r.status_code == 422
    assert field in [f["field"] for f in r.json()["error"]["fields"]]


async def test_the_reports_benchmark_times_every_report_of_the_busiest_and_quietest_region(database_url, history):
    from bench.reports.__main__ import run

    lines = await run(database_url, runs=1)
    timed = [line.split()[:3] for line in lines[2:]]
    assert [name for _, _, name in timed[:5]] == ["touches-per-employer", "bundling", "response-times",
                                                   "queue-age", "employer-measures"]
    assert timed[0][:2] == ["LA-BASIN", "14"] and timed[-1][0] == "BAY-PENINSULA"


async def test_both_bad_dates_are_named_in_one_answer(client, world, history):
    r = await get(client, world, "bundling", **{"from": "abc", "to": "xyz"})
    assert r.status_code == 422
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["from", "to"]


async def test_openapi_documents_the_reports_with_from_and_to(client):
    schema = (await client.get("/schema/openapi.json")).json()
    bundling = schema["paths"]["/api/reports/bundling"]["get"]
    assert {p["name"] for p in bundling["parameters"]} == {"region", "from", "to"}
    assert "/api/reports/{name}/csv" in schema["paths"]
    body = bundling["responses"]["200"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("BundlingReport")


async def test_a_completion_stamped_before_the_opening_is_a_response_time_of_zero(client, world, db, history):
    touch = (await db.scalars(select(Touch).where(Touch.planned_on == dt.date(2025, 2, 20)))).one()
    touch.completed_at = touch.created_at - dt.timedelta(seconds=3)
    await db.commit()
    sam = {row["spoc"]: row for row in (await get(client, world, "response-times")).json()["rows"]}["Sam Ortiz"]
    assert (sam["median_days"], sam["p90_days"]) == (0.0, 0.0)
    assert "-0.0" not in (await get(client, world, "response-times/csv")).text
