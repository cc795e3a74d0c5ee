"""A write that decides on something another transaction is changing, made to lose the race on purpose
(PostgreSQL; SQLite's one write lock serializes them whole): the first transaction is held at the worst
moment (after it read, before it commits) while the other runs.

- An intake that read the region's old pacing policy or routing rules, while a lead changes them: the
  change's recheck (of held requests, of the unassigned queue) must see what the intake decided. The same
  for the other writers that decide requests into touches: the held-request job, a lead's early release, an
  employer's changed preferences, a match confirmation.
- An intake that routed a touch to a SPOC, while an admin removes their role or deactivates them: the
  admin's change must count that touch (or routing must read the change); a role in another region given
  to the user meanwhile makes the deactivation ask again.
- An intake that read the SPOC as away and routed to the backup, while the SPOC comes back.
- A hand-off answered, or reminded of, while a merge moves it to the surviving employer (it was a 500).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from crm import clock
from crm.admin import service as admin_service
from crm.auth import service as auth_service
from crm.auth.models import RoleGrant, User
from crm.directory.models import Region
from crm.employers import merge as merging
from crm.errors import Conflict
from crm.notify.models import OutboxMessage
from crm.touches import intake, match, policy, preferences, release, reminders, workflow
from crm.touches.models import HandOff, Touch, TouchRequest
from crm.touches.request_schemas import TouchRequestIn
from crm.touches.touch_schemas import PolicyIn, RoutingRuleIn
from crm.touches.transfer import caseload_of
from tests.employers.test_merge import as_principal
from tests.touches.conftest import SpocDesk


@pytest.fixture
async def board(staffed, concurrency_db):
    if concurrency_db[0].startswith("sqlite"):
        pytest.skip("SQLite writers never overlap: its database lock serializes them whole")
    f = staffed.factory
    org = await f.organization("Race Board", "workforce_board", ["LA-BASIN"])
    lead = await f.user("racelead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=org)
    backup = await f.user("backup@example.org", "Sam Ortiz", [("spoc", "LA-BASIN")], org=org)
    partner = await f.user("partner@example.org", "Pat Partner", [("partner", None)],
                           org=await f.organization("Race Partner", "cbo", ["LA-BASIN"]))
    return lead, backup, partner


def _ask(employer_id: int, start: int = 1, end: int = 40) -> TouchRequestIn:
    today = clock.today()
    return TouchRequestIn(purpose="hiring", employer_id=employer_id, region="LA-BASIN", summary="welders",
                          window_start=today + dt.timedelta(days=start), window_end=today + dt.timedelta(days=end))


async def _intake_held_at(f: Any, patch: pytest.MonkeyPatch, name: str, actor: Any, data: TouchRequestIn,
                          other: Callable[[Any], Awaitable[Any]]) -> None:
    """Run an intake whose ``intake.<name>`` pauses once it has read, and ``other`` (in its own
    transaction) meanwhile; both commit."""

    async def submit(db: Any) -> None:
        await intake.submit_request(db, as_principal(actor), data, today=clock.today(), now=clock.now())

    await _held_at(f, patch, intake, name, submit, other)


async def _held_at(f: Any, patch: pytest.MonkeyPatch, module: Any, name: str, first: Callable[[Any], Awaitable[Any]],
                   other: Callable[[Any], Awaitable[Any]]) -> None:
    """Run ``first`` (in a transaction of its own), whose ``module.<name>`` pauses once it has read, and
    ``other`` (in its own) meanwhile; both commit."""
    read = asyncio.Event()
    original = getattr(module, name)

    async def paused(*args: Any, **kwargs: Any) -> Any:
        answer = await original(*args, **kwargs)
        read.set()
        await asyncio.sleep(1.5)  # the other transaction runs now, or waits for this one
        return answer

    patch.setattr(module, name, paused)

    async def submit() -> None:
        async with f.sessionmaker() as db:
            await first(db)
            await db.commit()

    async def meanwhile() -> None:
        await read.wait()
        async with f.sessionmaker() as db:
            await other(db)
            await db.commit()

    await asyncio.gather(submit(), meanwhile())


async def test_a_policy_loosened_while_an_intake_holds_under_the_old_one_releases_that_request(staffed, board):
    f, (lead, _, partner) = staffed.factory, board
    desk = SpocDesk(f.sessionmaker)
    await desk.touch(staffed.employer, staffed.spoc, status="completed", planned_in=-1)
    loosen = await _strict_policy(f, lead)
    with pytest.MonkeyPatch.context() as patch:
        await _intake_held_at(f, patch, "load_policy", partner, _ask(staffed.employer.id, end=20), loosen)
    async with f.sessionmaker() as db:
        statuses = list(await db.scalars(select(TouchRequest.status).where(
            TouchRequest.employer_id == staffed.employer.id)))
    assert statuses == ["queued"]  # decided under the old policy (held), then released by the loosening


async def test_a_rule_added_while_an_intake_routes_to_no_one_routes_that_touch(staffed, board):
    f, (lead, backup, partner) = staffed.factory, board
    lonely = await f.employer("Harbor Biologics")  # no SPOC: the region's rules decide
    async with f.sessionmaker() as db:
        region = await db.scalar(select(Region).where(Region.code == "LA-BASIN"))

    async def add_rule(db: Any) -> None:
        at = await db.get(Region, region.id)
        await policy.add_rule(db, as_principal(lead), at, RoutingRuleIn(pool=[backup.id]))
        await policy.route_waiting_touches(db, as_principal(lead), at)

    with pytest.MonkeyPatch.context() as patch:
        await _intake_held_at(f, patch, "route", partner, _ask(lonely.id), add_rule)
    async with f.sessionmaker() as db:
        spocs = list(await db.scalars(select(Touch.spoc_id).where(Touch.employer_id == lonely.id)))
    assert spocs == [backup.id]


async def _add_rule_for(lead: Any, pool: list[int]) -> Callable[[Any], Awaitable[Any]]:
    """A lead's new LA-BASIN rule (any employer) routing to ``pool``, with the unassigned queue routed after it."""

    async def add_rule(db: Any) -> None:
        at = await db.scalar(select(Region).where(Region.code == "LA-BASIN"))
        await policy.add_rule(db, as_principal(lead), at, RoutingRuleIn(pool=pool))
        await policy.route_waiting_touches(db, as_principal(lead), at)

    return add_rule


