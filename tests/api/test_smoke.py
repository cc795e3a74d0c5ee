async def test_healthz_answers_without_auth(client):
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_readyz_checks_the_database(client):
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
