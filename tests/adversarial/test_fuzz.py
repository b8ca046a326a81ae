"""Fuzzing (hypothesis) of three ways into the emulator; each property says what any input must get back.

1. ListOperations filters, grammar-shaped (names, comparators, AND/OR/NOT, parentheses, quotes, wildcards,
   ``done``, ``metadata.x``, very long and deeply nested) and random text, parsed directly and asked for over
   ``GET /v1/projects/p/operations?filter=``: a predicate or a `FilterError`; 200, or a 400 AIP-193 envelope.
2. Scenarios, as YAML text (anchors and aliases, tags, several documents, deep nesting, huge numbers, odd keys,
   random text) and as scenario-shaped documents, loaded through `Emulator.load_scenario` and
   ``POST /_emulator/v1/scenario:load``: loaded, or a `ScenarioError` and a 400 envelope, and a failed load
   changes nothing; both ways agree.
3. The HTTP request head over a real socket (request lines, methods in any case, versions, odd targets,
   duplicate and malformed framing headers, long values, control and non-ASCII bytes): a status line, an
   envelope for every error, never a 500 or silence, and the server still answers a plain GET afterwards. A
   framing RFC 9112 forbids (two different Content-Length values, a Transfer-Encoding whose last coding is not
   chunked, whitespace before a header's colon) is refused with a 400 and the connection closed.

In every case no answer is a 500, nothing lands in `Emulator.problems`, and no exception but the documented
one escapes. Bounds: each test runs at most ``max_examples`` examples (12 per framing case, 60 to 300 for the
others); the file takes under a minute under ``pytest -n 2`` on two cores when it passes, and about as long when
hypothesis has failures to shrink. Hypothesis's own deadline is off (a loaded CI machine would make it flaky);
instead each example times itself: in-process, at most `BOUND_SECONDS` (1 s) of its thread's CPU (a machine
shared with other work stretches wall time, not that); and at most `WALL_BOUND_SECONDS` (5 s) of wall time, over a
socket for the request and the liveness check together. Each takes milliseconds.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from lro_emulator import DEFAULT_START, Emulator, Scenario, ScenarioError
from lro_emulator.core.filters import FilterError, compile_filter  # internal: the parser under test, without HTTP

#: No in-process example may cost more CPU than this (its own thread's time: the emulator answers on the caller's
#: thread there, and a shared machine's other work does not count). Each costs milliseconds.
BOUND_SECONDS = 1.0
#: No example may take longer than this in wall time: in-process, a check against waiting (a hang costs no CPU);
#: over a socket, the bound, for the request and the liveness GET together (loopback: milliseconds each).
WALL_BOUND_SECONDS = 5.0
STRUCT = "type.googleapis.com/google.protobuf.Struct"
LOAD = "/_emulator/v1/scenario:load"
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


def shown(value: object) -> str:
    """``value`` for a failure message (at most 2,000 characters).

    Failures `note` their input: hypothesis's own listing of the arguments comes out blank under the schemathesis
    pytest plugin."""
    try:
        text = repr(value)
    except ValueError:  # an int past the interpreter's digit limit
        text = f"<{type(value).__name__} that cannot be shown>"
    return text if len(text) <= 2000 else text[:2000] + f"... ({len(text):,} characters)"


def fuzz(examples: int) -> settings:
    """Hypothesis settings for ``examples`` examples, without its deadline: each example times itself instead
    (`Timer`), against a bound generous enough for a loaded CI machine. Large inputs are drawn on purpose."""
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def assert_envelope(status: int, document: Any) -> None:
    """``document`` is an AIP-193 error envelope for HTTP ``status`` (INVALID_ARGUMENT for a 400)."""
    assert isinstance(document, dict), document
    assert set(document) == {"error"}, document
    error = document["error"]
    assert error["code"] == status, document
    assert isinstance(error["message"], str), document
    assert error["message"], document
    assert isinstance(error["status"], str), document
    if status == 400:
        assert error["status"] == "INVALID_ARGUMENT", document


@dataclass
class Timer:
    """Checks one example's cost at its end: CPU of the calling thread within ``cpu`` (if given), and wall time
    within `WALL_BOUND_SECONDS`."""

    cpu: float | None = None
    started: float = 0.0
    started_cpu: float = 0.0

    def __enter__(self) -> Timer:
        self.started, self.started_cpu = time.perf_counter(), time.thread_time()
        return self

    def __exit__(self, *exc_info: object) -> None:
        wall, cpu = time.perf_counter() - self.started, time.thread_time() - self.started_cpu
        if exc_info[0] is None:
            if self.cpu is not None:
                assert cpu < self.cpu, f"the example cost {cpu:.2f} s of CPU, over its bound of {self.cpu} s"
            assert wall < WALL_BOUND_SECONDS, f"the example took {wall:.2f} s, over {WALL_BOUND_SECONDS} s"


# == 1. filters ===============================================================================================

FIELDS = ["name", "done", "error", "error.code", "error.message", "metadata", "metadata.x", "metadata.state",
          "metadata.progress", "metadata.tags", "metadata.a.b.c", 'metadata."odd key"', "metadata.createTime",
          "response", "createTime", "done.x", "NOT", "and", "error.code.x", "metadata.", ".name", "métadata"]
COMPARATORS = ["=", "!=", ":", "<", "<=", ">", ">=", "==", "=!", "~", "=~", ""]
VALUES = ["true", "false", "*", "3", "-1.5e3", "0.5", "+7", "1e999", "NOT_FOUND", "5", "nope", "30s", "-0.5s",
          '"x*y"', "'q'", '"2030-01-01T00:00:00Z"', "2030-01-01T00:00:00Z", '"\\*"', '"\\q"', '"unterminated',
          '"a\\"b"', "x*", "**", "*a*b*", "AND", "OR", "NOT", '"', "''", "RUNNING", '"RUN*"', "\u00e9t\u00e9"]
SPACE = st.sampled_from([" ", "", "  ", "\t", "\n", "\u3000"])


@st.composite
def restrictions(draw: st.DrawFn) -> str:
    field = draw(st.sampled_from(FIELDS) | st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_.]{0,12}", fullmatch=True))
    value = draw(st.sampled_from(VALUES) | st.text(alphabet="ab*\\\"' .-09:", max_size=12))
    return field + draw(SPACE) + draw(st.sampled_from(COMPARATORS)) + draw(SPACE) + value


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    joiner = st.sampled_from([" AND ", " OR ", " ", " and ", " AND NOT ", " OR -", "AND", " , "])
    return (st.tuples(children, joiner, children).map("".join)
            | children.map(lambda inner: f"({inner})")
            | children.map(lambda inner: f"NOT {inner}")
            | children.map(lambda inner: f"-{inner}")
            | children.map(lambda inner: f"({inner}")  # unbalanced, on purpose
            | children.map(lambda inner: f"{inner})"))


GRAMMAR = st.recursive(restrictions() | st.sampled_from(["done", "()", "(", ")", "NOT", "-", "name=", ""]),
                       _combine, max_leaves=12)

#: Filters at and past the parser's limits: nesting around MAX_DEPTH, lengths around MAX_LENGTH.
EXTREME = st.one_of(
    st.integers(1, 300).map(lambda depth: "(" * depth + "done=true" + ")" * depth),
    st.integers(1, 300).map(lambda depth: "(" * depth + "done=true"),
    st.integers(1, 300).map(lambda depth: "NOT " * depth + "done=true"),
    st.integers(1, 2000).map(lambda count: " OR ".join(["done=true"] * count)),
    st.integers(1, 2000).map(lambda count: " AND ".join(["metadata.x>1"] * count)),
    st.integers(4000, 4200).map(lambda length: "name=" + "a" * length),
    st.integers(4000, 4200).map(lambda length: 'name="' + "*a" * (length // 2) + '"'),
    st.integers(1, 60).map(lambda count: 'name="' + "*a" * count + 'b"'),  # near-miss wildcards
)

RANDOM_TEXT = st.text(max_size=300) | st.text(alphabet="()\"'*:=!<>.-\\ ANDORTdoneamex019", max_size=300)


def _operation_documents(emu: Emulator) -> list[Mapping[str, Any]]:
    return [op.snapshot() for op in emu.operations]


@pytest.fixture(scope="module")
def listed() -> Emulator:
    """An emulator holding operations of every shape a filter compares against (done, failed, typed metadata)."""
    emu = Emulator()
    metadata = {"x": 3, "state": "RUNNING", "progress": 0.5, "tags": ["a", "b"], "a": {"b": {"c": True}},
                "odd key": "v", "createTime": "2030-01-01T00:00:00Z", "big": "9223372036854775807"}
    emu.add_operation("projects/p/operations/running", {"@type": STRUCT, "value": metadata})
    emu.add_operation("projects/p/operations/done").succeed({"@type": STRUCT, "value": {"rows": 1}})
    emu.add_operation("projects/p/operations/failed").fail("NOT_FOUND", "gone")
    emu.add_operation("projects/p/operations/empty")
    emu.add_operation("projects/p/operations/x*y\u00e9", {"@type": STRUCT, "value": {"x": "3", "tags": []}})
    return emu


def check_filter(emu: Emulator, text: str) -> None:
    """The property: parsed to a predicate that never raises, or refused with a `FilterError`; over REST, 200 or
    a 400 envelope (400 whenever the parser refused); nothing recorded in ``problems``; within the bound."""
    note(f"filter: {shown(text)}")
    with Timer(cpu=BOUND_SECONDS):
        try:
            predicate = compile_filter(text)
        except FilterError as error:
            refused: FilterError | None = error
        else:
            refused = None
            for document in _operation_documents(emu):
                assert predicate(document) in (True, False)
        response = Client(emu.wsgi_app).get("/v1/projects/p/operations", query_string={"filter": text})
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    if response.status_code == 400:
        assert_envelope(400, response.get_json())
    else:
        assert refused is None, f"the parser refused {text!r} ({refused}) but ListOperations answered 200"
        assert isinstance(response.get_json(), dict)
    assert emu.problems == []


@fuzz(300)
@given(text=GRAMMAR | EXTREME)
def test_a_grammar_shaped_filter_is_answered_or_refused_with_an_envelope(listed: Emulator, text: str) -> None:
    check_filter(listed, text)


@fuzz(200)
@given(text=RANDOM_TEXT)
def test_any_text_as_a_filter_is_answered_or_refused_with_an_envelope(listed: Emulator, text: str) -> None:
    check_filter(listed, text)


# == 2. scenarios =============================================================================================

SCENARIO_WORDS = ["profile", "start", "operations", "name", "parent", "metadata", "steps", "at", "afterPolls",
                  "response", "error", "done", "cancel", "mode", "after", "starts", "faults", "auth", "token",
                  "'@type'", "value", "code", "message", "details", "method", "http", "body", "operation", "nth",
                  "during", "delay", "hang", "limit", "respond", "status"]
YAML_SCALARS = ["x", "'q'", '"d\\u00e9"', "1", "-0", "0x1F", "0o17", "1_000", "1e999999", "-1e999999", "9" * 5000,
                "1_" + "0" * 4400, ".nan", ".inf", "~", "null", "true", "yes", "2030-01-01T00:00:00Z", "2030-01-01",
                "1:20:30", "!!int ''", "!!float ''", "!!bool maybe", "!!int x", "!!float x", "!!binary aGk=",
                "!!binary '!'", "!!str 1", "!!null x", "!!python/object:os.system x", "!custom x", "!!set {a}",
                "!!omap [a: 1]", "!!map [a]", "!!seq {a: 1}", "!<tag:yaml.org,2002:int> 7", "generic", "vertex",
                "projects/p/operations/a", "projects/p", STRUCT, "NOT_FOUND", "90s", "3600", "\x00", "\x85", "\ufeff",
                "\u2028", "'\\x00'", '"\\x00"', '"\\ud800"', "&a x", "*a", "*undefined", "? complex", "- x", "@x", "`x"]


def _yaml_nodes(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    key = st.sampled_from(SCENARIO_WORDS) | st.sampled_from(YAML_SCALARS)
    pairs = st.lists(st.tuples(key, children), max_size=4)
    return (pairs.map(lambda items: "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}")
            | st.lists(children, max_size=4).map(lambda items: "[" + ", ".join(items) + "]")
            | st.tuples(st.sampled_from(["a", "b"]), children).map(lambda anchored: f"&{anchored[0]} {anchored[1]}")
            | st.tuples(st.sampled_from(["!!str", "!!map", "!!seq", "!!int", "!custom", "!"]), children)
            .map(" ".join))


YAML_VALUE = st.recursive(st.sampled_from(YAML_SCALARS) | st.sampled_from(["*a", "*b"]), _yaml_nodes, max_leaves=16)


@st.composite
def yaml_documents(draw: st.DrawFn) -> str:
    """A YAML stream: block mappings of scenario keys with flow values, maybe several documents and directives."""
    documents = []
    for _ in range(draw(st.integers(1, 3))):
        keys = draw(st.lists(st.sampled_from([*SCENARIO_WORDS[:3], "starts", "faults", "auth", "odd", "1", "'@'"]),
                             max_size=5))
        documents.append("\n".join(f"{key}: {draw(YAML_VALUE)}" for key in keys))
    header = draw(st.sampled_from(["", "%YAML 1.1\n---\n", "%YAML 1.2\n---\n", "%TAG ! tag:x,2000:\n---\n", "---\n"]))
    return header + draw(st.sampled_from(["\n---\n", "\n...\n---\n"])).join(documents) + draw(
        st.sampled_from(["", "\n", "\n...\n", "\n# comment"]))


#: Nesting on both sides of the recursion limit the loader guards against (about 500 levels). Flow nesting much
#: deeper is refused the same way but costs PyYAML up to 0.8 s first, which shrinking would pay many times.
DEEP_YAML = st.one_of(
    st.integers(1, 700).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(1, 700).map(lambda depth: "{a: " * depth + "1" + "}" * depth),
    st.integers(1, 1500).map(lambda depth: "operations:\n  " + "- " * depth + "x"),
    st.integers(1, 60).map(lambda depth: "operations:\n" + "".join("  " * level + "- \n" for level in range(1, depth))),
    st.integers(1, 60).map(lambda width: "a: &a [x, x]\n" + "".join(
        f"a{level}: &a{level} [*{'a' if level == 0 else f'a{level - 1}'}, *{'a' if level == 0 else f'a{level - 1}'}]\n"
        for level in range(width))),
)

YAML_TEXT = (yaml_documents() | YAML_VALUE | DEEP_YAML | st.text(max_size=200)
             | st.text(alphabet="{}[]:,-&*!|>'\"#%@` \n\tab01.~?", max_size=200))

# -- scenario-shaped documents ---------------------------------------------------------------------------------



class HugeInt(int):
    """An int shown by its size: past 4,300 digits ``int.__repr__`` raises, and hypothesis must print examples.
    ``json.dumps`` still calls ``int.__repr__`` on it, as on any int."""

    def __repr__(self) -> str:
        return f"HugeInt(<{self.bit_length()} bits>)"


JSON_LEAVES = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
               | st.sampled_from([10**30, -(10**30), 2**63, "9" * 5000])
               | st.sampled_from([4301, 5000]).map(lambda digits: HugeInt(10 ** (digits - 1))))
ODD_VALUES = st.sampled_from([b"bytes", (1, 2), {1, 2}, float("nan"), float("inf"), object()])
JSON_VALUES = st.recursive(JSON_LEAVES, lambda children: st.lists(children, max_size=3)
                           | st.dictionaries(st.text(max_size=8), children, max_size=3), max_leaves=8)
ANY_VALUE = JSON_VALUES | ODD_VALUES
PAYLOADS = (st.fixed_dictionaries({"@type": st.sampled_from([STRUCT, "type.googleapis.com/google.protobuf.Empty",
                                                            "type.googleapis.com/google.rpc.Status", "x", ""]),
                                  "value": JSON_VALUES})
            | st.fixed_dictionaries({}, optional={"state": JSON_VALUES, "progress": JSON_VALUES})
            | ANY_VALUE)
DURATIONS = (st.integers(-5, 10**7) | st.floats(-1.0, 1e12) | st.sampled_from(
    ["90s", "1.5s", "-1s", "s", "1e3s", "99999999999999999999s", "0.000000001s", "3600", "1h", "", 1e400, 10**300])
             | ANY_VALUE)
COUNTS = st.integers(-2, 10**20) | ANY_VALUE
NAMES = st.sampled_from(["projects/p/operations/a", "projects/p/operations/existing", "operations/x", "", "/",
                         "projects/p/locations/l/operations/b", "projects/p/operations/" + "n" * 2000,
                         "projects/p/operations/a*", "projects/p/operations/\u00e9\x00"]) | st.text(max_size=30)
ERRORS = st.fixed_dictionaries({}, optional={
    "code": st.sampled_from(["NOT_FOUND", 5, 0, 16, 17, -1, "OK", "nope", "not_found", 5.0]) | ANY_VALUE,
    "message": st.text(max_size=20) | ANY_VALUE,
    "details": st.lists(PAYLOADS, max_size=2) | ANY_VALUE,
}) | ANY_VALUE
STEPS = st.fixed_dictionaries({}, optional={
    "at": DURATIONS, "afterPolls": COUNTS, "metadata": PAYLOADS, "response": PAYLOADS, "error": ERRORS,
    "done": st.booleans() | ANY_VALUE,
})
CANCELS = st.fixed_dictionaries({}, optional={
    "mode": st.sampled_from(["accept", "ignore", "refuse", "ACCEPT", ""]) | ANY_VALUE, "after": DURATIONS,
    "metadata": PAYLOADS, "code": ERRORS, "message": st.text(max_size=10),
})
OPERATIONS = st.fixed_dictionaries({}, optional={
    "name": NAMES, "parent": NAMES, "metadata": PAYLOADS, "steps": st.lists(STEPS, max_size=4) | ANY_VALUE,
    "cancel": CANCELS | ANY_VALUE,
})
FAULTS = st.fixed_dictionaries({}, optional={
    "rpc": st.sampled_from(["GetOperation", "ListOperations", "CancelOperation", "x"]) | ANY_VALUE,
    "name": NAMES, "transport": st.sampled_from(["http", "grpc", "rest"]) | ANY_VALUE, "nth": COUNTS,
    "first": COUNTS, "during": st.lists(DURATIONS, max_size=3) | ANY_VALUE,
    "probability": st.floats() | ANY_VALUE, "seed": COUNTS, "error": ERRORS, "delay": DURATIONS,
    "hang": st.fixed_dictionaries({}, optional={"limit": DURATIONS}) | ANY_VALUE, "reset": ANY_VALUE,
    "disconnect": ANY_VALUE, "malformed": ANY_VALUE, "truncate": ANY_VALUE,
    "respond": st.fixed_dictionaries({}, optional={"body": ANY_VALUE, "status": COUNTS}) | ANY_VALUE,
})
STARTS = st.fixed_dictionaries({}, optional={
    "method": st.sampled_from(["google.cloud.workflows.v1.Workflows.CreateWorkflow", "a.b.C", ""]) | ANY_VALUE,
    "http": st.sampled_from(["POST /v1/{parent=projects/*}/things", "GET /x", "bogus", "POST /v1/{a=**}/{a=*}"])
    | ANY_VALUE,
    "grpc": st.sampled_from(["a.B/C", "google.cloud.workflows.v1.Workflows/CreateWorkflow"]) | ANY_VALUE,
    "body": st.sampled_from(["*", "thing", ""]) | ANY_VALUE, "requestType": ANY_VALUE, "parent": NAMES,
    "operation": st.fixed_dictionaries({}, optional={
        "metadata": PAYLOADS | st.just({"@type": STRUCT, "value": {"t": "{request.parent}{name}{{"}}),
        "steps": st.lists(STEPS, max_size=2), "cancel": CANCELS}) | ANY_VALUE,
})
WILD_SCENARIOS = st.fixed_dictionaries({}, optional={
    "profile": st.sampled_from(["generic", "vertex", "earthengine", "cancel-get-list", "nope", ""]) | ANY_VALUE,
    "start": st.sampled_from([DEFAULT_START, "2030-01-01T01:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
                              "2030-02-30T00:00:00Z", "now", "2030-01-01"]) | ANY_VALUE,
    "operations": st.lists(OPERATIONS, max_size=4) | ANY_VALUE,
    "starts": st.lists(STARTS, max_size=2) | ANY_VALUE,
    "faults": st.lists(FAULTS, max_size=2) | ANY_VALUE,
    "auth": st.fixed_dictionaries({}, optional={"token": ANY_VALUE, "apiKey": ANY_VALUE, "forbidden": ANY_VALUE})
    | ANY_VALUE,
    "odd": ANY_VALUE,
})


# Well-typed scenarios, which mostly load: the wild ones above are nearly all refused by the schema.
GOOD_PAYLOADS = st.fixed_dictionaries({"@type": st.just(STRUCT), "value": st.dictionaries(
    st.text(alphabet="abc", min_size=1, max_size=3), st.integers(0, 9) | st.text(max_size=5) | st.booleans(),
    max_size=3)})
GOOD_ENDINGS = (st.fixed_dictionaries({"response": GOOD_PAYLOADS})
                | st.fixed_dictionaries({"error": st.fixed_dictionaries(
                    {"code": st.sampled_from(["NOT_FOUND", 5, "UNAVAILABLE"]), "message": st.text(max_size=10)})})
                | st.just({"done": True}))


@st.composite
def good_timelines(draw: st.DrawFn) -> dict[str, Any]:
    """``metadata``, ``steps`` (of one kind, ``at`` or ``afterPolls``, maybe finishing) and ``cancel``."""
    kind = draw(st.sampled_from(["at", "afterPolls"]))
    moments = sorted(draw(st.lists(st.integers(0, 3600), max_size=3)))
    steps: list[dict[str, Any]] = [{kind: moment, "metadata": draw(GOOD_PAYLOADS)} for moment in moments]
    if draw(st.booleans()):
        steps.append({kind: (moments[-1] if moments else 0) + 1, **draw(GOOD_ENDINGS)})
    timeline: dict[str, Any] = {"steps": steps}
    if draw(st.booleans()):
        timeline["metadata"] = draw(GOOD_PAYLOADS)
    if draw(st.booleans()):
        timeline["cancel"] = {"mode": draw(st.sampled_from(["accept", "ignore", "refuse"]))}
    return timeline


@st.composite
def good_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A scenario the schema accepts; names may still clash, with each other or with the emulator's operation."""
    operations = []
    for _ in range(draw(st.integers(0, 3))):
        operation = draw(good_timelines())
        where = draw(st.sampled_from(["name", "parent", "neither"]))
        if where == "name":
            operation["name"] = "projects/p/operations/" + draw(st.sampled_from(["a", "b", "existing", "c-1"]))
        elif where == "parent":
            operation["parent"] = "projects/p"
        operations.append(operation)
    document: dict[str, Any] = {"operations": operations}
    if draw(st.booleans()):
        document["profile"] = draw(st.sampled_from(["generic", "vertex"]))
    if draw(st.booleans()):
        document["start"] = draw(st.sampled_from([DEFAULT_START, "2030-01-01T01:00:00Z"]))
    if draw(st.booleans()):
        document["faults"] = [{"rpc": "GetOperation", "nth": draw(st.integers(1, 5)), "error": {"code": "UNAVAILABLE"}}]
    if draw(st.booleans()):
        document["auth"] = {"token": draw(st.sampled_from(["t", "secret"]))}
    return document


