"""Merging employers loses nothing, settles uniqueness conflicts explicitly, and undoes exactly.

``rich_pair`` (also used by the API tests) arranges two records of one establishment, each with
history in every domain that references employers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crm.audit.models import AuditEvent
from crm.auth.principal import Principal
from crm.councils.models import AdvisoryCouncil, CouncilMember
from crm.db import metadata
from crm.employers import merge as merging
from crm.employers import merge_undo
from crm.employers.duplicate_models import EmployerMerge
from crm.employers.models import Employer, EmployerAlias, EmployerContact, SpocAssignment
from crm.errors import Conflict
from crm.touches.models import EmployerBlackout, EmployerPacing, HandOff, Touch, TouchRequest, touch_contact

# Bookkeeping that a merge adds to (its own log, audit events, search keys) or that has nothing to
# do with employers; every other table must hold the same number of rows before and after.
_GROWS = {"employer_merge", "employer_merge_change", "audit_event", "employer_search_key", "employer_alias",
          "session_store", "job_run"}
NOW = dt.datetime(2026, 11, 20, 17, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 20)


@dataclass
class Pair:
    loser: Employer
    survivor: Employer
    ids: dict[str, int]


async def rich_pair(world: Any) -> Pair:
    """"Acme Corp." (the loser) and "ACME Corporation" (the survivor), both in LA-BASIN."""
    f, u, orgs = world.f, world.users, world.orgs
    survivor = await f.employer("ACME Corporation", website="https://www.acme.com", zip="90021",
                                address_line="1200 S Alameda St", city="Los Angeles")
    loser = await f.employer("Acme Corp.", dba="Acme Tooling", zip="90021", address_line="1200 S Alameda St",
                             city="Los Angeles", do_not_contact=True)
    la = await f.region("LA-BASIN")
    ids: dict[str, int] = {}
    async with f.sessionmaker() as db, db.begin():
        # SPOC history: the loser had Maria, then Sam (active); the survivor has Maria (active).
        db.add_all([
            SpocAssignment(employer_id=loser.id, region_id=la.id, spoc_id=u["spoc"].id,
                           started_at=NOW - dt.timedelta(days=90), ended_at=NOW - dt.timedelta(days=30),
                           reason="first owner"),
            SpocAssignment(employer_id=survivor.id, region_id=la.id, spoc_id=u["spoc"].id,
                           started_at=NOW - dt.timedelta(days=60)),
        ])
        sam = SpocAssignment(employer_id=loser.id, region_id=la.id, spoc_id=u["spoc2"].id,
                             started_at=NOW - dt.timedelta(days=30), reason="rebalanced")
        db.add(sam)
        db.add_all([EmployerContact(employer_id=loser.id, name="Tomas Reyes", title="Plant Manager"),
                    EmployerContact(employer_id=loser.id, name="Ana Ruiz", email="ana@acme.com"),
                    EmployerContact(employer_id=survivor.id, name="Sandra Whitaker", title="HR Director"),
                    EmployerAlias(employer_id=loser.id, name="ACME Tools", name_key="acme tools")])
        db.add_all([EmployerPacing(employer_id=loser.id, max_touches=1, period_days=30, min_gap_days=7),
                    EmployerPacing(employer_id=survivor.id, max_touches=2, period_days=60, min_gap_days=None),
                    EmployerBlackout(employer_id=loser.id, starts_on=DAY, ends_on=DAY + dt.timedelta(days=3))])
        done = Touch(employer_id=loser.id, region_id=la.id, spoc_id=u["spoc2"].id, status="completed",
                     source="routed", channel="visit", window_start=DAY - dt.timedelta(days=40),
                     window_end=DAY - dt.timedelta(days=20), planned_on=DAY - dt.timedelta(days=30),
                     completed_at=NOW - dt.timedelta(days=30), notes="plant tour")
        queued = Touch(employer_id=loser.id, region_id=la.id, spoc_id=u["spoc2"].id, status="queued",
                       source="routed", window_start=DAY, window_end=DAY + dt.timedelta(days=30), planned_on=DAY)
        mine = Touch(employer_id=survivor.id, region_id=la.id, spoc_id=u["spoc"].id, status="completed",
                     source="logged", channel="call", window_start=DAY - dt.timedelta(days=10),
                     window_end=DAY - dt.timedelta(days=10), planned_on=DAY - dt.timedelta(days=10),
                     completed_at=NOW - dt.timedelta(days=10), notes="employer called in")
        db.add_all([done, queued, mine])
        await db.flush()

        def request(employer: Employer, org: Any, who: Any, purpose: str, status: str, touch: Touch | None,
                    summary: str) -> TouchRequest:
            return TouchRequest(requester_id=who.id, requester_org_id=org.id, employer_id=employer.id,
                                region_id=la.id, purpose=purpose, summary=summary, window_start=touch.window_start
                                if touch else DAY, window_end=touch.window_end if touch else DAY
                                + dt.timedelta(days=30), status=status, touch_id=touch.id if touch else None)

        old = request(loser, orgs["college"], u["partner"], "hiring", "completed", done, "welders, spring")
        dup_open = request(loser, orgs["college"], u["partner"], "work_based_learning", "queued", queued,
                           "internships for CNC students")
        other_open = request(loser, orgs["board"], u["partner2"], "apprenticeship", "queued", queued,
                             "machinist apprenticeship")
        theirs = request(survivor, orgs["college"], u["partner"], "work_based_learning", "held", None,
                         "summer internships")
        db.add_all([old, dup_open, other_open, theirs])
        await db.flush()
        db.add(HandOff(touch_id=done.id, employer_id=loser.id, from_user_id=u["spoc2"].id,
                       to_org_id=orgs["board"].id, need="incumbent worker training", status="accepted"))
        council = AdvisoryCouncil(name="Manufacturing CTE Advisory", owner_organization_id=orgs["college"].id,
                                  region_id=la.id)
        db.add(council)
        await db.flush()
        db.add_all([
            CouncilMember(council_id=council.id, name="Tomas Reyes", email="treyes@acme.com", employer_id=loser.id,
                          member_type="industry", role="chair"),
            CouncilMember(council_id=council.id, name="Ana Ruiz", employer_id=loser.id, member_type="industry"),
            CouncilMember(council_id=council.id, name="tomas reyes", email="TReyes@acme.com",
                          employer_id=survivor.id, member_type="industry"),
        ])
        db.add_all([AuditEvent(action="employer.create", entity_type="employer", entity_id=loser.id,
                               employer_id=loser.id),
                    AuditEvent(action="employer.create", entity_type="employer", entity_id=survivor.id,
                               employer_id=survivor.id)])
        await db.flush()
        ids.update(sam=sam.id, done=done.id, queued=queued.id, mine=mine.id, old=old.id, dup_open=dup_open.id,
                   other_open=other_open.id, theirs=theirs.id, council=council.id)
    return Pair(loser=loser, survivor=survivor, ids=ids)


async def table_counts(db: Any) -> dict[str, int]:
    await db.rollback()  # a fresh snapshot: SQLite keeps a reading transaction's view
    return {t.name: await db.scalar(select(func.count()).select_from(t)) for t in metadata.sorted_tables}


async def table_rows(db: Any, skip: set[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (but ``skip``), in primary-key order: what undo must restore."""
    await db.rollback()
    out = {}
    for t in metadata.sorted_tables:
        if t.name not in skip:
            out[t.name] = [tuple(r) for r in (await db.execute(select(t).order_by(*t.primary_key.columns))).all()]
    return out


