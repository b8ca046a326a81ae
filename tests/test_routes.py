"""The REST route table, walked end to end: every route, every client's spelling of it, every profile.

One parametrised test sends each example request through the WSGI app and asserts the status, the
exact proto3 JSON body, the recorded call and, where the request has an effect, the store and clock
afterwards. The examples are keyed by the route table's endpoints, so a route added to
``lro_emulator.routes.ROUTES`` without examples fails here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from unittest.mock import ANY

import pytest
from werkzeug.test import Client, EnvironBuilder, TestResponse, run_wsgi_app
from werkzeug.wrappers import Request

from lro_emulator import PROFILES, Emulator
from lro_emulator.wire.routes import CONVERTER_PATTERNS, ROUTES, Route  # internal: the route table under test
from lro_emulator.wire.validation import load_schemas  # internal: the route table under test

from .helpers import struct

JSON = dict[str, Any]
X = "projects/p/operations/x"
VERTEX_X = "projects/p/locations/l/operations/x"
NESTED_X = "projects/p/locations/l/datasets/d/operations/x"
CANCELLED = {"code": 1, "message": "The operation was cancelled."}
VERSIONS = ("v1", "v1beta", "v1alpha", "v1beta1", "v2")
STANDARD_PARAMETERS = (
    "alt=json",
    "prettyPrint=false",
    "$.xgafv=2",
    "key=x",
    "fields=name",
    "quotaUser=q",
    "$alt=json;enum-encoding=int",
)


def _running(*names: str) -> Callable[[Emulator], None]:
    def setup(emulator: Emulator) -> None:
        for name in names:
            emulator.add_operation(name)

    return setup


def _succeeds_at_10s(emulator: Emulator) -> None:
    emulator.add_operation(X).succeed(struct(ok=True), at=10)


RUNNING_X = _running(X)


@dataclasses.dataclass(frozen=True)
class Case:
    """One request that succeeds, and everything it must produce."""

    method: str
    path: str
    body: JSON  # the exact response JSON
    rpc: str
    name: str  # the recorded call's name (the parent for ListOperations)
    query: str | Callable[[Client], str] = ""
    data: bytes | None = None
    content_length: bool = True  # False: the request carries no Content-Length header at all
    setup: Callable[[Emulator], None] = RUNNING_X
    after: list[JSON] | None = None  # every operation's snapshot once the request was answered
    clock_moved: timedelta = timedelta(0)
    profile: str = "generic"


def _first_page_token(http: Client) -> str:
    token = http.get("/v1/projects/p/operations?pageSize=1").get_json()["nextPageToken"]
    assert isinstance(token, str)
    assert token
    return token


# Each route's examples: what each real client sends (the REST surface reference). Versions and standard
# query parameters are multiplied in below.
ROUTE_EXAMPLES: dict[str, dict[str, Case]] = {
    "get": {
        "running-has-no-done-key": Case("GET", f"/v1/{X}", {"name": X}, "GetOperation", X),
        "succeeded-with-response": Case(
            "GET", f"/v1/{X}", {"name": X, "done": True, "response": struct(ok=True)}, "GetOperation", X,
            setup=lambda em: em.add_operation(X).succeed(struct(ok=True)),
        ),
        "failed-with-status": Case(
            "GET", f"/v1/{X}", {"name": X, "done": True, "error": {"code": 5, "message": "gone"}},
            "GetOperation", X, setup=lambda em: em.add_operation(X).fail("NOT_FOUND", "gone"),
        ),
        "earthengine-multi-segment-name": Case(
            "GET", "/v1alpha/projects/p/operations/a/b", {"name": "projects/p/operations/a/b"},
            "GetOperation", "projects/p/operations/a/b", setup=_running("projects/p/operations/a/b"),
            profile="earthengine",
        ),
        "vertex-location": Case(
            "GET", f"/v1/{VERTEX_X}", {"name": VERTEX_X}, "GetOperation", VERTEX_X,
            setup=_running(VERTEX_X), profile="vertex",
        ),
        "vertex-nested-dataset": Case(
            "GET", f"/v1/{NESTED_X}", {"name": NESTED_X}, "GetOperation", NESTED_X,
            setup=_running(NESTED_X), profile="vertex",
        ),
        "vertex-global": Case(
            "GET", "/v1/operations/x", {"name": "operations/x"}, "GetOperation", "operations/x",
            setup=_running("operations/x"), profile="vertex",
        ),
        "generic-global": Case(
            "GET", "/v1/operations/x", {"name": "operations/x"}, "GetOperation", "operations/x",
            setup=_running("operations/x"),
        ),
        "from-http-json-full-name": Case(
            "GET", f"/v1/operations/{X}", {"name": X}, "GetOperation", X,
        ),
        "from-http-json-vertex-nested": Case(
            "GET", f"/v1/operations/{NESTED_X}", {"name": NESTED_X}, "GetOperation", NESTED_X,
            setup=_running(NESTED_X), profile="vertex",
        ),
        "cancel-get-list-v2": Case(
            "GET", f"/v2/{X}", {"name": X}, "GetOperation", X, profile="cancel-get-list",
        ),
    },
    "list": {
        "generic": Case(
            "GET", "/v1/projects/p/operations", {"operations": [{"name": X}]}, "ListOperations", "projects/p",
        ),
        "empty-is-empty-object": Case(
            "GET", "/v1/projects/empty/operations", {}, "ListOperations", "projects/empty",
        ),
        "earthengine-page-size-500": Case(
            "GET", "/v1/projects/p/operations", {"operations": [{"name": X}]}, "ListOperations", "projects/p",
            query="pageSize=500", profile="earthengine",
        ),
        "vertex-location": Case(
            "GET", "/v1/projects/p/locations/l/operations", {"operations": [{"name": VERTEX_X}]},
            "ListOperations", "projects/p/locations/l", setup=_running(VERTEX_X, NESTED_X), profile="vertex",
        ),
        "vertex-nested-dataset": Case(
            "GET", "/v1/projects/p/locations/l/datasets/d/operations", {"operations": [{"name": NESTED_X}]},
            "ListOperations", "projects/p/locations/l/datasets/d", setup=_running(VERTEX_X, NESTED_X),
            profile="vertex",
        ),
        "api-core-query": Case(
            "GET", "/v1/projects/p/operations", {"operations": [{"name": X}]}, "ListOperations", "projects/p",
            query="filter=&pageSize=0&pageToken=",
        ),
        "snake-case-page-size": Case(
            "GET", "/v1/projects/p/operations", {"operations": [{"name": X}], "nextPageToken": ANY},
            "ListOperations", "projects/p", query="page_size=1",
            setup=_running(X, "projects/p/operations/y"),
        ),
        "snake-case-page-token": Case(
            "GET", "/v1/projects/p/operations", {"operations": [{"name": "projects/p/operations/y"}]},
            "ListOperations", "projects/p", query=lambda http: f"page_size=1&page_token={_first_page_token(http)}",
            setup=_running(X, "projects/p/operations/y"),
        ),
        "snake-case-return-partial-success": Case(
            "GET", "/v1/projects/p/operations", {"operations": [{"name": X}]}, "ListOperations", "projects/p",
            query="return_partial_success=true",
        ),
    },
    "list_global": {
        "generic": Case(
            "GET", "/v1/operations", {"operations": [{"name": "operations/g"}]}, "ListOperations", "",
            setup=_running(X, "operations/g"),
        ),
    },
    "cancel": {
        "empty-body": Case(
            "POST", f"/v1/{X}:cancel", {}, "CancelOperation", X, data=b"",
            after=[{"name": X, "done": True, "error": CANCELLED}],
        ),
        "earthengine-empty-object": Case(
            "POST", f"/v1/{X}:cancel", {}, "CancelOperation", X, data=b"{}", profile="earthengine",
            after=[{"name": X, "done": True, "error": CANCELLED}],
        ),
        "vertex-no-content-length": Case(
            "POST", f"/v1/{VERTEX_X}:cancel", {}, "CancelOperation", VERTEX_X, content_length=False,
            setup=_running(VERTEX_X), profile="vertex",
            after=[{"name": VERTEX_X, "done": True, "error": CANCELLED}],
        ),
        "body-repeats-the-name": Case(
            "POST", f"/v1/{X}:cancel", {}, "CancelOperation", X, data=b'{"name": "%s"}' % X.encode(),
            after=[{"name": X, "done": True, "error": CANCELLED}],
        ),
        "from-http-json-full-name": Case(
            "POST", f"/v1/operations/{X}:cancel", {}, "CancelOperation", X, data=b"",
            after=[{"name": X, "done": True, "error": CANCELLED}],
        ),
        "from-http-json-earthengine": Case(
            "POST", f"/v1/operations/{X}:cancel", {}, "CancelOperation", X, profile="earthengine",
            after=[{"name": X, "done": True, "error": CANCELLED}],
        ),
        "already-done-is-unchanged": Case(
            "POST", f"/v1/{X}:cancel", {}, "CancelOperation", X, data=b"{}",
            setup=lambda em: em.add_operation(X).succeed(struct(ok=True)),
            after=[{"name": X, "done": True, "response": struct(ok=True)}],
        ),
    },
    "delete": {
        "generic": Case("DELETE", f"/v1/{X}", {}, "DeleteOperation", X, after=[]),
        "does-not-cancel-the-others": Case(
            "DELETE", f"/v1/{NESTED_X}", {}, "DeleteOperation", NESTED_X,
            setup=_running(NESTED_X, VERTEX_X), profile="vertex", after=[{"name": VERTEX_X}],
        ),
    },
    "wait": {
        "earthengine-timeout-in-body": Case(
            "POST", f"/v1/{X}:wait", {"name": X}, "WaitOperation", X, data=b'{"timeout": "3.5s"}',
            profile="earthengine", clock_moved=timedelta(seconds=3.5),
        ),
        "vertex-timeout-in-query-empty-body": Case(
            "POST", f"/v1/{VERTEX_X}:wait", {"name": VERTEX_X}, "WaitOperation", VERTEX_X,
            query="timeout=30s", data=b"", setup=_running(VERTEX_X), profile="vertex",
            clock_moved=timedelta(seconds=30),
        ),
        "vertex-nested-no-content-length": Case(
            "POST", f"/v1/{NESTED_X}:wait", {"name": NESTED_X}, "WaitOperation", NESTED_X,
            query="timeout=30s", content_length=False, setup=_running(NESTED_X), profile="vertex",
            clock_moved=timedelta(seconds=30),
        ),
        "no-timeout-waits-the-default-60s": Case(
            "POST", f"/v1/{X}:wait", {"name": X}, "WaitOperation", X, data=b"",
            clock_moved=timedelta(seconds=60),
        ),
        "returns-when-done-before-the-timeout": Case(
            "POST", f"/v1/{X}:wait", {"name": X, "done": True, "response": struct(ok=True)}, "WaitOperation", X,
            data=b'{"timeout": "3600s"}', setup=_succeeds_at_10s, clock_moved=timedelta(seconds=10),
        ),
    },
}

# The canonical example of each endpoint, which the versions and standard parameters are applied to.
CANONICAL = {
    "get": "running-has-no-done-key",
    "list": "generic",
    "list_global": "generic",
    "cancel": "empty-body",
    "delete": "generic",
    "wait": "no-timeout-waits-the-default-60s",
}


def _with_version(case: Case, version: str) -> Case:
    assert case.path.startswith("/v1/")
    return dataclasses.replace(case, path=f"/{version}/{case.path.removeprefix('/v1/')}")


def _with_query(case: Case, query: str) -> Case:
    assert isinstance(case.query, str)
    return dataclasses.replace(case, query=f"{case.query}&{query}" if case.query else query)


def _examples(endpoint: str) -> dict[str, Case]:
    examples = dict(ROUTE_EXAMPLES.get(endpoint, {}))
    canonical = examples.get(CANONICAL.get(endpoint, ""))
    if canonical is not None:
        for version in VERSIONS:
            examples[f"version-{version}"] = _with_version(canonical, version)
        for parameter in STANDARD_PARAMETERS:
            examples[f"ignores-{parameter}"] = _with_query(canonical, parameter)
        examples["ignores-all-standard-parameters"] = _with_query(canonical, "&".join(STANDARD_PARAMETERS))
    return examples


def _route_cases() -> Iterator[Any]:
    for route in ROUTES:
        examples = _examples(route.endpoint)
        if not examples:  # a route without examples is a failing case, not a silently missing one
            yield pytest.param(route, None, id=f"{route.endpoint}-HAS-NO-EXAMPLES")
        for label, case in examples.items():
            yield pytest.param(
                route, case, id=f"{route.endpoint}-{label}", marks=pytest.mark.lro_emulator(profile=case.profile)
            )


def _rule_regex(route: Route) -> re.Pattern[str]:
    """The route's werkzeug rule as a regular expression, from the public converter patterns."""
    parts = re.split(r"<(\w+):\w+>", route.rule)  # literal, converter, literal, ...
    pattern = "".join(
        CONVERTER_PATTERNS[part] if index % 2 else re.escape(part) for index, part in enumerate(parts)
    )
    return re.compile(pattern)