SCENARIOS = good_scenarios() | WILD_SCENARIOS

@pytest.fixture(scope="module")
def loader() -> Emulator:
    """One emulator for every scenario example; each example resets it first."""
    return Emulator()


def _prepare(emu: Emulator, populated: bool) -> tuple[object, ...]:
    """Reset ``emu`` (generic, default start), maybe with an operation in it; return what a failed load keeps."""
    emu.reset(profile="generic", start=DEFAULT_START)
    if populated:
        emu.add_operation("projects/p/operations/existing").succeed({"@type": STRUCT, "value": {"k": 1}})
    return _observable(emu)


def _observable(emu: Emulator) -> tuple[object, ...]:
    return ([(op.name, op.snapshot()) for op in emu.operations], emu.clock.now(), emu.profile.name)


def load_directly(emu: Emulator, populated: bool, source: Mapping[str, Any] | str | bytes) -> bool:
    """Load ``source`` through the Python API: True if it loaded, False on a `ScenarioError` (which must leave
    the emulator as it was). Any other exception fails the property."""
    note(f"load_scenario({shown(source)}) on an emulator {'with' if populated else 'without'} an operation")
    before = _prepare(emu, populated)
    with Timer(cpu=BOUND_SECONDS):
        try:
            if isinstance(source, Mapping):
                emu.load_scenario(source)
            else:
                emu.load_scenario(Scenario.from_text(source))
        except ScenarioError:
            loaded = False
        else:
            loaded = True
    if not loaded:
        assert _observable(emu) == before, "a failed load changed the emulator"
    assert emu.problems == []
    return loaded


