"""`/reports`: the page loads each report in place; a report is a chart above a table of the same numbers."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import update

from crm import clock
from crm.directory.models import Region
from tests.a11y import scroll_region
from tests.factories import login
from tests.reports.conftest import PERIOD

HX = {"HX-Request": "true"}
QUERY = "region=LA-BASIN&from=2025-01-01&to=2025-02-28"


async def test_the_page_answers_with_the_period_and_one_loading_section_per_report(client, world, history):
    await login(client, world.users["lead"].email)
    page = await client.get("/reports", params=PERIOD)
    assert page.status_code == 200
    assert re.findall(r'hx-get="/reports/([a-z-]+)\?', page.text) == [
        "touches-per-employer", "bundling", "response-times", "queue-age", "employer-measures"]
    assert 'value="2025-01-01"' in page.text and 'value="2025-02-28"' in page.text
    assert '<a href="/reports" aria-current="page">Reports</a>' in page.text


async def test_a_section_loaded_by_htmx_is_a_chart_a_table_and_a_csv_link(client, world, history):
    await login(client, world.users["lead"].email)
    part = await client.get(f"/reports/bundling?{QUERY}", headers=HX)
    assert part.status_code == 200 and "<html" not in part.text
    assert part.text.count("<rect ") == 4  # two months x (requests, touches)
    assert "<title>Jan 2025: requests received 8</title>" in part.text  # not "Jan 25", read as a day
    assert "<td>2025-01</td><td class=\"num\">8</td>" in part.text and "25.0%" in part.text
    assert f'href="/api/reports/bundling/csv?{QUERY.replace("&", "&amp;")}"' in part.text
    assert "requests" in scroll_region(part.text).lower()  # a phone scrolls the table sideways: by keyboard too


async def test_without_javascript_a_section_is_its_own_page(client, world, history):
    await login(client, world.users["lead"].email)
    page = await client.get(f"/reports/employer-measures?{QUERY}")
    assert page.status_code == 200 and "<html" in page.text and "All reports" in page.text
    assert "50.0%" in page.text and "of 400 establishments in the region" in page.text
    # Its title is the page's heading (axe: page-has-heading-one); loaded into the index, a section's h2.
    assert '<h1 id="report-employer-measures-title">' in page.text and "<h2 id=\"report-" not in page.text
    part = await client.get(f"/reports/employer-measures?{QUERY}", headers=HX)
    assert '<h2 id="report-employer-measures-title">' in part.text
    response = await client.get(f"/reports/response-times?{QUERY}")
    assert "Maria Lopez" in response.text and "Sam Ortiz" in response.text


async def test_an_establishment_count_below_the_employers_served_is_called_too_low_not_a_rate(client, world, db,
                                                                                          history):
    # Set before counts were checked against the employers on file (or the region served more since).
    await db.execute(update(Region).where(Region.code == "LA-BASIN").values(establishment_count=1))
    await db.commit()
    await login(client, world.users["lead"].email)
    part = await client.get(f"/reports/employer-measures?{QUERY}", headers=HX)
    assert part.status_code == 200
    assert "200.0%" not in part.text and "%" not in part.text.split("Employer penetration", 1)[1].split("</div>")[0]
    assert "establishment count (1) is below the 2 employers served: it looks too low" in part.text
    assert 'href="/region?region=LA-BASIN#establishments"' in part.text


async def test_a_bad_date_is_shown_in_the_form_and_nothing_loads(client, world, history):
    await login(client, world.users["lead"].email)
    page = await client.get("/reports", params={"from": "2025-02-30", "to": "2025-03-01"})
    assert page.status_code == 422
    assert "From must be a date (YYYY-MM-DD)" in page.text and "hx-get" not in page.text
    later = await client.get("/reports", params={"from": "2025-03-02", "to": "2025-03-01"})
    assert later.status_code == 422 and "To must be on or after the From date" in later.text


async def test_two_bad_dates_are_both_shown_in_the_form(client, world, history):
    await login(client, world.users["lead"].email)
    page = await client.get("/reports", params={"from": "abc", "to": "xyz"})
    assert page.status_code == 422 and "hx-get" not in page.text
    assert "From must be a date (YYYY-MM-DD)" in page.text and "To must be a date (YYYY-MM-DD)" in page.text
    assert 'value="abc"' in page.text and 'value="xyz"' in page.text
    assert page.text.count('aria-invalid="true"') == 2


async def test_a_period_that_has_not_happened_yet_is_said_instead_of_reporting_zeros(client, world, history):
    await login(client, world.users["lead"].email)
    future = (clock.today() + dt.timedelta(days=400)).isoformat()
    page = await client.get("/reports", params={"from": future, "to": "2999-01-01"})
    assert page.status_code == 422 and "hx-get" not in page.text
    assert f"From is after today ({clock.today().isoformat()}): that period has not happened yet" in page.text
    only_to = await client.get("/reports", params={"to": future})
    assert only_to.status_code == 422 and "it has not happened yet" in only_to.text
    section = await client.get(f"/reports/employer-measures?region=LA-BASIN&from={future}", headers=HX)
    assert section.status_code == 422 and "has not happened yet" in section.text


@pytest.mark.parametrize("who", ["partner", "spoc", "chair"])
async def test_reports_are_refused_to_everyone_but_leads_and_admins(client, world, history, who):
    await login(client, world.users[who].email)
    assert (await client.get("/reports")).status_code == 403
    assert (await client.get(f"/reports/queue-age?{QUERY}", headers=HX)).status_code == 403
    home = await client.get("/")
    assert 'href="/reports"' not in home.text
