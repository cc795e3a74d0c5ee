"""The hand-offs staff made (`/queue/hand-offs`), and naming a person of the partner organization on the
complete and pass-on forms."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm.notify.models import OutboxMessage
from crm.touches.models import HandOff
from tests.a11y import tied_errors
from tests.factories import csrf, login

HX = {"HX-Request": "true"}
NOW = dt.datetime.now(dt.UTC)


def _shown(html: str) -> list[int]:
    """The hand-offs listed, in order."""
    return [int(i.split('"', 1)[0]) for i in html.split('<tr id="made-')[1:]]


def _row(html: str, hand_off_id: int) -> str:
    return html.split(f'id="made-{hand_off_id}"', 1)[1].split("</tr>", 1)[0]


@pytest.fixture
async def made(world, desk):
    """Maria's hand-offs from two completed touches -- one waiting 10 days, one waiting since today, one
    accepted, one declined and passed on, one declined and let go, one declined still to settle -- and one of
    Sam's (another SPOC of the region)."""
    e = await world.f.employer("Golden State Logistics LLC")
    t = await desk.touch(e, world.users["spoc"], status="completed", planned_in=-12)
    t2 = await desk.touch(await world.f.employer("Pacific Tile Works"), world.users["spoc"], status="completed",
                          planned_in=-20)
    college, board = world.orgs["college"].id, world.orgs["board"].id
    spoc, partner = world.users["spoc"], world.users["partner"]
    h = {
        "old": await desk.hand_off(t, spoc, college, "5 welders", created_at=NOW - dt.timedelta(days=10)),
        "new": await desk.hand_off(t2, spoc, board, "night classes", to_user_id=world.users["partner2"].id),
        "accepted": await desk.hand_off(t, spoc, college, "forklift training", status="accepted",
                                        responded_by_id=partner.id, responded_at=NOW, response_note="we call Monday",
                                        created_at=NOW - dt.timedelta(days=5)),
        "passed": await desk.hand_off(t2, spoc, college, "ESL for 12", status="declined", responded_by_id=partner.id,
                                      responded_at=NOW, response_note="no ESL this term", settled_at=NOW,
                                      created_at=NOW - dt.timedelta(days=6)),
        "let_go": await desk.hand_off(t2, spoc, college, "a job fair table", status="declined", responded_at=NOW,
                                      settled_at=NOW, created_at=NOW - dt.timedelta(days=7)),
        "open": await desk.hand_off(t2, spoc, college, "reentry hires", status="declined", responded_at=NOW,
                                    created_at=NOW - dt.timedelta(days=8)),
        "sams": await desk.hand_off(t2, world.users["spoc2"], college, "Sam's need"),
    }
    h["passed_as"] = await desk.hand_off(t2, spoc, board, "ESL for 12", previous_id=h["passed"].id)
    return h


async def test_a_spoc_sees_what_became_of_each_hand_off_they_made_waiting_ones_first(client, world, made):
    await login(client, world.users["spoc"].email)
    r = await client.get("/queue/hand-offs")
    assert r.status_code == 200
    shown = _shown(r.text)
    waiting = [made["passed_as"].id, made["new"].id, made["old"].id]  # pending first, newest first
    assert shown[:3] == waiting and made["sams"].id not in shown and len(shown) == 7
    old = _row(r.text, made["old"].id)
    assert "for 10 days: ask East LA College whether they will pick it up" in old and "badge bad" in old
    new = _row(r.text, made["new"].id)
    assert "since today" in new and "for Quinn Partner" in new and "ask" not in new
    accepted = _row(r.text, made["accepted"].id)
    assert "accepted" in accepted and "by Pat Partner" in accepted and "we call Monday" in accepted
    passed = _row(r.text, made["passed"].id)
    assert f"Passed on to LA Basin WDB as #{made['passed_as'].id} (pending)" in passed
    assert "no ESL this term" in passed
    assert "Let go on" in _row(r.text, made["let_go"].id)
    assert 'href="/queue#declined-hand-offs">Pass it on or let it go' in _row(r.text, made["open"].id)
    assert f"passed on from #{made['passed'].id}" in _row(r.text, made["passed_as"].id)
    assert 'aria-current="page">Hand-offs' in r.text


async def test_a_lead_sees_every_hand_off_of_the_region_saying_who_made_it(client, world, made):
    await login(client, world.users["lead"].email)
    r = await client.get("/queue/hand-offs")
    assert f'id="made-{made["sams"].id}"' in r.text and "by Sam Ortiz" in _row(r.text, made["sams"].id)
    assert "by Maria Lopez" in _row(r.text, made["old"].id)
    await login(client, world.users["bay_lead"].email)
    assert "No hand-offs yet" in (await client.get("/queue/hand-offs")).text


async def test_the_status_filter_counts_each_state_and_htmx_gets_only_the_list(client, world, made):
    await login(client, world.users["spoc"].email)
    r = await client.get("/queue/hand-offs", params={"status": "declined"}, headers=HX)
    assert r.text.lstrip().startswith('<div id="hand-offs-made-body">') and "<html" not in r.text
    assert set(_shown(r.text)) == {made["passed"].id, made["let_go"].id, made["open"].id}
    assert "Waiting for an answer (3)" in r.text and "Declined (3)" in r.text and "Accepted (1)" in r.text
    assert "All (7)" in r.text
    bad = await client.get("/queue/hand-offs", params={"status": "lost"})
    assert bad.status_code == 200 and "must be one of pending, accepted, declined" in bad.text
    assert tied_errors(bad.text) == {"status": "must be one of pending, accepted, declined"}
    assert len(_shown(bad.text)) == 7  # shown unfiltered