def load_over_rest(emu: Emulator, populated: bool, body: bytes, content_type: str) -> bool:
    """``POST /_emulator/v1/scenario:load``: True on 200, False on a 400 envelope (which must change nothing)."""
    note(f"POST {LOAD} ({content_type}) {shown(body)}")
    before = _prepare(emu, populated)
    with Timer(cpu=BOUND_SECONDS):
        response = Client(emu.wsgi_app).post(LOAD, data=body, headers={"Content-Type": content_type})
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    if response.status_code == 400:
        assert_envelope(400, response.get_json())
        assert _observable(emu) == before, "a refused load changed the emulator"
    assert emu.problems == []
    return response.status_code == 200


@fuzz(250)
@given(text=YAML_TEXT, populated=st.booleans(), content_type=st.sampled_from(YAML_TYPES))
def test_yaml_text_loads_or_is_refused_and_a_refusal_changes_nothing(
    loader: Emulator, text: str, populated: bool, content_type: str
) -> None:
    loaded_from_text = load_directly(loader, populated, text)
    raw = text.encode("utf-8")
    loaded_from_bytes = load_directly(loader, populated, raw)
    loaded_over_rest = load_over_rest(loader, populated, raw, content_type)
    if raw.strip():  # the control plane reads an empty body as an empty scenario, on purpose
        assert loaded_over_rest == loaded_from_bytes, "the control plane and load_scenario disagree"
    assert loaded_from_text == loaded_from_bytes, "text and its UTF-8 bytes load differently"


