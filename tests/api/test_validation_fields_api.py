"""A validation error names the field to fix, however deep in the body it is, and a body that is not an
object is blamed on the body (not on Litestar's handler argument ``data``)."""

import datetime as dt

import msgspec
import pytest

from crm import clock
from crm.errors import validation_path
from crm.touches.touch_schemas import CompleteIn


def _fields(r):
    assert r.status_code == 422, r.text
    return [f["field"] for f in r.json()["error"]["fields"]]


@pytest.fixture
async def touch(world, desk):
    e = await world.f.employer("Golden State Logistics LLC")
    t = await desk.touch(e, world.users["spoc"])
    request = await desk.request(t, world.users["partner"], purpose="hiring", summary="10 forklift drivers")
    return t, request


async def test_an_outcome_missing_its_value_names_outcome_not_the_list_entry(client, world, touch):
    t, request = touch
    r = await client.post(f"/api/touches/{t.id}/complete", headers=await world.f.auth(world.users["spoc"]),
                          json={"channel": "call", "outcomes": [{"request_id": request.id}]})
    assert _fields(r) == ["outcomes[0].outcome"]


async def test_an_unknown_outcome_is_named_by_its_place_in_the_list_not_by_its_request_id(client, world, touch):
    t, request = touch
    r = await client.post(f"/api/touches/{t.id}/complete", headers=await world.f.auth(world.users["spoc"]),
                          json={"channel": "call", "outcomes": [{"request_id": request.id, "outcome": "bogus"}]})
    assert _fields(r) == ["outcomes[0].outcome"]


async def test_a_hand_off_missing_its_need_names_need(client, world, touch):
    t, request = touch
    r = await client.post(f"/api/touches/{t.id}/complete", headers=await world.f.auth(world.users["spoc"]), json={
        "channel": "call", "outcomes": [{"request_id": request.id, "outcome": "interested"}],
        "hand_offs": [{"to_org_id": world.orgs["college"].id}]})
    assert _fields(r) == ["hand_offs[0].need"]


async def test_a_blackout_missing_its_end_names_ends_on(client, world):
    e = await world.f.employer("Valley Harvest Foods")
    start = (clock.today() + dt.timedelta(days=5)).isoformat()
    r = await client.put(f"/api/employers/{e.id}/preferences", headers=await world.f.auth(world.users["lead"]),
                         json={"blackouts": [{"starts_on": start}]})
    assert _fields(r) == ["blackouts[0].ends_on"]


@pytest.mark.parametrize("body", ["[]", '"x"', "null", "7"])
async def test_a_body_that_is_not_an_object_is_blamed_on_the_body(client, world, body):
    r = await client.post("/api/employers", content=body, headers={
        **await world.f.auth(world.users["lead"]), "content-type": "application/json"})
    assert _fields(r) == ["body"]


def test_validation_path_names_the_missing_field_inside_a_list_entry():
    with pytest.raises(msgspec.ValidationError) as exc:
        msgspec.convert({"hand_offs": [{"to_org_id": 3}]}, CompleteIn)
    assert validation_path(exc.value) == "hand_offs[0].need"
