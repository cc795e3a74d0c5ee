from sqlalchemy import text

from crm.migrate import head_revisions, stamp_head


async def test_healthz_answers_without_auth(client):
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_readyz_checks_the_database(client):
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


async def test_readyz_is_not_ready_while_the_database_is_behind_the_migrations(client, db):
    head = ", ".join(head_revisions())
    await db.execute(text("UPDATE alembic_version SET version_num = '0011'"))
    await db.commit()
    try:
        r = await client.get("/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "unavailable" and (body["current"], body["expected"]) == ("0011", head)
        assert "crm db upgrade" in body["reason"]
        assert (await client.get("/healthz")).status_code == 200  # the process is up all the same
    finally:  # PostgreSQL keeps the database between tests
        await db.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        await db.commit()


async def test_readyz_stays_ready_when_a_newer_release_migrated_the_database_during_a_rolling_deploy(client, db):
    head = ", ".join(head_revisions())
    await db.execute(text("UPDATE alembic_version SET version_num = '9999_next_release'"))
    await db.commit()
    try:
        r = await client.get("/readyz")
        assert r.status_code == 200 and r.json()["status"] == "ok"
        assert "9999_next_release, which this version of OneDoor does not know" in r.json()["schema"]
    finally:
        await db.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        await db.commit()


async def test_readyz_is_not_ready_on_a_database_that_was_never_migrated(client, db):
    await db.execute(text("DROP TABLE alembic_version"))
    await db.commit()
    try:
        r = await client.get("/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["current"] is None and body["expected"] == ", ".join(head_revisions())
        assert "no OneDoor tables" in body["reason"]
    finally:
        await (await db.connection()).run_sync(stamp_head)
        await db.commit()