@fuzz(60)
@given(raw=st.binary(max_size=300), populated=st.booleans())
def test_arbitrary_bytes_load_or_are_refused(loader: Emulator, raw: bytes, populated: bool) -> None:
    load_directly(loader, populated, raw)
    load_over_rest(loader, populated, raw, "application/yaml")


def _json_text(document: Mapping[str, Any]) -> str | None:
    """``document`` as JSON if it is JSON data that survives the round trip unchanged, else None."""
    try:
        text = json.dumps(document, allow_nan=False)
        same = json.loads(text) == document
    except (TypeError, ValueError):  # not JSON data, or a number past the interpreter's digit limit
        return None
    return text if same else None


@fuzz(250)
@given(document=SCENARIOS, populated=st.booleans())
def test_a_scenario_shaped_document_loads_or_is_refused_and_a_refusal_changes_nothing(
    loader: Emulator, document: dict[str, Any], populated: bool
) -> None:
    loaded = load_directly(loader, populated, document)
    text = _json_text(document)
    if text is not None:
        assert load_over_rest(loader, populated, text.encode(), "application/json") == loaded, "JSON body disagrees"
        as_yaml = yaml.safe_dump(document, allow_unicode=True)
        assert load_over_rest(loader, populated, as_yaml.encode(), "application/yaml") == loaded, "YAML disagrees"


