"""The intake shell (SPEC §3) called directly with a fixed `today`: each decision and what it writes."""

import datetime as dt

import pytest
from litestar.exceptions import PermissionDeniedException
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from crm import clock
from crm.audit.models import AuditEvent
from crm.auth.models import User
from crm.auth.principal import Principal
from crm.employers.models import Employer
from crm.errors import Conflict, FieldError
from crm.notify.models import OutboxMessage
from crm.touches.intake import submit_request
from crm.touches.models import Touch, TouchRequest
from crm.touches.request_schemas import EmployerQueryIn, TouchRequestIn

TODAY = dt.date(2027, 3, 1)


def day(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


async def as_principal(sessionmaker, user) -> Principal:
    async with sessionmaker() as s:
        return Principal.from_user(await s.get_one(User, user.id, options=[selectinload(User.grants)]))


async def submit(sessionmaker, user, *, today=TODAY, now=None, **fields):
    fields.setdefault("purpose", "hiring")
    fields.setdefault("region", "LA-BASIN")
    principal = await as_principal(sessionmaker, user)
    async with sessionmaker() as s:
        result = await submit_request(s, principal, TouchRequestIn(**fields), today=today, now=now)
        await s.commit()
    return result


async def logged_touch(db, employer, on: dt.date, status="completed"):
    db.add(Touch(employer_id=employer.id, region_id=employer.region_id, status=status, source="logged",
                 window_start=on, window_end=on, planned_on=on))
    await db.commit()


async def counts(db):
    return [await db.scalar(select(func.count()).select_from(m))
            for m in (TouchRequest, Touch, AuditEvent, OutboxMessage, Employer)]


async def test_new_request_opens_a_touch_for_the_assigned_spoc_planned_on_the_first_allowed_day(
        world, sessionmaker, db):
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    await logged_touch(db, e, day(-3))  # 7-day gap: nothing before day 4
    r = await submit(sessionmaker, world.users["partner"], employer_id=e.id, window_start=TODAY, window_end=day(20))
    assert r.status_code == 201 and r.created
    touch = await db.get_one(Touch, r.body.touch_id)
    assert (touch.status, touch.spoc_id, touch.planned_on) == ("queued", world.users["spoc"].id, day(4))
    assert (touch.window_start, touch.window_end) == (TODAY, day(20))
    assert r.body.decision == f"Queued as touch #{touch.id} with Maria Lopez, planned for 5 March 2027"
    events = (await db.execute(select(AuditEvent.action, AuditEvent.employer_id).order_by(AuditEvent.id))).all()
    assert events == [("touch.create", e.id), ("touch_request.create", e.id)]
    mail = {m.to_email: m.subject for m in await db.scalars(select(OutboxMessage))}
    assert set(mail) == {"spoc@example.org", "partner@example.org"}


async def test_a_touch_nobody_owns_yet_is_explained_in_plain_words(world, sessionmaker, db):
    e = await world.f.employer("Sunrise Family Dental")  # no SPOC and no routing rule in LA-BASIN
    r = await submit(sessionmaker, world.users["partner"], employer_id=e.id, window_start=TODAY, window_end=day(20))
    touch = await db.get_one(Touch, r.body.touch_id)
    assert touch.spoc_id is None
    assert r.body.decision == (f"Queued as touch #{touch.id} (no SPOC yet: it waits in LA-BASIN's unassigned queue), "
                               "planned for 1 March 2027")


async def test_second_partner_request_bundles_into_open_touch_and_narrows_its_window(world, sessionmaker, db):
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    first = await submit(sessionmaker, world.users["partner"], employer_id=e.id, window_start=TODAY,
                         window_end=day(30))
    second = await submit(sessionmaker, world.users["partner2"], employer_id=e.id, purpose="apprenticeship",
                          window_start=day(10), window_end=day(40))
    assert second.status_code == 201 and second.body.touch_id == first.body.touch_id
    touch = await db.get_one(Touch, first.body.touch_id)
    # The touch's window narrows to the intersection and its date moves into it.
    assert (touch.window_start, touch.window_end, touch.planned_on) == (day(10), day(30), day(10))
    assert second.body.decision == f"Bundled into touch #{touch.id} with Maria Lopez, planned for 11 March 2027"
    assert await db.scalar(select(func.count()).select_from(Touch)) == 1
    assert "touch.bundle" in (await db.scalars(select(AuditEvent.action))).all()


async def test_an_appointment_already_held_today_takes_no_new_request(world, sessionmaker, db):
    """Scheduled for 09:00 and not marked completed by 15:00: the conversation is over, so a request sent
    in the afternoon does not ride on it (its SPOC would have to report an outcome nobody raised)."""
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    first = await submit(sessionmaker, world.users["partner"], employer_id=e.id, window_start=TODAY, window_end=day(30))
    nine = clock.local_instant(TODAY, dt.time(9))
    await db.execute(update(Touch).where(Touch.id == first.body.touch_id).values(
        status="scheduled", scheduled_at=nine, planned_on=TODAY))
    await db.commit()
    morning = await submit(sessionmaker, world.users["partner2"], employer_id=e.id, purpose="apprenticeship",
                           now=nine - dt.timedelta(hours=1))
    assert morning.body.touch_id == first.body.touch_id  # before the appointment it still rides along
    assert morning.body.decision.endswith(", scheduled for 1 March 2027 at 09:00")  # the appointment's time too
    afternoon = await submit(sessionmaker, world.users["partner2"], employer_id=e.id, purpose="event",
                             now=nine + dt.timedelta(hours=6))
    assert afternoon.status_code == 201 and afternoon.body.touch_id not in (None, first.body.touch_id)


async def test_request_over_budget_is_held_until_the_earliest_date_the_budget_allows(world, sessionmaker, db):
    e = await world.f.employer("Sunrise Family Dental")
    await logged_touch(db, e, day(-10))
    await logged_touch(db, e, day(-2))
    r = await submit(sessionmaker, world.users["partner"], employer_id=e.id, window_start=TODAY, window_end=day(5))
    assert r.status_code == 201 and r.body.status == "held" and r.body.touch_id is None
    # 2 touches per rolling 30 days: the day(-10) touch leaves the period on day(20).
    assert r.body.release_on == day(20)
    assert r.body.decision.startswith("Held until 21 March 2027")
    # Past the partner's own last day (day 5): the answer says so.
    assert r.body.decision.endswith("after the last day you asked for (6 March 2027): withdraw it if that is "
                                    "too late")
    assert await db.scalar(select(func.count()).select_from(Touch)) == 2


async def test_do_not_contact_employer_is_refused_and_nothing_is_written(world, sessionmaker, db):
    e = await world.f.employer("Sunrise Family Dental", do_not_contact=True)
    before = await counts(db)
    with pytest.raises(Conflict, match="do-not-contact"):
        await submit(sessionmaker, world.users["partner"], employer_id=e.id)
    assert await counts(db) == before


async def test_same_organization_employer_and_purpose_returns_the_open_request(world, sessionmaker, db):
    e = await world.f.employer("Sunrise Family Dental")
    first = await submit(sessionmaker, world.users["partner"], employer_id=e.id)
    before = await counts(db)
    again = await submit(sessionmaker, world.users["partner"], employer_id=e.id, summary="again")
    assert again.status_code == 200 and not again.created and again.body.id == first.body.id
    assert await counts(db) == before


async def test_unknown_employer_description_creates_a_provisional_employer_and_a_touch(world, sessionmaker, db):
    r = await submit(sessionmaker, world.users["partner"], employer=EmployerQueryIn(
        name="Brand New Widget Works", website="https://www.brandnewwidgets.com", city="Pasadena"))
    assert r.status_code == 201 and r.body.status == "queued"
    employer = await db.get_one(Employer, r.body.employer_id)
    assert (employer.legal_name, employer.status, employer.domain) == (
        "Brand New Widget Works", "provisional", "brandnewwidgets.com")
    actions = (await db.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    assert actions[0] == "employer.create" and "touch_request.create" in actions


async def test_staff_request_for_unknown_employer_still_creates_it_provisional(world, sessionmaker, db):
    r = await submit(sessionmaker, world.users["spoc"], employer=EmployerQueryIn(name="Brand New Widget Works"))
    assert (await db.get_one(Employer, r.body.employer_id)).status == "provisional"


async def test_ambiguous_employer_description_needs_a_match_and_opens_no_touch(world, sessionmaker, db):
    a = await world.f.employer("Acme Plumbing Inc", city="Pasadena")
    b = await world.f.employer("Acme Plumbing Inc", city="Long Beach")
    r = await submit(sessionmaker, world.users["partner"], employer=EmployerQueryIn(name="Acme Plumbing"))
    assert r.status_code == 201 and r.body.status == "needs_match" and r.body.touch_id is None
    assert r.body.decision == "Needs a match: a SPOC will confirm which employer you meant"
    req = await db.get_one(TouchRequest, r.body.id)
    assert req.employer_id is None and sorted(req.candidate_ids) == sorted([a.id, b.id])
    assert req.employer_query == {"name": "Acme Plumbing"}
    assert await db.scalar(select(func.count()).select_from(Touch)) == 0


async def test_lead_overrides_the_budget_with_a_reason_and_it_is_audited(world, sessionmaker, db):
    e = await world.f.employer("Sunrise Family Dental")
    await logged_touch(db, e, day(-10))
    await logged_touch(db, e, day(-2))
    r = await submit(sessionmaker, world.users["lead"], employer_id=e.id, window_start=TODAY, window_end=day(5),
                     override_reason="Layoff notice filed: the rapid-response visit cannot wait")
    assert r.body.status == "queued"
    touch = await db.get_one(Touch, r.body.touch_id)
    assert touch.planned_on == TODAY and touch.override_reason.startswith("Layoff notice")
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "touch.override"))
    assert event is not None and event.note.startswith("Layoff notice") and event.employer_id == e.id


