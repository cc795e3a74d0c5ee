"""A merge's survivor takes the profile fields it lacks from the other record, never over its own, and
undo gives its blanks back (``crm.employers.merge_profile``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from crm.employers.candidates import employer_search_key, keys_for, load_candidates
from crm.employers.duplicate_models import EmployerMergeChange
from crm.employers.merge_profile import profile_fills
from crm.employers.models import Employer
from tests.employers.test_merge import do_merge, do_undo, table_rows

_SKIP = {"audit_event", "employer_merge", "employer_merge_change", "employer_search_key", "session_store", "job_run"}
PROFILE = ("dba", "website", "domain", "fein", "phone", "naics_code", "sector_code", "size_band", "address_line",
           "city", "zip", "county_id", "region_id")


async def _bare(world: Any, name: str, **fields: Any) -> Employer:
    """An employer with nothing but its name (and its county and region unless given as None)."""
    employer = await world.f.employer(name, **{k: v for k, v in fields.items() if k not in ("county_id", "region_id")})
    placed = {k: v for k, v in fields.items() if k in ("county_id", "region_id")}
    if placed:
        async with world.f.sessionmaker() as s, s.begin():
            await s.execute(update(Employer).where(Employer.id == employer.id).values(**placed))
    return employer


async def _fresh(db: Any, employer_id: int) -> Employer:
    await db.rollback()
    return await db.get(Employer, employer_id, populate_existing=True)


async def test_the_survivor_takes_every_profile_field_it_lacks_and_undo_gives_its_blanks_back(world, sessionmaker,
                                                                                              db):
    survivor = await _bare(world, "Pacific Tile Works")
    loser = await world.f.employer("Pacific Tile", dba="PTW Ceramics", website="https://www.pacifictile.com",
                                   fein="95-4812736", phone="+13105550142", naics_code="327120", size_band="50-249",
                                   address_line="1200 S Alameda St", city="Los Angeles", zip="90021")
    before = await table_rows(db, _SKIP)
    keys_before = set(await db.scalars(select(employer_search_key.c.key)
                                       .where(employer_search_key.c.employer_id == survivor.id)))

    m = await do_merge(sessionmaker, world.users["lead"], loser.id, survivor.id)

    took = await _fresh(db, survivor.id)
    lost = await db.get(Employer, loser.id)
    assert {c: getattr(took, c) for c in PROFILE} == {c: getattr(lost, c) for c in PROFILE}
    assert m.summary["filled"] == ["DBA", "website", "FEIN", "phone", "NAICS code", "size band", "address"]
    # Logged as the merge's changes of the survivor's row, which undo puts back.
    logged = [c for c in await db.scalars(select(EmployerMergeChange).where(
        EmployerMergeChange.merge_id == m.id, EmployerMergeChange.table_name == "employer"))
        if c.row_keys == [{"id": survivor.id}]]
    assert {"phone", "fein", "website", "domain", "address_line"} <= {k for c in logged for k in (c.after or {})}
    # Its search keys are those of what it now holds: found by what it took.
    stored = set(await db.scalars(select(employer_search_key.c.key)
                                  .where(employer_search_key.c.employer_id == survivor.id)))
    assert stored == keys_for((await load_candidates(db, [survivor.id]))[0]) and stored > keys_before

    await do_undo(sessionmaker, world.users["lead"], m.id)
    assert await table_rows(db, _SKIP) == before
    blank = await _fresh(db, survivor.id)
    assert all(getattr(blank, c) is None for c in PROFILE if c not in ("county_id", "region_id"))


async def test_a_value_the_survivor_has_is_never_overwritten(world, sessionmaker, db):
    survivor = await world.f.employer("Harbor Freight Lines", phone="+13105550100", website="https://harborfl.com",
                                      city="Long Beach")
    loser = await world.f.employer("Harbor Freight", phone="+13105550199", website="https://harbor-freight.net",
                                   address_line="1 Harbor Blvd", city="San Pedro", zip="90731", size_band="10-49")
    m = await do_merge(sessionmaker, world.users["lead"], loser.id, survivor.id)
    took = await _fresh(db, survivor.id)
    assert (took.phone, took.domain, took.city) == ("+13105550100", "harborfl.com", "Long Beach")
    # The address goes as one block: a city of its own means no street and ZIP of the other's.
    assert (took.address_line, took.zip) == (None, None)
    assert took.size_band == "10-49" and m.summary["filled"] == ["size band"]


async def test_a_fein_or_website_another_employer_has_too_is_not_taken(world, sessionmaker, db):
    await world.f.employer("Coastal Foods Distribution", fein="95-4812736", website="https://coastalfoods.com")
    survivor = await _bare(world, "Coastal Foods Inc")
    loser = await world.f.employer("Coastal Foods", fein="95-4812736", website="https://www.coastalfoods.com",
                                   phone="+13105550142")
    m = await do_merge(sessionmaker, world.users["lead"], loser.id, survivor.id)
    took = await _fresh(db, survivor.id)
    assert (took.fein, took.domain, took.phone) == (None, None, "+13105550142")
    assert m.summary["filled"] == ["phone"]


async def test_an_address_in_another_county_is_not_taken_and_one_with_no_place_takes_its_county_and_region(
        world, sessionmaker, db):
    survivor = await _bare(world, "Sierra Pipe Supply")  # in Los Angeles county, no address
    loser = await world.f.employer("Sierra Pipe", county="Orange", address_line="5 Main St", city="Irvine",
                                   zip="92618")
    await do_merge(sessionmaker, world.users["admin"], loser.id, survivor.id)
    took = await _fresh(db, survivor.id)
    assert (took.address_line, took.city, took.zip) == (None, None, None)

    unplaced = await _bare(world, "Mesa Ready Mix", county_id=None, region_id=None)
    other = await world.f.employer("Mesa Ready-Mix", county="Orange", address_line="5 Main St", city="Irvine",
                                   zip="92618")
    await do_merge(sessionmaker, world.users["admin"], other.id, unplaced.id)
    took, lost = await _fresh(db, unplaced.id), await db.get(Employer, other.id)
    assert (took.address_line, took.city, took.zip, took.county_id, took.region_id) == (
        "5 Main St", "Irvine", "92618", lost.county_id, lost.region_id)


def test_profile_fills_take_blocks_whole_and_only_where_the_survivor_is():
    loser = {"address_line": "5 Main St", "city": "Irvine", "zip": "92618", "county_id": 30, "region_id": 7,
             "dba": "Acme", "naics_code": "3271", "sector_code": "31-33"}
    # A survivor with part of the block takes none of it; one with the same county takes street, city and ZIP.
    assert "address" not in profile_fills({"zip": "92618", "county_id": 30}, loser, place_region=7).fills
    assert profile_fills({"county_id": 30, "region_id": 7}, loser, place_region=7).fills["address"] == {
        "address_line": "5 Main St", "city": "Irvine", "zip": "92618"}
    # No county but a region: the address's county if it lies in that region, else nothing.
    assert profile_fills({"region_id": 7}, loser, place_region=7).fills["address"]["county_id"] == 30
    assert profile_fills({"region_id": 8}, loser, place_region=7).refused["address"] == "it lies in another region"
    # NAICS code and sector go together; a DBA that is the survivor's own name is not taken.
    take = profile_fills({"legal_name": "ACME", "region_id": 7, "county_id": 30}, loser, place_region=7)
    assert take.fills["NAICS code"] == {"naics_code": "3271", "sector_code": "31-33"} and "DBA" not in take.fills
    assert profile_fills({"fein": None}, {"fein": "954812736"}, place_region=None,
                         held_elsewhere={"fein": 12}).refused == {"FEIN": "employer #12 has the same FEIN too"}