# == 3. the HTTP request head =================================================================================

SENTINEL = "projects/fuzz-liveness/operations/sentinel"


@dataclass(frozen=True)
class Served:
    """The in-process server the socket tests talk to."""

    emu: Emulator
    port: int


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """A started emulator (REST over 127.0.0.1) holding the liveness sentinel and a few targets; stopped after."""
    emu = Emulator()
    emu.add_operation(SENTINEL).succeed({"@type": STRUCT, "value": {"alive": True}})
    emu.start()
    port = urllib.parse.urlsplit(emu.url).port
    assert port is not None
    try:
        yield Served(emu, port)
    finally:
        emu.stop()


def _targets_ready(emu: Emulator) -> None:
    """The operations requests may name; a DELETE or cancel of an earlier example may have changed them."""
    for name in ("projects/p/operations/x", "projects/p/operations/y"):
        if name not in {op.name for op in emu.operations}:
            emu.add_operation(name)


METHODS = ["GET", "POST", "DELETE", "HEAD", "PUT", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PRI", "BREW"]
TARGETS = [b"/v1/projects/p/operations/x", b"/v1/projects/p/operations/y:cancel", b"/v1/projects/p/operations:wait",
           b"/v1/projects/p/operations?filter=done%3Dtrue", b"/v1/projects/p/operations?pageSize=-1",
           b"/v1/projects/p/operations/nope", b"/_emulator/v1", b"/_emulator/v1/calls?since=-1", b"*", b"/", b"//",
           b"", b"http://127.0.0.1/v1/projects/p/operations/x", b"/v1/%zz", b"/v1/\xff\xfe", b"/v1/x%00",
           b"/v1/" + b"a/" * 3000, b"?a=b", b"/v1/projects/p/operations/x#frag"]
VERSIONS = [b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/2", b"HTTP/0.9", b"HTTP/1.9", b"HTTP/3.0", b"http/1.1",
            b"HTTP/1.1.1", b"HTTP/11", b"HTTP/a.b", b"FTP/1.0", b"", b"HTTP/1.1 extra"]
HEADER_NAMES = [b"Host", b"Content-Length", b"Transfer-Encoding", b"Content-Type", b"Connection", b"Expect",
                b"Authorization", b"X-Goog-Api-Key", b"Upgrade", b"X-Odd", b"", b"Bad Name", b"\xff", b"X:Y"]
HEADER_VALUES = [b"127.0.0.1", b"0", b"2", b"-1", b"+2", b" 2 ", b"2, 2", b"2, 3", b"99999999999999999999", b"\xb2",
                 b"chunked", b"gzip", b"chunked, gzip", b"identity", b"close", b"keep-alive", b"100-continue",
                 b"application/json", b"application/yaml", b"text/plain; charset=\xff", b"Bearer x", b"\x00", b"\x7f",
                 b"\xc3\xa9", b"", b"x" * 70000]
BODIES = [b"", b"{}", b"{", b"0\r\n\r\n", b"2\r\n{}\r\n0\r\n\r\n", b"zz\r\n\r\n",
          b"GET /v1/projects/p/operations/x HTTP/1.1\r\n\r\n"]
#: A byte of a request line or header: anything but the line breaks that delimit them.
LINE_BYTES = st.binary(max_size=40).map(lambda raw: raw.replace(b"\r", b"").replace(b"\n", b""))


def _cased(method: str) -> st.SearchStrategy[bytes]:
    return st.sampled_from([method, method.lower(), method.title(), method[:1].lower() + method[1:]]).map(str.encode)


@dataclass(frozen=True)
class Head:
    """A generated request: its parts, so that a property can ask what was sent."""

    method: bytes
    target: bytes
    version: bytes
    line: bytes  # the request line as sent
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    raw: bytes


@st.composite
def heads(draw: st.DrawFn) -> Head:
    method = draw(st.sampled_from(METHODS).flatmap(_cased) | LINE_BYTES)
    target = draw(st.sampled_from(TARGETS) | LINE_BYTES)
    version = draw(st.sampled_from(VERSIONS) | LINE_BYTES)
    separator = draw(st.sampled_from([b" ", b" ", b" ", b"  ", b"\t"]))
    words = draw(st.sampled_from([3, 3, 3, 3, 2, 1]))
    # A leading empty line is one a server should skip (RFC 9112, 2.2).
    line = draw(st.sampled_from([b"", b"", b"", b"\r\n"])) + separator.join((method, target, version)[:words])
    headers = draw(st.lists(st.tuples(st.sampled_from(HEADER_NAMES) | LINE_BYTES,
                                      st.sampled_from(HEADER_VALUES) | LINE_BYTES), max_size=8))
    headers += [(b"X-Pad", b"v")] * draw(st.sampled_from([0, 0, 0, 99, 101]))
    colon = draw(st.sampled_from([b": ", b": ", b":", b" : ", b":\t"]))
    body = draw(st.sampled_from(BODIES) | st.binary(max_size=64))
    raw = line + b"\r\n" + b"".join(name + colon + value + b"\r\n" for name, value in headers) + b"\r\n" + body
    return Head(method, target, version, line, tuple(headers), body, raw)


def exchange(port: int, raw: bytes) -> tuple[bytes, bool]:
    """Send ``raw``, end the sending side, and read until the server closes: the bytes, and whether it reset."""
    received: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=WALL_BOUND_SECONDS) as connection:
        with suppress(OSError):  # a server that answered early (a line over its limit) may refuse the rest
            connection.sendall(raw)
            connection.shutdown(socket.SHUT_WR)
        while True:
            try:
                chunk = connection.recv(65536)
            except ConnectionResetError:
                return b"".join(received), True
            if not chunk:
                return b"".join(received), False
            received.append(chunk)


STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) [^\r\n]*\r\n")


@dataclass(frozen=True)
class Answer:
    """The first final (non-1xx) response of a stream."""

    status: int
    head: bytes
    body: bytes


def first_answer(received: bytes) -> Answer | None:
    """The first final response in ``received``, or None if the stream does not start with a status line."""
    rest = received
    while True:
        found = STATUS_LINE.match(rest)
        if found is None:
            return None
        head, _, after = rest.partition(b"\r\n\r\n")
        status = int(found.group(1))
        if 100 <= status < 200:
            rest = after
            continue
        length = re.search(rb"\r\nContent-Length: *(\d+)", head, re.IGNORECASE)
        return Answer(status, head, after if length is None else after[: int(length.group(1))])


def alive(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WALL_BOUND_SECONDS)
    try:
        connection.request("GET", f"/v1/{SENTINEL}")
        answer = connection.getresponse()
        answer.read()
        return answer.status
    finally:
        connection.close()


def _over_limits(head: Head) -> bool:
    """Whether the request breaks the server's line or header-count limits: it may then answer before reading
    all of it, and close; the kernel turns the unread rest into a TCP reset that can overtake the answer."""
    return len(head.headers) > 100 or any(len(line) > 65536 for line in head.raw.split(b"\r\n"))