def _send(http: Client, case: Case) -> TestResponse:
    query = case.query(http) if callable(case.query) else case.query
    builder = EnvironBuilder(path=case.path, method=case.method, query_string=query, data=case.data,
                             content_type="application/json" if case.data else None,
                             content_length=None if case.data is None else len(case.data))
    if case.content_length:
        return http.open(builder)
    # Client.open rebuilds the environ and would add "Content-Length: 0": run the app on it directly.
    environ = builder.get_environ()
    environ.pop("CONTENT_LENGTH", None)
    return TestResponse(*run_wsgi_app(http.application, environ, buffered=True), request=Request(environ))


@pytest.mark.parametrize(("route", "case"), list(_route_cases()))
def test_route(lro_emulator: Emulator, http: Client, route: Route, case: Case | None) -> None:
    assert case is not None, f"route {route.method} {route.rule} ({route.endpoint}) has no example requests"
    assert case.method == route.method
    assert _rule_regex(route).fullmatch(case.path), f"{case.path} is not an example of {route.rule}"
    case.setup(lro_emulator)
    start = lro_emulator.clock.now()

    response = _send(http, case)

    assert (response.status_code, response.get_json()) == (200, case.body)
    assert response.mimetype == "application/json"
    call = lro_emulator.calls.last
    assert (call.rpc, call.name, call.method, call.path, call.status, call.code) == (
        route.rpc, case.name, case.method, case.path, 200, "OK"
    )
    if case.data is not None:
        assert call.headers.get("content-length") == str(len(case.data))
    if not case.content_length:
        assert "content-length" not in call.headers
    assert lro_emulator.clock.now() - start == case.clock_moved
    if case.after is not None:
        assert [op.snapshot() for op in lro_emulator.operations] == case.after