async def test_the_list_pages_past_fifty(client, world, desk):
    t = await desk.touch(await world.f.employer("Acme Fab"), world.users["spoc"], status="completed", planned_in=-2)
    for i in range(52):
        await desk.hand_off(t, world.users["spoc"], world.orgs["college"].id, f"need {i}")
    await login(client, world.users["spoc"].email)
    first = await client.get("/queue/hand-offs", params={"status": "pending"})
    assert len(_shown(first.text)) == 50 and 'href="/queue/hand-offs?status=pending&amp;page=2"' in first.text
    second = await client.get("/queue/hand-offs", params={"status": "pending", "page": 2})
    assert len(_shown(second.text)) == 2


@pytest.mark.parametrize("who", ["partner", "chair"])
async def test_partners_and_chairs_are_refused_the_list_and_the_people_lookup(client, world, who):
    await login(client, world.users[who].email)
    for path in ("/queue/hand-offs", "/queue/hand-offs/people?handoff_org=East+LA+College"):
        assert (await client.get(path)).status_code == 403


async def test_the_people_lookup_offers_the_organizations_active_partners_only(client, world):
    await world.f.user("gone@example.org", "Gone Partner", [("partner", None)], org=world.orgs["board"],
                       is_active=False)
    await login(client, world.users["spoc"].email)
    r = await client.get("/queue/hand-offs/people", params={"handoff_org": "la basin wdb"}, headers=HX)
    # The board's SPOCs and lead are staff, not partners answering hand-offs; an inactive partner is gone.
    assert "Anyone at LA Basin WDB" in r.text and "Quinn Partner" in r.text
    assert "Maria Lopez" not in r.text and "Gone Partner" not in r.text
    unknown = await client.get("/queue/hand-offs/people", params={"to_org": "Nowhere College"}, headers=HX)
    assert unknown.text.count("<option") == 1 and "Anyone at the organization" in unknown.text


async def test_completing_with_a_person_hands_off_to_them_and_only_they_are_told(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    req = await desk.request(t, world.users["partner"])
    await world.f.user("partner3@example.org", "Rae Partner", [("partner", None)], org=world.orgs["board"])
    await login(client, world.users["spoc"].email)
    form = (await client.get(f"/queue/touches/{t.id}/forms/complete", headers=HX)).text
    assert f'hx-target="#handoff-person-{t.id}"' in form and 'name="handoff_person"' in form
    r = await client.post(f"/queue/touches/{t.id}/complete", headers={**HX, **csrf(client)}, data={
        f"outcome_{req.id}": "interested", "handoff_org": "LA Basin WDB", "channel": "call",
        "handoff_person": str(world.users["partner2"].id), "handoff_need": "night classes"})
    assert r.status_code == 200, r.text
    assert f"Touch #{t.id} completed; hand-off to Quinn Partner at LA Basin WDB sent" in r.text
    h = (await db.scalars(select(HandOff))).one()
    assert (h.to_org_id, h.to_user_id) == (world.orgs["board"].id, world.users["partner2"].id)
    told = set(await db.scalars(select(OutboxMessage.to_email).where(OutboxMessage.subject.like("Hand-off%"))))
    assert told == {"partner2@example.org"}
    # The completed row, and the touch's page, say whom it went to.
    card = r.text.split('id="queue-status"', 1)[0]
    for html in (card, (await client.get(f"/queue/touches/{t.id}")).text):
        assert "LA Basin WDB (Quinn Partner) · night classes · pending" in html


async def test_a_person_not_of_that_organization_is_said_at_the_person_select_and_nothing_is_written(
        client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    req = await desk.request(t, world.users["partner"])
    await login(client, world.users["spoc"].email)
    for person, said in ((str(world.users["partner"].id), "must be an active person of that organization"),
                         ("someone", "choose from the list")):
        r = await client.post(f"/queue/touches/{t.id}/complete", headers={**HX, **csrf(client)}, data={
            f"outcome_{req.id}": "interested", "handoff_org": "LA Basin WDB", "channel": "call",
            "handoff_person": person, "handoff_need": "night classes"})
        assert r.status_code == 422, r.text
        assert tied_errors(r.text).get("handoff_person") == said
        # The form comes back offering the board's people again.
        assert "Quinn Partner" in r.text and "Anyone at LA Basin WDB" in r.text
    assert await db.scalar(select(func.count(HandOff.id))) == 0


async def test_a_declined_need_is_passed_on_to_a_person_of_the_other_organization(client, world, desk, db):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"], status="completed",
                         planned_in=-3)
    h = await desk.hand_off(t, world.users["spoc"], world.orgs["college"].id, status="declined", responded_at=NOW)
    await login(client, world.users["spoc"].email)
    page = (await client.get("/queue")).text
    assert f'hx-target="#declined-person-{h.id}"' in page
    wrong = await client.post(f"/queue/hand-offs/{h.id}/pass-on", headers={**HX, **csrf(client)}, data={
        "to_org": "LA Basin WDB", "need": "hiring 5 welders", "to_person": str(world.users["partner"].id)})
    assert wrong.status_code == 422 and tied_errors(wrong.text).get("to_person") == (
        "must be an active person of that organization")
    assert "Quinn Partner" in wrong.text
    r = await client.post(f"/queue/hand-offs/{h.id}/pass-on", headers={**HX, **csrf(client)}, data={
        "to_org": "LA Basin WDB", "need": "hiring 5 welders", "to_person": str(world.users["partner2"].id)})
    assert r.status_code == 200, r.text
    assert f"Hand-off #{h.id} passed on to Quinn Partner at LA Basin WDB" in r.text
    new = await db.scalar(select(HandOff).where(HandOff.previous_id == h.id))
    assert new is not None and new.to_user_id == world.users["partner2"].id