async def references_to(db: Any, employer_id: int) -> dict[str, int]:
    """Rows pointing at the employer, per table.column (foreign keys plus audit_event.employer_id)."""
    await db.rollback()
    out = {}
    for table, column in [*merging.employer_references(),
                          (metadata.tables["audit_event"], metadata.tables["audit_event"].c.employer_id)]:
        n = await db.scalar(select(func.count()).select_from(table).where(column == employer_id))
        if n:
            out[f"{table.name}.{column.name}"] = n
    return out


def as_principal(user: Any) -> Principal:
    roles: dict[str, set[int]] = {}
    for g in user.grants:
        roles.setdefault(g.role, set())
        if g.region_id is not None:
            roles[g.role].add(g.region_id)
    return Principal(id=user.id, email=user.email, name=user.name, organization_id=user.organization_id,
                     organization_name=None, roles={k: frozenset(v) for k, v in roles.items()})


async def do_merge(sessionmaker: Any, actor: Any, loser_id: int, survivor_id: int) -> EmployerMerge:
    async with sessionmaker() as db:
        m = await merging.merge_employers(db, as_principal(actor), loser_id, survivor_id, "same plant")
        await db.commit()
        return m


async def do_undo(sessionmaker: Any, actor: Any, merge_id: int) -> EmployerMerge:
    async with sessionmaker() as db:
        m = await merge_undo.undo_merge(db, as_principal(actor), merge_id, "merged by mistake")
        await db.commit()
        return m


