"""Candidate retrieval: the indexed keys find prefixes, aliases and typos; keys follow every change."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update

from crm.auth.principal import Principal
from crm.employers import service
from crm.employers.candidates import (
    Query,
    employer_search_key,
    find_candidates,
    match_candidates,
    record_keys,
    refresh_keys,
    reindex_all,
)
from crm.employers.matching import EmployerRecord
from crm.employers.models import Employer, EmployerStatus
from crm.employers.schemas import EmployerIn, EmployerPatch


@pytest.fixture
async def admin(factory: Any) -> Principal:
    user = await factory.user("keys@example.org", "Kim Keys", [("admin", None)])
    return Principal(id=user.id, email=user.email, name=user.name, organization_id=None, organization_name=None,
                     roles={"admin": frozenset()})


async def make(sessionmaker: Any, admin: Principal, legal_name: str, **fields: Any) -> Employer:
    fields.setdefault("county", "Los Angeles")
    async with sessionmaker() as db, db.begin():
        return await service.create_employer(db, admin, EmployerIn(legal_name=legal_name, **fields))


async def ids_for(db: Any, **query: Any) -> list[int]:
    return [c.id for c in await find_candidates(db, Query(**query))]


async def test_prefix_of_a_later_word_finds_the_employer(sessionmaker, admin, db):
    logistics = await make(sessionmaker, admin, "Golden State Logistics LLC")
    await make(sessionmaker, admin, "Golden State Bakery")
    # "logi" is neither the start of the name nor a whole word: only the stored word keys know it.
    assert logistics.id in await ids_for(db, name="golden state logi")
    ranked = await match_candidates(db, Query(name="golden state logi"))
    assert ranked[0][0].id == logistics.id


async def test_alias_finds_the_employer(sessionmaker, admin, db):
    acme = await make(sessionmaker, admin, "ACME Corporation", aliases=["Roadrunner Supply"])
    ranked = await match_candidates(db, Query(name="Roadrunner Supply"))
    assert ranked and ranked[0][0].id == acme.id


async def test_typo_finds_the_employer(sessionmaker, admin, db):
    torres = await make(sessionmaker, admin, "Torres Equipment Repair LLC")
    await make(sessionmaker, admin, "Torres Bakery")
    assert torres.id in await ids_for(db, name="Toress Equipment Repair")
    assert torres.id in await ids_for(db, name="Torres Equipmnet Repair")


async def test_typo_is_found_when_its_other_keys_are_shared_by_many(sessionmaker, admin, db):
    # 81 "Garcia ..." employers share every key of "Garcia Plubming" that the typo leaves intact
    # (the first word, the first letters, the word halves): more than any probe reads. Only
    # "o:garcia p" (the misspelt word cut to its initial) is shared by the target alone.
    for first in ("Sun", "Moon", "Star", "Sky", "Sea", "Oak", "Elm", "Ash", "Bay"):
        for second in ("field", "stone", "brook", "ridge", "wood", "gate", "light", "crest", "vale"):
            await make(sessionmaker, admin, f"Garcia {first}{second}")
    target = await make(sessionmaker, admin, "Garcia Plumbing Inc")  # the highest id: last in every key
    assert target.id in await ids_for(db, name="Garcia Plubming")
    ranked = await match_candidates(db, Query(name="Garcia Plubming"))
    assert ranked[0][0].id == target.id


def test_keys_include_the_name_with_each_word_cut_to_its_initial():
    keys = record_keys(EmployerRecord(id=1, name="Garcia & Sons Plumbing, Inc.", aliases=("GSP Services",)))
    assert {"o:g sons plumbing", "o:garcia s plumbing", "o:garcia sons p"} <= keys
    assert {k for k in record_keys(EmployerRecord(id=2, name="Bechtel Corporation")) if k.startswith("o:")} == set()


async def test_phone_alone_finds_the_employer(sessionmaker, admin, db):
    site = await make(sessionmaker, admin, "Harbor Freight Terminal", phone="(213) 555-0199")
    assert site.id in await ids_for(db, name="Unknown Name Here", phone="213-555-0199")


async def test_domain_typed_into_the_name_field_finds_the_employer(sessionmaker, admin, db):
    acme = await make(sessionmaker, admin, "ACME Corporation", website="https://www.acme.com")
    ranked = await match_candidates(db, Query(name="acme.com"))
    assert ranked[0][0].id == acme.id and "same domain acme.com" in ranked[0][1].explanation


async def test_a_common_word_does_not_flood_the_candidates(sessionmaker, admin, db):
    for i in range(30):
        await make(sessionmaker, admin, f"Pacific {['Alpha', 'Beta', 'Gamma'][i % 3]}{i} Plumbing")
    target = await make(sessionmaker, admin, "Zephyr Plumbing")
    found = await ids_for(db, name="zephyr plumbing")
    assert found[0] == target.id and len(found) <= 20


async def test_renaming_an_employer_moves_its_keys(sessionmaker, admin, db):
    employer = await make(sessionmaker, admin, "Blue Sky Bakery")
    async with sessionmaker() as s, s.begin():
        await service.update_employer(s, admin, employer.id, EmployerPatch(legal_name="Quokka Quantum Kitchens"))
    assert employer.id in await ids_for(db, name="Quokka Quantm Kitchens")  # typo: key table only
    assert employer.id not in await ids_for(db, name="Blue Sky Bakry")


async def test_added_alias_is_searchable(sessionmaker, admin, db):
    employer = await make(sessionmaker, admin, "Blue Sky Bakery")
    async with sessionmaker() as s, s.begin():
        await service.add_alias(s, admin, await service.get_employer(s, employer.id), "Nimbus Breads")
    assert employer.id in await ids_for(db, name="Nimbus Bread")


async def test_merged_employer_loses_its_keys_on_refresh(sessionmaker, admin, db):
    loser = await make(sessionmaker, admin, "Blue Sky Bakery")
    survivor = await make(sessionmaker, admin, "Sunrise Foods")
    async with sessionmaker() as s, s.begin():
        await s.execute(update(Employer).where(Employer.id == loser.id)
                        .values(status=EmployerStatus.merged.value, merged_into_id=survivor.id))
        await refresh_keys(s, [loser.id])
    count = await db.scalar(select(func.count()).select_from(employer_search_key)
                            .where(employer_search_key.c.employer_id == loser.id))
    assert count == 0
    assert loser.id not in await ids_for(db, name="Blue Sky Bakery")


async def test_reindex_fills_keys_for_rows_inserted_without_them(world, db):
    employer = await world.f.employer("Torres Equipment Repair LLC", keys=False)
    assert employer.id not in await ids_for(db, name="Toress Equipment Repair")
    await db.rollback()
    employers, keys = await reindex_all(db)
    await db.commit()
    assert employers >= 1 and keys > 0
    assert employer.id in await ids_for(db, name="Toress Equipment Repair")


async def test_reindex_writes_exactly_the_keys_kept_by_every_change(sessionmaker, admin, db):
    acme = await make(sessionmaker, admin, "ACME Corporation", website="https://acme.com", phone="(213) 555-0100",
                      address_line="100 Main St", zip="90012", aliases=["Roadrunner Supply"])
    bakery = await make(sessionmaker, admin, "Blue Sky Bakery")
    async with sessionmaker() as s, s.begin():
        await service.update_employer(s, admin, bakery.id, EmployerPatch(legal_name="Blue Sky Bakery & Cafe"))
        await service.add_alias(s, admin, await service.get_employer(s, acme.id), "Acme West")
    keys = employer_search_key.c

    async def stored() -> set[tuple[str, int]]:
        return {(k, e) for k, e in await db.execute(select(keys.key, keys.employer_id))}

    kept = await stored()
    assert {("o:blue s bakery cafe", bakery.id), ("o:roadrunner s", acme.id)} <= kept
    await db.rollback()
    async with db.begin():
        assert await reindex_all(db) == (2, len(kept))
    assert await stored() == kept


async def test_empty_query_finds_nothing(db):
    assert await find_candidates(db, Query(name="  ")) == []
