"""The API reference (/schema/openapi.json) documents what the server answers: crm.errors' one error
shape for every error status an operation can answer, which operations are public, optional bodies."""

import json

import msgspec

from crm.openapi import Error

OPERATIONS = ("get", "put", "post", "patch", "delete")


async def _schema(client):
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    return r.json()


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in OPERATIONS:
                yield f"{method.upper()} {path}", operation


async def test_touch_request_submission_documents_its_422_with_the_error_component(client):
    responses = (await _schema(client))["paths"]["/api/touch-requests"]["post"]["responses"]
    assert responses["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert {"400", "401", "403", "409", "413"} <= set(responses)


async def test_no_operation_documents_litestars_default_error_body(client):
    schema = await _schema(client)
    for name, operation in _operations(schema):
        for status, response in operation["responses"].items():
            if int(status) >= 400 and status != "503":
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, (
                    name, status)
        assert '"detail"' not in json.dumps(operation["responses"]) and '"extra"' not in json.dumps(
            operation["responses"]), name


async def test_each_operation_documents_the_errors_it_can_answer_and_no_others(client):
    paths = (await _schema(client))["paths"]
    codes = lambda method, path: set(paths[path][method]["responses"])  # noqa: E731
    # A read of one record: unauthenticated, refused, not found, a bad id; no body to be malformed.
    assert codes("get", "/api/employers/{employer_id}") == {"200", "401", "403", "404", "422"}
    # A read without parameters cannot answer 422, nor 404.
    assert codes("get", "/api/regions") == {"200", "401", "403"}
    # A write with a body: not JSON, too large, invalid, and conflicts.
    assert codes("post", "/api/employers") == {"201", "400", "401", "403", "409", "413", "422"}
    # A region named in the query that does not exist: 422 for most lists, 404 for reports and the crosswalk.
    assert "404" in codes("get", "/api/reports/bundling") and "404" in codes("get", "/api/crosswalk")


async def test_the_error_component_describes_what_the_server_answers(client, world):
    r = await client.post("/api/touch-requests", json={"employer_id": "x"},
                          headers=await world.f.auth(world.users["partner"]))
    assert r.status_code == 422
    error = msgspec.convert(r.json(), Error)
    assert error.error.status == 422 and error.error.fields[0].field == "employer_id"
    unauthenticated = await client.get("/api/regions")
    assert msgspec.convert(unauthenticated.json(), Error).error.status == 401


async def test_signing_in_and_the_probes_are_public_in_the_schema(client):
    schema = await _schema(client)
    assert schema["security"] == [{"bearer": []}]
    paths = schema["paths"]
    for method, path in (("post", "/api/auth/token"), ("get", "/healthz"), ("get", "/readyz")):
        assert paths[path][method]["security"] == [{}], path
        assert "403" not in paths[path][method]["responses"], path
    # Everything else keeps the app-wide bearer requirement (no operation-level override).
    assert "security" not in paths["/api/auth/token"]["delete"]
    assert "security" not in paths["/api/employers"]["get"]


async def test_signing_in_documents_wrong_credentials_and_too_many_attempts(client):
    responses = (await _schema(client))["paths"]["/api/auth/token"]["post"]["responses"]
    assert {"401", "422", "429"} <= set(responses) and "403" not in responses
    assert responses["429"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


async def test_readyz_documents_its_503(client):
    responses = (await _schema(client))["paths"]["/readyz"]["get"]["responses"]
    assert set(responses) == {"200", "503"}


async def test_withdrawing_a_request_documents_its_body_as_optional(client):
    paths = (await _schema(client))["paths"]
    assert paths["/api/touch-requests/{request_id}/withdraw"]["post"]["requestBody"]["required"] is False
    assert paths["/api/touch-requests"]["post"]["requestBody"]["required"] is True


def _walk(node, path=""):
    """Every (path, schema object) of a JSON document."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}/{i}")


async def test_bodies_that_refuse_unknown_fields_say_so_and_answers_do_not(client, world):
    schemas = (await _schema(client))["components"]["schemas"]
    for name in ("TouchRequestIn", "EmployerQueryIn", "CompleteIn", "OutcomeIn", "EmployerPatch", "PreferencesIn"):
        assert schemas[name]["additionalProperties"] is False, name
    assert "additionalProperties" not in schemas["TouchRequestOut"]
    r = await client.post("/api/touch-requests", json={"employer_id": 1, "purpose": "hiring", "colour": "red"},
                          headers=await world.f.auth(world.users["partner"]))
    assert r.status_code == 422 and "colour" in r.text


async def test_fields_with_a_fixed_list_of_values_document_it_as_their_enum(client):
    from crm.employers.models import SizeBand
    from crm.touches.routing import Channel, Outcome, Priority, Purpose, TouchStatus

    schema = await _schema(client)
    props = lambda name: schema["components"]["schemas"][name]["properties"]  # noqa: E731
    assert props("TouchRequestIn")["purpose"]["enum"] == [p.value for p in Purpose]
    assert props("TouchRequestIn")["priority"]["enum"] == [p.value for p in Priority]
    assert props("OutcomeIn")["outcome"]["enum"] == [o.value for o in Outcome]
    assert props("ScheduleIn")["channel"]["enum"] == [c.value for c in Channel]
    # A field that may be null lists null among its values; merging is its own action, not a status to set.
    assert props("EmployerPatch")["size_band"]["enum"] == [*(b.value for b in SizeBand), None]
    assert props("EmployerPatch")["status"]["enum"] == ["active", "provisional"]
    status = next(p for p in schema["paths"]["/api/touches"]["get"]["parameters"] if p["name"] == "status")
    assert status["schema"]["enum"] == ["open", *(s.value for s in TouchStatus)]
    from crm.reports.api import REPORTS

    report = next(p for p in schema["paths"]["/api/reports/{name}/csv"]["get"]["parameters"] if p["name"] == "name")
    assert report["schema"]["enum"] == list(REPORTS)


async def test_a_value_left_out_of_an_enum_is_refused_with_every_other_problem_of_the_body(client, world):
    r = await client.post("/api/touch-requests", json={"employer_id": 1, "purpose": "", "priority": "urgent"},
                          headers=await world.f.auth(world.users["partner"]))
    assert r.status_code == 422
    assert {f["field"] for f in r.json()["error"]["fields"]} >= {"purpose", "priority"}


async def test_number_bounds_are_the_exact_integers_the_server_enforces(client):
    from crm.ids import MAX_ID

    schema = await _schema(client)
    for path, node in _walk(schema):
        for key in ("minimum", "maximum"):
            if key in node:
                assert isinstance(node[key], int), (path, key, node[key])
    touch_id = schema["paths"]["/api/touches/{touch_id}/schedule"]["post"]["parameters"][0]["schema"]
    assert (touch_id["minimum"], touch_id["maximum"]) == (1, MAX_ID)
    limit = next(p for p in schema["paths"]["/api/touches"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 200)


async def test_list_items_carry_their_own_constraints(client):
    from crm.ids import MAX_ID

    schemas = (await _schema(client))["components"]["schemas"]
    assert schemas["LogTouchIn"]["properties"]["contact_ids"]["items"] == {
        "type": "integer", "minimum": 1, "maximum": MAX_ID}
    assert schemas["EmployerIn"]["properties"]["aliases"]["items"]["maxLength"] == 200
    assert schemas["PartnershipIn"]["properties"]["naics_prefixes"]["items"]["pattern"] == r"^\d{2,6}$"


async def test_a_field_that_may_be_left_out_is_documented_as_its_type_alone(client):
    name = (await _schema(client))["components"]["schemas"]["PartnershipPatch"]["properties"]["name"]
    assert name["type"] == "string" and "oneOf" not in name


async def test_limits_the_server_says_in_words_are_documented_too(client):
    schema = await _schema(client)
    policy = schema["components"]["schemas"]["PolicyIn"]["properties"]
    assert {k: (v["minimum"], v["maximum"]) for k, v in policy.items()} == {
        "max_touches": (1, 366), "period_days": (1, 366), "min_gap_days": (0, 366)}
    assert schema["components"]["schemas"]["OrganizationServicesIn"]["properties"]["services"]["maxItems"] == 100
    for report in ("touches-per-employer", "bundling", "response-times", "employer-measures"):
        params = schema["paths"][f"/api/reports/{report}"]["get"]["parameters"]
        assert {p["name"]: p["schema"].get("format") for p in params if p["name"] in ("from", "to")} == {
            "from": "date", "to": "date"}