async def test_merge_moves_every_reference_to_the_survivor_and_loses_no_row(world, sessionmaker, db):
    pair = await rich_pair(world)
    before = await table_counts(db)
    loser_refs = await references_to(db, pair.loser.id)
    survivor_refs = await references_to(db, pair.survivor.id)
    assert {"touch.employer_id", "touch_request.employer_id", "hand_off.employer_id", "council_member.employer_id",
            "spoc_assignment.employer_id", "employer_contact.employer_id", "employer_alias.employer_id",
            "employer_blackout.employer_id", "employer_pacing.employer_id",
            "audit_event.employer_id"} <= set(loser_refs)

    await do_merge(sessionmaker, world.users["lead"], pair.loser.id, pair.survivor.id)

    after = await table_counts(db)
    assert {k: v for k, v in after.items() if k not in _GROWS} == {k: v for k, v in before.items() if k not in _GROWS}
    # Only the loser's pacing row stays on the tombstone (the survivor keeps one row, the stricter).
    assert await references_to(db, pair.loser.id) == {"employer_pacing.employer_id": 1,
                                                      "audit_event.employer_id": 1}
    moved = await references_to(db, pair.survivor.id)
    for ref, n in loser_refs.items():
        expected = survivor_refs.get(ref, 0) + n - (1 if ref == "employer_pacing.employer_id" else 0)
        # The loser's legal name as an alias (its DBA became the survivor's, which had none); the merge's own
        # audit event, and the withdrawal of the survivor's duplicate request.
        extra = {"employer_alias.employer_id": 1, "audit_event.employer_id": 2}.get(ref, 0)
        assert moved[ref] == expected + extra, ref
    await db.rollback()
    loser = await db.get(Employer, pair.loser.id)
    assert loser.status == "merged" and loser.merged_into_id == pair.survivor.id
    survivor = await db.get(Employer, pair.survivor.id, options=[selectinload(Employer.aliases)])
    names = {a.name for a in survivor.aliases}
    assert {"Acme Corp.", "ACME Tools"} <= names and "Acme Tooling" not in names
    assert survivor.dba == "Acme Tooling"  # it had none: it takes the loser's, not listed again as an alias
    assert survivor.do_not_contact is True  # the loser's do-not-contact wish survives the merge


async def test_survivor_timeline_shows_both_histories_and_loser_page_points_to_survivor(client, world,
                                                                                           sessionmaker):
    pair = await rich_pair(world)
    await do_merge(sessionmaker, world.users["lead"], pair.loser.id, pair.survivor.id)
    headers = await world.f.auth(world.users["lead"])
    r = await client.get(f"/api/employers/{pair.survivor.id}/timeline", params={"limit": 200}, headers=headers)
    assert r.status_code == 200, r.text
    entries = {(e["kind"], e["id"]) for e in r.json()["items"]}
    ids = pair.ids
    assert {("touch", ids["done"]), ("touch", ids["queued"]), ("touch", ids["mine"]), ("request", ids["old"]),
            ("request", ids["dup_open"]), ("request", ids["other_open"]), ("request", ids["theirs"])} <= entries
    tomb = await client.get(f"/api/employers/{pair.loser.id}", headers=headers)
    assert tomb.json()["status"] == "merged" and tomb.json()["merged_into_id"] == pair.survivor.id


async def test_loser_active_spoc_in_the_same_region_is_ended_and_kept_as_history(world, sessionmaker, db):
    pair = await rich_pair(world)
    await do_merge(sessionmaker, world.users["lead"], pair.loser.id, pair.survivor.id)
    await db.rollback()
    rows = list(await db.scalars(select(SpocAssignment).where(SpocAssignment.employer_id == pair.survivor.id)))
    assert len(rows) == 3
    active = [a for a in rows if a.ended_at is None]
    assert [a.spoc_id for a in active] == [world.users["spoc"].id]
    sam = next(a for a in rows if a.id == pair.ids["sam"])
    assert sam.ended_at is not None and f"merge into employer #{pair.survivor.id}" in sam.reason


async def test_pacing_keeps_the_stricter_preference_of_both(world, sessionmaker, db):
    pair = await rich_pair(world)
    await do_merge(sessionmaker, world.users["lead"], pair.loser.id, pair.survivor.id)
    await db.rollback()
    p = await db.scalar(select(EmployerPacing).where(EmployerPacing.employer_id == pair.survivor.id))
    assert (p.max_touches, p.period_days, p.min_gap_days) == (1, 60, 7)


