"""The CSV import pages: upload, column mapping, preview, run with progress; bad input; who may do it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.employers.import_models import ImportJob
from crm.employers.models import Employer
from tests.factories import csrf, login

GOOD = (b"Company Name,Website,EIN,Zip Code,County,Notes\n"
        b"Harbor Freightways Inc,harbor1.com,12-3456789,90012,Los Angeles,call Tuesdays\n"
        b"Sierra Dental Group,sierradental.com,,90017,Los Angeles,\n"
        b"Harbor Freightways,,,90012,Los Angeles,same as row 2\n")


async def upload(client, data: bytes, name: str = "employers.csv", region: str = "LA-BASIN",
                 content_type: str = "text/csv"):
    await client.get("/employers/import")
    return await client.post("/employers/import", files={"file": (name, data, content_type)},
                             data={"region": region}, headers=csrf(client), follow_redirects=False)


async def employers(db) -> int:
    await db.rollback()  # a fresh snapshot: the app committed in another connection
    return await db.scalar(select(func.count()).select_from(Employer)) or 0


async def test_lead_uploads_maps_columns_previews_and_imports_with_progress(client, world, db):
    await login(client, world.users["lead"].email)
    r = await upload(client, GOOD)
    assert r.status_code == 303
    job_url = r.headers["location"]
    page = await client.get(job_url)
    assert page.status_code == 200 and 'name="map_0"' in page.text
    assert '<option value="legal_name" selected>' in page.text  # "Company Name" guessed

    mapping = {"map_0": "legal_name", "map_1": "website", "map_2": "fein", "map_3": "zip", "map_4": "county"}
    r = await client.post(f"{job_url}/preview", data={**mapping, "map_5": ""}, headers=csrf(client))
    assert r.status_code == 422 and "Unknown column(s): Notes" in r.text

    r = await client.post(f"{job_url}/preview", data={**mapping, "map_5": "ignore"}, headers=csrf(client),
                          follow_redirects=False)
    assert r.status_code == 303
    preview = await client.get(job_url)
    assert "Preview" in preview.text and "same name and ZIP as row 2" in preview.text
    assert "<strong>2</strong> new employers" in preview.text
    assert await employers(db) == 0  # the preview is a dry run

    r = await client.post(f"{job_url}/run", headers=csrf(client), follow_redirects=False)
    assert r.status_code == 303
    result = await client.get(job_url)
    assert "Result" in result.text and ">done<" in result.text
    assert await employers(db) == 2
    poll = await client.get(f"{job_url}/progress", headers={"HX-Request": "true"})
    assert poll.headers.get("hx-redirect") == job_url  # finished: the page reloads with the result


async def test_progress_partial_keeps_polling_while_the_import_runs(client, world, db):
    await login(client, world.users["lead"].email)
    r = await upload(client, GOOD)
    job_id = int(r.headers["location"].rsplit("/", 1)[1])
    job = await db.get(ImportJob, job_id)
    job.status, job.processed_rows, job.total_rows = "running", 1000, 4000
    import datetime as dt

    job.heartbeat_at = dt.datetime.now(dt.UTC)
    await db.commit()
    part = await client.get(f"/employers/import/{job_id}/progress", headers={"HX-Request": "true"})
    assert part.status_code == 200 and "<html" not in part.text
    assert 'hx-trigger="every 1s"' in part.text and "1000 of 4000 rows (25%)" in part.text


async def test_invalid_fein_is_reported_by_row_and_field_and_its_batch_imports_nothing(client, world, db):
    await login(client, world.users["lead"].email)
    data = b"legal_name,fein,county\nGood Co,,Los Angeles\nBad Fein Co,12-34,Los Angeles\n"
    job_url = (await upload(client, data)).headers["location"]
    await client.post(f"{job_url}/preview", data={"map_0": "legal_name", "map_1": "fein", "map_2": "county"},
                      headers=csrf(client))
    preview = await client.get(job_url)
    assert "<td>3</td><td>fein</td>" in preview.text and "is not a valid FEIN" in preview.text
    # The whole file is one batch, and it has an invalid row: nothing would be written, so no button says
    # "Import 0 new and link 0 matched rows" (it set the job done having done nothing).
    assert 'id="nothing-to-import"' in preview.text and "Import 0 new" not in preview.text
    assert "Correct the rows above and upload the file again" in preview.text
    await client.post(f"{job_url}/run", headers=csrf(client))
    result = await client.get(job_url)
    assert "imported nothing" in result.text
    assert await employers(db) == 0


async def test_the_preview_says_which_row_has_more_fields_than_the_header(client, world, db):
    await login(client, world.users["lead"].email)
    data = b"legal_name,county\nGood Co,Los Angeles\nAcme, Inc,Los Angeles\n"
    job_url = (await upload(client, data)).headers["location"]
    await client.post(f"{job_url}/preview", data={"map_0": "legal_name", "map_1": "county"}, headers=csrf(client))
    preview = await client.get(job_url)
    assert ("<td>3</td><td>(whole row)</td><td>has 3 fields; the header has 2: quote a value that contains a "
            "comma</td>") in preview.text
    assert "Errors (1)" in preview.text


async def test_the_preview_of_two_columns_with_one_header_says_to_rename_one(client, world, db):
    await login(client, world.users["lead"].email)
    job_url = (await upload(client, b"legal_name,Phone,Phone\nGood Co,2135550101,2135550102\n")).headers["location"]
    # Choices are keyed by header: "ignore" on the second Phone would drop the first one mapped to phone.
    r = await client.post(f"{job_url}/preview", data={"map_0": "legal_name", "map_1": "phone", "map_2": "ignore"},
                          headers=csrf(client))
    assert r.status_code == 422 and "Columns 2 and 3 are both headed &#39;Phone&#39;" in r.text
    assert "rename one in the file&#39;s first row" in r.text
    assert "CLI:" not in r.text  # the command line's way to fix it is not the page's (its form is)
    r = await client.post(f"{job_url}/preview", data={"map_0": "legal_name", "map_1": "ignore", "map_2": "ignore"},
                          headers=csrf(client), follow_redirects=False)
    assert r.status_code == 303  # both ignored on purpose


async def test_the_preview_lists_every_problem_of_a_row_each_under_its_column(client, world, db):
    await login(client, world.users["lead"].email)
    data = b"legal_name,fein,naics_code,zip,contact_name,contact_email\nBad Co,12-34,12a,9,Ann Lee,ann at bad\n"
    job_url = (await upload(client, data)).headers["location"]
    await client.post(f"{job_url}/preview", data={f"map_{i}": c for i, c in enumerate(
        ["legal_name", "fein", "naics_code", "zip", "contact_name", "contact_email"])}, headers=csrf(client))
    preview = await client.get(job_url)
    for column in ("fein", "naics_code", "zip", "contact_email"):
        assert f"<td>2</td><td>{column}</td>" in preview.text
    assert "Errors (4)" in preview.text


@pytest.mark.parametrize(("name", "data", "content_type", "message"), [
    ("employers.xlsx", b"PK\x03\x04workbook", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
     "is not a CSV file"),
    ("employers.csv", b"PK\x03\x04workbook", "text/csv", "XLSX workbook, not a CSV file"),
    ("employers.csv", "legal_name\nCafé\n".encode("utf-16"), "text/csv", "UTF-16"),
    ("employers.csv", b"legal_name\n\x81\x8d\x8f\n", "text/csv", "neither UTF-8 nor Windows-1252"),
    ("employers.csv", b"", "text/csv", "empty"),
])
async def test_bad_files_are_refused_with_a_clear_message_and_nothing_is_written(client, world, db, name, data,
                                                                                content_type, message):
    await login(client, world.users["lead"].email)
    r = await upload(client, data, name=name, content_type=content_type)
    assert r.status_code == 422 and message in r.text
    await db.rollback()
    assert await db.scalar(select(func.count()).select_from(ImportJob)) == 0


async def test_a_50_mb_upload_is_refused_with_413_before_it_is_read(client, world, db):
    await login(client, world.users["lead"].email)
    r = await upload(client, b"legal_name\n" + b"Acme Corporation\n" * (50 * 1024 * 1024 // 17))
    assert r.status_code == 413 and "larger than 20 MB" in r.text
    assert await db.scalar(select(func.count()).select_from(ImportJob)) == 0


@pytest.mark.parametrize("who", ["partner", "spoc", "chair"])
async def test_only_leads_and_admins_may_import(client, world, who):
    await login(client, world.users[who].email)
    assert (await client.get("/employers/import")).status_code == 403
    r = await client.post("/employers/import", files={"file": ("a.csv", GOOD, "text/csv")}, headers=csrf(client))
    assert r.status_code == 403


async def test_anonymous_user_is_sent_to_sign_in(client):
    r = await client.get("/employers/import", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"].startswith("/login")


async def test_a_lead_imports_only_into_own_region_and_sees_only_own_imports(client, world):
    await login(client, world.users["lead"].email)
    r = await upload(client, GOOD, region="BAY-PENINSULA")
    assert r.status_code == 403 and "may not import into region" in r.text
    r = await upload(client, GOOD, region="ATLANTIS")
    assert r.status_code == 422 and "may not import into region" in r.text
    job_url = (await upload(client, GOOD)).headers["location"]
    await client.post("/logout", headers=csrf(client))
    await login(client, world.users["bay_lead"].email)
    assert (await client.get(job_url)).status_code == 404
    assert (await client.post(f"{job_url}/run", headers=csrf(client))).status_code == 404


async def test_a_row_needing_review_links_the_employers_it_may_be(client, world, db):
    one = await world.f.employer("ACME Corporation", website="https://acme.com", county="Los Angeles")
    two = await world.f.employer("ACME Logistics", website="https://acme.com", county="Los Angeles")
    await login(client, world.users["lead"].email)
    job_url = (await upload(client, b"legal_name,website\nAcme Widgets,acme.com\n")).headers["location"]
    await client.post(f"{job_url}/preview", data={"map_0": "legal_name", "map_1": "website"}, headers=csrf(client))
    preview = (await client.get(job_url)).text
    assert "Needs review (1)" in preview, preview[-3000:]
    for e in (one, two):
        assert f'<a href="/employers/{e.id}">#{e.id} {e.legal_name}</a>' in preview
