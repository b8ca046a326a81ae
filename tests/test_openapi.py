"""The OpenAPI document served at ``/_emulator/openapi.json``: a valid OpenAPI 3.1 document that lists every route
of the route table with its method, whose references all resolve inside it, whose server is the emulator, and
whose schemas describe what the emulator really answers on every route that declares one.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from werkzeug.test import Client

from lro_emulator import Code, Emulator
from lro_emulator.rest.openapi import openapi_document  # internal: the document builder and the route table under test
from lro_emulator.wire.routes import (  # internal: the document builder and the route table under test
    ALL_ROUTES,
    CONTROL_ROUTES,
    ROUTES,
    Route,
)
from lro_emulator.wire.validation import load_schemas  # internal: the document builder and the route table under test

from .helpers import struct

JSON = dict[str, Any]
DOCUMENT_URI = "urn:lro-emulator:openapi"
NAME = "projects/p/operations/export-1"
FAILED = "projects/p/operations/failed"


def openapi_path(route: Route) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.rule)


@pytest.fixture
def document(lro_emulator: Emulator) -> JSON:
    response = requests.get(f"{lro_emulator.url}/_emulator/openapi.json", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    served: JSON = response.json()
    return served


def validator(document: JSON, schema: JSON) -> Draft202012Validator:
    """A validator of ``schema`` (a fragment of the document) that resolves references inside the document."""
    registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, DRAFT202012.create_resource(document))
    reference = schema.get("$ref")
    root = {"$ref": DOCUMENT_URI + reference} if isinstance(reference, str) else schema
    return Draft202012Validator(root, registry=registry)


def response_schema(document: JSON, route: Route, status: str = "200") -> JSON:
    operation = document["paths"][openapi_path(route)][route.method.lower()]
    schema: JSON = operation["responses"][status]["content"]["application/json"]["schema"]
    return schema


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(document: JSON, reference: str) -> Any:
    assert reference.startswith("#/"), reference
    node: Any = document
    for part in reference[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


# -- the document itself -----------------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1(document: JSON) -> None:
    validate(document, cls=OpenAPIV31SpecValidator)

    assert document["openapi"] == "3.1.0"
    assert document["jsonSchemaDialect"] == "https://json-schema.org/draft/2020-12/schema"


def test_a_broken_copy_is_not_valid_so_the_check_means_something(document: JSON) -> None:
    broken = {**document, "paths": {"/x": {"get": {"responses": {"200": {"description": 42}}}}}}

    with pytest.raises(Exception, match=r"42 is not of type ['\"]string['\"]"):
        validate(broken, cls=OpenAPIV31SpecValidator)


def test_the_server_is_the_emulator(lro_emulator: Emulator, document: JSON) -> None:
    assert document["servers"] == [{"url": lro_emulator.url}]


def test_the_server_is_the_address_the_client_used(lro_emulator: Emulator) -> None:
    served = Client(lro_emulator.wsgi_app).get("/_emulator/openapi.json", base_url="http://emulator.test:8123/").json

    assert served["servers"] == [{"url": "http://emulator.test:8123"}]


def test_every_route_appears_with_its_method(document: JSON) -> None:
    expected = {(openapi_path(route), route.method.lower()): route for route in ALL_ROUTES}

    served = {(path, method) for path, item in document["paths"].items() for method in item}

    assert served == set(expected)
    for (path, method), route in expected.items():
        operation = document["paths"][path][method]
        assert operation["operationId"] == route.endpoint
        assert operation["tags"] == ["Operations" if route in ROUTES else
                                     "Control plane" if route in CONTROL_ROUTES else "Service"]
        parameters = {(p["name"], p["in"]) for p in operation.get("parameters", [])}
        assert {(name, "path") for name in re.findall(r"{(\w+)}", path)} <= parameters
        assert {(name, "query") for name, _ in route.query} <= parameters
        assert len(parameters) == len(operation.get("parameters", []))


def test_operation_ids_are_unique(document: JSON) -> None:
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]

    assert len(ids) == len(set(ids)) == len(ALL_ROUTES)


def test_every_reference_resolves_inside_the_document(document: JSON) -> None:
    found = list(refs(document))

    assert len(found) > 50
    for reference in found:
        target = resolve(document, reference)
        assert isinstance(target, (dict, bool)), reference


def test_every_route_schema_is_a_component(document: JSON) -> None:
    for route in ALL_ROUTES:
        if route.response is not None:
            base, _, fragment = route.response.partition("#")
            assert response_schema(document, route) == {"$ref": f"#/components/schemas/{base}{fragment}"}
        if route.request is not None:
            body = document["paths"][openapi_path(route)][route.method.lower()]["requestBody"]
            assert body["content"]["application/json"]["schema"]["$ref"].startswith("#/components/schemas/")


@pytest.mark.parametrize(
    ("parameter", "value", "matches"),
    [
        ("version", "v1", True),
        ("version", "v1beta", True),
        ("version", "_emulator", False),
        ("name", NAME, True),
        ("name", "projects/p/locations/l/operations/op-1", True),
        ("name", "operations/op-1", True),
        ("name", "projects/p/things/x", False),
        ("name", "projects/p/operations/x:cancel", False),
    ],
)
def test_path_parameter_patterns_match_real_names(document: JSON, parameter: str, value: str, matches: bool) -> None:
    [schema] = [p["schema"] for p in document["paths"]["/{version}/{name}"]["get"]["parameters"]
                if p["name"] == parameter]

    assert (re.search(schema["pattern"], value) is not None) == matches


# -- real answers against the document's schemas ----------------------------------------------------------------


def scripted(emu: Emulator) -> None:
    emu.add_operation(NAME, {"@type": "type.googleapis.com/acme.v1.ExportMetadata", "state": "RUNNING"}) \
        .succeed(struct(rows=3), at=60)
    emu.add_operation(FAILED).fail("NOT_FOUND", "gone", details=[
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE", "domain": "acme.example.com"},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "5s"},
    ])
    emu.add_operation("operations/global-1")


def call(method: str, path: str, **kwargs: Any) -> Callable[[Emulator], requests.Response]:
    def send(emu: Emulator) -> requests.Response:
        return requests.request(method, f"{emu.url}{path}", timeout=5, **kwargs)
    return send


ANSWERS: dict[str, list[Callable[[Emulator], requests.Response]]] = {
    "get": [call("GET", f"/v1/{NAME}"), call("GET", f"/v1/{FAILED}")],
    "list": [call("GET", "/v1/projects/p/operations", params={"pageSize": 1}),
             call("GET", "/v1/projects/p/operations", params={"filter": "done = true"})],
    "list_global": [call("GET", "/v1/operations")],
    "cancel": [call("POST", f"/v1/{NAME}:cancel")],
    "delete": [call("DELETE", f"/v1/{FAILED}")],
    "wait": [call("POST", f"/v1/{NAME}:wait", json={"timeout": "120s"})],
    "control_status": [call("GET", "/_emulator/v1")],
    "control_create": [call("POST", "/_emulator/v1/operations",
                            json={"parent": "projects/q", "steps": [{"error": {"code": 3, "message": "no"}}]})],
    "control_load": [call("POST", "/_emulator/v1/scenario:load",
                          json={"operations": [{}], "starts": [{"http": "POST /v1/{parent=projects/*}/things"}]})],
    "control_clock": [call("GET", "/_emulator/v1/clock")],
    "control_advance": [call("POST", "/_emulator/v1/clock:advance", json={"duration": "1.5s"})],
    "control_set": [call("POST", "/_emulator/v1/clock:set", json={"time": "2030-01-02T00:00:00Z"})],
    "control_calls": [call("GET", "/_emulator/v1/calls")],
    "control_reset": [call("POST", "/_emulator/v1:reset", json={"profile": "vertex"})],
}
ROUTE_OF = {route.endpoint: route for route in ALL_ROUTES}


def test_every_route_with_a_response_schema_is_exercised() -> None:
    assert set(ANSWERS) == {route.endpoint for route in ALL_ROUTES if route.response is not None}


@pytest.mark.parametrize("endpoint", sorted(ANSWERS))
def test_real_answers_follow_the_documents_schema(lro_emulator: Emulator, document: JSON, endpoint: str) -> None:
    route = ROUTE_OF[endpoint]
    check = validator(document, response_schema(document, route))
    scripted(lro_emulator)
    requests.get(f"{lro_emulator.url}/v1/{NAME}", params={"alt": "json"}, timeout=5)

    for send in ANSWERS[endpoint]:
        response = send(lro_emulator)
        assert response.status_code == 200, response.text
        errors = [error.message for error in check.iter_errors(response.json())]
        assert errors == [], (response.json(), errors)


@pytest.mark.parametrize(
    ("endpoint", "wrong"),
    [
        ("get", {"name": NAME, "done": "yes"}),
        ("get", {"name": NAME, "done": True, "response": {"rows": 3}}),
        ("list", {"operations": [{"name": 3}]}),
        ("cancel", {"extra": 1}),
        ("control_status", {"profile": "generic"}),
        ("control_clock", {"time": "yesterday"}),
        ("control_calls", {"calls": []}),
        ("control_load", {"operations": "x"}),
    ],
)
def test_the_documents_schemas_refuse_wrong_answers(document: JSON, endpoint: str, wrong: JSON) -> None:
    check = validator(document, response_schema(document, ROUTE_OF[endpoint]))

    assert list(check.iter_errors(wrong)) != []


def test_each_route_lists_the_statuses_it_may_answer(document: JSON) -> None:
    """No catch-all ``default``: an answer with an unlisted status is a contract break schemathesis can catch."""
    api_statuses = sorted({str(code.http_status) for code in Code})
    for route in ALL_ROUTES:
        responses = document["paths"][openapi_path(route)][route.method.lower()]["responses"]
        # The control plane: bad requests, its token (401), a web page's request (403), wrong methods, its own
        # failures, and the connection cap (503).
        expected = ["200", "400", "401", "403", "404", "500", "503"] if route in CONTROL_ROUTES else api_statuses
        assert sorted(responses) == expected, route.endpoint
        assert all(responses[status]["description"] for status in responses)


@pytest.mark.parametrize(
    ("endpoint", "path", "json_body", "status"),
    [
        ("get", f"/v1/{NAME}x", None, 404),
        ("cancel", "/v1/projects/p/operations/nothing:cancel", None, 404),
        ("control_advance", "/_emulator/v1/clock:advance", {"duration": -1}, 400),
        ("control_set", "/_emulator/v1/clock:set", {"time": "2020-01-01T00:00:00Z"}, 400),
        ("control_calls", "/_emulator/v1/calls?since=-3", None, 400),
        ("control_load", "/_emulator/v1/scenario:load", {"operations": [{"colour": "red"}]}, 400),
    ],
)
def test_error_answers_follow_their_statuss_response_schema(
    lro_emulator: Emulator, document: JSON, endpoint: str, path: str, json_body: JSON | None, status: int
) -> None:
    route = ROUTE_OF[endpoint]
    check = validator(document, response_schema(document, route, str(status)))
    scripted(lro_emulator)

    response = requests.request(route.method, f"{lro_emulator.url}{path}", json=json_body, timeout=5)

    assert response.status_code == status
    assert [error.message for error in check.iter_errors(response.json())] == []
    assert list(check.iter_errors({"error": {"code": "400"}})) != []


@pytest.mark.parametrize(
    ("endpoint", "body", "valid"),
    [
        ("control_advance", {"duration": "90s"}, True),
        ("control_advance", {"duration": 1.5}, True),
        ("control_advance", {"duration": -1}, False),
        ("control_set", {"time": "2030-01-01T00:00:00Z"}, True),
        ("control_set", {"time": "2030-01-01"}, False),
        ("control_reset", {}, True),
        ("control_reset", {"profile": "nope"}, False),
        ("control_create", {"parent": "projects/p", "steps": [{"at": "60s", "done": True}]}, True),
        ("control_create", {"name": "a", "parent": "b"}, False),
        ("control_load", {"profile": "generic", "operations": [{"cancel": {"mode": "ignore"}}]}, True),
        ("control_load", {"operations": [{"steps": [{"at": 1}]}]}, False),
        ("cancel", {}, True),
        ("wait", {"timeout": "5s"}, True),
    ],
)
def test_request_body_schemas_describe_what_the_emulator_accepts(
    lro_emulator: Emulator, document: JSON, endpoint: str, body: JSON, valid: bool
) -> None:
    route = ROUTE_OF[endpoint]
    content = document["paths"][openapi_path(route)][route.method.lower()]["requestBody"]["content"]
    check = validator(document, content["application/json"]["schema"])
    path = openapi_path(route).replace("{version}", "v1").replace("{name}", NAME)
    lro_emulator.add_operation(NAME)

    response = requests.post(f"{lro_emulator.url}{path}", json=body, timeout=5)

    assert (list(check.iter_errors(body)) == []) == valid
    assert (response.status_code == 200) == valid, response.text


def test_scenario_loading_also_takes_yaml(document: JSON) -> None:
    content = document["paths"]["/_emulator/v1/scenario:load"]["post"]["requestBody"]["content"]

    assert set(content) == {"application/json", "application/yaml"}
    assert content["application/yaml"] == content["application/json"]


def test_the_scenario_schemas_own_examples_follow_the_embedded_schema(document: JSON) -> None:
    scenario = document["components"]["schemas"]["scenario"]
    check = validator(document, {"$ref": "#/components/schemas/scenario"})

    assert scenario["examples"]
    for example in scenario["examples"]:
        assert list(check.iter_errors(example)) == []


def test_the_package_ships_the_document_it_serves(document: JSON, lro_emulator: Emulator) -> None:
    shipped = json.loads((resources.files("lro_emulator") / "schemas" / "openapi.json").read_text(encoding="utf-8"))

    # A stale copy means the route table or a schema changed: regenerate with
    # `lro-emulator openapi > schemas/openapi.json`.
    assert shipped == openapi_document(load_schemas())
    assert {**shipped, "servers": [{"url": lro_emulator.url}]} == document


def test_the_command_line_prints_the_document(document: JSON, lro_emulator: Emulator) -> None:
    printed = subprocess.run([sys.executable, "-m", "lro_emulator.cli", "openapi", "--server", lro_emulator.url],
                             capture_output=True, text=True, check=True, timeout=60)

    assert json.loads(printed.stdout) == document