async def test_of_two_duplicate_open_requests_the_one_further_along_is_kept(world, sessionmaker, db):
    """The college asked both records for internships: the loser's request rides a queued touch, the
    survivor's is held by the pacing budget. The one on its way to the employer stays; the held one is
    withdrawn, its note naming the kept one (keeping the survivor's left a touch with nothing on it, and the
    same need waiting for another)."""
    pair = await rich_pair(world)
    await do_merge(sessionmaker, world.users["lead"], pair.loser.id, pair.survivor.id)
    await db.rollback()
    dup = await db.get(TouchRequest, pair.ids["dup_open"])
    assert dup.status == "queued" and dup.employer_id == pair.survivor.id
    theirs = await db.get(TouchRequest, pair.ids["theirs"])
    assert theirs.status == "withdrawn" and f"the same request is open as #{dup.id}" in theirs.outcome_note
    # Audited as any withdrawal is, on the survivor's record (SPEC §3: every transition).
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "touch_request.withdraw",
                                                     AuditEvent.entity_id == theirs.id))
    assert event is not None and event.employer_id == pair.survivor.id and event.note.startswith("merge #")
    other = await db.get(TouchRequest, pair.ids["other_open"])  # another organization's: stays open
    assert other.status == "queued" and other.employer_id == pair.survivor.id


async def test_of_two_duplicate_requests_as_far_along_the_survivors_is_kept(world, sessionmaker, db, desk):
    survivor, loser = await world.f.employer("Pacific Tile Works"), await world.f.employer("Pacific Tile")
    mine = await desk.request(None, world.users["partner"], employer=survivor, release_in=10)
    lost = await desk.request(None, world.users["partner"], employer=loser, release_in=5)
    await do_merge(sessionmaker, world.users["lead"], loser.id, survivor.id)
    await db.rollback()
    assert (await db.get(TouchRequest, mine.id)).status == "held"
    assert (await db.get(TouchRequest, lost.id)).status == "withdrawn"


async def test_the_same_person_seated_twice_on_a_council_keeps_one_active_seat_the_chairs(world, sessionmaker, db):
    """Tomas Reyes chairs the council from the loser's record and is a member from the survivor's: the chair
    seat stays (ending it left the council without its chair)."""
    pair = await rich_pair(world)
    await do_merge(sessionmaker, world.users["lead"], pair.loser.id, pair.survivor.id)
    await db.rollback()
    seats = list(await db.scalars(select(CouncilMember).where(CouncilMember.council_id == pair.ids["council"])))
    assert len(seats) == 3 and all(s.employer_id == pair.survivor.id for s in seats)
    active = sorted((s.name, s.role) for s in seats if s.removed_at is None)
    assert active == [("Ana Ruiz", "member"), ("Tomas Reyes", "chair")]


def test_of_two_seats_of_one_person_the_stronger_role_then_the_longer_term_stays():
    def seat(role: str, term_end: dt.date | None) -> Any:
        return type("Seat", (), {"role": role, "term_end": term_end})()

    later, sooner = dt.date(2028, 6, 30), dt.date(2027, 6, 30)
    assert merging._seat_rank(seat("chair", sooner)) < merging._seat_rank(seat("member", None))
    assert merging._seat_rank(seat("vice_chair", sooner)) < merging._seat_rank(seat("member", later))
    assert merging._seat_rank(seat("member", later)) < merging._seat_rank(seat("member", sooner))
    assert merging._seat_rank(seat("member", None)) < merging._seat_rank(seat("member", later))


async def test_undo_restores_every_row_exactly(world, sessionmaker, db):
    pair = await rich_pair(world)
    skip = {"audit_event", "employer_merge", "employer_merge_change", "employer_search_key", "session_store",
            "job_run"}
    before = await table_rows(db, skip)
    m = await do_merge(sessionmaker, world.users["lead"], pair.loser.id, pair.survivor.id)
    undone = await do_undo(sessionmaker, world.users["lead"], m.id)
    assert undone.status == "undone"
    assert await table_rows(db, skip) == before
    assert await db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.employer_id == pair.loser.id, AuditEvent.action == "employer.create")) == 1
    actions = set(await db.scalars(select(AuditEvent.action).where(AuditEvent.employer_id == pair.survivor.id)))
    assert {"employer.merge", "employer.merge_undo"} <= actions


