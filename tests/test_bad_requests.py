"""Bad requests over REST: each answers an exact AIP-193 error a person can act on, and changes nothing.

Every case runs against the same small store (operations whose state would visibly move if a
request wrongly counted a poll, cancelled, deleted or advanced the clock), snapshotted before and
after the request; each case states its whole envelope: status, message, ErrorInfo reason, domain
and metadata, and any BadRequest field violations. The table covers the Operations surface
(routing, methods, bodies, content types, durations, query parameters, page tokens, filters, long
and odd names, percent-encoded slashes, profiles, credentials) and the control plane (clock,
operations, scenarios, call log, reset). Requests beyond what the HTTP server itself reads (a
request line or headers over its limits) go over a real socket.
"""

from __future__ import annotations

import base64
import dataclasses
import http.client
import json
import sys
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from werkzeug.test import Client, TestResponse

from lro_emulator import Emulator
from lro_emulator.wire.validation import load_schemas  # internal: the schemas the envelopes are checked against

from .helpers import struct

JSON = dict[str, Any]
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
DOMAIN = "lro-emulator"
OTHER = "projects/other/operations/elsewhere"
PARENT = "projects/test-project/locations/global"
OP1 = f"{PARENT}/operations/op-1"
AUTH = {"token": "tok-good", "api_key": "key-good", "forbidden": ["tok-denied", "key-denied"]}


@dataclasses.dataclass(frozen=True)
class Around:
    """An expected message whose middle echoes a huge input: its exact start and its exact end."""

    prefix: str
    suffix: str


@dataclasses.dataclass(frozen=True)
class Bad:
    """A bad request and the exact error it must answer. ``{name}`` and ``{parent}`` in the path come from the store.

    ``field`` is the one BadRequest field violation (described by the message itself); ``violations`` lists
    them instead when their descriptions differ from the message; with neither, the error has no BadRequest.
    """

    method: str
    path: str
    status: int
    code: str
    message: str | Around
    reason: str
    field: str | None = None
    violations: tuple[tuple[str, str], ...] = ()
    metadata: Mapping[str, str] | None = None
    query: str | Callable[[Client], str] = ""
    data: bytes | None = None
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    auth: Mapping[str, Any] | None = None
    profile: str = "generic"

    @property
    def control(self) -> bool:
        return self.path.startswith("/_emulator")


def invalid(method: str, path: str, message: str | Around, *, field: str, reason: str = "INVALID_ARGUMENT",
            **options: Any) -> Bad:
    """An INVALID_ARGUMENT naming one field."""
    return Bad(method, path, 400, "INVALID_ARGUMENT", message, reason, field=field, **options)


def scenario(method: str, path: str, message: str, *violations: tuple[str, str], **options: Any) -> Bad:
    """A control-plane document the scenario reader refused, with the field violations it lists."""
    return Bad(method, path, 400, "INVALID_ARGUMENT", message, "INVALID_SCENARIO", violations=violations, **options)


def not_found(method: str, path: str, message: str | Around, reason: str, **options: Any) -> Bad:
    return Bad(method, path, 404, "NOT_FOUND", message, reason, **options)


def unauthenticated(path: str, message: str, reason: str, *, method: str = "GET",
                    auth: Mapping[str, Any] = AUTH, **options: Any) -> Bad:
    return Bad(method, path, 401, "UNAUTHENTICATED", message, reason, auth=auth, **options)


ROUTES = ("GET /{version}/{name=**/operations/**}; GET /{version}/{name=**}/operations; GET /{version}/operations; "
          "POST /{version}/{name=**/operations/**}:cancel; DELETE /{version}/{name=**/operations/**}; "
          "POST /{version}/{name=**/operations/**}:wait")
CONTROL_ROUTES = ("GET /_emulator/v1; GET /_emulator/openapi.json; POST /_emulator/v1/operations; "
                  "POST /_emulator/v1/scenario:load; GET /_emulator/v1/clock; POST /_emulator/v1/clock:advance; "
                  "POST /_emulator/v1/clock:set; GET /_emulator/v1/calls; POST /_emulator/v1:reset")
DURATION = ("A google.protobuf.Duration in proto3 JSON: a decimal number of seconds with an `s` suffix, an optional "
            'minus sign and at most 9 fractional digits (`"3s"`, `"1.5s"`, `"-0.000000001s"`; not `"1.5"`, `"3 s"` '
            'or `"1.0000000001s"`), within ±315576000000 s (10 000 years).')
VIRTUAL_DURATION = ('A virtual duration: seconds as a number (90, 1.5) or a proto3 JSON Duration string ("90s", '
                    '"1.5s"). Never negative, and at most 315576000000 seconds (10,000 years).')
QUERY_DURATION_HINT = 'write decimal seconds with an \'s\' suffix, such as "30s" or "1.5s"'
TIMESTAMP = 'An RFC 3339 timestamp with a time zone: "2030-01-01T00:00:00Z" or "2030-01-01T02:00:00+02:00".'
NOT_A_TOKEN = ("is not a token this service issued; pass the nextPageToken of the previous page unchanged, or omit "
               "it for the first page")
FOREIGN_TOKEN = ("pageToken was issued for a different parent or filter, or before the emulator was last reset; "
                 "repeat the same parent and filter on every page, or start again without a token")
#: CPython's own words for its digit limit, which the emulator passes on: 3.10 says "(4300)", 3.11 "(4300 digits)".
INT_LIMIT = "4300" if sys.version_info < (3, 11) else "4300 digits"
FILTERABLE = ("filterable fields are name, done, error (with :*), error.code, error.message, metadata (with :*), "
              "metadata.<path>")
NO_PARAMETERS = "this method accepts no parameters besides the standard ones"
BEARER_OR_KEY = ("an 'Authorization: Bearer <token>' header or an API key (x-goog-api-key header or key= query "
                 "parameter)")
OVERSIZED = b'{"name": "' + b"n" * (1 << 20) + b'"}'
LONG_ID = "x" * 10_000
EMPTY = '{"@type": "type.googleapis.com/google.protobuf.Empty"}'


def no_route(method: str, path: str) -> str:
    return f"no Operations method is served at {method} {path}; routes are: {ROUTES}"


def not_a_method(method: str, path: str, accepts: str) -> str:
    return f"{method} is not a method of {path}; it accepts {accepts}"


def missing(name: str, *close: str) -> str:
    return f"operation {name!r} not found; did you mean {', '.join(repr(f'{PARENT}/operations/{c}') for c in close)}?"


def unknown_operation(method: str, path: str, name: str, *close: str, **options: Any) -> Bad:
    return not_found(method, path, missing(name, *close), "OPERATION_NOT_FOUND", metadata={"name": name}, **options)


def malformed_duration(value: str) -> str:
    return f"Invalid JSON payload received. {value!r} is malformed: {DURATION}"