async def test_partner_cannot_override_the_budget(world, sessionmaker, db):
    e = await world.f.employer("Sunrise Family Dental")
    before = await counts(db)
    with pytest.raises(PermissionDeniedException):
        await submit(sessionmaker, world.users["partner"], employer_id=e.id, override_reason="please")
    assert await counts(db) == before


async def test_override_never_lifts_do_not_contact(world, sessionmaker, db):
    e = await world.f.employer("Sunrise Family Dental", do_not_contact=True)
    with pytest.raises(Conflict):
        await submit(sessionmaker, world.users["lead"], employer_id=e.id, override_reason="urgent")


async def test_request_without_region_uses_the_employers_region(world, sessionmaker, db):
    e = await world.f.employer("Peninsula Bakery", county="San Mateo")
    r = await submit(sessionmaker, world.users["partner"], employer_id=e.id, region=None)
    assert r.body.region == "BAY-PENINSULA"


async def test_past_only_window_names_window_end(world, sessionmaker, db):
    e = await world.f.employer("Sunrise Family Dental")
    with pytest.raises(FieldError) as err:
        await submit(sessionmaker, world.users["partner"], employer_id=e.id, window_start=day(-20),
                     window_end=day(-1))
    assert err.value.fields[0][0] == "window_end"


def _hide_open(monkeypatch, *, requests: bool = True, touches: bool = False) -> None:
    """Make intake miss what is open, as a writer that slipped past the locks would (a bug elsewhere)."""
    import crm.touches.intake as intake

    real = intake.employer_state

    async def blind(db, employer_id, now):
        state = await real(db, employer_id, now)
        return intake.EmployerState([] if requests else state.open_requests,
                                    {} if touches else state.open_touches, state.counted)

    monkeypatch.setattr(intake, "employer_state", blind)