async def test_undo_is_refused_once_a_moved_touch_changed(world, sessionmaker, db):
    pair = await rich_pair(world)
    m = await do_merge(sessionmaker, world.users["lead"], pair.loser.id, pair.survivor.id)
    async with sessionmaker() as s, s.begin():
        touch = await s.get(Touch, pair.ids["queued"])
        touch.status = "scheduled"
    with pytest.raises(Conflict, match="moved touch row"):
        await do_undo(sessionmaker, world.users["lead"], m.id)
    await db.rollback()
    assert (await db.get(Employer, pair.loser.id)).status == "merged"


async def test_undo_is_refused_once_a_new_request_joined_a_moved_touch(world, sessionmaker, db):
    pair = await rich_pair(world)
    m = await do_merge(sessionmaker, world.users["lead"], pair.loser.id, pair.survivor.id)
    la = await world.f.region("LA-BASIN")
    async with sessionmaker() as s, s.begin():
        s.add(TouchRequest(requester_id=world.users["partner2"].id, requester_org_id=world.orgs["board"].id,
                           employer_id=pair.survivor.id, region_id=la.id, purpose="hiring", summary="new",
                           window_start=DAY, window_end=DAY + dt.timedelta(days=30), status="queued",
                           touch_id=pair.ids["queued"]))
    async with sessionmaker() as s:
        blockers = await merge_undo.undo_blockers(s, await merge_undo.get_merge(s, m.id))
    assert blockers == ["1 new touch_request row(s) reference touch rows the merge moved or changed"]


async def test_new_rows_on_the_survivor_alone_do_not_block_undo(world, sessionmaker, db):
    pair = await rich_pair(world)
    m = await do_merge(sessionmaker, world.users["lead"], pair.loser.id, pair.survivor.id)
    async with sessionmaker() as s, s.begin():
        s.add(EmployerContact(employer_id=pair.survivor.id, name="New Person"))
    await do_undo(sessionmaker, world.users["lead"], m.id)
    await db.rollback()
    assert (await db.get(Employer, pair.loser.id)).status == "active"


async def test_a_merge_undone_once_cannot_be_undone_again(world, sessionmaker):
    pair = await rich_pair(world)
    m = await do_merge(sessionmaker, world.users["lead"], pair.loser.id, pair.survivor.id)
    await do_undo(sessionmaker, world.users["lead"], m.id)
    with pytest.raises(Conflict, match="already undone"):
        await do_undo(sessionmaker, world.users["lead"], m.id)


