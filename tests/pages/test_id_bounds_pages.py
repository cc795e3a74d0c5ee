"""Forms and page links that carry an id: "²" (str.isdigit() says yes, int() says no) or a number past 64 bits
is a 4xx naming the field, or simply no choice — never a 500 (crm.ids.parse_id)."""

from __future__ import annotations

import pytest

from tests.factories import csrf, login
from tests.touches.conftest import SpocDesk, today

SUPERSCRIPT, TWENTY_DIGITS = "²", "9" * 20
NOT_IDS = [SUPERSCRIPT, TWENTY_DIGITS]

# (values that used to crash, method, url, form or query, status after any redirect, what the page then says);
# {e} and {t} are a real employer and touch, {v} the value under test.
CASES = [
    ([TWENTY_DIGITS], "GET", "/queue/log", {"employer_id": "{v}"}, 422, "employer_id"),
    (NOT_IDS, "POST", "/queue/log", {"employer_id": "{v}", "channel": "call", "occurred_on": "{day}"}, 422,
     "choose from the list"),
    (NOT_IDS, "POST", "/queue/touches/{t}/complete", {"outcome_{v}": "interested", "channel": "call"}, 200,
     None),  # names no request
    ([SUPERSCRIPT], "POST", "/queue/touches/{t}/reassign", {"spoc_id": "{v}"}, 422, "choose from the list"),
    ([SUPERSCRIPT], "POST", "/queue/touches/{t}/schedule",
     {"scheduled_on": "{day}", "channel": "call", "contact_ids": "{v}"}, 422, "choose from the list"),
    (NOT_IDS, "GET", "/requests/panel", {"employer_id": "{v}"}, 200, None),  # no employer chosen yet
    ([TWENTY_DIGITS], "GET", "/requests/new", {"employer_id": "{v}"}, 422, "employer_id"),
    (NOT_IDS, "POST", "/requests/new", {"employer_id": "{v}", "purpose": "hiring"}, 422, "is not an employer id"),
    (NOT_IDS, "POST", "/employers/{e}/merge", {"into": "{v}"}, 200, "give the number of the employer that survives"),
    ([SUPERSCRIPT], "POST", "/region/LA-BASIN/policy", {"max_touches": "{v}", "period_days": "30",
                                                        "min_gap_days": "7"}, 422, "must be a whole number"),
    ([SUPERSCRIPT], "POST", "/region/LA-BASIN/rules", {"pool": "{v}"}, 422, "choose at least one SPOC"),
]


@pytest.mark.parametrize(("value", "method", "url", "fields", "status", "says"),
                         [(value, *case) for values, *case in CASES for value in values])
async def test_a_value_that_cannot_be_an_id_is_refused_or_unchosen_never_500(client, world, sessionmaker, value,
                                                                             method, url, fields, status, says):
    employer = await world.f.employer("Pacific Steel Fabricators")
    touch = await SpocDesk(sessionmaker).touch(employer, world.users["spoc"])
    await login(client, world.users["lead"].email)
    slots = {"e": employer.id, "t": touch.id, "v": value, "day": today().isoformat()}
    data = {k.format(**slots): v.format(**slots) for k, v in fields.items()}
    if method == "GET":
        r = await client.get(url.format(**slots), params=data)
    else:
        r = await client.post(url.format(**slots), data=data, headers=csrf(client), follow_redirects=True)
    assert r.status_code == status, r.text
    assert says is None or says in r.text


@pytest.mark.parametrize("url", ["/employers/", "/queue/"])
@pytest.mark.parametrize("q", NOT_IDS)
async def test_searching_pages_for_a_number_that_cannot_be_an_id_is_a_normal_page(client, world, url, q):
    await login(client, world.users["lead"].email)
    r = await client.get(url, params={"q": q})
    assert r.status_code == 200, r.text