async def test_a_duplicate_that_slips_past_the_locks_answers_the_open_request_and_leaves_no_new_touch(
        world, sessionmaker, db, monkeypatch):
    e = await world.f.employer("Sunrise Family Dental")
    first = await submit(sessionmaker, world.users["partner"], employer_id=e.id, window_start=TODAY,
                         window_end=day(30))
    before = await counts(db)
    _hide_open(monkeypatch, requests=True, touches=True)  # the decision would open a second touch
    again = await submit(sessionmaker, world.users["partner"], employer_id=e.id, window_start=day(20),
                         window_end=day(40))
    assert again.status_code == 200 and not again.created and again.body.id == first.body.id
    assert await counts(db) == before  # the unique index refused it; its new touch was taken back


async def test_a_duplicate_that_would_bundle_leaves_the_touch_as_it_was(world, sessionmaker, db, monkeypatch):
    e = await world.f.employer("Sunrise Family Dental")
    first = await submit(sessionmaker, world.users["partner"], employer_id=e.id, window_start=TODAY,
                         window_end=day(30))
    touch = await db.get_one(Touch, first.body.touch_id)
    window = (touch.window_start, touch.window_end, touch.planned_on)
    _hide_open(monkeypatch, requests=True)  # the decision would bundle and narrow the window
    again = await submit(sessionmaker, world.users["partner"], employer_id=e.id, window_start=day(10),
                         window_end=day(40))
    assert again.status_code == 200 and again.body.id == first.body.id
    await db.refresh(touch)
    assert (touch.window_start, touch.window_end, touch.planned_on) == window


async def test_a_rule_routed_touch_is_audited_assignment_first_then_touch_then_request(world, sessionmaker, db):
    from crm.employers.models import RoutingRule

    e = await world.f.employer("Sunrise Family Dental")
    rule = RoutingRule(region_id=e.region_id, priority=1)
    async with sessionmaker() as s, s.begin():
        s.add(rule)
        await s.flush()
        from crm.employers.models import routing_rule_pool

        await s.execute(routing_rule_pool.insert().values(routing_rule_id=rule.id, user_id=world.users["spoc2"].id))
    r = await submit(sessionmaker, world.users["partner"], employer_id=e.id)
    assert r.body.spoc.name == "Sam Ortiz"
    assert r.body.decision.startswith(f"Queued as touch #{r.body.touch_id} with Sam Ortiz")
    events = (await db.execute(select(AuditEvent.action).order_by(AuditEvent.id))).scalars().all()
    assert events == ["spoc.assign", "touch.create", "touch_request.create"]
    mail = sorted(m.to_email for m in await db.scalars(select(OutboxMessage)))
    assert mail == ["partner@example.org", "spoc2@example.org"]