async def test_a_failing_merge_writes_nothing(world, sessionmaker, db, monkeypatch):
    pair = await rich_pair(world)
    skip = {"session_store", "job_run"}
    before = await table_rows(db, skip)

    async def boom(*_: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(merging, "_close_candidate", boom)
    async with sessionmaker() as s:
        with pytest.raises(RuntimeError):
            await merging.merge_employers(s, as_principal(world.users["lead"]), pair.loser.id, pair.survivor.id)
        await s.rollback()
    assert await table_rows(db, skip) == before


async def open_touches(world: Any, *, loser: str = "queued", survivor: str = "queued",
                       survivor_day: dt.date = DAY + dt.timedelta(days=5)) -> Pair:
    """Two records of one establishment, each with its SPOC (loser: spoc2, survivor: spoc) and an open
    touch in LA-BASIN carrying a request of a different organization; the loser's request allows
    DAY .. DAY+20, the survivor's DAY+3 .. DAY+30."""
    f, u, orgs = world.f, world.users, world.orgs
    la = await f.region("LA-BASIN")
    survivor_e = await f.employer("Harbor Freight Lines")
    loser_e = await f.employer("Harbor Freight Lines Inc")
    ids: dict[str, int] = {}
    async with f.sessionmaker() as db, db.begin():
        for employer, spoc in ((loser_e, u["spoc2"]), (survivor_e, u["spoc"])):
            db.add(SpocAssignment(employer_id=employer.id, region_id=la.id, spoc_id=spoc.id, started_at=NOW))
        for key, employer, spoc, status, start, end, day, org, who in (
                ("lost", loser_e, u["spoc2"], loser, DAY, DAY + dt.timedelta(days=20), DAY + dt.timedelta(days=4),
                 orgs["college"], u["partner"]),
                ("kept", survivor_e, u["spoc"], survivor, DAY + dt.timedelta(days=3), DAY + dt.timedelta(days=30),
                 survivor_day, orgs["board"], u["partner2"])):
            touch = Touch(employer_id=employer.id, region_id=la.id, spoc_id=spoc.id, status=status, source="routed",
                          window_start=start, window_end=end, planned_on=day, channel="call" if status == "scheduled"
                          else None, scheduled_at=NOW + (day - DAY) if status == "scheduled" else None)
            db.add(touch)
            await db.flush()
            req = TouchRequest(requester_id=who.id, requester_org_id=org.id, employer_id=employer.id,
                               region_id=la.id, purpose="hiring", summary=key, window_start=start, window_end=end,
                               status="scheduled" if status == "scheduled" else "queued", touch_id=touch.id)
            db.add(req)
            await db.flush()
            ids[f"{key}_touch"], ids[f"{key}_request"] = touch.id, req.id
    return Pair(loser=loser_e, survivor=survivor_e, ids=ids)


async def test_both_open_touches_in_a_region_become_one_and_undo_parts_them(world, sessionmaker, db):
    pair = await open_touches(world)
    skip = {"audit_event", "employer_merge", "employer_merge_change", "employer_search_key", "session_store",
            "job_run"}
    before = await table_rows(db, skip)
    m = await do_merge(sessionmaker, world.users["lead"], pair.loser.id, pair.survivor.id)
    assert m.summary["touch"] == {"combined": 1, "moved": 1}
    await db.rollback()
    open_touches_left = list(await db.scalars(select(Touch).where(
        Touch.employer_id == pair.survivor.id, Touch.status.in_(["queued", "scheduled"]))))
    assert [t.id for t in open_touches_left] == [pair.ids["kept_touch"]]
    kept = open_touches_left[0]
    # Its window is what both requests allow; its day (inside it) and its SPOC stay.
    assert (kept.window_start, kept.window_end, kept.planned_on, kept.spoc_id) == (
        DAY + dt.timedelta(days=3), DAY + dt.timedelta(days=20), DAY + dt.timedelta(days=5), world.users["spoc"].id)
    moved = await db.get(TouchRequest, pair.ids["lost_request"])
    assert (moved.touch_id, moved.status, moved.employer_id) == (kept.id, "queued", pair.survivor.id)
    gone = await db.get(Touch, pair.ids["lost_touch"])
    assert gone.status == "cancelled" and gone.cancel_reason == (
        f"combined into touch #{kept.id} when employer #{pair.loser.id} was merged into #{pair.survivor.id}")
    audit = await db.scalar(select(AuditEvent).where(AuditEvent.action == "employer.merge"))
    assert audit.after["touches_combined"] == {str(gone.id): f"into #{kept.id}"}

    await do_undo(sessionmaker, world.users["lead"], m.id)
    assert await table_rows(db, skip) == before


async def test_undo_is_refused_once_a_new_request_joined_the_touch_the_merge_narrowed(world, sessionmaker, db):
    """Undone, the kept touch would take back its wider window around a request that joined it since, whose
    own window is narrower (a bundled request's window must contain the touch's days)."""
    pair = await open_touches(world)
    m = await do_merge(sessionmaker, world.users["lead"], pair.loser.id, pair.survivor.id)
    la = await world.f.region("LA-BASIN")
    async with sessionmaker() as s, s.begin():
        s.add(TouchRequest(requester_id=world.users["partner2"].id, requester_org_id=world.orgs["board"].id,
                           employer_id=pair.survivor.id, region_id=la.id, purpose="event", summary="job fair",
                           window_start=DAY + dt.timedelta(days=3), window_end=DAY + dt.timedelta(days=12),
                           status="queued", touch_id=pair.ids["kept_touch"]))
    with pytest.raises(Conflict, match=r"1 new touch_request row\(s\) reference touch rows the merge moved"):
        await do_undo(sessionmaker, world.users["lead"], m.id)


async def test_undo_is_refused_once_a_touch_was_linked_to_a_person_of_the_other_record(world, sessionmaker, db, desk):
    pair = await rich_pair(world)
    m = await do_merge(sessionmaker, world.users["lead"], pair.loser.id, pair.survivor.id)
    tomas = await db.scalar(select(EmployerContact).where(EmployerContact.name == "Tomas Reyes"))  # the loser's
    theirs = await desk.touch(pair.survivor, world.users["spoc"], status="completed", planned_in=-1)
    await desk.met_on(theirs, tomas)
    with pytest.raises(Conflict, match="linked since the merge to people of the other record"):
        await do_undo(sessionmaker, world.users["lead"], m.id)


async def test_a_queued_touch_joins_the_other_records_appointment(world, sessionmaker, db):
    pair = await open_touches(world, loser="scheduled", survivor="queued")
    m = await do_merge(sessionmaker, world.users["lead"], pair.loser.id, pair.survivor.id)
    assert m.summary["touch"]["combined"] == 1
    await db.rollback()
    # The appointment (the loser's, on DAY+4) is kept; the survivor's queued touch gives it its request.
    kept = await db.get(Touch, pair.ids["lost_touch"])
    assert (kept.status, kept.employer_id, kept.window_start, kept.window_end) == (
        "scheduled", pair.survivor.id, DAY + dt.timedelta(days=3), DAY + dt.timedelta(days=20))
    joined = await db.get(TouchRequest, pair.ids["kept_request"])
    assert (joined.touch_id, joined.status) == (kept.id, "scheduled")
    assert (await db.get(Touch, pair.ids["kept_touch"])).status == "cancelled"


@pytest.mark.parametrize(("loser", "survivor", "survivor_day"), [
    ("scheduled", "scheduled", DAY + dt.timedelta(days=5)),  # two appointments: a lead decides
    ("queued", "queued", DAY + dt.timedelta(days=25)),  # the survivor's day is past the loser's request's window
])
async def test_touches_that_cannot_be_combined_stay_apart_and_are_counted(world, sessionmaker, db, loser, survivor,
                                                                          survivor_day):
    pair = await open_touches(world, loser=loser, survivor=survivor, survivor_day=survivor_day)
    m = await do_merge(sessionmaker, world.users["lead"], pair.loser.id, pair.survivor.id)
    assert m.summary["touch"]["to_combine"] == 1 and "combined" not in m.summary["touch"]
    await db.rollback()
    lost = await db.get(Touch, pair.ids["lost_touch"])
    assert lost.status == loser and lost.employer_id == pair.survivor.id
    # A queued touch goes to the survivor's SPOC (the loser's assignment ended); an appointment keeps its SPOC.
    assert lost.spoc_id == world.users["spoc" if loser == "queued" else "spoc2"].id
    assert (await db.get(TouchRequest, pair.ids["lost_request"])).touch_id == lost.id


async def test_a_person_on_both_records_is_kept_once_with_what_pointed_at_them_and_undone_exactly(
        world, sessionmaker, db, desk):
    """Pat Lee is a contact of both records (the same e-mail): the survivor keeps one Pat, met on the touches
    either record's Pat was met on and seated where they sat, with the title only the loser's knew; the same
    alias is not listed twice. Two records of Pat were stuck: not removable (met on touches), not editable
    (the e-mail is the other's)."""
    f = world.f
    survivor, loser = await f.employer("Quasar Coating Systems"), await f.employer("Quasar Coating")
    skip = {"audit_event", "employer_merge", "employer_merge_change", "employer_search_key", "session_store",
            "job_run"}
    async with sessionmaker() as s, s.begin():
        lost = EmployerContact(employer_id=loser.id, name="Pat Lee", email="pat@quasar.example", title="HR Manager")
        kept = EmployerContact(employer_id=survivor.id, name="Pat  lee", email="PAT@quasar.example")
        nameless = EmployerContact(employer_id=loser.id, name="Robin Park")  # no e-mail, another name: moves
        s.add_all([lost, kept, nameless,
                   EmployerAlias(employer_id=loser.id, name="QCS", name_key="qcs"),
                   EmployerAlias(employer_id=survivor.id, name="qcs", name_key="qcs")])
        council = AdvisoryCouncil(name="Coatings Advisory", owner_organization_id=world.orgs["college"].id,
                                  region_id=survivor.region_id)
        s.add(council)
        await s.flush()
        s.add(CouncilMember(council_id=council.id, name="Pat Lee", email="pat@quasar.example",
                            employer_id=loser.id, employer_contact_id=lost.id, member_type="industry"))
    met_lost = await desk.touch(loser, world.users["spoc"], status="completed", planned_in=-20)
    met_both = await desk.touch(survivor, world.users["spoc"], status="completed", planned_in=-40)
    for touch, contact in ((met_lost, lost), (met_both, lost), (met_both, kept)):
        await desk.met_on(touch, contact)
    before = await table_rows(db, skip)

    m = await do_merge(sessionmaker, world.users["lead"], loser.id, survivor.id)
    await db.rollback()
    people = list(await db.scalars(select(EmployerContact).where(EmployerContact.employer_id == survivor.id)
                                   .order_by(EmployerContact.id)))
    assert sorted((p.id, p.title) for p in people) == sorted([(nameless.id, None), (kept.id, "HR Manager")])
    assert (await db.get(EmployerContact, lost.id)).employer_id == loser.id  # on the tombstone, pointed at by nothing
    links = (await db.execute(select(touch_contact.c.touch_id, touch_contact.c.contact_id)
                              .order_by(touch_contact.c.touch_id))).all()
    assert sorted(links) == sorted([(met_lost.id, kept.id), (met_both.id, kept.id)])
    seat = (await db.scalars(select(CouncilMember).where(CouncilMember.council_id == council.id))).one()
    assert (seat.employer_id, seat.employer_contact_id) == (survivor.id, kept.id)
    aliases = list(await db.scalars(select(EmployerAlias.name).where(EmployerAlias.employer_id == survivor.id)))
    assert sorted(a.casefold() for a in aliases) == ["qcs", "quasar coating"]
    # The contact is editable now (its e-mail is its own) and the employer page shows Pat once.
    assert m.summary["employer_contact"]["same_person"] == 1

    await do_undo(sessionmaker, world.users["lead"], m.id)
    assert await table_rows(db, skip) == before


async def test_undo_is_refused_once_a_link_the_merge_removed_was_made_again(world, sessionmaker, db, desk):
    survivor, loser = await world.f.employer("Quasar Coating Systems"), await world.f.employer("Quasar Coating")
    async with sessionmaker() as s, s.begin():
        lost = EmployerContact(employer_id=loser.id, name="Pat Lee", email="pat@quasar.example")
        s.add_all([lost, EmployerContact(employer_id=survivor.id, name="Pat Lee", email="pat@quasar.example")])
    met = await desk.touch(loser, world.users["spoc"], status="completed", planned_in=-20)
    await desk.met_on(met, lost)
    m = await do_merge(sessionmaker, world.users["lead"], loser.id, survivor.id)
    await desk.met_on(met, lost)  # linked again to the tombstone's Pat, by hand
    with pytest.raises(Conflict, match="removed was added again"):
        await do_undo(sessionmaker, world.users["lead"], m.id)


async def test_a_meeting_both_records_attended_counts_once_and_undo_parts_them(world, sessionmaker, db, desk):
    """Someone of each record was ticked present at one council meeting: each record had its meeting touch.
    Merged, the employer attended once (the pacing budget counted that meeting twice)."""
    from crm.councils.models import CouncilMeeting, MeetingAttendance

    survivor, loser = await world.f.employer("Quasar Coating Systems"), await world.f.employer("Quasar Coating")
    skip = {"audit_event", "employer_merge", "employer_merge_change", "employer_search_key", "session_store",
            "job_run"}
    theirs = await desk.touch(survivor, None, status="completed", planned_in=-3, source="meeting")
    lost = await desk.touch(loser, None, status="completed", planned_in=-3, source="meeting")
    async with sessionmaker() as s, s.begin():
        council = AdvisoryCouncil(name="Coatings Advisory", owner_organization_id=world.orgs["college"].id,
                                  region_id=survivor.region_id)
        s.add(council)
        await s.flush()
        meeting = CouncilMeeting(council_id=council.id, held_on=DAY)
        seats = [CouncilMember(council_id=council.id, name=n, employer_id=e.id, member_type="industry")
                 for n, e in (("Pat Lee", survivor), ("Robin Park", loser))]
        s.add_all([meeting, *seats])
        await s.flush()
        s.add_all([MeetingAttendance(meeting_id=meeting.id, member_id=seats[0].id, touch_id=theirs.id),
                   MeetingAttendance(meeting_id=meeting.id, member_id=seats[1].id, touch_id=lost.id)])
    before = await table_rows(db, skip)

    m = await do_merge(sessionmaker, world.users["lead"], loser.id, survivor.id)
    await db.rollback()
    assert set(await db.scalars(select(MeetingAttendance.touch_id))) == {theirs.id}
    gone = await db.get(Touch, lost.id)
    assert gone.status == "cancelled" and f"the same meeting as touch #{theirs.id}" in gone.cancel_reason
    counted = await db.scalar(select(func.count(Touch.id)).where(Touch.employer_id == survivor.id,
                                                                  Touch.status == "completed"))
    assert counted == 1 and m.summary["touch"]["same_meeting"] == 1
    assert await db.scalar(select(AuditEvent.note).where(AuditEvent.action == "touch.cancel",
                                                         AuditEvent.entity_id == lost.id)) == (
        f"merge #{m.id}: {gone.cancel_reason}")

    await do_undo(sessionmaker, world.users["lead"], m.id)
    assert await table_rows(db, skip) == before