@pytest.mark.parametrize("opener", ["release job", "early release", "preferences", "match"])
async def test_a_rule_added_while_a_held_or_matched_request_opens_a_touch_for_no_one_routes_that_touch(
        staffed, board, opener):
    """The held-request job, a lead's early release, the recheck after an employer's preferences changed and
    a SPOC's match confirmation open touches as intake does: one routed to no one (no rules yet) while a
    lead adds a rule must be routed by the rule's sweep of the unassigned queue, not left there because the
    sweep ran before it committed."""
    f, (lead, backup, partner) = staffed.factory, board
    desk = SpocDesk(f.sessionmaker)
    lonely = await f.employer("Harbor Biologics")  # no SPOC: the region's rules decide
    if opener == "match":
        req = await desk.request(None, partner, status="needs_match")

        async def first(db: Any) -> None:
            await match.confirm_match(db, as_principal(staffed.spoc), req.id, lonely.id, now=clock.now())
    else:
        req = await desk.request(None, partner, employer=lonely, release_in=0 if opener == "release job" else 9)

        async def first(db: Any) -> None:
            if opener == "release job":
                assert "new_touch=1" in await release.release_due_requests(db, clock.now())
            elif opener == "preferences":  # its own limit, as loose as the region's: held requests are decided again
                changed = await preferences.set_preferences(db, as_principal(staffed.spoc), lonely.id,
                                                            preferences.PreferencesIn(max_touches=2))
                assert changed.held is not None and changed.held.released == 1
            else:
                await release.release_now(db, as_principal(lead), req.id, "the plant closes next week", clock.now())

    with pytest.MonkeyPatch.context() as patch:
        await _held_at(f, patch, release, "route_spoc", first, await _add_rule_for(lead, [backup.id]))
    async with f.sessionmaker() as db:
        spocs = list(await db.scalars(select(Touch.spoc_id).where(Touch.employer_id == lonely.id)))
        status = await db.scalar(select(TouchRequest.status).where(TouchRequest.id == req.id))
    assert (spocs, status) == ([backup.id], "queued")


