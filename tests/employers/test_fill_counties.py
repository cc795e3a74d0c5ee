"""`crm employers fill-counties`: employers kept before counties were read from ZIPs get theirs, on every
database; only within their region; audited; rerunnable."""

import datetime as dt

from click.testing import CliRunner
from sqlalchemy import select

from crm.audit.models import AuditEvent
from crm.cli import main
from crm.directory.models import County, Region
from crm.employers.matching import name_key
from crm.employers.models import Employer
from crm.employers.zips import FillReport, fill_counties

NOW = dt.datetime(2026, 11, 26, 18, 0, tzinfo=dt.UTC)


async def _employer(db, name, zip_code, region=None, status="active", merged_into_id=None):
    region_id = await db.scalar(select(Region.id).where(Region.code == region)) if region else None
    e = Employer(legal_name=name, name_key=name_key(name), zip=zip_code, region_id=region_id, status=status,
                 merged_into_id=merged_into_id)
    db.add(e)
    await db.flush()
    return e.id


async def test_employers_without_a_county_get_their_zips_within_their_region(sessionmaker, db):
    async with sessionmaker() as s, s.begin():
        fresno = await _employer(s, "Fresno Almond Packers", "93721")  # no region: takes the ZIP's
        boyle = await _employer(s, "Boyle Heights Bakery", "90033", "LA-BASIN")
        mission = await _employer(s, "Mission Bakery", "94103", "LA-BASIN")  # a San Francisco ZIP, filed in LA
        reno = await _employer(s, "Reno Freight", "89501")  # not in California
        gone = await _employer(s, "Old Record Bakery", "90012", "LA-BASIN", status="merged", merged_into_id=boyle)
    async with sessionmaker() as s, s.begin():
        assert await fill_counties(s, NOW) == FillReport(filled=2, elsewhere=1)
    placed = {e.id: (e.county_id, e.region_id) for e in await db.scalars(select(Employer))}
    county = {n: (c, r) for c, n, r in await db.execute(select(County.id, County.name, County.region_id))}
    assert placed[fresno] == county["Fresno"] and placed[boyle] == county["Los Angeles"]
    assert placed[mission][0] is None and placed[reno] == (None, None) and placed[gone][0] is None
    events = (await db.scalars(select(AuditEvent).order_by(AuditEvent.employer_id))).all()
    assert [(e.employer_id, e.action, e.after["county_id"]) for e in events] == [
        (fresno, "employer.update", county["Fresno"][0]), (boyle, "employer.update", county["Los Angeles"][0])]
    async with sessionmaker() as s, s.begin():
        assert await fill_counties(s, NOW) == FillReport(filled=0, elsewhere=1)  # rerunnable


def test_the_command_says_what_it_did(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], catch_exceptions=False).exit_code == 0
    assert runner.invoke(main, ["seed"], catch_exceptions=False).exit_code == 0
    result = runner.invoke(main, ["employers", "fill-counties"], catch_exceptions=False)
    assert result.exit_code == 0 and result.output == "gave 0 employers their ZIP's county\n"