def test_route_examples_name_only_real_endpoints() -> None:
    endpoints = {route.endpoint for route in ROUTES}
    assert set(ROUTE_EXAMPLES) - endpoints == set()
    assert set(CANONICAL) == endpoints


def test_every_route_is_in_the_parametrisation() -> None:
    covered = {param.values[0] for param in _route_cases() if param.values[1] is not None}
    assert covered == set(ROUTES)


def test_rpc_of_every_route_is_an_operations_rpc() -> None:
    assert {route.rpc for route in ROUTES} == {
        "GetOperation", "ListOperations", "CancelOperation", "DeleteOperation", "WaitOperation"
    }


# -- profiles ----------------------------------------------------------------------------------------------

# One request per RPC, for a name and parent of the given profile's shape.
_REQUESTS = {
    "GetOperation": ("GET", "/v1/{name}"),
    "ListOperations": ("GET", "/v1/{parent}/operations"),
    "CancelOperation": ("POST", "/v1/{name}:cancel"),
    "DeleteOperation": ("DELETE", "/v1/{name}"),
    "WaitOperation": ("POST", "/v1/{name}:wait"),
}
# A name and a parent outside each profile's patterns. They route (so the profile decides), except for
# generic, whose name pattern is the route's own: a name outside it matches no route.
_FOREIGN = {
    "generic": ("projects/p/jobs/x", None),  # no operations segment: nothing routes it
    "earthengine": ("projects/p/locations/l/operations/x", "projects/p/locations/l"),
    "vertex": ("projects/p/operations/x", "projects/p"),
    "cancel-get-list": ("projects/p/operations/x/y", "projects/p/jobs/j"),
}


