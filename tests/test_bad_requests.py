"""Bad requests over REST: each answers an exact AIP-193 error a person can act on, and changes nothing.

Every case runs against the same small store (operations whose state would visibly move if a
request wrongly counted a poll, cancelled, deleted or advanced the clock), snapshotted before and
after the request.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from werkzeug.test import Client, TestResponse

from lro_emulator import Emulator
from lro_emulator.schemas import load_schemas

from .conftest import struct

JSON = dict[str, Any]
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
OTHER = "projects/other/operations/elsewhere"


@dataclasses.dataclass(frozen=True)
class Bad:
    """A bad request and the error it must answer. ``{name}`` and ``{parent}`` come from the store."""

    method: str
    path: str
    status: int
    code: str
    fragment: str  # part of error.message that tells the person what to change
    query: str | Callable[[Client], str] = ""
    data: bytes | None = None
    content_type: str = "application/json"
    profile: str = "generic"


def _populate(emulator: Emulator) -> None:
    """Operations under the profile's default parent whose state a wrongly accepted request would move."""
    emulator.add_operation().succeed(struct(ok=True), after_polls=1)  # one counted poll makes it done
    emulator.add_operation().succeed(struct(ok=True), at=30)  # a moved clock makes it done
    emulator.add_operation(metadata=struct(state="RUNNING"))  # a cancel would make it CANCELLED
    emulator.add_operation().fail("NOT_FOUND", "gone")
    if emulator.profile.accepts_name(OTHER):
        emulator.add_operation(OTHER)


def _token(path: str) -> Callable[[Client], str]:
    """A query carrying the first page's token of ``path`` (a list of the default parent)."""

    def query(http: Client) -> str:
        body = http.get(path, query_string="pageSize=1").get_json()
        return f"pageToken={body['nextPageToken']}"

    return query


def _store(emulator: Emulator) -> tuple[list[JSON], list[int], datetime]:
    operations = emulator.operations
    return [op.snapshot() for op in operations], [op.polls for op in operations], emulator.clock.now()


def _send(http: Client, emulator: Emulator, bad: Bad) -> TestResponse:
    query = bad.query(http) if callable(bad.query) else bad.query
    fill = {"name": emulator.operations[0].name, "parent": emulator.profile.default_parent}
    return http.open(bad.path.format(**fill), method=bad.method, query_string=query, data=bad.data,
                     content_type=bad.content_type)


def _error(response: TestResponse, status: int, code: str) -> JSON:
    """The AIP-193 envelope of ``response``, checked; returns its ``error``."""
    __tracebackhide__ = True
    body = response.get_json()
    assert response.status_code == status, body
    assert response.mimetype == "application/json"
    load_schemas().validate("error-envelope", body)
    error: JSON = body["error"]
    assert (error["code"], error["status"]) == (status, code)
    assert [detail["@type"] for detail in error["details"]].count(ERROR_INFO) == 1
    return error


LIST = "/v1/{parent}/operations"
CANCEL = "/v1/{name}:cancel"
WAIT = "/v1/{name}:wait"
GET = "/v1/{name}"
DURATION_HINT = "a decimal number of seconds with an `s` suffix"
QUERY_DURATION_HINT = "write decimal seconds with an 's' suffix"
NOT_A_TOKEN = "is not a token this service issued; pass the nextPageToken of the previous page unchanged"
FOREIGN_TOKEN = "issued for a different parent or filter; repeat the same parent and filter on every page"
ROUTES_LISTED = "routes are: GET /{version}/{name=**/operations/**}"
OVERSIZED = b'{"name": "' + b"n" * (1 << 20) + b'"}'


def _case(case_id: str, bad: Bad, *marks: pytest.MarkDecorator) -> Any:
    return pytest.param(bad, id=case_id, marks=[pytest.mark.lro_emulator(profile=bad.profile), *marks])