async def _strict_policy(f: Any, lead: Any) -> Callable[[Any], Awaitable[Any]]:
    """LA-BASIN at one touch per 60 days, and the loosening (four per 30 days, a day apart) to run meanwhile."""
    async with f.sessionmaker() as db:
        region = await db.scalar(select(Region).where(Region.code == "LA-BASIN"))
        await policy.set_policy(db, as_principal(lead), region, PolicyIn(max_touches=1, period_days=60,
                                                                         min_gap_days=7))
        await db.commit()

    async def loosen(db: Any) -> None:
        await policy.set_policy(db, as_principal(lead), await db.get(Region, region.id),
                                PolicyIn(max_touches=4, period_days=30, min_gap_days=1))

    return loosen


async def test_a_policy_loosened_while_a_match_holds_its_request_under_the_old_one_releases_it(staffed, board):
    """The confirmed request was in ``needs_match`` when the loosening's recheck looked for held requests: the
    match must have committed first (its request held, then released), or wait for the new policy."""
    f, (lead, _, partner) = staffed.factory, board
    desk = SpocDesk(f.sessionmaker)
    await desk.touch(staffed.employer, staffed.spoc, status="completed", planned_in=-1)
    loosen = await _strict_policy(f, lead)
    req = await desk.request(None, partner, status="needs_match")

    async def confirm(db: Any) -> None:
        await match.confirm_match(db, as_principal(staffed.spoc), req.id, staffed.employer.id, now=clock.now())

    with pytest.MonkeyPatch.context() as patch:
        await _held_at(f, patch, match, "load_policy", confirm, loosen)
    async with f.sessionmaker() as db:
        assert await db.scalar(select(TouchRequest.status).where(TouchRequest.id == req.id)) == "queued"


async def test_a_policy_loosened_while_the_release_job_holds_a_request_under_the_old_one_releases_it(staffed, board):
    """Not a race even before the job took the region's settings: the request was held already, so the
    loosening's recheck finds its employer and waits for the job's employer lock, then decides it again."""
    f, (lead, _, partner) = staffed.factory, board
    desk = SpocDesk(f.sessionmaker)
    await desk.touch(staffed.employer, staffed.spoc, status="completed", planned_in=-1)
    loosen = await _strict_policy(f, lead)
    req = await desk.request(None, partner, employer=staffed.employer, release_in=0)

    async def job(db: Any) -> None:
        assert await release.release_due_requests(db, clock.now()) == "held=1"

    with pytest.MonkeyPatch.context() as patch:
        await _held_at(f, patch, release, "load_policy", job, loosen)
    async with f.sessionmaker() as db:
        assert await db.scalar(select(TouchRequest.status).where(TouchRequest.id == req.id)) == "queued"


async def test_a_spoc_back_from_away_takes_back_a_touch_an_intake_was_routing_to_the_backup(staffed, board):
    f, (_, backup, partner) = staffed.factory, board
    torres = await f.employer("Torres Equipment Repair")
    await f.assign(torres, staffed.spoc, backup_spoc_id=backup.id)  # the SPOC's, with a backup
    async with f.sessionmaker() as db:
        await auth_service.set_away(db, as_principal(staffed.spoc), staffed.spoc.id, True)
        await db.commit()

    async def back(db: Any) -> None:
        await auth_service.set_away(db, as_principal(staffed.spoc), staffed.spoc.id, False)

    with pytest.MonkeyPatch.context() as patch:
        await _intake_held_at(f, patch, "route", partner, _ask(torres.id), back)
    async with f.sessionmaker() as db:
        spocs = list(await db.scalars(select(Touch.spoc_id).where(Touch.employer_id == torres.id,
                                                                  Touch.status == "queued")))
    assert spocs == [staffed.spoc.id]  # routed to the backup while away, taken back with the others