@fuzz(300)
@given(head=heads())
def test_any_request_head_gets_a_readable_answer_and_the_server_keeps_serving(served: Served, head: Head) -> None:
    note(f"sent: {shown(head.raw)}")
    _targets_ready(served.emu)
    with Timer():
        try:
            received, reset = exchange(served.port, head.raw)
        except TimeoutError:
            pytest.fail(f"no answer within {WALL_BOUND_SECONDS} s to {head.raw[:300]!r}")
        if reset and not received and _over_limits(head):
            answer = None
        else:
            assert received, f"the server closed the connection without answering {head.raw[:300]!r}"
            answer = first_answer(received)
            assert answer is not None, f"no status line in the answer {received[:300]!r} to {head.raw[:300]!r}"
        status_after = alive(served.port)
    if answer is not None:
        assert answer.status != 500, answer.body[:500]
        assert answer.status < 500 or answer.status in (501, 505), answer.body[:500]
        if answer.status >= 400 and head.method != b"HEAD":
            try:
                document = json.loads(answer.body)
            except ValueError:
                pytest.fail(f"a {answer.status} without a JSON body: {answer.body[:300]!r}")
            assert_envelope(answer.status, document)
        line = b" ".join((head.method, head.target, head.version))
        well_formed = head.line == line and head.target[:1] in (b"/", b"*")
        if well_formed and head.version == b"HTTP/2.0":
            assert answer.status in (400, 505), f"HTTP/2.0 request line answered {answer.status}"
        if well_formed and head.method.isalpha() and head.method != head.method.upper():
            # Methods are case-sensitive (RFC 9110, 9.1): "get" is not GET.
            assert answer.status >= 400, f"the method {head.method!r} was served ({answer.status})"
    assert status_after == 200, "the server stopped serving after the request"
    assert served.emu.problems == []