def _error(response: TestResponse, status: int, code_name: str) -> JSON:
    """The AIP-193 envelope of ``response``, checked; returns its ``error``."""
    __tracebackhide__ = True
    body = response.get_json()
    assert response.status_code == status, body
    load_schemas().validate("error-envelope", body)
    error: JSON = body["error"]
    assert (error["code"], error["status"]) == (status, code_name)
    assert any(detail["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" for detail in error["details"])
    return error


def _lacking_cases() -> Iterator[Any]:
    for profile in PROFILES.values():
        for rpc in sorted(set(_REQUESTS) - profile.rpcs):
            yield pytest.param(profile.name, rpc, id=f"{profile.name}-{rpc}",
                               marks=pytest.mark.lro_emulator(profile=profile.name))


def test_some_profile_lacks_a_method() -> None:
    assert [param.id for param in _lacking_cases()] == [
        "cancel-get-list-DeleteOperation", "cancel-get-list-WaitOperation"
    ]


@pytest.mark.parametrize(("profile", "rpc"), list(_lacking_cases()))
def test_method_the_profile_lacks_is_unimplemented(
    lro_emulator: Emulator, http: Client, profile: str, rpc: str
) -> None:
    op = lro_emulator.add_operation()
    start = lro_emulator.clock.now()
    method, path = _REQUESTS[rpc]

    response = http.open(path.format(name=op.name, parent=""), method=method)

    error = _error(response, 501, "UNIMPLEMENTED")
    assert error["message"] == (
        f"{rpc} is not offered by the {profile} profile, which has CancelOperation, GetOperation, ListOperations"
    )
    assert error["details"][0]["reason"] == "METHOD_NOT_OFFERED"
    assert (lro_emulator.calls.last.rpc, lro_emulator.calls.last.name) == (rpc, op.name)
    assert (op.snapshot(), op.polls, lro_emulator.clock.now()) == ({"name": op.name}, 0, start)


@pytest.mark.lro_emulator(profile="cancel-get-list")
@pytest.mark.parametrize(("query", "data"), [
    pytest.param("", b'{"timeout": "abc"}', id="bad-body"),
    pytest.param("bogus=1", b"", id="unknown-query-parameter"),
])
def test_method_the_profile_lacks_is_unimplemented_whatever_the_request(
    lro_emulator: Emulator, http: Client, query: str, data: bytes
) -> None:
    op = lro_emulator.add_operation()

    response = http.post(f"/v2/{op.name}:wait", query_string=query, data=data, content_type="application/json")

    _error(response, 501, "UNIMPLEMENTED")


def _foreign_cases() -> Iterator[Any]:
    for profile in PROFILES.values():
        name, parent = _FOREIGN[profile.name]
        for rpc in sorted(profile.rpcs):
            if rpc == "ListOperations" and parent is None:
                continue
            yield pytest.param(profile.name, rpc, name, parent, id=f"{profile.name}-{rpc}",
                               marks=pytest.mark.lro_emulator(profile=profile.name))


@pytest.mark.parametrize(("profile", "rpc", "name", "parent"), list(_foreign_cases()))
def test_name_outside_the_profile_patterns_is_not_found(
    lro_emulator: Emulator, http: Client, profile: str, rpc: str, name: str, parent: str | None
) -> None:
    op = lro_emulator.add_operation()
    method, path = _REQUESTS[rpc]

    response = http.open(path.format(name=name, parent=parent), method=method)

    error = _error(response, 404, "NOT_FOUND")
    patterns = PROFILES[profile].spell_names()
    if rpc == "ListOperations":
        assert error["message"].startswith(f"{parent} is not a collection the {profile} profile lists")
    elif profile == "generic":
        assert error["message"].startswith(f"no Operations method is served at {method} /v1/{name}")
    else:
        assert error["message"] == (
            f"{name!r} is not an operation name the {profile} profile serves; its names look like {patterns}"
        )
    assert (op.snapshot(), op.polls) == ({"name": op.name}, 0)


# -- request bodies at the edges of proto3 JSON ----------------------------------------------------------------


@pytest.mark.parametrize("timeout", ["315576000000s", "252000000000s"])
def test_wait_with_the_largest_duration_returns_when_done(
    lro_emulator: Emulator, http: Client, timeout: str
) -> None:
    _succeeds_at_10s(lro_emulator)

    response = http.post(f"/v1/{X}:wait", json={"timeout": timeout})

    assert (response.status_code, response.get_json()) == (
        200, {"name": X, "done": True, "response": struct(ok=True)}
    )
    assert lro_emulator.clock.now() - lro_emulator.operation(X).created == timedelta(seconds=10)


@pytest.mark.parametrize(("verb", "body", "expected", "after", "waited"), [
    pytest.param("wait", {"timeout": None}, {"name": X}, {"name": X}, 60, id="wait-timeout-null"),
    pytest.param("cancel", {"name": None}, {}, {"name": X, "done": True, "error": CANCELLED}, 0,
                 id="cancel-name-null"),
])
def test_null_body_field_means_unset(  # proto3 JSON: null is the field's default
    lro_emulator: Emulator, http: Client, verb: str, body: JSON, expected: JSON, after: JSON, waited: int
) -> None:
    op = lro_emulator.add_operation(X)

    response = http.post(f"/v1/{X}:{verb}", json=body)

    assert (response.status_code, response.get_json()) == (200, expected)
    assert op.snapshot() == after
    assert lro_emulator.clock.now() - op.created == timedelta(seconds=waited)