async def _racer(f: Any, *grants: tuple[str, str | None]) -> tuple[Any, Any]:
    """A SPOC of LA-BASIN (with ``grants`` besides) and an admin to take it from them."""
    org = await f.organization("Racer Board", "workforce_board", ["LA-BASIN"])
    racer = await f.user("racer@example.org", "Rae Racer", [("spoc", "LA-BASIN"), *grants], org=org)
    return racer, await f.user("raceadmin@example.org", "Ada Admin", [("admin", None)])


async def test_a_spoc_role_removed_while_a_rule_routes_a_touch_to_them_is_refused_for_that_caseload(staffed, board):
    """A rule's pick gives the SPOC the employer (sticky) and the touch: an admin's removal of their role that
    counted their caseload before the intake committed left a user without the role holding both."""
    f, (lead, _, partner) = staffed.factory, board
    racer, admin = await _racer(f, ("chair", None))
    async with f.sessionmaker() as db:
        await policy.add_rule(db, as_principal(lead), await db.scalar(select(Region).where(Region.code == "LA-BASIN")),
                              RoutingRuleIn(pool=[racer.id]))
        await db.commit()
    lonely = await f.employer("Harbor Biologics")  # no SPOC: the rule picks the racer
    refused: list[str] = []

    async def remove_role(db: Any) -> None:
        grant = await db.scalar(select(RoleGrant.id).where(RoleGrant.user_id == racer.id, RoleGrant.role == "spoc"))
        try:
            await admin_service.remove_grant(db, as_principal(admin), racer, grant)
        except Conflict as exc:
            refused.append(exc.detail)
            await db.rollback()

    with pytest.MonkeyPatch.context() as patch:
        await _intake_held_at(f, patch, "route", partner, _ask(lonely.id), remove_role)
    async with f.sessionmaker() as db:
        spocs = list(await db.scalars(select(Touch.spoc_id).where(Touch.employer_id == lonely.id)))
        roles = set(await db.scalars(select(RoleGrant.role).where(RoleGrant.user_id == racer.id)))
    assert spocs == [racer.id]  # routed while they were a SPOC: the removal waited for it, and found it
    assert "spoc" in roles and len(refused) == 1 and "transfer the caseload first" in refused[0], refused


async def test_a_spoc_deactivated_while_an_intake_routes_them_a_touch_is_told_of_that_touch(staffed, board):
    """Deactivating a SPOC with a caseload is allowed, saying what they still hold: a touch routed to them by an
    intake that read them active must be in it -- or not be theirs."""
    f, (_, _, partner) = staffed.factory, board
    racer, admin = await _racer(f)
    torres = await f.employer("Torres Equipment Repair")
    await f.assign(torres, racer)
    told: list[Any] = []

    async def deactivate(db: Any) -> None:
        user, changed = await admin_service.set_active(db, as_principal(admin), racer.id, False)
        assert changed
        told.append(await caseload_of(db, user.grants[0].region_id, racer.id))  # what the admin's page says

    with pytest.MonkeyPatch.context() as patch:
        await _intake_held_at(f, patch, "route", partner, _ask(torres.id), deactivate)
    async with f.sessionmaker() as db:
        spocs = list(await db.scalars(select(Touch.spoc_id).where(Touch.employer_id == torres.id)))
    assert spocs == [racer.id]  # routed while they were active: the deactivation waited for it, and named it
    assert (told[0].employers, told[0].open_touches) == (1, 1), told