def query_duration(value: str) -> str:
    return f"timeout: {value!r} is not a duration: {QUERY_DURATION_HINT}"


def _populate(emulator: Emulator) -> None:
    """Operations under the profile's default parent whose state a wrongly accepted request would move."""
    emulator.add_operation().succeed(struct(ok=True), after_polls=1)  # one counted poll makes it done
    emulator.add_operation().succeed(struct(ok=True), at=30)  # a moved clock makes it done
    emulator.add_operation(metadata=struct(state="RUNNING"))  # a cancel would make it CANCELLED
    emulator.add_operation().fail("NOT_FOUND", "gone")
    if emulator.profile.accepts_name(OTHER):
        emulator.add_operation(OTHER)


def _prepare(emulator: Emulator, bad: Bad) -> None:
    if bad.auth is not None:
        emulator.require_auth(**bad.auth)
    _populate(emulator)


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
                     content_type=bad.content_type, headers=list(bad.headers))


def _message(expected: str | Around, actual: str) -> str:
    """The message the envelope must carry: the expected one, or the actual one if it has the expected ends."""
    __tracebackhide__ = True
    if isinstance(expected, str):
        return expected
    assert actual.startswith(expected.prefix), actual[: len(expected.prefix) + 80]
    assert actual.endswith(expected.suffix), actual[-len(expected.suffix) - 80:]
    return actual


def _envelope(bad: Bad, message: str) -> JSON:
    info: JSON = {"@type": ERROR_INFO, "reason": bad.reason, "domain": DOMAIN}
    if bad.metadata is not None:
        info["metadata"] = dict(bad.metadata)
    details = [info]
    violations = bad.violations or (((bad.field, message),) if bad.field is not None else ())
    if violations:
        details.append({"@type": BAD_REQUEST,
                        "fieldViolations": [{"field": field, "description": text} for field, text in violations]})
    return {"error": {"code": bad.status, "message": message, "status": bad.code, "details": details}}


def _case(case_id: str, bad: Bad, *marks: pytest.MarkDecorator) -> Any:
    return pytest.param(bad, id=case_id, marks=[pytest.mark.lro_emulator(profile=bad.profile), *marks])


LIST = "/v1/{parent}/operations"
CANCEL = "/v1/{name}:cancel"
WAIT = "/v1/{name}:wait"
GET = "/v1/{name}"
OPS = f"/v1/{PARENT}/operations"
CONTROL = "/_emulator/v1"
LIKE_OP9 = ("op-4", "op-3", "op-2")

ROUTING = [
    _case("unknown-collection", not_found("GET", "/v1/projects/p/jobs/x", no_route("GET", "/v1/projects/p/jobs/x"),
                                          "ROUTE_NOT_FOUND")),
    _case("unknown-custom-verb", not_found("POST", "/v1/{name}:frobnicate", no_route("POST", f"/v1/{OP1}:frobnicate"),
                                           "ROUTE_NOT_FOUND")),
    _case("root", not_found("GET", "/", no_route("GET", "/"), "ROUTE_NOT_FOUND")),
    _case("no-version-segment", not_found("GET", "/api/{name}", no_route("GET", f"/api/{OP1}"), "ROUTE_NOT_FOUND")),
    _case("upper-case-version", not_found("GET", "/V1/{name}", no_route("GET", f"/V1/{OP1}"), "ROUTE_NOT_FOUND")),
    _case("trailing-slash", not_found("GET", "/v1/{name}/", no_route("GET", f"/v1/{OP1}/"), "ROUTE_NOT_FOUND")),
    _case("empty-segment", not_found("GET", "/v1/projects//operations/x", no_route("GET", "/v1/projects//operations/x"),
                                     "ROUTE_NOT_FOUND")),
    _case("custom-verb-on-a-collection", not_found("POST", LIST + ":cancel", no_route("POST", f"{OPS}:cancel"),
                                                   "ROUTE_NOT_FOUND")),
]

METHODS = [
    _case("put-operation", not_found("PUT", GET, not_a_method("PUT", f"/v1/{OP1}", "DELETE, GET"),
                                     "METHOD_NOT_FOUND")),
    _case("patch-operation", not_found("PATCH", GET, not_a_method("PATCH", f"/v1/{OP1}", "DELETE, GET"),
                                       "METHOD_NOT_FOUND")),
    _case("post-operation-without-verb", not_found("POST", GET, not_a_method("POST", f"/v1/{OP1}", "DELETE, GET"),
                                                   "METHOD_NOT_FOUND")),
    _case("options-operation", not_found("OPTIONS", GET, not_a_method("OPTIONS", f"/v1/{OP1}", "DELETE, GET"),
                                         "METHOD_NOT_FOUND")),
    _case("get-cancel", not_found("GET", CANCEL, not_a_method("GET", f"/v1/{OP1}:cancel", "POST"),
                                  "METHOD_NOT_FOUND")),
    _case("delete-wait", not_found("DELETE", WAIT, not_a_method("DELETE", f"/v1/{OP1}:wait", "POST"),
                                   "METHOD_NOT_FOUND")),
    _case("post-collection", not_found("POST", LIST, not_a_method("POST", OPS, "GET"), "METHOD_NOT_FOUND")),
    _case("delete-collection", not_found("DELETE", LIST, not_a_method("DELETE", OPS, "GET"), "METHOD_NOT_FOUND")),
]

