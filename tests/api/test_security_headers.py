"""Every answer -- page, API, static file, error, the API reference -- carries the headers that keep the
pages out of other sites' frames, downloads from being sniffed and addresses from leaking as referrers."""

import pytest

from crm.headers import SECURITY_HEADERS

EXPECTED = {name.decode(): value.decode() for name, value in SECURITY_HEADERS}


@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/employers", "/static/favicon.svg", "/no-such-page",
                                  "/schema", "/api/touches/x"])
async def test_every_answer_carries_the_security_headers(client, path):
    r = await client.get(path, follow_redirects=False)
    assert {name: r.headers.get(name) for name in EXPECTED} == EXPECTED, (path, r.status_code)
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


async def test_a_signed_in_page_and_a_csv_download_carry_them_once(client, world):
    from tests.factories import login

    await login(client, world.users["lead"].email)
    for path in ("/queue", "/api/crosswalk/csv?region=LA-BASIN"):
        r = await client.get(path)
        assert r.status_code == 200, path
        for name in EXPECTED:
            assert r.headers.get_list(name) == [EXPECTED[name]], (path, name)