CASES = [
    # -- routing ---------------------------------------------------------------------------------------
    _case("unknown-collection", Bad("GET", "/v1/projects/p/jobs/x", 404, "NOT_FOUND",
                                    "no Operations method is served at GET /v1/projects/p/jobs/x; " + ROUTES_LISTED)),
    _case("unknown-custom-verb", Bad("POST", "/v1/{name}:frobnicate", 404, "NOT_FOUND",
                                     ":frobnicate; " + ROUTES_LISTED)),
    _case("root", Bad("GET", "/", 404, "NOT_FOUND", "no Operations method is served at GET /; " + ROUTES_LISTED)),
    _case("no-version-segment", Bad("GET", "/api/{name}", 404, "NOT_FOUND", ROUTES_LISTED)),
    _case("upper-case-version", Bad("GET", "/V1/{name}", 404, "NOT_FOUND", ROUTES_LISTED)),
    _case("trailing-slash", Bad("GET", "/v1/{name}/", 404, "NOT_FOUND", ROUTES_LISTED)),
    _case("empty-segment", Bad("GET", "/v1/projects//operations/x", 404, "NOT_FOUND", ROUTES_LISTED)),
    # -- wrong HTTP methods ----------------------------------------------------------------------------
    _case("put-operation", Bad("PUT", GET, 404, "NOT_FOUND", "PUT is not a method of /v1/projects/test-project/"
                               "locations/global/operations/op-1; it accepts DELETE, GET")),
    _case("patch-operation", Bad("PATCH", GET, 404, "NOT_FOUND", "; it accepts DELETE, GET")),
    _case("post-operation-without-verb", Bad("POST", GET, 404, "NOT_FOUND", "; it accepts DELETE, GET")),
    _case("get-cancel", Bad("GET", CANCEL, 404, "NOT_FOUND", "GET is not a method of")),
    _case("delete-wait", Bad("DELETE", WAIT, 404, "NOT_FOUND", "; it accepts POST")),
    _case("post-collection", Bad("POST", LIST, 404, "NOT_FOUND", "/operations; it accepts GET")),
    _case("delete-collection", Bad("DELETE", LIST, 404, "NOT_FOUND", "/operations; it accepts GET")),
    # -- bodies ----------------------------------------------------------------------------------------
    _case("malformed-json", Bad("POST", CANCEL, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.",
                                data=b"{")),
    _case("truncated-json", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.",
                                data=b'{"timeout": "1s"')),
    _case("invalid-utf8", Bad("POST", CANCEL, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.",
                              data=b'{"name": "\xff"}')),
    _case("deeply-nested-json", Bad("POST", CANCEL, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.",
                                    data=b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")),
    _case("json-array", Bad("POST", CANCEL, 400, "INVALID_ARGUMENT", "Expected an object, got list", data=b"[]")),
    _case("json-string", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", "Expected an object, got str", data=b'"{}"')),
    _case("json-number", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", "Expected an object, got int", data=b"3")),
    _case("nan", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", "NaN is not valid JSON", data=b'{"timeout": NaN}')),
    _case("infinity", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", "Infinity is not valid JSON",
                          data=b'{"timeout": -Infinity}')),
    _case("timeout-is-a-number", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", "5 is not of type 'string'",
                                     data=b'{"timeout": 5}')),
    _case("timeout-is-an-object", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", "is not of type 'string'",
                                      data=b'{"timeout": {"seconds": 5}}')),
    _case("name-is-a-number", Bad("POST", CANCEL, 400, "INVALID_ARGUMENT", "1 is not of type 'string'",
                                  data=b'{"name": 1}')),
    _case("unknown-cancel-field", Bad("POST", CANCEL, 400, "INVALID_ARGUMENT", "('force' was unexpected)",
                                      data=b'{"force": true}')),
    _case("unknown-wait-field", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", "('deadline' was unexpected)",
                                    data=b'{"timeout": "1s", "deadline": "2s"}')),
    _case("cancel-body-names-another-operation", Bad(
        "POST", CANCEL, 400, "INVALID_ARGUMENT",
        f"the body names {OTHER!r} but the path names 'projects/test-project/locations/global/operations/op-1'",
        data=b'{"name": "%s"}' % OTHER.encode())),
    _case("wait-body-names-another-operation", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", "but the path names",
                                                   data=b'{"name": "%s"}' % OTHER.encode())),
    _case("wrong-content-type", Bad("POST", CANCEL, 400, "INVALID_ARGUMENT",
                                    "the request body must be JSON (Content-Type: application/json), got 'text/plain'",
                                    data=b"{}", content_type="text/plain")),
    _case("form-content-type", Bad("POST", WAIT, 400, "INVALID_ARGUMENT",
                                   "must be JSON (Content-Type: application/json)",
                                   data=b"timeout=1s", content_type="application/x-www-form-urlencoded")),
    _case("oversized-body", Bad("POST", CANCEL, 400, "INVALID_ARGUMENT",
                                "the request body is larger than 1048576 bytes", data=OVERSIZED)),
    # -- durations -------------------------------------------------------------------------------------
    _case("body-duration-without-s", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", DURATION_HINT,
                                         data=b'{"timeout": "1.5"}')),
    _case("body-duration-abc", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", DURATION_HINT, data=b'{"timeout": "abc"}')),
    _case("body-duration-ten-fraction-digits", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", "at most 9 fractional digits",
                                                   data=b'{"timeout": "1.0000000001s"}')),
    _case("body-duration-beyond-10000-years", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", "within",
                                                  data=b'{"timeout": "315576000001s"}')),
    _case("body-duration-negative", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", "timeout must not be negative (got -1s)",
                                        data=b'{"timeout": "-1s"}')),
    _case("query-duration-without-s", Bad("POST", WAIT, 400, "INVALID_ARGUMENT",
                                          f"timeout: '1.5' is not a duration: {QUERY_DURATION_HINT}",
                                          query="timeout=1.5")),
    _case("query-duration-abc", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", QUERY_DURATION_HINT, query="timeout=abc")),
    _case("query-duration-empty", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", QUERY_DURATION_HINT, query="timeout=")),
    _case("query-duration-negative", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", "timeout must not be negative",
                                         query="timeout=-1s")),
    _case("query-duration-trailing-newline", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", QUERY_DURATION_HINT,
                                                 query="timeout=3s%0A")),
    _case("query-duration-non-ascii-digit", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", QUERY_DURATION_HINT,
                                                query="timeout=%D9%A3s")),
    _case("timeout-in-query-and-body", Bad("POST", WAIT, 400, "INVALID_ARGUMENT",
                                           "timeout was given both in the query and in the body; give it once",
                                           query="timeout=1s", data=b'{"timeout": "1s"}')),
    # -- query parameters ------------------------------------------------------------------------------
    _case("unknown-get-parameter", Bad("GET", GET, 400, "INVALID_ARGUMENT",
                                       "unknown query parameter 'view'; this method accepts no parameters besides "
                                       "the standard ones", query="view=FULL")),
    _case("unknown-list-parameter", Bad("GET", LIST, 400, "INVALID_ARGUMENT",
                                        "unknown query parameter 'orderBy'; this method accepts filter, pageSize, "
                                        "pageToken, returnPartialSuccess", query="orderBy=name")),
    _case("unknown-cancel-parameter", Bad("POST", CANCEL, 400, "INVALID_ARGUMENT", "unknown query parameter 'force'",
                                          query="force=true")),
    _case("unknown-delete-parameter", Bad("DELETE", GET, 400, "INVALID_ARGUMENT", "unknown query parameter 'etag'",
                                          query="etag=x")),
    _case("unknown-wait-parameter", Bad("POST", WAIT, 400, "INVALID_ARGUMENT",
                                        "unknown query parameter 'deadline'; this method accepts timeout",
                                        query="deadline=1s")),
    _case("repeated-page-size", Bad("GET", LIST, 400, "INVALID_ARGUMENT",
                                    "query parameter 'pageSize' was given more than once",
                                    query="pageSize=1&pageSize=2")),
    _case("page-size-in-both-spellings", Bad("GET", LIST, 400, "INVALID_ARGUMENT",
                                             "'pageSize' was given more than once",
                                             query="pageSize=1&page_size=1")),
    _case("repeated-filter", Bad("GET", LIST, 400, "INVALID_ARGUMENT", "'filter' was given more than once",
                                 query="filter=done%3Dtrue&filter=done%3Dfalse")),
    _case("repeated-timeout", Bad("POST", WAIT, 400, "INVALID_ARGUMENT", "'timeout' was given more than once",
                                  query="timeout=1s&timeout=2s")),
    _case("return-partial-success-not-a-boolean", Bad("GET", LIST, 400, "INVALID_ARGUMENT",
                                                      "returnPartialSuccess must be true or false, got 'maybe'",
                                                      query="returnPartialSuccess=maybe")),
    # -- page sizes and tokens -------------------------------------------------------------------------
    _case("page-size-negative", Bad("GET", LIST, 400, "INVALID_ARGUMENT",
                                    "pageSize must not be negative (got -1); use 0 or omit it for the default of 50",
                                    query="pageSize=-1")),
    _case("page-size-snake-case-negative", Bad("GET", LIST, 400, "INVALID_ARGUMENT", "must not be negative (got -5)",
                                               query="page_size=-5")),
    _case("page-size-word", Bad("GET", LIST, 400, "INVALID_ARGUMENT", "pageSize must be an integer, got 'ten'",
                                query="pageSize=ten")),
    _case("page-size-decimal", Bad("GET", LIST, 400, "INVALID_ARGUMENT", "pageSize must be an integer, got '1.5'",
                                   query="pageSize=1.5")),
    _case("page-size-empty", Bad("GET", LIST, 400, "INVALID_ARGUMENT", "pageSize must be an integer, got ''",
                                 query="pageSize=")),
    _case("page-size-beyond-int32", Bad("GET", LIST, 400, "INVALID_ARGUMENT",
                                        "pageSize is out of range for an int32: 2147483648",
                                        query="pageSize=2147483648")),
    _case("page-size-with-underscore", Bad("GET", LIST, 400, "INVALID_ARGUMENT", "pageSize must be an integer",
                                           query="pageSize=1_0")),
    _case("page-size-non-ascii-digit", Bad("GET", LIST, 400, "INVALID_ARGUMENT", "pageSize must be an integer",
                                           query="pageSize=%D9%A1")),
    _case("page-token-garbage", Bad("GET", LIST, 400, "INVALID_ARGUMENT", f"pageToken 'garbage' {NOT_A_TOKEN}",
                                    query="pageToken=garbage")),
    _case("page-token-not-base64-json", Bad("GET", LIST, 400, "INVALID_ARGUMENT", NOT_A_TOKEN,
                                            query="pageToken=WzIsMywieCJd")),  # [2,3,"x"]: a wrong version
    _case("page-token-deeply-nested", Bad("GET", LIST, 400, "INVALID_ARGUMENT", NOT_A_TOKEN,
                                          query="pageToken=" + base64.urlsafe_b64encode(b"[" * 30000).decode())),
    _case("filter-non-ascii-digit", Bad("GET", LIST, 400, "INVALID_ARGUMENT", "filter:",
                                        query="filter=error.code%3D%D9%A3")),
    _case("page-token-from-another-parent", Bad("GET", "/v1/projects/other/operations", 400, "INVALID_ARGUMENT",
                                                FOREIGN_TOKEN, query=_token(LIST.format(
                                                    parent="projects/test-project/locations/global")))),
    _case("page-token-from-another-filter", Bad(
        "GET", LIST, 400, "INVALID_ARGUMENT", FOREIGN_TOKEN,
        query=lambda http: _token("/v1/projects/test-project/locations/global/operations")(http)
        + "&filter=done%3Dfalse")),
    # -- filters ---------------------------------------------------------------------------------------
    _case("filter-missing-value", Bad("GET", LIST, 400, "INVALID_ARGUMENT",
                                      "filter: expected a value after \"=\" at offset 5 in 'done='",
                                      query="filter=done%3D")),
    _case("filter-unclosed-parenthesis", Bad("GET", LIST, 400, "INVALID_ARGUMENT", "is never closed: expected \")\"",
                                             query="filter=%28done%3Dtrue")),
    _case("filter-lower-case-and", Bad("GET", LIST, 400, "INVALID_ARGUMENT", "the keywords AND, OR, NOT are upper case",
                                       query="filter=done%3Dtrue%20and%20done%3Dfalse")),
    _case("filter-too-long", Bad("GET", LIST, 400, "INVALID_ARGUMENT", "characters is longer than the 4096 allowed",
                                 query="filter=" + "%20" * 4097 + "done%3Dtrue")),
    _case("filter-nested-too-deeply", Bad("GET", LIST, 400, "INVALID_ARGUMENT", "parentheses nested deeper than 64",
                                          query="filter=" + "%28" * 65 + "done%3Dtrue" + "%29" * 65)),
    _case("filter-unknown-field", Bad("GET", LIST, 400, "INVALID_ARGUMENT",
                                      'unknown field "state" at offset 0 in \'state="RUNNING"\'; filterable fields are',
                                      query="filter=state%3D%22RUNNING%22")),
    _case("filter-done-is-not-a-number", Bad("GET", LIST, 400, "INVALID_ARGUMENT",
                                             "done is a boolean: use =, != or : with true or false, not =5",
                                             query="filter=done%3D5")),
    _case("filter-error-code-unknown-name", Bad("GET", LIST, 400, "INVALID_ARGUMENT",
                                                "error.code takes an integer or a code name, not 'NOPE'",
                                                query="filter=error.code%3DNOPE")),
    # -- names and methods the profile does not serve ---------------------------------------------------
    _case("unknown-operation", Bad("GET", "/v1/{parent}/operations/op-9", 404, "NOT_FOUND",
                                   "operation 'projects/test-project/locations/global/operations/op-9' not found; "
                                   "did you mean")),
    _case("cancel-unknown-operation", Bad("POST", "/v1/{parent}/operations/nope:cancel", 404, "NOT_FOUND",
                                          "/operations/nope' not found")),
    _case("delete-unknown-operation", Bad("DELETE", "/v1/{parent}/operations/nope", 404, "NOT_FOUND",
                                          "/operations/nope' not found")),
    _case("wait-unknown-operation", Bad("POST", "/v1/{parent}/operations/nope:wait", 404, "NOT_FOUND",
                                        "/operations/nope' not found", query="timeout=5s")),
    _case("earthengine-location-name", Bad("GET", "/v1/projects/p/locations/l/operations/x", 404, "NOT_FOUND",
                                           "is not an operation name the earthengine profile serves; its names look "
                                           "like projects/*/operations/**", profile="earthengine")),
    _case("earthengine-location-parent", Bad("GET", "/v1/projects/p/locations/l/operations", 404, "NOT_FOUND",
                                             "projects/p/locations/l is not a collection the earthengine profile lists "
                                             "operations of; it lists projects/*", profile="earthengine")),
    _case("earthengine-global-list", Bad("GET", "/v1/operations", 404, "NOT_FOUND",
                                         "(empty) is not a collection the earthengine profile lists",
                                         profile="earthengine")),
    _case("earthengine-partial-success", Bad("GET", LIST, 501, "UNIMPLEMENTED",
                                             "returnPartialSuccess is not supported by the earthengine profile",
                                             query="returnPartialSuccess=true", profile="earthengine")),
    _case("vertex-project-level-name", Bad("POST", "/v1/projects/p/operations/x:cancel", 404, "NOT_FOUND",
                                           "is not an operation name the vertex profile serves", profile="vertex")),
    _case("vertex-global-list-with-a-name", Bad("GET", "/v1/operations", 400, "INVALID_ARGUMENT",
                                                "lists the global collection, so name must be empty",
                                                query="name=projects/p", profile="vertex")),
    _case("cancel-get-list-delete", Bad("DELETE", GET, 501, "UNIMPLEMENTED",
                                        "DeleteOperation is not offered by the cancel-get-list profile, which has "
                                        "CancelOperation, GetOperation, ListOperations", profile="cancel-get-list")),
    _case("cancel-get-list-wait", Bad("POST", WAIT, 501, "UNIMPLEMENTED",
                                      "WaitOperation is not offered by the cancel-get-list profile",
                                      profile="cancel-get-list")),
    _case("cancel-get-list-multi-segment-name", Bad("GET", "/v2/projects/p/operations/a/b", 404, "NOT_FOUND",
                                                    "its names look like projects/*/operations/*",
                                                    profile="cancel-get-list")),
]


def test_the_table_is_large_and_unambiguous() -> None:
    ids = [param.id for param in CASES]
    assert len(ids) >= 30
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("bad", CASES)
def test_bad_request(lro_emulator: Emulator, http: Client, bad: Bad) -> None:
    _populate(lro_emulator)
    query = bad.query(http) if callable(bad.query) else bad.query  # obtain any token before the snapshot
    before = _store(lro_emulator)

    response = _send(http, lro_emulator, dataclasses.replace(bad, query=query))

    error = _error(response, bad.status, bad.code)
    assert bad.fragment in error["message"]
    assert (lro_emulator.calls.last.status, lro_emulator.calls.last.code) == (bad.status, bad.code)
    assert _store(lro_emulator) == before


def test_no_bad_request_is_an_emulator_failure(lro_emulator: Emulator, http: Client) -> None:
    failures: dict[str, Any] = {}
    for param in CASES:
        (bad,) = param.values
        lro_emulator.reset(profile=bad.profile)
        _populate(lro_emulator)
        response = _send(http, lro_emulator, bad)
        if response.status_code == 500 or lro_emulator.problems:
            failures[param.id] = (response.status_code, lro_emulator.problems)
    assert failures == {}