# -- framing: where the body ends must never be a guess --------------------------------------------------------

#: (what, the framing headers, whether RFC 9112 requires a 400): two different Content-Length values (6.3), a
#: Transfer-Encoding whose last coding is not chunked (6.3) and whitespace before a header's colon (5.1) must be
#: refused with 400 and the connection closed; Transfer-Encoding with Content-Length may be served, but the
#: connection must close after it (6.1); two equal Content-Length values may be served.
FRAMINGS = [
    ("two-different-content-lengths", [(b"Content-Length", b"2"), (b"Content-Length", b"3")], True),
    ("content-length-0-then-5", [(b"Content-Length", b"0"), (b"Content-Length", b"5")], True),
    ("transfer-encoding-gzip", [(b"Transfer-Encoding", b"gzip")], True),
    ("transfer-encoding-identity", [(b"Transfer-Encoding", b"identity")], True),
    ("transfer-encoding-chunked-then-gzip", [(b"Transfer-Encoding", b"chunked, gzip")], True),
    ("transfer-encoding-xchunked", [(b"Transfer-Encoding", b"xchunked")], True),
    ("space-before-the-colon-of-content-length", [(b"Content-Length ", b"2")], True),
    ("space-before-the-colon-of-transfer-encoding", [(b"Transfer-Encoding ", b"chunked")], True),
    ("transfer-encoding-chunked-and-content-length", [(b"Transfer-Encoding", b"chunked"),
                                                      (b"Content-Length", b"2")], False),
    ("two-equal-content-lengths", [(b"Content-Length", b"2"), (b"Content-Length", b"2")], False),
]


@pytest.mark.parametrize(("what", "framing", "refuse"), FRAMINGS, ids=[case[0] for case in FRAMINGS])
@fuzz(12)
@given(method=st.sampled_from([b"GET", b"POST"]), cased=st.booleans(), order=st.booleans(),
       body=st.sampled_from([b"{}", b"2\r\n{}\r\n0\r\n\r\n", b""]))
def test_a_request_whose_body_length_is_ambiguous_is_refused_and_its_connection_closed(
    served: Served, what: str, framing: list[tuple[bytes, bytes]], refuse: bool, method: bytes, cased: bool,
    order: bool, body: bytes,
) -> None:
    """Where a body ends decides where the next request on the connection starts: never a guess (RFC 9112)."""
    _targets_ready(served.emu)
    framing = framing if order else framing[::-1]
    framing = [(name.lower(), value) for name, value in framing] if cased else framing
    target = b"/v1/projects/p/operations/nope:cancel" if method == b"POST" else b"/v1/projects/p/operations/x"
    head = method + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    raw = head + b"".join(name + b": " + value + b"\r\n" for name, value in framing) + b"\r\n" + body
    note(f"sent: {shown(raw)}")
    with Timer():
        received, _ = exchange(served.port, raw)
        status_after = alive(served.port)
    answer = first_answer(received)
    assert answer is not None, f"{what}: no status line in {received[:300]!r}"
    if refuse:
        assert answer.status == 400, f"{what}: answered {answer.status}, not 400: {raw!r}"
        assert_envelope(400, json.loads(answer.body))
    if refuse or any(name.lower() == b"transfer-encoding" for name, _ in framing):
        assert re.search(rb"\r\nConnection: close\r\n", answer.head + b"\r\n", re.IGNORECASE), (
            f"{what}: the connection was kept open after {raw!r}")
    assert status_after == 200
    assert served.emu.problems == []
