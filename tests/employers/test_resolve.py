"""Employer resolution for intake: by id, FEIN, domain, fuzzy name; merged -> survivor; review; none."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from crm.auth.principal import Principal
from crm.employers import service
from crm.employers.models import Employer, EmployerStatus
from crm.employers.resolve import resolve_employer
from crm.employers.schemas import EmployerIn
from crm.errors import FieldError


@pytest.fixture
async def maker(sessionmaker: Any, factory: Any) -> Any:
    """The test sessionmaker, with an admin who creates employers the way the app does (keys included)."""
    user = await factory.user("resolver@example.org", "Ria Resolver", [("admin", None)])
    sessionmaker.admin = Principal(id=user.id, email=user.email, name=user.name, organization_id=None,
                                   organization_name=None, roles={"admin": frozenset()})
    return sessionmaker


async def make(maker: Any, legal_name: str, **fields: Any) -> Employer:
    fields.setdefault("county", "Los Angeles")
    async with maker() as db, db.begin():
        return await service.create_employer(db, maker.admin, EmployerIn(legal_name=legal_name, **fields))


async def test_known_id_resolves_to_that_employer(maker, db):
    acme = await make(maker, "ACME Corporation")
    res = await resolve_employer(db, employer_id=acme.id, name="something else entirely")
    assert res.kind == "match" and res.employer is not None and res.employer.id == acme.id


async def test_unknown_id_is_a_field_error_naming_employer_id(db):
    with pytest.raises(FieldError) as exc:
        await resolve_employer(db, employer_id=987654)
    assert exc.value.fields[0][0] == "employer_id"


async def test_merged_employer_id_resolves_to_its_survivor(maker, db):
    survivor = await make(maker, "ACME Corporation", website="acme.com")
    loser = await make(maker, "Acme Corp West")
    async with maker() as s, s.begin():
        await s.execute(update(Employer).where(Employer.id == loser.id)
                        .values(status=EmployerStatus.merged.value, merged_into_id=survivor.id))
    res = await resolve_employer(db, employer_id=loser.id)
    assert res.kind == "match" and res.employer is not None and res.employer.id == survivor.id


async def test_fein_equality_wins_over_a_different_name(maker, db):
    acme = await make(maker, "ACME Corporation", fein="95-4812736")
    await make(maker, "Zenith Widgets")
    res = await resolve_employer(db, name="Zenith Widgets", fein="954812736")
    assert res.kind == "match" and res.employer is not None and res.employer.id == acme.id
    assert "same FEIN 95-4812736" in res.candidates[0][1].explanation


async def test_malformed_fein_is_a_field_error(db):
    with pytest.raises(FieldError) as exc:
        await resolve_employer(db, name="Acme", fein="12-34")
    assert exc.value.fields[0][0] == "fein"


async def test_normalized_domain_equality_resolves(maker, db):
    acme = await make(maker, "ACME Corporation", website="https://www.acme.com/about")
    res = await resolve_employer(db, name="Totally Different Name", website="http://acme.com")
    assert res.kind == "match" and res.employer is not None and res.employer.id == acme.id
    assert "same domain acme.com" in res.candidates[0][1].explanation


async def test_free_mail_domain_does_not_resolve_by_domain(maker, db):
    await make(maker, "Gmail Fans Club", website="gmail.com")
    res = await resolve_employer(db, name="Blue Sky Bakery", website="gmail.com")
    assert res.kind == "none"


async def test_suffix_variant_of_a_name_resolves_by_fuzzy_match(maker, db):
    acme = await make(maker, "ACME Corporation", zip="90021")
    await make(maker, "Blue Sky Bakery")
    res = await resolve_employer(db, name="Acme Corp.", zip="90021")
    assert res.kind == "match" and res.employer is not None and res.employer.id == acme.id


async def test_typo_in_a_name_resolves_through_stored_keys(maker, db):
    torres = await make(maker, "Torres Equipment Repair LLC", zip="90012")
    res = await resolve_employer(db, name="Torres Equipmnet Repair", zip="90012")
    assert res.kind == "match" and res.employer is not None and res.employer.id == torres.id


async def test_two_equally_good_employers_need_review(maker, db):
    a = await make(maker, "Acme Logistics", zip="90021")
    b = await make(maker, "Acme Foods", zip="90021")
    res = await resolve_employer(db, name="Acme")
    assert res.kind == "review" and res.employer is None
    assert {e.id for e, _ in res.candidates} >= {a.id, b.id}


async def test_unknown_name_resolves_to_none(maker, db):
    await make(maker, "ACME Corporation")
    res = await resolve_employer(db, name="Quokka Quantum Kitchens")
    assert res.kind == "none" and res.employer is None and res.candidates == []


async def test_merged_employers_are_never_returned_by_name(maker, db):
    loser = await make(maker, "Blue Sky Bakery")
    survivor = await make(maker, "Sunrise Foods")
    async with maker() as s, s.begin():
        await s.execute(update(Employer).where(Employer.id == loser.id)
                        .values(status=EmployerStatus.merged.value, merged_into_id=survivor.id))
    res = await resolve_employer(db, name="Blue Sky Bakery")
    assert all(e.id != loser.id for e, _ in res.candidates)
    assert res.employer is None or res.employer.id != loser.id


async def test_employer_inserted_without_keys_is_still_found_by_name(world, db):
    # Fixtures and bulk loads insert rows directly; exact and prefix names must still resolve.
    acme = await world.f.employer("ACME Corporation")
    res = await resolve_employer(db, name="Acme Corp")
    assert res.kind == "match" and res.employer is not None and res.employer.id == acme.id


async def test_resolution_is_deterministic(maker, db):
    for name in ("Acme Logistics", "Acme Foods", "Acme Plumbing"):
        await make(maker, name)
    first = await resolve_employer(db, name="Acme")
    second = await resolve_employer(db, name="Acme")
    assert [(e.id, r.score) for e, r in first.candidates] == [(e.id, r.score) for e, r in second.candidates]


async def test_same_name_in_two_regions_resolves_to_the_requests_region(maker, factory, db):
    local = await make(maker, "Harbor Freight Terminal", county="Los Angeles")
    await make(maker, "Harbor Freight Terminal", county="San Mateo")
    la = await factory.region("LA-BASIN")
    assert (await resolve_employer(db, name="Harbor Freight Terminal")).kind == "review"
    res = await resolve_employer(db, name="Harbor Freight Terminal", region_id=la.id)
    assert res.kind == "match" and res.employer is not None and res.employer.id == local.id
