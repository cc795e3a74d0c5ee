"""Duplicate review queue and merge pages: side-by-side pairs, merge/dismiss/undo with and without htmx."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.employers.duplicate_models import DuplicateCandidate, EmployerMerge
from crm.employers.models import Employer
from tests.a11y import attrs_of, tied_errors
from tests.employers.test_duplicates import scan, small_world
from tests.employers.test_merge import open_touches
from tests.factories import csrf, login

HTMX = {"HX-Request": "true"}


async def _queued(world, sessionmaker):
    acme, acme2, *_ = await small_world(world.f)
    await scan(sessionmaker)
    async with sessionmaker() as s:
        pair = await s.scalar(select(DuplicateCandidate).where(DuplicateCandidate.employer_a_id == acme.id))
    return acme, acme2, pair


async def _fresh(db, model, id_):
    await db.rollback()
    return await db.get(model, id_)


async def test_lead_sees_each_pair_side_by_side_with_its_explanation(client, world, sessionmaker):
    acme, acme2, pair = await _queued(world, sessionmaker)
    await login(client, world.users["lead"].email)
    r = await client.get("/employers/review")
    assert r.status_code == 200
    assert "ACME Corporation" in r.text and "Acme Corp." in r.text and pair.explanation in r.text
    assert "Sunrise Bakery" in r.text and "Not a duplicate" in r.text and "Which record survives?" in r.text
    assert f'value="{acme.id}" checked' in r.text  # the verified, older record is suggested as survivor


@pytest.mark.parametrize("who", ["spoc", "partner", "chair"])
async def test_only_leads_and_admins_open_the_review_queue(client, world, sessionmaker, who):
    await _queued(world, sessionmaker)
    await login(client, world.users[who].email)
    r = await client.get("/employers/review")
    assert r.status_code == 403


async def test_lead_of_another_region_sees_an_empty_queue(client, world, sessionmaker):
    await _queued(world, sessionmaker)
    await login(client, world.users["bay_lead"].email)
    r = await client.get("/employers/review")
    assert r.status_code == 200 and "ACME" not in r.text and "No possible duplicates" in r.text
    # An empty queue says whether the scan that fills it has run.
    assert "The daily duplicate scan has not run yet" in r.text
    from crm.jobs.scheduler import JOBS, run_claimed

    await run_claimed(sessionmaker, next(j for j in JOBS if j.name == "scan_duplicates"))
    assert "The daily duplicate scan last ran" in (await client.get("/employers/review")).text


async def test_plain_form_merge_redirects_with_a_flash_and_the_loser_page_points_to_the_survivor(
        client, world, sessionmaker, db):
    acme, acme2, pair = await _queued(world, sessionmaker)
    await login(client, world.users["lead"].email)
    await client.get("/employers/review")
    r = await client.post(f"/employers/review/{pair.id}/merge", data={
        "survivor_id": str(acme.id), "reason": "same plant", "_csrf_token": client.cookies.get("csrftoken")},
        follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/employers/review"
    done = await client.get("/employers/review")
    assert "Merged Acme Corp. into ACME Corporation" in done.text and "Acme Corp." not in done.text.split(
        "Merged Acme Corp.")[1]
    assert (await _fresh(db, Employer, acme2.id)).merged_into_id == acme.id
    tomb = await client.get(f"/employers/{acme2.id}")
    assert f'href="/employers/{acme.id}"' in tomb.text and "Merged into" in tomb.text
    spoc = tomb.text.split('id="spoc"', 1)[1].split("</h3>", 1)[0]
    assert "unassigned queue" not in spoc
    assert (f'This record was merged into <a href="/employers/{acme.id}">employer #{acme.id}</a>: requests go to '
            "that employer and its SPOC") in spoc
    survivor = await client.get(f"/employers/{acme.id}")
    assert "Merged from" in survivor.text and "Undo merge" in survivor.text and "Acme Corp." in survivor.text
    trail = survivor.text.split("Merged with another record", 1)[1].split("</tr>", 1)[0]
    assert "moved: " in trail and "#employer_" not in trail and "0 aliases" in trail, trail


async def test_the_pair_marks_each_value_only_one_record_has_as_kept_and_the_merge_says_it_was(
        client, world, sessionmaker, db):
    """ACME Corporation has a website, Acme Corp. none: whichever survives, the website stays. Beside the
    records, before merging; in what the merge says, after."""
    acme, acme2, pair = await _queued(world, sessionmaker)
    await login(client, world.users["lead"].email)
    page = (await client.get("/employers/review")).text
    card = page.split(f'id="pair-{pair.id}"', 1)[1].split("</article>", 1)[0]
    website = card.split("<th>Website</th>", 1)[1].split("</tr>", 1)[0]
    assert 'acme.com <span class="badge ok kept">will be kept</span>' in website
    assert card.count("will be kept") == 1  # nothing else is on one record only
    hx = {**HTMX, **csrf(client), "HX-Current-URL": "http://testserver/employers/review"}
    r = await client.post(f"/employers/review/{pair.id}/merge", data={"survivor_id": str(acme2.id)}, headers=hx)
    assert r.status_code == 200 and "it took the other record&#39;s website, which it lacked" in r.text
    assert (await _fresh(db, Employer, acme2.id)).domain == "acme.com"


async def test_the_confirm_page_says_what_the_survivor_takes_and_the_flash_that_it_took_it(client, world, db):
    a = await world.f.employer("Sunrise Family Dental")
    b = await world.f.employer("Sunrise Dental Group", phone="+13105550142", size_band="10-49")
    await login(client, world.users["lead"].email)
    token = client.cookies.get("csrftoken")
    await client.get(f"/employers/{b.id}")
    asked = await client.post(f"/employers/{b.id}/merge", data={"into": str(a.id), "_csrf_token": token})
    assert ("Sunrise Family Dental will take Sunrise Dental Group's phone and size band, which it lacks."
            in asked.text)
    done = await client.post(f"/employers/{b.id}/merge", data={"into": str(a.id), "confirmed": "yes",
                                                               "_csrf_token": token})
    assert ("Merged Sunrise Dental Group into Sunrise Family Dental; it took the other record&#39;s phone and size "
            "band, which it lacked") in done.text
    assert (await _fresh(db, Employer, a.id)).phone == "+13105550142"


async def test_htmx_merge_swaps_the_pair_for_the_result_with_undo(client, world, sessionmaker):
    acme, acme2, pair = await _queued(world, sessionmaker)
    await login(client, world.users["lead"].email)
    page = (await client.get("/employers/review")).text
    before = int(page.split('<span id="pair-count">', 1)[1].split(" pair", 1)[0])
    hx = {**HTMX, **csrf(client), "HX-Current-URL": "http://testserver/employers/review"}
    r = await client.post(f"/employers/review/{pair.id}/merge", data={"survivor_id": str(acme.id)}, headers=hx)
    assert r.status_code == 200 and "<html" not in r.text
    assert "Merged <strong>Acme Corp.</strong>" in r.text and "Undo merge" in r.text
    # The page's count goes with it, out of band: it said the merged pair was still to review.
    left = before - 1
    assert f'<span id="pair-count" hx-swap-oob="true">{left} pair{"" if left == 1 else "s"}</span>' in r.text
    merge_id = r.text.split("/employers/merges/")[1].split("/")[0]
    u = await client.post(f"/employers/merges/{merge_id}/undo", data={}, headers=hx)
    assert u.status_code == 200 and "separate employers again" in u.text
    assert f'<span id="pair-count" hx-swap-oob="true">{before} pair' in u.text


async def test_merge_without_a_survivor_shows_the_error_in_place_and_writes_nothing(client, world, sessionmaker,
                                                                                   db):
    _, _, pair = await _queued(world, sessionmaker)
    await login(client, world.users["lead"].email)
    await client.get("/employers/review")
    r = await client.post(f"/employers/review/{pair.id}/merge", data={"survivor_id": "12345"},
                          headers={**HTMX, **csrf(client)})
    assert r.status_code == 422 and "<html" not in r.text and "choose which of the two records survives" in r.text
    plain = await client.post(f"/employers/review/{pair.id}/merge", data={
        "reason": "x", "_csrf_token": client.cookies.get("csrftoken")})
    assert plain.status_code == 422 and "<html" in plain.text and "choose which of the two records" in plain.text
    for page in (r.text, plain.text):  # the plain answer is the whole review page, every pair in it
        assert "choose which of the two records survives" in tied_errors(page)["survivor_id"]
        radio = attrs_of(page, "input", name="survivor_id", aria_invalid="true")
        assert radio["aria-describedby"] == f"pair-{pair.id}-survivor_id-error"
    r = await client.post(f"/employers/review/{pair.id}/dismiss", data={"note": "x" * 2001},
                          headers={**HTMX, **csrf(client)})
    assert r.status_code == 422 and "note" in tied_errors(r.text), r.text[-2000:]
    assert attrs_of(r.text, "input", name="note")["aria-describedby"] == f"pair-{pair.id}-note-error"
    await db.rollback()
    assert await db.scalar(select(func.count()).select_from(EmployerMerge)) == 0


async def test_not_a_duplicate_is_remembered_from_the_page(client, world, sessionmaker, db):
    _, _, pair = await _queued(world, sessionmaker)
    await login(client, world.users["lead"].email)
    await client.get("/employers/review")
    r = await client.post(f"/employers/review/{pair.id}/dismiss", data={"note": "two sites"},
                          headers={**HTMX, **csrf(client)})
    assert r.status_code == 200 and "Remembered" in r.text and "<html" not in r.text
    assert (await _fresh(db, DuplicateCandidate, pair.id)).status == "dismissed"
    left = await db.scalar(select(func.count(DuplicateCandidate.id)).where(DuplicateCandidate.status == "open"))
    assert f'<span id="pair-count" hx-swap-oob="true">{left} pair{"" if left == 1 else "s"}</span>' in r.text
    again = await client.post(f"/employers/review/{pair.id}/dismiss", data={}, headers={**HTMX, **csrf(client)})
    assert again.status_code == 409 and "already decided" in again.text


async def test_undo_from_the_employer_page_restores_the_loser(client, world, sessionmaker, db):
    acme, acme2, pair = await _queued(world, sessionmaker)
    await login(client, world.users["lead"].email)
    await client.get("/employers/review")
    token = client.cookies.get("csrftoken")
    await client.post(f"/employers/review/{pair.id}/merge", data={"survivor_id": str(acme.id), "_csrf_token": token})
    await db.rollback()
    merge_id = await db.scalar(select(EmployerMerge.id))
    r = await client.post(f"/employers/merges/{merge_id}/undo", data={"_csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/employers/{acme2.id}"
    assert (await _fresh(db, Employer, acme2.id)).status == "active"
    page = await client.get(f"/employers/{acme2.id}")
    assert "is its own employer again" in page.text


async def test_merge_into_form_on_the_employer_page(client, world, db):
    a = await world.f.employer("Sunrise Family Dental")
    b = await world.f.employer("Sunrise Dental Group")
    await login(client, world.users["lead"].email)
    page = await client.get(f"/employers/{b.id}")
    assert "Merge this employer into #" in page.text
    token = client.cookies.get("csrftoken")
    bad = await client.post(f"/employers/{b.id}/merge", data={"into": "abc", "_csrf_token": token})
    assert bad.status_code == 200 and "Merge into: give the number of the employer that survives" in bad.text
    # First both records side by side: a mistyped number merged the employer into another company at once.
    asked = await client.post(f"/employers/{b.id}/merge", data={"into": f"#{a.id}", "reason": "same practice",
                                                                "_csrf_token": token}, follow_redirects=False)
    assert asked.status_code == 200 and "Sunrise Family Dental" in asked.text and "Sunrise Dental Group" in asked.text
    assert 'name="confirmed" value="yes"' in asked.text and 'value="same practice"' in asked.text
    assert (await _fresh(db, Employer, b.id)).merged_into_id is None
    unknown = await client.post(f"/employers/{b.id}/merge", data={"into": "999999", "_csrf_token": token})
    assert "Merge into: no employer #999999 to merge into" in unknown.text
    gone = await client.post("/employers/999999/merge", data={"into": str(a.id), "_csrf_token": token})
    assert gone.status_code == 404
    # One the lead may not merge into is said at once, not after confirming (a 403 page then).
    bay = await world.f.employer("Bay Bakery", county="San Mateo")
    theirs = await client.post(f"/employers/{b.id}/merge", data={"into": str(bay.id), "_csrf_token": token})
    assert "Merge into: Bay Bakery is in a region you do not lead" in theirs.text
    assert 'name="confirmed"' not in theirs.text
    ok = await client.post(f"/employers/{b.id}/merge", data={"into": str(a.id), "confirmed": "yes",
                                                             "_csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == f"/employers/{a.id}"
    assert (await _fresh(db, Employer, b.id)).merged_into_id == a.id


async def test_merge_post_without_csrf_is_refused(client, world, sessionmaker, db):
    acme, _, pair = await _queued(world, sessionmaker)
    await login(client, world.users["lead"].email)
    r = await client.post(f"/employers/review/{pair.id}/merge", data={"survivor_id": str(acme.id)})
    assert r.status_code == 403
    await db.rollback()
    assert await db.scalar(select(func.count()).select_from(EmployerMerge)) == 0


async def test_the_lead_is_told_what_the_merge_did_to_open_touches(client, world, db):
    pair = await open_touches(world, loser="scheduled", survivor="scheduled")
    await login(client, world.users["lead"].email)
    r = await client.post(f"/employers/{pair.loser.id}/merge", data={
        "into": str(pair.survivor.id), "confirmed": "yes", "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 200 and f"Merged {pair.loser.legal_name} into {pair.survivor.legal_name}; 1 open touch " \
        "could not be combined (two appointments, or days the requests do not share)" in r.text