async def test_a_role_in_another_region_given_while_a_user_is_deactivated_refuses_that_deactivation(staffed, board):
    """A deactivation holds the settings of the regions where the user is staff before it locks the user; a
    SPOC role in another region granted in between (its settings not held: touches routed there unseen) makes
    it ask again, rather than take that region's settings under the user's lock (a deadlock with its lead)."""
    f = staffed.factory
    racer, admin = await _racer(f)
    original, read, granted = admin_service.locked_user, asyncio.Event(), asyncio.Event()

    async def paused(db: Any, user_id: int, **kwargs: Any) -> Any:
        if not read.is_set():  # the deactivation, once it has read the user's roles
            read.set()
            await granted.wait()
        return await original(db, user_id, **kwargs)

    async def deactivate() -> str:
        async with f.sessionmaker() as db:
            try:
                await admin_service.set_active(db, as_principal(admin), racer.id, False)
            except Conflict as exc:
                return str(exc.detail)
            await db.commit()
            return "deactivated"

    async def grant() -> None:
        await read.wait()
        async with f.sessionmaker() as db:
            await admin_service.add_grant(db, as_principal(admin), await db.get(User, racer.id), "spoc",
                                          "BAY-PENINSULA")
            await db.commit()
        granted.set()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(admin_service, "locked_user", paused)
        refused, _ = await asyncio.gather(deactivate(), grant())
    assert "was given a role in another region just now" in refused, refused
    async with f.sessionmaker() as db:
        user = await auth_service.lock_user(db, racer.id)
        assert user is not None and user.is_active and len(user.grants) == 2  # nothing changed but the grant
        _, changed = await admin_service.set_active(db, as_principal(admin), racer.id, False)  # asked again
        await db.commit()
    assert changed


@pytest.mark.parametrize("answer", ["accept", "decline", "remind"])
async def test_a_hand_off_answered_or_reminded_while_a_merge_moves_it_names_the_survivor(staffed, board, answer):
    """The merge has moved the hand-off (and holds it) when the answer or the reminder run reads it: locked
    with its employer joined in one statement, PostgreSQL re-checked it against the old employer row and the
    employer came back None -- a 500, and the day's reminders lost."""
    f, (lead, _, partner) = staffed.factory, board
    desk = SpocDesk(f.sessionmaker)
    loser = await f.employer("Acme Widgets Old Record", website="https://acme-widgets-old.com")
    survivor = await f.employer("Acme Widgets")
    done = await desk.touch(loser, staffed.spoc, status="completed", planned_in=-10)
    made = clock.now() - dt.timedelta(days=9)  # unanswered for over a week: due a reminder
    hand_off = await desk.hand_off(done, staffed.spoc, partner.organization_id, created_at=made)
    runs = {
        "accept": lambda db: workflow.respond_hand_off(db, as_principal(partner), hand_off.id, True, "", clock.now()),
        "decline": lambda db: workflow.respond_hand_off(db, as_principal(partner), hand_off.id, False, "full",
                                                        clock.now()),
        "remind": lambda db: reminders.remind_waiting_hand_offs(db, clock.now())}
    async with f.sessionmaker() as merging_db, f.sessionmaker() as answering:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(merging, "begin_write", lambda _: asyncio.sleep(0))
            await merging.merge_employers(merging_db, as_principal(lead), loser.id, survivor.id)
        task = asyncio.ensure_future(runs[answer](answering))
        await asyncio.sleep(1)  # it waits for the merge's locks
        assert not task.done()
        await merging_db.commit()
        await task
        await answering.commit()
    async with f.sessionmaker() as db:
        moved = await db.get(HandOff, hand_off.id)
        mail = list(await db.scalars(select(OutboxMessage.subject).order_by(OutboxMessage.id)))
    assert moved.employer_id == survivor.id
    if answer == "remind":
        assert moved.reminded_at is not None and any("(Acme Widgets)" in s for s in mail), mail
    else:
        assert moved.status == ("accepted" if answer == "accept" else "declined")