BODIES = [
    _case("malformed-json", invalid("POST", CANCEL, "Invalid JSON payload received. Expecting property name enclosed "
                                    "in double quotes: line 1 column 2 (char 1)", field="body", data=b"{")),
    _case("truncated-json", invalid("POST", WAIT, "Invalid JSON payload received. Expecting ',' delimiter: line 1 "
                                    "column 17 (char 16)", field="body", data=b'{"timeout": "1s"')),
    _case("invalid-utf8", invalid("POST", CANCEL, "Invalid JSON payload received. 'utf-8' codec can't decode byte "
                                  "0xff in position 10: invalid start byte", field="body", data=b'{"name": "\xff"}')),
    _case("deeply-nested-json", invalid("POST", CANCEL, "Invalid JSON payload received. It is nested too deeply.",
                                        field="body", data=b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")),
    # A JSON body's kind is named as JSON names it, not by the emulator's Python type names (list, str, NoneType).
    _case("json-array", invalid("POST", CANCEL, "Invalid JSON payload received. Expected an object, got an array",
                                field="body", data=b"[]")),
    _case("json-string", invalid("POST", WAIT, "Invalid JSON payload received. Expected an object, got a string",
                                 field="body", data=b'"{}"')),
    _case("json-number", invalid("POST", WAIT, "Invalid JSON payload received. Expected an object, got a number",
                                 field="body", data=b"3")),
    _case("json-null", invalid("POST", CANCEL, "Invalid JSON payload received. Expected an object, got null",
                               field="body", data=b"null")),
    _case("json-boolean", invalid("POST", WAIT, "Invalid JSON payload received. Expected an object, got a boolean",
                                  field="body", data=b"true")),
    _case("nan", invalid("POST", WAIT, "Invalid JSON payload received. NaN is not valid JSON", field="body",
                         data=b'{"timeout": NaN}')),
    _case("infinity", invalid("POST", WAIT, "Invalid JSON payload received. -Infinity is not valid JSON", field="body",
                              data=b'{"timeout": -Infinity}')),
    # The interpreter's advice on raising its own limit is no advice for the client.
    _case("integer-of-5001-digits", invalid(
        "POST", WAIT, f"Invalid JSON payload received. Exceeds the limit ({INT_LIMIT}) for integer string conversion: "
        "value has 5001 digits", field="body", data=b'{"timeout": 1' + b"0" * 5000 + b"}")),
    _case("timeout-is-a-number", invalid("POST", WAIT, "Invalid JSON payload received. 5 is not of type 'string'",
                                         field="timeout", data=b'{"timeout": 5}')),
    _case("timeout-is-an-object", invalid("POST", WAIT, "Invalid JSON payload received. {'seconds': 5} is not of "
                                          "type 'string'", field="timeout", data=b'{"timeout": {"seconds": 5}}')),
    _case("name-is-a-number", invalid("POST", CANCEL, "Invalid JSON payload received. 1 is not of type 'string'",
                                      field="name", data=b'{"name": 1}')),
    _case("unknown-cancel-field", invalid("POST", CANCEL, "Invalid JSON payload received. Additional properties are "
                                          "not allowed ('force' was unexpected)", field="body",
                                          data=b'{"force": true}')),
    _case("unknown-wait-field", invalid("POST", WAIT, "Invalid JSON payload received. Additional properties are not "
                                        "allowed ('deadline' was unexpected)", field="body",
                                        data=b'{"timeout": "1s", "deadline": "2s"}')),
    # The unknown key is named as the client wrote it, not as the emulator camel-cased it ('timeOut').
    _case("unknown-snake-case-wait-field", invalid("POST", WAIT, "Invalid JSON payload received. Additional "
                                                   "properties are not allowed ('time_out' was unexpected) "
                                                   "(did you mean 'timeout'?)",
                                                   field="body", data=b'{"time_out": "1s"}')),
    _case("cancel-body-names-another-operation", invalid(
        "POST", CANCEL, f"the body names {OTHER!r} but the path names {OP1!r}", field="name",
        data=b'{"name": "%s"}' % OTHER.encode())),
    _case("wait-body-names-another-operation", invalid(
        "POST", WAIT, f"the body names {OTHER!r} but the path names {OP1!r}", field="name",
        data=b'{"name": "%s"}' % OTHER.encode())),
    _case("oversized-body", invalid("POST", CANCEL, "the request body is larger than 1048576 bytes", field="body",
                                    data=OVERSIZED)),
]

CONTENT_TYPES = [
    _case("text-plain-body", invalid("POST", CANCEL, "the request body must be JSON (Content-Type: application/json), "
                                     "got 'text/plain'", field="body", data=b"{}", content_type="text/plain")),
    _case("form-body", invalid("POST", WAIT, "the request body must be JSON (Content-Type: application/json), got "
                               "'application/x-www-form-urlencoded'", field="body", data=b"timeout=1s",
                               content_type="application/x-www-form-urlencoded")),
    _case("xml-body", invalid("POST", CANCEL, "the request body must be JSON (Content-Type: application/json), got "
                              "'application/xml'", field="body", data=b"<cancel/>", content_type="application/xml")),
]

DURATIONS = [
    _case("body-duration-without-s", invalid("POST", WAIT, malformed_duration("1.5"), field="timeout",
                                             data=b'{"timeout": "1.5"}')),
    _case("body-duration-abc", invalid("POST", WAIT, malformed_duration("abc"), field="timeout",
                                       data=b'{"timeout": "abc"}')),
    _case("body-duration-ten-fraction-digits", invalid("POST", WAIT, malformed_duration("1.0000000001s"),
                                                       field="timeout", data=b'{"timeout": "1.0000000001s"}')),
    _case("body-duration-beyond-10000-years", invalid("POST", WAIT, malformed_duration("315576000001s"),
                                                      field="timeout", data=b'{"timeout": "315576000001s"}')),
    _case("body-duration-negative", invalid("POST", WAIT, "timeout must not be negative (got -1s)", field="timeout",
                                            data=b'{"timeout": "-1s"}')),
    _case("query-duration-without-s", invalid("POST", WAIT, query_duration("1.5"), field="timeout",
                                              query="timeout=1.5")),
    _case("query-duration-abc", invalid("POST", WAIT, query_duration("abc"), field="timeout", query="timeout=abc")),
    _case("query-duration-empty", invalid("POST", WAIT, query_duration(""), field="timeout", query="timeout=")),
    _case("query-duration-negative", invalid("POST", WAIT, "timeout must not be negative (got -1s)", field="timeout",
                                             query="timeout=-1s")),
    _case("query-duration-trailing-newline", invalid("POST", WAIT, query_duration("3s\n"), field="timeout",
                                                     query="timeout=3s%0A")),
    _case("query-duration-non-ascii-digit", invalid("POST", WAIT, query_duration("\u0663s"), field="timeout",
                                                    query="timeout=%D9%A3s")),
    _case("timeout-in-query-and-body", invalid("POST", WAIT, "timeout was given both in the query and in the body; "
                                               "give it once", field="timeout", query="timeout=1s",
                                               data=b'{"timeout": "1s"}')),
]

QUERIES = [
    _case("unknown-get-parameter", invalid("GET", GET, f"unknown query parameter 'view'; {NO_PARAMETERS}",
                                           field="view", query="view=FULL")),
    _case("unknown-list-parameter", invalid("GET", LIST, "unknown query parameter 'orderBy'; this method accepts "
                                            "filter, pageSize, pageToken, returnPartialSuccess", field="orderBy",
                                            query="orderBy=name")),
    _case("unknown-cancel-parameter", invalid("POST", CANCEL, f"unknown query parameter 'force'; {NO_PARAMETERS}",
                                              field="force", query="force=true")),
    _case("unknown-delete-parameter", invalid("DELETE", GET, f"unknown query parameter 'etag'; {NO_PARAMETERS}",
                                              field="etag", query="etag=x")),
    _case("unknown-wait-parameter", invalid("POST", WAIT, "unknown query parameter 'deadline'; this method accepts "
                                            "timeout", field="deadline", query="deadline=1s")),
    _case("repeated-page-size", invalid("GET", LIST, "query parameter 'pageSize' was given more than once",
                                        field="pageSize", query="pageSize=1&pageSize=2")),
    _case("page-size-in-both-spellings", invalid("GET", LIST, "query parameter 'pageSize' was given more than once",
                                                 field="pageSize", query="pageSize=1&page_size=1")),
    _case("repeated-filter", invalid("GET", LIST, "query parameter 'filter' was given more than once", field="filter",
                                     query="filter=done%3Dtrue&filter=done%3Dfalse")),
    _case("repeated-timeout", invalid("POST", WAIT, "query parameter 'timeout' was given more than once",
                                      field="timeout", query="timeout=1s&timeout=2s")),
    _case("return-partial-success-not-a-boolean", invalid("GET", LIST, "returnPartialSuccess must be true or false, "
                                                          "got 'maybe'", field="returnPartialSuccess",
                                                          query="returnPartialSuccess=maybe")),
    _case("page-size-negative", invalid("GET", LIST, "pageSize must not be negative (got -1); use 0 or omit it for the "
                                        "default of 50", field="pageSize", query="pageSize=-1")),
    _case("page-size-snake-case-negative", invalid("GET", LIST, "pageSize must not be negative (got -5); use 0 or "
                                                   "omit it for the default of 50", field="pageSize",
                                                   query="page_size=-5")),
    _case("page-size-word", invalid("GET", LIST, "pageSize must be an integer, got 'ten'", field="pageSize",
                                    query="pageSize=ten")),
    _case("page-size-decimal", invalid("GET", LIST, "pageSize must be an integer, got '1.5'", field="pageSize",
                                       query="pageSize=1.5")),
    _case("page-size-empty", invalid("GET", LIST, "pageSize must be an integer, got ''", field="pageSize",
                                     query="pageSize=")),
    _case("page-size-beyond-int32", invalid("GET", LIST, "pageSize is out of range for an int32: 2147483648",
                                            field="pageSize", query="pageSize=2147483648")),
    _case("page-size-with-underscore", invalid("GET", LIST, "pageSize must be an integer, got '1_0'", field="pageSize",
                                               query="pageSize=1_0")),
    _case("page-size-non-ascii-digit", invalid("GET", LIST, "pageSize must be an integer, got '\u0661'",
                                               field="pageSize", query="pageSize=%D9%A1")),
]

TOKENS = [
    _case("page-token-garbage", invalid("GET", LIST, f"pageToken 'garbage' {NOT_A_TOKEN}", field="pageToken",
                                        reason="INVALID_PAGE_TOKEN", query="pageToken=garbage")),
    _case("page-token-not-base64-json", invalid("GET", LIST, f"pageToken 'WzIsMywieCJd' {NOT_A_TOKEN}",
                                                field="pageToken", reason="INVALID_PAGE_TOKEN",
                                                query="pageToken=WzIsMywieCJd")),  # [2,3,"x"]: a wrong version
    # A 40 000-character token may be shortened where it is echoed; what surrounds it may not.
    _case("page-token-deeply-nested", invalid("GET", LIST, Around("pageToken 'W1tbW1tb", f"' {NOT_A_TOKEN}"),
                                              field="pageToken", reason="INVALID_PAGE_TOKEN",
                                              query="pageToken=" + base64.urlsafe_b64encode(b"[" * 30000).decode())),
    _case("page-token-from-another-parent", invalid("GET", "/v1/projects/other/operations", FOREIGN_TOKEN,
                                                    field="pageToken", reason="INVALID_PAGE_TOKEN",
                                                    query=_token(OPS))),
    _case("page-token-from-another-filter", invalid("GET", LIST, FOREIGN_TOKEN, field="pageToken",
                                                    reason="INVALID_PAGE_TOKEN",
                                                    query=lambda http: _token(OPS)(http) + "&filter=done%3Dfalse")),
]

FILTERS = [
    _case("filter-missing-value", invalid("GET", LIST, "filter: expected a value after \"=\" at offset 5 in 'done='",
                                          field="filter", reason="INVALID_FILTER", query="filter=done%3D")),
    _case("filter-unclosed-parenthesis", invalid("GET", LIST, "filter: \"(\" at offset 0 is never closed: expected "
                                                 "\")\" at offset 10 in '(done=true'", field="filter",
                                                 reason="INVALID_FILTER", query="filter=%28done%3Dtrue")),
    _case("filter-lower-case-and", invalid("GET", LIST, "filter: \"and\" has no comparator at offset 10 in 'done=true "
                                           "and done=false'; bare values are not supported by this service: write "
                                           "field=value (the keywords AND, OR, NOT are upper case)", field="filter",
                                           reason="INVALID_FILTER", query="filter=done%3Dtrue%20and%20done%3Dfalse")),
    _case("filter-too-long", invalid("GET", LIST, "filter: 4106 characters is longer than the 4096 allowed",
                                     field="filter", reason="INVALID_FILTER",
                                     query="filter=" + "%20" * 4097 + "done%3Dtrue")),
    _case("filter-nested-too-deeply", invalid("GET", LIST, "filter: parentheses nested deeper than 64 at offset 64 in "
                                              f"'{'(' * 65}done=true{')' * 65}'", field="filter",
                                              reason="INVALID_FILTER",
                                              query="filter=" + "%28" * 65 + "done%3Dtrue" + "%29" * 65)),
    _case("filter-unknown-field", invalid("GET", LIST, f"filter: unknown field \"state\" at offset 0 in "
                                          f"'state=\"RUNNING\"'; {FILTERABLE}", field="filter",
                                          reason="INVALID_FILTER", query="filter=state%3D%22RUNNING%22")),
    _case("filter-done-is-not-a-number", invalid("GET", LIST, "filter: done is a boolean: use =, != or : with true or "
                                                 "false, not =5 at offset 0 in 'done=5'", field="filter",
                                                 reason="INVALID_FILTER", query="filter=done%3D5")),
    _case("filter-error-code-unknown-name", invalid("GET", LIST, "filter: error.code takes an integer or a code name, "
                                                    "not 'NOPE' at offset 0 in 'error.code=NOPE'", field="filter",
                                                    reason="INVALID_FILTER", query="filter=error.code%3DNOPE")),
    _case("filter-non-ascii-digit", invalid("GET", LIST, "filter: error.code takes an integer or a code name, not "
                                            "'\u0663' at offset 0 in 'error.code=\u0663'", field="filter",
                                            reason="INVALID_FILTER", query="filter=error.code%3D%D9%A3")),
]

NAMES = [
    _case("unknown-operation", unknown_operation("GET", "/v1/{parent}/operations/op-9", f"{PARENT}/operations/op-9",
                                                 *LIKE_OP9)),
    _case("cancel-unknown-operation", unknown_operation("POST", "/v1/{parent}/operations/nope:cancel",
                                                        f"{PARENT}/operations/nope", *LIKE_OP9)),
    _case("delete-unknown-operation", unknown_operation("DELETE", "/v1/{parent}/operations/nope",
                                                        f"{PARENT}/operations/nope", *LIKE_OP9)),
    _case("wait-unknown-operation", unknown_operation("POST", "/v1/{parent}/operations/nope:wait",
                                                      f"{PARENT}/operations/nope", *LIKE_OP9, query="timeout=5s")),
    # The 10 000-character name may be shortened where the message echoes it; ErrorInfo names it whole.
    _case("operation-id-of-10000-characters", invalid(
        "GET", f"/v1/{{parent}}/operations/{LONG_ID}",
        f"the path is {len(PARENT) + 16 + len(LONG_ID):,} characters long; the emulator routes paths of at most "
        "2,048", field="name")),
    _case("unicode-operation-id", unknown_operation("GET", "/v1/{parent}/operations/%C3%A9t%C3%A9",
                                                    f"{PARENT}/operations/\u00e9t\u00e9", *LIKE_OP9)),
    _case("nul-in-operation-id", unknown_operation("GET", "/v1/{name}%00", f"{OP1}\x00", "op-1", "op-4", "op-3")),
    _case("dot-segment", unknown_operation("GET", "/v1/{parent}/operations/./op-1", f"{PARENT}/operations/./op-1",
                                           "op-1", "op-4", "op-3")),
    _case("dot-dot-segment", unknown_operation("GET", "/v1/{parent}/operations/../operations/op-1",
                                               f"{PARENT}/operations/../operations/op-1", "op-1", "op-4", "op-3")),
    _case("dot-dot-segment-before-a-verb", unknown_operation("POST", "/v1/{parent}/operations/x/..:cancel",
                                                             f"{PARENT}/operations/x/..", *LIKE_OP9)),
    _case("space-in-operation-id", not_found("GET", "/v1/{parent}/operations/op%201",
                                             no_route("GET", f"{OPS}/op 1"), "ROUTE_NOT_FOUND")),
    _case("colon-inside-the-collection", not_found("GET", "/v1/{parent}/oper:ations/op-1",
                                                   no_route("GET", f"/v1/{PARENT}/oper:ations/op-1"),
                                                   "ROUTE_NOT_FOUND")),
    _case("colon-inside-an-operation-id", not_found("GET", "/v1/{parent}/operations/op:1",
                                                    no_route("GET", f"{OPS}/op:1"), "ROUTE_NOT_FOUND")),
    _case("empty-custom-verb", not_found("POST", "/v1/{name}:", no_route("POST", f"/v1/{OP1}:"), "ROUTE_NOT_FOUND")),
    _case("two-custom-verbs", not_found("POST", "/v1/{name}:cancel:cancel",
                                        no_route("POST", f"/v1/{OP1}:cancel:cancel"), "ROUTE_NOT_FOUND")),
]

# google.api.http: a multi-segment variable ({name=**}) is percent-decoded except for %2F, which stays as sent.
# A %2F is therefore part of a name, never a separator: a client that encodes the slashes of a name reaches
# nothing on Google, and must reach nothing here either.
PERCENT_ENCODED_SLASHES = [
    _case("percent-encoded-slashes-in-a-whole-name", not_found(
        "GET", "/v1/projects%2Ftest-project%2Flocations%2Fglobal%2Foperations%2Fop-1",
        no_route("GET", "/v1/projects%2Ftest-project%2Flocations%2Fglobal%2Foperations%2Fop-1"), "ROUTE_NOT_FOUND")),
    _case("percent-encoded-slash-inside-an-operation-id", unknown_operation(
        "GET", "/v1/{name}%2Fx", f"{OP1}%2Fx", "op-2", "op-1", "op-4")),
    _case("lower-case-percent-encoded-slash-before-a-verb", unknown_operation(
        "POST", "/v1/{name}%2fx:cancel", f"{OP1}%2fx", "op-2", "op-1", "op-4")),
    _case("percent-encoded-slash-in-a-parent", not_found(
        "GET", "/v1/projects%2Ftest-project/operations", "projects%2Ftest-project is not a collection the earthengine "
        "profile lists operations of; it lists projects/*", "UNKNOWN_PARENT", profile="earthengine")),
    _case("percent-encoded-slash-in-a-deleted-name", not_found(
        "DELETE", "/v1/projects%2Ftest-project/operations/op-1", "'projects%2Ftest-project/operations/op-1' is not an "
        "operation name the earthengine profile serves; its names look like projects/*/operations/**",
        "OPERATION_NOT_FOUND", metadata={"name": "projects%2Ftest-project/operations/op-1"}, profile="earthengine")),
]

PROFILES = [
    _case("earthengine-location-name", not_found(
        "GET", "/v1/projects/p/locations/l/operations/x", "'projects/p/locations/l/operations/x' is not an operation "
        "name the earthengine profile serves; its names look like projects/*/operations/**", "OPERATION_NOT_FOUND",
        metadata={"name": "projects/p/locations/l/operations/x"}, profile="earthengine")),
    _case("earthengine-location-parent", not_found(
        "GET", "/v1/projects/p/locations/l/operations", "projects/p/locations/l is not a collection the earthengine "
        "profile lists operations of; it lists projects/*", "UNKNOWN_PARENT", profile="earthengine")),
    _case("earthengine-global-list", not_found(
        "GET", "/v1/operations", "(empty) is not a collection the earthengine profile lists operations of; it lists "
        "projects/*", "UNKNOWN_PARENT", profile="earthengine")),
    _case("earthengine-partial-success", Bad(
        "GET", LIST, 501, "UNIMPLEMENTED", "returnPartialSuccess is not supported by the earthengine profile",
        "PARTIAL_SUCCESS_UNSUPPORTED", query="returnPartialSuccess=true", profile="earthengine")),
    _case("vertex-project-level-name", not_found(
        "POST", "/v1/projects/p/operations/x:cancel", "'projects/p/operations/x' is not an operation name the vertex "
        "profile serves; its names look like projects/*/locations/*/operations/* or "
        "projects/*/locations/*/agents/*/operations/* or projects/*/locations/*/apps/*/operations/* or "
        "projects/*/locations/*/datasets/*/operations/* (or one of 152 more: see the profile's patterns)",
        "OPERATION_NOT_FOUND",
        metadata={"name": "projects/p/operations/x"}, profile="vertex")),
    _case("vertex-global-list-with-a-name", invalid(
        "GET", "/v1/operations", "GET /v1/operations lists the global collection, so name must be empty, not "
        "'projects/p'; list a collection at /v1/{name}/operations", field="name", query="name=projects/p",
        profile="vertex")),
    _case("cancel-get-list-delete", Bad(
        "DELETE", GET, 501, "UNIMPLEMENTED", "DeleteOperation is not offered by the cancel-get-list profile, which has "
        "CancelOperation, GetOperation, ListOperations", "METHOD_NOT_OFFERED", profile="cancel-get-list")),
    _case("cancel-get-list-wait", Bad(
        "POST", WAIT, 501, "UNIMPLEMENTED", "WaitOperation is not offered by the cancel-get-list profile, which has "
        "CancelOperation, GetOperation, ListOperations", "METHOD_NOT_OFFERED", profile="cancel-get-list")),
    _case("cancel-get-list-multi-segment-name", not_found(
        "GET", "/v2/projects/p/operations/a/b", "'projects/p/operations/a/b' is not an operation name the "
        "cancel-get-list profile serves; its names look like projects/*/locations/*/operations/* or "
        "projects/*/operations/*", "OPERATION_NOT_FOUND",
        metadata={"name": "projects/p/operations/a/b"}, profile="cancel-get-list")),
]

CREDENTIALS = [
    _case("no-credentials", unauthenticated(
        GET, f"Request is missing required authentication credential: GetOperation needs {BEARER_OR_KEY}.",
        "CREDENTIALS_MISSING")),
    _case("no-bearer-token", unauthenticated(
        GET, "Request is missing required authentication credential: GetOperation needs an 'Authorization: Bearer "
        "<token>' header.", "CREDENTIALS_MISSING", auth={"token": "tok-good"})),
    _case("no-api-key", unauthenticated(
        GET, "Request is missing required authentication credential: GetOperation needs an API key (x-goog-api-key "
        "header or key= query parameter).", "CREDENTIALS_MISSING", auth={"api_key": "key-good"})),
    _case("no-credentials-to-list", unauthenticated(
        LIST, f"Request is missing required authentication credential: ListOperations needs {BEARER_OR_KEY}.",
        "CREDENTIALS_MISSING")),
    _case("no-credentials-to-wait", unauthenticated(
        WAIT, f"Request is missing required authentication credential: WaitOperation needs {BEARER_OR_KEY}.",
        "CREDENTIALS_MISSING", method="POST", query="timeout=60s")),
    _case("no-credentials-to-delete", unauthenticated(
        GET, f"Request is missing required authentication credential: DeleteOperation needs {BEARER_OR_KEY}.",
        "CREDENTIALS_MISSING", method="DELETE")),
    _case("no-credentials-and-a-malformed-body", unauthenticated(
        CANCEL, f"Request is missing required authentication credential: CancelOperation needs {BEARER_OR_KEY}.",
        "CREDENTIALS_MISSING", method="POST", data=b"{")),
    _case("basic-authorization", unauthenticated(
        GET, "Request had invalid authentication credentials: the Authorization header must be 'Bearer <token>', got "
        "'Basic …'.", "ACCESS_TOKEN_TYPE_UNSUPPORTED", headers=(("Authorization", "Basic dXNlcjpwYXNz"),))),
    _case("bearer-without-a-token", unauthenticated(
        GET, "Request had invalid authentication credentials: the Authorization header must be 'Bearer <token>', got "
        "'Bearer'.", "ACCESS_TOKEN_TYPE_UNSUPPORTED", headers=(("Authorization", "Bearer"),))),
    _case("unknown-bearer-token", unauthenticated(
        GET, "Request had invalid authentication credentials: the bearer token 'nope' is expired, revoked or was never "
        "issued.", "ACCESS_TOKEN_INVALID", headers=(("Authorization", "Bearer nope"),))),
    _case("unknown-long-bearer-token", unauthenticated(
        GET, "Request had invalid authentication credentials: the bearer token 'ssssss…' is expired, revoked or was "
        "never issued.", "ACCESS_TOKEN_INVALID", headers=(("Authorization", "Bearer " + "s" * 40),))),
    _case("unknown-api-key-header", unauthenticated(
        GET, "API key not valid: 'nokey'. Please pass a valid API key.", "API_KEY_INVALID",
        headers=(("x-goog-api-key", "nokey"),))),
    _case("unknown-api-key-parameter", unauthenticated(
        GET, "API key not valid: 'nokey'. Please pass a valid API key.", "API_KEY_INVALID", query="key=nokey")),
    _case("forbidden-bearer-token", Bad(
        "GET", GET, 403, "PERMISSION_DENIED", "the caller does not have permission to call GetOperation",
        "IAM_PERMISSION_DENIED", metadata={"permission": "GetOperation"}, auth=AUTH,
        headers=(("Authorization", "Bearer tok-denied"),))),
    _case("forbidden-api-key", Bad(
        "POST", CANCEL, 403, "PERMISSION_DENIED", "the caller does not have permission to call CancelOperation",
        "IAM_PERMISSION_DENIED", metadata={"permission": "CancelOperation"}, auth=AUTH,
        headers=(("x-goog-api-key", "key-denied"),))),
]

CONTROL_PLANE = [
    _case("control-unknown-route", not_found(
        "GET", f"{CONTROL}/clocks", f"the control plane has no GET {CONTROL}/clocks; its routes are: {CONTROL_ROUTES}",
        "ROUTE_NOT_FOUND")),
    _case("control-wrong-method", not_found("GET", f"{CONTROL}/clock:advance", not_a_method(
        "GET", f"{CONTROL}/clock:advance", "POST"), "METHOD_NOT_FOUND")),
    _case("control-unknown-parameter", invalid("GET", CONTROL, f"unknown query parameter 'x'; {NO_PARAMETERS}",
                                               field="x", query="x=1")),
    # The duration's own description, not the regular expression of one branch of it.
    _case("advance-by-a-negative-duration", invalid("POST", f"{CONTROL}/clock:advance", VIRTUAL_DURATION,
                                                    field="duration", data=b'{"duration": "-5s"}')),
    _case("advance-by-a-duration-without-s", invalid("POST", f"{CONTROL}/clock:advance", VIRTUAL_DURATION,
                                                     field="duration", data=b'{"duration": "5"}')),
    _case("advance-by-a-boolean", invalid("POST", f"{CONTROL}/clock:advance", VIRTUAL_DURATION, field="duration",
                                          data=b'{"duration": true}')),
    _case("advance-without-a-duration", invalid("POST", f"{CONTROL}/clock:advance", "'duration' is a required "
                                                 "property", field="body", data=b"{}")),
    _case("advance-with-an-unknown-field", invalid("POST", f"{CONTROL}/clock:advance", "Additional properties are not "
                                                   "allowed ('x' was unexpected)", field="body",
                                                   data=b'{"duration": "5s", "x": 1}')),
    # The duration as sent, not rounded to six digits (3.15576e+11s).
    _case("advance-past-the-calendar", invalid("POST", f"{CONTROL}/clock:advance", "315576000000s from "
                                               "2030-01-01T00:00:00+00:00 is past the end of the calendar (year 9999)",
                                               field="duration", data=b'{"duration": "315576000000s"}')),
    _case("advance-with-malformed-json", invalid("POST", f"{CONTROL}/clock:advance", "Invalid JSON payload received. "
                                                 "Expecting value: line 1 column 14 (char 13)", field="body",
                                                 data=b'{"duration": ')),
    _case("advance-with-a-yaml-body", invalid("POST", f"{CONTROL}/clock:advance", "the request body must be "
                                              "application/json, got 'application/yaml'", field="body",
                                              data=b"duration: 5s", content_type="application/yaml")),
    _case("set-the-clock-backwards", Bad(
        "POST", f"{CONTROL}/clock:set", 400, "FAILED_PRECONDITION", "the clock only moves forward: it is "
        "2030-01-01T00:00:00+00:00, cannot set it to 2029-01-01T00:00:00+00:00", "CLOCK_MOVES_FORWARD",
        data=b'{"time": "2029-01-01T00:00:00Z"}')),
    _case("set-the-clock-to-february-30", invalid("POST", f"{CONTROL}/clock:set", "'2031-02-30T00:00:00Z' is not an "
                                                  "RFC 3339 timestamp such as \"2030-01-01T00:00:00Z\"", field="time",
                                                  data=b'{"time": "2031-02-30T00:00:00Z"}')),
    _case("set-the-clock-to-a-word", invalid("POST", f"{CONTROL}/clock:set", f"'tomorrow' is malformed: {TIMESTAMP}",
                                             field="time", data=b'{"time": "tomorrow"}')),
    _case("set-the-clock-to-a-number", invalid("POST", f"{CONTROL}/clock:set", "1900000000 is not of type 'string'",
                                               field="time", data=b'{"time": 1900000000}')),
    _case("create-operation-with-an-unknown-field", scenario(
        "POST", f"{CONTROL}/operations", "the operation was not loaded: /: Unevaluated properties are not allowed "
        "('colour' was unexpected)", ("body", "Unevaluated properties are not allowed ('colour' was unexpected)"),
        data=b'{"name": "projects/p/operations/x", "colour": "red"}')),
    _case("create-operation-named-by-a-number", scenario(
        "POST", f"{CONTROL}/operations", "the operation was not loaded: /name: 5 is not of type 'string'",
        ("/name", "5 is not of type 'string'"), data=b'{"name": 5}')),
    # One fault, said once: not once per kind of payload the schema would have taken.
    _case("create-operation-with-string-metadata", scenario(
        "POST", f"{CONTROL}/operations", "the operation was not loaded: /metadata: 'x' is not of type 'object'",
        ("/metadata", "'x' is not of type 'object'"), data=b'{"metadata": "x"}')),
    _case("create-operation-with-a-taken-name", scenario(
        "POST", f"{CONTROL}/operations", f"the operation was not loaded: /name: an operation named {OP1!r} already "
        "exists in the emulator", ("/name", f"an operation named {OP1!r} already exists in the emulator"),
        data=json.dumps({"name": OP1}).encode())),
    _case("create-operation-with-a-name-and-a-parent", scenario(
        "POST", f"{CONTROL}/operations", "the operation was not loaded: /: Give an operation a `name` or a `parent`, "
        "not both.", ("body", "Give an operation a `name` or a `parent`, not both."),
        data=b'{"name": "projects/p/operations/x", "parent": "projects/p"}')),
    # JSON's true, not Python's True.
    _case("create-operation-done-is-a-word", scenario(
        "POST", f"{CONTROL}/operations", "the operation was not loaded: /steps/0/done: true was expected",
        ("/steps/0/done", "true was expected"), data=b'{"steps": [{"at": "5s", "done": "yes"}]}')),
    _case("create-operation-with-a-response-and-an-error", scenario(
        "POST", f"{CONTROL}/operations", "the operation was not loaded: /steps/0: An operation is done with a "
        "`response` or an `error`, not both.", ("/steps/0", "An operation is done with a `response` or an `error`, "
                                                            "not both."),
        data=b'{"steps": [{"at": "5s", "response": %s, "error": {"code": 5, "message": "x"}}]}' % EMPTY.encode())),
    _case("create-operation-from-an-array", invalid("POST", f"{CONTROL}/operations", "Invalid JSON payload received. "
                                                    "Expected an object, got an array", field="body", data=b"[]")),
    _case("load-malformed-yaml", scenario(
        "POST", f"{CONTROL}/scenario:load", "the scenario was not loaded: line 2: /: while parsing a flow node "
        "expected the node content, but found '-'", ("body", "line 2: while parsing a flow node expected the node "
                                                             "content, but found '-'"),
        data=b"operations: [\n  - name: x\n", content_type="application/yaml")),
    _case("load-yaml-indented-by-a-tab", scenario(
        "POST", f"{CONTROL}/scenario:load", "the scenario was not loaded: line 2: /: while scanning for the next token "
        "found character '\\t' that cannot start any token", ("body", "line 2: while scanning for the next token "
                                                                      "found character '\\t' that cannot start any "
                                                                      "token"),
        data=b"operations:\n\t- name: x\n", content_type="application/yaml")),
    _case("load-yaml-with-a-python-tag", scenario(
        "POST", f"{CONTROL}/scenario:load", "the scenario was not loaded: line 1: /: could not determine a constructor "
        "for the tag 'tag:yaml.org,2002:python/object/apply:os.system'",
        ("body", "line 1: could not determine a constructor for the tag "
                 "'tag:yaml.org,2002:python/object/apply:os.system'"),
        data=b'operations: !!python/object/apply:os.system ["true"]\n', content_type="application/yaml")),
    _case("load-a-yaml-string", scenario(
        "POST", f"{CONTROL}/scenario:load", "the scenario was not loaded: line 1: /: a scenario is an object (a YAML "
        "mapping); this document is a string, not an object",
        ("body", "line 1: a scenario is an object (a YAML mapping); this document is a string, not an object"),
        data=b"hello\n", content_type="application/yaml")),
    _case("load-a-scenario-with-a-misspelt-key", scenario(
        "POST", f"{CONTROL}/scenario:load", "the scenario was not loaded: /: Additional properties are not allowed "
        "('operatons' was unexpected) (did you mean 'operations'?)",
        ("body", "Additional properties are not allowed ('operatons' was unexpected) (did you mean 'operations'?)"),
        data=b'{"operatons": []}')),
    _case("load-a-scenario-whose-second-operation-is-bad", scenario(
        "POST", f"{CONTROL}/scenario:load", "the scenario was not loaded: /operations/1/name: 3 is not of type "
        "'string'", ("/operations/1/name", "3 is not of type 'string'"),
        data=json.dumps({"operations": [{"name": f"{PARENT}/operations/new-1"}, {"name": 3}]}).encode())),
    _case("load-a-text-plain-scenario", invalid("POST", f"{CONTROL}/scenario:load", "the request body must be "
                                                "application/json or application/yaml, got 'text/plain'",
                                                field="body", data=b"{}", content_type="text/plain")),
    _case("calls-since-a-negative-index", invalid("GET", f"{CONTROL}/calls", "since must be 0 or more, got -1",
                                                  field="since", query="since=-1")),
    _case("calls-since-a-word", invalid("GET", f"{CONTROL}/calls", "since must be an integer, got 'x'", field="since",
                                        query="since=x")),
    _case("reset-to-an-unknown-profile", invalid("POST", f"{CONTROL}:reset", "'nope' is not one of ['generic', "
                                                 "'earthengine', 'vertex', 'cancel-get-list']", field="profile",
                                                 data=b'{"profile": "nope"}')),
    _case("reset-with-an-unknown-field", invalid("POST", f"{CONTROL}:reset", "Additional properties are not allowed "
                                                 "('seed' was unexpected)", field="body", data=b'{"seed": 1}')),
]

CATEGORIES = {
    "routing": ROUTING, "wrong methods": METHODS, "bodies (malformed JSON, wrong types, unknown fields)": BODIES,
    "content types": CONTENT_TYPES, "durations": DURATIONS, "query parameters": QUERIES, "page tokens": TOKENS,
    "filters": FILTERS, "long and odd names": NAMES, "percent-encoded slashes": PERCENT_ENCODED_SLASHES,
    "profiles": PROFILES, "credentials": CREDENTIALS, "control plane": CONTROL_PLANE,
}
CASES = [case for cases in CATEGORIES.values() for case in cases]


def test_the_table_is_large_and_unambiguous() -> None:
    ids = [param.id for param in CASES]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids)
    assert all(CATEGORIES.values())


@pytest.mark.parametrize("bad", CASES)
def test_bad_request(lro_emulator: Emulator, http: Client, bad: Bad) -> None:
    _prepare(lro_emulator, bad)
    query = bad.query(http) if callable(bad.query) else bad.query  # obtain any token before the snapshot
    before = _store(lro_emulator)
    calls = list(lro_emulator.calls)

    response = _send(http, lro_emulator, dataclasses.replace(bad, query=query))

    body = response.get_json()
    assert (response.status_code, response.mimetype) == (bad.status, "application/json"), body
    load_schemas().validate("error-envelope", body)
    expected = _envelope(bad, _message(bad.message, body["error"]["message"]))
    assert body["error"]["message"] == expected["error"]["message"]
    assert body == expected
    if bad.control:
        assert list(lro_emulator.calls) == calls
    else:
        assert len(lro_emulator.calls) == len(calls) + 1
        assert (lro_emulator.calls.last.status, lro_emulator.calls.last.code) == (bad.status, bad.code)
    assert _store(lro_emulator) == before


def test_no_bad_request_is_an_emulator_failure(lro_emulator: Emulator, http: Client) -> None:
    failures: dict[str, Any] = {}
    for param in CASES:
        (bad,) = param.values
        lro_emulator.reset(profile=bad.profile)
        _prepare(lro_emulator, bad)
        response = _send(http, lro_emulator, bad)
        if response.status_code == 500 or lro_emulator.problems:
            failures[param.id] = (response.status_code, list(lro_emulator.problems))
    assert failures == {}


def _over_the_socket(emulator: Emulator, path: str, headers: Mapping[str, str]) -> tuple[int, str, bytes]:
    """Status, content type and body of a raw request: werkzeug's test client has none of the server's limits."""
    address = urlsplit(emulator.url)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        for key, value in headers.items():
            connection.putheader(key, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def test_a_path_just_within_the_servers_limit_is_answered_in_full(lro_emulator: Emulator) -> None:
    _populate(lro_emulator)
    before = _store(lro_emulator)
    name = f"{PARENT}/operations/{'x' * 60_000}"

    status, content_type, payload = _over_the_socket(lro_emulator, f"/v1/{name}", {})

    body = json.loads(payload)
    assert (status, content_type) == (400, "application/json; charset=UTF-8")
    expected = invalid("GET", "", f"the path is {len(name) + 4:,} characters long; the emulator routes paths of at "
                                  "most 2,048", field="name")
    assert body == _envelope(expected, _message(expected.message, body["error"]["message"]))
    # Refused before it was routed: logged with its path, as no method's call.
    assert (lro_emulator.calls.last.rpc, lro_emulator.calls.last.path) == (None, f"/v1/{name}")
    assert _store(lro_emulator) == before


@pytest.mark.parametrize(
    ("path_length", "headers", "limit"),
    [
        pytest.param(70_000, {}, "65536", id="request-line-over-64-KiB"),
        pytest.param(10, {f"x-header-{i}": "v" for i in range(101)}, "100", id="over-100-headers"),
        pytest.param(10, {"x-long": "v" * 70_000}, "65536", id="header-line-over-64-KiB"),
    ],
)
def test_a_request_beyond_the_servers_limits_is_answered_with_an_envelope(
    lro_emulator: Emulator, path_length: int, headers: dict[str, str], limit: str
) -> None:
    _populate(lro_emulator)
    before = _store(lro_emulator)

    status, content_type, payload = _over_the_socket(lro_emulator, f"/v1/{PARENT}/operations/{'x' * path_length}",
                                                     headers)

    # The HTTP server refuses these before the emulator sees them, so no answer of the emulator's own exists to
    # pin word for word: pinned is what any right one says (an AIP-193 INVALID_ARGUMENT naming the limit).
    assert (status, content_type) == (400, "application/json; charset=UTF-8"), payload[:200]
    body = json.loads(payload)
    load_schemas().validate("error-envelope", body)
    assert body["error"]["status"] == "INVALID_ARGUMENT"
    assert body["error"]["details"][0]["domain"] == DOMAIN
    assert limit in body["error"]["message"]
    assert _store(lro_emulator) == before


def test_a_yaml_scenario_with_a_key_given_twice_is_refused(lro_emulator: Emulator, http: Client) -> None:
    _populate(lro_emulator)
    before = _store(lro_emulator)
    text = f"operations:\n  - name: {PARENT}/operations/first\noperations:\n  - name: {PARENT}/operations/second\n"

    response = http.post(f"{CONTROL}/scenario:load", data=text, content_type="application/yaml")

    # YAML keys are unique; loading only the last `operations` would drop the first list without a word. No
    # message exists yet to pin word for word: pinned is the error, its reason, and that it names the key's lines.
    body = response.get_json()
    assert response.status_code == 400, body
    load_schemas().validate("error-envelope", body)
    assert (body["error"]["status"], body["error"]["details"][0]["reason"]) == ("INVALID_ARGUMENT", "INVALID_SCENARIO")
    assert "'operations'" in body["error"]["message"]
    assert "line 3" in body["error"]["message"]
    assert _store(lro_emulator) == before
